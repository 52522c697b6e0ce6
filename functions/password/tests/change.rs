#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /password/change` against real moto_server and redis-server: the new password works,
//! every other session ends (access and refresh tokens), the one it was made on goes on (also
//! once Redis forgets it), and a wrong current password counts toward the sign-in lock.

use password::Passwords;
use serde_json::json;
use shared::domain::User;
use shared::token::IssuedToken;
use testkit::{
    assert_error, env, event, json, me_with, signin_from, with_body, with_header, TestEnv,
};

const OLD: &str = "correct horse battery staple";
const NEW: &str = "a brand new horse on a battery";

fn passwords(env: &TestEnv) -> Passwords<'_, shared::store::DynamoUserStore> {
    Passwords {
        app: &env.app,
        hasher: env.hasher.clone(),
        lockout: env.lockout,
    }
}

async fn change(
    env: &TestEnv,
    token: &str,
    current: &str,
    new: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let body = json!({"current_password": current, "new_password": new}).to_string();
    let request = with_header(
        with_body(event("password-change"), &body),
        "authorization",
        &format!("Bearer {token}"),
    );
    password::handle(&passwords(env), request).await
}

async fn sign_in(env: &TestEnv, email: &str, password: &str) -> u16 {
    let signin = signin::SignIn {
        app: &env.app,
        hasher: env.hasher.clone(),
        lockout: env.lockout,
        require_verified: false,
    };
    signin::handle(&signin, signin_from("198.51.100.9", email, password))
        .await
        .status()
        .as_u16()
}

async fn me_status(env: &TestEnv, token: &str) -> u16 {
    me::handle(&env.app, me_with(token)).await.status().as_u16()
}

async fn refresh_status(env: &TestEnv, pair: &IssuedToken) -> u16 {
    let body = json!({ "refresh_token": pair.refresh_token }).to_string();
    refresh::handle(&env.app, with_body(event("refresh"), &body))
        .await
        .status()
        .as_u16()
}

async fn two_devices(env: &TestEnv, email: &str) -> (User, IssuedToken, IssuedToken) {
    let user = env.seed_user(email, OLD).await;
    let this = env.pair_for(&user).await;
    let other = env.pair_for(&user).await;
    (user, this, other)
}

#[tokio::test]
async fn a_change_ends_every_other_session_and_keeps_this_one() {
    let env = env().await;
    let email = "change-flow@example.com";
    let (_, this, other) = two_devices(&env, email).await;
    let response = change(&env, &this.token, OLD, NEW).await;
    assert_eq!(response.status(), 204);
    assert!(response.body().is_empty());

    assert_eq!(me_status(&env, &other.token).await, 401);
    assert_eq!(refresh_status(&env, &other).await, 401);
    assert_eq!(me_status(&env, &this.token).await, 200);
    assert_eq!(sign_in(&env, email, OLD).await, 401);
    assert_eq!(sign_in(&env, email, NEW).await, 200);
    // Redis forgets everything (a flush, a failover): the durable records say the same.
    env.redis.as_ref().unwrap().flush_all();
    assert_eq!(me_status(&env, &other.token).await, 401);
    assert_eq!(me_status(&env, &this.token).await, 200);
    // This session's refresh token still refreshes.
    assert_eq!(refresh_status(&env, &this).await, 200);
}

#[tokio::test]
async fn a_wrong_current_password_counts_toward_the_lock() {
    let env = env().await;
    let email = "change-lock@example.com";
    let (_, this, _) = two_devices(&env, email).await;
    let (status, body) = json(&change(&env, &this.token, "not it at all", NEW).await);
    assert_eq!(
        (status, body["errorCode"].as_u64()),
        (400, Some(4001)),
        "{body}"
    );
    assert_eq!(body["details"][0]["field"], "current_password");
    assert_eq!(env.lock_failures(email).await, 1);
    // The account's lock is sign-in's: four more failures lock both routes.
    for _ in 0..4 {
        assert_eq!(
            change(&env, &this.token, "not it at all", NEW)
                .await
                .status(),
            400
        );
    }
    let (status, body) = json(&change(&env, &this.token, OLD, NEW).await);
    assert_eq!(
        (status, body["errorCode"].as_u64()),
        (429, Some(4291)),
        "{body}"
    );
    assert_eq!(sign_in(&env, email, OLD).await, 429);
    // Nothing changed.
    assert_eq!(me_status(&env, &this.token).await, 200);
}

#[tokio::test]
async fn a_right_password_clears_the_failures_before_it() {
    let env = env().await;
    let email = "change-clears@example.com";
    let (_, this, _) = two_devices(&env, email).await;
    assert_eq!(sign_in(&env, email, "wrong guess here").await, 401);
    assert_eq!(env.lock_failures(email).await, 1);
    assert_eq!(change(&env, &this.token, OLD, NEW).await.status(), 204);
    assert_eq!(env.lock_failures(email).await, 0);
}

#[tokio::test]
async fn the_new_password_keeps_sign_up_s_rules_and_differs() {
    let env = env().await;
    let email = "change.rules@example.com";
    let (_, this, _) = two_devices(&env, email).await;
    for (new, reason) in [
        ("password1", "is too weak or too common"),
        (OLD, "must differ from the current password"),
        ("change.rules", "is too weak or too common"),
    ] {
        let (status, body) = json(&change(&env, &this.token, OLD, new).await);
        assert_eq!(
            (status, body["errorCode"].as_u64()),
            (400, Some(4001)),
            "{new}: {body}"
        );
        assert_eq!(body["details"][0]["field"], "new_password", "{new}");
        assert_eq!(body["details"][0]["reason"], reason, "{new}");
    }
    assert_eq!(sign_in(&env, email, OLD).await, 200);
    assert_eq!(env.lock_failures(email).await, 0);
}

#[tokio::test]
async fn racing_changes_have_one_winner() {
    let env = env().await;
    let email = "change-race@example.com";
    let (_, this, _) = two_devices(&env, email).await;
    let news = [
        "first horse on a battery",
        "second horse on a battery",
        "third horse on a battery",
    ];
    let (a, b, c) = tokio::join!(
        change(&env, &this.token, OLD, news[0]),
        change(&env, &this.token, OLD, news[1]),
        change(&env, &this.token, OLD, news[2]),
    );
    let statuses: Vec<u16> = [a, b, c].iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 400),
        "{statuses:?}"
    );
    let winner = statuses.iter().position(|s| *s == 204).unwrap();
    for (n, new) in news.iter().enumerate() {
        let expected = if n == winner { 200 } else { 401 };
        assert_eq!(sign_in(&env, email, new).await, expected, "{new}");
    }
    assert_eq!(me_status(&env, &this.token).await, 200);
}

#[tokio::test]
async fn no_live_session_no_change() {
    let env = env().await;
    let email = "change-auth@example.com";
    let (user, this, _) = two_devices(&env, email).await;
    let body = json!({"current_password": OLD, "new_password": NEW}).to_string();
    let response = password::handle(
        &passwords(&env),
        with_body(event("password-change-no-token"), &body),
    )
    .await;
    assert_error(&response, 401, "Unauthorized", 4011);
    let (status, body) = json(&change(&env, "not.a.token", OLD, NEW).await);
    assert_eq!((status, body["errorCode"].as_u64()), (401, Some(4012)));
    env.end_all_sessions(user.id).await;
    let (status, body) = json(&change(&env, &this.token, OLD, NEW).await);
    assert_eq!((status, body["errorCode"].as_u64()), (401, Some(4012)));
    assert_eq!(sign_in(&env, email, OLD).await, 200);
    assert_eq!(env.lock_failures(email).await, 0);
}
