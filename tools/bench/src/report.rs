//! Percentiles, the results table (`bench/results.md`) and chart (`bench/results.svg`).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use shared::cache::SessionId;
use shared::domain::{Password, User};
use shared::store::UserStore;
use testkit::TestEnv;

use crate::{cpu, Figures};

pub struct Row {
    pub name: &'static str,
    /// The binary measured (rows may share one with a different environment).
    pub binary: &'static str,
    pub figures: Figures,
    /// AWS behind a simulated network: its figures include round trips, not only our cost,
    /// so it is left out of the budgets and the chart.
    pub remote: bool,
}

impl Row {
    pub fn new(name: &'static str, binary: &'static str, figures: Figures, remote: bool) -> Self {
        Self {
            name,
            binary,
            figures,
            remote,
        }
    }
}

/// A function as deployed with the init warm-up on and off: two remote rows.
pub struct RemotePair {
    pub warm: &'static str,
    pub cold: &'static str,
}

pub const REMOTE: [RemotePair; 2] = [
    RemotePair {
        warm: "signin+remote",
        cold: "signin+remote-nowarm",
    },
    RemotePair {
        warm: "signup+remote",
        cold: "signup+remote-nowarm",
    },
];

fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn us(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1_000_000.0)
}

fn ratio(value: Duration, floor: Duration) -> String {
    if floor.is_zero() {
        return "-".into();
    }
    format!("{:.2}×", value.as_secs_f64() / floor.as_secs_f64())
}

/// Measured in this process with the functions' own code: the back-ends' round trips (what a
/// warm invocation spends waiting rather than computing) and one argon2id verify.
pub struct Backend {
    pub dynamodb_get: Duration,
    pub redis_lookup: Duration,
    pub argon2_verify: Duration,
}

pub async fn backend_share(env: &TestEnv, user: &User) -> Backend {
    let sid = SessionId::random();
    let mut dynamodb = Vec::new();
    let mut redis = Vec::new();
    let mut argon2 = Vec::new();
    for _ in 0..20 {
        let Ok(password) = Password::for_signin(crate::workload::PASSWORD) else {
            break;
        };
        let started = Instant::now();
        let _ = env.hasher.verify(password, None).await;
        argon2.push(started.elapsed());
    }
    for _ in 0..200 {
        let started = Instant::now();
        let _ = env.app.store.get(user.id).await;
        dynamodb.push(started.elapsed());
        let started = Instant::now();
        let _ = env.app.cache.lookup(user.id, &sid).await;
        redis.push(started.elapsed());
    }
    Backend {
        dynamodb_get: percentile(&dynamodb, 50.0),
        redis_lookup: percentile(&redis, 50.0),
        argon2_verify: percentile(&argon2, 50.0),
    }
}

/// Where `cargo lambda build --release --arm64` leaves the binaries it zips.
const ARM64_DIR: &str = "target/aarch64-unknown-linux-gnu/release";

fn size(path: &std::path::Path) -> String {
    std::fs::metadata(path)
        .map(|m| format!("{:.2} MB", m.len() as f64 / 1_000_000.0))
        .unwrap_or_else(|_| "not built".into())
}

pub fn markdown(
    rows: &[Row],
    backend: &Backend,
    profile: &str,
    fresh: usize,
    warm: usize,
) -> String {
    let floor = rows.iter().find(|row| row.name == "hello");
    let floor_init = floor.map_or(Duration::ZERO, |row| percentile(&row.figures.init, 50.0));
    let floor_warm = floor.map_or(Duration::ZERO, |row| percentile(&row.figures.warm, 50.0));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let today = std::process::Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let lambda_dir = testkit::root().join("target/lambda");
    let arm64_dir = testkit::root().join(ARM64_DIR);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Benchmark results\n\n{today}, {cores} cores ({arch}), `{profile}` binaries, {fresh} fresh \
         processes per function (interleaved across functions), then {warm} warm invocations \
         (sign-up: at most {cap}, see below). \
         Produced by `make bench`.\n",
        cap = crate::SIGNUP_WARM_CAP,
        arch = std::env::consts::ARCH,
    );
    let _ = writeln!(
        out,
        "| function | init p50 (ms) | init p99 | init vs floor | 1st invocation p50 (ms) | warm p50 (ms) | warm p99 (ms) | warm vs floor | CPU per warm request (µs) | peak RSS (MB) | arm64 bootstrap | arm64 zip |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in rows.iter().filter(|row| !row.remote) {
        let f = &row.figures;
        let init = percentile(&f.init, 50.0);
        let warm50 = percentile(&f.warm, 50.0);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {} |",
            row.name,
            ms(init),
            ms(percentile(&f.init, 99.0)),
            ratio(init, floor_init),
            ms(percentile(&f.first, 50.0)),
            ms(warm50),
            ms(percentile(&f.warm, 99.0)),
            ratio(warm50, floor_warm),
            us(f.cpu_per_warm),
            f.peak_rss_kb as f64 / 1024.0,
            size(&arm64_dir.join(row.binary)),
            size(&lambda_dir.join(row.binary).join("bootstrap.zip")),
        );
    }
    let _ =
        writeln!(
        out,
        "\nBack-ends alone, p50 from the harness with the same clients: DynamoDB (moto_server, \
         Python) GetItem {} ms, Redis session lookup {} ms. Warm latency minus these waits is \
         our own cost; the CPU column is the function process's own CPU time (all threads), \
         which excludes waiting. Sign-up's warm run is capped because moto deep-copies the table \
         on every transaction, so it slows as sign-ups fill the table. One argon2id verify \
         here: {} ms; sign-in's process CPU per request is {} of it.",
        ms(backend.dynamodb_get),
        ms(backend.redis_lookup),
        ms(backend.argon2_verify),
        rows.iter()
            .find(|row| row.name == "signin")
            .map_or("-".into(), |row| ratio(row.figures.cpu_per_warm, backend.argon2_verify)),
    );
    warmup_section(&mut out, rows);
    let cpu_dir = testkit::root().join("target/criterion");
    cpu_section(&mut out, &cpu_dir);
    budgets(&mut out, rows, floor_init, &cpu_dir);
    out
}

/// Sign-in and sign-up as deployed with AWS a round trip away, warmed up during init or not.
fn warmup_section(out: &mut String, rows: &[Row]) {
    let find = |name| rows.iter().find(|row| row.name == name);
    let pairs: Vec<_> = REMOTE
        .iter()
        .filter_map(|pair| Some([find(pair.warm)?, find(pair.cold)?]))
        .collect();
    if pairs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n## Init warm-up, both ways\n\nSign-in and sign-up as deployed (their keys read from \
         Secrets Manager in the background from init on) with DynamoDB and Secrets Manager at a distance: moto over TLS, \
         trusted through `AWS_CA_BUNDLE`, each behind a proxy that delivers every chunk {} ms \
         after it was sent, each way (TCP's own handshake is not delayed). With the warm-up, the function starts opening the DynamoDB connection and puts \
         argon2's working memory in place in the background from init on, and sign-up also loads \
         zxcvbn's dictionaries; without it (`INIT_WARMUP=off`), the first request does that. p50 over the fresh \
         processes; \"cold start\" is init plus the first invocation, per process.\n\n\
         | | init p50 (ms) | 1st invocation p50 (ms) | cold start p50 (ms) | warm p50 (ms) |\n\
         |---|---:|---:|---:|---:|",
        crate::network::ONE_WAY.as_millis(),
    );
    for row in pairs.into_iter().flatten() {
        let f = &row.figures;
        let cold_starts: Vec<Duration> =
            f.init.iter().zip(&f.first).map(|(i, r)| *i + *r).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row.name,
            ms(percentile(&f.init, 50.0)),
            ms(percentile(&f.first, 50.0)),
            ms(percentile(&cold_starts, 50.0)),
            ms(percentile(&f.warm, 50.0)),
        );
    }
}

/// The criterion benchmarks' medians (`cargo bench -p bench --bench cpu`, run by `make bench`).
fn cpu_section(out: &mut String, cpu_dir: &std::path::Path) {
    let _ = writeln!(
        out,
        "
## CPU per request, in-process

Medians of `cargo bench -p bench --bench cpu` \
         (criterion), same machine: the handlers with a user store in a hash map and Redis \
         replies produced in-process, so nothing waits and the time is our own CPU (log lines \
         excluded).\n\n| benchmark | what it times | median |\n|---|---|---:|"
    );
    for (id, what) in cpu::BENCHMARKS {
        let median = cpu::median(cpu_dir, id).map_or("not run".into(), cpu::human);
        let _ = writeln!(out, "| `{id}` | {what} | {median} |");
    }
}

const MB: u64 = 1_000_000;

/// The budgets of issue 5, each with where this run landed.
fn budgets(out: &mut String, rows: &[Row], floor_init: Duration, cpu_dir: &std::path::Path) {
    let _ = writeln!(
        out,
        "\n## Budgets\n\n| budget | function | measured | verdict |\n|---|---|---:|---|"
    );
    let mut line = |budget: &str, function: &str, measured: String, ok: Option<bool>| {
        let verdict = match ok {
            Some(true) => "within",
            Some(false) => "**over**",
            None => "not measured",
        };
        let _ = writeln!(out, "| {budget} | {function} | {measured} | {verdict} |");
    };
    let lambda_dir = testkit::root().join("target/lambda");
    let floor = floor_init.as_secs_f64().max(1e-9);
    for row in rows.iter().filter(|row| row.name != "hello" && !row.remote) {
        let f = &row.figures;
        let init = percentile(&f.init, 50.0).as_secs_f64() / floor;
        line(
            "init ≤ 1.5× floor",
            row.name,
            format!("{init:.2}×"),
            Some(init <= 1.5),
        );
        if row.name != row.binary {
            continue; // a variant: its binary's size and memory are on its own row
        }
        let bytes = |path: std::path::PathBuf| std::fs::metadata(path).ok().map(|m| m.len());
        let binary = bytes(testkit::root().join(ARM64_DIR).join(row.name));
        line(
            "arm64 bootstrap ≤ 6 MB",
            row.name,
            binary.map_or("-".into(), |b| format!("{:.2} MB", b as f64 / MB as f64)),
            binary.map(|b| b <= 6 * MB),
        );
        let zip = bytes(lambda_dir.join(row.name).join("bootstrap.zip"));
        line(
            "zip ≤ 3 MB",
            row.name,
            zip.map_or("-".into(), |b| format!("{:.2} MB", b as f64 / MB as f64)),
            zip.map(|b| b <= 3 * MB),
        );
        // The functions that run argon2id (19 MiB of working memory a run).
        let rss_limit = if matches!(row.name, "signup" | "signin" | "password" | "account") {
            64.0
        } else {
            40.0
        };
        let rss = f.peak_rss_kb as f64 / 1024.0;
        line(
            &format!("peak RSS ≤ {rss_limit} MB"),
            row.name,
            format!("{rss:.1} MB"),
            Some(rss <= rss_limit),
        );
    }
    let me = cpu::median(cpu_dir, "me/cache_hit");
    line(
        "own CPU < 50 µs p50 (in-process, cache hit)",
        "me",
        me.map_or("-".into(), cpu::human),
        me.map(|cpu| cpu < Duration::from_micros(50)),
    );
    let ratio = signin_ratio(|id| cpu::median(cpu_dir, id));
    line(
        &format!(
            "CPU ≤ 1.05× one argon2id verify ({} in-process)",
            ratio.map_or("-".into(), |r| format!(
                "{} + the rest of sign-in {}",
                cpu::human(r.verify),
                cpu::human_signed(r.rest)
            ))
        ),
        "signin",
        ratio.map_or("-".into(), |r| format!("{:.3}×", r.times)),
        ratio.map(|r| r.times <= 1.05),
    );
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct SigninRatio {
    verify: Duration,
    /// Sign-in's CPU besides argon2: may come out slightly negative from noise.
    rest: f64,
    times: f64,
}

/// Sign-in's CPU as a multiple of one verify: (verify + rest) / verify, where the rest is
/// measured with a minimal-cost hash (`handler/signin_minimal` - `argon2id/verify_minimal`).
/// Dividing two ~20 ms medians taken at different moments would mostly measure the drift.
fn signin_ratio(median: impl Fn(&str) -> Option<Duration>) -> Option<SigninRatio> {
    let verify = median("argon2id/verify")?;
    let rest = median("handler/signin_minimal")?.as_secs_f64()
        - median("argon2id/verify_minimal")?.as_secs_f64();
    let times = (verify.as_secs_f64() + rest) / verify.as_secs_f64().max(1e-9);
    Some(SigninRatio {
        verify,
        rest,
        times,
    })
}

/// Two panels of horizontal bars: init p50 and warm p50 per function, the floor first.
pub fn svg(rows: &[Row]) -> String {
    let rows: Vec<&Row> = rows.iter().filter(|row| !row.remote).collect();
    let panels = [
        (
            "Cold start: init p50 (ms)",
            rows.iter()
                .map(|r| percentile(&r.figures.init, 50.0))
                .collect::<Vec<_>>(),
        ),
        (
            "Warm invocation p50 (ms)",
            rows.iter()
                .map(|r| percentile(&r.figures.warm, 50.0))
                .collect(),
        ),
    ];
    let (bar_h, gap, label_w, chart_w) = (18.0, 6.0, 80.0, 420.0);
    let panel_h = 30.0 + rows.len() as f64 * (bar_h + gap);
    let height = panel_h * panels.len() as f64 + 10.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" font-family="sans-serif" font-size="12">"#,
        w = label_w + chart_w + 90.0,
    );
    for (index, (title, values)) in panels.iter().enumerate() {
        let top = index as f64 * panel_h + 10.0;
        let max = values
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            .max(1e-9);
        let _ = writeln!(
            out,
            r#"<text x="0" y="{}" font-weight="bold">{title}</text>"#,
            top + 12.0
        );
        for (i, (row, value)) in rows.iter().zip(values).enumerate() {
            let y = top + 24.0 + i as f64 * (bar_h + gap);
            let width = value.as_secs_f64() / max * chart_w;
            let color = if row.name == "hello" {
                "#999999"
            } else {
                "#2b6cb0"
            };
            let _ = writeln!(
                out,
                r#"<text x="0" y="{ty}">{name}</text><rect x="{label_w}" y="{y}" width="{width:.1}" height="{bar_h}" fill="{color}"/><text x="{tx:.1}" y="{ty}">{value}</text>"#,
                ty = y + 13.0,
                name = row.name,
                tx = label_w + width + 4.0,
                value = ms(*value),
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signin_ratio_adds_the_rest_of_sign_in_to_one_verify() {
        let medians = |id: &str| match id {
            "argon2id/verify" => Some(Duration::from_millis(20)),
            "handler/signin_minimal" => Some(Duration::from_micros(90)),
            "argon2id/verify_minimal" => Some(Duration::from_micros(40)),
            _ => None,
        };
        let ratio = signin_ratio(medians).unwrap();
        assert!((ratio.rest - 50e-6).abs() < 1e-12);
        assert!((ratio.times - 1.0025).abs() < 1e-9);
        assert_eq!(
            signin_ratio(|id| medians(id).filter(|_| id != "argon2id/verify_minimal")),
            None
        );
    }
}
