//! Refresh tokens: opaque, `<user>.<session>.<generation>.<secret and tag>`.
//!
//! A session's first secret is 256 random bits; each rotation derives the next one from the
//! presented one under a server key (HMAC-SHA-256), so a retried refresh whose answer was lost
//! can be given the very same successor again instead of forking the chain. A 128-bit tag
//! under the same key authenticates user, session, generation and secret: a token we never
//! minted is refused without touching the session, while a genuine spent one is proof of
//! reuse. The table stores only SHA-256 digests of secrets, so a copy of it replays nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::cache::SessionId;
use crate::domain::UserId;

type HmacSha256 = Hmac<Sha256>;

const SECRET_BYTES: usize = 32;
const TAG_BYTES: usize = 16;
/// Longer than any token we mint; refused before any parsing.
const MAX_TOKEN_BYTES: usize = 256;

/// A refresh token, parsed for shape only: [`RefreshKeys::authentic`] says whether we minted
/// it. `Debug` does not print the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub user: UserId,
    pub session: SessionId,
    pub generation: u64,
    secret: [u8; SECRET_BYTES],
    tag: [u8; TAG_BYTES],
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("user", &self.user)
            .field("session", &self.session)
            .field("generation", &self.generation)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// What the table keeps of a secret: its SHA-256, hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDigest(pub String);

impl RefreshToken {
    /// `None` for anything that is not shaped like one of ours (an access token included).
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let mut parts = raw.split('.');
        let (user, session, generation, rest) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || generation.is_empty()
            || generation.len() > 19
            || !generation.bytes().all(|b| b.is_ascii_digit())
            || (generation.len() > 1 && generation.starts_with('0'))
        {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(rest).ok()?;
        if bytes.len() != SECRET_BYTES + TAG_BYTES {
            return None;
        }
        let (secret, tag) = bytes.split_at(SECRET_BYTES);
        // UserId::parse accepts any spelling of a UUID; ours is the hyphenated lower case.
        let parsed_user = UserId::parse(user).filter(|id| id.to_string() == user)?;
        Some(Self {
            user: parsed_user,
            session: SessionId::parse(session)?,
            generation: generation.parse().ok()?,
            secret: secret.try_into().ok()?,
            tag: tag.try_into().ok()?,
        })
    }

    pub fn encode(&self) -> String {
        let mut bytes = [0u8; SECRET_BYTES + TAG_BYTES];
        bytes[..SECRET_BYTES].copy_from_slice(&self.secret);
        bytes[SECRET_BYTES..].copy_from_slice(&self.tag);
        format!(
            "{}.{}.{}.{}",
            self.user,
            self.session.as_str(),
            self.generation,
            URL_SAFE_NO_PAD.encode(bytes)
        )
    }

    pub fn digest(&self) -> SecretDigest {
        SecretDigest(hex(&Sha256::digest(self.secret)))
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The server key refresh tokens are derived and tagged with. Never printed.
#[derive(Clone)]
pub struct RefreshKeys {
    key: HmacSha256,
}

impl std::fmt::Debug for RefreshKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshKeys(<redacted>)")
    }
}

impl RefreshKeys {
    /// Derived from the signing key, under a label of its own: a refresh tag can never pass
    /// for a JWT signature, nor the reverse.
    pub fn derive(signing_key: &[u8]) -> Self {
        let mut label = mac(signing_key);
        label.update(b"rust-auth-api refresh token key v1");
        Self {
            key: mac(&label.finalize().into_bytes()),
        }
    }

    /// Generation 0 of a new session: a fresh random secret.
    pub fn first(&self, user: UserId, session: &SessionId) -> RefreshToken {
        let mut secret = [0u8; SECRET_BYTES];
        OsRng.fill_bytes(&mut secret);
        self.seal(user, session.clone(), 0, secret)
    }

    /// The token that replaces `token`: the same for the same token, every time.
    pub fn successor(&self, token: &RefreshToken) -> RefreshToken {
        let mut next = self.key.clone();
        next.update(b"next\0");
        self.bind(
            &mut next,
            token.user,
            &token.session,
            token.generation,
            &token.secret,
        );
        let secret: [u8; SECRET_BYTES] = next.finalize().into_bytes().into();
        self.seal(
            token.user,
            token.session.clone(),
            token.generation.saturating_add(1),
            secret,
        )
    }

    /// Whether we minted `token`; compared in constant time.
    pub fn authentic(&self, token: &RefreshToken) -> bool {
        let mut tag = self.key.clone();
        tag.update(b"tag\0");
        self.bind(
            &mut tag,
            token.user,
            &token.session,
            token.generation,
            &token.secret,
        );
        tag.verify_truncated_left(&token.tag).is_ok()
    }

    fn seal(
        &self,
        user: UserId,
        session: SessionId,
        generation: u64,
        secret: [u8; SECRET_BYTES],
    ) -> RefreshToken {
        let mut tag = self.key.clone();
        tag.update(b"tag\0");
        self.bind(&mut tag, user, &session, generation, &secret);
        let full = tag.finalize().into_bytes();
        let mut truncated = [0u8; TAG_BYTES];
        truncated.copy_from_slice(&full[..TAG_BYTES]);
        RefreshToken {
            user,
            session,
            generation,
            secret,
            tag: truncated,
        }
    }

    /// Fixed-width fields, so no two different inputs share an encoding.
    fn bind(
        &self,
        mac: &mut HmacSha256,
        user: UserId,
        session: &SessionId,
        generation: u64,
        secret: &[u8; SECRET_BYTES],
    ) {
        mac.update(user.as_bytes());
        mac.update(session.as_str().as_bytes());
        mac.update(&generation.to_be_bytes());
        mac.update(secret);
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts every key length"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> RefreshKeys {
        RefreshKeys::derive(b"a-signing-key-of-at-least-32-bytes!!")
    }

    #[test]
    fn tokens_round_trip_and_authenticate() {
        let keys = keys();
        let first = keys.first(UserId::random(), &SessionId::random());
        assert_eq!(first.generation, 0);
        let text = first.encode();
        let parsed = RefreshToken::parse(&text).unwrap();
        assert_eq!(parsed, first);
        assert!(keys.authentic(&parsed));
        assert!(!RefreshKeys::derive(&[9u8; 32]).authentic(&parsed));
        let printed = format!("{first:?}");
        assert!(
            !printed.contains(text.rsplit('.').next().unwrap()),
            "{printed}"
        );
    }

    #[test]
    fn successors_are_deterministic_authentic_and_distinct() {
        let keys = keys();
        let first = keys.first(UserId::random(), &SessionId::random());
        let next = keys.successor(&first);
        assert_eq!(
            next,
            keys.successor(&first),
            "a retry gets the same successor"
        );
        assert_eq!(next.generation, 1);
        assert_ne!(next.digest(), first.digest());
        assert!(keys.authentic(&next));
        assert_ne!(keys.successor(&next).digest(), next.digest());
        let other_session = keys.first(first.user, &SessionId::random());
        assert_ne!(keys.successor(&other_session).digest(), next.digest());
    }

    #[test]
    fn a_changed_field_breaks_the_tag() {
        let keys = keys();
        let token = keys.first(UserId::random(), &SessionId::random());
        let text = token.encode();
        let fields: Vec<&str> = text.split('.').collect();
        let changed = [
            format!("{}.{}.1.{}", fields[0], fields[1], fields[3]),
            format!("{}.{}.0.{}", UserId::random(), fields[1], fields[3]),
            format!(
                "{}.{}.0.{}",
                fields[0],
                SessionId::random().as_str(),
                fields[3]
            ),
        ];
        for text in changed {
            let parsed = RefreshToken::parse(&text).unwrap();
            assert!(!keys.authentic(&parsed), "{text}");
        }
    }

    #[test]
    fn only_our_shape_parses() {
        let token = keys()
            .first(UserId::random(), &SessionId::random())
            .encode();
        let upper = token.to_uppercase();
        let fields: Vec<&str> = token.split('.').collect();
        for bad in [
            "",
            "a.b.c",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
            &upper,
            &format!("{token}."),
            &format!("{token}A"),
            &format!("{}.{}.01.{}", fields[0], fields[1], fields[3]),
            &format!("{}.{}.-1.{}", fields[0], fields[1], fields[3]),
            &format!(
                "{}.{}.99999999999999999999.{}",
                fields[0], fields[1], fields[3]
            ),
            &format!(
                "{}.{}.0.{}",
                fields[0].replace('-', ""),
                fields[1],
                fields[3]
            ),
            &"a".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            assert_eq!(RefreshToken::parse(bad), None, "{bad}");
        }
    }
}
