//! `POST /password/change`: a signed-in user replaces their password. The current password is
//! checked as sign-in checks it, counted in the same locks, so a stolen access token cannot
//! guess it faster than sign-in could; every other session ends, this one goes on.

use lambda_http::Request;
use shared::cache::Route;
use shared::domain::{NewPassword, Timestamp};
use shared::error::FieldProblem;
use shared::lockout::{Attempts, Outcome};
use shared::store::{PasswordChange, PasswordStore, SessionStore, UserStore};
use shared::{http, ApiError};

use crate::Passwords;

pub async fn change<S: UserStore + SessionStore + PasswordStore>(
    Passwords {
        app,
        hasher,
        lockout,
    }: &Passwords<'_, S>,
    request: &Request,
) -> Result<(), ApiError> {
    app.admit(Route::Password, request).await?;
    let claims = app.tokens.verify(http::bearer_token(request)?).await?;
    let (Some(user), Some(session)) = (claims.user_id(), claims.session_id()) else {
        return Err(ApiError::InvalidSession);
    };
    app.check_session(user, &session).await?;
    let NewPassword { current, new } = NewPassword::parse(&http::json_object(request)?)?;
    let profile = app.store.get(user).await?.ok_or(ApiError::InvalidSession)?;
    let email = &profile.email;
    // As sign-in: the try is counted before any password work, the credential read alongside.
    let (attempt, stored) = tokio::join!(
        Attempts::reserve(app, lockout, email, http::client_ip(request)),
        app.store.credentials(email)
    );
    let attempt = attempt?;
    let stored = match stored {
        Ok(Some(stored)) if stored.user_id == user => stored,
        Ok(_) => {
            attempt.finish(app, Outcome::Abandoned).await;
            return Err(ApiError::InvalidSession);
        }
        Err(err) => {
            attempt.finish(app, Outcome::Abandoned).await;
            return Err(err.into());
        }
    };
    let old = stored.digest;
    let verified = match hasher.verify(current, Some(old.clone())).await {
        Ok(verified) => verified,
        Err(err) => {
            attempt.finish(app, Outcome::Abandoned).await;
            return Err(err);
        }
    };
    if !verified {
        attempt.finish(app, Outcome::Failed).await;
        return Err(field("current_password", "is not the account's password"));
    }
    // The right password: whatever follows, the failures before it were not consecutive.
    attempt.finish(app, Outcome::Succeeded).await;
    let known = [
        email.local_part(),
        profile.first_name.as_str(),
        profile.last_name.as_str(),
    ];
    let new = new
        .recheck(&known)
        .map_err(|reason| field("new_password", reason))?;
    let new = hasher.hash(new).await?;
    // Redis first, as for any "sign out everywhere" (sessions::end_every_session).
    let at = Timestamp::now();
    app.cache.forget_all_but(user, at, &session).await?;
    let change = PasswordChange {
        user,
        email,
        old: &old,
        new: &new,
        session: &session,
        at,
    };
    if !app.store.change_password(&change).await? {
        // A racing change or a reset replaced the password first (or this session was
        // signed out meanwhile): the current password is not the one sent any more.
        return Err(field("current_password", "is not the account's password"));
    }
    tracing::info!(%user, session_id = session.as_str(), "password changed; other sessions ended");
    Ok(())
}

fn field(name: &str, reason: &'static str) -> ApiError {
    ApiError::InvalidFields(vec![FieldProblem::new(name, reason)])
}
