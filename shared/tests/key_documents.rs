#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The published keys as a verifier holds them, read from (moto's) Secrets Manager: a key
//! published after the copy was read is picked up for the first token that names it, without
//! a restart; made-up kids cannot make every request a Secrets Manager call; and keys that
//! cannot be read are a 503, never an "invalid token".

use serde_json::json;
use shared::config::{TokenSettings, DEFAULT_AUDIENCE};
use std::time::Duration;

use shared::token::document::{KeyDocument, MAX_AGE};
use shared::token::jwks::PublishedKeys;
use shared::token::rs256::SigningKey;
use shared::token::{TokenKeys, TokenService};
use shared::ApiError;

fn settings() -> TokenSettings {
    TokenSettings {
        issuer: Some("testkit".to_owned()),
        audience: DEFAULT_AUDIENCE.to_owned(),
        scope: "openid".to_owned(),
        ttl_seconds: 900,
    }
}

fn published(keys: &[&SigningKey]) -> String {
    PublishedKeys::new(keys.iter().map(|key| key.public().clone()).collect())
        .unwrap()
        .to_json()
}

fn token(key: &SigningKey) -> String {
    let now = testkit::now_unix();
    testkit::sign_rs256(
        &json!({"alg": "RS256", "typ": "at+jwt", "kid": key.kid()}),
        &json!({"sub": "6f1c1a52-7d3e-4c55-9d2e-0b8a3c1f2e11", "iat": now, "exp": now + 60,
                "iss": "testkit", "aud": DEFAULT_AUDIENCE, "sid": "s"}),
        key,
    )
}

fn verifier(client: aws_sdk_secretsmanager::Client, arn: &str) -> TokenService {
    verifier_reading_every(client, arn, MAX_AGE)
}

fn verifier_reading_every(
    client: aws_sdk_secretsmanager::Client,
    arn: &str,
    max_age: Duration,
) -> TokenService {
    TokenService::new(
        &settings(),
        TokenKeys::Verify(KeyDocument::secret(
            client,
            arn.to_owned(),
            max_age,
            |text| PublishedKeys::parse(text).map_err(|err| err.to_string()),
        )),
    )
}

async fn publish(client: &aws_sdk_secretsmanager::Client, arn: &str, keys: &[&SigningKey]) {
    client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(published(keys))
        .send()
        .await
        .unwrap();
}

/// What a rotation that retires a key relies on: once the copy is older than its maximum
/// age (`KEY_CACHE_SECONDS`), a key no longer published is refused, with no restart.
#[tokio::test]
async fn a_withdrawn_key_is_refused_once_the_copy_has_aged() {
    let client = testkit::moto::secrets_client(&testkit::moto::server().endpoint).await;
    let keys: Vec<SigningKey> = (0..2)
        .map(|_| SigningKey::from_pkcs8_pem(&testkit::rsa_private_key(2048)).unwrap())
        .collect();
    let arn = client
        .create_secret()
        .name(format!("public-keys-{}", uuid::Uuid::new_v4()))
        .secret_string(published(&[&keys[0], &keys[1]]))
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let max_age = Duration::from_millis(300);
    let tokens = verifier_reading_every(client.clone(), &arn, max_age);
    let retired = token(&keys[0]);
    assert!(tokens.verify(&retired).await.is_ok());

    publish(&client, &arn, &[&keys[1]]).await;
    assert!(
        tokens.verify(&retired).await.is_ok(),
        "the copy is still young: used as read"
    );
    tokio::time::sleep(max_age + Duration::from_millis(100)).await;
    let answer = tokens.verify(&retired).await;
    assert!(
        matches!(answer, Err(ApiError::InvalidSession)),
        "{answer:?}"
    );
    assert!(tokens.verify(&token(&keys[1])).await.is_ok());
}

#[tokio::test]
async fn a_newly_published_key_is_picked_up_and_unknown_kids_are_rate_limited() {
    let client = testkit::moto::secrets_client(&testkit::moto::server().endpoint).await;
    let keys: Vec<SigningKey> = (0..3)
        .map(|_| SigningKey::from_pkcs8_pem(&testkit::rsa_private_key(2048)).unwrap())
        .collect();
    let arn = client
        .create_secret()
        .name(format!("public-keys-{}", uuid::Uuid::new_v4()))
        .secret_string(published(&[&keys[0]]))
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let tokens = verifier(client.clone(), &arn);
    assert!(tokens.verify(&token(&keys[0])).await.is_ok());

    // A rotation publishes a second key: the first token naming it makes the verifier look.
    client
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(published(&[&keys[0], &keys[1]]))
        .send()
        .await
        .unwrap();
    assert!(tokens.verify(&token(&keys[1])).await.is_ok());
    assert!(tokens.verify(&token(&keys[0])).await.is_ok());

    // Published too, but within 30 s of that read: not looked for again yet.
    client
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(published(&keys.iter().collect::<Vec<_>>()))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        tokens.verify(&token(&keys[2])).await,
        Err(ApiError::InvalidSession)
    ));
}

#[tokio::test]
async fn published_keys_that_cannot_be_read_are_a_503_not_an_invalid_token() {
    let key = SigningKey::from_pkcs8_pem(testkit::test_key_pem()).unwrap();
    let nowhere = format!("http://127.0.0.1:{}", testkit::moto::free_port());
    let tokens = verifier(
        testkit::moto::secrets_client(&nowhere).await,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone",
    );
    let answer = tokens.verify(&token(&key)).await;
    assert!(
        matches!(answer, Err(ApiError::Unavailable(_))),
        "{answer:?}"
    );
    assert_eq!(answer.unwrap_err().status(), 503);

    // A secret that holds something else than a JWKS: the same.
    let client = testkit::moto::secrets_client(&testkit::moto::server().endpoint).await;
    let arn = client
        .create_secret()
        .name(format!("not-keys-{}", uuid::Uuid::new_v4()))
        .secret_string(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let answer = verifier(client, &arn).verify(&token(&key)).await;
    assert!(
        matches!(answer, Err(ApiError::Unavailable(_))),
        "{answer:?}"
    );
}
