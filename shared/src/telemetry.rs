//! Logging setup. The runtime's subscriber honours Lambda's log controls: JSON lines with the
//! request id when the function's `LoggingConfig.LogFormat` is `JSON` (template.yaml sets it),
//! level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.

pub fn init() {
    lambda_http::tracing::init_default_subscriber();
}
