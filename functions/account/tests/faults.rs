#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The account routes while DynamoDB or Redis fail, through fault proxies in front of the real
//! servers: 503 in time, nothing half-done (the old password still works, the account is all
//! there), and everything works again once the network heals.

use std::time::{Duration, Instant};

mod common;

use serde_json::json;
use testkit::fault::{Fault, FaultProxy};
use testkit::{assert_error, authorized, env_with_faults, with_body, FaultyEnv};

const OLD: &str = "correct horse battery staple";
const NEW: &str = "a brand new horse on a battery";

/// Both routes with `proxy` failing: 503 in time and the account as it was; healed, the
/// change and then the deletion go through.
async fn refused_whole_then_healed(faulty: &FaultyEnv, proxy: &FaultProxy, email: &str) {
    let user = faulty.env.seed_user(email, OLD).await;
    let token = faulty.env.token_for(&user).await;
    let changing = || {
        with_body(
            authorized("account-change", &token),
            &json!({"current_password": OLD, "new_password": NEW}).to_string(),
        )
    };
    let deleting = |password: &str| {
        with_body(
            authorized("account-delete", &token),
            &json!({ "password": password }).to_string(),
        )
    };
    for fault in [Fault::Blackhole, Fault::DropResponses] {
        proxy.set(fault);
        for request in [changing(), deleting(OLD)] {
            let started = Instant::now();
            let response = account::handle(&common::account(&faulty.env), request).await;
            assert_error(&response, 503, "Service unavailable", 5030);
            assert!(
                started.elapsed() < Duration::from_secs(8),
                "{:?}",
                started.elapsed()
            );
        }
        proxy.set(Fault::None);
        proxy.drop_open_connections();
        let status = common::sign_in(&faulty.env, email, OLD).await;
        assert_eq!(status, 200, "half a change or deletion");
    }
    let response = account::handle(&common::account(&faulty.env), changing()).await;
    assert_eq!(response.status(), 204);
    assert_eq!(common::sign_in(&faulty.env, email, NEW).await, 200);
    let response = account::handle(&common::account(&faulty.env), deleting(NEW)).await;
    assert_eq!(response.status(), 204);
    assert_eq!(common::sign_in(&faulty.env, email, NEW).await, 401);
    let keys = faulty.env.keys().await;
    assert!(!keys.contains(&format!("USER#{}", user.id)), "{keys:?}");
    assert!(!keys.contains(&format!("EMAIL#{email}")), "{keys:?}");
}

#[tokio::test]
async fn dynamodb_partitioned_is_503_in_time_and_heals() {
    let faulty = env_with_faults().await;
    refused_whole_then_healed(&faulty, &faulty.dynamodb, "account-no-dynamodb@example.com").await;
}

/// Without Redis a session's liveness is unknown and its access tokens cannot be ended at
/// once: both routes fail closed before anything durable changes.
#[tokio::test]
async fn redis_unreachable_is_503_in_time_and_heals() {
    let faulty = env_with_faults().await;
    refused_whole_then_healed(&faulty, &faulty.redis, "account-no-redis@example.com").await;
}
