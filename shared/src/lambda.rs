//! What every function does before serving: set up logging and build the dependencies once.

use std::future::Future;

use crate::error::ErrorChain;
use crate::{App, Warmup};

/// Logging first, so a refused configuration is reported as one clear log line.
pub async fn init(warmup: Warmup) -> Result<App, lambda_http::Error> {
    init_with(warmup, std::future::ready(())).await
}

/// [`init`], with `also` run during the init warm-up ([`App::from_env_with`]).
pub async fn init_with(
    warmup: Warmup,
    also: impl Future<Output = ()>,
) -> Result<App, lambda_http::Error> {
    init_logging();
    let app = App::from_env_with(warmup, also).await.inspect_err(|err| {
        tracing::error!(error = %ErrorChain(err), "configuration refused; not starting");
    })?;
    Ok(app)
}

/// Honours Lambda's log controls as the runtime's own subscriber does: JSON lines (with the
/// request id span) when `AWS_LAMBDA_LOG_FORMAT` is `JSON`, as template.yaml sets it; the level
/// from `AWS_LAMBDA_LOG_LEVEL`, or `RUST_LOG` directives like `warn,shared=info`. Parsed
/// without a regex engine, which keeps one out of every binary.
fn init_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;

    let var = |name| {
        std::env::var(name)
            .ok()
            .filter(|v: &String| !v.trim().is_empty())
    };
    let filter = var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| var("RUST_LOG"))
        .map(|text| text.to_ascii_lowercase().replace("fatal", "error"))
        .and_then(|text| text.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time();
    let layer = if json {
        layer.json().boxed()
    } else {
        layer.boxed()
    };
    // Err only if a subscriber is already set (a test that initialised twice): keep it.
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}
