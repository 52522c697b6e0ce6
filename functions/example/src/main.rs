//! Lambda entry point of the example route: nothing to build, no key, no back-end. API
//! Gateway's JWT authorizer checked the token before this function runs.

use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::init_logging();
    run(service_fn(|request| async move {
        Ok::<_, std::convert::Infallible>(example::handle(&request))
    }))
    .await
}
