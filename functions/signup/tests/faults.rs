#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /signup` while the network to DynamoDB or Redis fails, through a fault proxy in front
//! of the real servers, with production's SDK timeouts and retries.

use std::time::{Duration, Instant};

use testkit::fault::Fault;
use testkit::{assert_error, env_with_faults, event, json, with_body};

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
    let response = signup::handle(&faulty.env.app, event("signup")).await;
    assert_error(&response, 503, "Service unavailable", 5030);
    assert!(faulty.env.keys().await.is_empty());

    faulty.dynamodb.set(Fault::None);
    let (status, body) = json(&signup::handle(&faulty.env.app, event("signup")).await);
    assert_eq!(status, 201, "{body}");
    assert_eq!(faulty.env.keys().await.len(), 2);
}

/// The server commits, the answer is lost: the client sees 503, the user is whole (never
/// half-written), and a retry tells the truth: the e-mail is taken, so signing in works.
#[tokio::test]
async fn answers_lost_after_the_write_leave_no_partial_user() {
    let faulty = env_with_faults().await;
    faulty.dynamodb.set(Fault::DropResponses);
    for n in 0..4 {
        let response =
            signup::handle(&faulty.env.app, signup_as(&format!("lost{n}@world.com"))).await;
        assert_error(&response, 503, "Service unavailable", 5030);
    }
    faulty.env.assert_no_partial_user().await;
    // The proxy drops only answers, so every transaction reached the server and committed.
    assert_eq!(faulty.env.keys().await.len(), 8);

    faulty.dynamodb.set(Fault::None);
    for n in 0..4 {
        let response =
            signup::handle(&faulty.env.app, signup_as(&format!("lost{n}@world.com"))).await;
        assert_error(&response, 409, "E-mail already exists", 4090);
    }
    assert_eq!(faulty.env.keys().await.len(), 8);
    faulty.env.assert_no_partial_user().await;
}

#[tokio::test]
async fn a_slow_dynamodb_is_answered_503_by_the_timeout_not_the_function_limit() {
    let faulty = env_with_faults().await;
    faulty.dynamodb.set(Fault::Delay(Duration::from_secs(3)));
    let started = Instant::now();
    let response = signup::handle(&faulty.env.app, event("signup")).await;
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
    let (status, body) = json(&signup::handle(&faulty.env.app, event("signup")).await);
    assert_eq!(status, 201, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(faulty.env.keys().await.len(), 2);
}
