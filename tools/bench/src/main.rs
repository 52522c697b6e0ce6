//! `make bench`: starts each function's `bootstrap` the way Lambda does, against a loopback
//! Runtime API and real back-ends (moto_server, redis-server), and measures init time, the
//! first invocation, warm latency, CPU per request and peak RSS, next to a hello-world
//! `lambda_runtime` binary built with the same profile (the floor).
//!
//! Usage: bench [--profile release|debug] [--fresh N] [--warm N] [--only a,b] [--write DIR]
//!        bench --arm64 SAM_BUILD_DIR [--warm N]
//!
//! `--arm64` runs the bootstraps `sam build` made (what is deployed) under qemu-user instead:
//! init and `1 + N` checked invocations each, a smoke run; emulated timings are not figures.

#![allow(clippy::print_stdout)]

mod cpu;
mod network;
mod process;
mod report;
mod rotation;
mod runtime_api;
mod workload;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use runtime_api::{Outcome, RuntimeApi};
use testkit::TestEnv;
use workload::Workload;

/// A function under test: its binary, the memory size template.yaml gives it, where its
/// JWT secret comes from and how far away AWS is.
struct Target {
    name: &'static str,
    binary: &'static str,
    memory_mb: u32,
    secret: Secret,
    aws: Distance,
}

#[derive(Clone, Copy, PartialEq)]
enum Distance {
    /// moto on loopback over plain HTTP: what is measured is the function's own cost.
    Loopback,
    /// moto over TLS with a simulated round trip ([`network`]), `INIT_WARMUP` on or off.
    Remote { warmup: bool },
}

#[derive(Clone, Copy, PartialEq)]
enum Secret {
    /// The refresh-token key from `REFRESH_SECRET`: only the key documents come from Secrets
    /// Manager (moto), the signing set during a signer's init, the published keys with a
    /// verifier's first token.
    Env,
    /// `REFRESH_SECRET_ARN` as well, read in the background from init on, as deployed.
    Manager,
}

const fn target(
    name: &'static str,
    binary: &'static str,
    memory_mb: u32,
    secret: Secret,
) -> Target {
    Target {
        name,
        binary,
        memory_mb,
        secret,
        aws: Distance::Loopback,
    }
}

/// A function as deployed (key from Secrets Manager) with AWS a round trip away.
const fn remote(name: &'static str, binary: &'static str, warmup: bool) -> Target {
    Target {
        aws: Distance::Remote { warmup },
        ..target(name, binary, 1024, Secret::Manager)
    }
}

const TARGETS: [Target; 20] = [
    target("hello", "hello", 128, Secret::Env),
    target("signup", "signup", 1024, Secret::Env),
    target("signin", "signin", 1024, Secret::Env),
    target("me", "me", 256, Secret::Env),
    target("signout", "signout", 256, Secret::Env),
    target("validate", "validate", 256, Secret::Env),
    target("refresh", "refresh", 256, Secret::Env),
    target("sessions", "sessions", 256, Secret::Env),
    target("refresh+secret", "refresh", 256, Secret::Manager),
    target("discovery", "discovery", 128, Secret::Env),
    target("example", "example", 128, Secret::Env),
    target("rotate-keys", "rotate-keys", 512, Secret::Env),
    target("email", "email", 256, Secret::Env),
    target("mailer", "mailer", 256, Secret::Env),
    target("password", "password", 1024, Secret::Env),
    target("account", "account", 1024, Secret::Env),
    remote(report::REMOTE[0].warm, "signin", true),
    remote(report::REMOTE[0].cold, "signin", false),
    remote(report::REMOTE[1].warm, "signup", true),
    remote(report::REMOTE[1].cold, "signup", false),
];

/// The remote rows measure their first invocations; a short warm run is enough for them.
const REMOTE_WARM_CAP: usize = 100;

struct Options {
    profile: String,
    fresh: usize,
    warm: usize,
    write: Option<PathBuf>,
    /// Functions to measure besides the floor; all when empty.
    only: Vec<String>,
    /// `sam build`'s output: smoke-run its arm64 bootstraps under qemu-user instead.
    arm64: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        profile: "release".into(),
        fresh: 50,
        warm: 1000,
        write: None,
        only: Vec::new(),
        arm64: None,
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
            "--only" => options.only = value.split(',').map(str::to_owned).collect(),
            "--arm64" => options.arm64 = Some(PathBuf::from(&value)),
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
    let secrets = store_secret().await?;
    let rotation = rotation::prepare().await?;
    // The mailer's sender, as the stack's SES identity.
    let ses = testkit::moto::ses_client(&testkit::moto::server().endpoint).await;
    if let Err(err) = ses
        .create_email_identity()
        .email_identity(workload::MAIL_FROM)
        .send()
        .await
    {
        return Err(format!("moto's SES identity: {err}"));
    }
    if let Some(dir) = &options.arm64 {
        let subjects = TARGETS
            .iter()
            .filter(|t| t.name != "hello" && t.aws == Distance::Loopback)
            .enumerate()
            .map(|(series, target)| Subject {
                target,
                binary: dir.join(sam_function(target.binary)).join("bootstrap"),
                launch: process::Launch::Qemu,
                vars: function_env(target, &env.table, &redis_url, &secrets, None)
                    .into_iter()
                    .chain(rotation.vars(target.binary))
                    .collect(),
                workload: Workload::new(target.binary, series, &user, &rotation.event),
                figures: Figures::default(),
            });
        return smoke(subjects, &env, options.warm).await;
    }
    let chosen = |t: &&Target| {
        t.name == "hello" || options.only.is_empty() || options.only.iter().any(|o| o == t.name)
    };
    let remote = if TARGETS
        .iter()
        .filter(chosen)
        .any(|t| t.aws != Distance::Loopback)
    {
        Some(network::RemoteAws::start(&user, workload::PASSWORD).await?)
    } else {
        None
    };
    let mut subjects = Vec::new();
    for (series, target) in TARGETS.iter().filter(chosen).enumerate() {
        subjects.push(Subject {
            target,
            binary: bin_dir.join(target.binary),
            launch: process::Launch::Native,
            vars: function_env(target, &env.table, &redis_url, &secrets, remote.as_ref())
                .into_iter()
                .chain(rotation.vars(target.binary))
                .collect(),
            workload: Workload::new(target.binary, series, &user, &rotation.event),
            figures: Figures::default(),
        });
    }

    // Cold starts round-robin over the functions, the floor included: this machine's speed
    // drifts (a shared VM), and interleaving gives every function the same drift, so the
    // ratios to the floor hold even when the milliseconds move.
    eprintln!(
        "bench: {} fresh processes of each of {} functions, interleaved",
        options.fresh,
        subjects.len()
    );
    for _ in 0..options.fresh {
        for subject in &mut subjects {
            let (init, first) = subject.cold_start(&env).await?;
            subject.figures.init.push(init);
            subject.figures.first.push(first);
        }
    }
    let mut results = Vec::new();
    for mut subject in subjects {
        // moto deep-copies the table on every transaction, so each sign-up gets slower as
        // sign-ups fill it, until its answers outlast the SDK's 2 s attempt timeout.
        let warm = match subject.target {
            t if t.aws != Distance::Loopback => options.warm.min(REMOTE_WARM_CAP),
            t if t.name == "signup" => options.warm.min(SIGNUP_WARM_CAP),
            _ => options.warm,
        };
        eprintln!("bench: {} ({warm} warm invocations)", subject.target.name);
        subject.warm_run(&env, warm).await?;
        results.push(report::Row::new(
            subject.target.name,
            subject.target.binary,
            subject.figures,
            subject.target.aws != Distance::Loopback,
        ));
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

/// `--arm64`: each bootstrap through init and `1 + warm` invocations whose answers are
/// checked; prints what it took under emulation.
async fn smoke(
    subjects: impl Iterator<Item = Subject>,
    env: &TestEnv,
    warm: usize,
) -> Result<(), String> {
    println!("| arm64 bootstrap (qemu-user) | init | first invocation | warm p50 |");
    println!("|---|---|---|---|");
    for mut subject in subjects {
        let (init, first) = subject.cold_start(env).await?;
        subject.warm_run(env, warm).await?;
        let mut times = subject.figures.warm.clone();
        times.sort();
        let p50 = times.get(times.len() / 2).copied().unwrap_or_default();
        println!(
            "| {} | {init:.1?} | {first:.1?} | {p50:.1?} (n={}) |",
            subject.target.name,
            times.len()
        );
    }
    Ok(())
}

/// The logical id `sam build` names a function's directory after: `me` → `MeFunction`.
fn sam_function(binary: &str) -> String {
    if binary == "rotate-keys" {
        return "KeyRotationFunction".to_owned();
    }
    let mut chars = binary.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase());
    first
        .into_iter()
        .chain(chars)
        .chain("Function".chars())
        .collect()
}

/// moto_server and redis-server on free loopback ports, a fresh table, and an in-process app
/// to seed users and open sessions with.
async fn backends() -> TestEnv {
    let redis = testkit::redis::RedisServer::start();
    let mut env = testkit::env_with(&redis.url(), &[]).await;
    env.redis = Some(redis);
    env
}

/// The secrets in moto's Secrets Manager, as the deployed stack keeps them.
async fn store_secret() -> Result<Secrets, String> {
    let aws = shared::config::aws().map_err(|err| err.to_string())?;
    let config = aws_sdk_secretsmanager::config::Builder::from(&aws)
        .endpoint_url(&testkit::moto::server().endpoint)
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "bench", "bench", None, None, "bench",
        ))
        .build();
    create_secret(&aws_sdk_secretsmanager::Client::from_conf(config)).await
}

/// The ARNs of the three secrets a function may read.
pub struct Secrets {
    pub refresh: String,
    pub signing: String,
    pub public: String,
}

/// The refresh-token key, the signing key set (the test key, active) and its published half in
/// the Secrets Manager `client` talks to: the tokens the workloads bring (signed by the test
/// apps with the same key) verify in every function.
async fn create_secret(client: &aws_sdk_secretsmanager::Client) -> Result<Secrets, String> {
    use shared::token::keyset::Role;
    let id = uuid::Uuid::new_v4().simple();
    let published = testkit::test_key_set().published().to_json();
    let stored = testkit::stored_set(&[(Role::Active, testkit::test_key_pem())]);
    let mut arns = Vec::new();
    for (name, value) in [
        ("refresh", testkit::TEST_SECRET),
        ("signing-keys", stored.as_str()),
        ("public-keys", published.as_str()),
    ] {
        let output = client
            .create_secret()
            .name(format!("bench-{name}-{id}"))
            .secret_string(value)
            .send()
            .await
            .map_err(|e| format!("creating the secret in moto: {e:?}"))?;
        arns.push(
            output
                .arn
                .ok_or_else(|| "moto returned no secret ARN".to_owned())?,
        );
    }
    let public = arns.pop().unwrap_or_default();
    let signing = arns.pop().unwrap_or_default();
    let refresh = arns.pop().unwrap_or_default();
    Ok(Secrets {
        refresh,
        signing,
        public,
    })
}

/// The environment Lambda gives a function, plus what template.yaml sets; the per-address
/// rate limit is lifted because every invocation comes from one address.
fn function_env(
    target: &Target,
    table: &str,
    redis_url: &str,
    secrets: &Secrets,
    remote: Option<&network::RemoteAws>,
) -> Vec<(String, String)> {
    let moto = &testkit::moto::server().endpoint;
    let (table, secrets) = match (target.aws, remote) {
        (Distance::Remote { .. }, Some(remote)) => (remote.table.as_str(), &remote.arns),
        _ => (table, secrets),
    };
    let refresh = match target.secret {
        Secret::Env => ("REFRESH_SECRET", testkit::TEST_SECRET),
        Secret::Manager => ("REFRESH_SECRET_ARN", secrets.refresh.as_str()),
    };
    let secret = [
        refresh,
        ("SIGNING_KEYS_ARN", secrets.signing.as_str()),
        ("PUBLIC_KEYS_ARN", secrets.public.as_str()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto),
    ];
    [
        ("AWS_LAMBDA_FUNCTION_NAME", target.binary),
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
        ("AWS_ENDPOINT_URL_SESV2", moto),
        ("MAIL_FROM", workload::MAIL_FROM),
        ("TABLE_NAME", table),
        ("REDIS_URL", redis_url),
        ("TOKEN_ISSUER", "testkit"),
        ("RATE_LIMIT_CAPACITY", "1000000"),
        ("RATE_LIMIT_REFILL_PER_SECOND", "1000000"),
    ]
    .iter()
    .chain(secret.iter().filter(|(name, _)| !name.is_empty()))
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect::<std::collections::BTreeMap<_, _>>()
    .into_iter()
    // Later entries replace earlier ones: a remote AWS replaces the loopback endpoints.
    .chain(remote_vars(target, remote))
    .collect::<std::collections::BTreeMap<_, _>>()
    .into_iter()
    .collect()
}

fn remote_vars(target: &Target, remote: Option<&network::RemoteAws>) -> Vec<(String, String)> {
    let (Distance::Remote { warmup }, Some(remote)) = (target.aws, remote) else {
        return Vec::new();
    };
    let switch = if warmup { "on" } else { "off" };
    remote
        .vars()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain([("INIT_WARMUP".to_owned(), switch.to_owned())])
        .collect()
}

/// What one function measured.
#[derive(Default)]
pub struct Figures {
    pub init: Vec<Duration>,
    pub first: Vec<Duration>,
    pub warm: Vec<Duration>,
    pub cpu_per_warm: Duration,
    pub peak_rss_kb: u64,
}

const LIMIT: Duration = Duration::from_secs(30);
pub const SIGNUP_WARM_CAP: usize = 200;

/// One function under measurement: how to start it, what to send, what it measured.
struct Subject {
    target: &'static Target,
    binary: PathBuf,
    launch: process::Launch,
    vars: Vec<(String, String)>,
    workload: Workload,
    figures: Figures,
}

impl Subject {
    /// A fresh process through init and one invocation; returns the process and its API.
    async fn start(&mut self, env: &TestEnv) -> Result<Started, String> {
        let name = self.target.name;
        let api = RuntimeApi::start().await.map_err(|e| e.to_string())?;
        let started = Instant::now();
        let process = process::Function::spawn(&self.binary, self.launch, &self.vars, api.port)?;
        let ready = api
            .ready(LIMIT)
            .await
            .map_err(|e| format!("{name}: {e}; its log:\n{}", process.log_tail()))?;
        let init = ready.duration_since(started);
        let event = self.workload.next(env).await?;
        let sent = Instant::now();
        check(api.invoke(event, LIMIT).await?, &self.workload)
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Started {
            api,
            process,
            init,
            first: sent.elapsed(),
        })
    }

    /// Init (exec to the first `next` poll) and the first invocation of a fresh process.
    async fn cold_start(&mut self, env: &TestEnv) -> Result<(Duration, Duration), String> {
        let started = self.start(env).await?;
        Ok((started.init, started.first))
    }

    /// `warm` invocations of one process after its first, with its CPU time and peak RSS.
    async fn warm_run(&mut self, env: &TestEnv, warm: usize) -> Result<(), String> {
        let name = self.target.name;
        let Started { api, process, .. } = self.start(env).await?;
        let cpu_before = process.cpu_time();
        for _ in 0..warm {
            let event = self.workload.next(env).await?;
            let sent = Instant::now();
            check(api.invoke(event, LIMIT).await?, &self.workload)
                .map_err(|e| format!("{name}: {e}"))?;
            self.figures.warm.push(sent.elapsed());
        }
        let cpu = process.cpu_time().saturating_sub(cpu_before);
        self.figures.cpu_per_warm = cpu / u32::try_from(warm).unwrap_or(u32::MAX);
        self.figures.peak_rss_kb = process.peak_rss_kb();
        Ok(())
    }
}

struct Started {
    api: RuntimeApi,
    process: process::Function,
    init: Duration,
    first: Duration,
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
        // Not an HTTP answer: the payload is the body (the mailer's summary).
        return workload.check_body(&String::from_utf8_lossy(&body));
    };
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    if value["statusCode"].as_u64() != Some(expected) {
        return Err(format!("expected {expected}, got {value}"));
    }
    workload.check_body(value["body"].as_str().unwrap_or_default())
}
