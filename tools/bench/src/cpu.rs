//! The in-process CPU benchmarks' results (`benches/cpu`, criterion), read back from
//! criterion's `estimates.json` so `bench/results.md` carries them next to the process figures.

use std::path::Path;
use std::time::Duration;

/// The benchmarks, as `group/name` (criterion's directory layout) and what each times.
pub const BENCHMARKS: [(&str, &str); 18] = [
    ("parse/me_event", "API Gateway event JSON → request"),
    ("parse/signin_body", "sign-in body → e-mail and password"),
    (
        "parse/signup_body",
        "sign-up body → new user (incl. zxcvbn strength estimate)",
    ),
    (
        "jwt/issue",
        "issue an access token (RS256, claims and signature)",
    ),
    ("jwt/verify", "verify an access token"),
    (
        "rs256/parse_key",
        "parse an RSA-2048 PKCS#8 key (ring; once per process)",
    ),
    ("rs256/sign", "sign an access token's claims, RS256"),
    (
        "rs256/verify",
        "verify an RS256 token (jsonwebtoken's checks)",
    ),
    (
        "me/cache_hit",
        "`GET /me` event → response, session and profile from the cache",
    ),
    (
        "me/cache_miss",
        "`GET /me`, profile read from the store and cached",
    ),
    ("argon2id/verify", "one argon2id verify (19 MiB, t=2, p=1)"),
    ("argon2id/hash", "one argon2id hash"),
    (
        "argon2id/verify_minimal",
        "one verify at the minimal cost (8 KiB, t=1)",
    ),
    ("handler/signin", "successful sign-in, event → response"),
    (
        "handler/signin_minimal",
        "the same, the user's hash at the minimal cost",
    ),
    ("handler/signup", "sign-up, event → response"),
    (
        "handler/refresh",
        "`POST /token/refresh` event → response: judge, rotate, re-warm, a new pair",
    ),
    (
        "handler/sessions",
        "`GET /sessions` event → response, two sessions listed",
    ),
];

/// The median of one benchmark's last run, if it has run.
pub fn median(criterion_dir: &Path, id: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(criterion_dir.join(id).join("new/estimates.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let nanos = value["median"]["point_estimate"].as_f64()?;
    Some(Duration::from_secs_f64(nanos / 1e9))
}

/// A duration in the unit that reads best.
pub fn human(d: Duration) -> String {
    let nanos = d.as_secs_f64() * 1e9;
    if nanos < 1e3 {
        format!("{nanos:.0} ns")
    } else if nanos < 1e6 {
        format!("{:.1} µs", nanos / 1e3)
    } else {
        format!("{:.2} ms", nanos / 1e6)
    }
}

/// Seconds that may be negative (a difference of medians), in the unit that reads best.
pub fn human_signed(seconds: f64) -> String {
    let sign = if seconds < 0.0 { "-" } else { "" };
    format!("{sign}{}", human(Duration::from_secs_f64(seconds.abs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_s_median() {
        let dir = std::env::temp_dir().join(format!("bench-cpu-{}", std::process::id()));
        let estimates = dir.join("jwt/verify/new");
        std::fs::create_dir_all(&estimates).unwrap();
        std::fs::write(
            estimates.join("estimates.json"),
            r#"{"mean":{"point_estimate":2000.0},"median":{"point_estimate":1500.0}}"#,
        )
        .unwrap();
        assert_eq!(median(&dir, "jwt/verify"), Some(Duration::from_nanos(1500)));
        assert_eq!(median(&dir, "jwt/issue"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn picks_a_readable_unit() {
        assert_eq!(human(Duration::from_nanos(640)), "640 ns");
        assert_eq!(human(Duration::from_nanos(12_340)), "12.3 µs");
        assert_eq!(human(Duration::from_micros(18_420)), "18.42 ms");
        assert_eq!(human_signed(-0.000_012_34), "-12.3 µs");
        assert_eq!(human_signed(0.000_012_34), "12.3 µs");
    }
}
