//! The table's item layout, in one place. One table, partition key `pk` only:
//! - `USER#<id>`: the profile (`GET /me` reads it); never holds the password hash.
//! - `EMAIL#<email>`: the credential record, `userId` and `passwordHash`. Its key is what
//!   makes e-mails unique: it is written with `attribute_not_exists(pk)` in the same
//!   transaction as the profile.
//! - `LOCK#<email>` (and `LOCK#<email>#<client address>` when the per-address lock is on): the
//!   sign-in attempts of an e-mail, registered or not (`failures`, `lockedUntil`, `version`),
//!   forgotten a day after the last one through the table's TTL (`expiresAt`).
//! - `SESSION#<session id>`: a durable session ([`crate::session::SessionRecord`]): `userId`,
//!   times in unix ms (`openedAt`, `lastUsedAt`, `rotatedAt`), `generation`, the digests of the
//!   current and previous refresh secrets, `revoked`, `ip`, `userAgent`; deleted by the TTL
//!   (`expiresAt`) once its refresh token is dead. While not revoked it also carries
//!   `sessionUser` (the user id), the key of the sparse index `sessionsByUser` that lists a
//!   user's sessions (`GET /sessions`). The profile's `sessionsEndedAt` (unix ms) is the
//!   user's last "sign out everywhere": sessions opened before it are over, bar the one a
//!   password change was made on, whose `renewedAt` (unix ms) is just after it. Its
//!   `emailVerifiedAt` (unix ms) is when the user proved they read their mailbox.
//! - `MAIL#<id>`, `MAILQUOTA#<purpose>#<email>`, `CODE#<purpose>#<user id>`: the e-mail
//!   outbox, its per-address send quota and the live one-time codes ([`crate::code`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::cache::SessionId;
use crate::code::{CodeDigest, Purpose};
use crate::domain::{
    CountryCode, Email, EmailVerified, PersonName, Phone, Timestamp, User, UserId,
};
use crate::lockout::{LockKey, LockState};
use crate::session::{ClientInfo, SecretDigest, SessionRecord};

pub const PK: &str = "pk";
pub type Item = HashMap<String, AttributeValue>;

pub fn user_key(id: UserId) -> AttributeValue {
    AttributeValue::S(format!("USER#{id}"))
}

pub fn email_key(email: &Email) -> AttributeValue {
    AttributeValue::S(format!("EMAIL#{email}"))
}

pub fn lock_key(lock: &LockKey) -> AttributeValue {
    AttributeValue::S(lock.as_str().to_owned())
}

pub fn session_key(id: &SessionId) -> AttributeValue {
    AttributeValue::S(format!("SESSION#{}", id.as_str()))
}

/// The TTL attribute (template.yaml's `TimeToLiveSpecification`), Unix seconds.
pub const EXPIRES_AT: &str = "expiresAt";
/// The index of a user's sessions, and its key (only on sessions not revoked).
pub const SESSIONS_BY_USER: &str = "sessionsByUser";
pub const SESSION_USER: &str = "sessionUser";
/// On the profile: the user's last "sign out everywhere", unix ms.
pub const SESSIONS_ENDED_AT: &str = "sessionsEndedAt";
/// On a session: the password change made on it (unix ms, [`SessionRecord::renewed_at`]).
pub const SESSION_RENEWED_AT: &str = "renewedAt";
/// On the profile: when the user proved they read their mailbox, unix ms.
pub const EMAIL_VERIFIED_AT: &str = "emailVerifiedAt";

/// A request for a message (`MAIL#<random id>`), the table's outbox: its insertion reaches the
/// mailer through the table's stream. It names the address, never a user, so writing one
/// tells nothing about whether the address has an account; the TTL removes it after a day.
pub fn mail_request_item(purpose: Purpose, email: &Email, at: Timestamp) -> Item {
    HashMap::from([
        (
            PK.to_owned(),
            AttributeValue::S(format!("MAIL#{}", uuid::Uuid::new_v4())),
        ),
        (
            "purpose".to_owned(),
            AttributeValue::S(purpose.as_str().to_owned()),
        ),
        ("email".to_owned(), AttributeValue::S(email.to_string())),
        ("requestedAt".to_owned(), millis(at)),
        (
            EXPIRES_AT.to_owned(),
            AttributeValue::N((at.unix() + 86_400).to_string()),
        ),
    ])
}

/// `MAILQUOTA#<purpose>#<email>`: the sends an address got lately (`lastSentAt`, unix ms;
/// `windowStart`, unix ms, and `sent` in that hour).
pub fn quota_key(purpose: Purpose, email: &Email) -> AttributeValue {
    AttributeValue::S(format!("MAILQUOTA#{}#{email}", purpose.as_str()))
}

/// `CODE#<purpose>#<user id>`: the one live code of that purpose (`digest`, `validUntil` in
/// unix ms, `attempts`), replaced by the next one sent; the TTL removes it once dead.
pub fn code_key(purpose: Purpose, user: UserId) -> AttributeValue {
    AttributeValue::S(format!("CODE#{}#{user}", purpose.as_str()))
}

pub fn code_item(
    purpose: Purpose,
    user: UserId,
    digest: &CodeDigest,
    valid_until: Timestamp,
) -> Item {
    HashMap::from([
        (PK.to_owned(), code_key(purpose, user)),
        (
            "digest".to_owned(),
            AttributeValue::B(digest.as_bytes().to_vec().into()),
        ),
        ("validUntil".to_owned(), millis(valid_until)),
        ("attempts".to_owned(), AttributeValue::N("0".to_owned())),
        (
            EXPIRES_AT.to_owned(),
            AttributeValue::N((valid_until.unix() + 1).to_string()),
        ),
    ])
}

pub fn parse_code_digest(item: &Item) -> Result<CodeDigest, BadItem> {
    item.get("digest")
        .and_then(|v| v.as_b().ok())
        .and_then(|blob| CodeDigest::from_bytes(blob.as_ref()))
        .ok_or(BadItem("digest"))
}

fn millis(at: Timestamp) -> AttributeValue {
    AttributeValue::N(at.unix_millis().to_string())
}

/// A session record, deleted by the TTL after `deadline` (unix seconds).
pub fn session_item(record: &SessionRecord, deadline: i64) -> Item {
    let mut item = HashMap::from([
        (PK.to_owned(), session_key(&record.id)),
        (
            "userId".to_owned(),
            AttributeValue::S(record.user.to_string()),
        ),
        ("openedAt".to_owned(), millis(record.created_at)),
        ("lastUsedAt".to_owned(), millis(record.last_used_at)),
        ("rotatedAt".to_owned(), millis(record.rotated_at)),
        (
            "generation".to_owned(),
            AttributeValue::N(record.generation.to_string()),
        ),
        (
            "current".to_owned(),
            AttributeValue::S(record.current.0.clone()),
        ),
        ("revoked".to_owned(), AttributeValue::Bool(record.revoked)),
        (
            EXPIRES_AT.to_owned(),
            AttributeValue::N(deadline.to_string()),
        ),
    ]);
    if !record.revoked {
        item.insert(
            SESSION_USER.to_owned(),
            AttributeValue::S(record.user.to_string()),
        );
    }
    let optional = [
        ("previous", record.previous.as_ref().map(|d| d.0.clone())),
        ("ip", record.client.ip.clone()),
        ("userAgent", record.client.user_agent.clone()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.to_owned(), AttributeValue::S(value));
        }
    }
    if let Some(renewed) = record.renewed_at {
        item.insert(SESSION_RENEWED_AT.to_owned(), millis(renewed));
    }
    item
}

pub fn parse_session(item: &Item) -> Result<SessionRecord, BadItem> {
    let id = s(item, PK)?
        .strip_prefix("SESSION#")
        .and_then(SessionId::parse)
        .ok_or(BadItem(PK))?;
    let time = |name| {
        n::<i64>(item, name).and_then(|ms| Timestamp::from_unix_millis(ms).ok_or(BadItem(name)))
    };
    let text = |name| s(item, name).ok().map(str::to_owned);
    Ok(SessionRecord {
        id,
        user: UserId::parse(s(item, "userId")?).ok_or(BadItem("userId"))?,
        created_at: time("openedAt")?,
        last_used_at: time("lastUsedAt")?,
        rotated_at: time("rotatedAt")?,
        generation: n(item, "generation")?,
        current: SecretDigest(s(item, "current")?.to_owned()),
        previous: text("previous").map(SecretDigest),
        revoked: item
            .get("revoked")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .ok_or(BadItem("revoked"))?,
        client: ClientInfo {
            ip: text("ip"),
            user_agent: text("userAgent"),
        },
        renewed_at: optional_millis(item, SESSION_RENEWED_AT)?,
    })
}

/// The profile's `sessionsEndedAt`, if the user ever signed out everywhere.
pub fn parse_sessions_ended_at(item: &Item) -> Result<Option<Timestamp>, BadItem> {
    optional_millis(item, SESSIONS_ENDED_AT)
}

fn optional_millis(item: &Item, name: &'static str) -> Result<Option<Timestamp>, BadItem> {
    match item.get(name) {
        None => Ok(None),
        Some(_) => n::<i64>(item, name)
            .and_then(|ms| Timestamp::from_unix_millis(ms).ok_or(BadItem(name)))
            .map(Some),
    }
}

/// A lock record; attributes it does not have yet are zero.
pub fn parse_lock(item: &Item) -> Result<LockState, BadItem> {
    let field = |name| match item.get(name) {
        None => Ok(0),
        Some(_) => n::<u64>(item, name),
    };
    Ok(LockState {
        failures: u32::try_from(field("failures")?).map_err(|_| BadItem("failures"))?,
        locked_until: field("lockedUntil")?,
        expires_at: field(EXPIRES_AT)?,
        version: field("version")?,
    })
}

pub fn user_item(user: &User) -> Item {
    let mut item = profile_item(user);
    if let Some(at) = user.email_verified.0 {
        item.insert(EMAIL_VERIFIED_AT.to_owned(), millis(at));
    }
    item
}

fn profile_item(user: &User) -> Item {
    let phones = user
        .phones
        .iter()
        .map(|phone| {
            AttributeValue::M(HashMap::from([
                (
                    "number".to_owned(),
                    AttributeValue::N(phone.number.to_string()),
                ),
                (
                    "area_code".to_owned(),
                    AttributeValue::N(phone.area_code.to_string()),
                ),
                (
                    "country_code".to_owned(),
                    AttributeValue::S(phone.country_code.as_str().to_owned()),
                ),
            ]))
        })
        .collect();
    HashMap::from([
        (PK.to_owned(), user_key(user.id)),
        ("id".to_owned(), AttributeValue::S(user.id.to_string())),
        (
            "email".to_owned(),
            AttributeValue::S(user.email.to_string()),
        ),
        (
            "firstName".to_owned(),
            AttributeValue::S(user.first_name.as_str().to_owned()),
        ),
        (
            "lastName".to_owned(),
            AttributeValue::S(user.last_name.as_str().to_owned()),
        ),
        ("phones".to_owned(), AttributeValue::L(phones)),
        (
            "createdAt".to_owned(),
            AttributeValue::S(user.created_at.to_string()),
        ),
        (
            "lastLogin".to_owned(),
            AttributeValue::S(user.last_login.to_string()),
        ),
    ])
}

/// Why an item could not be read back; always a bug or foreign data, never client input.
#[derive(Debug, thiserror::Error)]
#[error("stored item has a missing or malformed `{0}`")]
pub struct BadItem(pub &'static str);

fn s<'a>(item: &'a Item, name: &'static str) -> Result<&'a str, BadItem> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or(BadItem(name))
}

fn n<T: std::str::FromStr>(item: &Item, name: &'static str) -> Result<T, BadItem> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or(BadItem(name))
}

/// Stored data went through the same parsers on the way in; parsing again on the way out
/// keeps one definition of a valid user.
pub fn parse_user(item: &Item) -> Result<User, BadItem> {
    let phones = item
        .get("phones")
        .and_then(|v| v.as_l().ok())
        .ok_or(BadItem("phones"))?
        .iter()
        .map(|phone| {
            let phone = phone.as_m().map_err(|_| BadItem("phones"))?;
            Ok(Phone {
                number: n(phone, "number")?,
                area_code: n(phone, "area_code")?,
                country_code: CountryCode::parse(s(phone, "country_code")?)
                    .map_err(|_| BadItem("country_code"))?,
            })
        })
        .collect::<Result<Vec<_>, BadItem>>()?;
    Ok(User {
        id: UserId::parse(s(item, "id")?).ok_or(BadItem("id"))?,
        email: Email::parse(s(item, "email")?).map_err(|_| BadItem("email"))?,
        first_name: PersonName::parse(s(item, "firstName")?).map_err(|_| BadItem("firstName"))?,
        last_name: PersonName::parse(s(item, "lastName")?).map_err(|_| BadItem("lastName"))?,
        phones,
        created_at: Timestamp::parse(s(item, "createdAt")?).ok_or(BadItem("createdAt"))?,
        last_login: Timestamp::parse(s(item, "lastLogin")?).ok_or(BadItem("lastLogin"))?,
        email_verified: EmailVerified(optional_millis(item, EMAIL_VERIFIED_AT)?),
    })
}

pub fn credential_item(user: &User, digest: &str) -> Item {
    HashMap::from([
        (PK.to_owned(), email_key(&user.email)),
        ("userId".to_owned(), AttributeValue::S(user.id.to_string())),
        (
            "passwordHash".to_owned(),
            AttributeValue::S(digest.to_owned()),
        ),
    ])
}

pub fn parse_credentials(item: &Item) -> Result<(UserId, String), BadItem> {
    let id = UserId::parse(s(item, "userId")?).ok_or(BadItem("userId"))?;
    Ok((id, s(item, "passwordHash")?.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_user() -> User {
        User {
            id: UserId::random(),
            first_name: PersonName::parse("A").unwrap(),
            last_name: PersonName::parse("B").unwrap(),
            email: Email::parse("a@b.co").unwrap(),
            phones: vec![],
            created_at: Timestamp::now(),
            last_login: Timestamp::now(),
            email_verified: Default::default(),
        }
    }

    #[test]
    fn users_round_trip_through_items() {
        let now = Timestamp::now();
        let user = User {
            id: UserId::random(),
            first_name: PersonName::parse("Zoë").unwrap(),
            last_name: PersonName::parse("O'Brien").unwrap(),
            email: Email::parse("zoe@example.com").unwrap(),
            phones: vec![Phone {
                number: 988887888,
                area_code: 81,
                country_code: CountryCode::parse("+55").unwrap(),
            }],
            created_at: now,
            last_login: now,
            email_verified: Default::default(),
        };
        let verified = User {
            email_verified: EmailVerified(Some(now)),
            ..user.clone()
        };
        for user in [user, verified] {
            let item = user_item(&user);
            assert!(!item.contains_key("passwordHash"));
            let back = parse_user(&item).unwrap();
            assert_eq!(
                serde_json::to_value(&back).unwrap(),
                serde_json::to_value(&user).unwrap()
            );
        }
    }

    #[test]
    fn profiles_show_whether_the_address_is_verified() {
        let mut user = parse_user(&user_item(&sample_user())).unwrap();
        let json = serde_json::to_value(&user).unwrap();
        assert_eq!(json["email_verified"], false);
        assert!(json["email_verified_at"].is_null());
        let at = Timestamp::now();
        user.email_verified = EmailVerified(Some(at));
        let json = serde_json::to_value(&user).unwrap();
        assert_eq!(json["email_verified"], true);
        assert_eq!(json["email_verified_at"], at.to_string());
    }

    #[test]
    fn mail_requests_and_codes_round_trip() {
        let email = Email::parse("zoe@example.com").unwrap();
        let request = mail_request_item(Purpose::VerifyEmail, &email, Timestamp::now());
        assert!(request[PK].as_s().unwrap().starts_with("MAIL#"));
        assert!(
            !request.contains_key("userId"),
            "a request names no account"
        );
        assert_eq!(request["email"].as_s().unwrap(), "zoe@example.com");
        assert_eq!(request["purpose"].as_s().unwrap(), "verify");
        let code = crate::code::OneTimeCode::parse(Purpose::VerifyEmail, "123456").unwrap();
        let digest = code.digest(Purpose::VerifyEmail, UserId::random());
        let item = code_item(
            Purpose::VerifyEmail,
            UserId::random(),
            &digest,
            Timestamp::now(),
        );
        assert_eq!(parse_code_digest(&item).unwrap(), digest);
    }

    #[test]
    fn sessions_round_trip_through_items() {
        let keys = crate::session::RefreshKeys::derive(&[1u8; 32]);
        let first = keys.first(UserId::random(), &SessionId::random());
        let opened = SessionRecord::open(
            &first,
            ClientInfo::new(Some("203.0.113.9"), Some("curl/8")),
            Timestamp::now(),
        );
        let rotated = opened.rotated(&keys.successor(&first), Timestamp::now());
        for record in [opened, rotated] {
            let item = session_item(&record, 42);
            assert_eq!(item[EXPIRES_AT], AttributeValue::N("42".into()));
            assert_eq!(parse_session(&item).unwrap(), record);
        }
    }

    #[test]
    fn malformed_items_name_the_attribute() {
        let mut item = user_item(&sample_user());
        item.insert("createdAt".into(), AttributeValue::N("1".into()));
        assert_eq!(parse_user(&item).unwrap_err().0, "createdAt");
    }
}
