#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `GET /sessions` and `DELETE /sessions/{id}` driven by the events/ fixtures against real
//! servers: what is listed, what removing a device ends, and what another user cannot do.

use serde_json::Value;
use testkit::{assert_error, env, event, event_edited, json, with_header, TestEnv};

const PASSWORD: &str = "correct horse battery staple";

fn bearer(request: lambda_http::Request, token: &str) -> lambda_http::Request {
    with_header(request, "authorization", &format!("Bearer {token}"))
}

async fn list(env: &TestEnv, token: &str) -> (u16, Value) {
    json(&sessions::handle(&env.app, bearer(event("sessions"), token)).await)
}

fn removing(id: &str) -> lambda_http::Request {
    event_edited("sessions-remove-unknown", |event| {
        event["rawPath"] = format!("/sessions/{id}").into();
        event["requestContext"]["http"]["path"] = format!("/sessions/{id}").into();
        event["pathParameters"]["id"] = id.into();
    })
}

async fn remove(env: &TestEnv, token: &str, id: &str) -> lambda_http::Response<lambda_http::Body> {
    sessions::handle(&env.app, bearer(removing(id), token)).await
}

/// The session id of `token`, a token the app issued.
fn sid(_: &TestEnv, token: &str) -> String {
    testkit::claims_of(token)["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn lists_the_live_sessions_newest_use_first_with_the_current_one_marked() {
    let env = env().await;
    let user = env.seed_user("devices@world.com", PASSWORD).await;
    let other = env.seed_user("someone@world.com", PASSWORD).await;
    let (first, second) = (env.pair_for(&user).await, env.pair_for(&user).await);
    let ended = env.pair_for(&user).await;
    env.pair_for(&other).await;
    let session = env
        .app
        .tokens
        .verify(&ended.token)
        .await
        .unwrap()
        .session_id()
        .unwrap();
    env.end_session(user.id, &session).await;

    let (status, body) = list(&env, &first.token).await;
    assert_eq!(status, 200, "{body}");
    let listed = body["sessions"].as_array().unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s["id"].as_str().unwrap()).collect();
    // Sign-up's session (seed_user) and the two live ones; never the ended one nor another
    // user's.
    assert_eq!(ids.len(), 3, "{body}");
    assert_eq!(ids[0], sid(&env, &second.token), "the newest use first");
    assert!(ids.contains(&sid(&env, &first.token).as_str()));
    assert!(!ids.contains(&sid(&env, &ended.token).as_str()));
    let current: Vec<&str> = listed
        .iter()
        .filter(|s| s["current"] == true)
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(current, [sid(&env, &first.token)]);
    let mut keys: Vec<&str> = listed[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "current",
            "id",
            "ip",
            "last_used_at",
            "user_agent"
        ]
    );
    assert!(
        !body.to_string().contains(&first.refresh_token),
        "no token is listed"
    );
}

#[tokio::test]
async fn a_sign_in_records_where_it_came_from() {
    let env = env().await;
    let email = testkit::unique_email();
    env.seed_user(&email, PASSWORD).await;
    let request = testkit::signin_from("198.51.100.23", &email, PASSWORD);
    let request = with_header(request, "user-agent", "Example/2.0 (Phone)");
    let signin = signin::SignIn {
        app: &env.app,
        hasher: env.hasher.clone(),
        lockout: env.lockout,
        require_verified: false,
    };
    let (status, pair) = json(&signin::handle(&signin, request).await);
    assert_eq!(status, 200, "{pair}");
    let (_, body) = list(&env, pair["token"].as_str().unwrap()).await;
    let mine = body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(mine["ip"], "198.51.100.23");
    assert_eq!(mine["user_agent"], "Example/2.0 (Phone)");
}

#[tokio::test]
async fn removing_a_device_ends_its_tokens_and_only_its_owner_can() {
    let env = env().await;
    let user = env.seed_user("owner@world.com", PASSWORD).await;
    let thief = env.seed_user("thief@world.com", PASSWORD).await;
    let (laptop, phone) = (env.pair_for(&user).await, env.pair_for(&user).await);
    let thief_pair = env.pair_for(&thief).await;
    let phone_id = sid(&env, &phone.token);

    let response = remove(&env, &thief_pair.token, &phone_id).await;
    assert_error(&response, 404, "Session not found", 4040);
    assert_eq!(list(&env, &phone.token).await.0, 200, "still live");

    let response = remove(&env, &laptop.token, &phone_id).await;
    assert_eq!(response.status(), 204);
    assert_eq!(list(&env, &laptop.token).await.0, 200);
    let (status, body) = list(&env, &phone.token).await;
    assert_eq!((status, &body["errorCode"]), (401, &Value::from(4012)));
    let refresh = shared::session::RefreshToken::parse(&phone.refresh_token).unwrap();
    assert!(
        env.app.refresh(&refresh).await.is_err(),
        "its refresh token died with it"
    );

    for (id, why) in [
        (phone_id.as_str(), "already ended"),
        ("0123456789abcdef0123456789abcdef", "unknown"),
        ("not-a-session-id", "malformed"),
    ] {
        let (status, body) = json(&remove(&env, &laptop.token, id).await);
        assert_eq!(
            (status, &body["errorCode"]),
            (404, &Value::from(4040)),
            "{why}"
        );
    }
}

#[tokio::test]
async fn without_a_live_token_nothing_is_listed_or_removed() {
    let env = env().await;
    let user = env.seed_user("nobody@world.com", PASSWORD).await;
    let pair = env.pair_for(&user).await;
    let id = sid(&env, &pair.token);
    let none = sessions::handle(&env.app, event("sessions")).await;
    assert_error(&none, 401, "Unauthorized - invalid session", 4012);
    let missing = sessions::handle(
        &env.app,
        event_edited("sessions", |event| {
            event["headers"]
                .as_object_mut()
                .unwrap()
                .remove("authorization");
        }),
    )
    .await;
    assert_error(&missing, 401, "Unauthorized", 4011);
    let refresh_as_access = remove(&env, &pair.refresh_token, &id).await;
    assert_error(
        &refresh_as_access,
        401,
        "Unauthorized - invalid session",
        4012,
    );
    let unknown = sessions::handle(&env.app, event("sessions-remove-unknown")).await;
    assert_error(&unknown, 401, "Unauthorized - invalid session", 4012);
    assert_eq!(list(&env, &pair.token).await.0, 200, "nothing was ended");
}
