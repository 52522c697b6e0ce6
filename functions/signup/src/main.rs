//! Lambda entry point: what sign-up needs is built once, the handler lives in lib.rs.

use lambda_http::{run, service_fn, Error};
use shared::config::KeyUse;
use shared::domain::Password;
use shared::password::PasswordHasher;
use shared::Warmup;
use signup::SignUp;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let hasher = PasswordHasher::new();
    let memory = hasher.prepare();
    let warmup = async move {
        tokio::join!(memory, Password::prepare_strength_check());
    };
    let app = shared::lambda::init_with(Warmup::Credentials, KeyUse::Sign, warmup).await?;
    let signup = SignUp { app: &app, hasher };
    run(service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(signup::handle(&signup, request).await)
    }))
    .await
}
