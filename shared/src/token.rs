//! JWT access tokens: RS256 only (RFC 7518 §3.3), signed in process with the active key of the
//! rotated key set and checked against the published keys by `kid`, so services other than ours
//! (and API Gateway's JWT authorizer) can verify them from `/.well-known/jwks.json` without
//! holding anything that signs. Verification is strict (RFC 8725): the algorithm is pinned, the
//! header must be exactly ours, and `iss`, `aud`, `exp`, `nbf` and `iat` are checked. Their
//! header says `typ: at+jwt` (RFC 9068), so nothing else signed with these keys passes for an
//! access token. Refresh tokens are not JWTs at all ([`crate::session::RefreshToken`]).

use jsonwebtoken::{decode, decode_header, Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use std::sync::{Arc, OnceLock};

use crate::cache::SessionId;
use crate::config::TokenSettings;
use crate::domain::{Timestamp, User, UserId};
use crate::session::{RefreshKeys, RefreshToken};
use crate::ApiError;

pub mod document;
pub mod jwks;
pub mod keyset;
mod provider;
pub mod rs256;

use document::{DocumentError, KeyDocument};
use jwks::PublishedKeys;
use keyset::KeySet;

/// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: u64 = 5;
/// A header value longer than this is not one of our tokens; refuse it without decoding.
pub const MAX_TOKEN_BYTES: usize = 4096;

#[derive(Debug, Serialize)]
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
    aud: &'a str,
    /// What an API Gateway JWT authorizer matches a route's scopes against.
    scope: &'a str,
    jti: String,
    /// The server-side session this token belongs to; sign-out ends it.
    sid: &'a str,
}

#[derive(Serialize)]
struct JoseHeader<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
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

/// The key material a function holds, by what it does with tokens.
pub enum TokenKeys {
    /// Sign-up, sign-in and refresh: the private key set (its active key signs; every key it
    /// publishes verifies) and the key refresh tokens are sealed with.
    Sign {
        keys: KeyDocument<KeySet>,
        refresh: KeyDocument<RefreshKeys>,
    },
    /// The functions that verify tokens: the published public keys only, so nothing in its
    /// memory or its configuration can mint a token.
    Verify(KeyDocument<PublishedKeys>),
    /// The functions that handle no token (the forgotten password, the routes behind API
    /// Gateway's JWT authorizer): no key at all.
    None,
}

/// Whose tokens these are (`iss`, and where verifiers look for our keys).
pub enum Issuer {
    /// `TOKEN_ISSUER`: a custom domain, or `make dev`'s loopback URL.
    Configured(String),
    /// Unset (the deployed default): the https URL the API is first reached at, as API Gateway
    /// reports it. The template cannot hand the functions their own API's URL (the API refers
    /// to the functions, so the functions cannot refer to it), and its JWT authorizer names
    /// the same URL.
    Learnt(OnceLock<String>),
}

pub struct TokenService {
    keys: TokenKeys,
    validation: Validation,
    issuer: Issuer,
    audience: String,
    scope: String,
    ttl_seconds: u64,
}

impl TokenService {
    pub fn new(settings: &TokenSettings, keys: TokenKeys) -> Self {
        provider::install();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        Self {
            keys,
            validation,
            issuer: settings
                .issuer
                .clone()
                .map_or_else(|| Issuer::Learnt(OnceLock::new()), Issuer::Configured),
            audience: settings.audience.clone(),
            scope: settings.scope.clone(),
            ttl_seconds: settings.ttl_seconds,
        }
    }

    /// Learns the issuer from the first request that names the API's URL, when it is not
    /// configured. Every handler calls it before issuing or checking a token.
    pub fn learn_issuer(&self, request: &lambda_http::Request) {
        if let Issuer::Learnt(cell) = &self.issuer {
            if cell.get().is_none() {
                if let Some(url) = crate::http::api_url(request) {
                    let _ = cell.set(url);
                }
            }
        }
    }

    /// The issuer, once known.
    pub fn issuer(&self) -> Option<&str> {
        match &self.issuer {
            Issuer::Configured(issuer) => Some(issuer),
            Issuer::Learnt(cell) => cell.get().map(String::as_str),
        }
    }

    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Waits for the signing keys (read in the background since init): called before anything
    /// is written that only a signed token would make useful, so a key set that cannot be read
    /// is a 503 that leaves nothing behind.
    pub async fn signing_ready(&self) -> Result<(), ApiError> {
        match &self.keys {
            TokenKeys::Sign { keys, .. } => keys.current().await.map(|_| ()).map_err(Into::into),
            TokenKeys::Verify(_) | TokenKeys::None => Err(ApiError::internal(NoSigningKeys)),
        }
    }

    /// Every key a verifier should accept now (for `/.well-known/jwks.json`).
    pub async fn published(&self) -> Result<PublishedKeys, ApiError> {
        Ok(match &self.keys {
            TokenKeys::Sign { keys, .. } => keys.current().await?.published().clone(),
            TokenKeys::Verify(keys) => PublishedKeys::clone(&*keys.current().await?),
            TokenKeys::None => return Err(ApiError::internal(NoVerifyingKeys)),
        })
    }

    /// The key refresh tokens are minted and checked with; only the signing functions have it.
    /// A 503 while it cannot be read (Secrets Manager, as deployed).
    pub async fn refresh_keys(&self) -> Result<Arc<RefreshKeys>, ApiError> {
        match &self.keys {
            TokenKeys::Sign { refresh, .. } => Ok(refresh.current().await?),
            TokenKeys::Verify(_) | TokenKeys::None => Err(ApiError::internal(NoSigningKeys)),
        }
    }

    /// A new access token for `session`, with `refresh` (good for `refresh_expires_in`).
    pub async fn issue_pair(
        &self,
        user: &User,
        refresh: &RefreshToken,
        refresh_expires_in: u64,
    ) -> Result<IssuedToken, ApiError> {
        Ok(IssuedToken {
            token: self.issue(user, &refresh.session).await?,
            token_type: "Bearer",
            expires_in: self.ttl_seconds,
            refresh_token: refresh.encode(),
            refresh_expires_in,
        })
    }

    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    /// An access token for `session`, signed by the active key.
    pub async fn issue(&self, user: &User, session: &SessionId) -> Result<String, ApiError> {
        let TokenKeys::Sign { keys, .. } = &self.keys else {
            return Err(ApiError::internal(NoSigningKeys));
        };
        let issuer = self
            .issuer()
            .ok_or_else(|| ApiError::internal(UnknownIssuer))?;
        let set = keys.current().await?;
        let iat = Timestamp::now().unix();
        let claims = Claims {
            sub: user.id.to_string(),
            email: user.email.as_str(),
            first_name: user.first_name.as_str(),
            last_name: user.last_name.as_str(),
            iat,
            exp: iat.saturating_add_unsigned(self.ttl_seconds),
            iss: issuer,
            aud: &self.audience,
            scope: &self.scope,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            sid: session.as_str(),
        };
        let signing = set.signing();
        let header = JoseHeader {
            alg: "RS256",
            typ: ACCESS_TOKEN_TYPE,
            kid: signing.kid(),
        };
        rs256::compact(signing, &header, &claims).map_err(ApiError::internal)
    }

    /// Any failure (format, signature, algorithm, key, issuer, audience, expiry) is the same
    /// public error; only keys that cannot be read are a 503.
    pub async fn verify(&self, token: &str) -> Result<VerifiedClaims, ApiError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(ApiError::InvalidSession);
        }
        let header = decode_header(token).map_err(|_| ApiError::InvalidSession)?;
        let kid = ours(&header).ok_or(ApiError::InvalidSession)?;
        let key = self
            .public_key(kid)
            .await?
            .ok_or(ApiError::InvalidSession)?;
        let claims = decode::<VerifiedClaims>(token, &key.decoding_key(), &self.validation)
            .map(|data| data.claims)
            .map_err(|err| {
                tracing::debug!(reason = %err, "token refused");
                ApiError::InvalidSession
            })?;
        if Some(claims.iss.as_str()) != self.issuer() {
            return Err(ApiError::InvalidSession);
        }
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

    /// The published key named `kid`; an unknown kid prompts one (rate-limited) re-read, for a
    /// key published since the copy was read.
    async fn public_key(&self, kid: &str) -> Result<Option<rs256::PublicKey>, ApiError> {
        match &self.keys {
            TokenKeys::Sign { keys, .. } => Ok(lookup(keys, kid, KeySet::published).await?),
            TokenKeys::Verify(keys) => Ok(lookup(keys, kid, itself).await?),
            TokenKeys::None => Err(ApiError::internal(NoVerifyingKeys)),
        }
    }
}

fn itself(keys: &PublishedKeys) -> &PublishedKeys {
    keys
}

async fn lookup<T>(
    document: &KeyDocument<T>,
    kid: &str,
    published: fn(&T) -> &PublishedKeys,
) -> Result<Option<rs256::PublicKey>, DocumentError> {
    let current = document.current().await?;
    if let Some(key) = published(&current).get(kid) {
        return Ok(Some(key.clone()));
    }
    Ok(document
        .fresher()
        .await
        .and_then(|fresh| published(&fresh).get(kid).cloned()))
}

/// No `TOKEN_ISSUER` and no request naming the API's URL yet: nothing to put in `iss`.
#[derive(Debug, thiserror::Error)]
#[error("the issuer is not configured (TOKEN_ISSUER) and no request has named the API's URL")]
struct UnknownIssuer;

/// A function that only verifies was asked to sign: a wiring bug.
#[derive(Debug, thiserror::Error)]
#[error("this function holds no signing key")]
struct NoSigningKeys;

/// A function that handles no token was asked to verify one: a wiring bug.
#[derive(Debug, thiserror::Error)]
#[error("this function holds no key to verify tokens with")]
struct NoVerifyingKeys;

/// Our tokens' header is exactly `{"alg": "RS256", "typ": "at+jwt", "kid": …}`; returns the
/// kid. One that embeds or points at a key (jku, jwk, x5u, x5c, x5t), makes demands (crit) or
/// carries anything else is not ours, whatever its signature. So is any other algorithm: an
/// HS256 token "signed" with our public key as its secret never reaches a verifier.
fn ours(header: &Header) -> Option<&str> {
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
    let clean = *alg == Algorithm::RS256
        && typ.as_deref() == Some(ACCESS_TOKEN_TYPE)
        && cty.is_none()
        && jku.is_none()
        && jwk.is_none()
        && x5u.is_none()
        && x5c.is_none()
        && x5t.is_none()
        && x5t_s256.is_none()
        && crit.is_none()
        && enc.is_none()
        && zip.is_none()
        && url.is_none()
        && nonce.is_none()
        && extras.inner().is_empty();
    kid.as_deref().filter(|_| clean)
}
