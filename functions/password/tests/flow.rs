#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The forgotten password end to end against real moto_server (DynamoDB and SES) and
//! redis-server: `POST /password/forgot` queues the request, the mailer (fed what the stream
//! would carry) sends the code through SES, `POST /password/reset` takes it; sign-in, refresh
//! and `/me` show what the reset did to the account.

use std::collections::BTreeSet;

use mailer::{Mailer, Summary};
use password::Passwords;
use serde_json::json;
use shared::domain::{Email, PersonName};
use shared::store::UserStore;
use testkit::moto::{self, code_in, mail_requests, sent_to};
use testkit::{assert_error, env, event, json, me_with, signin_from, with_body, TestEnv};

const OLD: &str = "correct horse battery staple";
const NEW: &str = "a brand new horse on a battery";

struct Post {
    seen: BTreeSet<String>,
    mailer: Mailer,
}

impl Post {
    async fn new(env: &TestEnv, from: Option<&str>, lifetime: Option<u64>) -> Self {
        let ses = moto::ses_client(&moto::server().endpoint).await;
        let from = match from {
            Some(from) => from.to_owned(),
            None => moto::verified_sender(&ses).await,
        };
        Self {
            seen: BTreeSet::new(),
            mailer: Mailer {
                store: env.app.store.clone(),
                ses: mailer::Ses::Ready(ses),
                from: Email::parse(&from).unwrap(),
                lifetime: lifetime.map(std::time::Duration::from_secs),
            },
        }
    }

    /// Hands the mailer what the stream would since the last call.
    async fn deliver(&mut self, env: &TestEnv) -> Summary {
        let event = mail_requests(&env.client, &env.table, &mut self.seen).await;
        self.mailer.handle(&event).await
    }
}

fn passwords(env: &TestEnv) -> Passwords<'_, shared::store::DynamoUserStore> {
    Passwords {
        app: &env.app,
        hasher: env.hasher.clone(),
    }
}

/// The last reset code sent to `to` (verification codes are 6 digits, these 8).
fn reset_code(to: &str) -> Option<String> {
    sent_to(moto::server().port, to)
        .iter()
        .rev()
        .filter_map(|(_, body)| code_in(body))
        .find(|code| code.len() == 8)
}

async fn forgot(env: &TestEnv, email: &str) -> (u16, serde_json::Value) {
    let body = json!({ "email": email }).to_string();
    let request = with_body(event("password-forgot"), &body);
    json(&password::handle(&passwords(env), request).await)
}

async fn reset(
    env: &TestEnv,
    email: &str,
    code: &str,
    new: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let body = json!({"email": email, "code": code, "password": new}).to_string();
    password::handle(&passwords(env), with_body(event("password-reset"), &body)).await
}

async fn sign_in(env: &TestEnv, email: &str, password: &str) -> u16 {
    let signin = signin::SignIn {
        app: &env.app,
        hasher: env.hasher.clone(),
        lockout: env.lockout,
        require_verified: false,
    };
    signin::handle(&signin, signin_from("198.51.100.7", email, password))
        .await
        .status()
        .as_u16()
}

fn wrong(code: &str) -> String {
    let last = code.as_bytes()[7] - b'0';
    format!("{}{}", &code[..7], (last + 1) % 10)
}

/// A user, their reset code (delivered) and the post that carried it.
async fn with_code(env: &TestEnv, email: &str) -> (shared::domain::User, String, Post) {
    let mut post = Post::new(env, None, None).await;
    let user = env.seed_user(email, OLD).await;
    assert_eq!(forgot(env, email).await.0, 202);
    // The sign-up's verification message and the reset.
    assert_eq!(post.deliver(env).await.sent, 2);
    (user, reset_code(email).unwrap(), post)
}

#[tokio::test]
async fn a_reset_sets_the_password_ends_every_session_and_clears_the_lock() {
    let env = env().await;
    let email = "reset-flow@example.com";
    let (user, code, _post) = with_code(&env, email).await;
    let pair = env.pair_for(&user).await;
    assert_eq!(sign_in(&env, email, "not the password").await, 401);
    assert_eq!(env.lock_failures(email).await, 1);
    // Only a digest is stored.
    assert!(!format!("{:?}", env.items().await).contains(&code));

    let response = reset(&env, "Reset-Flow@Example.com", &code, NEW).await;
    assert_eq!(response.status(), 204);
    assert!(response.body().is_empty());

    // Every session is over: the access token at once, the refresh token too.
    let (status, body) = json(&me::handle(&env.app, me_with(&pair.token)).await);
    assert_eq!((status, body["errorCode"].as_u64()), (401, Some(4012)));
    let refresh = json!({ "refresh_token": pair.refresh_token }).to_string();
    let (status, _) = json(&refresh::handle(&env.app, with_body(event("refresh"), &refresh)).await);
    assert_eq!(status, 401);
    // The failures counted against the old password went with it.
    assert_eq!(env.lock_failures(email).await, 0);
    // Not signed in by the reset: the new password signs in, the old one no longer does.
    assert_eq!(sign_in(&env, email, OLD).await, 401);
    assert_eq!(sign_in(&env, email, NEW).await, 200);
    // The code came through the mailbox: the address is verified.
    let profile = env.app.store.get(user.id).await.unwrap().unwrap();
    assert!(profile.email_verified.is_verified());
    // Single use.
    assert_error(
        &reset(&env, email, &code, "yet another horse on a battery").await,
        400,
        "Invalid or expired code",
        4003,
    );
}

#[tokio::test]
async fn five_wrong_codes_kill_it_and_a_verification_code_is_no_reset_code() {
    let env = env().await;
    let email = "reset-wrong@example.com";
    let (_, code, _post) = with_code(&env, email).await;
    let verification = sent_to(moto::server().port, email)
        .iter()
        .filter_map(|(_, body)| code_in(body))
        .find(|code| code.len() == 6)
        .unwrap();
    // Not even the same digits padded: the field wants 8.
    let (status, body) = json(&reset(&env, email, &verification, NEW).await);
    assert_eq!((status, body["errorCode"].as_u64()), (400, Some(4001)));
    for _ in 0..5 {
        assert_error(
            &reset(&env, email, &wrong(&code), NEW).await,
            400,
            "Invalid or expired code",
            4003,
        );
    }
    assert_error(
        &reset(&env, email, &code, NEW).await,
        400,
        "Invalid or expired code",
        4003,
    );
    assert_eq!(sign_in(&env, email, OLD).await, 200);
}

#[tokio::test]
async fn racing_resets_with_one_code_have_one_winner() {
    let env = env().await;
    let email = "reset-race@example.com";
    let (_, code, _post) = with_code(&env, email).await;
    let passwords = [
        "first horse on a battery",
        "second horse on a battery",
        "third horse on a battery",
        "fourth horse on a battery",
    ];
    let (a, b, c, d) = tokio::join!(
        reset(&env, email, &code, passwords[0]),
        reset(&env, email, &code, passwords[1]),
        reset(&env, email, &code, passwords[2]),
        reset(&env, email, &code, passwords[3]),
    );
    let statuses: Vec<u16> = [a, b, c, d].iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 400),
        "{statuses:?}"
    );
    // The winner's password is the one that works.
    let winner = statuses.iter().position(|s| *s == 204).unwrap();
    for (n, password) in passwords.iter().enumerate() {
        let expected = if n == winner { 200 } else { 401 };
        assert_eq!(sign_in(&env, email, password).await, expected, "{password}");
    }
}

#[tokio::test]
async fn an_expired_code_fails() {
    let env = env().await;
    let mut post = Post::new(&env, None, Some(1)).await;
    env.seed_user("reset-expired@example.com", OLD).await;
    forgot(&env, "reset-expired@example.com").await;
    post.deliver(&env).await;
    let code = reset_code("reset-expired@example.com").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_error(
        &reset(&env, "reset-expired@example.com", &code, NEW).await,
        400,
        "Invalid or expired code",
        4003,
    );
}

#[tokio::test]
async fn the_new_password_keeps_sign_up_s_rules_names_included() {
    let env = env().await;
    let email = "zq.rules@example.com";
    // A user with uncommon names, stored as sign-up stores one.
    let mut user = testkit::user(email);
    user.first_name = PersonName::parse("Quelminda").unwrap();
    user.last_name = PersonName::parse("Vartabedian").unwrap();
    env.store_user(&user, OLD).await;
    let mut post = Post::new(&env, None, None).await;
    forgot(&env, email).await;
    post.deliver(&env).await;
    let code = reset_code(email).unwrap();

    let (status, body) = json(&reset(&env, email, &code, "password1").await);
    assert_eq!((status, body["errorCode"].as_u64()), (400, Some(4001)));
    assert_eq!(body["details"][0]["field"], "password");
    // Strong for anyone else, weak for the user it names.
    let personal = "quelmindavartabedian";
    assert!(shared::domain::Password::new_for_signup(personal, &[]).is_ok());
    let (status, body) = json(&reset(&env, email, &code, personal).await);
    assert_eq!(
        (status, body["errorCode"].as_u64()),
        (400, Some(4001)),
        "{body}"
    );
    assert_eq!(body["details"][0]["field"], "password");
    // The code was not used up by the refusals.
    assert_eq!(reset(&env, email, &code, NEW).await.status(), 204);
    assert_eq!(sign_in(&env, email, NEW).await, 200);
}

#[tokio::test]
async fn forgot_answers_alike_for_any_address_and_only_accounts_get_mail() {
    let env = env().await;
    let mut post = Post::new(&env, None, None).await;
    env.seed_user("forgot-known@example.com", OLD).await;
    post.deliver(&env).await;
    let known = forgot(&env, "forgot-known@example.com").await;
    let unknown = forgot(&env, "forgot-nobody@example.com").await;
    assert_eq!(known.0, 202);
    assert_eq!(known, unknown, "the answer tells the addresses apart");
    let summary = post.deliver(&env).await;
    assert_eq!((summary.sent, summary.skipped), (1, 1), "{summary:?}");
    assert!(reset_code("forgot-known@example.com").is_some());
    assert!(sent_to(moto::server().port, "forgot-nobody@example.com").is_empty());
    // Within the minute: the same answer, nothing queued. The quota is per purpose: a
    // verification resend still goes.
    assert_eq!(forgot(&env, "forgot-known@example.com").await, known);
    assert_eq!(post.deliver(&env).await, Summary::default());
    // An unknown address's reset is a wrong code, like any other.
    assert_error(
        &reset(&env, "forgot-nobody@example.com", "12345678", NEW).await,
        400,
        "Invalid or expired code",
        4003,
    );
}

#[tokio::test]
async fn a_refused_send_stores_no_reset_code() {
    let env = env().await;
    env.seed_user("reset-refused@example.com", OLD).await;
    // An address moto's SES has no identity for: it refuses the message (MessageRejected).
    let mut refused = Post::new(&env, Some("unverified@example.com"), None).await;
    forgot(&env, "reset-refused@example.com").await;
    let summary = refused.deliver(&env).await;
    assert_eq!((summary.sent, summary.failed), (0, 2));
    assert!(
        !env.keys().await.iter().any(|k| k.starts_with("CODE#")),
        "a code stored that nobody received"
    );
}

#[tokio::test]
async fn bad_requests_get_field_errors() {
    let env = env().await;
    let (status, body) =
        json(&password::handle(&passwords(&env), event("password-reset-weak")).await);
    assert_eq!((status, body["errorCode"].as_u64()), (400, Some(4001)));
    assert_eq!(body["details"][0]["field"], "password");
    assert_error(
        &password::handle(&passwords(&env), event("password-reset-wrong-code")).await,
        400,
        "Invalid or expired code",
        4003,
    );
    for (fixture, body) in [
        ("password-forgot", "{}"),
        ("password-forgot", "[1]"),
        ("password-forgot", r#"{"email": 5}"#),
        ("password-reset", "{}"),
        (
            "password-reset",
            r#"{"email": "a@b.co", "code": "1234567", "password": "x"}"#,
        ),
        ("password-reset", "not json"),
    ] {
        let request = with_body(event(fixture), body);
        let (status, answer) = json(&password::handle(&passwords(&env), request).await);
        assert_eq!(status, 400, "{fixture} {body}: {answer}");
        assert!(answer["errorCode"].as_u64().unwrap() >= 4000, "{answer}");
    }
}
