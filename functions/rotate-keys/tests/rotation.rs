#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The four rotation steps against moto's Secrets Manager, driven as Secrets Manager drives
//! them (moto runs a rotation Lambda only in Docker, so the tests make the four calls).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_secretsmanager::Client;
use rotate_keys::{Event, RotationError, Rotator, Step};
use serde_json::json;
use shared::token::jwks::PublishedKeys;
use shared::token::keyset::{signs_for, KeySet, Role, StoredSet};
use shared::token::rs256::SigningKey;
use testkit::fault::{Fault, FaultProxy};

type Fresh = Box<dyn Fn() -> Result<String, RotationError> + Send + Sync>;

struct Rig {
    client: Client,
    keys: String,
    public: String,
    rotator: Rotator<Fresh>,
    /// How many keys the rotator has made.
    made: Arc<AtomicUsize>,
}

/// openssl-made keys: the same PKCS#8 the rotation makes, without debug-build RSA generation.
fn counting() -> (Fresh, Arc<AtomicUsize>) {
    let made = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&made);
    let fresh: Fresh = Box::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(testkit::rsa_private_key(2048))
    });
    (fresh, made)
}

/// The two secrets as template.yaml creates them, rotation enabled on the key set.
async fn rig_at(endpoint: &str) -> Rig {
    let client = testkit::moto::secrets_client(&testkit::moto::server().endpoint).await;
    let (keys, public) = testkit::moto::key_secrets(&client, "").await;
    let (fresh, made) = counting();
    Rig {
        rotator: Rotator {
            secrets: testkit::moto::secrets_client(endpoint).await,
            public_keys: public.clone(),
            fresh,
        },
        client,
        keys,
        public,
        made,
    }
}

async fn rig() -> Rig {
    rig_at(&testkit::moto::server().endpoint).await
}

fn event(step: &str, secret: &str, token: &str) -> Event {
    serde_json::from_value(json!({
        "Step": step, "SecretId": secret, "ClientRequestToken": token
    }))
    .unwrap()
}

const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

impl Rig {
    async fn step(&self, step: &str, token: &str) -> Result<(), RotationError> {
        self.rotator.rotate(&event(step, &self.keys, token)).await
    }

    async fn rotate(&self) -> String {
        let token = uuid::Uuid::new_v4().to_string();
        for step in STEPS {
            self.step(step, &token).await.unwrap();
        }
        token
    }

    /// The current value. By stage, as the functions read it: moto's unstaged read returns
    /// the version made current by a put, not by `UpdateSecretVersionStage` (AWS's returns
    /// `AWSCURRENT` either way).
    async fn value(&self, secret: &str) -> String {
        self.client
            .get_secret_value()
            .secret_id(secret)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .unwrap()
            .secret_string
            .unwrap()
    }

    async fn stored(&self) -> StoredSet {
        serde_json::from_str(&self.value(&self.keys).await).unwrap()
    }

    async fn current(&self) -> KeySet {
        KeySet::parse(&self.value(&self.keys).await).unwrap()
    }

    async fn published(&self) -> PublishedKeys {
        PublishedKeys::parse(&self.value(&self.public).await).unwrap()
    }

    async fn stages(&self, token: &str) -> Vec<String> {
        let described = self
            .client
            .describe_secret()
            .secret_id(&self.keys)
            .send()
            .await
            .unwrap();
        let mut stages = described
            .version_ids_to_stages()
            .and_then(|versions| versions.get(token))
            .cloned()
            .unwrap_or_default();
        stages.sort();
        stages
    }

    async fn versions(&self) -> usize {
        self.client
            .list_secret_version_ids()
            .secret_id(&self.keys)
            .send()
            .await
            .unwrap()
            .versions()
            .len()
    }
}

fn signer(stored: &StoredSet, role: Role) -> SigningKey {
    let key = stored.keys.iter().find(|key| key.role == role).unwrap();
    SigningKey::from_pkcs8_pem(&key.pem).unwrap()
}

#[tokio::test]
async fn the_first_rotation_makes_a_signer_and_a_next_key_and_publishes_both() {
    let rig = rig().await;
    let token = rig.rotate().await;
    let stored = rig.stored().await;
    let roles: Vec<Role> = stored.keys.iter().map(|key| key.role).collect();
    assert_eq!(roles, [Role::Active, Role::Next]);
    let set = rig.current().await;
    assert_eq!(&rig.published().await, set.published());
    assert!(signs_for(set.signing(), &rig.published().await));
    assert_eq!(
        rig.stages(&token).await,
        ["AWSCURRENT"],
        "no AWSPENDING left"
    );
    assert_eq!(rig.made.load(Ordering::SeqCst), 2);
    let public = rig.value(&rig.public).await;
    assert!(!public.contains("PRIVATE"), "{public}");
}

#[tokio::test]
async fn keys_are_published_a_period_before_they_sign_and_a_period_after() {
    let rig = rig().await;
    rig.rotate().await;
    let first = rig.stored().await;
    let (a, b) = (signer(&first, Role::Active), signer(&first, Role::Next));

    rig.rotate().await;
    let second = rig.stored().await;
    assert_eq!(
        rig.current().await.signing().kid(),
        b.kid(),
        "next became active"
    );
    assert_eq!(signer(&second, Role::Retired).kid(), a.kid());
    let published = rig.published().await;
    assert_eq!(published.keys().len(), 3);
    assert!(
        signs_for(&a, &published),
        "the last signer's tokens still verify"
    );
    assert!(signs_for(&b, &published));
    let c = signer(&second, Role::Next);
    assert!(
        published.get(c.kid()).is_some(),
        "the next key is out before it signs"
    );

    rig.rotate().await;
    let published = rig.published().await;
    assert!(!signs_for(&a, &published), "retired a period ago: gone");
    assert!(signs_for(&b, &published));
    assert_eq!(rig.current().await.signing().kid(), c.kid());
    assert_eq!(
        rig.made.load(Ordering::SeqCst),
        4,
        "one new key per later rotation"
    );
}

#[tokio::test]
async fn every_step_is_safe_to_repeat() {
    let rig = rig().await;
    rig.rotate().await;
    let before = rig.versions().await;
    let token = uuid::Uuid::new_v4().to_string();
    for step in STEPS {
        rig.step(step, &token).await.unwrap();
        rig.step(step, &token).await.unwrap();
    }
    assert_eq!(
        rig.made.load(Ordering::SeqCst),
        3,
        "a repeated create made no key"
    );
    assert_eq!(rig.versions().await, before + 1);
    assert_eq!(rig.stages(&token).await, ["AWSCURRENT"]);
    assert_eq!(&rig.published().await, rig.current().await.published());
}

#[tokio::test]
async fn stale_or_unready_steps_are_refused_and_change_nothing() {
    let rig = rig().await;
    rig.rotate().await;
    let current = rig.value(&rig.keys).await;
    let stranger = uuid::Uuid::new_v4().to_string();
    for step in ["setSecret", "testSecret", "finishSecret"] {
        let refused = rig.step(step, &stranger).await;
        assert!(
            matches!(refused, Err(RotationError::NotPending(_))),
            "{step}: {refused:?}"
        );
    }
    // A pending set not yet published fails its test, and is not made current.
    let token = uuid::Uuid::new_v4().to_string();
    rig.step("createSecret", &token).await.unwrap();
    let refused = rig.step("testSecret", &token).await;
    assert!(
        matches!(refused, Err(RotationError::NotPublished)),
        "{refused:?}"
    );
    assert_eq!(rig.value(&rig.keys).await, current);
    assert_eq!(rig.stages(&token).await, ["AWSPENDING"]);

    // Rotation never enabled on the secret: nothing is touched.
    let plain = rig
        .client
        .create_secret()
        .name(format!("plain-{stranger}"))
        .secret_string(r#"{"keys":[]}"#)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let refused = rig
        .rotator
        .rotate(&event("createSecret", &plain, &stranger))
        .await;
    assert!(
        matches!(refused, Err(RotationError::NotEnabled)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_damaged_key_set_is_not_rotated_over() {
    let rig = rig().await;
    for damaged in [
        "not json",
        r#"{"keys":[{"role":"active","created":0,"pem":"x"}]}"#,
    ] {
        rig.client
            .put_secret_value()
            .secret_id(&rig.keys)
            .secret_string(damaged)
            .send()
            .await
            .unwrap();
        let versions = rig.versions().await;
        let refused = rig
            .step("createSecret", &uuid::Uuid::new_v4().to_string())
            .await;
        assert!(
            matches!(refused, Err(RotationError::Current(_))),
            "{refused:?}"
        );
        assert_eq!(rig.versions().await, versions, "no pending version written");
        assert_eq!(rig.made.load(Ordering::SeqCst), 0);
    }
}

#[tokio::test]
async fn a_lost_answer_mid_rotation_ends_in_one_rotated_set() {
    let server = testkit::moto::server();
    let proxy = FaultProxy::start(server.port);
    let rig = rig_at(&proxy.url("http")).await;
    rig.rotate().await;
    let token = uuid::Uuid::new_v4().to_string();
    // Secrets Manager stores the pending set but its answer is lost: the SDK's retry or
    // Secrets Manager's retry of the step must find it, not make another.
    proxy.set(Fault::DropResponseTo(b"PutSecretValue"));
    let _ = rig.step("createSecret", &token).await;
    proxy.set(Fault::None);
    for step in STEPS {
        rig.step(step, &token).await.unwrap();
    }
    assert_eq!(rig.made.load(Ordering::SeqCst), 3);
    assert_eq!(rig.stages(&token).await, ["AWSCURRENT"]);

    // Secrets Manager unreachable: every step fails with its error, nothing changes.
    let current = rig.value(&rig.keys).await;
    proxy.set(Fault::Reset);
    let next = uuid::Uuid::new_v4().to_string();
    let failed = rig.step("createSecret", &next).await;
    assert!(
        matches!(failed, Err(RotationError::Secrets(_))),
        "{failed:?}"
    );
    proxy.set(Fault::None);
    assert_eq!(rig.value(&rig.keys).await, current);
}

#[test]
fn secrets_managers_event_parses_and_others_do_not() {
    let parsed = event("finishSecret", "arn:aws:secretsmanager:x", "t");
    assert_eq!(parsed.step, Step::FinishSecret);
    for junk in [
        json!({"Step": "dropSecret", "SecretId": "s", "ClientRequestToken": "t"}),
        json!({"Step": "createSecret", "SecretId": "s"}),
        json!({"RotationToken": "r"}),
    ] {
        assert!(
            serde_json::from_value::<Event>(junk.clone()).is_err(),
            "{junk}"
        );
    }
}
