use std::fmt;

use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Email, PersonName, Phone};

/// A user's id: a random UUID, so ids reveal neither order nor count of sign-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(uuid::Uuid);

impl UserId {
    /// The nil UUID: never a user (ids are random v4), so a key made from it never exists.
    pub const NOBODY: UserId = UserId(uuid::Uuid::nil());

    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    pub fn parse(raw: &str) -> Option<Self> {
        uuid::Uuid::try_parse(raw).ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl Serialize for UserId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A UTC instant with millisecond precision, written as RFC 3339 (`2026-11-22T02:18:49.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        let millis = now.millisecond();
        Self(now.replace_millisecond(millis).unwrap_or(now))
    }

    pub fn parse(raw: &str) -> Option<Self> {
        OffsetDateTime::parse(raw, &Rfc3339).ok().map(Self)
    }

    pub fn unix(&self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn unix_millis(&self) -> i64 {
        i64::try_from(self.0.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .ok()
            .map(Self)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let utc = self.0.to_offset(time::UtcOffset::UTC);
        let (y, mo, d) = (utc.year(), u8::from(utc.month()), utc.day());
        let (h, mi, s, ms) = (utc.hour(), utc.minute(), utc.second(), utc.millisecond());
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A user as stored and as `GET /me` shows it. The password hash is not part of it: it lives
/// in the credential record, which only sign-in reads.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    #[serde(rename = "firstName")]
    pub first_name: PersonName,
    #[serde(rename = "lastName")]
    pub last_name: PersonName,
    pub email: Email,
    pub phones: Vec<Phone>,
    pub created_at: Timestamp,
    pub last_login: Timestamp,
    #[serde(flatten)]
    pub email_verified: EmailVerified,
}

/// When the user proved they read their mailbox (`POST /email/verify`); `None` until then.
/// Shown as `email_verified` and `email_verified_at`, one value so the two cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmailVerified(pub Option<Timestamp>);

impl User {
    /// What a new password must not be made of: the address's local part and the names
    /// (sign-up's rule, applied again by a reset and a change).
    pub fn personal_words(&self) -> [&str; 3] {
        [
            self.email.local_part(),
            self.first_name.as_str(),
            self.last_name.as_str(),
        ]
    }
}

impl EmailVerified {
    pub fn is_verified(&self) -> bool {
        self.0.is_some()
    }
}

impl Serialize for EmailVerified {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("email_verified", &self.is_verified())?;
        map.serialize_entry("email_verified_at", &self.0)?;
        map.end()
    }
}

impl Serialize for PersonName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_millis_and_round_trip() {
        let now = Timestamp::now();
        let text = now.to_string();
        assert_eq!(text.len(), "2026-11-22T02:18:49.123Z".len(), "{text}");
        assert!(text.ends_with('Z'));
        assert_eq!(Timestamp::parse(&text), Some(now));
    }

    #[test]
    fn user_ids_round_trip() {
        let id = UserId::random();
        assert_eq!(UserId::parse(&id.to_string()), Some(id));
        assert_eq!(UserId::parse("USER#1"), None);
    }
}
