//! `GET /me`: the profile of the user the bearer token names, while its session is live.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::value::RawValue;
use shared::domain::User;
use shared::session::LiveSession;
use shared::store::{SessionStore, UserStore};
use shared::{http, ApiError, App};

pub async fn handle<S: UserStore + SessionStore>(app: &App<S>, request: Request) -> Response<Body> {
    app.tokens.learn_issuer(&request);
    http::respond(200, me(app, &request).await)
}

/// A cache hit is served as the stored JSON, unparsed.
#[derive(Serialize)]
#[serde(untagged)]
enum Profile {
    Cached(Box<RawValue>),
    Fresh(User),
}

async fn me<S: UserStore + SessionStore>(
    app: &App<S>,
    request: &Request,
) -> Result<Profile, ApiError> {
    let claims = app.tokens.verify(http::bearer_token(request)?).await?;
    let (Some(id), Some(session)) = (claims.user_id(), claims.session_id()) else {
        return Err(ApiError::InvalidSession);
    };
    // Session and cached profile in one Redis round trip (the durable record only when Redis
    // does not know the session); Redis down means 503: fail closed.
    let LiveSession { profile, user } = app.check_session(id, &session).await?;
    if let Some(profile) = profile {
        return Ok(Profile::Cached(profile));
    }
    if let Some(user) = user {
        return Ok(Profile::Fresh(user));
    }
    // A valid signature for a deleted user is still no session.
    let user = app.store.get(id).await?.ok_or(ApiError::InvalidSession)?;
    if let Err(err) = app.cache.put_profile(&user).await {
        tracing::warn!(error = %err, "profile not cached");
    }
    Ok(Profile::Fresh(user))
}
