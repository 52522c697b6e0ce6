//! Lambda entry point: the shared dependencies (store, cache, tokens) are built once, and
//! nothing else: no argon2, no sign-in locks, no private key (it only verifies tokens). The handler lives in lib.rs.

use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = shared::lambda::init(shared::Warmup::Nothing, shared::config::VerifyTokens).await?;
    run(service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(me::handle(&app, request).await)
    }))
    .await
}
