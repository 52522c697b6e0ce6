//! Lambda entry point: argon2 and the strength rules are made ready at init, as for
//! sign-up; the handler lives in lib.rs.

use lambda_http::{run, service_fn, Error};
use password::Passwords;
use shared::config::NoTokens;
use shared::password::PasswordHasher;
use shared::Warmup;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let hasher = PasswordHasher::new();
    let warmup = hasher.prepare_for_new_passwords();
    let app = shared::lambda::init_with(Warmup::Credentials, NoTokens, warmup).await?;
    let passwords = Passwords { app: &app, hasher };
    run(service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(password::handle(&passwords, request).await)
    }))
    .await
}
