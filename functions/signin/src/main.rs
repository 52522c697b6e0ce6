//! Lambda entry point: build the dependencies once, then serve requests with them.

use lambda_http::{run, service_fn, Error};
use shared::error::ErrorChain;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await.inspect_err(|err| {
        tracing::error!(error = %ErrorChain(err), "configuration refused; not starting");
    })?;
    run(service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(signin::handle(&app, request).await)
    }))
    .await
}
