//! JWT access tokens: HS256 only, issuer checked, short leeway. The algorithm is pinned on
//! verify, so `alg: none` and algorithm-confusion tokens fail before any claim is read. Their
//! header says `typ: at+jwt` (RFC 9068) and verify insists on it, so nothing else that might
//! one day be signed with this key passes for an access token. Refresh tokens are not JWTs at
//! all ([`crate::session::RefreshToken`]).

use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};

use crate::cache::SessionId;
use crate::config::{JwtSecret, TokenSettings};
use crate::domain::{Timestamp, User, UserId};
use crate::session::{RefreshKeys, RefreshToken};
use crate::ApiError;

pub mod jwks;
pub mod keyset;
mod provider;
pub mod rs256;

/// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: u64 = 5;
/// A header value longer than this is not one of our tokens; refuse it without decoding.
pub const MAX_TOKEN_BYTES: usize = 4096;

#[derive(Debug, Serialize, Deserialize)]
struct Claims<'a> {
    sub: String,
    email: &'a str,
    #[serde(rename = "firstName")]
    first_name: &'a str,
    #[serde(rename = "lastName")]
    last_name: &'a str,
    iat: i64,
    exp: i64,
    iss: &'a str,
    jti: String,
    /// The server-side session this token belongs to; sign-out ends it.
    sid: &'a str,
}

/// The claims `GET /me` relies on, read only from a token whose signature checked out.
#[derive(Debug, Deserialize)]
pub struct VerifiedClaims {
    pub sub: String,
    /// Required here because jsonwebtoken's `required_spec_claims` knows only exp, nbf, aud,
    /// iss and sub: a token without `iat` fails to deserialize.
    pub iat: i64,
    pub exp: i64,
    pub sid: String,
    /// Checked against the configured issuer before this struct exists.
    pub iss: String,
    /// Every token we issue names the e-mail; `POST /token/validate` reports it.
    #[serde(default)]
    pub email: Option<String>,
}

impl VerifiedClaims {
    pub fn user_id(&self) -> Option<UserId> {
        UserId::parse(&self.sub)
    }

    pub fn session_id(&self) -> Option<SessionId> {
        SessionId::parse(&self.sid)
    }
}

/// The header of every access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// What sign-up, sign-in and a refresh return: the access token (`token`, as the contract
/// names it) and the refresh token, with their lifetimes. `Debug` prints neither token: a
/// stray `?issued` in a log line must not hand out a credential.
#[derive(Serialize)]
pub struct IssuedToken {
    pub token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_in: u64,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"<redacted>")
            .field("refresh_expires_in", &self.refresh_expires_in)
            .finish()
    }
}

pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    ttl_seconds: u64,
    refresh: RefreshKeys,
}

impl TokenService {
    pub fn new(settings: &TokenSettings) -> Self {
        provider::install();
        let JwtSecret(secret) = &settings.secret;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: settings.issuer.clone(),
            ttl_seconds: settings.ttl_seconds,
            refresh: RefreshKeys::derive(secret),
        }
    }

    /// The key refresh tokens are minted and checked with.
    pub fn refresh_keys(&self) -> &RefreshKeys {
        &self.refresh
    }

    /// A new access token for `session`, with `refresh` (good for `refresh_expires_in`).
    pub fn issue_pair(
        &self,
        user: &User,
        refresh: &RefreshToken,
        refresh_expires_in: u64,
    ) -> Result<IssuedToken, ApiError> {
        Ok(IssuedToken {
            token: self.issue(user, &refresh.session)?,
            token_type: "Bearer",
            expires_in: self.ttl_seconds,
            refresh_token: refresh.encode(),
            refresh_expires_in,
        })
    }

    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    /// An access token for `session`.
    pub fn issue(&self, user: &User, session: &SessionId) -> Result<String, ApiError> {
        let iat = Timestamp::now().unix();
        let claims = Claims {
            sub: user.id.to_string(),
            email: user.email.as_str(),
            first_name: user.first_name.as_str(),
            last_name: user.last_name.as_str(),
            iat,
            exp: iat.saturating_add_unsigned(self.ttl_seconds),
            iss: &self.issuer,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            sid: session.as_str(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        encode(&header, &claims, &self.encoding).map_err(ApiError::internal)
    }

    /// Any failure (format, signature, algorithm, issuer, expiry) is the same public error.
    pub fn verify(&self, token: &str) -> Result<VerifiedClaims, ApiError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(ApiError::InvalidSession);
        }
        let header = decode_header(token).map_err(|_| ApiError::InvalidSession)?;
        if !is_ours(&header) {
            return Err(ApiError::InvalidSession);
        }
        let claims = decode::<VerifiedClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| {
                tracing::debug!(reason = %err, "token refused");
                ApiError::InvalidSession
            })?;
        // jsonwebtoken does not look at `iat`: a token issued in the future is not ours.
        if claims.iat
            > Timestamp::now()
                .unix()
                .saturating_add_unsigned(LEEWAY_SECONDS)
        {
            return Err(ApiError::InvalidSession);
        }
        Ok(claims)
    }
}

/// Our tokens' header is exactly `{"typ": "at+jwt", "alg": "HS256"}`. One that names or embeds a
/// key (kid, jku, jwk, x5u, x5c, x5t), makes demands (crit) or carries anything else is not
/// ours, whatever its signature.
fn is_ours(header: &Header) -> bool {
    let Header {
        typ,
        alg,
        cty,
        jku,
        jwk,
        kid,
        x5u,
        x5c,
        x5t,
        x5t_s256,
        crit,
        enc,
        zip,
        url,
        nonce,
        extras,
    } = header;
    *alg == Algorithm::HS256
        && typ.as_deref() == Some(ACCESS_TOKEN_TYPE)
        && cty.is_none()
        && jku.is_none()
        && jwk.is_none()
        && kid.is_none()
        && x5u.is_none()
        && x5c.is_none()
        && x5t.is_none()
        && x5t_s256.is_none()
        && crit.is_none()
        && enc.is_none()
        && zip.is_none()
        && url.is_none()
        && nonce.is_none()
        && extras.inner().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, PersonName};
    use serde_json::{json, Value};

    const SECRET: &[u8] = b"an-unguessable-test-secret-of-32-bytes!!";

    fn settings(secret: &[u8], issuer: &str, ttl: u64) -> TokenSettings {
        TokenSettings {
            secret: JwtSecret::new(secret.to_vec()).unwrap(),
            issuer: issuer.to_owned(),
            ttl_seconds: ttl,
        }
    }

    fn user() -> User {
        let now = Timestamp::now();
        User {
            id: UserId::random(),
            first_name: PersonName::parse("Hello").unwrap(),
            last_name: PersonName::parse("World").unwrap(),
            email: Email::parse("hello@world.com").unwrap(),
            phones: vec![],
            created_at: now,
            last_login: now,
        }
    }

    #[test]
    fn an_issued_pair_does_not_print_its_tokens() {
        let service = TokenService::new(&settings(SECRET, "iss", 60));
        let user = user();
        let refresh = service
            .refresh_keys()
            .first(user.id, &crate::cache::SessionId::random());
        let issued = service.issue_pair(&user, &refresh, 600).unwrap();
        assert_eq!(issued.refresh_token, refresh.encode());
        let printed = format!("{issued:?}");
        assert!(!printed.contains(&issued.token), "{printed}");
        assert!(!printed.contains(&issued.refresh_token), "{printed}");
        assert!(printed.contains("redacted"), "{printed}");
    }

    #[test]
    fn access_and_refresh_tokens_never_pass_for_each_other() {
        let tokens = TokenService::new(&settings(SECRET, "auth-test", 3600));
        let user = user();
        let refresh = tokens.refresh_keys().first(user.id, &SessionId::random());
        let access = tokens.issue(&user, &refresh.session).unwrap();
        assert!(tokens.verify(&refresh.encode()).is_err());
        assert_eq!(crate::session::RefreshToken::parse(&access), None);
        let header = decode_header(&access).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    }

    fn payload(token: &str) -> Value {
        use base64::Engine as _;
        let part = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn forge(header: Value, claims: Value, secret: &[u8]) -> String {
        testkit::sign_raw(&header, &claims, secret)
    }

    #[test]
    fn issued_tokens_carry_the_user_and_verify() {
        let tokens = TokenService::new(&settings(SECRET, "auth-test", 3600));
        let user = user();
        let session = SessionId::random();
        let issued = tokens.issue(&user, &session).unwrap();
        let claims = payload(&issued);
        assert_eq!(claims["sub"], user.id.to_string());
        assert_eq!(claims["email"], "hello@world.com");
        assert_eq!(claims["firstName"], "Hello");
        assert_eq!(claims["lastName"], "World");
        assert_eq!(claims["iss"], "auth-test");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );
        assert!(!issued.contains("password"));
        let verified = tokens.verify(&issued).unwrap();
        assert_eq!(verified.user_id(), Some(user.id));
        assert_eq!(verified.session_id(), Some(session));
    }

    #[test]
    fn refuses_other_keys_issuers_and_tampering() {
        let tokens = TokenService::new(&settings(SECRET, "auth-test", 3600));
        let other_key = TokenService::new(&settings(&[7u8; 32], "auth-test", 3600));
        let other_iss = TokenService::new(&settings(SECRET, "someone-else", 3600));
        let user = user();
        assert!(tokens
            .verify(&other_key.issue(&user, &SessionId::random()).unwrap())
            .is_err());
        assert!(tokens
            .verify(&other_iss.issue(&user, &SessionId::random()).unwrap())
            .is_err());

        let token = tokens.issue(&user, &SessionId::random()).unwrap();
        let mut tampered = token.clone().into_bytes();
        let middle = token.find('.').unwrap() + 3;
        tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        for bad in [
            tampered.as_str(),
            "",
            "abc",
            "a.b.c",
            &token[..token.len() - 2],
        ] {
            assert!(
                matches!(tokens.verify(bad), Err(ApiError::InvalidSession)),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_alg_none_expired_and_future_tokens() {
        let tokens = TokenService::new(&settings(SECRET, "auth-test", 3600));
        let now = Timestamp::now().unix();
        let claims = |iat: i64, exp: i64| {
            json!({"sub": UserId::random().to_string(), "iat": iat, "exp": exp,
                   "iss": "auth-test", "sid": SessionId::random().as_str()})
        };
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none = format!(
            "{}.{}.",
            b64.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
            b64.encode(claims(now, now + 60).to_string())
        );
        assert!(tokens.verify(&none).is_err());
        let hs512 = forge(
            json!({"alg": "HS512", "typ": "at+jwt"}),
            claims(now, now + 60),
            SECRET,
        );
        assert!(tokens.verify(&hs512).is_err());

        let good = forge(
            json!({"alg": "HS256", "typ": "at+jwt"}),
            claims(now, now + 60),
            SECRET,
        );
        assert!(tokens.verify(&good).is_ok(), "the forger itself is sound");
        for junk in [
            json!({"alg": "HS256", "typ": "at+jwt", "kid": "../../dev/null"}),
            json!({"alg": "HS256", "typ": "at+jwt", "jku": "https://attacker.example/keys"}),
            json!({"alg": "HS256", "typ": "at+jwt", "x5u": "https://attacker.example/cert"}),
            json!({"alg": "HS256", "typ": "at+jwt", "jwk": {"kty": "oct", "k": "c2VjcmV0"}}),
            json!({"alg": "HS256", "typ": "at+jwt", "x5c": ["MIIBszCCAVmgAwIBAgIUQ"]}),
            json!({"alg": "HS256", "typ": "at+jwt", "x5t": "dGh1bWJwcmludA"}),
            json!({"alg": "HS256", "typ": "at+jwt", "crit": ["exp"]}),
            json!({"alg": "HS256", "typ": "at+jwt", "cty": "JWT"}),
            json!({"alg": "HS256", "typ": "JWT"}),
            json!({"alg": "HS256"}),
            json!({"alg": "HS256", "typ": "at+jwt", "b64": false}),
        ] {
            let token = forge(junk.clone(), claims(now, now + 60), SECRET);
            // The header parses, so the refusal is our check, not a parse failure.
            assert!(decode_header(&token).is_ok(), "{junk}");
            assert!(tokens.verify(&token).is_err(), "{junk}");
        }
        let mut no_iat = claims(now, now + 60);
        no_iat.as_object_mut().unwrap().remove("iat");
        assert!(tokens
            .verify(&forge(
                json!({"alg": "HS256", "typ": "at+jwt"}),
                no_iat,
                SECRET
            ))
            .is_err());
        let from_the_future = claims(now + 600, now + 900);
        assert!(tokens
            .verify(&forge(
                json!({"alg": "HS256", "typ": "at+jwt"}),
                from_the_future,
                SECRET
            ))
            .is_err());
        let expired = forge(
            json!({"alg": "HS256", "typ": "at+jwt"}),
            claims(now - 120, now - 60),
            SECRET,
        );
        assert!(tokens.verify(&expired).is_err());
        let mut future = claims(now, now + 600);
        future["nbf"] = json!(now + 300);
        assert!(tokens
            .verify(&forge(
                json!({"alg": "HS256", "typ": "at+jwt"}),
                future,
                SECRET
            ))
            .is_err());
        let mut no_exp = claims(now, 0);
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(tokens
            .verify(&forge(
                json!({"alg": "HS256", "typ": "at+jwt"}),
                no_exp,
                SECRET
            ))
            .is_err());
        assert!(tokens.verify(&"a".repeat(MAX_TOKEN_BYTES + 1)).is_err());
    }
}
