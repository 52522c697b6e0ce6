//! `POST /signin`: checks e-mail and password, records the login, opens a session and
//! returns its token. Throttled per client address and locked per account after repeated
//! failures.

use lambda_http::{Body, Request, Response};
use shared::cache::Route;
use shared::domain::{Credentials, Email, Timestamp};
use shared::store::UserStore;
use shared::token::IssuedToken;
use shared::{http, ApiError, App};

pub async fn handle<S: UserStore>(app: &App<S>, request: Request) -> Response<Body> {
    http::respond(200, signin(app, &request).await)
}

async fn signin<S: UserStore>(app: &App<S>, request: &Request) -> Result<IssuedToken, ApiError> {
    let Credentials { email, password } = Credentials::parse(&http::json_object(request)?)?;
    // A locked account is refused before any password work, known e-mail or not.
    app.admit(Route::Signin, request, Some(&email)).await?;
    let stored = app.store.credentials(&email).await?;
    let (user_id, digest) = stored.map(|c| (c.user_id, c.digest)).unzip();
    // Unknown e-mails are verified against a dummy hash: same answer, same time.
    if !app.hasher.verify(password, digest).await? {
        count_failure(app, &email).await;
        return Err(ApiError::InvalidCredentials);
    }
    let user_id = user_id.ok_or(ApiError::InvalidCredentials)?;
    if let Err(err) = app.cache.clear_failures(&email).await {
        tracing::warn!(error = %err, "could not reset the failure counter");
    }
    let Some(user) = app.store.record_login(user_id, Timestamp::now()).await? else {
        tracing::warn!(%user_id, "credential record without a profile");
        return Err(ApiError::InvalidCredentials);
    };
    tracing::info!(%user_id, "user signed in");
    // Opening the session also refreshes the cached profile with the new last_login.
    app.open_session(&user).await
}

async fn count_failure<S>(app: &App<S>, email: &Email) {
    match app.cache.record_failure(email).await {
        Ok(0) => {}
        Ok(seconds) => tracing::warn!(lock_seconds = seconds, "account locked after failures"),
        Err(err) => tracing::warn!(error = %err, "failure not counted; throttling unavailable"),
    }
}
