#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The discovery documents from the event fixtures: the keys a verifier needs and nothing
//! else, cacheable, and enough for a verifier of its own to check our tokens.

use lambda_http::{Body, Response};
use shared::config::TokenSettings;
use shared::token::jwks::PublishedKeys;
use shared::token::TokenService;
use testkit::{event, json};

fn settings(issuer: Option<&str>) -> TokenSettings {
    TokenSettings {
        issuer: issuer.map(str::to_owned),
        audience: "rust-auth-api".to_owned(),
        scope: "openid profile email".to_owned(),
        ttl_seconds: 900,
    }
}

/// As deployed: the published keys only.
fn discovery(issuer: Option<&str>) -> TokenService {
    let published = testkit::test_key_set().published().clone();
    TokenService::new(&settings(issuer), testkit::verify_keys(published))
}

fn cache_control(response: &Response<Body>) -> Option<&str> {
    response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn the_jwks_lists_the_published_keys_and_our_tokens_verify_against_it() {
    let response = discovery::handle(&discovery(None), event("discovery-jwks")).await;
    let (status, body) = json(&response);
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache_control(&response), Some(discovery::JWKS_CACHE));
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(
        (&key["kty"], &key["use"], &key["alg"]),
        (&"RSA".into(), &"sig".into(), &"RS256".into())
    );
    assert_eq!(key["kid"], testkit::test_signing_key().kid());
    assert!(
        key.get("d").is_none() && key.get("p").is_none(),
        "no private member"
    );

    // A verifier holding only what was served checks a token our signer issued.
    let served = PublishedKeys::parse(&body.to_string()).unwrap();
    let issuer = "https://abc123.execute-api.us-east-1.amazonaws.com";
    let verifier = TokenService::new(&settings(Some(issuer)), testkit::verify_keys(served));
    let signer = TokenService::new(&settings(Some(issuer)), testkit::token_keys());
    let token = signer
        .issue(
            &testkit::user("hello@world.com"),
            &shared::cache::SessionId::random(),
        )
        .await
        .unwrap();
    assert!(verifier.verify(&token).await.is_ok());
}

#[tokio::test]
async fn the_openid_configuration_names_the_issuer_and_where_its_keys_are() {
    // Unconfigured, the issuer is the URL the API was reached at (the fixture's domain).
    let response =
        discovery::handle(&discovery(None), event("discovery-openid-configuration")).await;
    let (status, body) = json(&response);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        cache_control(&response),
        Some(discovery::CONFIGURATION_CACHE)
    );
    let issuer = "https://abc123.execute-api.us-east-1.amazonaws.com";
    assert_eq!(body["issuer"], issuer);
    assert_eq!(body["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    assert_eq!(
        body["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        body["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        body["response_types_supported"],
        serde_json::json!(["token"])
    );
    assert_eq!(
        body["scopes_supported"],
        serde_json::json!(["openid", "profile", "email"])
    );
    for claim in ["sub", "iss", "aud", "exp", "scope"] {
        assert!(
            body["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&claim.into()),
            "{claim}"
        );
    }

    // A custom domain (TOKEN_ISSUER) wins over the request's.
    let custom = "https://auth.example.com";
    let response = discovery::handle(
        &discovery(Some(custom)),
        event("discovery-openid-configuration"),
    )
    .await;
    let (_, body) = json(&response);
    assert_eq!(body["issuer"], custom);
    assert_eq!(body["jwks_uri"], format!("{custom}/.well-known/jwks.json"));
}

/// Fault injection: Secrets Manager unreachable (a closed port) or holding no usable keys is
/// a 503 that no cache keeps; nothing else is read.
#[tokio::test]
async fn keys_that_cannot_be_read_are_a_503_that_is_not_cached() {
    use shared::token::document::KeyDocument;
    let nowhere = format!("http://127.0.0.1:{}", testkit::moto::free_port());
    let client = testkit::moto::secrets_client(&nowhere).await;
    let keys = KeyDocument::secret(
        client,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone".to_owned(),
        shared::token::document::MAX_AGE,
        |text| PublishedKeys::parse(text).map_err(|err| err.to_string()),
    );
    let tokens = TokenService::new(&settings(None), shared::token::TokenKeys::Verify(keys));
    let response = discovery::handle(&tokens, event("discovery-jwks")).await;
    testkit::assert_error(&response, 503, "Service unavailable", 5030);
    assert_eq!(cache_control(&response), Some("no-store"));
    // The discovery document needs no keys.
    let response = discovery::handle(&tokens, event("discovery-openid-configuration")).await;
    assert_eq!(response.status(), 200);
}
