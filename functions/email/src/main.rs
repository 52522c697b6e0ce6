//! Lambda entry point: the shared dependencies, nothing else (no argon2, no private key).
//! The handler lives in lib.rs.

use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = shared::lambda::init(shared::Warmup::Nothing, shared::config::NoTokens).await?;
    run(service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(email::handle(&app, request).await)
    }))
    .await
}
