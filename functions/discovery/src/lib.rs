//! `GET /.well-known/jwks.json` (RFC 7517) and `GET /.well-known/openid-configuration`
//! (OpenID Connect Discovery 1.0): what another service, or API Gateway's JWT authorizer,
//! needs to verify our access tokens without calling us. Both are public and cacheable.

use lambda_http::http::header::{HeaderValue, CACHE_CONTROL};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::value::RawValue;
use shared::token::TokenService;
use shared::{http, ApiError};

/// A verifier may keep the keys five minutes: a new key is published a whole rotation period
/// (90 days by default) before it signs, so a cached set never misses a signing key.
pub const JWKS_CACHE: &str = "public, max-age=300";
/// The discovery document changes only with the deployment.
pub const CONFIGURATION_CACHE: &str = "public, max-age=3600";

pub const JWKS_PATH: &str = "/.well-known/jwks.json";
pub const CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";

pub async fn handle(tokens: &TokenService, request: Request) -> Response<Body> {
    tokens.learn_issuer(&request);
    let path = request.uri().path();
    if path.ends_with(JWKS_PATH) {
        cached(http::respond(200, jwks(tokens).await), JWKS_CACHE)
    } else if path.ends_with(CONFIGURATION_PATH) {
        cached(
            http::respond(200, configuration(tokens)),
            CONFIGURATION_CACHE,
        )
    } else {
        // API Gateway routes only the two paths here; anything else is a wiring mistake.
        http::error(&ApiError::internal(Miswired(format!(
            "no discovery document at {path}"
        ))))
    }
}

/// A successful answer may be cached for `policy`; an error may not.
fn cached(mut response: Response<Body>, policy: &'static str) -> Response<Body> {
    if response.status() == 200 {
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// A deployment mistake, logged with the request's 500.
#[derive(Debug)]
struct Miswired(String);

impl std::fmt::Display for Miswired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Miswired {}

async fn jwks(tokens: &TokenService) -> Result<Box<RawValue>, ApiError> {
    let keys = tokens.published().await?;
    RawValue::from_string(keys.to_json()).map_err(ApiError::internal)
}

/// The members of OpenID Connect Discovery 1.0 §3 that apply to an issuer of access tokens
/// with no authorization endpoint of its own: where the keys are, what signs them, what the
/// tokens claim.
#[derive(Serialize)]
struct Configuration<'a> {
    issuer: &'a str,
    jwks_uri: String,
    response_types_supported: [&'static str; 1],
    subject_types_supported: [&'static str; 1],
    id_token_signing_alg_values_supported: [&'static str; 1],
    scopes_supported: Vec<&'a str>,
    claims_supported: [&'static str; 11],
}

fn configuration(tokens: &TokenService) -> Result<Configuration<'_>, ApiError> {
    let issuer = tokens.issuer().ok_or_else(|| {
        ApiError::internal(Miswired(
            "no issuer: TOKEN_ISSUER is unset and the request names no API domain".to_owned(),
        ))
    })?;
    Ok(Configuration {
        issuer,
        jwks_uri: format!("{issuer}{JWKS_PATH}"),
        response_types_supported: ["token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        scopes_supported: tokens.scope().split_whitespace().collect(),
        claims_supported: [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "jti",
            "scope",
            "sid",
            "email",
            "firstName",
            "lastName",
        ],
    })
}
