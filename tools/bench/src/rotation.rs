//! The key rotation's row: its two secrets in moto, rotated once (so every measured invocation
//! finds the set current), and the event Secrets Manager would send.

use rotate_keys::{Event, Rotator};
use serde_json::{json, Value};

pub struct Rotation {
    public_keys: String,
    pub event: Value,
}

impl Rotation {
    /// What the rotation function gets on top of the common environment.
    pub fn vars(&self, binary: &str) -> Vec<(String, String)> {
        if binary != "rotate-keys" {
            return Vec::new();
        }
        vec![
            ("PUBLIC_KEYS_ARN".to_owned(), self.public_keys.clone()),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER".to_owned(),
                testkit::moto::server().endpoint.clone(),
            ),
        ]
    }
}

pub async fn prepare() -> Result<Rotation, String> {
    let client = testkit::moto::secrets_client(&testkit::moto::server().endpoint).await;
    let (keys, public_keys) = testkit::moto::key_secrets(&client, "bench-").await;
    let rotator = Rotator {
        secrets: client,
        public_keys: public_keys.clone(),
        fresh: || Ok(testkit::rsa_private_key(2048)),
    };
    let token = uuid::Uuid::new_v4().to_string();
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        let event = json!({"Step": step, "SecretId": keys, "ClientRequestToken": token});
        let event: Event = serde_json::from_value(event).map_err(|e| e.to_string())?;
        rotator
            .rotate(&event)
            .await
            .map_err(|e| format!("the bench's first rotation, {step}: {e}"))?;
    }
    Ok(Rotation {
        public_keys,
        event: json!({"Step": "finishSecret", "SecretId": keys, "ClientRequestToken": token}),
    })
}
