//! The signing key set and how it rotates (issue 15). Its JSON form is what the key secret will
//! hold; the rotation function will apply [`KeySet::rotated`] on a schedule.
//!
//! Three roles, so that a verifier never meets a kid it could not have fetched, and never loses
//! one a live token still names:
//! - **next**: published, signs nothing yet. A key is published a whole rotation period before
//!   it signs, far longer than any JWKS cache.
//! - **active**: published, signs every new token.
//! - **retired**: published, signs nothing; kept one more period, far longer than the longest
//!   access token lifetime, then dropped.
//!
//! Each rotation: the retired key goes, active becomes retired, next becomes active, and a new
//! key becomes next. The first rotation of an empty set makes an active and a next key at once
//! (no token and no cache exist yet).

use serde::{Deserialize, Serialize};

use super::jwks::{JwksError, PublishedKeys, MAX_PUBLISHED_KEYS};
use super::rs256::{KeyError, SigningKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Next,
    Active,
    Retired,
}

/// One key of the set as stored: its role and its private key (PKCS#8 PEM). Never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    pub role: Role,
    /// Unix seconds when the key was made; for operators reading the set.
    pub created: i64,
    pub pem: String,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("role", &self.role)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// The stored form: `{"keys": [{"role", "created", "pem"}, …]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSet {
    pub keys: Vec<StoredKey>,
}

impl StoredSet {
    /// The set after one rotation. `fresh` makes a new private key (PEM) when called; it is
    /// called once, or twice for an empty set.
    pub fn rotated(&self, now: i64, mut fresh: impl FnMut() -> String) -> Self {
        let mut keys: Vec<StoredKey> = self
            .keys
            .iter()
            .filter_map(|key| {
                let role = match key.role {
                    Role::Retired => return None,
                    Role::Active => Role::Retired,
                    Role::Next => Role::Active,
                };
                Some(StoredKey {
                    role,
                    ..key.clone()
                })
            })
            .collect();
        if !keys.iter().any(|key| key.role == Role::Active) {
            keys.push(StoredKey {
                role: Role::Active,
                created: now,
                pem: fresh(),
            });
        }
        keys.push(StoredKey {
            role: Role::Next,
            created: now,
            pem: fresh(),
        });
        Self { keys }
    }
}

/// A parsed key set: the key that signs and every key that is published.
#[derive(Debug)]
pub struct KeySet {
    signing: SigningKey,
    published: PublishedKeys,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeySetError {
    #[error("is not a key set (JSON with a \"keys\" list)")]
    Format,
    #[error("must have exactly one active key, has {0}")]
    Active(usize),
    #[error("has a key that {0}")]
    Key(#[from] KeyError),
    #[error("names one key twice")]
    Duplicate,
    #[error("has more than {MAX_PUBLISHED_KEYS} keys")]
    TooMany,
}

impl KeySet {
    /// Parses the stored JSON: every key must parse, exactly one must be active, no key twice.
    pub fn parse(json: &str) -> Result<Self, KeySetError> {
        let stored: StoredSet = serde_json::from_str(json).map_err(|_| KeySetError::Format)?;
        let active = stored
            .keys
            .iter()
            .filter(|key| key.role == Role::Active)
            .count();
        if active != 1 {
            return Err(KeySetError::Active(active));
        }
        if stored.keys.len() > MAX_PUBLISHED_KEYS {
            return Err(KeySetError::TooMany);
        }
        let mut signing = None;
        let mut published = Vec::with_capacity(stored.keys.len());
        for key in &stored.keys {
            let parsed = SigningKey::from_pkcs8_pem(&key.pem)?;
            published.push(parsed.public().clone());
            if key.role == Role::Active {
                signing = Some(parsed);
            }
        }
        let signing = signing.ok_or(KeySetError::Active(0))?;
        let published = PublishedKeys::new(published).map_err(|err| match err {
            JwksError::Duplicate => KeySetError::Duplicate,
            _ => KeySetError::TooMany,
        })?;
        Ok(Self { signing, published })
    }

    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    /// Every key a verifier must know (next, active and retired): what the rotation function
    /// publishes as `/.well-known/jwks.json`.
    pub fn published(&self) -> &PublishedKeys {
        &self.published
    }
}

/// Whether a token `signing` signs verifies against `published` as every verifier checks
/// it: the rotation's test that the key about to sign is the one published under its kid.
pub fn signs_for(signing: &SigningKey, published: &PublishedKeys) -> bool {
    use jsonwebtoken::{decode, Algorithm, Validation};
    super::provider::install();
    let Some(public) = published.get(signing.kid()) else {
        return false;
    };
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": signing.kid()});
    let claims = serde_json::json!({"sub": "rotation-probe", "exp": 4_102_444_800_u64});
    let Ok(token) = super::rs256::compact(signing, &header, &claims) else {
        return false;
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    decode::<serde_json::Value>(&token, &public.decoding_key(), &validation).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roles(set: &StoredSet) -> Vec<Role> {
        set.keys.iter().map(|key| key.role).collect()
    }

    /// Stand-in private keys: the rotation's bookkeeping does not look inside them.
    fn counter() -> impl FnMut() -> String {
        let mut made = 0;
        move || {
            made += 1;
            format!("key {made}")
        }
    }

    #[test]
    fn the_first_rotation_makes_an_active_and_a_next_key() {
        let set = StoredSet::default().rotated(1, counter());
        assert_eq!(roles(&set), [Role::Active, Role::Next]);
        assert_eq!(set.keys[0].pem, "key 1");
    }

    proptest! {
        /// Over any number of rotations: one active, one next, at most one retired; a key
        /// signs only after a rotation in which it was published as next; a key that signed
        /// stays published for exactly one more rotation; nothing comes back.
        #[test]
        fn rotations_publish_before_signing_and_keep_the_last_signer(rotations in 1usize..12) {
            let mut fresh = counter();
            let mut set = StoredSet::default().rotated(0, &mut fresh);
            let mut ever: Vec<String> = set.keys.iter().map(|k| k.pem.clone()).collect();
            for round in 1..=rotations {
                let before = set.clone();
                set = before.rotated(round as i64, &mut fresh);
                let count = |role| set.keys.iter().filter(|k| k.role == role).count();
                prop_assert_eq!(count(Role::Active), 1);
                prop_assert_eq!(count(Role::Next), 1);
                prop_assert_eq!(count(Role::Retired), 1);
                let find = |s: &StoredSet, role| {
                    s.keys.iter().find(|k| k.role == role).map(|k| k.pem.clone())
                };
                prop_assert_eq!(find(&set, Role::Active), find(&before, Role::Next));
                prop_assert_eq!(find(&set, Role::Retired), find(&before, Role::Active));
                let new = find(&set, Role::Next).unwrap();
                prop_assert!(!ever.contains(&new), "a dropped key came back");
                ever.push(new);
            }
        }
    }

    #[test]
    fn a_stored_set_parses_with_its_signer_and_every_published_key() {
        let mut pems = vec![
            testkit::rsa_private_key(2048),
            testkit::rsa_private_key(2048),
        ];
        let set = StoredSet::default().rotated(7, || pems.pop().unwrap());
        let json = serde_json::to_string(&set).unwrap();
        let parsed = KeySet::parse(&json).unwrap();
        assert_eq!(parsed.published().keys().len(), 2);
        let active = SigningKey::from_pkcs8_pem(&set.keys[0].pem).unwrap();
        assert_eq!(parsed.signing().kid(), active.kid());
        let jwks: serde_json::Value = serde_json::from_str(&parsed.published().to_json()).unwrap();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert!(kids.contains(&active.kid()));
        assert!(
            jwks.to_string().find("PRIVATE").is_none(),
            "no private part"
        );
        assert!(!format!("{set:?} {parsed:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn a_set_without_exactly_one_active_parseable_distinct_key_is_refused() {
        let pem = testkit::rsa_private_key(2048);
        let key = |role| StoredKey {
            role,
            created: 0,
            pem: pem.clone(),
        };
        let json = |keys: Vec<StoredKey>| serde_json::to_string(&StoredSet { keys }).unwrap();
        assert_eq!(KeySet::parse("[]").err(), Some(KeySetError::Format));
        assert_eq!(
            KeySet::parse(&json(vec![key(Role::Next)])).err(),
            Some(KeySetError::Active(0))
        );
        assert_eq!(
            KeySet::parse(&json(vec![key(Role::Active), key(Role::Active)])).err(),
            Some(KeySetError::Active(2))
        );
        assert_eq!(
            KeySet::parse(&json(vec![key(Role::Active), key(Role::Next)])).err(),
            Some(KeySetError::Duplicate)
        );
        let broken = StoredKey {
            pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".to_owned(),
            ..key(Role::Active)
        };
        assert!(matches!(
            KeySet::parse(&json(vec![broken])),
            Err(KeySetError::Key(_))
        ));
        assert!(KeySet::parse(&json(vec![key(Role::Active)])).is_ok());
        let many: Vec<StoredKey> = (0..4)
            .map(|i| StoredKey {
                role: if i == 0 { Role::Active } else { Role::Next },
                created: 0,
                pem: testkit::rsa_private_key(2048),
            })
            .collect();
        assert_eq!(KeySet::parse(&json(many)).err(), Some(KeySetError::TooMany));
    }

    #[test]
    fn a_signer_signs_for_the_set_that_publishes_it_only() {
        let (a, b) = (
            testkit::rsa_private_key(2048),
            testkit::rsa_private_key(2048),
        );
        let a = SigningKey::from_pkcs8_pem(&a).unwrap();
        let b = SigningKey::from_pkcs8_pem(&b).unwrap();
        let only_a = PublishedKeys::new(vec![a.public().clone()]).unwrap();
        assert!(signs_for(&a, &only_a));
        assert!(!signs_for(&b, &only_a));
    }
}
