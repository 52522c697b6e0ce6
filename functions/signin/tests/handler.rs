#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /signin` driven by the events/ fixtures against a real moto_server.

use std::time::{Duration, Instant};

use shared::domain::Password;
use shared::store::UserStore;
use testkit::{assert_error, env, event, json, with_body};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn signs_in_and_moves_last_login_forward() {
    let env = env().await;
    let user = env.seed_user("hello@world.com", PASSWORD).await;
    let mut previous = user.last_login;
    for _ in 0..2 {
        let (status, body) = json(&signin::handle(&env.app, event("signin")).await);
        assert_eq!(status, 200, "{body}");
        let claims = env
            .app
            .tokens
            .verify(body["token"].as_str().unwrap())
            .unwrap();
        assert_eq!(claims.user_id(), Some(user.id));
        let stored = env.app.store.get(user.id).await.unwrap().unwrap();
        assert!(stored.last_login > previous, "last_login moves forward");
        assert_eq!(stored.created_at, user.created_at);
        previous = stored.last_login;
    }
}

#[tokio::test]
async fn email_is_matched_case_insensitively() {
    let env = env().await;
    env.seed_user("hello@world.com", PASSWORD).await;
    let body = format!(r#"{{"email": " Hello@WORLD.com", "password": "{PASSWORD}"}}"#);
    let response = signin::handle(&env.app, with_body(event("signin"), &body)).await;
    assert_eq!(json(&response).0, 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let env = env().await;
    env.seed_user("hello@world.com", PASSWORD).await;
    let wrong = signin::handle(&env.app, event("signin-wrong-password")).await;
    let unknown = signin::handle(&env.app, event("signin-unknown-email")).await;
    assert_error(&wrong, 401, "Invalid e-mail or password", 4010);
    assert_error(&unknown, 401, "Invalid e-mail or password", 4010);
    assert_eq!(json(&wrong), json(&unknown));
}

/// An unknown e-mail pays for one argon2 verify, like a wrong password. Without the dummy
/// hash it answers in a couple of milliseconds, ten times faster than a verify: this lower
/// bound catches that, and it holds on a loaded machine because the two are interleaved.
#[tokio::test]
async fn unknown_email_costs_an_argon2_verify() {
    let env = env().await;
    let user = env.seed_user("hello@world.com", PASSWORD).await;
    let digest = env
        .app
        .store
        .credentials(&user.email)
        .await
        .unwrap()
        .unwrap()
        .digest;
    let (mut unknown, mut verify) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let start = Instant::now();
        signin::handle(&env.app, event("signin-unknown-email")).await;
        unknown.push(start.elapsed());
        let start = Instant::now();
        let password = Password::for_signin("wrong").unwrap();
        let _ = env.app.hasher.verify(password, Some(digest.clone())).await;
        verify.push(start.elapsed());
    }
    unknown.sort();
    verify.sort();
    let (unknown, verify): (Duration, Duration) = (unknown[3], verify[3]);
    assert!(
        unknown.as_secs_f64() >= 0.5 * verify.as_secs_f64(),
        "unknown e-mail took {unknown:?}, one argon2 verify {verify:?}"
    );
}

#[tokio::test]
async fn client_mistakes_get_their_documented_errors() {
    let env = env().await;
    let response = signin::handle(&env.app, event("signin-missing-fields")).await;
    assert_error(&response, 400, "Missing fields", 4000);
    assert_eq!(json(&response).1["details"][0]["field"], "password");
    for (body, status, message, code) in [
        ("{}", 400, "Missing fields", 4000),
        (
            r#"{"email": "x", "password": "y"}"#,
            400,
            "Invalid fields",
            4001,
        ),
        (
            r#"{"email": 1, "password": "y"}"#,
            400,
            "Invalid fields",
            4001,
        ),
        ("{", 400, "Request body must be a JSON object", 4002),
    ] {
        let response = signin::handle(&env.app, with_body(event("signin"), body)).await;
        assert_error(&response, status, message, code);
    }
}

#[tokio::test]
async fn an_unreachable_store_answers_503_json() {
    let app = testkit::unreachable_app().await;
    let response = signin::handle(&app, event("signin")).await;
    assert_error(&response, 503, "Service unavailable", 5030);
}
