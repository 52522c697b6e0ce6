#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The example route from its fixtures: the claims API Gateway's JWT authorizer passed are
//! answered back; without them (the route wired without the authorizer) the call is refused.

use testkit::{assert_error, event, json};

#[test]
fn answers_with_the_claims_the_authorizer_passed() {
    let (status, body) = json(&example::handle(&event("example-hello")));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "Hello, Hello!");
    assert_eq!(
        body["claims"]["sub"],
        "6f1c1a52-7d3e-4c55-9d2e-0b8a3c1f2e11"
    );
    assert_eq!(body["claims"]["aud"], "rust-auth-api");
    assert_eq!(body["claims"]["scope"], "openid profile email");
}

#[test]
fn without_the_authorizer_s_claims_the_call_is_refused() {
    assert_error(
        &example::handle(&event("example-no-authorizer")),
        401,
        "Unauthorized",
        4011,
    );
}
