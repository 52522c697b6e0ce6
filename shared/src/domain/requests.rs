//! The request bodies, parsed whole: every field problem is reported at once.

use serde_json::{Map, Value};

use super::fields::{string, FieldReader};
use super::{Email, Password, PersonName, Phone};
use crate::code::{OneTimeCode, Purpose};
use crate::session::RefreshToken;
use crate::ApiError;

/// A valid sign-up: what `POST /signup` must carry before anything is hashed or stored.
#[derive(Debug)]
pub struct NewUser {
    pub email: Email,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub phones: Vec<Phone>,
    pub password: Password,
}

impl NewUser {
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut reader = FieldReader::default();
        let first_name = reader.required(body, "", "firstName", |_, _, v| {
            PersonName::parse(string(v)?)
        });
        let last_name = reader.required(body, "", "lastName", |_, _, v| {
            PersonName::parse(string(v)?)
        });
        let email = reader.required(body, "", "email", |_, _, v| Email::parse(string(v)?));
        let phones = reader.required(body, "", "phones", Phone::parse_list);
        let password = reader.required(body, "", "password", |_, _, v| {
            let known = [
                email.as_ref().map_or("", Email::local_part),
                first_name.as_ref().map_or("", PersonName::as_str),
                last_name.as_ref().map_or("", PersonName::as_str),
            ];
            Password::new_for_signup(string(v)?, &known)
        });
        let parsed = (|| {
            Some(NewUser {
                email: email?,
                first_name: first_name?,
                last_name: last_name?,
                phones: phones?,
                password: password?,
            })
        })();
        reader.finish(parsed)
    }
}

/// What `POST /signin` carries.
#[derive(Debug)]
pub struct Credentials {
    pub email: Email,
    pub password: Password,
}

impl Credentials {
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut reader = FieldReader::default();
        let email = reader.required(body, "", "email", |_, _, v| Email::parse(string(v)?));
        let password = reader.required(body, "", "password", |_, _, v| {
            Password::for_signin(string(v)?)
        });
        let parsed = email
            .zip(password)
            .map(|(email, password)| Credentials { email, password });
        reader.finish(parsed)
    }
}

/// What `POST /token/validate` carries: a token to look at, trusted in no way yet. A live
/// one is a credential, so `Debug` does not print it.
pub struct TokenToValidate(pub String);

impl std::fmt::Debug for TokenToValidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenToValidate(<redacted>)")
    }
}

impl TokenToValidate {
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut reader = FieldReader::default();
        let token = reader.required(body, "", "token", |_, _, v| {
            Ok(string(v)?.trim().to_owned())
        });
        reader.finish(token.map(Self))
    }
}

/// What `POST /token/refresh` carries: a refresh token, shaped like one of ours (whether we
/// minted it is the session's business, [`crate::session`]). A string of any other shape is
/// an invalid session, not a field problem: it may be a token we minted and mangled.
#[derive(Debug)]
pub struct RefreshRequest(pub Option<RefreshToken>);

impl RefreshRequest {
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut reader = FieldReader::default();
        let token = reader.required(body, "", "refresh_token", |_, _, v| {
            Ok(RefreshToken::parse(string(v)?.trim()))
        });
        reader.finish(token.map(Self))
    }
}

/// What `POST /email/verify` carries: the address and the code sent to it.
#[derive(Debug)]
pub struct EmailCode {
    pub email: Email,
    pub code: OneTimeCode,
}

impl EmailCode {
    pub fn parse(body: &Map<String, Value>, purpose: Purpose) -> Result<Self, ApiError> {
        let mut reader = FieldReader::default();
        let email = reader.required(body, "", "email", |_, _, v| Email::parse(string(v)?));
        let code = reader.required(body, "", "code", |_, _, v| code(purpose, v));
        reader.finish(email.zip(code).map(|(email, code)| Self { email, code }))
    }
}

fn code(purpose: Purpose, value: &Value) -> Result<OneTimeCode, &'static str> {
    OneTimeCode::parse(purpose, string(value)?.trim()).ok_or(match purpose.digits() {
        6 => "must be the 6 digits sent by e-mail",
        8 => "must be the 8 digits sent by e-mail",
        _ => "must be the digits sent by e-mail",
    })
}

/// What `POST /password/reset` carries: the address, the reset code sent to it and the new
/// password, held to sign-up's rules (the address's local part a known word; the names are
/// checked once the account is found).
#[derive(Debug)]
pub struct PasswordReset {
    pub email: Email,
    pub code: OneTimeCode,
    pub password: Password,
}

impl PasswordReset {
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut reader = FieldReader::default();
        let email = reader.required(body, "", "email", |_, _, v| Email::parse(string(v)?));
        let code = reader.required(body, "", "code", |_, _, v| code(Purpose::ResetPassword, v));
        let password = reader.required(body, "", "password", |_, _, v| {
            let known = [email.as_ref().map_or("", Email::local_part)];
            Password::new_for_signup(string(v)?, &known)
        });
        let parsed = (|| {
            Some(Self {
                email: email?,
                code: code?,
                password: password?,
            })
        })();
        reader.finish(parsed)
    }
}

/// What `POST /email/verify/resend` carries.
#[derive(Debug)]
pub struct EmailOnly(pub Email);

impl EmailOnly {
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut reader = FieldReader::default();
        let email = reader.required(body, "", "email", |_, _, v| Email::parse(string(v)?));
        reader.finish(email.map(Self))
    }
}

/// What `POST /password/change` carries: the password in force and its replacement, held
/// to sign-up's rules (the user's address and names are checked once they are known).
#[derive(Debug)]
pub struct NewPassword {
    pub current: Password,
    pub new: Password,
}

impl NewPassword {
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut reader = FieldReader::default();
        let current = reader.required(body, "", "current_password", |_, _, v| {
            Password::for_signin(string(v)?)
        });
        let sent = body.get("current_password").and_then(Value::as_str);
        let new = reader.required(body, "", "new_password", |_, _, v| {
            let new = string(v)?;
            if sent == Some(new) {
                return Err("must differ from the current password");
            }
            Password::new_for_signup(new, &[])
        });
        reader.finish(current.zip(new).map(|(current, new)| Self { current, new }))
    }
}

/// What `DELETE /me` carries: the account's password, asked again before it is gone.
#[derive(Debug)]
pub struct PasswordConfirmation(pub Password);

impl PasswordConfirmation {
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut reader = FieldReader::default();
        let password = reader.required(body, "", "password", |_, _, v| {
            Password::for_signin(string(v)?)
        });
        reader.finish(password.map(Self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldProblem;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn valid() -> Value {
        json!({
            "firstName": "Hello",
            "lastName": "World",
            "email": "Hello@World.com",
            "password": "correct horse battery staple",
            "phones": [{"number": 988887888, "area_code": 81, "country_code": "+55"}]
        })
    }

    fn fields(err: &ApiError) -> Vec<String> {
        err.details()
            .iter()
            .map(|p: &FieldProblem| p.field.clone())
            .collect()
    }

    #[test]
    fn a_token_to_validate_is_any_non_blank_string() {
        let token = TokenToValidate::parse(&object(json!({"token": " a.b.c "}))).unwrap();
        assert_eq!(token.0, "a.b.c");
        for missing in [json!({}), json!({"token": null}), json!({"token": "  "})] {
            let err = TokenToValidate::parse(&object(missing)).unwrap_err();
            assert!(matches!(err, ApiError::MissingFields(_)));
            assert_eq!(fields(&err), ["token"]);
        }
        for wrong in [
            json!({"token": 1}),
            json!({"token": ["a"]}),
            json!({"token": {}}),
        ] {
            let err = TokenToValidate::parse(&object(wrong)).unwrap_err();
            assert!(matches!(err, ApiError::InvalidFields(_)));
            assert_eq!(fields(&err), ["token"]);
        }
    }

    #[test]
    fn parses_the_contract_example() {
        let user = NewUser::parse(&object(valid())).unwrap();
        assert_eq!(user.email.as_str(), "hello@world.com");
        assert_eq!(user.first_name.as_str(), "Hello");
        assert_eq!(user.phones.len(), 1);
        assert_eq!(user.phones[0].number, 988887888);
        assert_eq!(user.phones[0].country_code.as_str(), "+55");
    }

    #[test]
    fn empty_object_lists_every_missing_field() {
        let err = NewUser::parse(&Map::new()).unwrap_err();
        assert!(matches!(err, ApiError::MissingFields(_)));
        assert_eq!(
            fields(&err),
            ["firstName", "lastName", "email", "phones", "password"]
        );
    }

    #[test]
    fn null_blank_and_absent_sub_fields_are_missing() {
        for (key, value) in [
            ("firstName", json!(null)),
            ("lastName", json!("   ")),
            ("email", json!("")),
        ] {
            let mut body = valid();
            body[key] = value;
            let err = NewUser::parse(&object(body)).unwrap_err();
            assert!(matches!(err, ApiError::MissingFields(_)), "{key}");
            assert_eq!(fields(&err), [key]);
        }
        let mut body = valid();
        body["phones"][0]
            .as_object_mut()
            .unwrap()
            .remove("area_code");
        let err = NewUser::parse(&object(body)).unwrap_err();
        assert!(matches!(err, ApiError::MissingFields(_)));
        assert_eq!(fields(&err), ["phones[0].area_code"]);
    }

    #[test]
    fn wrong_types_and_values_are_invalid_and_named() {
        let cases = [
            ("/phones/0/number", json!("988887888"), "phones[0].number"),
            ("/phones/0/number", json!(-1), "phones[0].number"),
            ("/phones/0/area_code", json!(8.1), "phones[0].area_code"),
            (
                "/phones/0/country_code",
                json!("55"),
                "phones[0].country_code",
            ),
            (
                "/phones/0/country_code",
                json!(55),
                "phones[0].country_code",
            ),
            ("/phones/0", json!("x"), "phones[0]"),
            ("/phones", json!({}), "phones"),
            ("/firstName", json!(123), "firstName"),
            ("/lastName", json!("x".repeat(101)), "lastName"),
            ("/email", json!("not-an-email"), "email"),
            ("/password", json!("hunter2"), "password"),
            ("/password", json!("qwerty123"), "password"),
            ("/password", json!(12345678), "password"),
        ];
        for (pointer, value, field) in cases {
            let mut body = valid();
            *body.pointer_mut(pointer).unwrap() = value;
            let err = NewUser::parse(&object(body)).unwrap_err();
            assert!(matches!(err, ApiError::InvalidFields(_)), "{pointer}");
            assert_eq!(fields(&err), [field], "{pointer}");
        }
    }

    #[test]
    fn at_most_ten_phones_and_an_empty_list_is_fine() {
        let mut body = valid();
        let phone = body["phones"][0].clone();
        body["phones"] = Value::Array(vec![phone; 11]);
        let err = NewUser::parse(&object(body)).unwrap_err();
        assert_eq!(fields(&err), ["phones"]);
        let mut body = valid();
        body["phones"] = json!([]);
        assert!(NewUser::parse(&object(body)).unwrap().phones.is_empty());
    }

    #[test]
    fn missing_wins_over_invalid() {
        let mut body = valid();
        body["email"] = json!("bad");
        body.as_object_mut().unwrap().remove("password");
        let err = NewUser::parse(&object(body)).unwrap_err();
        assert!(matches!(err, ApiError::MissingFields(_)));
        assert_eq!(fields(&err), ["password"]);
    }

    #[test]
    fn credentials() {
        let creds =
            Credentials::parse(&object(json!({"email": " A@B.io", "password": "x"}))).unwrap();
        assert_eq!(creds.email.as_str(), "a@b.io");
        let err = Credentials::parse(&object(json!({"email": "a@b.io"}))).unwrap_err();
        assert_eq!(fields(&err), ["password"]);
        let err = Credentials::parse(&object(json!({"email": 1, "password": "x"}))).unwrap_err();
        assert!(matches!(err, ApiError::InvalidFields(_)));
    }

    #[test]
    fn an_email_code_needs_an_address_and_exactly_six_digits() {
        let parsed = EmailCode::parse(
            &object(json!({"email": "A@B.co", "code": " 012345 "})),
            Purpose::VerifyEmail,
        )
        .unwrap();
        assert_eq!(parsed.email.as_str(), "a@b.co");
        assert_eq!(parsed.code.expose(), "012345");
        for code in [
            json!("12345"),
            json!("1234567"),
            json!("12a456"),
            json!(123456),
        ] {
            let err = EmailCode::parse(
                &object(json!({"email": "a@b.co", "code": code})),
                Purpose::VerifyEmail,
            )
            .unwrap_err();
            assert_eq!(err.code(), 4001, "{code}");
            assert_eq!(fields(&err), ["code"]);
        }
        let err = EmailCode::parse(&object(json!({})), Purpose::VerifyEmail).unwrap_err();
        assert_eq!(err.code(), 4000);
        assert_eq!(fields(&err), ["email", "code"]);
        let err = EmailOnly::parse(&object(json!({"email": "nope"}))).unwrap_err();
        assert_eq!(fields(&err), ["email"]);
    }

    #[test]
    fn a_change_needs_both_passwords_and_a_new_one_sign_up_would_take() {
        let body =
            json!({"current_password": "old one", "new_password": "correct horse battery staple"});
        assert!(NewPassword::parse(&object(body.clone())).is_ok());
        for (pointer, value, field) in [
            ("/new_password", json!("qwerty123"), "new_password"),
            ("/new_password", json!("old one"), "new_password"),
            ("/new_password", json!(12), "new_password"),
            ("/current_password", json!(["x"]), "current_password"),
        ] {
            let mut bad = body.clone();
            *bad.pointer_mut(pointer).unwrap() = value;
            let err = NewPassword::parse(&object(bad)).unwrap_err();
            assert_eq!(err.code(), 4001, "{pointer}");
            assert_eq!(fields(&err), [field], "{pointer}");
        }
        let same = json!({"current_password": "correct horse battery staple",
                          "new_password": "correct horse battery staple"});
        let err = NewPassword::parse(&object(same)).unwrap_err();
        assert_eq!(
            err.details()[0].reason,
            "must differ from the current password"
        );
        let err = NewPassword::parse(&object(json!({}))).unwrap_err();
        assert_eq!(fields(&err), ["current_password", "new_password"]);
    }

    #[test]
    fn a_deletion_needs_the_password_as_a_string() {
        let ok = PasswordConfirmation::parse(&object(json!({"password": "anything at all"})));
        assert_eq!(ok.unwrap().0.expose(), b"anything at all");
        for body in [json!({}), json!({"password": ""}), json!({"password": 12})] {
            let err = PasswordConfirmation::parse(&object(body.clone())).unwrap_err();
            assert_eq!(fields(&err), ["password"], "{body}");
        }
    }

    #[test]
    fn a_reset_needs_eight_digits_and_a_password_sign_up_would_take() {
        let body = json!({"email": "Maria.Silva@B.co", "code": "01234567",
                          "password": "correct horse battery staple"});
        let parsed = PasswordReset::parse(&object(body.clone())).unwrap();
        assert_eq!(parsed.email.as_str(), "maria.silva@b.co");
        assert_eq!(parsed.code.expose(), "01234567");
        for (pointer, value, field) in [
            ("/code", json!("123456"), "code"),
            ("/code", json!(12345678), "code"),
            ("/password", json!("hunter2"), "password"),
            ("/password", json!("qwerty123"), "password"),
            ("/password", json!("maria.silva"), "password"),
            ("/email", json!("nope"), "email"),
        ] {
            let mut bad = body.clone();
            *bad.pointer_mut(pointer).unwrap() = value;
            let err = PasswordReset::parse(&object(bad)).unwrap_err();
            assert_eq!(err.code(), 4001, "{pointer}");
            assert_eq!(fields(&err), [field], "{pointer}");
        }
        let err = PasswordReset::parse(&object(json!({}))).unwrap_err();
        assert_eq!(err.code(), 4000);
        assert_eq!(fields(&err), ["email", "code", "password"]);
    }
}
