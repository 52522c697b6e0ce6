//! `POST /token/refresh` with `{"refresh_token": "…"}`: spends the refresh token for a new
//! access token and a new refresh token (sign-in's answer shape). A token already spent ends
//! its whole session (reuse detection, RFC 9700 §4.14.2), except the token just replaced
//! presented again within `REFRESH_REUSE_GRACE_SECONDS`, which gets the current pair again.
//! The rules live in `shared::session`; this is the route around them.

use lambda_http::{Body, Request, Response};
use shared::cache::Route;
use shared::domain::RefreshRequest;
use shared::store::SessionStore;
use shared::token::IssuedToken;
use shared::{http, ApiError, App};

pub async fn handle<S: SessionStore>(app: &App<S>, request: Request) -> Response<Body> {
    app.tokens.learn_issuer(&request);
    http::respond(200, refresh(app, &request).await)
}

async fn refresh<S: SessionStore>(
    app: &App<S>,
    request: &Request,
) -> Result<IssuedToken, ApiError> {
    app.admit(Route::Refresh, request).await?;
    let RefreshRequest(token) = RefreshRequest::parse(&http::json_object(request)?)?;
    let token = token.ok_or(ApiError::InvalidSession)?;
    let issued = app.refresh(&token).await?;
    tracing::info!(user_id = %token.user, "session refreshed");
    Ok(issued)
}
