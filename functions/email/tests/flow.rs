#![allow(clippy::unwrap_used, clippy::expect_used)]

//! E-mail verification end to end against real moto_server (DynamoDB and SES) and
//! redis-server: sign-up queues the request, the mailer (fed what the stream would carry)
//! sends the code through SES, `POST /email/verify` takes it.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use mailer::{Mailer, Summary};
use testkit::moto::{self, code_in, mail_requests, sent_to};
use testkit::{assert_error, env, event, json, with_body, with_header, TestEnv};

const PASSWORD: &str = "correct horse battery staple";

struct Post {
    seen: BTreeSet<String>,
    mailer: Mailer,
}

impl Post {
    async fn new(env: &TestEnv) -> Self {
        let ses = moto::ses_client(&moto::server().endpoint).await;
        let from = moto::verified_sender(&ses).await;
        Self::with_sender(env, ses, &from, None)
    }

    fn with_sender(
        env: &TestEnv,
        ses: aws_sdk_sesv2::Client,
        from: &str,
        lifetime: Option<std::time::Duration>,
    ) -> Self {
        Self {
            seen: BTreeSet::new(),
            mailer: Mailer {
                store: env.app.store.clone(),
                ses: mailer::Ses::Ready(ses),
                from: shared::domain::Email::parse(from).unwrap(),
                lifetime,
            },
        }
    }

    /// Hands the mailer what the stream would since the last call.
    async fn deliver(&mut self, env: &TestEnv) -> Summary {
        let event = mail_requests(&env.client, &env.table, &mut self.seen).await;
        self.mailer.handle(&event).await
    }
}

fn latest_code(to: &str) -> Option<String> {
    sent_to(moto::server().port, to)
        .last()
        .and_then(|(_, body)| code_in(body))
}

async fn verify(
    env: &TestEnv,
    email: &str,
    code: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let body = serde_json::json!({"email": email, "code": code}).to_string();
    email::handle(&env.app, with_body(event("email-verify"), &body)).await
}

async fn resend(env: &TestEnv, email: &str) -> (u16, serde_json::Value) {
    let body = serde_json::json!({ "email": email }).to_string();
    json(&email::handle(&env.app, with_body(event("email-resend"), &body)).await)
}

/// The profile `GET /me` shows with `token`.
async fn me(env: &TestEnv, token: &str) -> serde_json::Value {
    let request = with_header(event("me"), "authorization", &format!("Bearer {token}"));
    let (status, body) = json(&me::handle(&env.app, request).await);
    assert_eq!(status, 200);
    body
}

fn wrong(code: &str) -> String {
    let last = code.as_bytes()[5] - b'0';
    format!("{}{}", &code[..5], (last + 1) % 10)
}

#[tokio::test]
async fn sign_up_sends_a_code_that_verifies_the_address_once() {
    let env = env().await;
    let mut post = Post::new(&env).await;
    let user = env.seed_user("verify-once@example.com", PASSWORD).await;
    let token = env.token_for(&user).await;
    assert_eq!(me(&env, &token).await["email_verified"], false);
    assert_eq!(post.deliver(&env).await.sent, 1);
    let messages = sent_to(moto::server().port, "verify-once@example.com");
    assert_eq!(messages.len(), 1);
    let code = latest_code("verify-once@example.com").unwrap();
    assert_eq!(code.len(), 6);
    // Only a digest is stored.
    let stored = format!("{:?}", env.items().await);
    assert!(!stored.contains(&code), "the code is stored in clear");

    let (status, body) = json(&verify(&env, "Verify-Once@Example.com", &code).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email_verified"], true);
    let at = body["email_verified_at"].as_str().unwrap().to_owned();
    // At once, though the profile was cached unverified.
    let profile = me(&env, &token).await;
    assert_eq!(profile["email_verified"], true);
    assert_eq!(profile["email_verified_at"], at.as_str());
    // Single use.
    assert_error(
        &verify(&env, "verify-once@example.com", &code).await,
        400,
        "Invalid or expired code",
        4003,
    );
    // A verified address gets no more codes.
    env.client
        .delete_item()
        .table_name(&env.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(
                "MAILQUOTA#verify#verify-once@example.com".into(),
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resend(&env, "verify-once@example.com").await.0, 202);
    let summary = post.deliver(&env).await;
    assert_eq!((summary.sent, summary.skipped), (0, 1));
}

#[tokio::test]
async fn five_wrong_codes_kill_it() {
    let env = env().await;
    let mut post = Post::new(&env).await;
    env.seed_user("five-wrong@example.com", PASSWORD).await;
    post.deliver(&env).await;
    let code = latest_code("five-wrong@example.com").unwrap();
    for _ in 0..5 {
        assert_error(
            &verify(&env, "five-wrong@example.com", &wrong(&code)).await,
            400,
            "Invalid or expired code",
            4003,
        );
    }
    assert_error(
        &verify(&env, "five-wrong@example.com", &code).await,
        400,
        "Invalid or expired code",
        4003,
    );
}

#[tokio::test]
async fn an_expired_code_fails() {
    let env = env().await;
    let ses = moto::ses_client(&moto::server().endpoint).await;
    let from = moto::verified_sender(&ses).await;
    let mut post = Post::with_sender(&env, ses, &from, Some(std::time::Duration::from_secs(1)));
    env.seed_user("expired@example.com", PASSWORD).await;
    post.deliver(&env).await;
    let code = latest_code("expired@example.com").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_error(
        &verify(&env, "expired@example.com", &code).await,
        400,
        "Invalid or expired code",
        4003,
    );
}

#[tokio::test]
async fn racing_verifications_with_one_code_have_one_winner() {
    let env = env().await;
    let mut post = Post::new(&env).await;
    env.seed_user("race@example.com", PASSWORD).await;
    post.deliver(&env).await;
    let code = latest_code("race@example.com").unwrap();
    let answers = futures_join(&env, &code).await;
    let wins = answers.iter().filter(|status| **status == 200).count();
    assert_eq!(wins, 1, "{answers:?}");
    assert!(
        answers.iter().all(|s| *s == 200 || *s == 400),
        "{answers:?}"
    );
}

async fn futures_join(env: &TestEnv, code: &str) -> Vec<u16> {
    let (a, b, c, d) = tokio::join!(
        verify(env, "race@example.com", code),
        verify(env, "race@example.com", code),
        verify(env, "race@example.com", code),
        verify(env, "race@example.com", code),
    );
    [a, b, c, d].iter().map(|r| r.status().as_u16()).collect()
}

#[tokio::test]
async fn resend_answers_alike_for_any_address_and_keeps_to_the_quota() {
    let env = env().await;
    let mut post = Post::new(&env).await;
    env.seed_user("resend@example.com", PASSWORD).await;
    post.deliver(&env).await;
    let first = latest_code("resend@example.com").unwrap();

    let known = resend(&env, "resend@example.com").await;
    let unknown = resend(&env, "nobody-here@example.com").await;
    assert_eq!(known.0, 202);
    assert_eq!(known, unknown, "the answer tells the addresses apart");
    // Both were queued; only the account's gets a message, and its first code dies.
    let summary = post.deliver(&env).await;
    assert_eq!((summary.sent, summary.skipped), (1, 1), "{summary:?}");
    let second = latest_code("resend@example.com").unwrap();
    if second != first {
        assert_eq!(
            verify(&env, "resend@example.com", &first).await.status(),
            400
        );
    }
    // Within the minute, another resend is answered alike and queues nothing.
    assert_eq!(resend(&env, "resend@example.com").await, known);
    assert_eq!(resend(&env, "nobody-here@example.com").await, known);
    let summary = post.deliver(&env).await;
    assert_eq!((summary.sent, summary.skipped), (0, 0), "{summary:?}");
    // A minute later (the quota's record moved back), one more goes out.
    env.client
        .delete_item()
        .table_name(&env.table)
        .key(
            "pk",
            AttributeValue::S("MAILQUOTA#verify#resend@example.com".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resend(&env, "resend@example.com").await.0, 202);
    assert_eq!(post.deliver(&env).await.sent, 1);
    let third = latest_code("resend@example.com").unwrap();
    assert_eq!(
        verify(&env, "resend@example.com", &third).await.status(),
        200
    );
    assert!(sent_to(moto::server().port, "nobody-here@example.com").is_empty());
}

#[tokio::test]
async fn a_refused_send_stores_no_code_and_the_user_can_ask_again() {
    let env = env().await;
    let ses = moto::ses_client(&moto::server().endpoint).await;
    // An address moto's SES has no identity for: it refuses the message (MessageRejected).
    let mut refused = Post::with_sender(&env, ses, "unverified@example.com", None);
    env.seed_user("refused@example.com", PASSWORD).await;
    let summary = refused.deliver(&env).await;
    assert_eq!((summary.sent, summary.failed), (0, 1));
    assert!(sent_to(moto::server().port, "refused@example.com").is_empty());
    assert!(
        !env.keys().await.iter().any(|k| k.starts_with("CODE#")),
        "a code stored that nobody received"
    );
    // SES back: the resend works.
    let mut post = Post::new(&env).await;
    post.seen = refused.seen.clone();
    assert_eq!(resend(&env, "refused@example.com").await.0, 202);
    assert_eq!(post.deliver(&env).await.sent, 1);
    let code = latest_code("refused@example.com").unwrap();
    assert_eq!(
        verify(&env, "refused@example.com", &code).await.status(),
        200
    );
}

#[tokio::test]
async fn bad_requests_get_field_errors_and_unknown_addresses_the_code_error() {
    let env = env().await;
    let (status, body) = json(&email::handle(&env.app, event("email-verify-bad-code")).await);
    assert_eq!((status, body["errorCode"].as_u64()), (400, Some(4001)));
    assert_eq!(body["details"][0]["field"], "code");
    assert_error(
        &verify(&env, "never-signed-up@example.com", "123456").await,
        400,
        "Invalid or expired code",
        4003,
    );
    for request in [
        with_body(event("email-resend"), "{}"),
        with_body(event("email-resend"), "[1]"),
        with_body(event("email-resend"), r#"{"email": 5}"#),
    ] {
        let (status, _) = json(&email::handle(&env.app, request).await);
        assert_eq!(status, 400);
    }
}
