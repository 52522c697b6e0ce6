//! `GET /hello`: the stand-in for a route of your own that trusts our tokens with no code.
//! template.yaml puts it behind an HTTP API JWT authorizer pointed at our issuer and audience:
//! API Gateway fetches our discovery document and keys, checks the signature, `iss`, `aud`
//! and `exp`, and only then invokes this function, passing the token's claims along. It reads
//! them from the request context; it never sees the token.

use std::collections::BTreeMap;

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use shared::{http, ApiError};

#[derive(Serialize)]
struct Hello<'a> {
    message: String,
    /// The claims as API Gateway passed them (each a string).
    claims: BTreeMap<&'a str, &'a str>,
}

pub fn handle(request: &Request) -> Response<Body> {
    http::respond(200, hello(request))
}

fn hello(request: &Request) -> Result<Hello<'_>, ApiError> {
    let claims = http::authorizer_claims(request).ok_or(ApiError::MissingToken)?;
    let name = claims.get("firstName").map_or("there", String::as_str);
    Ok(Hello {
        message: format!("Hello, {name}!"),
        claims: claims
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect(),
    })
}
