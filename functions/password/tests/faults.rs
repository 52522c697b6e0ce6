#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The password routes while DynamoDB or Redis fail, through fault proxies in front of the real
//! servers: 503 in time (never a guess, never a 5xx for the client's mistake), nothing
//! half-done (the old password still works, the code is still good), and everything works
//! again once the network heals.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use password::Passwords;
use serde_json::json;
use testkit::fault::Fault;
use testkit::moto::{self, code_in, mail_requests, sent_to};
use testkit::{assert_error, env_with_faults, event, json, signin_from, with_body, FaultyEnv};

const OLD: &str = "correct horse battery staple";
const NEW: &str = "a brand new horse on a battery";

fn forgetting(email: &str) -> lambda_http::Request {
    with_body(
        event("password-forgot"),
        &json!({ "email": email }).to_string(),
    )
}

fn resetting(email: &str, code: &str) -> lambda_http::Request {
    with_body(
        event("password-reset"),
        &json!({"email": email, "code": code, "password": NEW}).to_string(),
    )
}

fn passwords(faulty: &FaultyEnv) -> Passwords<'_, shared::store::DynamoUserStore> {
    Passwords {
        app: &faulty.env.app,
        hasher: faulty.env.hasher.clone(),
    }
}

async fn signs_in(faulty: &FaultyEnv, email: &str, password: &str) -> bool {
    let signin = signin::SignIn {
        app: &faulty.env.app,
        hasher: faulty.env.hasher.clone(),
        lockout: faulty.env.lockout,
        require_verified: false,
    };
    signin::handle(&signin, signin_from("198.51.100.8", email, password))
        .await
        .status()
        == 200
}

/// The reset code the mailer sends for `email`, on the direct DynamoDB client.
async fn code_for(faulty: &FaultyEnv, email: &str) -> String {
    let env = &faulty.env;
    let ses = moto::ses_client(&moto::server().endpoint).await;
    let from = moto::verified_sender(&ses).await;
    let mailer = mailer::Mailer {
        store: shared::store::DynamoUserStore::new(env.client.clone(), &env.table),
        ses: mailer::Ses::Ready(ses),
        from: shared::domain::Email::parse(&from).unwrap(),
        lifetime: None,
    };
    let mut seen = BTreeSet::new();
    mailer
        .handle(&mail_requests(&env.client, &env.table, &mut seen).await)
        .await;
    sent_to(moto::server().port, email)
        .iter()
        .rev()
        .filter_map(|(_, body)| code_in(body))
        .find(|code| code.len() == 8)
        .unwrap()
}

#[tokio::test]
async fn dynamodb_partitioned_is_503_in_time_for_both_routes_and_heals() {
    let faulty = env_with_faults().await;
    let email = "password-faults@example.com";
    faulty.env.seed_user(email, OLD).await;
    for fault in [Fault::Blackhole, Fault::DropResponses] {
        faulty.dynamodb.set(fault);
        for request in [forgetting(email), resetting(email, "12345678")] {
            let started = Instant::now();
            let response = password::handle(&passwords(&faulty), request).await;
            assert_error(&response, 503, "Service unavailable", 5030);
            assert!(
                started.elapsed() < Duration::from_secs(8),
                "{:?}",
                started.elapsed()
            );
        }
        faulty.dynamodb.set(Fault::None);
        faulty.dynamodb.drop_open_connections();
    }
    // Healed: the request goes out and its code resets the password.
    let (status, _) = json(&password::handle(&passwords(&faulty), forgetting(email)).await);
    assert_eq!(status, 202);
    let code = code_for(&faulty, email).await;
    let response = password::handle(&passwords(&faulty), resetting(email, &code)).await;
    assert_eq!(response.status(), 204);
    assert!(signs_in(&faulty, email, NEW).await);
}

/// Without Redis the access tokens' sessions cannot be ended at once: the reset is refused
/// before anything durable changes, and the same code works once Redis is back.
#[tokio::test]
async fn redis_unreachable_refuses_the_reset_whole_and_the_code_survives() {
    let faulty = env_with_faults().await;
    let email = "password-no-redis@example.com";
    faulty.env.seed_user(email, OLD).await;
    let (status, _) = json(&password::handle(&passwords(&faulty), forgetting(email)).await);
    assert_eq!(status, 202);
    let code = code_for(&faulty, email).await;

    faulty.redis.set(Fault::Blackhole);
    let started = Instant::now();
    let response = password::handle(&passwords(&faulty), resetting(email, &code)).await;
    assert_error(&response, 503, "Service unavailable", 5030);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    faulty.redis.set(Fault::None);
    faulty.redis.drop_open_connections();
    assert!(signs_in(&faulty, email, OLD).await, "half a reset");

    let response = password::handle(&passwords(&faulty), resetting(email, &code)).await;
    assert_eq!(response.status(), 204);
    assert!(signs_in(&faulty, email, NEW).await);
    assert!(!signs_in(&faulty, email, OLD).await);
}
