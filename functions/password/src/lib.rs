//! The password routes: a forgotten one (`POST /password/forgot`, `POST /password/reset`,
//! [`reset`]) and a change by its signed-in user (`POST /password/change`, [`change`]). All
//! are throttled per client address.

pub mod change;
pub mod reset;

use lambda_http::{Body, Request, Response};
use shared::lockout::Lockout;
use shared::password::PasswordHasher;
use shared::store::{MailStore, PasswordStore, SessionStore, UserStore};
use shared::{http, App};

/// The password routes' dependencies: the shared ones, argon2 (zxcvbn is a static, in the
/// domain) and the sign-in locks, which a change's current password is counted in.
pub struct Passwords<'a, S> {
    pub app: &'a App<S>,
    pub hasher: PasswordHasher,
    pub lockout: Lockout,
}

pub async fn handle<S: UserStore + SessionStore + MailStore + PasswordStore>(
    passwords: &Passwords<'_, S>,
    request: Request,
) -> Response<Body> {
    let path = request.uri().path();
    let done = if path.ends_with("/forgot") {
        return match reset::forgot(passwords.app, &request).await {
            Ok(()) => http::json(202, &reset::Requested::MESSAGE),
            Err(err) => http::error(&err),
        };
    } else if path.ends_with("/change") {
        passwords.app.tokens.learn_issuer(&request);
        change::change(passwords, &request).await
    } else {
        reset::reset(passwords, &request).await
    };
    match done {
        Ok(()) => http::empty(204),
        Err(err) => http::error(&err),
    }
}
