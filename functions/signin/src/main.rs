//! Lambda entry point: what sign-in needs is built once, the handler lives in lib.rs.

use lambda_http::{run, service_fn, Error};
use shared::config::SignTokens;
use shared::lockout::Lockout;
use shared::password::PasswordHasher;
use shared::Warmup;
use signin::SignIn;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let hasher = PasswordHasher::new();
    let app = shared::lambda::init_with(Warmup::Credentials, SignTokens, hasher.prepare()).await?;
    let signin = SignIn {
        app: &app,
        hasher,
        lockout: shared::lambda::setting(Lockout::from_env)?,
        require_verified: shared::lambda::setting(shared::config::require_verified_email)?,
    };
    run(service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(signin::handle(&signin, request).await)
    }))
    .await
}
