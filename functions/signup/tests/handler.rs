#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `POST /signup` driven by the events/ fixtures against a real moto_server.

use std::sync::Arc;

use shared::store::UserStore;
use testkit::{assert_error, env, event, json, with_body, with_header};

/// Sign-up as its main.rs builds it, on the test's environment.
fn service(env: &testkit::TestEnv) -> signup::SignUp<'_, shared::store::DynamoUserStore> {
    signup::SignUp {
        app: &env.app,
        hasher: env.hasher.clone(),
    }
}

#[tokio::test]
async fn signs_up_the_fixture_user_and_returns_a_token() {
    let env = env().await;
    let response = signup::handle(&service(&env), event("signup")).await;
    let (status, body) = json(&response);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["refresh_expires_in"], 30 * 86_400);
    assert_eq!(
        body["refresh_token"].as_str().unwrap().split('.').count(),
        4
    );
    let claims = env
        .app
        .tokens
        .verify(body["token"].as_str().unwrap())
        .await
        .unwrap();
    let user = env
        .app
        .store
        .get(claims.user_id().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.email.as_str(), "hello@world.com");
    assert_eq!(user.first_name.as_str(), "Hello");
    assert_eq!(user.phones[0].number, 988887888);
    assert_eq!(user.created_at, user.last_login);
    let keys = env.keys().await;
    assert_eq!(
        keys.len(),
        4,
        "a profile, a credential record, a session, a mail request: {keys:?}"
    );
    assert!(keys.iter().any(|k| k.starts_with("MAIL#")), "{keys:?}");
    assert!(
        keys.contains(&format!("SESSION#{}", claims.sid)),
        "{keys:?}"
    );
}

#[tokio::test]
async fn base64_bodies_are_decoded() {
    let env = env().await;
    let (status, body) = json(&signup::handle(&service(&env), event("signup-base64")).await);
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn existing_email_is_refused_case_insensitively_and_nothing_is_written() {
    let env = env().await;
    assert_eq!(
        json(&signup::handle(&service(&env), event("signup")).await).0,
        201
    );
    let keys = env.keys().await;
    for email in ["hello@world.com", "  HELLO@World.COM "] {
        let body = event("signup").body().clone();
        let text = std::str::from_utf8(&body)
            .unwrap()
            .replace("hello@world.com", email);
        let response = signup::handle(&service(&env), with_body(event("signup"), &text)).await;
        assert_error(&response, 409, "E-mail already exists", 4090);
    }
    assert_eq!(
        env.keys().await,
        keys,
        "a refused sign-up leaves no item behind"
    );
}

/// `n` sign-ups of the fixture's e-mail at once: exactly one 201, the rest 409, and exactly
/// one user's two records in the table.
async fn racing_signups_of_one_email(n: usize) {
    let env = Arc::new(env().await);
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let env = env.clone();
            tokio::spawn(async move {
                signup::handle(&service(&env), event("signup"))
                    .await
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort_unstable();
    let mut expected = vec![201];
    expected.extend(vec![409; n - 1]);
    assert_eq!(statuses, expected);
    assert_eq!(env.keys().await.len(), 4);
}

#[tokio::test]
async fn sixteen_simultaneous_signups_of_one_email_create_one_user() {
    racing_signups_of_one_email(16).await;
}

#[tokio::test]
async fn sixty_four_simultaneous_signups_of_one_email_create_one_user() {
    racing_signups_of_one_email(64).await;
}

#[tokio::test]
async fn sixty_four_simultaneous_signups_of_distinct_emails_create_all() {
    let env = Arc::new(env().await);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let env = env.clone();
            tokio::spawn(async move {
                let body = format!(
                    r#"{{"firstName": "User {i}", "lastName": "Racer", "email": "racer-{i}@example.com",
                        "password": "correct horse battery staple", "phones": []}}"#
                );
                let response = signup::handle(&service(&env), with_body(event("signup"), &body)).await;
                let (status, body) = json(&response);
                assert_eq!(status, 201, "{body}");
                let claims = env.app.tokens.verify(body["token"].as_str().unwrap()).await.unwrap();
                (i, claims.user_id().unwrap())
            })
        })
        .collect();
    for task in tasks {
        let (i, id) = task.await.unwrap();
        let user = env.app.store.get(id).await.unwrap().expect("retrievable");
        assert_eq!(user.email.as_str(), format!("racer-{i}@example.com"));
        assert_eq!(user.first_name.as_str(), format!("User {i}"));
    }
    assert_eq!(env.keys().await.len(), 256, "64 users of four items each");
}

#[tokio::test]
async fn the_contract_example_password_is_too_weak() {
    let env = env().await;
    let response = signup::handle(&service(&env), event("signup-contract-example")).await;
    assert_error(&response, 400, "Invalid fields", 4001);
    assert_eq!(json(&response).1["details"][0]["field"], "password");
    assert!(env.keys().await.is_empty());
}

#[tokio::test]
async fn client_mistakes_get_their_documented_errors() {
    let env = env().await;
    let cases = [
        ("signup-missing-fields", 400, "Missing fields", 4000),
        ("signup-invalid-fields", 400, "Invalid fields", 4001),
        (
            "signup-malformed-json",
            400,
            "Request body must be a JSON object",
            4002,
        ),
        (
            "signup-wrong-content-type",
            415,
            "Content-Type must be application/json",
            4150,
        ),
    ];
    for (fixture, status, message, code) in cases {
        let response = signup::handle(&service(&env), event(fixture)).await;
        assert_error(&response, status, message, code);
    }
    let details = json(&signup::handle(&service(&env), event("signup-invalid-fields")).await).1;
    assert_eq!(details["details"][0]["field"], "phones[0].number");
    assert!(env.keys().await.is_empty());
}

#[tokio::test]
async fn oversized_and_non_object_bodies_are_refused() {
    let env = env().await;
    let huge = format!("{{\"firstName\": \"{}\"}}", "a".repeat(70 * 1024));
    let response = signup::handle(&service(&env), with_body(event("signup"), &huge)).await;
    assert_error(&response, 413, "Request body too large", 4130);
    for body in ["[]", "null", "", "\"text\""] {
        let response = signup::handle(&service(&env), with_body(event("signup"), body)).await;
        assert_error(&response, 400, "Request body must be a JSON object", 4002);
    }
    let charset = with_header(
        event("signup"),
        "content-type",
        "application/json; charset=utf-8",
    );
    assert_eq!(json(&signup::handle(&service(&env), charset).await).0, 201);
}

#[tokio::test]
async fn an_unreachable_store_answers_503_json() {
    let app = testkit::unreachable_app().await;
    let signup = signup::SignUp {
        app: &app,
        hasher: shared::password::PasswordHasher::new(),
    };
    let response = signup::handle(&signup, event("signup")).await;
    assert_error(&response, 503, "Service unavailable", 5030);
}

/// The client's token is taken before the body is parsed: a refused body with a long password
/// (the strength check costs milliseconds) still spends one, so it cannot be sent for free.
#[tokio::test]
async fn invalid_bodies_spend_the_rate_limit_too() {
    let limits = [
        ("RATE_LIMIT_CAPACITY", "2"),
        ("RATE_LIMIT_REFILL_PER_SECOND", "1"),
    ];
    let redis = testkit::redis::RedisServer::start();
    let env = testkit::env_with(&redis.url(), &limits).await;
    let weak = format!(
        r#"{{"firstName": "A", "lastName": "B", "email": "not an e-mail", "phones": [], "password": "{}"}}"#,
        "a".repeat(4096)
    );
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = signup::handle(&service(&env), with_body(event("signup"), &weak)).await;
        statuses.push(json(&response).0);
    }
    assert_eq!(statuses, [400, 400, 429]);
}
