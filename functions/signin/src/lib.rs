//! `POST /signin`: checks e-mail and password, records the login, opens a session and
//! returns its token. Throttled per client address; each account (registered or not) is
//! locked after repeated failures, by a lock kept in DynamoDB that no concurrency, cache
//! flush or cache outage gets around (`shared::lockout`).

use lambda_http::{Body, Request, Response};
use shared::cache::Route;
use shared::domain::{Credentials, Email, Timestamp};
use shared::lockout::{Attempt, Outcome, Reservation};
use shared::store::UserStore;
use shared::token::IssuedToken;
use shared::{http, ApiError, App};

pub async fn handle<S: UserStore>(app: &App<S>, request: Request) -> Response<Body> {
    http::respond(200, signin(app, &request).await)
}

async fn signin<S: UserStore>(app: &App<S>, request: &Request) -> Result<IssuedToken, ApiError> {
    let Credentials { email, password } = Credentials::parse(&http::json_object(request)?)?;
    app.admit(Route::Signin, request).await?;
    // The attempt is counted before any password work, so parallel guesses cannot outrun the
    // lock; the credential read runs alongside it. A lock that cannot be reserved (DynamoDB
    // down) refuses the sign-in: the lock fails closed.
    let (reservation, stored) = tokio::join!(
        app.store.reserve_attempt(&email, &app.lockout),
        app.store.credentials(&email)
    );
    let attempt = match reservation? {
        Reservation::Granted(attempt) => attempt,
        Reservation::Locked { retry_after } => return Err(ApiError::AccountLocked { retry_after }),
    };
    let stored = match stored {
        Ok(stored) => stored,
        Err(err) => {
            finish(app, &email, attempt, Outcome::Abandoned).await;
            return Err(err.into());
        }
    };
    let (user_id, digest) = stored.map(|c| (c.user_id, c.digest)).unzip();
    // Unknown e-mails are verified against a dummy hash: same answer, same time.
    let verified = match app.hasher.verify(password, digest).await {
        Ok(verified) => verified,
        Err(err) => {
            finish(app, &email, attempt, Outcome::Abandoned).await;
            return Err(err);
        }
    };
    let Some(user_id) = user_id.filter(|_| verified) else {
        finish(app, &email, attempt, Outcome::Failed).await;
        return Err(ApiError::InvalidCredentials);
    };
    let (_, user) = tokio::join!(
        finish(app, &email, attempt, Outcome::Succeeded),
        app.store.record_login(user_id, Timestamp::now())
    );
    let Some(user) = user? else {
        tracing::warn!(%user_id, "credential record without a profile");
        return Err(ApiError::InvalidCredentials);
    };
    tracing::info!(%user_id, "user signed in");
    // Opening the session also refreshes the cached profile with the new last_login.
    app.open_session(&user).await
}

/// Records how the attempt ended. A failure to record is logged, never the client's problem:
/// the attempt stays counted (and a lock it started is held until it ends by itself).
async fn finish<S: UserStore>(app: &App<S>, email: &Email, attempt: Attempt, outcome: Outcome) {
    match app
        .store
        .finish_attempt(email, &app.lockout, attempt, outcome)
        .await
    {
        Ok(()) if outcome == Outcome::Failed && attempt.failures >= app.lockout.threshold => {
            tracing::warn!(
                failures = attempt.failures,
                lock_seconds = app.lockout.lock_millis(attempt.failures).div_ceil(1000),
                "account locked after failed sign-ins"
            );
        }
        Ok(()) => {}
        Err(err) => tracing::warn!(
            error = %shared::error::ErrorChain(&err),
            ?outcome,
            "sign-in attempt not recorded"
        ),
    }
}
