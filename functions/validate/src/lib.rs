//! `POST /token/validate` with `{"token": "…"}`: whether an access token is live, for the
//! services that accept our tokens (RFC 7662's answer shape). About the token the answer is
//! always 200: its claims while it is live, `{"active": false}` and nothing else otherwise, so
//! a caller learns nothing from a dead token. About the request: the documented 400s, 429
//! per client address, 503 when Redis (or, for a session Redis does not know, DynamoDB) cannot
//! say whether the session is live. A refresh token is not an access token: inactive.

use lambda_http::{Body, Request, Response};
use serde::ser::{Serialize, SerializeMap, Serializer};
use shared::cache::Route;
use shared::domain::TokenToValidate;
use shared::store::SessionStore;
use shared::token::VerifiedClaims;
use shared::{http, ApiError, App};

pub async fn handle<S: SessionStore>(app: &App<S>, request: Request) -> Response<Body> {
    app.tokens.learn_issuer(&request);
    http::respond(200, validate(app, &request).await)
}

/// What the caller learns: everything about a live token, nothing about any other.
#[derive(Debug)]
pub enum Introspection {
    Active(VerifiedClaims),
    Inactive,
}

impl Serialize for Introspection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Introspection::Active(claims) = self else {
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry("active", &false)?;
            return map.end();
        };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("active", &true)?;
        map.serialize_entry("token_type", "access")?;
        map.serialize_entry("sub", &claims.sub)?;
        map.serialize_entry("sid", &claims.sid)?;
        if let Some(email) = &claims.email {
            map.serialize_entry("email", email)?;
        }
        map.serialize_entry("iat", &claims.iat)?;
        map.serialize_entry("exp", &claims.exp)?;
        map.serialize_entry("iss", &claims.iss)?;
        map.end()
    }
}

async fn validate<S: SessionStore>(
    app: &App<S>,
    request: &Request,
) -> Result<Introspection, ApiError> {
    app.admit(Route::Validate, request).await?;
    let TokenToValidate(token) = TokenToValidate::parse(&http::json_object(request)?)?;
    // Why a token is dead (forged, expired, malformed) is not the caller's business; keys we
    // cannot read are ours to answer for (503), not the token's fault.
    let claims = match app.tokens.verify(&token).await {
        Ok(claims) => claims,
        Err(ApiError::InvalidSession) => return Ok(Introspection::Inactive),
        Err(err) => return Err(err),
    };
    let (Some(user), Some(session)) = (claims.user_id(), claims.session_id()) else {
        return Ok(Introspection::Inactive);
    };
    // Redis down: 503, fail closed, as `/me` does; a revoked token must not read as live.
    match app.check_session(user, &session).await {
        Ok(_) => Ok(Introspection::Active(claims)),
        Err(ApiError::InvalidSession) => Ok(Introspection::Inactive),
        Err(err) => Err(err),
    }
}
