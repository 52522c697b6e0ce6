#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /password/change` against real moto_server and redis-server: the new password works,
//! every other session ends (access and refresh tokens), the one it was made on goes on (also
//! once Redis forgets it), and a wrong current password counts toward the sign-in lock.

mod common;

use common::{account, me_status, refresh_status, sign_in};
use serde_json::json;
use shared::domain::User;
use shared::token::IssuedToken;
use testkit::{assert_error, authorized, env, event, json, with_body, TestEnv};

const OLD: &str = "correct horse battery staple";
const NEW: &str = "a brand new horse on a battery";

async fn change(
    env: &TestEnv,
    token: &str,
    current: &str,
    new: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let body = json!({"current_password": current, "new_password": new}).to_string();
    let request = with_body(authorized("account-change", token), &body);
    account::handle(&account(env), request).await
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
    // Reached without the authorizer (a wiring mistake): never a signed-in call.
    let response = account::handle(
        &account(&env),
        with_body(event("account-no-authorizer"), &body),
    )
    .await;
    assert_error(&response, 401, "Unauthorized", 4011);
    // Claims that name no user or session of ours (the fixture's placeholders).
    let response = account::handle(&account(&env), with_body(event("account-change"), &body)).await;
    assert_error(&response, 401, "Unauthorized - invalid session", 4012);
    env.end_all_sessions(user.id).await;
    let (status, body) = json(&change(&env, &this.token, OLD, NEW).await);
    assert_eq!((status, body["errorCode"].as_u64()), (401, Some(4012)));
    assert_eq!(sign_in(&env, email, OLD).await, 200);
    assert_eq!(env.lock_failures(email).await, 0);
}
