//! The signing key set's rotation, as Secrets Manager runs it (issue 15): one call per step,
//! `createSecret`, `setSecret`, `testSecret`, `finishSecret`, each safe to repeat because
//! Secrets Manager retries a step that failed.
//!
//! - **create** stages the rotated set ([`StoredSet::rotated`]) as `AWSPENDING`: a new key is
//!   made, next becomes active, active becomes retired.
//! - **set** publishes the pending set's public keys (the JWKS document, in its own secret)
//!   for verifiers and `/.well-known/jwks.json`. That superset of what signs today is safe
//!   to publish before the switch: the new active key has been published a whole period.
//! - **test** checks the pending set parses, that what is published is exactly its public
//!   half, and that a token its active key signs verifies against the published key.
//! - **finish** makes the pending set `AWSCURRENT`; signing functions pick it up on their
//!   next read of the secret.

use std::collections::HashMap;
use std::error::Error as StdError;

use aws_sdk_secretsmanager::Client;
use serde::Deserialize;
use shared::token::jwks::PublishedKeys;
use shared::token::keyset::{self, KeySet, KeySetError, Role, StoredSet};

mod generate;

pub use generate::{generate, KEY_BITS};

const CURRENT: &str = "AWSCURRENT";
const PENDING: &str = "AWSPENDING";

/// What Secrets Manager sends.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    pub step: Step,
    pub secret_id: String,
    pub client_request_token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    CreateSecret,
    SetSecret,
    TestSecret,
    FinishSecret,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("rotation is not enabled on the secret")]
    NotEnabled,
    #[error("version {0} is not staged for rotation")]
    NotPending(String),
    #[error("the current key set {0}")]
    Current(KeySetError),
    #[error("the pending key set {0}")]
    Pending(KeySetError),
    #[error("the published keys are not the pending set's")]
    NotPublished,
    #[error("a token the pending set signs does not verify against the published keys")]
    Probe,
    #[error("a new key could not be made: {0}")]
    Generate(String),
    #[error("Secrets Manager refused or failed: {0}")]
    Secrets(#[source] Box<dyn StdError + Send + Sync>),
}

fn secrets<E: StdError + Send + Sync + 'static>(err: E) -> RotationError {
    RotationError::Secrets(Box::new(err))
}

/// One deployment's rotation: the key set secret comes with each event, the public keys'
/// secret is fixed (`PUBLIC_KEYS_ARN`).
pub struct Rotator<F> {
    pub secrets: Client,
    pub public_keys: String,
    /// Makes a new private key (PKCS#8 PEM): [`generate`], or a faster one in tests.
    pub fresh: F,
}

impl<F> Rotator<F>
where
    F: Fn() -> Result<String, RotationError>,
{
    pub async fn rotate(&self, event: &Event) -> Result<(), RotationError> {
        let token = event.client_request_token.as_str();
        let described = self
            .secrets
            .describe_secret()
            .secret_id(&event.secret_id)
            .send()
            .await
            .map_err(secrets)?;
        if described.rotation_enabled() != Some(true) {
            return Err(RotationError::NotEnabled);
        }
        let versions = described
            .version_ids_to_stages()
            .cloned()
            .unwrap_or_default();
        let staged = |stage: &str| {
            versions
                .get(token)
                .is_some_and(|stages| stages.iter().any(|s| s == stage))
        };
        if staged(CURRENT) {
            if event.step == Step::FinishSecret && staged(PENDING) {
                self.unstage_pending(&event.secret_id, token).await?;
            }
            tracing::info!(step = ?event.step, version = token, "already current; nothing to do");
            return Ok(());
        }
        // Secrets Manager stages the version before it calls createSecret; moto cannot, so a
        // version not yet known is accepted there, and only there (put_secret_value makes it).
        let known = versions.contains_key(token);
        if !(staged(PENDING) || (!known && event.step == Step::CreateSecret)) {
            return Err(RotationError::NotPending(token.to_owned()));
        }
        match event.step {
            Step::CreateSecret => self.create(&event.secret_id, token).await,
            Step::SetSecret => self.publish(&event.secret_id, token).await,
            Step::TestSecret => self.test(&event.secret_id, token).await,
            Step::FinishSecret => self.finish(&event.secret_id, token, &versions).await,
        }
    }

    async fn create(&self, secret_id: &str, token: &str) -> Result<(), RotationError> {
        if self.read(secret_id, Some(token), PENDING).await?.is_some() {
            tracing::info!(version = token, "the pending set exists already");
            return Ok(());
        }
        let current = self
            .read(secret_id, None, CURRENT)
            .await?
            .ok_or(RotationError::Current(KeySetError::Format))?;
        let stored: StoredSet = serde_json::from_str(&current)
            .map_err(|_| RotationError::Current(KeySetError::Format))?;
        if !stored.keys.is_empty() {
            KeySet::parse(&current).map_err(RotationError::Current)?;
        }
        // One new key (the next one), two for the first set (its active key as well).
        let needed = if stored.keys.iter().any(|key| key.role == Role::Next) {
            1
        } else {
            2
        };
        let mut fresh = (0..needed)
            .map(|_| (self.fresh)())
            .collect::<Result<Vec<_>, _>>()?;
        let rotated = stored.rotated(shared::domain::Timestamp::now().unix(), || {
            fresh.pop().unwrap_or_default()
        });
        let text = json(&rotated);
        let parsed = KeySet::parse(&text).map_err(RotationError::Pending)?;
        self.secrets
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .secret_string(text)
            .version_stages(PENDING)
            .send()
            .await
            .map_err(secrets)?;
        tracing::info!(
            version = token,
            signing = parsed.signing().kid(),
            published = ?kids(parsed.published()),
            "pending key set created"
        );
        Ok(())
    }

    async fn publish(&self, secret_id: &str, token: &str) -> Result<(), RotationError> {
        let pending = self.pending(secret_id, token).await?;
        let document = pending.published().to_json();
        if self
            .read(&self.public_keys, None, CURRENT)
            .await?
            .as_deref()
            == Some(&document)
        {
            tracing::info!(
                version = token,
                "the pending set's keys are published already"
            );
            return Ok(());
        }
        // The rotation's token names this version too, so a retried step writes nothing new.
        self.secrets
            .put_secret_value()
            .secret_id(&self.public_keys)
            .client_request_token(token)
            .secret_string(document)
            .send()
            .await
            .map_err(secrets)?;
        tracing::info!(version = token, published = ?kids(pending.published()), "keys published");
        Ok(())
    }

    async fn test(&self, secret_id: &str, token: &str) -> Result<(), RotationError> {
        let pending = self.pending(secret_id, token).await?;
        let published = self
            .read(&self.public_keys, None, CURRENT)
            .await?
            .and_then(|document| PublishedKeys::parse(&document).ok())
            .ok_or(RotationError::NotPublished)?;
        if &published != pending.published() {
            return Err(RotationError::NotPublished);
        }
        if !keyset::signs_for(pending.signing(), &published) {
            return Err(RotationError::Probe);
        }
        Ok(())
    }

    async fn finish(
        &self,
        secret_id: &str,
        token: &str,
        versions: &HashMap<String, Vec<String>>,
    ) -> Result<(), RotationError> {
        let current = versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == CURRENT))
            .map(|(version, _)| version.clone());
        self.secrets
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(CURRENT)
            .move_to_version_id(token)
            .set_remove_from_version_id(current)
            .send()
            .await
            .map_err(secrets)?;
        self.unstage_pending(secret_id, token).await?;
        tracing::info!(version = token, "the rotated key set is current");
        Ok(())
    }

    /// The next rotation finds no `AWSPENDING` left behind by this one.
    async fn unstage_pending(&self, secret_id: &str, token: &str) -> Result<(), RotationError> {
        self.secrets
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(PENDING)
            .remove_from_version_id(token)
            .send()
            .await
            .map_err(secrets)?;
        Ok(())
    }

    async fn pending(&self, secret_id: &str, token: &str) -> Result<KeySet, RotationError> {
        let text = self
            .read(secret_id, Some(token), PENDING)
            .await?
            .ok_or_else(|| RotationError::NotPending(token.to_owned()))?;
        KeySet::parse(&text).map_err(RotationError::Pending)
    }

    /// The string of one version of a secret; `None` when there is no such version.
    async fn read(
        &self,
        secret_id: &str,
        version: Option<&str>,
        stage: &str,
    ) -> Result<Option<String>, RotationError> {
        match self
            .secrets
            .get_secret_value()
            .secret_id(secret_id)
            .set_version_id(version.map(str::to_owned))
            .version_stage(stage)
            .send()
            .await
        {
            Ok(output) => Ok(output.secret_string),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(secrets(err)),
        }
    }
}

fn json(set: &StoredSet) -> String {
    // A struct of strings and numbers: serialising it cannot fail.
    serde_json::to_string(set).unwrap_or_default()
}

fn kids(published: &PublishedKeys) -> Vec<&str> {
    published.keys().iter().map(|key| key.kid()).collect()
}
