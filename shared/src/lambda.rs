//! What every function does before serving: set up logging and build the dependencies once.

use crate::error::ErrorChain;
use crate::App;

/// Logging first, so a refused configuration is reported as one clear log line. The runtime's
/// subscriber honours Lambda's log controls: JSON lines carrying the request id when
/// `LoggingConfig.LogFormat` is `JSON` (template.yaml sets it), the level from
/// `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub async fn init() -> Result<App, lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = App::from_env().await.inspect_err(|err| {
        tracing::error!(error = %ErrorChain(err), "configuration refused; not starting");
    })?;
    Ok(app)
}
