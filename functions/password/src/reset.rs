//! The forgotten password's two steps, after OWASP's Forgot Password cheat sheet.
//! `POST /password/forgot` queues a reset code for the address (202), with the same answer and
//! the same work whether the address has an account or not: only the mailer, out of band, finds
//! out. `POST /password/reset` takes the address, the 8-digit code and a new password held to
//! sign-up's rules, and in one transaction consumes the code, replaces the hash, ends every
//! session (refresh tokens included) and clears the sign-in lock (204). It signs nobody in: the
//! user signs in with the new password. The codes allow five tries, one use and fifteen
//! minutes (`shared::code`).

use lambda_http::Request;
use serde::Serialize;
use shared::cache::Route;
use shared::code::Purpose;
use shared::domain::{EmailOnly, PasswordReset, Timestamp, UserId};
use shared::error::FieldProblem;
use shared::lockout::LockKey;
use shared::store::{self, MailStore, UserStore};
use shared::{http, ApiError, App};

use crate::Passwords;

/// The one answer a forgotten password gets.
#[derive(Debug, Serialize)]
pub struct Requested {
    message: &'static str,
}

impl Requested {
    pub const MESSAGE: Requested = Requested {
        message:
            "If this address belongs to an account, a code to reset its password is on its way",
    };
}

pub async fn forgot<S: MailStore>(app: &App<S>, request: &Request) -> Result<(), ApiError> {
    let EmailOnly(email) = EmailOnly::parse(&http::json_object(request)?)?;
    app.admit(Route::Password, request).await?;
    app.request_mail(Purpose::ResetPassword, &email).await
}

pub async fn reset<S: UserStore + MailStore>(
    Passwords { app, hasher }: &Passwords<'_, S>,
    request: &Request,
) -> Result<(), ApiError> {
    let PasswordReset {
        email,
        code,
        password,
    } = PasswordReset::parse(&http::json_object(request)?)?;
    app.admit(Route::Password, request).await?;
    // An address without an account still takes its try on a code record (one that never
    // exists): the same round trips and the same answer as a wrong code.
    let found = app.store.credentials(&email).await?.map(|c| c.user_id);
    let user = found.unwrap_or(UserId::NOBODY);
    let digest = code.digest(Purpose::ResetPassword, user);
    let (right, profile) = tokio::join!(
        app.store
            .try_code(Purpose::ResetPassword, user, &digest, Timestamp::now()),
        app.store.get(user)
    );
    if !right? || found.is_none() {
        return Err(ApiError::InvalidCode);
    }
    let profile = profile?.ok_or(ApiError::InvalidCode)?;
    // Sign-up's rule, now that the names are known. The code is not consumed: the user tries
    // another password with it (the try was counted).
    let password = password
        .recheck(&profile.personal_words())
        .map_err(|reason| ApiError::InvalidFields(vec![FieldProblem::new("password", reason)]))?;
    let hash = hasher.hash(password).await?;
    // Redis first, as for any "sign out everywhere": its word on live access tokens dies at
    // once, and when it cannot be reached nothing durable has changed (503, the code still
    // good for a retry).
    let at = Timestamp::now();
    app.cache.forget_all(user, at).await?;
    let locks = [
        LockKey::account(&email),
        LockKey::address(&email, http::client_ip(request)),
    ];
    let reset = store::PasswordReset {
        user,
        email: &email,
        code: &digest,
        password: &hash,
        at,
        locks: &locks,
    };
    if !app.store.reset_password(&reset).await? {
        // Used by a racing request, or replaced by a newer code, meanwhile.
        return Err(ApiError::InvalidCode);
    }
    tracing::info!(%user, "password reset; every session ended");
    // The profile is verified now; the next read takes it from the table.
    if let Err(err) = app.cache.forget_profile(user).await {
        tracing::warn!(error = %err, %user, "cached profile not dropped");
    }
    Ok(())
}
