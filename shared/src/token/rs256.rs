//! RS256 keys (RSASSA-PKCS1-v1_5 with SHA-256, RSA 2048 to 4096 bits) on ring, which the TLS
//! stack links already. Issue 15 moves access tokens to RS256 so that services other than ours
//! can verify them from the published key set without holding anything that signs.
//!
//! A [`SigningKey`] is parsed once (ring checks the key's consistency then, which is not cheap)
//! and signs every token for the life of the process. A [`PublicKey`] is what gets published
//! (a JWK) and what verification uses; its `kid` is its RFC 7638 thumbprint, so the id cannot
//! drift from the key it names.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{
    KeyPair as _, RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};

/// The smallest modulus we publish or accept, in bits (RFC 7518 §3.3: 2048 at least).
pub const MIN_MODULUS_BITS: usize = 2048;
/// ring refuses bigger keys; so do we, with a clearer message.
pub const MAX_MODULUS_BITS: usize = 4096;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("is not a PEM block of type PRIVATE KEY (PKCS#8, what `openssl genpkey` writes)")]
    NotPkcs8Pem,
    #[error("is not a usable RSA private key: {0}")]
    Rejected(String),
    #[error("is an RSA key of {0} bits; {MIN_MODULUS_BITS} to {MAX_MODULUS_BITS} are accepted")]
    Size(usize),
}

/// An RSA private key that signs access tokens. Never printed.
pub struct SigningKey {
    pair: RsaKeyPair,
    public: PublicKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses `-----BEGIN PRIVATE KEY-----` (unencrypted PKCS#8). PKCS#1 (`BEGIN RSA PRIVATE
    /// KEY`) and encrypted keys are refused: one format, the one `openssl genpkey` writes.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let der = pem_body(pem, "PRIVATE KEY").ok_or(KeyError::NotPkcs8Pem)?;
        let pair =
            RsaKeyPair::from_pkcs8(&der).map_err(|err| KeyError::Rejected(err.to_string()))?;
        let components: RsaPublicKeyComponents<Vec<u8>> = pair.public_key().into();
        let public = PublicKey::from_components(components.n, components.e)?;
        Ok(Self {
            pair,
            public,
            rng: SystemRandom::new(),
        })
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// The RS256 signature of `message` (a JWS signing input: `header.claims`).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ring::error::Unspecified> {
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)?;
        Ok(signature)
    }
}

/// A published RSA public key: modulus and exponent (big-endian, no leading zeros) and its id.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
    kid: String,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey").field("kid", &self.kid).finish()
    }
}

impl PublicKey {
    pub fn from_components(n: Vec<u8>, e: Vec<u8>) -> Result<Self, KeyError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = n
            .first()
            .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize);
        if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
            return Err(KeyError::Size(bits));
        }
        let kid = thumbprint(&n, &e);
        Ok(Self { n, e, kid })
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a JWK (RFC 7517, RFC 7518 §6.3.1), as `/.well-known/jwks.json` lists it.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&self.n),
            "e": URL_SAFE_NO_PAD.encode(&self.e),
        })
    }

    /// The key as jsonwebtoken takes it, for `decode`.
    pub fn decoding_key(&self) -> jsonwebtoken::DecodingKey {
        jsonwebtoken::DecodingKey::from_rsa_raw_components(&self.n, &self.e)
    }
}

/// Whether `signature` is the RS256 signature of `message` by the key (`n`, `e`), of 2048 to
/// 8192 bits.
pub(crate) fn verify(n: &[u8], e: &[u8], message: &[u8], signature: &[u8]) -> bool {
    RsaPublicKeyComponents { n, e }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .is_ok()
}

/// A compact JWS (RFC 7515 §7.1): `header.claims.signature`, each part base64url.
pub fn compact(
    key: &SigningKey,
    header: &impl serde::Serialize,
    claims: &impl serde::Serialize,
) -> Result<String, SignError> {
    let header = serde_json::to_vec(header).map_err(|_| SignError)?;
    let claims = serde_json::to_vec(claims).map_err(|_| SignError)?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let signature = key.sign(token.as_bytes()).map_err(|_| SignError)?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// Signing failed: a claim that does not serialise, or ring refusing (it does not, for a key
/// it parsed).
#[derive(Debug, thiserror::Error)]
#[error("the token could not be signed")]
pub struct SignError;

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace.
fn thumbprint(n: &[u8], e: &[u8]) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(e),
        URL_SAFE_NO_PAD.encode(n)
    );
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        canonical.as_bytes(),
    ))
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// The decoded body of the one PEM block of type `label` in `pem`.
fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let text: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    use testkit::rsa_private_key as generate;

    fn verifies(key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
        verify(&key.n, &key.e, message, signature)
    }

    #[test]
    fn signs_what_its_public_key_verifies_and_nothing_else() {
        let key = SigningKey::from_pkcs8_pem(&generate(2048)).unwrap();
        let signature = key.sign(b"header.claims").unwrap();
        assert_eq!(signature.len(), 256);
        assert!(verifies(key.public(), b"header.claims", &signature));
        assert!(!verifies(key.public(), b"header.claimz", &signature));
        let other = SigningKey::from_pkcs8_pem(&generate(2048)).unwrap();
        assert!(!verifies(other.public(), b"header.claims", &signature));
        assert_ne!(key.kid(), other.kid());
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // RFC 7638 §3.1's example key and its thumbprint.
        let n = URL_SAFE_NO_PAD
            .decode(concat!(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJE",
                "CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2",
                "QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQF",
                "h6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
            ))
            .unwrap();
        let e = URL_SAFE_NO_PAD.decode("AQAB").unwrap();
        let key = PublicKey::from_components(n, e).unwrap();
        assert_eq!(key.kid(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        let jwk = key.jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(jwk["kid"], key.kid());
    }

    #[test]
    fn only_pkcs8_rsa_keys_of_2048_bits_or_more_are_taken() {
        assert_eq!(
            SigningKey::from_pkcs8_pem("not a key").err(),
            Some(KeyError::NotPkcs8Pem)
        );
        let pkcs1 = generate(2048).replace("PRIVATE KEY", "RSA PRIVATE KEY");
        assert!(SigningKey::from_pkcs8_pem(&pkcs1).is_err());
        let small = SigningKey::from_pkcs8_pem(&generate(1024)).err();
        assert!(
            matches!(small, Some(KeyError::Rejected(_) | KeyError::Size(1024))),
            "{small:?}"
        );
        let truncated = generate(2048).replacen('A', "", 40);
        assert!(SigningKey::from_pkcs8_pem(&truncated).is_err());
        assert!(SigningKey::from_pkcs8_pem(&generate(3072)).is_ok());
    }

    #[test]
    fn jsonwebtoken_checks_our_rs256_tokens_and_refuses_confused_ones() {
        use jsonwebtoken::{decode, Algorithm, Validation};
        use serde_json::{json, Value};
        super::super::provider::install();
        let key = SigningKey::from_pkcs8_pem(&generate(2048)).unwrap();
        let claims = json!({"sub": "someone", "iss": "tests", "exp": 4_102_444_800_u64});
        let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": key.kid()});
        let token = compact(&key, &header, &claims).unwrap();
        let mut rs256 = Validation::new(Algorithm::RS256);
        rs256.set_issuer(&["tests"]);
        let decoding = key.public().decoding_key();
        let read = decode::<Value>(&token, &decoding, &rs256).unwrap();
        assert_eq!(read.claims["sub"], "someone");
        assert_eq!(read.header.kid.as_deref(), Some(key.kid()));

        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(decode::<Value>(&tampered, &decoding, &rs256).is_err());
        let other = SigningKey::from_pkcs8_pem(&generate(2048)).unwrap();
        let foreign = compact(&other, &header, &claims).unwrap();
        assert!(decode::<Value>(&foreign, &decoding, &rs256).is_err());

        // The algorithm-confusion attack: HS256 with what a verifier knows of the public key
        // as the HMAC secret. Refused by our validation, and by one that would allow HS256.
        let hs_header = json!({"alg": "HS256", "typ": "at+jwt", "kid": key.kid()});
        let public = key.public();
        for secret in [
            public.n.clone(),
            public.jwk().to_string().into_bytes(),
            public.kid().as_bytes().to_vec(),
        ] {
            let forged = testkit::sign_raw(&hs_header, &claims, &secret);
            assert!(decode::<Value>(&forged, &decoding, &rs256).is_err());
            let lax = Validation::new(Algorithm::HS256);
            assert!(decode::<Value>(&forged, &decoding, &lax).is_err());
        }
    }

    #[test]
    fn a_key_prints_its_kid_only() {
        let key = SigningKey::from_pkcs8_pem(&generate(2048)).unwrap();
        let printed = format!("{key:?} {:?}", key.public());
        assert!(printed.contains(key.kid()));
        assert!(!printed.contains(&key.public().jwk()["n"].as_str().unwrap()[..16]));
    }
}
