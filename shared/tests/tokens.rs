#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Access tokens as the functions issue and check them: RS256 under the active key's kid,
//! verified by kid against the published keys, strictly (RFC 8725).

use jsonwebtoken::decode_header;
use serde_json::{json, Value};
use shared::cache::SessionId;
use shared::config::TokenSettings;
use shared::domain::{Email, PersonName, Timestamp, User, UserId};
use shared::session::RefreshKeys;
use shared::token::document::KeyDocument;
use shared::token::keyset::{KeySet, Role};
use shared::token::{rs256, TokenKeys, TokenService, MAX_TOKEN_BYTES};
use shared::ApiError;

fn settings(issuer: &str, audience: &str, ttl: u64) -> TokenSettings {
    TokenSettings {
        issuer: Some(issuer.to_owned()),
        audience: audience.to_owned(),
        scope: "openid profile email".to_owned(),
        ttl_seconds: ttl,
    }
}

fn signer(issuer: &str, audience: &str) -> TokenService {
    TokenService::new(&settings(issuer, audience, 3600), testkit::token_keys())
}

/// Verifies against the test key set's published keys, holding no private key.
fn verifier() -> TokenService {
    let published = testkit::test_key_set().published().clone();
    TokenService::new(
        &settings("auth-test", "api", 3600),
        testkit::verify_keys(published),
    )
}

fn user() -> User {
    let now = Timestamp::now();
    User {
        id: UserId::random(),
        first_name: PersonName::parse("Hello").unwrap(),
        last_name: PersonName::parse("World").unwrap(),
        email: Email::parse("hello@world.com").unwrap(),
        phones: vec![],
        created_at: now,
        last_login: now,
        email_verified: Default::default(),
    }
}

fn part(token: &str, index: usize) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Signs `claims` under `header` with the test key, as a forger holding it would.
fn forge(header: Value, claims: Value) -> String {
    testkit::sign_rs256(&header, &claims, testkit::test_signing_key())
}

fn ours() -> Value {
    json!({"alg": "RS256", "typ": "at+jwt", "kid": testkit::test_signing_key().kid()})
}

fn claims(iat: i64, exp: i64) -> Value {
    json!({"sub": UserId::random().to_string(), "iat": iat, "exp": exp,
           "iss": "auth-test", "aud": "api", "sid": SessionId::random().as_str()})
}

#[tokio::test]
async fn an_issued_pair_does_not_print_its_tokens() {
    let service = signer("iss", "api");
    let user = user();
    let refresh = service
        .refresh_keys()
        .await
        .unwrap()
        .first(user.id, &SessionId::random());
    let issued = service.issue_pair(&user, &refresh, 600).await.unwrap();
    assert_eq!(issued.refresh_token, refresh.encode());
    let printed = format!("{issued:?}");
    assert!(!printed.contains(&issued.token), "{printed}");
    assert!(!printed.contains(&issued.refresh_token), "{printed}");
    assert!(printed.contains("redacted"), "{printed}");
}

#[tokio::test]
async fn access_and_refresh_tokens_never_pass_for_each_other() {
    let tokens = signer("auth-test", "api");
    let user = user();
    let refresh = tokens
        .refresh_keys()
        .await
        .unwrap()
        .first(user.id, &SessionId::random());
    let access = tokens.issue(&user, &refresh.session).await.unwrap();
    assert!(tokens.verify(&refresh.encode()).await.is_err());
    assert_eq!(shared::session::RefreshToken::parse(&access), None);
}

#[tokio::test]
async fn issued_tokens_are_rs256_under_the_active_kid_and_verify_without_a_private_key() {
    let tokens = signer("auth-test", "api");
    let user = user();
    let session = SessionId::random();
    let issued = tokens.issue(&user, &session).await.unwrap();
    assert_eq!(part(&issued, 0), ours(), "exactly alg, typ and kid");
    let claims = part(&issued, 1);
    assert_eq!(claims["sub"], user.id.to_string());
    assert_eq!(claims["email"], "hello@world.com");
    assert_eq!(claims["firstName"], "Hello");
    assert_eq!(claims["lastName"], "World");
    assert_eq!(claims["iss"], "auth-test");
    assert_eq!(claims["aud"], "api");
    assert_eq!(claims["scope"], "openid profile email");
    assert_eq!(claims["jti"].as_str().map(str::len), Some(32));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_ne!(
        part(&tokens.issue(&user, &session).await.unwrap(), 1)["jti"],
        claims["jti"],
        "a jti per token"
    );
    assert!(!issued.contains("password"));
    for service in [&tokens, &verifier()] {
        let verified = service.verify(&issued).await.unwrap();
        assert_eq!(verified.user_id(), Some(user.id));
        assert_eq!(verified.session_id(), Some(session.clone()));
    }
    // What only verifies cannot sign, nor mint refresh tokens.
    let verifier = verifier();
    assert!(matches!(
        verifier.issue(&user, &session).await,
        Err(ApiError::Internal(_))
    ));
    assert!(verifier.refresh_keys().await.is_err());
}

#[tokio::test]
async fn every_published_key_verifies_and_only_the_active_one_signs() {
    let next = testkit::rsa_private_key(2048);
    let set = KeySet::parse(&testkit::stored_set(&[
        (Role::Retired, testkit::test_key_pem()),
        (Role::Active, &next),
    ]))
    .unwrap();
    let published = set.published().clone();
    let rotated = TokenService::new(
        &settings("auth-test", "api", 3600),
        TokenKeys::Sign {
            keys: KeyDocument::fixed(set),
            refresh: KeyDocument::fixed(RefreshKeys::derive(testkit::TEST_SECRET.as_bytes())),
        },
    );
    let before = signer("auth-test", "api")
        .issue(&user(), &SessionId::random())
        .await
        .unwrap();
    let after = rotated.issue(&user(), &SessionId::random()).await.unwrap();
    assert_ne!(part(&after, 0)["kid"], part(&before, 0)["kid"]);
    let check = TokenService::new(
        &settings("auth-test", "api", 3600),
        testkit::verify_keys(published),
    );
    assert!(
        check.verify(&before).await.is_ok(),
        "the retired key's token"
    );
    assert!(check.verify(&after).await.is_ok());
    assert!(rotated.verify(&before).await.is_ok());
    assert!(
        verifier().verify(&after).await.is_err(),
        "a key not published is refused"
    );
}

#[tokio::test]
async fn refuses_other_keys_issuers_audiences_and_tampering() {
    let tokens = verifier();
    let user = user();
    let other_iss = signer("someone-else", "api");
    let other_aud = signer("auth-test", "another-api");
    for foreign in [&other_iss, &other_aud] {
        let token = foreign.issue(&user, &SessionId::random()).await.unwrap();
        assert!(tokens.verify(&token).await.is_err());
    }
    // Another key, claiming our kid: the signature fails; under its own kid: unknown.
    let stranger = rs256::SigningKey::from_pkcs8_pem(&testkit::rsa_private_key(2048)).unwrap();
    for header in [
        ours(),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": stranger.kid()}),
    ] {
        let now = Timestamp::now().unix();
        let token = testkit::sign_rs256(&header, &claims(now, now + 60), &stranger);
        assert!(tokens.verify(&token).await.is_err(), "{header}");
    }

    let token = signer("auth-test", "api")
        .issue(&user, &SessionId::random())
        .await
        .unwrap();
    let mut tampered = token.clone().into_bytes();
    let middle = token.find('.').unwrap() + 3;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [
        tampered.as_str(),
        "",
        "abc",
        "a.b.c",
        &token[..token.len() - 2],
    ] {
        assert!(
            matches!(tokens.verify(bad).await, Err(ApiError::InvalidSession)),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn refuses_alg_none_algorithm_confusion_foreign_headers_and_bad_times() {
    let tokens = verifier();
    let now = Timestamp::now().unix();
    assert!(
        tokens
            .verify(&forge(ours(), claims(now, now + 60)))
            .await
            .is_ok(),
        "the forger itself is sound"
    );
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = format!(
        "{}.{}.",
        b64.encode(json!({"alg": "none", "typ": "at+jwt"}).to_string()),
        b64.encode(claims(now, now + 60).to_string())
    );
    assert!(tokens.verify(&none).await.is_err());
    // The algorithm-confusion attack: HS256 "signed" with what we publish as its secret.
    let kid = testkit::test_signing_key().kid();
    let jwk = testkit::test_signing_key().public().jwk();
    let jwks = testkit::test_key_set().published().to_json();
    let n = b64.decode(jwk["n"].as_str().unwrap()).unwrap();
    for secret in [jwks.as_bytes(), jwk.to_string().as_bytes(), &n] {
        let confused = testkit::sign_raw(
            &json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}),
            &claims(now, now + 60),
            secret,
        );
        assert!(tokens.verify(&confused).await.is_err());
    }
    for junk in [
        json!({"alg": "RS512", "typ": "at+jwt", "kid": kid}),
        json!({"alg": "PS256", "typ": "at+jwt", "kid": kid}),
        json!({"alg": "RS256", "typ": "at+jwt"}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": "../../dev/null"}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "jku": "https://attacker.example/keys"}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "x5u": "https://attacker.example/cert"}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "jwk": jwk}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "x5c": ["MIIBszCCAVmgAwIBAgIUQ"]}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "x5t": "dGh1bWJwcmludA"}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "crit": ["exp"]}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "cty": "JWT"}),
        json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
        json!({"alg": "RS256", "kid": kid}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "b64": false}),
    ] {
        let token = forge(junk.clone(), claims(now, now + 60));
        // The header parses, so the refusal is our check, not a parse failure.
        assert!(decode_header(&token).is_ok(), "{junk}");
        assert!(tokens.verify(&token).await.is_err(), "{junk}");
    }
    let without = |name: &str| {
        let mut claims = claims(now, now + 60);
        claims.as_object_mut().unwrap().remove(name);
        claims
    };
    for name in ["iat", "exp", "aud", "iss", "sub"] {
        assert!(
            tokens.verify(&forge(ours(), without(name))).await.is_err(),
            "without {name}"
        );
    }
    let from_the_future = claims(now + 600, now + 900);
    assert!(tokens
        .verify(&forge(ours(), from_the_future))
        .await
        .is_err());
    let expired = claims(now - 120, now - 60);
    assert!(tokens.verify(&forge(ours(), expired)).await.is_err());
    let mut not_yet = claims(now, now + 600);
    not_yet["nbf"] = json!(now + 300);
    assert!(tokens.verify(&forge(ours(), not_yet)).await.is_err());
    let mut audiences = claims(now, now + 60);
    audiences["aud"] = json!(["someone-else", "api"]);
    assert!(
        tokens.verify(&forge(ours(), audiences)).await.is_ok(),
        "a list naming us is fine (RFC 7519 §4.1.3)"
    );
    assert!(tokens
        .verify(&"a".repeat(MAX_TOKEN_BYTES + 1))
        .await
        .is_err());
}

/// Without `TOKEN_ISSUER` (the deployed default) the issuer is the URL API Gateway reports the
/// API was reached at: the first request decides, and nothing is issued before one does.
#[tokio::test]
async fn an_unconfigured_issuer_is_the_api_s_url_from_the_first_request() {
    let mut unset = settings("unused", "api", 3600);
    unset.issuer = None;
    let tokens = TokenService::new(&unset, testkit::token_keys());
    let user = user();
    assert!(matches!(
        tokens.issue(&user, &SessionId::random()).await,
        Err(ApiError::Internal(_))
    ));
    let reached = testkit::event("me");
    tokens.learn_issuer(&reached);
    let api = "https://abc123.execute-api.us-east-1.amazonaws.com";
    assert_eq!(tokens.issuer(), Some(api));
    let elsewhere = testkit::event_edited("me", |event| {
        event["requestContext"]["domainName"] = "attacker.example".into();
    });
    tokens.learn_issuer(&elsewhere);
    assert_eq!(tokens.issuer(), Some(api), "the first request decides");
    let token = tokens.issue(&user, &SessionId::random()).await.unwrap();
    assert_eq!(part(&token, 1)["iss"], api);
    assert!(tokens.verify(&token).await.is_ok());
    let other = signer("https://attacker.example", "api")
        .issue(&user, &SessionId::random())
        .await
        .unwrap();
    assert!(tokens.verify(&other).await.is_err());
}
