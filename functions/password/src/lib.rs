//! The forgotten password: `POST /password/forgot` and `POST /password/reset` ([`reset`]).
//! Both are throttled per client address.

pub mod reset;

use lambda_http::{Body, Request, Response};
use shared::password::PasswordHasher;
use shared::store::{MailStore, UserStore};
use shared::{http, App};

/// The password routes' dependencies: the shared ones and argon2 (zxcvbn is a static, in the
/// domain).
pub struct Passwords<'a, S> {
    pub app: &'a App<S>,
    pub hasher: PasswordHasher,
}

pub async fn handle<S: UserStore + MailStore>(
    passwords: &Passwords<'_, S>,
    request: Request,
) -> Response<Body> {
    if request.uri().path().ends_with("/forgot") {
        return match reset::forgot(passwords.app, &request).await {
            Ok(()) => http::json(202, &reset::Requested::MESSAGE),
            Err(err) => http::error(&err),
        };
    }
    match reset::reset(passwords, &request).await {
        Ok(()) => http::empty(204),
        Err(err) => http::error(&err),
    }
}
