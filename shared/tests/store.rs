#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The DynamoDB user store against a real moto_server: atomic creation, uniqueness,
//! consistency of the two records, and a dead server answering "unavailable".

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::domain::{Email, Timestamp, UserId};
use shared::password::PasswordDigest;
use shared::store::{DynamoUserStore, StoreError, UserStore};
use testkit::{moto, user};

fn digest() -> PasswordDigest {
    PasswordDigest::from_stored("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into())
}

async fn store() -> DynamoUserStore {
    let (client, table) = moto::fresh_table().await;
    DynamoUserStore::new(client, table)
}

#[tokio::test]
async fn creates_and_reads_back_both_records() {
    let store = store().await;
    let ana = user("ana@example.com");
    store.create(&ana, &digest()).await.unwrap();
    let got = store.get(ana.id).await.unwrap().unwrap();
    assert_eq!(got.email, ana.email);
    assert_eq!(got.created_at, ana.created_at);
    let creds = store.credentials(&ana.email).await.unwrap().unwrap();
    assert_eq!(creds.user_id, ana.id);
    assert_eq!(creds.digest, digest());
    assert!(store.get(UserId::random()).await.unwrap().is_none());
    let nobody = Email::parse("nobody@example.com").unwrap();
    assert!(store.credentials(&nobody).await.unwrap().is_none());
}

#[tokio::test]
async fn a_second_user_with_the_same_email_is_refused() {
    let store = store().await;
    store
        .create(&user("ana@example.com"), &digest())
        .await
        .unwrap();
    let twin = user("ANA@example.com");
    let err = store.create(&twin, &digest()).await.unwrap_err();
    assert!(matches!(err, StoreError::EmailTaken), "{err:?}");
    assert!(
        store.get(twin.id).await.unwrap().is_none(),
        "the refused user's profile was not written"
    );
}

#[tokio::test]
async fn concurrent_creates_of_one_email_have_one_winner() {
    let store = Arc::new(store().await);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let candidate = user("race@example.com");
                let result = store.create(&candidate, &digest()).await;
                (candidate.id, result)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (id, Ok(())) => winners.push(id),
            (_, Err(StoreError::EmailTaken)) => {}
            (_, Err(other)) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let email = Email::parse("race@example.com").unwrap();
    let creds = store.credentials(&email).await.unwrap().unwrap();
    assert_eq!(creds.user_id, winners[0]);
}

#[tokio::test]
async fn record_login_updates_only_existing_users() {
    let store = store().await;
    let ana = user("ana@example.com");
    store.create(&ana, &digest()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let at = Timestamp::now();
    let updated = store.record_login(ana.id, at).await.unwrap().unwrap();
    assert_eq!(updated.last_login, at);
    assert_eq!(updated.created_at, ana.created_at);
    assert_eq!(store.get(ana.id).await.unwrap().unwrap().last_login, at);
    let ghost = UserId::random();
    assert!(store.record_login(ghost, at).await.unwrap().is_none());
    assert!(
        store.get(ghost).await.unwrap().is_none(),
        "no profile is conjured up"
    );
}

#[tokio::test]
async fn a_dead_server_is_unavailable_not_a_crash() {
    let dead = format!("http://127.0.0.1:{}", moto::free_port());
    let store = DynamoUserStore::new(moto::client(&dead).await, "users");
    let start = Instant::now();
    let err = store.get(UserId::random()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store
        .create(&user("a@example.com"), &digest())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "within the function timeout"
    );
}

#[tokio::test]
async fn a_missing_table_is_an_internal_error() {
    let client = moto::client(&moto::server().endpoint).await;
    let store = DynamoUserStore::new(client, "no-such-table");
    let err = store.get(UserId::random()).await.unwrap_err();
    assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
}
