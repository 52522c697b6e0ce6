//! `make bench`: starts each function's `bootstrap` the way Lambda does, against a loopback
//! Runtime API and real back-ends (moto_server, redis-server), and measures init time, the
//! first invocation, warm latency, CPU per request and peak RSS, next to a hello-world
//! `lambda_runtime` binary built with the same profile (the floor).
//!
//! Usage: bench [--profile release|debug] [--fresh N] [--warm N] [--write DIR]

#![allow(clippy::print_stdout)]

mod process;
mod report;
mod runtime_api;
mod workload;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use runtime_api::{Outcome, RuntimeApi};
use testkit::TestEnv;
use workload::Workload;

/// A function under test: its binary, the memory size template.yaml gives it.
struct Target {
    name: &'static str,
    memory_mb: u32,
}

const TARGETS: [Target; 5] = [
    Target {
        name: "hello",
        memory_mb: 128,
    },
    Target {
        name: "signup",
        memory_mb: 1024,
    },
    Target {
        name: "signin",
        memory_mb: 1024,
    },
    Target {
        name: "me",
        memory_mb: 256,
    },
    Target {
        name: "signout",
        memory_mb: 256,
    },
];

struct Options {
    profile: String,
    fresh: usize,
    warm: usize,
    write: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        profile: "release".into(),
        fresh: 20,
        warm: 1000,
        write: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--profile" => options.profile = value.clone(),
            "--fresh" => options.fresh = number()?.max(1),
            "--warm" => options.warm = number()?.max(1),
            "--write" => options.write = Some(PathBuf::from(&value)),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("bench: {err}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let options = options()?;
    let bin_dir = testkit::root().join("target").join(&options.profile);
    let env = backends().await;
    let redis_url = env.redis.as_ref().map(|r| r.url()).unwrap_or_default();
    let user = env.seed_user("bench@example.com", workload::PASSWORD).await;
    let mut results = Vec::new();
    for target in &TARGETS {
        let mut workload = match target.name {
            "hello" => Workload::Hello,
            "signup" => Workload::Signup { count: 0 },
            "signin" => Workload::Signin {
                email: user.email.to_string(),
            },
            "me" => Workload::Me {
                token: env.token_for(&user).await,
            },
            _ => Workload::Signout {
                user: Box::new(user.clone()),
            },
        };
        let binary = bin_dir.join(target.name);
        let vars = function_env(target, &env.table, &redis_url);
        // moto deep-copies the table on every transaction, so each sign-up gets slower as
        // sign-ups fill it, until its answers outlast the SDK's 2 s attempt timeout.
        let warm = if target.name == "signup" {
            options.warm.min(SIGNUP_WARM_CAP)
        } else {
            options.warm
        };
        eprintln!(
            "bench: {} ({} fresh processes, {warm} warm invocations)",
            target.name, options.fresh
        );
        let figures = measure(&binary, &vars, options.fresh, warm, &env, &mut workload)
            .await
            .map_err(|e| format!("{}: {e}", target.name))?;
        results.push(report::Row::new(target.name, figures));
    }
    let backend = report::backend_share(&env, &user).await;
    let text = report::markdown(
        &results,
        &backend,
        &options.profile,
        options.fresh,
        options.warm,
    );
    println!("{text}");
    if let Some(dir) = &options.write {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("results.md"), &text).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("results.svg"), report::svg(&results))
            .map_err(|e| e.to_string())?;
        eprintln!("bench: wrote {}/results.md and results.svg", dir.display());
    }
    Ok(())
}

/// moto_server and redis-server on free loopback ports, a fresh table, and an in-process app
/// to seed users and open sessions with.
async fn backends() -> TestEnv {
    let redis = testkit::redis::RedisServer::start();
    let mut env = testkit::env_with(&redis.url(), &[]).await;
    env.redis = Some(redis);
    env
}

/// The environment Lambda gives a function, plus what template.yaml sets; the per-address
/// rate limit is lifted because every invocation comes from one address.
fn function_env(target: &Target, table: &str, redis_url: &str) -> Vec<(String, String)> {
    let moto = &testkit::moto::server().endpoint;
    [
        ("AWS_LAMBDA_FUNCTION_NAME", target.name),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            &target.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto),
        ("TABLE_NAME", table),
        ("REDIS_URL", redis_url),
        ("JWT_SECRET", testkit::TEST_SECRET),
        ("TOKEN_ISSUER", "testkit"),
        ("RATE_LIMIT_CAPACITY", "1000000"),
        ("RATE_LIMIT_REFILL_PER_SECOND", "1000000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// What one function measured.
pub struct Figures {
    pub init: Vec<Duration>,
    pub first: Vec<Duration>,
    pub warm: Vec<Duration>,
    pub cpu_per_warm: Duration,
    pub peak_rss_kb: u64,
}

const LIMIT: Duration = Duration::from_secs(30);
pub const SIGNUP_WARM_CAP: usize = 200;

async fn measure(
    binary: &std::path::Path,
    vars: &[(String, String)],
    fresh: usize,
    warm: usize,
    env: &TestEnv,
    workload: &mut Workload,
) -> Result<Figures, String> {
    let mut figures = Figures {
        init: Vec::new(),
        first: Vec::new(),
        warm: Vec::new(),
        cpu_per_warm: Duration::ZERO,
        peak_rss_kb: 0,
    };
    for round in 0..fresh {
        let api = RuntimeApi::start().await.map_err(|e| e.to_string())?;
        let started = Instant::now();
        let process = process::Function::spawn(binary, vars, api.port)?;
        let ready = api
            .ready(LIMIT)
            .await
            .map_err(|e| format!("{e}; its log:\n{}", process.log_tail()))?;
        figures.init.push(ready.duration_since(started));

        let event = workload.next(env).await?;
        let sent = Instant::now();
        check(api.invoke(event, LIMIT).await?, workload)?;
        figures.first.push(sent.elapsed());

        if round + 1 == fresh {
            let cpu_before = process.cpu_time();
            for _ in 0..warm {
                let event = workload.next(env).await?;
                let sent = Instant::now();
                check(api.invoke(event, LIMIT).await?, workload)?;
                figures.warm.push(sent.elapsed());
            }
            let cpu = process.cpu_time().saturating_sub(cpu_before);
            figures.cpu_per_warm = cpu / u32::try_from(warm).unwrap_or(u32::MAX);
            figures.peak_rss_kb = process.peak_rss_kb();
        }
    }
    Ok(figures)
}

fn check(outcome: Outcome, workload: &Workload) -> Result<(), String> {
    let body = match outcome {
        Outcome::Response(body) => body,
        Outcome::Error(body) => {
            return Err(format!(
                "invocation error: {}",
                String::from_utf8_lossy(&body)
            ))
        }
    };
    let Some(expected) = workload.expected_status() else {
        return Ok(());
    };
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    if value["statusCode"].as_u64() != Some(expected) {
        return Err(format!("expected {expected}, got {value}"));
    }
    Ok(())
}
