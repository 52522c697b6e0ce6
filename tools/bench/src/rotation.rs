//! The key rotation's row: its two secrets in moto, rotated once (so every measured invocation
//! finds the set current), and the event Secrets Manager would send.

use aws_sdk_secretsmanager::types::RotationRulesType;
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
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut arns = Vec::new();
    for name in [
        format!("bench-keys-{id}"),
        format!("bench-public-keys-{id}"),
    ] {
        let created = client
            .create_secret()
            .name(name)
            .secret_string(r#"{"keys":[]}"#)
            .send()
            .await
            .map_err(|e| format!("creating a key secret in moto: {e:?}"))?;
        arns.push(created.arn.ok_or("moto returned no secret ARN")?);
    }
    let (keys, public_keys) = (arns[0].clone(), arns[1].clone());
    client
        .rotate_secret()
        .secret_id(&keys)
        .rotation_rules(
            RotationRulesType::builder()
                .automatically_after_days(90)
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .map_err(|e| format!("enabling rotation in moto: {e:?}"))?;
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
