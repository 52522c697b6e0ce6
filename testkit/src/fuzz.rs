//! The properties the coverage-guided fuzz targets in `fuzz/` check. The regression test
//! (`testkit/tests/fuzz_regressions.rs`) replays every input kept in `fuzz/regressions/`
//! through the same functions, so what a fuzzer once found stays fixed without nightly tools.

use std::sync::OnceLock;

use lambda_http::http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use lambda_http::{Body, Request};
use shared::code::Purpose;
use shared::domain::{
    Credentials, EmailCode, EmailOnly, NewPassword, NewUser, PasswordConfirmation, PasswordReset,
    RefreshRequest, TokenToValidate,
};
use shared::session::RefreshToken;
use shared::token::TokenService;
use shared::{http, ApiError};

/// The content types a client may send; the first input byte picks one.
const CONTENT_TYPES: [Option<&str>; 5] = [
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
    Some("application/x-www-form-urlencoded"),
    None,
];

/// Any bytes as the body of a sign-up, a sign-in, a token validation, a refresh, an e-mail
/// verification or its resend, a forgotten password or its reset, a password change or an
/// account's deletion: parsing
/// never panics, a refresh token that parses writes back to what was sent, and whatever is
/// refused is a documented client error (400 4000/4001/4002, 413 4130, 415 4150) whose
/// rendered response is the `{"message", "errorCode"}` JSON.
pub fn parse_request(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let mut request = Request::new(Body::Binary(body.to_vec()));
    if let Some(content_type) = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()] {
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    let object = match http::json_object(&request) {
        Ok(object) => object,
        Err(err) => return assert_client_error(&err, &[4002, 4130, 4150]),
    };
    if let Err(err) = NewUser::parse(&object) {
        assert_client_error(&err, &[4000, 4001]);
    }
    if let Err(err) = Credentials::parse(&object) {
        assert_client_error(&err, &[4000, 4001]);
    }
    match TokenToValidate::parse(&object) {
        Err(err) => assert_client_error(&err, &[4000, 4001]),
        Ok(TokenToValidate(token)) => assert!(!token.is_empty() && token.trim() == token),
    }
    match RefreshRequest::parse(&object) {
        Err(err) => assert_client_error(&err, &[4000, 4001]),
        Ok(RefreshRequest(Some(token))) => {
            let sent = object["refresh_token"].as_str().unwrap_or_default().trim();
            assert_eq!(token.encode(), sent);
            assert_eq!(RefreshToken::parse(sent), Some(token));
        }
        Ok(RefreshRequest(None)) => {}
    }
    match EmailCode::parse(&object, Purpose::VerifyEmail) {
        Err(err) => assert_client_error(&err, &[4000, 4001]),
        Ok(EmailCode { code, .. }) => {
            let sent = object["code"].as_str().unwrap_or_default().trim();
            assert_eq!(code.expose(), sent);
            assert!(sent.len() == 6 && sent.bytes().all(|b| b.is_ascii_digit()));
        }
    }
    if let Err(err) = EmailOnly::parse(&object) {
        assert_client_error(&err, &[4000, 4001]);
    }
    match PasswordReset::parse(&object) {
        Err(err) => assert_client_error(&err, &[4000, 4001]),
        Ok(PasswordReset { code, .. }) => {
            let sent = object["code"].as_str().unwrap_or_default().trim();
            assert_eq!(code.expose(), sent);
            assert!(sent.len() == 8 && sent.bytes().all(|b| b.is_ascii_digit()));
        }
    }
    match NewPassword::parse(&object) {
        Err(err) => assert_client_error(&err, &[4000, 4001]),
        Ok(NewPassword { current, new }) => {
            assert_eq!(
                current.expose(),
                object["current_password"].as_str().unwrap().as_bytes()
            );
            assert_ne!(current.expose(), new.expose(), "the same password twice");
        }
    }
    match PasswordConfirmation::parse(&object) {
        Err(err) => assert_client_error(&err, &[4000, 4001]),
        Ok(PasswordConfirmation(password)) => {
            assert_eq!(
                password.expose(),
                object["password"].as_str().unwrap().as_bytes()
            );
        }
    }
}

fn assert_client_error(err: &ApiError, codes: &[u16]) {
    assert!(codes.contains(&err.code()), "undocumented refusal: {err:?}");
    assert_eq!(err.code() / 10, err.status(), "{err:?}");
    let response = http::error(err);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["errorCode"], err.code());
    assert!(body["message"].is_string());
}

/// Any bytes as the Authorization header: never a panic, always 401 (4011 no token, 4012
/// invalid session), and the only token ever accepted is the one genuinely signed with the
/// key: no mutation of it (re-encoding, padding, header or claim changes) verifies.
/// Returns whether the token was accepted.
pub fn verify_token(data: &[u8]) -> bool {
    check_token(tokens(), genuine_token(), data)
}

/// [`verify_token`] against any verifier and the one token it must accept.
pub fn check_token(tokens: &TokenService, genuine: &str, data: &[u8]) -> bool {
    let Ok(header) = HeaderValue::from_bytes(data) else {
        return false;
    };
    let mut request = Request::new(Body::Empty);
    request.headers_mut().insert(AUTHORIZATION, header);
    let outcome = http::bearer_token(&request).and_then(|token| block_on(tokens.verify(token)));
    match outcome {
        Ok(_) => {
            let token = http::bearer_token(&request).unwrap();
            assert_eq!(token, genuine, "a token the key never signed verified");
            true
        }
        Err(err) => {
            assert_eq!(err.status(), 401, "{err:?}");
            assert!(matches!(err.code(), 4011 | 4012), "{err:?}");
            false
        }
    }
}

fn tokens() -> &'static TokenService {
    static TOKENS: OnceLock<TokenService> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let published =
            shared::token::jwks::PublishedKeys::parse(include_str!("../fixtures/fuzz-jwks.json"))
                .expect("the committed JWKS parses");
        TokenService::new(
            &crate::config("fuzz", "redis://unused", &[]).tokens,
            crate::verify_keys(published),
        )
    })
}

/// Runs a future whose keys are fixed (nothing to wait for) to its end.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
        })
        .block_on(future)
}

/// A token signed, once, by the key of the committed `fixtures/fuzz-jwks.json`, valid until
/// 2100; the seed the fuzzer mutates. Only the public half of that key was kept.
pub fn genuine_token() -> &'static str {
    include_str!("../fixtures/fuzz-token.txt").trim_end()
}

/// Any bytes as the published key set (the JWKS document verifiers and `/.well-known/jwks.json`
/// read) and as the stored signing key set: parsing never panics; a JWKS that parses is only
/// RS256 keys of 2048 to 4096 bits under their own thumbprints, at most three, and writes
/// back to a document that parses to the same keys; a stored set that parses has one signer,
/// published, whose tokens verify against what it publishes. Returns whether the bytes were
/// accepted as a JWKS document.
pub fn parse_key_documents(data: &[u8]) -> bool {
    use shared::token::jwks::{PublishedKeys, MAX_PUBLISHED_KEYS};
    use shared::token::keyset::{signs_for, KeySet};
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    if let Ok(set) = KeySet::parse(text) {
        assert!(set.published().get(set.signing().kid()).is_some());
        assert!(signs_for(set.signing(), set.published()));
    }
    let Ok(keys) = PublishedKeys::parse(text) else {
        return false;
    };
    assert!((1..=MAX_PUBLISHED_KEYS).contains(&keys.keys().len()));
    let again = PublishedKeys::parse(&keys.to_json()).expect("our own rendering parses");
    assert_eq!(again, keys);
    for key in keys.keys() {
        let jwk = key.jwk();
        assert_eq!(
            (jwk["kty"].as_str(), jwk["alg"].as_str()),
            (Some("RSA"), Some("RS256"))
        );
    }
    true
}
