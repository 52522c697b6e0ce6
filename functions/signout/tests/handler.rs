#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /signout` against real moto_server and redis-server.

use std::collections::HashMap;

use lambda_http::RequestExt;
use testkit::{assert_error, env, event, json, with_body, with_header, TestEnv};

const PASSWORD: &str = "correct horse battery staple";

fn authorized(request: lambda_http::Request, token: &str) -> lambda_http::Request {
    with_header(request, "authorization", &format!("Bearer {token}"))
}

async fn me_status(env: &TestEnv, token: &str) -> u16 {
    let request = authorized(event("me"), token);
    me::handle(&env.app, request).await.status().as_u16()
}

#[tokio::test]
async fn signing_out_ends_only_that_session() {
    let env = env().await;
    let user = env.seed_user("hello@world.com", PASSWORD).await;
    let (first, second) = (env.token_for(&user).await, env.token_for(&user).await);
    let response = signout::handle(&env.app, authorized(event("signout"), &first)).await;
    assert_eq!(response.status(), 204);
    assert!(response.headers().get("content-type").is_none());
    assert_eq!(me_status(&env, &first).await, 401);
    assert_eq!(me_status(&env, &second).await, 200);
    // The ended session cannot sign out again.
    let again = signout::handle(&env.app, authorized(event("signout"), &first)).await;
    assert_error(&again, 401, "Unauthorized - invalid session", 4012);
    // Signing in again works at once.
    let third = env.token_for(&user).await;
    assert_eq!(me_status(&env, &third).await, 200);
}

#[tokio::test]
async fn signing_out_ends_the_refresh_tokens_too() {
    let env = env().await;
    let user = env.seed_user("refresh@world.com", PASSWORD).await;
    let refreshes = |pair: &shared::token::IssuedToken| {
        shared::session::RefreshToken::parse(&pair.refresh_token).unwrap()
    };
    let (one, two, three) = (
        env.pair_for(&user).await,
        env.pair_for(&user).await,
        env.pair_for(&user).await,
    );
    let response = signout::handle(&env.app, authorized(event("signout"), &one.token)).await;
    assert_eq!(response.status(), 204);
    assert!(env.app.refresh(&refreshes(&one)).await.is_err());
    let renewed = env.app.refresh(&refreshes(&two)).await.unwrap();
    let response =
        signout::handle(&env.app, authorized(event("signout-all"), &renewed.token)).await;
    assert_eq!(response.status(), 204);
    for pair in [&two, &three] {
        assert!(env.app.refresh(&refreshes(pair)).await.is_err());
    }
    let renewed = shared::session::RefreshToken::parse(&renewed.refresh_token).unwrap();
    assert!(env.app.refresh(&renewed).await.is_err());
}

#[tokio::test]
async fn scope_all_ends_every_session_by_query_or_body() {
    let env = env().await;
    let user = env.seed_user("many@world.com", PASSWORD).await;
    for request in [
        event("signout-all"),
        with_body(event("signout"), r#"{"scope": "all"}"#),
    ] {
        let tokens = [
            env.token_for(&user).await,
            env.token_for(&user).await,
            env.token_for(&user).await,
        ];
        let response = signout::handle(&env.app, authorized(request, &tokens[0])).await;
        assert_eq!(response.status(), 204);
        for token in &tokens {
            assert_eq!(me_status(&env, token).await, 401);
        }
    }
    let after = env.token_for(&user).await;
    assert_eq!(me_status(&env, &after).await, 200);
}

#[tokio::test]
async fn mistakes_are_clear_errors() {
    let env = env().await;
    let user = env.seed_user("oops@world.com", PASSWORD).await;
    let token = env.token_for(&user).await;
    assert_error(
        &signout::handle(&env.app, event("signout")).await,
        401,
        "Unauthorized - invalid session",
        4012,
    );
    let mut no_token = event("signout");
    no_token.headers_mut().remove("authorization");
    assert_error(
        &signout::handle(&env.app, no_token).await,
        401,
        "Unauthorized",
        4011,
    );
    // A body is optional, but a present one is parsed even when the query names the scope
    // (found by schemathesis: `?scope=all` with a garbage body used to sign out).
    for (query, body, status, code) in [
        (None, r#"{"scope": "everything"}"#, 400, 4001),
        (None, r#"{"scope": 1}"#, 400, 4001),
        (None, "[1]", 400, 4002),
        (Some("all"), "d\u{8}\u{fffd}", 400, 4002),
        (Some("current"), "[1]", 400, 4002),
        (Some("sometimes"), "", 400, 4001),
        (Some("current"), r#"{"scope": "\u0001"}"#, 400, 4001),
    ] {
        let mut request = authorized(with_body(event("signout"), body), &token);
        if let Some(scope) = query {
            request = request.with_query_string_parameters(HashMap::from([(
                "scope".to_owned(),
                vec![scope.to_owned()],
            )]));
        }
        let (got, value) = json(&signout::handle(&env.app, request).await);
        assert_eq!(
            (got, value["errorCode"].as_u64().unwrap()),
            (status, code),
            "{body}"
        );
    }
    assert_eq!(
        me_status(&env, &token).await,
        200,
        "refused sign-outs end nothing"
    );
}

/// Sessions live in Redis: with Redis down, sign-out cannot end one, and says so (503)
/// rather than answering 204 for a session that would still be live.
#[tokio::test]
async fn with_redis_down_sign_out_is_503_not_a_false_204() {
    let redis = testkit::redis::RedisServer::start();
    let env = testkit::env_with(&redis.url(), &[]).await;
    let user = env.seed_user("down@world.com", PASSWORD).await;
    let token = env.token_for(&user).await;
    redis.kill();
    for request in [event("signout"), event("signout-all")] {
        let response = signout::handle(&env.app, authorized(request, &token)).await;
        assert_error(&response, 503, "Service unavailable", 5030);
    }
}
