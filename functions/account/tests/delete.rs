#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `DELETE /me` against real moto_server and redis-server: with the password, the account is
//! gone (profile, credential, codes), every token of it dies at once and stays dead once Redis
//! forgets, and the address can sign up again; without it, nothing happens and the try counts
//! toward sign-in's lock.

mod common;

use common::{account, me_status, refresh_status, sign_in};
use serde_json::json;
use shared::code::{CodeDigest, Purpose};
use shared::domain::{Email, Timestamp};
use shared::store::{MailStore, PasswordStore, UserStore};
use testkit::{authorized, env, event, json, session_of, with_body, TestEnv};

const PASSWORD: &str = "correct horse battery staple";

async fn delete(
    env: &TestEnv,
    token: &str,
    password: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let body = json!({ "password": password }).to_string();
    account::handle(
        &account(env),
        with_body(authorized("account-delete", token), &body),
    )
    .await
}

#[tokio::test]
async fn a_deletion_ends_the_account_and_every_token_and_frees_the_address() {
    let env = env().await;
    let email = "delete-flow@example.com";
    let user = env.seed_user(email, PASSWORD).await;
    let (this, other) = (env.pair_for(&user).await, env.pair_for(&user).await);
    let digest = CodeDigest::from_bytes(&[7; 32]).unwrap();
    let until = Timestamp::from_unix_millis(Timestamp::now().unix_millis() + 600_000).unwrap();
    env.app
        .store
        .put_code(Purpose::VerifyEmail, user.id, &digest, until)
        .await
        .unwrap();
    assert_eq!(
        me_status(&env, &other.token).await,
        200,
        "the profile is cached"
    );
    let sessions =
        [&this, &other].map(|pair| format!("SESSION#{}", session_of(&pair.token).as_str()));
    let keys = env.keys().await;
    assert!(sessions.iter().all(|key| keys.contains(key)), "{keys:?}");

    let response = delete(&env, &this.token, PASSWORD).await;
    assert_eq!(response.status(), 204);
    assert!(response.body().is_empty());

    for pair in [&this, &other] {
        assert_eq!(me_status(&env, &pair.token).await, 401);
        assert_eq!(refresh_status(&env, pair).await, 401);
    }
    assert_eq!(sign_in(&env, email, PASSWORD).await, 401);
    let keys = env.keys().await;
    let gone = [
        format!("USER#{}", user.id),
        format!("EMAIL#{email}"),
        format!("CODE#verify#{}", user.id),
    ];
    for key in gone.iter().chain(&sessions) {
        assert!(!keys.contains(key), "{key} in {keys:?}");
    }
    // Redis forgets everything (a flush, a failover): the table says the same.
    env.redis.as_ref().unwrap().flush_all();
    for pair in [&this, &other] {
        assert_eq!(me_status(&env, &pair.token).await, 401);
        assert_eq!(refresh_status(&env, pair).await, 401);
    }
    // The address is free: a new account, with nothing of the old one.
    let signup = signup::SignUp {
        app: &env.app,
        hasher: env.hasher.clone(),
    };
    let body = json!({"firstName": "Maria", "lastName": "Silva", "email": email,
                      "password": "another horse on a new battery",
                      "phones": [{"number": 987654321, "area_code": 11, "country_code": "+55"}]})
    .to_string();
    let (status, created) = json(&signup::handle(&signup, with_body(event("signup"), &body)).await);
    assert_eq!(status, 201, "{created}");
    let credentials = env
        .app
        .store
        .credentials(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(credentials.user_id, user.id);
}

#[tokio::test]
async fn a_wrong_password_deletes_nothing_and_counts_toward_the_lock() {
    let env = env().await;
    let email = "delete-wrong@example.com";
    let user = env.seed_user(email, PASSWORD).await;
    let token = env.token_for(&user).await;
    let (status, body) = json(&delete(&env, &token, "not it at all").await);
    assert_eq!(
        (status, body["errorCode"].as_u64()),
        (400, Some(4001)),
        "{body}"
    );
    assert_eq!(body["details"][0]["field"], "password");
    assert_eq!(env.lock_failures(email).await, 1);
    for _ in 0..4 {
        assert_eq!(delete(&env, &token, "not it at all").await.status(), 400);
    }
    // Locked as sign-in is: even the right password waits.
    let (status, body) = json(&delete(&env, &token, PASSWORD).await);
    assert_eq!(
        (status, body["errorCode"].as_u64()),
        (429, Some(4291)),
        "{body}"
    );
    assert_eq!(sign_in(&env, email, PASSWORD).await, 429);
    assert_eq!(me_status(&env, &token).await, 200);
    assert!(env.app.store.get(user.id).await.unwrap().is_some());
}

#[tokio::test]
async fn a_missing_password_or_a_dead_session_deletes_nothing() {
    let env = env().await;
    let email = "delete-auth@example.com";
    let user = env.seed_user(email, PASSWORD).await;
    let token = env.token_for(&user).await;
    let request = with_body(authorized("account-delete", &token), "{}");
    let (status, body) = json(&account::handle(&account(&env), request).await);
    assert_eq!(
        (status, body["errorCode"].as_u64()),
        (400, Some(4000)),
        "{body}"
    );
    assert_eq!(body["details"][0]["field"], "password");
    env.end_all_sessions(user.id).await;
    let (status, body) = json(&delete(&env, &token, PASSWORD).await);
    assert_eq!(
        (status, body["errorCode"].as_u64()),
        (401, Some(4012)),
        "{body}"
    );
    assert_eq!(env.lock_failures(email).await, 0);
    assert_eq!(sign_in(&env, email, PASSWORD).await, 200);
}

/// The hash the password was checked against is the transaction's condition: a password
/// changed (or reset) in between wins, and nothing is deleted.
#[tokio::test]
async fn a_password_replaced_meanwhile_keeps_the_account() {
    let env = env().await;
    let email = "delete-race@example.com";
    let user = env.seed_user(email, PASSWORD).await;
    let address = Email::parse(email).unwrap();
    let before = env.app.store.credentials(&address).await.unwrap().unwrap();
    let other = env
        .hasher
        .hash(shared::domain::Password::for_signin("x").unwrap())
        .await
        .unwrap();
    assert!(!env
        .app
        .store
        .delete_account(user.id, &address, &other)
        .await
        .unwrap());
    assert!(env.app.store.get(user.id).await.unwrap().is_some());
    assert!(env
        .app
        .store
        .delete_account(user.id, &address, &before.digest)
        .await
        .unwrap());
    assert!(env.app.store.get(user.id).await.unwrap().is_none());
    assert!(!env
        .app
        .store
        .delete_account(user.id, &address, &before.digest)
        .await
        .unwrap());
}
