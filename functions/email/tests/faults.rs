#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The e-mail routes and the mailer while DynamoDB or SES fail, through fault proxies in front
//! of the real servers: 503 in time (never a guess, never a 5xx for the client's mistake),
//! nothing half-done, and everything works again once the network heals.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::fault::{Fault, FaultProxy};
use testkit::moto::{self, code_in, mail_requests, sent_to};
use testkit::{assert_error, env_with_faults, event, json, with_body};

const PASSWORD: &str = "correct horse battery staple";

fn verifying(email: &str, code: &str) -> lambda_http::Request {
    with_body(
        event("email-verify"),
        &json!({"email": email, "code": code}).to_string(),
    )
}

fn resending(email: &str) -> lambda_http::Request {
    with_body(
        event("email-resend"),
        &json!({ "email": email }).to_string(),
    )
}

#[tokio::test]
async fn dynamodb_partitioned_is_503_in_time_for_both_routes_and_heals() {
    let faulty = env_with_faults().await;
    let app = &faulty.env.app;
    faulty.env.seed_user("faults@example.com", PASSWORD).await;
    for fault in [Fault::Blackhole, Fault::DropResponses] {
        faulty.dynamodb.set(fault);
        for request in [
            verifying("faults@example.com", "123456"),
            resending("faults@example.com"),
        ] {
            let started = Instant::now();
            let response = email::handle(app, request).await;
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
    // Healed: a wrong code is the client's mistake again, a resend is accepted.
    let response = email::handle(app, verifying("faults@example.com", "123456")).await;
    assert_error(&response, 400, "Invalid or expired code", 4003);
    let (status, _) = json(&email::handle(app, resending("faults@example.com")).await);
    assert_eq!(status, 202);
}

/// SES unreachable: the send fails in bounded time, no code is stored (none that nobody
/// received), and the request made once SES is back delivers a code that works.
#[tokio::test]
async fn ses_unreachable_stores_no_code_and_a_later_request_works() {
    let faulty = env_with_faults().await;
    let env = &faulty.env;
    let ses_proxy = FaultProxy::start(moto::server().port);
    let direct = moto::ses_client(&moto::server().endpoint).await;
    let from = moto::verified_sender(&direct).await;
    // The mailer reads DynamoDB around the proxy: only SES fails here.
    let mailer = mailer::Mailer {
        store: shared::store::DynamoUserStore::new(env.client.clone(), &env.table),
        ses: mailer::Ses::Ready(moto::ses_client(&ses_proxy.url("http")).await),
        from: shared::domain::Email::parse(&from).unwrap(),
        lifetime: None,
    };
    env.seed_user("ses-down@example.com", PASSWORD).await;
    let mut seen = BTreeSet::new();
    ses_proxy.set(Fault::Blackhole);
    let started = Instant::now();
    let summary = mailer
        .handle(&mail_requests(&env.client, &env.table, &mut seen).await)
        .await;
    assert_eq!((summary.sent, summary.failed), (0, 1));
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    assert!(!env.keys().await.iter().any(|k| k.starts_with("CODE#")));

    ses_proxy.set(Fault::None);
    ses_proxy.drop_open_connections();
    let (status, _) = json(&email::handle(&env.app, resending("ses-down@example.com")).await);
    assert_eq!(status, 202);
    let summary = mailer
        .handle(&mail_requests(&env.client, &env.table, &mut seen).await)
        .await;
    assert_eq!(summary.sent, 1);
    let (_, body) = sent_to(moto::server().port, "ses-down@example.com")
        .pop()
        .unwrap();
    let code = code_in(&body).unwrap();
    let (status, body) =
        json(&email::handle(&env.app, verifying("ses-down@example.com", &code)).await);
    assert_eq!(status, 200, "{body}");
}
