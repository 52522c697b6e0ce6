//! Lambda entry point: argon2 and the strength rules are made ready at init, as for sign-up;
//! the handlers live in lib.rs.

use account::Account;
use lambda_http::{run, service_fn, Error};
use shared::config::NoTokens;
use shared::lockout::Lockout;
use shared::password::PasswordHasher;
use shared::Warmup;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let hasher = PasswordHasher::new();
    let warmup = hasher.prepare_for_new_passwords();
    let app = shared::lambda::init_with(Warmup::Credentials, NoTokens, warmup).await?;
    let account = Account {
        app: &app,
        hasher,
        lockout: shared::lambda::setting(Lockout::from_env)?,
    };
    run(service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(account::handle(&account, request).await)
    }))
    .await
}
