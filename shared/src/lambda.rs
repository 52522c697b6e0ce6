//! What every function does before serving: set up logging and build the dependencies once.

use std::future::Future;

use crate::config::{ConfigError, KeyUse};
use crate::error::ErrorChain;
use crate::{App, Warmup};

/// Logging first, so a refused configuration is reported as one clear log line.
pub async fn init<K: KeyUse>(warmup: Warmup, uses: K) -> Result<App, lambda_http::Error> {
    init_with(warmup, uses, std::future::ready(())).await
}

/// [`init`], with `also` run during the init warm-up ([`App::from_env_with`]).
pub async fn init_with<K: KeyUse>(
    warmup: Warmup,
    uses: K,
    also: impl Future<Output = ()> + Send + 'static,
) -> Result<App, lambda_http::Error> {
    init_logging();
    Ok(App::from_env_with(warmup, uses, also)
        .await
        .inspect_err(refused)?)
}

/// What the discovery function holds: the published keys (read with the first request) and the
/// token settings; no store, no cache, no private key.
pub async fn init_verifier() -> Result<crate::token::TokenService, lambda_http::Error> {
    use crate::config::{self, VerifyTokens};
    init_logging();
    let load = async {
        let aws = config::aws()?;
        let settings = config::token_settings(&config::env_var)?;
        let max_age = config::key_cache(&config::env_var)?;
        let (keys, _) = VerifyTokens::token_keys(&aws, max_age)?;
        Ok::<_, ConfigError>(crate::token::TokenService::new(&settings, keys))
    };
    Ok(load.await.inspect_err(refused)?)
}

/// A setting only this function reads (after [`init`], so a refusal is logged as such).
pub fn setting<T>(read: impl FnOnce() -> Result<T, ConfigError>) -> Result<T, lambda_http::Error> {
    Ok(read().inspect_err(refused)?)
}

fn refused(err: &ConfigError) {
    tracing::error!(error = %ErrorChain(err), "configuration refused; not starting");
}

/// Honours Lambda's log controls as the runtime's own subscriber does: JSON lines (with the
/// request id span and a timestamp, without which Lambda files every line as INFO whatever its
/// level) when `AWS_LAMBDA_LOG_FORMAT` is `JSON`, as template.yaml sets it; the level from
/// `AWS_LAMBDA_LOG_LEVEL`, or `RUST_LOG` directives like `warn,shared=info`. Parsed without a
/// regex engine, which keeps one out of every binary. Public for the function that is not a
/// route (the key rotation), which builds no [`App`].
pub fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;

    let var = |name| {
        std::env::var(name)
            .ok()
            .filter(|v: &String| !v.trim().is_empty())
    };
    let filter = log_filter(var("AWS_LAMBDA_LOG_LEVEL").or_else(|| var("RUST_LOG")));
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let layer = tracing_subscriber::fmt::layer().with_target(false);
    let layer = if json {
        layer.json().boxed()
    } else {
        layer.without_time().boxed()
    };
    // Err only if a subscriber is already set (a test that initialised twice): keep it.
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}

/// The AWS SDK and its HTTP stack log requests and responses, bodies included, at DEBUG and
/// TRACE: a credential record or a secret. They stay at INFO (or quieter) whatever the level.
const NOISY_WITH_SECRETS: [&str; 6] = [
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sdk_dynamodb",
    "aws_sdk_secretsmanager",
    "hyper_util",
];

/// The filter for `directives` (`None`: INFO).
pub fn log_filter(directives: Option<String>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let parsed = directives
        .map(|text| text.to_ascii_lowercase().replace("fatal", "error"))
        .and_then(|text| text.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let cap = parsed
        .default_level()
        .unwrap_or(LevelFilter::INFO)
        .min(LevelFilter::INFO);
    NOISY_WITH_SECRETS
        .iter()
        .fold(parsed, |targets, name| targets.with_target(*name, cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn the_sdk_never_logs_below_info_whatever_the_level() {
        let debug = log_filter(Some("DEBUG".to_owned()));
        assert!(debug.would_enable("shared::store", &Level::DEBUG));
        assert!(!debug.would_enable("aws_smithy_runtime::client::orchestrator", &Level::DEBUG));
        assert!(debug.would_enable("aws_smithy_runtime::client::orchestrator", &Level::INFO));
        let warn = log_filter(Some("warn".to_owned()));
        assert!(
            !warn.would_enable("aws_smithy_runtime", &Level::INFO),
            "never louder"
        );
        let default = log_filter(None);
        assert!(default.would_enable("signin", &Level::INFO));
        assert!(!default.would_enable("signin", &Level::DEBUG));
    }
}
