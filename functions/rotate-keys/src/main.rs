//! Lambda entry point of the key set's rotation function: Secrets Manager invokes it, not
//! API Gateway. The steps live in lib.rs.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use rotate_keys::{Event, Rotator};
use shared::config::{self, ConfigError};
use shared::error::ErrorChain;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::init_logging();
    let rotator = shared::lambda::setting(|| {
        let aws = config::aws()?;
        let public_keys =
            config::env_var("PUBLIC_KEYS_ARN").ok_or(ConfigError::Missing("PUBLIC_KEYS_ARN"))?;
        Ok(Rotator {
            secrets: config::secrets_manager(&aws),
            public_keys,
            fresh: rotate_keys::generate,
        })
    })?;
    run(service_fn(|event: LambdaEvent<Event>| {
        let rotator = &rotator;
        async move {
            let step = event.payload.step;
            rotator
                .rotate(&event.payload)
                .await
                .map_err(|err| -> Error {
                    tracing::error!(?step, error = %ErrorChain(&err), "rotation step failed");
                    // Secrets Manager records the failure and retries the step.
                    Box::new(err)
                })
        }
    }))
    .await
}
