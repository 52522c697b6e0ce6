#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /signin` while the network to DynamoDB or Redis fails, through a fault proxy in front
//! of the real servers, with production's SDK timeouts and retries.

use std::time::{Duration, Instant};

use testkit::fault::Fault;
use testkit::{assert_error, env_with_faults, json, signin_from};

const PASSWORD: &str = "correct horse battery staple";

/// Sign-in as its main.rs builds it, on the test's environment.
fn service(env: &testkit::TestEnv) -> signin::SignIn<'_, shared::store::DynamoUserStore> {
    signin::SignIn {
        app: &env.app,
        hasher: env.hasher.clone(),
        lockout: env.lockout,
        require_verified: false,
    }
}
const IP: &str = "198.51.100.7";
/// The function timeout in template.yaml: a fault must be answered before it.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The seeded user signs in with the right password.
async fn sign_in(faulty: &testkit::FaultyEnv) -> lambda_http::Response<lambda_http::Body> {
    let request = signin_from(IP, "hello@world.com", PASSWORD);
    signin::handle(&service(&faulty.env), request).await
}

#[tokio::test]
async fn dynamodb_partitioned_is_503_in_time_and_recovers() {
    let faulty = env_with_faults().await;
    faulty.env.seed_user("hello@world.com", PASSWORD).await;
    faulty.dynamodb.set(Fault::Blackhole);
    let started = Instant::now();
    let response = sign_in(&faulty).await;
    let elapsed = started.elapsed();
    assert_error(&response, 503, "Service unavailable", 5030);
    assert!(elapsed < FUNCTION_TIMEOUT, "{elapsed:?}");

    faulty.dynamodb.set(Fault::None);
    let (status, body) = json(&sign_in(&faulty).await);
    assert_eq!(status, 200, "{body}");
}

/// An outage is not a wrong password: six of them (the lock starts after five failures) must
/// not lock the account.
#[tokio::test]
async fn dynamodb_gone_does_not_count_as_failed_attempts() {
    let faulty = env_with_faults().await;
    faulty.env.seed_user("hello@world.com", PASSWORD).await;
    faulty.dynamodb.set(Fault::Reset);
    for _ in 0..6 {
        let response = sign_in(&faulty).await;
        assert_error(&response, 503, "Service unavailable", 5030);
    }
    faulty.dynamodb.set(Fault::None);
    let (status, body) = json(&sign_in(&faulty).await);
    assert_eq!(status, 200, "{body}");
}

/// Sign-in fails open on a slow Redis: each Redis call gives up after its own short timeout.
#[tokio::test]
async fn a_slow_redis_does_not_stop_sign_in() {
    let faulty = env_with_faults().await;
    faulty.env.seed_user("hello@world.com", PASSWORD).await;
    faulty.redis.set(Fault::Delay(Duration::from_secs(2)));
    let started = Instant::now();
    let (status, body) = json(&sign_in(&faulty).await);
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// A credential read whose answer cannot be parsed is an outage (503), and what is logged
/// about it names the failure, never the response: its body holds the password hash.
#[tokio::test]
async fn an_unreadable_credential_record_is_logged_without_its_hash() {
    let faulty = env_with_faults().await;
    faulty.env.seed_user("hello@world.com", PASSWORD).await;
    faulty
        .dynamodb
        .set(Fault::Rewrite(b"{\"Item\"", b"[\"Item\""));
    let (logs, _guard) = testkit::logs::Logs::capture();
    let response = sign_in(&faulty).await;
    let logged = logs.text();
    assert_error(&response, 500, "Internal server error", 5000);
    assert!(!logged.contains("argon2"), "a hash in the logs: {logged}");
    assert!(!logged.contains("passwordHash"), "{logged}");
    assert!(logged.contains("could not be read (HTTP 200)"), "{logged}");
}

/// The signing keys unreadable (Secrets Manager down since init): 503, and no session is
/// stored that no token was issued for.
#[tokio::test]
async fn signing_keys_unreadable_is_503_and_opens_no_session() {
    let env = testkit::env_without_signing_keys().await;
    let email = testkit::unique_email();
    env.seed_user(&email, PASSWORD).await;
    let sessions = |keys: Vec<String>| keys.iter().filter(|k| k.starts_with("SESSION#")).count();
    let before = sessions(env.keys().await);
    let response = signin::handle(&service(&env), signin_from(IP, &email, PASSWORD)).await;
    assert_error(&response, 503, "Service unavailable", 5030);
    assert_eq!(sessions(env.keys().await), before);
}
