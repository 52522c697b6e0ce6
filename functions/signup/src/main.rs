//! Lambda entry point: dependencies are built once, the handler lives in lib.rs.

use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = shared::lambda::init(shared::Warmup::Registration).await?;
    run(service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(signup::handle(&app, request).await)
    }))
    .await
}
