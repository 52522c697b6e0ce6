//! Lambda entry point: the published keys (read with the first request) and the issuer;
//! no DynamoDB, no Redis, no private key. The handler lives in lib.rs.

use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let tokens = shared::lambda::init_verifier().await?;
    run(service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(discovery::handle(&tokens, request).await)
    }))
    .await
}
