//! Lambda entry point of the mailer: the table's stream invokes it with new `MAIL#` requests
//! (template.yaml), not API Gateway. The work lives in lib.rs.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use mailer::Mailer;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::init_logging();
    let mailer = shared::lambda::setting(Mailer::from_env)?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let mailer = &mailer;
        async move { Ok::<_, std::convert::Infallible>(mailer.handle(&event.payload).await) }
    }))
    .await
}
