//! `POST /signin`: checks e-mail and password, records the login and returns a token.

use lambda_http::{Body, Request, Response};
use shared::domain::{Credentials, Timestamp};
use shared::store::UserStore;
use shared::token::IssuedToken;
use shared::{http, ApiError, App};

pub async fn handle<S: UserStore>(app: &App<S>, request: Request) -> Response<Body> {
    http::respond(200, signin(app, &request).await)
}

async fn signin<S: UserStore>(app: &App<S>, request: &Request) -> Result<IssuedToken, ApiError> {
    let Credentials { email, password } = Credentials::parse(&http::json_object(request)?)?;
    let stored = app.store.credentials(&email).await?;
    let (user_id, digest) = stored.map(|c| (c.user_id, c.digest)).unzip();
    // Unknown e-mails are verified against a dummy hash: same answer, same time.
    if !app.hasher.verify(password, digest).await? {
        return Err(ApiError::InvalidCredentials);
    }
    let user_id = user_id.ok_or(ApiError::InvalidCredentials)?;
    let Some(user) = app.store.record_login(user_id, Timestamp::now()).await? else {
        tracing::warn!(%user_id, "credential record without a profile");
        return Err(ApiError::InvalidCredentials);
    };
    tracing::info!(%user_id, "user signed in");
    app.tokens.issue(&user)
}
