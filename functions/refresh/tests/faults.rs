#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /token/refresh` while the network to DynamoDB or Redis fails, through fault proxies in
//! front of the real servers, with production's SDK timeouts and retries.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use testkit::fault::Fault;
use testkit::{assert_error, env_with_faults, event, json, with_body};

const PASSWORD: &str = "correct horse battery staple";

fn refreshing(token: &str) -> lambda_http::Request {
    with_body(
        event("refresh"),
        &json!({ "refresh_token": token }).to_string(),
    )
}

/// DynamoDB unreachable or stalled: 503 inside the function timeout, nothing spent; the same
/// token works once the network heals.
#[tokio::test]
async fn an_unreachable_dynamodb_is_503_and_the_token_still_works_after() {
    let faulty = env_with_faults().await;
    let app = &faulty.env.app;
    let user = faulty.env.seed_user("down@world.com", PASSWORD).await;
    let pair = faulty.env.pair_for(&user).await;
    for fault in [
        Fault::Blackhole,
        Fault::Reset,
        Fault::Delay(Duration::from_secs(3)),
    ] {
        faulty.dynamodb.set(fault);
        let started = Instant::now();
        let response = refresh::handle(app, refreshing(&pair.refresh_token)).await;
        assert_error(&response, 503, "Service unavailable", 5030);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{fault:?}: {:?}",
            started.elapsed()
        );
    }
    faulty.dynamodb.set(Fault::None);
    let (status, body) = json(&refresh::handle(app, refreshing(&pair.refresh_token)).await);
    assert_eq!(status, 200, "{body}");
}

/// The rotation commits and its answer is lost: the SDK's retry finds the session moved on,
/// the refresh reads it again and answers the successor; a client retry of the same token
/// within grace gets that same pair. One rotation in the table, not two.
#[tokio::test]
async fn a_rotation_whose_answer_was_lost_is_answered_with_the_same_successor() {
    let faulty = env_with_faults().await;
    let app = &faulty.env.app;
    let user = faulty.env.seed_user("lost@world.com", PASSWORD).await;
    let pair = faulty.env.pair_for(&user).await;
    faulty
        .dynamodb
        .set(Fault::DropResponseTo(b"DynamoDB_20120810.UpdateItem"));
    let (status, first) = json(&refresh::handle(app, refreshing(&pair.refresh_token)).await);
    assert_eq!(status, 200, "{first}");
    faulty.dynamodb.set(Fault::None);
    let (status, again) = json(&refresh::handle(app, refreshing(&pair.refresh_token)).await);
    assert_eq!(status, 200, "{again}");
    assert_eq!(first["refresh_token"], again["refresh_token"]);
    let sid = app.tokens.verify(&pair.token).await.unwrap().sid;
    let stored = faulty
        .env
        .items()
        .await
        .into_iter()
        .find(|item| item["pk"] == AttributeValue::S(format!("SESSION#{sid}")))
        .unwrap();
    assert_eq!(stored["generation"], AttributeValue::N("1".into()));
    let next = first["refresh_token"].as_str().unwrap();
    let (status, body) = json(&refresh::handle(app, refreshing(next)).await);
    assert_eq!(status, 200, "{body}");
}

/// Redis down: a refresh still rotates (the durable record is the truth; the rate limit fails
/// open) and `/me`'s copy is written once Redis is back, on first use.
#[tokio::test]
async fn a_partitioned_redis_does_not_stop_refreshes() {
    let faulty = env_with_faults().await;
    let app = &faulty.env.app;
    let user = faulty.env.seed_user("noredis@world.com", PASSWORD).await;
    let pair = faulty.env.pair_for(&user).await;
    faulty.redis.set(Fault::Blackhole);
    let started = Instant::now();
    let (status, body) = json(&refresh::handle(app, refreshing(&pair.refresh_token)).await);
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    faulty.redis.set(Fault::None);
    let claims = app
        .tokens
        .verify(body["token"].as_str().unwrap())
        .await
        .unwrap();
    assert!(app
        .check_session(claims.user_id().unwrap(), &claims.session_id().unwrap())
        .await
        .is_ok());
}

/// The signing keys unreadable (Secrets Manager down since init): 503, and the refresh token
/// is not spent (no rotation without a new access token to answer with).
#[tokio::test]
async fn signing_keys_unreadable_is_503_and_spends_nothing() {
    use shared::store::SessionStore as _;
    let env = testkit::env_without_signing_keys().await;
    let user = env
        .seed_user(&testkit::unique_email(), "correct horse battery staple")
        .await;
    let opening = env
        .app
        .new_session(user.id, shared::session::ClientInfo::default())
        .await
        .unwrap();
    env.app
        .store
        .open_session(opening.new_session())
        .await
        .unwrap();
    let request = testkit::with_body(
        testkit::event("refresh"),
        &serde_json::json!({"refresh_token": opening.token.encode()}).to_string(),
    );
    let response = refresh::handle(&env.app, request).await;
    testkit::assert_error(&response, 503, "Service unavailable", 5030);
    let found = env
        .app
        .store
        .find_session(user.id, &opening.token.session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.record.generation, 0, "not rotated");
}
