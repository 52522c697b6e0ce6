//! The table's item layout, in one place. One table, partition key `pk` only:
//! - `USER#<id>`: the profile (`GET /me` reads it); never holds the password hash.
//! - `EMAIL#<email>`: the credential record, `userId` and `passwordHash`. Its key is what
//!   makes e-mails unique: it is written with `attribute_not_exists(pk)` in the same
//!   transaction as the profile.
//! - `LOCK#<email>` (and `LOCK#<email>#<client address>` when the per-address lock is on): the
//!   sign-in attempts of an e-mail, registered or not (`failures`, `lockedUntil`, `version`),
//!   forgotten a day after the last one through the table's TTL (`expiresAt`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{CountryCode, Email, PersonName, Phone, Timestamp, User, UserId};
use crate::lockout::{LockKey, LockState};

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

/// The TTL attribute (template.yaml's `TimeToLiveSpecification`), Unix seconds.
pub const EXPIRES_AT: &str = "expiresAt";

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
        };
        let item = user_item(&user);
        assert!(!item.contains_key("passwordHash"));
        let back = parse_user(&item).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&user).unwrap()
        );
    }

    #[test]
    fn malformed_items_name_the_attribute() {
        let mut item = user_item(&User {
            id: UserId::random(),
            first_name: PersonName::parse("A").unwrap(),
            last_name: PersonName::parse("B").unwrap(),
            email: Email::parse("a@b.co").unwrap(),
            phones: vec![],
            created_at: Timestamp::now(),
            last_login: Timestamp::now(),
        });
        item.insert("createdAt".into(), AttributeValue::N("1".into()));
        assert_eq!(parse_user(&item).unwrap_err().0, "createdAt");
    }
}
