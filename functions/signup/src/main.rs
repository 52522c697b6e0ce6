//! Lambda entry point: what sign-up needs is built once, the handler lives in lib.rs.

use lambda_http::{run, service_fn, Error};
use shared::config::SignTokens;
use shared::password::PasswordHasher;
use shared::Warmup;
use signup::SignUp;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let hasher = PasswordHasher::new();
    let warmup = hasher.prepare_for_new_passwords();
    let app = shared::lambda::init_with(Warmup::Credentials, SignTokens, warmup).await?;
    let signup = SignUp { app: &app, hasher };
    run(service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(signup::handle(&signup, request).await)
    }))
    .await
}
