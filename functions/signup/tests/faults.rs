#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /signup` while the network to DynamoDB or Redis fails, through a fault proxy in front
//! of the real servers, with production's SDK timeouts and retries.

use std::time::{Duration, Instant};

use testkit::fault::Fault;
use testkit::{assert_error, env_with_faults, event, json, with_body};

/// Sign-up as its main.rs builds it, on the test's environment.
fn service(env: &testkit::TestEnv) -> signup::SignUp<'_, shared::store::DynamoUserStore> {
    signup::SignUp {
        app: &env.app,
        hasher: env.hasher.clone(),
    }
}

/// The function timeout in template.yaml: a fault must be answered before it.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

fn signup_as(email: &str) -> lambda_http::Request {
    let body = event("signup").body().clone();
    let text = std::str::from_utf8(&body)
        .unwrap()
        .replace("hello@world.com", email);
    with_body(event("signup"), &text)
}

#[tokio::test]
async fn dynamodb_gone_is_503_leaves_nothing_and_recovers() {
    let faulty = env_with_faults().await;
    faulty.dynamodb.set(Fault::Reset);
    let response = signup::handle(&service(&faulty.env), event("signup")).await;
    assert_error(&response, 503, "Service unavailable", 5030);
    assert!(faulty.env.keys().await.is_empty());

    faulty.dynamodb.set(Fault::None);
    let (status, body) = json(&signup::handle(&service(&faulty.env), event("signup")).await);
    assert_eq!(status, 201, "{body}");
    assert_eq!(faulty.env.keys().await.len(), 4);
}

/// The server commits, the answer is lost: the client sees 503, the user is whole (never
/// half-written), and a retry tells the truth: the e-mail is taken, so signing in works.
#[tokio::test]
async fn answers_lost_after_the_write_leave_no_partial_user() {
    let faulty = env_with_faults().await;
    faulty.dynamodb.set(Fault::DropResponses);
    for n in 0..4 {
        let response = signup::handle(
            &service(&faulty.env),
            signup_as(&format!("lost{n}@world.com")),
        )
        .await;
        assert_error(&response, 503, "Service unavailable", 5030);
    }
    faulty.env.assert_no_partial_user().await;
    // The proxy drops only answers, so every transaction reached the server and committed.
    assert_eq!(faulty.env.keys().await.len(), 16);

    faulty.dynamodb.set(Fault::None);
    for n in 0..4 {
        let response = signup::handle(
            &service(&faulty.env),
            signup_as(&format!("lost{n}@world.com")),
        )
        .await;
        assert_error(&response, 409, "E-mail already exists", 4090);
    }
    assert_eq!(faulty.env.keys().await.len(), 16);
    faulty.env.assert_no_partial_user().await;
}

#[tokio::test]
async fn a_slow_dynamodb_is_answered_503_by_the_timeout_not_the_function_limit() {
    let faulty = env_with_faults().await;
    faulty.dynamodb.set(Fault::Delay(Duration::from_secs(3)));
    let started = Instant::now();
    let response = signup::handle(&service(&faulty.env), event("signup")).await;
    let elapsed = started.elapsed();
    assert_error(&response, 503, "Service unavailable", 5030);
    assert!(elapsed < FUNCTION_TIMEOUT, "{elapsed:?}");
    faulty.env.assert_no_partial_user().await;
}

/// Sign-up fails open on Redis: throttling and the session record are skipped, the user is
/// created, and the token is good once Redis is back... as a token, not as a session.
#[tokio::test]
async fn a_partitioned_redis_does_not_stop_sign_up() {
    let faulty = env_with_faults().await;
    faulty.redis.set(Fault::Blackhole);
    let started = Instant::now();
    let (status, body) = json(&signup::handle(&service(&faulty.env), event("signup")).await);
    assert_eq!(status, 201, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(faulty.env.keys().await.len(), 4);
}

/// The server commits, the answer is lost once, the SDK retries: the retry carries the same
/// idempotency token, so it is answered as the success it was, not as a conflict with the
/// user it just created (409 to the very client that created it).
#[tokio::test]
async fn an_answer_lost_once_is_retried_into_the_creator_s_success() {
    let faulty = env_with_faults().await;
    faulty.dynamodb.set(Fault::DropNextResponse);
    let (status, body) = json(&signup::handle(&service(&faulty.env), event("signup")).await);
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        faulty.dynamodb.connections(),
        2,
        "the answer was lost, the SDK retried"
    );
    assert_eq!(faulty.env.keys().await.len(), 4);
    faulty.env.assert_no_partial_user().await;
}

/// DynamoDB cancels a transaction that meets another one on the same item
/// (TransactionConflict); sign-up retries that a bounded number of times, then answers 503:
/// an overloaded key is an outage, not a bug.
#[tokio::test]
async fn transaction_conflicts_are_retried_a_bounded_number_of_times() {
    use shared::store::CONFLICT_RETRIES;
    use testkit::moto::transaction_conflicts;

    let env = testkit::env().await;
    transaction_conflicts(&env.table, Some(2));
    let (status, body) = json(&signup::handle(&service(&env), signup_as("first@world.com")).await);
    assert_eq!(status, 201, "{body}");
    assert_eq!(transaction_conflicts(&env.table, None), 0, "both retried");

    transaction_conflicts(&env.table, Some(100));
    let response = signup::handle(&service(&env), signup_as("second@world.com")).await;
    assert_error(&response, 503, "Service unavailable", 5030);
    let tries = 100 - transaction_conflicts(&env.table, None);
    assert_eq!(tries, 1 + CONFLICT_RETRIES);
    transaction_conflicts(&env.table, Some(0));
    assert_eq!(env.keys().await.len(), 4, "only the first user");
    env.assert_no_partial_user().await;
}

/// The signing keys unreadable (Secrets Manager down since init): 503 before anything is
/// written, so a retry once they are back is a sign-up, not a 409.
#[tokio::test]
async fn signing_keys_unreadable_is_503_and_writes_nothing() {
    let env = testkit::env_without_signing_keys().await;
    let response = signup::handle(&service(&env), event("signup")).await;
    assert_error(&response, 503, "Service unavailable", 5030);
    assert!(env.keys().await.is_empty(), "{:?}", env.keys().await);
}
