//! The published half of the key set, as a verifier receives it: a JWKS document (RFC 7517 §5)
//! of RS256 keys. The rotation function writes it where verifiers and the JWKS route read it,
//! so nothing that only verifies ever holds a private key.
//!
//! Parsing is strict because the document is ours: every key must be an RSA signing key of
//! 2048 to 4096 bits whose `kid` is its RFC 7638 thumbprint. A key that is anything else means
//! the document was not written by the rotation function, and none of it is trusted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

use super::rs256::{KeyError, PublicKey};

/// The most keys a set holds: next, active and retired.
pub const MAX_PUBLISHED_KEYS: usize = 3;

/// The keys a verifier accepts, each under its kid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKeys {
    keys: Vec<PublicKey>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwksError {
    #[error("is not a JWKS document (JSON with a \"keys\" list of at most {MAX_PUBLISHED_KEYS})")]
    Format,
    #[error("has a key that is not an RS256 signing key")]
    NotRs256,
    #[error("has a key whose kid is not its RFC 7638 thumbprint")]
    Kid,
    #[error("has a key that {0}")]
    Key(#[from] KeyError),
    #[error("names one key twice")]
    Duplicate,
    #[error("has no key")]
    Empty,
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<Jwk>,
}

/// The members we publish (`PublicKey::jwk`); `alg` and `use` are optional in RFC 7517 but
/// always written by us, so required here.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(rename = "use")]
    use_: String,
    alg: String,
    kid: String,
    n: String,
    e: String,
}

impl PublishedKeys {
    pub fn new(keys: Vec<PublicKey>) -> Result<Self, JwksError> {
        if keys.is_empty() {
            return Err(JwksError::Empty);
        }
        if keys.len() > MAX_PUBLISHED_KEYS {
            return Err(JwksError::Format);
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|seen| seen.kid() == key.kid()) {
                return Err(JwksError::Duplicate);
            }
        }
        Ok(Self { keys })
    }

    pub fn parse(json: &str) -> Result<Self, JwksError> {
        let document: Document = serde_json::from_str(json).map_err(|_| JwksError::Format)?;
        if document.keys.len() > MAX_PUBLISHED_KEYS {
            return Err(JwksError::Format);
        }
        let keys = document
            .keys
            .into_iter()
            .map(public_key)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(keys)
    }

    /// The key named `kid`, if published.
    pub fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|key| key.kid() == kid)
    }

    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// The document itself, as `/.well-known/jwks.json` serves it.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "keys": self.keys.iter().map(PublicKey::jwk).collect::<Vec<_>>() })
            .to_string()
    }
}

fn public_key(jwk: Jwk) -> Result<PublicKey, JwksError> {
    if jwk.kty != "RSA" || jwk.use_ != "sig" || jwk.alg != "RS256" {
        return Err(JwksError::NotRs256);
    }
    let decode = |text: &str| URL_SAFE_NO_PAD.decode(text).map_err(|_| JwksError::Format);
    let key = PublicKey::from_components(decode(&jwk.n)?, decode(&jwk.e)?)?;
    if key.kid() != jwk.kid {
        return Err(JwksError::Kid);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::rs256::SigningKey;
    use serde_json::{json, Value};

    fn key() -> SigningKey {
        SigningKey::from_pkcs8_pem(&testkit::rsa_private_key(2048)).unwrap()
    }

    #[test]
    fn a_published_set_reads_back_as_written() {
        let (a, b) = (key(), key());
        let set = PublishedKeys::new(vec![a.public().clone(), b.public().clone()]).unwrap();
        let parsed = PublishedKeys::parse(&set.to_json()).unwrap();
        assert_eq!(parsed, set);
        assert_eq!(parsed.get(b.kid()), Some(b.public()));
        assert_eq!(parsed.get("not-a-kid"), None);
        assert!(!set.to_json().contains("PRIVATE"));
    }

    #[test]
    fn anything_but_our_own_rs256_keys_is_refused() {
        let a = key();
        let jwk = a.public().jwk();
        let with = |edit: &dyn Fn(&mut Value)| {
            let mut jwk = jwk.clone();
            edit(&mut jwk);
            PublishedKeys::parse(&json!({ "keys": [jwk] }).to_string())
        };
        assert!(with(&|_| {}).is_ok(), "the unedited key is accepted");
        assert_eq!(with(&|k| k["kty"] = json!("EC")), Err(JwksError::NotRs256));
        assert_eq!(
            with(&|k| k["alg"] = json!("HS256")),
            Err(JwksError::NotRs256)
        );
        assert_eq!(with(&|k| k["use"] = json!("enc")), Err(JwksError::NotRs256));
        assert_eq!(with(&|k| k["kid"] = json!("chosen")), Err(JwksError::Kid));
        assert_eq!(
            with(&|k| k["n"] = json!("AQAB")),
            Err(KeyError::Size(17).into())
        );
        assert_eq!(
            with(&|k| k["e"] = json!("not base64!")),
            Err(JwksError::Format)
        );
        assert_eq!(
            with(&|k| {
                k.as_object_mut().unwrap().remove("kid");
            }),
            Err(JwksError::Format)
        );
        let twice = json!({ "keys": [jwk, jwk] }).to_string();
        assert_eq!(PublishedKeys::parse(&twice), Err(JwksError::Duplicate));
        let four = json!({ "keys": [jwk, jwk, jwk, jwk] }).to_string();
        assert_eq!(PublishedKeys::parse(&four), Err(JwksError::Format));
        assert_eq!(
            PublishedKeys::parse(r#"{"keys":[]}"#),
            Err(JwksError::Empty)
        );
        for junk in ["", "null", "[]", r#"{"keys":{}}"#, "{"] {
            assert_eq!(PublishedKeys::parse(junk), Err(JwksError::Format), "{junk}");
        }
    }
}
