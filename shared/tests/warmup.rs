#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Sign-up and sign-in open their DynamoDB connection (and put argon2's memory in place)
//! during init while the signing keys are fetched from Secrets Manager, and the first request
//! reuses the connection; sign-up also loads the strength dictionaries. Nothing else warms
//! up, a function that only verifies reads no secret at init, and a DynamoDB that does not
//! answer holds init for a bounded time only. Counts the
//! connections through a proxy in front of moto. Its own test binary: it sets process-wide
//! variables.

use std::time::{Duration, Instant};

use shared::config::{self, ConfigError, KeyUse};
use shared::domain::{Password, UserId};
use shared::password::PasswordHasher;
use shared::store::UserStore;
use shared::{App, Warmup};
use testkit::fault::{Fault, FaultProxy};

fn set(name: &str, value: &str) {
    // SAFETY of the environment: this binary has this one test, and nothing else reads it.
    std::env::set_var(name, value);
}

async fn store_secret(value: &str) -> String {
    let aws = config::aws().unwrap();
    config::secrets_manager(&aws)
        .create_secret()
        .name(format!("warmup-{}", uuid::Uuid::new_v4()))
        .secret_string(value)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap()
}

/// What sign-up's main.rs runs during the warm-up.
async fn sign_up(hasher: &PasswordHasher) {
    tokio::join!(hasher.prepare(), Password::prepare_strength_check());
}

#[tokio::test]
async fn dynamodb_is_warmed_only_alongside_the_secret_fetch_and_reused() {
    let moto = testkit::moto::server();
    let (_, table) = testkit::moto::fresh_table().await;
    let proxy = FaultProxy::start(moto.port);
    for (name, value) in [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("TABLE_NAME", table.as_str()),
        ("REDIS_URL", "redis://127.0.0.1:1"),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", proxy.url("http").as_str()),
    ] {
        set(name, value);
    }
    set("REFRESH_SECRET_ARN", &store_secret(&"w".repeat(48)).await);
    let keys =
        testkit::stored_set(&[(shared::token::keyset::Role::Active, testkit::test_key_pem())]);
    set("SIGNING_KEYS_ARN", &store_secret(&keys).await);

    // A verifier: no secret read, no connection, and it starts without one.
    set(
        "PUBLIC_KEYS_ARN",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:none",
    );
    set("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:1");
    App::from_env(Warmup::Nothing, KeyUse::Verify)
        .await
        .unwrap();
    assert!(
        matches!(
            App::from_env(Warmup::Nothing, KeyUse::Sign).await.err(),
            Some(ConfigError::SecretFetch(_))
        ),
        "the refresh secret is read at init"
    );
    set("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.as_str());

    // The key set is read in the background: a signer whose set is missing starts, and every
    // request that would sign answers 503 before writing anything.
    let keys_arn = std::env::var("SIGNING_KEYS_ARN").unwrap();
    set("SIGNING_KEYS_ARN", &format!("{keys_arn}-missing"));
    let keyless = App::from_env(Warmup::Nothing, KeyUse::Sign).await.unwrap();
    let refused = keyless.tokens.signing_ready().await.unwrap_err();
    assert_eq!(refused.status(), 503, "{refused:?}");
    set("SIGNING_KEYS_ARN", &keys_arn);

    // Sign-in: the DynamoDB connection and argon2's memory.
    let hasher = PasswordHasher::new();
    let app = App::from_env_with(Warmup::Credentials, KeyUse::Sign, hasher.prepare())
        .await
        .unwrap();
    assert_eq!(proxy.connections(), 1, "opened during init");
    assert!(hasher.is_prepared(), "argon2's memory in place");
    assert!(
        !Password::is_strength_check_prepared(),
        "sign-in never checks strength"
    );
    assert!(app.store.get(UserId::random()).await.unwrap().is_none());
    assert_eq!(proxy.connections(), 1, "the first request reused it");

    let hasher = PasswordHasher::new();
    App::from_env_with(Warmup::Nothing, KeyUse::Sign, hasher.prepare())
        .await
        .unwrap();
    assert_eq!(proxy.connections(), 1, "refresh does not warm up");
    assert!(!hasher.is_prepared());

    set("INIT_WARMUP", "off");
    App::from_env_with(Warmup::Credentials, KeyUse::Sign, sign_up(&hasher))
        .await
        .unwrap();
    assert_eq!(proxy.connections(), 1, "switched off");
    assert!(!hasher.is_prepared());
    assert!(!Password::is_strength_check_prepared(), "switched off");
    set("INIT_WARMUP", "sometimes");
    assert!(App::from_env(Warmup::Credentials, KeyUse::Sign)
        .await
        .is_err());
    set("INIT_WARMUP", "on");

    // A local refresh secret: init waits on nothing (the key set is read in the
    // background), so there is nothing to overlap and no warm-up.
    set("REFRESH_SECRET", &"l".repeat(48));
    App::from_env_with(Warmup::Credentials, KeyUse::Sign, sign_up(&hasher))
        .await
        .unwrap();
    assert_eq!(
        proxy.connections(),
        1,
        "no Secrets Manager wait: no warm-up"
    );
    assert!(!hasher.is_prepared());
    assert!(!Password::is_strength_check_prepared());
    std::env::remove_var("REFRESH_SECRET");

    App::from_env_with(Warmup::Credentials, KeyUse::Sign, sign_up(&hasher))
        .await
        .unwrap();
    assert_eq!(proxy.connections(), 2, "sign-up warms DynamoDB up too");
    assert!(hasher.is_prepared());
    assert!(
        Password::is_strength_check_prepared(),
        "sign-up loads zxcvbn's dictionaries"
    );

    // Not warmed (a verifier): the store's client is built by the first call, which reaches
    // DynamoDB as a warmed one does.
    let verifier = App::from_env(Warmup::Nothing, KeyUse::Verify)
        .await
        .unwrap();
    assert_eq!(proxy.connections(), 2, "nothing opened at init");
    assert!(verifier.store.get(UserId::random()).await.unwrap().is_none());
    assert_eq!(proxy.connections(), 3, "opened by the first call");

    // DynamoDB swallowing everything: init still ends, about a second later.
    proxy.set(Fault::Blackhole);
    let started = Instant::now();
    App::from_env(Warmup::Credentials, KeyUse::Sign)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(proxy.connections(), 4, "it did try");
    assert!(took < Duration::from_millis(1500), "init held {took:?}");
}
