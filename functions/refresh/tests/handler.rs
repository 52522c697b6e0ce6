#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /token/refresh` driven by the events/ fixtures against real servers (moto and a
//! redis-server of the test's own): rotation, reuse detection, the grace case, exact
//! concurrency, lifetimes, and sessions ended elsewhere.

use std::collections::HashSet;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use shared::domain::Timestamp;
use testkit::redis::RedisServer;
use testkit::{assert_error, env, env_with, event, json, with_body, TestEnv};

const PASSWORD: &str = "correct horse battery staple";

fn refreshing(token: &str) -> lambda_http::Request {
    with_body(
        event("refresh"),
        &json!({ "refresh_token": token }).to_string(),
    )
}

async fn refresh(env: &TestEnv, token: &str) -> (u16, Value) {
    json(&refresh::handle(&env.app, refreshing(token)).await)
}

/// The pair a refresh answered, checked for shape.
async fn refreshed(env: &TestEnv, token: &str) -> Value {
    let (status, body) = refresh(env, token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_expires_in"].as_u64().unwrap() > 29 * 86_400);
    body
}

fn refused(status: u16, body: &Value) {
    assert_eq!((status, &body["errorCode"]), (401, &json!(4012)), "{body}");
}

/// Whether the session an access token names is live (what `GET /me` asks).
async fn live(env: &TestEnv, access: &str) -> bool {
    let claims = env.app.tokens.verify(access).await.unwrap();
    env.app
        .check_session(claims.user_id().unwrap(), &claims.session_id().unwrap())
        .await
        .is_ok()
}

#[tokio::test]
async fn a_refresh_token_is_spent_for_a_new_pair_of_the_same_session() {
    let env = env().await;
    let user = env.seed_user("chain@world.com", PASSWORD).await;
    let first = env.pair_for(&user).await;
    let second = refreshed(&env, &first.refresh_token).await;
    let third = refreshed(&env, second["refresh_token"].as_str().unwrap()).await;
    let tokens: HashSet<&str> = [
        first.refresh_token.as_str(),
        second["refresh_token"].as_str().unwrap(),
        third["refresh_token"].as_str().unwrap(),
    ]
    .into();
    assert_eq!(tokens.len(), 3, "every refresh token is new");
    let sid = |access: &str| {
        testkit::claims_of(access)["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let access = third["token"].as_str().unwrap();
    assert_eq!(sid(access), sid(&first.token), "one session throughout");
    assert_eq!(
        env.app
            .tokens
            .verify(access)
            .await
            .unwrap()
            .email
            .as_deref(),
        Some("chain@world.com")
    );
    assert!(live(&env, access).await);
    let keys = env.keys().await;
    assert_eq!(
        keys.iter().filter(|k| k.starts_with("SESSION#")).count(),
        2,
        "sign-up's session and this one; a refresh opens none: {keys:?}"
    );
    let stored = env
        .items()
        .await
        .into_iter()
        .find(|item| item["pk"] == AttributeValue::S(format!("SESSION#{}", sid(access))))
        .unwrap();
    assert_eq!(stored["generation"], AttributeValue::N("2".into()));
    let text = format!("{stored:?}");
    for token in tokens {
        let secret = token.rsplit('.').next().unwrap();
        assert!(!text.contains(secret), "only digests are stored");
    }
}

#[tokio::test]
async fn a_spent_token_presented_again_ends_the_whole_session() {
    let env = env_with_own_redis(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    let user = env.seed_user("reuse@world.com", PASSWORD).await;
    let other = env.pair_for(&user).await;
    let first = env.pair_for(&user).await;
    let second = refreshed(&env, &first.refresh_token).await;
    let newest = second["refresh_token"].as_str().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let (status, body) = refresh(&env, &first.refresh_token).await;
    refused(status, &body);
    let (status, body) = refresh(&env, newest).await;
    refused(status, &body);
    assert!(!live(&env, second["token"].as_str().unwrap()).await);
    assert!(!live(&env, &first.token).await);
    assert!(
        live(&env, &other.token).await,
        "the user's other sessions stand"
    );
    refreshed(&env, &other.refresh_token).await;
}

#[tokio::test]
async fn within_grace_the_previous_token_gets_the_current_pair_again() {
    let env = env().await;
    let user = env.seed_user("grace@world.com", PASSWORD).await;
    let first = env.pair_for(&user).await;
    let second = refreshed(&env, &first.refresh_token).await;
    let again = refreshed(&env, &first.refresh_token).await;
    assert_eq!(again["refresh_token"], second["refresh_token"]);
    assert!(live(&env, again["token"].as_str().unwrap()).await);
    // The chain goes on from the one successor, and the grace is for the previous token only.
    let third = refreshed(&env, second["refresh_token"].as_str().unwrap()).await;
    let (status, body) = refresh(&env, &first.refresh_token).await;
    refused(status, &body);
    let (status, body) = refresh(&env, third["refresh_token"].as_str().unwrap()).await;
    refused(status, &body);
}

#[tokio::test]
async fn parallel_refreshes_of_one_token_never_fork_the_chain() {
    let env = Arc::new(env().await);
    let user = env.seed_user("race@world.com", PASSWORD).await;
    let first = env.pair_for(&user).await;
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (env, token) = (env.clone(), first.refresh_token.clone());
            tokio::spawn(async move { refresh(&env, &token).await })
        })
        .collect();
    let mut successors = HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        // All within the grace period: every one gets the successor, none a 401.
        assert_eq!(status, 200, "{body}");
        successors.insert(body["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(successors.len(), 1, "exactly one successor: {successors:?}");
    let successor = successors.into_iter().next().unwrap();
    refreshed(&env, &successor).await;
}

#[tokio::test]
async fn tokens_we_did_not_mint_change_nothing() {
    let env = env().await;
    let user = env.seed_user("forged@world.com", PASSWORD).await;
    let pair = env.pair_for(&user).await;
    let fields: Vec<&str> = pair.refresh_token.split('.').collect();
    let forged_secret = format!(
        "{}.{}.{}.{}",
        fields[0],
        fields[1],
        fields[2],
        "A".repeat(64)
    );
    let older_generation = format!("{}.{}.7.{}", fields[0], fields[1], fields[3]);
    for bad in [
        forged_secret.as_str(),
        older_generation.as_str(),
        &pair.token,
        "not-a-refresh-token",
        &"x".repeat(10_000),
    ] {
        let (status, body) = refresh(&env, bad).await;
        refused(status, &body);
    }
    assert!(live(&env, &pair.token).await, "no forgery ends a session");
    refreshed(&env, &pair.refresh_token).await;
}

#[tokio::test]
async fn the_fixtures_get_the_documented_errors() {
    let env = env().await;
    let missing = refresh::handle(&env.app, event("refresh-missing-token")).await;
    assert_error(&missing, 400, "Missing fields", 4000);
    let not_ours = refresh::handle(&env.app, event("refresh-not-a-token")).await;
    assert_error(&not_ours, 401, "Unauthorized - invalid session", 4012);
    let unpasted = refresh::handle(&env.app, event("refresh")).await;
    assert_error(&unpasted, 401, "Unauthorized - invalid session", 4012);
    for body in ["[]", "{", "{\"refresh_token\": 7}"] {
        let response = refresh::handle(&env.app, with_body(event("refresh"), body)).await;
        assert_eq!(response.status(), 400, "{body}");
    }
}

#[tokio::test]
async fn signed_out_sessions_cannot_be_refreshed() {
    let env = env().await;
    let user = env.seed_user("out@world.com", PASSWORD).await;
    let (one, two, three) = (
        env.pair_for(&user).await,
        env.pair_for(&user).await,
        env.pair_for(&user).await,
    );
    let session = env
        .app
        .tokens
        .verify(&one.token)
        .await
        .unwrap()
        .session_id()
        .unwrap();
    env.end_session(user.id, &session).await;
    let (status, body) = refresh(&env, &one.refresh_token).await;
    refused(status, &body);
    refreshed(&env, &two.refresh_token).await;
    env.end_all_sessions(user.id).await;
    for pair in [&two, &three] {
        let (status, body) = refresh(&env, &pair.refresh_token).await;
        refused(status, &body);
    }
    let after = env.pair_for(&user).await;
    refreshed(&env, &after.refresh_token).await;
}

/// Moves a stored session's clock back: `field` (unix ms) by `seconds`.
async fn age(env: &TestEnv, access: &str, field: &str, seconds: i64) {
    let sid = env.app.tokens.verify(access).await.unwrap().sid;
    let then = Timestamp::now().unix_millis() - seconds * 1000;
    env.client
        .update_item()
        .table_name(&env.table)
        .key("pk", AttributeValue::S(format!("SESSION#{sid}")))
        .update_expression("SET #f = :then")
        .expression_attribute_names("#f", field)
        .expression_attribute_values(":then", AttributeValue::N(then.to_string()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn refresh_tokens_die_when_idle_and_sessions_at_their_maximum() {
    let env = env().await;
    let user = env.seed_user("life@world.com", PASSWORD).await;
    let idle = env.pair_for(&user).await;
    age(&env, &idle.token, "lastUsedAt", 30 * 86_400 + 1).await;
    let (status, body) = refresh(&env, &idle.refresh_token).await;
    refused(status, &body);

    let old = env.pair_for(&user).await;
    age(&env, &old.token, "openedAt", 90 * 86_400 - 3600).await;
    let body = refreshed_any(&env, &old.refresh_token).await;
    let left = body["refresh_expires_in"].as_u64().unwrap();
    assert!(
        (3590..=3600).contains(&left),
        "capped by the session's maximum: {left}"
    );
    age(&env, &old.token, "openedAt", 90 * 86_400 + 1).await;
    let (status, body) = refresh(&env, body["refresh_token"].as_str().unwrap()).await;
    refused(status, &body);
}

async fn refreshed_any(env: &TestEnv, token: &str) -> Value {
    let (status, body) = refresh(env, token).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn after_a_cache_flush_live_sessions_refresh_and_ended_ones_stay_ended() {
    let server = RedisServer::start();
    let mut env = env_with(&server.url(), &[]).await;
    let user = env.seed_user("flush@world.com", PASSWORD).await;
    let (kept, ended) = (env.pair_for(&user).await, env.pair_for(&user).await);
    let session = env
        .app
        .tokens
        .verify(&ended.token)
        .await
        .unwrap()
        .session_id()
        .unwrap();
    env.end_session(user.id, &session).await;
    server.flush_all();
    assert!(live(&env, &kept.token).await);
    assert!(!live(&env, &ended.token).await);
    let (status, body) = refresh(&env, &ended.refresh_token).await;
    refused(status, &body);
    let next = refreshed(&env, &kept.refresh_token).await;
    assert!(live(&env, next["token"].as_str().unwrap()).await);
    env.redis = Some(server);
}

async fn env_with_own_redis(overrides: &[(&str, &str)]) -> TestEnv {
    let server = RedisServer::start();
    let mut env = env_with(&server.url(), overrides).await;
    env.redis = Some(server);
    env
}
