//! Lambda entry point: dependencies are built once, the handler lives in lib.rs.

use lambda_http::{run, service_fn, Error};
use shared::domain::Password;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let warmup = Password::prepare_strength_check();
    let app = shared::lambda::init_with(shared::Warmup::Credentials, warmup).await?;
    run(service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(signup::handle(&app, request).await)
    }))
    .await
}
