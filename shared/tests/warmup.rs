#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Init waits on no network: the keys in Secrets Manager (the key set, the refresh-token key)
//! are read in the background, and sign-up and sign-in open their DynamoDB connection (and put
//! argon2's memory in place) in the background too, where the first request reuses it; sign-up
//! also loads the strength dictionaries. Nothing else warms up, a function that only verifies
//! reads no secret, a key that cannot be read is a 503 for the requests that need it, and a
//! DynamoDB that does not answer holds nothing. Counts the connections through a proxy in
//! front of moto. Its own test binary: it sets process-wide variables.

use std::time::{Duration, Instant};

use shared::config::{self, ConfigError, NoTokens, SignTokens, VerifyTokens};
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
fn sign_up(hasher: &PasswordHasher) -> impl std::future::Future<Output = ()> + Send + 'static {
    let memory = hasher.prepare();
    async move {
        tokio::join!(memory, Password::prepare_strength_check());
    }
}

/// Waits (at most two seconds) for the background warm-up to reach `what`.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !done() {
        assert!(Instant::now() < deadline, "not done in 2 s: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn init_waits_on_nothing_and_the_warm_up_is_reused() {
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

    // Secrets Manager unreachable: a verifier and a signer both start at once, and what needs
    // the refresh-token key answers 503 until it can be read.
    set(
        "PUBLIC_KEYS_ARN",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:none",
    );
    set("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:1");
    let started = Instant::now();
    App::from_env(Warmup::Nothing, VerifyTokens).await.unwrap();
    let signer = App::from_env(Warmup::Nothing, SignTokens).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "init waited {:?}",
        started.elapsed()
    );
    let refused = signer.tokens.refresh_keys().await.unwrap_err();
    assert_eq!(refused.status(), 503, "{refused:?}");
    // A function that handles no token needs no key named at all, and holds none: asked to
    // verify or sign anyway (a wiring bug), it answers 500, never a pass.
    let public_keys = std::env::var("PUBLIC_KEYS_ARN").unwrap();
    std::env::remove_var("PUBLIC_KEYS_ARN");
    let keyless = App::from_env(Warmup::Nothing, NoTokens).await.unwrap();
    let token = testkit::forge_token(&serde_json::json!({"sub": "x", "sid": "y", "iat": 1,
        "exp": testkit::now_unix() + 60}));
    assert_eq!(
        keyless.tokens.verify(&token).await.unwrap_err().status(),
        500
    );
    assert_eq!(
        keyless.tokens.signing_ready().await.unwrap_err().status(),
        500
    );
    assert_eq!(keyless.tokens.published().await.unwrap_err().status(), 500);
    set("PUBLIC_KEYS_ARN", &public_keys);
    set("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.as_str());
    // Read, and fit: the refresh-token key works once Secrets Manager answers.
    let signer = App::from_env(Warmup::Nothing, SignTokens).await.unwrap();
    assert!(signer.tokens.refresh_keys().await.is_ok());
    // A weak key in the secret is refused when read, as a 503, never used.
    let weak = std::env::var("REFRESH_SECRET_ARN").unwrap();
    set("REFRESH_SECRET_ARN", &store_secret("short").await);
    let signer = App::from_env(Warmup::Nothing, SignTokens).await.unwrap();
    assert_eq!(
        signer.tokens.refresh_keys().await.unwrap_err().status(),
        503
    );
    set("REFRESH_SECRET_ARN", &weak);
    // A weak key in the environment stops the function at init.
    set("REFRESH_SECRET", "short");
    assert!(matches!(
        App::from_env(Warmup::Nothing, SignTokens).await.err(),
        Some(ConfigError::Invalid {
            name: "REFRESH_SECRET",
            ..
        })
    ));
    std::env::remove_var("REFRESH_SECRET");

    // The key set is read in the background: a signer whose set is missing starts, and every
    // request that would sign answers 503 before writing anything.
    let keys_arn = std::env::var("SIGNING_KEYS_ARN").unwrap();
    set("SIGNING_KEYS_ARN", &format!("{keys_arn}-missing"));
    let keyless = App::from_env(Warmup::Nothing, SignTokens).await.unwrap();
    let refused = keyless.tokens.signing_ready().await.unwrap_err();
    assert_eq!(refused.status(), 503, "{refused:?}");
    set("SIGNING_KEYS_ARN", &keys_arn);

    // Sign-in: the DynamoDB connection and argon2's memory, in the background.
    let hasher = PasswordHasher::new();
    let app = App::from_env_with(Warmup::Credentials, SignTokens, hasher.prepare())
        .await
        .unwrap();
    eventually("the connection opened", || proxy.connections() == 1).await;
    eventually("argon2's memory in place", || hasher.is_prepared()).await;
    // Its call answered (a request that comes while it is in flight opens another one).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !Password::is_strength_check_prepared(),
        "sign-in never checks strength"
    );
    assert!(app.store.get(UserId::random()).await.unwrap().is_none());
    assert_eq!(proxy.connections(), 1, "the first request reused it");

    let hasher = PasswordHasher::new();
    App::from_env_with(Warmup::Nothing, SignTokens, hasher.prepare())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(proxy.connections(), 1, "refresh does not warm up");
    assert!(!hasher.is_prepared());

    set("INIT_WARMUP", "off");
    App::from_env_with(Warmup::Credentials, SignTokens, sign_up(&hasher))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(proxy.connections(), 1, "switched off");
    assert!(!hasher.is_prepared());
    assert!(!Password::is_strength_check_prepared(), "switched off");
    set("INIT_WARMUP", "sometimes");
    assert!(App::from_env(Warmup::Credentials, SignTokens)
        .await
        .is_err());
    set("INIT_WARMUP", "on");

    // A local refresh-token key: not as deployed, no warm-up.
    set("REFRESH_SECRET", &"l".repeat(48));
    App::from_env_with(Warmup::Credentials, SignTokens, sign_up(&hasher))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(proxy.connections(), 1, "local: no warm-up");
    assert!(!hasher.is_prepared());
    assert!(!Password::is_strength_check_prepared());
    std::env::remove_var("REFRESH_SECRET");

    App::from_env_with(Warmup::Credentials, SignTokens, sign_up(&hasher))
        .await
        .unwrap();
    eventually("sign-up warms DynamoDB up too", || proxy.connections() == 2).await;
    eventually("argon2's memory", || hasher.is_prepared()).await;
    eventually(
        "zxcvbn's dictionaries",
        Password::is_strength_check_prepared,
    )
    .await;

    // Not warmed (a verifier): the store's client is built by the first call, which reaches
    // DynamoDB as a warmed one does.
    let verifier = App::from_env(Warmup::Nothing, VerifyTokens).await.unwrap();
    assert_eq!(proxy.connections(), 2, "nothing opened at init");
    assert!(verifier
        .store
        .get(UserId::random())
        .await
        .unwrap()
        .is_none());
    assert_eq!(proxy.connections(), 3, "opened by the first call");

    // DynamoDB swallowing everything: init does not wait for the warm-up at all.
    proxy.set(Fault::Blackhole);
    let started = Instant::now();
    App::from_env(Warmup::Credentials, SignTokens)
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(500), "init held {took:?}");
    eventually("it did try", || proxy.connections() == 4).await;
}
