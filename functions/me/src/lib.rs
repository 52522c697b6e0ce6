//! `GET /me`: the profile of the user the bearer token names.

use lambda_http::{Body, Request, Response};
use shared::domain::User;
use shared::store::UserStore;
use shared::{http, ApiError, App};

pub async fn handle<S: UserStore>(app: &App<S>, request: Request) -> Response<Body> {
    http::respond(200, me(app, &request).await)
}

async fn me<S: UserStore>(app: &App<S>, request: &Request) -> Result<User, ApiError> {
    let claims = app.tokens.verify(http::bearer_token(request)?)?;
    let id = claims.user_id().ok_or(ApiError::InvalidSession)?;
    // A valid signature for a deleted user is still no session.
    app.store.get(id).await?.ok_or(ApiError::InvalidSession)
}
