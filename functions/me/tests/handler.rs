#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `GET /me` driven by the events/ fixtures against a real moto_server.

use serde_json::json as j;
use shared::domain::UserId;
use testkit::{assert_error, env, event, forge_token, json, now_unix, with_header};

#[tokio::test]
async fn returns_the_profile_of_the_token_owner() {
    let env = env().await;
    let user = env
        .seed_user("hello@world.com", "correct horse battery staple")
        .await;
    let token = env.token_for(&user);
    for header in [format!("Bearer {token}"), token.clone()] {
        let request = with_header(event("me"), "authorization", &header);
        let (status, body) = json(&me::handle(&env.app, request).await);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["email"], "hello@world.com");
        assert_eq!(body["firstName"], "Seeded");
        assert_eq!(body["lastName"], "User");
        assert_eq!(body["phones"], j!([]));
        assert_eq!(body["created_at"], body["last_login"]);
        assert_eq!(body["id"], user.id.to_string());
        assert!(body.get("passwordHash").is_none());
    }
}

#[tokio::test]
async fn no_token_is_unauthorized() {
    let env = env().await;
    let response = me::handle(&env.app, event("me-no-token")).await;
    assert_error(&response, 401, "Unauthorized", 4011);
}

#[tokio::test]
async fn bad_tokens_are_an_invalid_session() {
    let env = env().await;
    let user = env
        .seed_user("hello@world.com", "correct horse battery staple")
        .await;
    let now = now_unix();
    let claims = |sub: String, iat: i64, exp: i64, iss: &str| j!({"sub": sub, "iat": iat, "exp": exp, "iss": iss, "jti": "t"});
    let id = user.id.to_string();
    let tokens = [
        // The fixture's placeholder, as `sam local invoke -e events/me.json` sends it.
        "PASTE-A-TOKEN-FROM-SIGNUP-OR-SIGNIN".to_owned(),
        forge_token(&claims(id.clone(), now - 3600, now - 60, "testkit")),
        forge_token(&claims(id.clone(), now, now + 60, "someone-else")),
        forge_token(&claims(
            UserId::random().to_string(),
            now,
            now + 60,
            "testkit",
        )),
        forge_token(&claims("not-a-uuid".into(), now, now + 60, "testkit")),
    ];
    for token in tokens {
        let request = with_header(event("me"), "authorization", &format!("Bearer {token}"));
        let response = me::handle(&env.app, request).await;
        assert_error(&response, 401, "Unauthorized - invalid session", 4012);
    }
    let valid = forge_token(&claims(id, now, now + 60, "testkit"));
    let request = with_header(event("me"), "authorization", &format!("Bearer {valid}"));
    assert_eq!(json(&me::handle(&env.app, request).await).0, 200);
}

#[tokio::test]
async fn an_unreachable_store_answers_503_json() {
    let env = env().await;
    let user = env
        .seed_user("hello@world.com", "correct horse battery staple")
        .await;
    let app = testkit::unreachable_app().await;
    let token = app.tokens.issue(&user).unwrap().token;
    let request = with_header(event("me"), "authorization", &format!("Bearer {token}"));
    assert_error(
        &me::handle(&app, request).await,
        503,
        "Service unavailable",
        5030,
    );
}
