//! The address's proof of ownership. `POST /email/verify` takes the 6-digit code the mailer
//! sent and marks the address verified (200). `POST /email/verify/resend` queues a new code
//! (202), with the same answer and the same work whether the address has an account or not:
//! only the mailer, out of band, finds out. Both are throttled per client address; the codes
//! themselves allow five tries, one use and ten minutes (`shared::code`).

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use shared::cache::Route;
use shared::code::Purpose;
use shared::domain::{EmailCode, EmailOnly, EmailVerified, Timestamp, UserId};
use shared::store::{MailStore, UserStore};
use shared::{http, ApiError, App};

pub async fn handle<S: UserStore + MailStore>(app: &App<S>, request: Request) -> Response<Body> {
    if request.uri().path().ends_with("/resend") {
        return match resend(app, &request).await {
            Ok(()) => http::json(202, &Queued::MESSAGE),
            Err(err) => http::error(&err),
        };
    }
    http::respond(200, verify(app, &request).await)
}

/// The one answer a resend gets.
#[derive(Debug, Serialize)]
pub struct Queued {
    message: &'static str,
}

impl Queued {
    pub const MESSAGE: Queued = Queued {
        message: "If this address belongs to an account that is not verified yet, a new code is on its way",
    };
}

async fn verify<S: UserStore + MailStore>(
    app: &App<S>,
    request: &Request,
) -> Result<EmailVerified, ApiError> {
    let EmailCode { email, code } =
        EmailCode::parse(&http::json_object(request)?, Purpose::VerifyEmail)?;
    app.admit(Route::Email, request).await?;
    // An address without an account still takes its try on a code record (one that never
    // exists): the same round trips, the same answer, whether or not the account exists.
    let found = app.store.credentials(&email).await?.map(|c| c.user_id);
    let user = found.unwrap_or(UserId::NOBODY);
    let digest = code.digest(Purpose::VerifyEmail, user);
    let verified = app
        .store
        .verify_email(user, &digest, Timestamp::now())
        .await?;
    if !verified || found.is_none() {
        return Err(ApiError::InvalidCode);
    }
    tracing::info!(%user, "e-mail address verified");
    // Read back for the first verification's time, and so `GET /me` shows it at once.
    let profile = app.store.get(user).await?.ok_or(ApiError::InvalidCode)?;
    if let Err(err) = app.cache.put_profile(&profile).await {
        tracing::warn!(error = %err, "profile not cached");
    }
    Ok(profile.email_verified)
}

async fn resend<S: MailStore>(app: &App<S>, request: &Request) -> Result<(), ApiError> {
    let EmailOnly(email) = EmailOnly::parse(&http::json_object(request)?)?;
    app.admit(Route::Email, request).await?;
    app.request_mail(Purpose::VerifyEmail, &email).await
}
