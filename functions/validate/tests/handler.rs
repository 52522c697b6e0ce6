#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /token/validate` driven by the events/ fixtures against a real redis-server (and
//! moto, for the seeded users).

use serde_json::{json, Value};
use testkit::{assert_error, env, event, forge_token, json, now_unix, sign_raw, with_body};

const PASSWORD: &str = "correct horse battery staple";

fn asking_about(token: &str) -> lambda_http::Request {
    with_body(event("validate"), &json!({ "token": token }).to_string())
}

async fn verdict(app: &shared::App, token: &str) -> Value {
    let (status, body) = json(&validate::handle(app, asking_about(token)).await);
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_live_access_token_is_active_with_its_claims_and_nothing_else() {
    let env = env().await;
    let user = env.seed_user("live@world.com", PASSWORD).await;
    let token = env.token_for(&user).await;
    let body = verdict(&env.app, &token).await;
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let expected = [
        "active",
        "email",
        "exp",
        "iat",
        "iss",
        "sid",
        "sub",
        "token_type",
    ];
    assert_eq!(keys, expected);
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "access");
    assert_eq!(body["sub"], user.id.to_string());
    assert_eq!(body["email"], "live@world.com");
    assert_eq!(body["iss"], "testkit");
    let (iat, exp) = (body["iat"].as_i64().unwrap(), body["exp"].as_i64().unwrap());
    assert!((iat - now_unix()).abs() < 60 && exp > iat, "{body}");
    assert_eq!(body["sid"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn a_signed_out_token_is_inactive_and_the_other_sessions_stay_active() {
    let env = env().await;
    let user = env.seed_user("out@world.com", PASSWORD).await;
    let (ended, other) = (env.token_for(&user).await, env.token_for(&user).await);
    let claims = env.app.tokens.verify(&ended).await.unwrap();
    let session = claims.session_id().unwrap();
    env.end_session(user.id, &session).await;
    assert_eq!(verdict(&env.app, &ended).await, json!({"active": false}));
    assert_eq!(verdict(&env.app, &other).await["active"], true);
    env.end_all_sessions(user.id).await;
    assert_eq!(verdict(&env.app, &other).await, json!({"active": false}));
}

#[tokio::test]
async fn any_other_token_is_inactive_and_nothing_more_is_said() {
    let env = env().await;
    let user = env.seed_user("forged@world.com", PASSWORD).await;
    let live = env.token_for(&user).await;
    let sid = env.app.tokens.verify(&live).await.unwrap().sid;
    let now = now_unix();
    let claims = |iat: i64, exp: i64, iss: &str| {
        json!({"sub": user.id.to_string(), "email": "forged@world.com", "iat": iat, "exp": exp,
               "iss": iss, "jti": "j", "sid": sid})
    };
    let mut tampered = live.clone();
    tampered.pop();
    tampered.push(if live.ends_with('A') { 'B' } else { 'A' });
    let dead = [
        forge_token(&claims(now - 7200, now - 3600, "testkit")), // expired, live session
        forge_token(&claims(now, now + 600, "someone-else")),
        sign_raw(
            &json!({"typ": "JWT", "alg": "HS256"}),
            &claims(now, now + 600, "testkit"),
            b"another key that is long enough for hs256!!",
        ),
        sign_raw(
            &json!({"typ": "JWT", "alg": "none"}),
            &claims(now, now + 600, "testkit"),
            b"",
        ),
        tampered,
        "not.a.token".to_owned(),
        "x".repeat(9000),
        "\u{0}".to_owned(),
    ];
    for token in &dead {
        assert_eq!(
            verdict(&env.app, token).await,
            json!({"active": false}),
            "{token}"
        );
    }
    // The fixture that says so.
    let (status, body) = json(&validate::handle(&env.app, event("validate-not-a-token")).await);
    assert_eq!((status, body), (200, json!({"active": false})));
}

#[tokio::test]
async fn a_request_that_is_not_a_token_question_gets_the_documented_errors() {
    let env = env().await;
    assert_error(
        &validate::handle(&env.app, event("validate-missing-token")).await,
        400,
        "Missing fields",
        4000,
    );
    for (body, status, message, code) in [
        (r#"{"token": 42}"#, 400, "Invalid fields", 4001),
        (r#"{"token": null}"#, 400, "Missing fields", 4000),
        (
            "[\"a.b.c\"]",
            400,
            "Request body must be a JSON object",
            4002,
        ),
        (
            "{\"token\": ",
            400,
            "Request body must be a JSON object",
            4002,
        ),
        ("", 400, "Request body must be a JSON object", 4002),
    ] {
        let response = validate::handle(&env.app, with_body(event("validate"), body)).await;
        assert_error(&response, status, message, code);
    }
    let form = testkit::event_edited("validate", |event| {
        event["headers"]["content-type"] = "application/x-www-form-urlencoded".into();
    });
    assert_error(
        &validate::handle(&env.app, form).await,
        415,
        "Content-Type must be application/json",
        4150,
    );
}

#[tokio::test]
async fn each_client_address_is_rate_limited() {
    let redis = testkit::redis::RedisServer::start();
    let env = testkit::env_with(
        &redis.url(),
        &[
            ("RATE_LIMIT_CAPACITY", "3"),
            ("RATE_LIMIT_REFILL_PER_SECOND", "1"),
        ],
    )
    .await;
    for _ in 0..3 {
        assert_eq!(verdict(&env.app, "not.a.token").await["active"], false);
    }
    let refused = validate::handle(&env.app, asking_about("not.a.token")).await;
    assert_error(&refused, 429, "Too many requests", 4290);
    assert!(testkit::retry_after(&refused) >= 1);
    // Another address has its own bucket.
    let elsewhere = testkit::event_edited("validate-not-a-token", |event| {
        event["requestContext"]["http"]["sourceIp"] = "198.51.100.7".into();
    });
    assert_eq!(json(&validate::handle(&env.app, elsewhere).await).0, 200);
}

/// Sessions live in Redis: with Redis down, whether a token is live cannot be known, so the
/// answer is 503, never an `active: true` for a session that may have been ended.
#[tokio::test]
async fn with_redis_down_the_answer_is_503_not_a_guess() {
    let redis = testkit::redis::RedisServer::start();
    let env = testkit::env_with(&redis.url(), &[]).await;
    let user = env.seed_user("down@world.com", PASSWORD).await;
    let token = env.token_for(&user).await;
    redis.kill();
    let response = validate::handle(&env.app, asking_about(&token)).await;
    assert_error(&response, 503, "Service unavailable", 5030);
}
