//! `POST /signin`: checks e-mail and password, records the login, opens a session and
//! returns its access and refresh tokens. Throttled per client address; each account (registered or not) is
//! locked after repeated failures (and, if configured, each account from one address sooner),
//! by locks kept in DynamoDB that no concurrency, cache flush or cache outage gets around
//! (`shared::lockout`).

use lambda_http::{Body, Request, Response};
use shared::cache::Route;
use shared::domain::{Credentials, Timestamp};
use shared::lockout::{Attempts, Lockout, Outcome};
use shared::password::PasswordHasher;
use shared::store::{SessionStore, UserStore};
use shared::token::IssuedToken;
use shared::{http, ApiError, App};

/// Sign-in's dependencies: the shared ones, argon2 and the account locks.
pub struct SignIn<'a, S> {
    pub app: &'a App<S>,
    pub hasher: PasswordHasher,
    pub lockout: Lockout,
    /// `REQUIRE_VERIFIED_EMAIL`: the right password is not enough without a verified address.
    pub require_verified: bool,
}

pub async fn handle<S: UserStore + SessionStore>(
    signin: &SignIn<'_, S>,
    request: Request,
) -> Response<Body> {
    signin.app.tokens.learn_issuer(&request);
    http::respond(200, sign_in(signin, &request).await)
}

async fn sign_in<S: UserStore + SessionStore>(
    SignIn {
        app,
        hasher,
        lockout,
        require_verified,
    }: &SignIn<'_, S>,
    request: &Request,
) -> Result<IssuedToken, ApiError> {
    let Credentials { email, password } = Credentials::parse(&http::json_object(request)?)?;
    app.admit(Route::Signin, request).await?;
    // The attempt is counted before any password work, so parallel guesses cannot outrun the
    // lock; the credential read runs alongside. A lock that cannot be reserved (DynamoDB
    // down) refuses the sign-in: the lock fails closed.
    let (attempt, stored) = tokio::join!(
        Attempts::reserve(app, lockout, &email, http::client_ip(request)),
        app.store.credentials(&email)
    );
    let attempt = attempt?;
    let stored = match stored {
        Ok(stored) => stored,
        Err(err) => {
            attempt.finish(app, Outcome::Abandoned).await;
            return Err(err.into());
        }
    };
    let (user_id, digest) = stored.map(|c| (c.user_id, c.digest)).unzip();
    // Unknown e-mails are verified against a dummy hash: same answer, same time.
    let verified = match hasher.verify(password, digest).await {
        Ok(verified) => verified,
        Err(err) => {
            attempt.finish(app, Outcome::Abandoned).await;
            return Err(err);
        }
    };
    let Some(user_id) = user_id.filter(|_| verified) else {
        attempt.finish(app, Outcome::Failed).await;
        return Err(ApiError::InvalidCredentials);
    };
    let (_, user) = tokio::join!(
        attempt.finish(app, Outcome::Succeeded),
        app.store.record_login(user_id, Timestamp::now())
    );
    let Some(user) = user? else {
        tracing::warn!(%user_id, "credential record without a profile");
        return Err(ApiError::InvalidCredentials);
    };
    // Only after the password proved who is asking: nobody learns an address's state.
    if *require_verified && !user.email_verified.is_verified() {
        tracing::info!(%user_id, "sign-in refused: address not verified");
        return Err(ApiError::EmailNotVerified);
    }
    tracing::info!(%user_id, "user signed in");
    // Opening the session also refreshes the cached profile with the new last_login.
    app.open_session(&user, http::client_info(request)).await
}
