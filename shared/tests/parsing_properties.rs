#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Property tests of request parsing: arbitrary bytes and arbitrary JSON in every field never
//! panic and always end in one of the documented 4xx errors; valid users always parse, and
//! parse to what was sent.

use lambda_http::http::header::{HeaderValue, CONTENT_TYPE};
use lambda_http::{Body, Request};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use shared::code::Purpose;
use shared::domain::{
    Credentials, EmailCode, EmailOnly, NewPassword, NewUser, PasswordConfirmation, PasswordReset,
    RefreshRequest, TokenToValidate,
};
use shared::session::{RefreshKeys, RefreshToken};
use shared::{http, ApiError};

fn request(body: Vec<u8>, content_type: Option<&str>) -> Request {
    let mut request = Request::new(Body::Binary(body));
    if let Some(ct) = content_type {
        if let Ok(value) = HeaderValue::from_str(ct) {
            request.headers_mut().insert(CONTENT_TYPE, value);
        }
    }
    request
}

/// The errors a body may legitimately end in, with their documented codes.
fn documented(err: &ApiError) -> bool {
    matches!(
        (err.status(), err.code()),
        (400, 4000..=4002) | (413, 4130) | (415, 4150)
    )
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const SIGNUP_FIELDS: [&str; 5] = ["firstName", "lastName", "email", "password", "phones"];
const PHONE_FIELDS: [&str; 3] = ["number", "area_code", "country_code"];

fn valid_signup() -> Map<String, Value> {
    json!({
        "firstName": "Hello",
        "lastName": "World",
        "email": "hello@world.com",
        "password": "correct horse battery staple",
        "phones": [{"number": 988887888, "area_code": 81, "country_code": "+55"}]
    })
    .as_object()
    .cloned()
    .unwrap()
}

type SentPhone = (u64, u32, String);

fn phones_of(user: &NewUser) -> Vec<SentPhone> {
    user.phones
        .iter()
        .map(|p| (p.number, p.area_code, p.country_code.as_str().to_owned()))
        .collect()
}

/// The phones as sent, if they are what a phone list must be: an array of objects with
/// whole non-negative `number` and `area_code` and a `+digits` `country_code`.
fn sent_phones(value: &Value) -> Option<Vec<SentPhone>> {
    value
        .as_array()?
        .iter()
        .map(|phone| {
            let country = phone.get("country_code")?.as_str()?;
            let digits = country.strip_prefix('+')?;
            let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            valid.then_some(())?;
            Some((
                phone.get("number")?.as_u64()?,
                u32::try_from(phone.get("area_code")?.as_u64()?).ok()?,
                country.to_owned(),
            ))
        })
        .collect()
}

/// 512 cases each in `make test`; `PROPTEST_CASES` asks for more.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_bytes_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..512),
        content_type in prop::option::of(prop_oneof![
            Just("application/json".to_owned()),
            Just("text/plain".to_owned()),
            ".{0,30}",
        ]),
    ) {
        let outcome = http::json_object(&request(body, content_type.as_deref()))
            .and_then(|map| NewUser::parse(&map).map(|_| ()));
        if let Err(err) = outcome {
            prop_assert!(documented(&err), "{err:?}");
        }
    }

    #[test]
    fn any_value_in_any_signup_field_maps_to_a_documented_error(
        field in prop::sample::select(SIGNUP_FIELDS.to_vec()),
        value in any_json(),
    ) {
        let mut body = valid_signup();
        body.insert(field.to_owned(), value.clone());
        match NewUser::parse(&body) {
            Err(err) => {
                prop_assert!(documented(&err), "{err:?}");
                prop_assert!(!err.details().is_empty());
                prop_assert!(err.details().iter().any(|p| p.field.starts_with(field)), "{err:?}");
            }
            // Accepted: then it must be a value of the field's type, parsed to what was sent.
            Ok(user) => match field {
                "firstName" => prop_assert_eq!(Some(user.first_name.as_str()), value.as_str().map(str::trim)),
                "lastName" => prop_assert_eq!(Some(user.last_name.as_str()), value.as_str().map(str::trim)),
                "email" => prop_assert_eq!(
                    Some(user.email.as_str().to_owned()),
                    value.as_str().map(|e| e.trim().to_lowercase())
                ),
                "password" => prop_assert!(value.is_string(), "{value}"),
                _ => prop_assert_eq!(Some(phones_of(&user)), sent_phones(&value)),
            },
        }
    }

    #[test]
    fn any_value_in_any_phone_field_maps_to_a_documented_error(
        field in prop::sample::select(PHONE_FIELDS.to_vec()),
        value in any_json(),
    ) {
        let mut body = valid_signup();
        body["phones"][0][field] = value.clone();
        match NewUser::parse(&body) {
            Err(err) => {
                prop_assert!(documented(&err), "{err:?}");
                let expected = format!("phones[0].{field}");
                prop_assert!(err.details().iter().any(|p| p.field == expected), "{err:?}");
            }
            Ok(user) => {
                let sent = sent_phones(&body["phones"]);
                prop_assert!(sent.is_some(), "accepted a {field} of {value}");
                prop_assert_eq!(phones_of(&user), sent.unwrap_or_default());
            }
        }
    }

    #[test]
    fn any_credentials_map_to_a_documented_error(email in any_json(), password in any_json()) {
        let body = json!({"email": email, "password": password});
        match Credentials::parse(body.as_object().unwrap()) {
            Err(err) => prop_assert!(documented(&err), "{err:?}"),
            Ok(credentials) => {
                prop_assert!(password.is_string(), "accepted a password of {password}");
                prop_assert_eq!(
                    Some(credentials.email.as_str().to_owned()),
                    email.as_str().map(|e| e.trim().to_lowercase())
                );
            }
        }
    }

    /// `POST /token/validate`: any JSON as `token` (and any bytes as the body) is either a
    /// non-blank string, taken as sent, or one of the documented 400s.
    #[test]
    fn any_token_question_maps_to_a_documented_error(
        token in any_json(),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        match TokenToValidate::parse(json!({"token": token}).as_object().unwrap()) {
            Err(err) => prop_assert!(documented(&err), "{err:?}"),
            Ok(TokenToValidate(parsed)) => {
                prop_assert_eq!(Some(parsed.as_str()), token.as_str().map(str::trim));
                prop_assert!(!parsed.is_empty());
            }
        }
        let outcome = http::json_object(&request(body, Some("application/json")))
            .and_then(|map| TokenToValidate::parse(&map).map(|_| ()));
        if let Err(err) = outcome {
            prop_assert!(documented(&err), "{err:?}");
        }
    }

    /// `POST /token/refresh`: any JSON as `refresh_token` (and any bytes as the body) is one
    /// of the documented 400s, a string that is no token of ours (then 401), or a token that
    /// writes back to exactly what was sent.
    #[test]
    fn any_refresh_question_maps_to_a_documented_error_or_a_token(
        token in any_json(),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        match RefreshRequest::parse(json!({"refresh_token": token}).as_object().unwrap()) {
            Err(err) => prop_assert!(documented(&err), "{err:?}"),
            Ok(RefreshRequest(Some(parsed))) => {
                let written = parsed.encode();
                prop_assert_eq!(Some(written.as_str()), token.as_str().map(str::trim));
            }
            Ok(RefreshRequest(None)) => prop_assert!(token.is_string()),
        }
        let outcome = http::json_object(&request(body, Some("application/json")))
            .and_then(|map| RefreshRequest::parse(&map).map(|_| ()));
        if let Err(err) = outcome {
            prop_assert!(documented(&err), "{err:?}");
        }
    }

    /// A minted refresh token with any one character changed is either no longer one of ours
    /// in shape, or no longer authentic: nothing but the token itself passes the tag.
    #[test]
    fn a_changed_refresh_token_is_never_authentic(at in any::<prop::sample::Index>(), to in "[0-9a-zA-Z._-]") {
        let keys = RefreshKeys::derive(b"the-property-test-key-of-32-bytes!!");
        let token = keys.first(shared::domain::UserId::random(), &shared::cache::SessionId::random());
        let text = token.encode();
        let index = at.index(text.len());
        let mut changed = text.clone();
        changed.replace_range(index..=index, &to);
        prop_assume!(changed != text);
        if let Some(parsed) = RefreshToken::parse(&changed) {
            prop_assert!(!keys.authentic(&parsed), "{changed}");
        }
    }

    /// Valid users, unicode names included, parse to exactly what was sent (names trimmed,
    /// e-mail lower-cased).
    #[test]
    fn valid_users_round_trip(
        first in "[\\p{L}][\\p{L} '-]{0,30}[\\p{L}]",
        last in "[\\p{L}]{1,40}",
        local in "[a-z0-9]{1,20}",
        domain in "[a-z]{1,15}",
        tld in "[a-z]{2,6}",
        phones in prop::collection::vec(
            (0u64..=999_999_999_999_999, 0u32..=99_999, "\\+[0-9]{1,3}"), 0..=10),
    ) {
        let email = format!("{local}@{domain}.{tld}");
        let phone_values: Vec<Value> = phones
            .iter()
            .map(|(n, a, c)| json!({"number": n, "area_code": a, "country_code": c}))
            .collect();
        let body = json!({
            "firstName": first, "lastName": last, "email": email.to_uppercase(),
            "password": "an unguessable passphrase 7 times over", "phones": phone_values,
        });
        let user = NewUser::parse(body.as_object().unwrap()).unwrap();
        prop_assert_eq!(user.first_name.as_str(), first.trim());
        prop_assert_eq!(user.last_name.as_str(), last.as_str());
        prop_assert_eq!(user.email.as_str(), email.as_str());
        let parsed: Vec<(u64, u32, String)> = user
            .phones
            .iter()
            .map(|p| (p.number, p.area_code, p.country_code.as_str().to_owned()))
            .collect();
        prop_assert_eq!(parsed, phones);
    }

    #[test]
    fn any_code_or_address_value_maps_to_a_documented_error_or_parses_exactly(
        code in any_json(),
        email in any_json(),
        digits in "[0-9]{6}",
    ) {
        for sent in [code.clone(), Value::String(digits.clone())] {
            let body: Map<String, Value> =
                [("email".to_owned(), email.clone()), ("code".to_owned(), sent.clone())]
                    .into_iter()
                    .collect();
            match EmailCode::parse(&body, Purpose::VerifyEmail) {
                Err(err) => prop_assert!(documented(&err), "{err:?}"),
                // Accepted: exactly six ASCII digits, as sent (around blanks).
                Ok(parsed) => {
                    let text = sent.as_str().map(str::trim).unwrap_or_default();
                    prop_assert_eq!(parsed.code.expose(), text);
                    prop_assert!(text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()));
                }
            }
        }
        let body: Map<String, Value> = [("email".to_owned(), email)].into_iter().collect();
        if let Err(err) = EmailOnly::parse(&body) {
            prop_assert!(documented(&err), "{err:?}");
        }
    }

    #[test]
    fn any_reset_body_maps_to_a_documented_error_or_parses_exactly(
        code in any_json(),
        password in any_json(),
        digits in "[0-9]{8}",
    ) {
        for sent in [code.clone(), Value::String(digits.clone())] {
            let body: Map<String, Value> = [
                ("email".to_owned(), Value::String("reset@example.com".to_owned())),
                ("code".to_owned(), sent.clone()),
                ("password".to_owned(), password.clone()),
            ]
            .into_iter()
            .collect();
            match PasswordReset::parse(&body) {
                Err(err) => prop_assert!(documented(&err), "{err:?}"),
                // Accepted: exactly eight ASCII digits, as sent (around blanks), and a
                // password within sign-up's bounds.
                Ok(parsed) => {
                    let text = sent.as_str().map(str::trim).unwrap_or_default();
                    prop_assert_eq!(parsed.code.expose(), text);
                    prop_assert!(text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()));
                    let chars = password.as_str().map_or(0, |p| p.chars().count());
                    prop_assert!((8..=256).contains(&chars));
                }
            }
        }
    }

    #[test]
    fn any_password_change_or_confirmation_maps_to_a_documented_error_or_parses_exactly(
        current in any_json(),
        new in any_json(),
        strong in "[a-z]{4} [a-z]{5} [a-z]{6} [a-z]{7}",
    ) {
        for sent in [new.clone(), Value::String(strong.clone()), current.clone()] {
            let body: Map<String, Value> = [
                ("current_password".to_owned(), current.clone()),
                ("new_password".to_owned(), sent.clone()),
            ]
            .into_iter()
            .collect();
            match NewPassword::parse(&body) {
                Err(err) => prop_assert!(documented(&err), "{err:?}"),
                // Accepted: both strings as sent, different, the new one within sign-up's
                // bounds.
                Ok(parsed) => {
                    let (current, sent) = (current.as_str().unwrap(), sent.as_str().unwrap());
                    prop_assert_eq!(parsed.current.expose(), current.as_bytes());
                    prop_assert_eq!(parsed.new.expose(), sent.as_bytes());
                    prop_assert_ne!(current, sent);
                    prop_assert!((8..=256).contains(&sent.chars().count()));
                }
            }
        }
        let body: Map<String, Value> = [("password".to_owned(), current.clone())].into_iter().collect();
        match PasswordConfirmation::parse(&body) {
            Err(err) => prop_assert!(documented(&err), "{err:?}"),
            Ok(PasswordConfirmation(password)) => {
                prop_assert_eq!(password.expose(), current.as_str().unwrap().as_bytes());
            }
        }
    }
}
