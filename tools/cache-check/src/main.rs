//! `cache-check <name>`: is the deployed cache available, and where is it?
//! Exit 0 when available, 1 when not (yet), 2 when the control plane could not be asked.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let Some(name) = std::env::args().nth(1) else {
        eprintln!("usage: cache-check <serverless cache name>   (the stack's CacheName output)");
        return ExitCode::from(2);
    };
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_elasticache::Client::new(&aws);
    let caches = match client
        .describe_serverless_caches()
        .serverless_cache_name(&name)
        .send()
        .await
    {
        Ok(output) => output.serverless_caches.unwrap_or_default(),
        Err(err) => {
            eprintln!(
                "could not ask ElastiCache: {}",
                aws_sdk_elasticache::error::DisplayErrorContext(err)
            );
            return ExitCode::from(2);
        }
    };
    match cache_check::assess(&name, &caches) {
        Ok(ready) => {
            println!("{name}: available ({})", ready.engine);
            println!("REDIS_URL={}", ready.redis_url());
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("{name}: {problem}");
            ExitCode::from(1)
        }
    }
}
