#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /token/validate` while the network to Redis fails, through a fault proxy in front of
//! the real server: it never guesses, never hangs, and recovers on its own.

use std::time::{Duration, Instant};

use serde_json::json;
use testkit::fault::Fault;
use testkit::{assert_error, env_with_faults, event, json, with_body};

fn asking_about(token: &str) -> lambda_http::Request {
    with_body(event("validate"), &json!({ "token": token }).to_string())
}

/// Partitioned or slow, Redis cannot say whether the session is live: 503 within a few
/// seconds (far inside the 10 s function timeout), never an answer about the token; the same
/// tokens get the right answers once the network heals.
#[tokio::test]
async fn a_partitioned_or_slow_redis_is_503_fast_and_heals() {
    let faulty = env_with_faults().await;
    let app = &faulty.env.app;
    let live_user = faulty
        .env
        .seed_user("live@world.com", "correct horse battery staple")
        .await;
    let live = faulty.env.token_for(&live_user).await;
    let ended = faulty.env.token_for(&live_user).await;
    let session = testkit::session_of(&ended);
    faulty.env.end_session(live_user.id, &session).await;

    for fault in [Fault::Blackhole, Fault::Delay(Duration::from_secs(2))] {
        faulty.redis.set(fault);
        for token in [&live, &ended] {
            let started = Instant::now();
            let response = validate::handle(app, asking_about(token)).await;
            assert_error(&response, 503, "Service unavailable", 5030);
            assert!(
                started.elapsed() < Duration::from_secs(4),
                "{:?}",
                started.elapsed()
            );
        }
        faulty.redis.set(Fault::None);
        for (token, active) in [(&live, true), (&ended, false), (&live, true)] {
            let (status, body) = json(&validate::handle(app, asking_about(token)).await);
            assert_eq!(
                (status, body["active"].as_bool()),
                (200, Some(active)),
                "{body}"
            );
        }
    }
}
