#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The DynamoDB user store against a real moto_server: atomic creation, uniqueness,
//! consistency of the two records, and a dead server answering "unavailable".

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::cache::SessionId;
use shared::domain::{Email, Timestamp, User, UserId};
use shared::password::PasswordDigest;
use shared::session::{ClientInfo, Lifetimes, RefreshKeys, RefreshToken, SessionRecord};
use shared::store::{DynamoUserStore, NewSession, SessionStore, StoreError, UserStore};
use testkit::{moto, user};

fn keys() -> RefreshKeys {
    RefreshKeys::derive(testkit::TEST_SECRET.as_bytes())
}

/// A new session of `user` and its first token, not yet stored.
fn opening(user: &User) -> (RefreshToken, SessionRecord) {
    let first = keys().first(user.id, &SessionId::random());
    let client = ClientInfo::new(Some("203.0.113.7"), Some("store-test/1"));
    let record = SessionRecord::open(&first, client, Timestamp::now());
    (first, record)
}

fn stored(record: &SessionRecord) -> NewSession<'_> {
    NewSession {
        record,
        deadline: record.deadline(&Lifetimes::default()),
    }
}

/// Creates `user` as sign-up does, with a first session.
async fn create(store: &DynamoUserStore, user: &User) -> Result<(), StoreError> {
    let (_, record) = opening(user);
    store.create(user, &digest(), stored(&record)).await
}

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
    create(&store, &ana).await.unwrap();
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
    create(&store, &user("ana@example.com")).await.unwrap();
    let twin = user("ANA@example.com");
    let err = create(&store, &twin).await.unwrap_err();
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
                let result = create(&store, &candidate).await;
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
    create(&store, &ana).await.unwrap();
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
    let err = create(&store, &user("a@example.com")).await.unwrap_err();
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

#[tokio::test]
async fn sign_up_stores_the_first_session_with_the_user() {
    let store = store().await;
    let ana = user("ana@example.com");
    let (first, record) = opening(&ana);
    store
        .create(&ana, &digest(), stored(&record))
        .await
        .unwrap();
    let found = store
        .find_session(ana.id, &first.session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.record, record);
    assert_eq!(found.user.email, ana.email);
    assert_eq!(found.ended_before, None);
    assert!(
        store
            .find_session(UserId::random(), &first.session)
            .await
            .unwrap()
            .is_none(),
        "another user's session is not found"
    );
    let twin = user("ANA@example.com");
    let (twin_first, twin_record) = opening(&twin);
    assert!(store
        .create(&twin, &digest(), stored(&twin_record))
        .await
        .is_err());
    assert!(
        store
            .find_session(twin.id, &twin_first.session)
            .await
            .unwrap()
            .is_none(),
        "a refused sign-up leaves no session"
    );
}

#[tokio::test]
async fn a_rotation_is_conditional_on_the_generation_it_was_judged_at() {
    let store = store().await;
    let ana = user("ana@example.com");
    create(&store, &ana).await.unwrap();
    let (first, record) = opening(&ana);
    store.open_session(stored(&record)).await.unwrap();
    let next = keys().successor(&first);
    let rotated = record.rotated(&next, Timestamp::now());
    assert!(store
        .rotate_session(&record, &next, stored(&rotated))
        .await
        .unwrap());
    assert!(
        !store
            .rotate_session(&record, &next, stored(&rotated))
            .await
            .unwrap(),
        "the same judgement cannot rotate twice"
    );
    let found = store
        .find_session(ana.id, &first.session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.record, rotated);
    assert_eq!(found.record.previous, Some(first.digest()));

    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (store, found, next) =
                (store.clone(), found.record.clone(), keys().successor(&next));
            tokio::spawn(async move {
                let rotated = found.rotated(&next, Timestamp::now());
                store.rotate_session(&found, &next, stored(&rotated)).await
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        won += usize::from(racer.await.unwrap().unwrap());
    }
    assert_eq!(
        won, 1,
        "of parallel rotations from one state, exactly one lands"
    );
}

#[tokio::test]
async fn ended_sessions_stay_ended_and_cannot_rotate() {
    let store = store().await;
    let ana = user("ana@example.com");
    create(&store, &ana).await.unwrap();
    let (first, record) = opening(&ana);
    store.open_session(stored(&record)).await.unwrap();
    assert!(
        !store
            .end_session(UserId::random(), &first.session)
            .await
            .unwrap(),
        "nobody ends another user's session"
    );
    assert!(store.end_session(ana.id, &first.session).await.unwrap());
    assert!(
        store.end_session(ana.id, &first.session).await.unwrap(),
        "ending again is safe (a retried write whose answer was lost)"
    );
    let next = keys().successor(&first);
    let rotated = record.rotated(&next, Timestamp::now());
    assert!(!store
        .rotate_session(&record, &next, stored(&rotated))
        .await
        .unwrap());
    let found = store
        .find_session(ana.id, &first.session)
        .await
        .unwrap()
        .unwrap();
    assert!(found.record.revoked);
    assert!(!found.is_live(Timestamp::now(), &Lifetimes::default()));
    assert!(!store
        .end_session(ana.id, &SessionId::random())
        .await
        .unwrap());
}

#[tokio::test]
async fn signing_out_everywhere_ends_the_sessions_opened_before() {
    let store = store().await;
    let ana = user("ana@example.com");
    create(&store, &ana).await.unwrap();
    let (before, record) = opening(&ana);
    store.open_session(stored(&record)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    store
        .end_all_sessions(ana.id, Timestamp::now())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (after, record) = opening(&ana);
    store.open_session(stored(&record)).await.unwrap();
    let life = Lifetimes::default();
    let now = Timestamp::now();
    let found = |token: RefreshToken| {
        let store = store.clone();
        async move {
            store
                .find_session(ana.id, &token.session)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert!(!found(before).await.is_live(now, &life));
    assert!(found(after).await.is_live(now, &life));
    let ghost = UserId::random();
    store
        .end_all_sessions(ghost, Timestamp::now())
        .await
        .unwrap();
    assert!(
        store.get(ghost).await.unwrap().is_none(),
        "no profile is conjured up"
    );
}
