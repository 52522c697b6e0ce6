//! The signed-in user's own account: a new password (`POST /password/change`, [`change`]) and
//! the account's end (`DELETE /me`, [`delete`]). Both routes sit behind API Gateway's JWT
//! authorizer, which checks the access token before this function runs, so the function
//! carries no token verifier; it checks what the authorizer cannot know (that the token's
//! session is still live) and the password, as sign-in checks it. Throttled per client
//! address, as the other password routes.

pub mod change;
mod confirm;
pub mod delete;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use shared::cache::{Route, SessionId};
use shared::domain::UserId;
use shared::error::FieldProblem;
use shared::lockout::Lockout;
use shared::password::PasswordHasher;
use shared::store::{PasswordStore, SessionStore, UserStore};
use shared::{http, ApiError, App};

/// The account routes' dependencies: the shared ones, argon2 (zxcvbn is a static, in the
/// domain) and the sign-in locks, which the password they are given is counted in.
pub struct Account<'a, S> {
    pub app: &'a App<S>,
    pub hasher: PasswordHasher,
    pub lockout: Lockout,
}

pub async fn handle<S: UserStore + SessionStore + PasswordStore>(
    account: &Account<'_, S>,
    request: Request,
) -> Response<Body> {
    let done = if request.method() == Method::DELETE {
        delete::delete(account, &request).await
    } else {
        change::change(account, &request).await
    };
    match done {
        Ok(()) => http::empty(204),
        Err(err) => http::error(&err),
    }
}

/// The user and session of the access token the authorizer let through, once the client
/// address is admitted and the session is known to be live (Redis, or the table when Redis
/// does not know it; 503 when Redis is down: fail closed).
async fn signed_in<S: UserStore + SessionStore>(
    app: &App<S>,
    request: &Request,
) -> Result<(UserId, SessionId), ApiError> {
    app.admit(Route::Password, request).await?;
    let claims = http::authorizer_claims(request).ok_or(ApiError::MissingToken)?;
    let user = claims.get("sub").and_then(|sub| UserId::parse(sub));
    let session = claims.get("sid").and_then(|sid| SessionId::parse(sid));
    let (Some(user), Some(session)) = (user, session) else {
        return Err(ApiError::InvalidSession);
    };
    app.check_session(user, &session).await?;
    Ok((user, session))
}

const NOT_THE_PASSWORD: &str = "is not the account's password";

/// A 400 naming the field whose password was not the account's (or not acceptable).
fn field(name: &str, reason: &'static str) -> ApiError {
    ApiError::InvalidFields(vec![FieldProblem::new(name, reason)])
}
