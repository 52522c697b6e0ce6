//! Brute-force protection: a token bucket per client IP and route, and a per-account failure
//! counter that locks the account with exponential back-off. Callers fail open on errors:
//! throttling must never be the reason a legitimate sign-in fails.

use redis::Script;

use super::{Cache, CacheError};
use crate::domain::Email;

/// Consecutive failures before the first lock.
pub const LOCK_THRESHOLD: u32 = 5;
/// The first lock; each further failure doubles it…
pub const LOCK_BASE_SECONDS: u64 = 1;
/// …up to this.
pub const LOCK_CAP_SECONDS: u64 = 15 * 60;
/// Failures older than this no longer count.
const FAILURE_MEMORY_SECONDS: u64 = 24 * 60 * 60;

/// A token bucket: `capacity` requests at once, refilled at `refill_per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub capacity: u32,
    pub refill_per_second: f64,
}

impl Default for RateLimit {
    /// 600 a minute sustained after a burst of 100: offices and test suites share addresses.
    fn default() -> Self {
        Self {
            capacity: 100,
            refill_per_second: 10.0,
        }
    }
}

/// The rate-limited routes, each with its own bucket per client.
#[derive(Debug, Clone, Copy)]
pub enum Route {
    Signup,
    Signin,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Signup => "signup",
            Route::Signin => "signin",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    RateLimited { retry_after: u64 },
    Locked { retry_after: u64 },
}

/// Takes a token if there is one; otherwise returns the milliseconds until there will be.
/// Time comes from the server, so every function instance sees one clock.
const TAKE_TOKEN: &str = r"
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
return wait
";

/// Counts a failure atomically (no lost increments under concurrency) and, from the
/// threshold on, locks the account for base * 2^(failures - threshold) seconds, capped.
const RECORD_FAILURE: &str = r"
local failures = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local threshold = tonumber(ARGV[1])
if failures < threshold then return 0 end
local seconds = math.min(tonumber(ARGV[2]) * 2 ^ (failures - threshold), tonumber(ARGV[3]))
seconds = math.floor(seconds)
redis.call('SET', KEYS[2], failures, 'EX', seconds)
return seconds
";

pub(super) struct Scripts {
    pub(super) sessions: super::sessions::SessionScripts,
    record_failure: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Self {
            sessions: super::sessions::SessionScripts::new(),
            record_failure: Script::new(RECORD_FAILURE),
        }
    }
}

fn bucket_key(route: Route, client: &str) -> String {
    format!("{{ip:{client}}}:{}", route.name())
}

fn failures_key(account: &Email) -> String {
    format!("{{a:{account}}}:failures")
}

fn lock_key(account: &Email) -> String {
    format!("{{a:{account}}}:lock")
}

fn ceil_seconds(millis: i64) -> u64 {
    u64::try_from(millis).unwrap_or(0).div_ceil(1000).max(1)
}

impl Cache {
    /// One round trip: take a token from the client's bucket and read the account's lock.
    /// A locked account is refused before any password work, whether or not it exists.
    pub async fn admit(
        &self,
        route: Route,
        client: &str,
        account: Option<&Email>,
    ) -> Result<Admission, CacheError> {
        let limit = self.settings.rate_limit;
        let mut pipe = redis::pipe();
        pipe.cmd("EVAL")
            .arg(TAKE_TOKEN)
            .arg(1)
            .arg(bucket_key(route, client))
            .arg(limit.capacity)
            .arg(limit.refill_per_second);
        if let Some(account) = account {
            pipe.cmd("PTTL").arg(lock_key(account));
        }
        let replies: Vec<i64> = pipe.query_async(&mut self.connection()).await?;
        let wait = replies.first().copied().unwrap_or(0);
        let lock = replies.get(1).copied().unwrap_or(0);
        Ok(if lock > 0 {
            Admission::Locked {
                retry_after: ceil_seconds(lock),
            }
        } else if wait > 0 {
            Admission::RateLimited {
                retry_after: ceil_seconds(wait),
            }
        } else {
            Admission::Allowed
        })
    }

    /// Records a failed sign-in; returns the lock it started, in seconds (0: none yet).
    pub async fn record_failure(&self, account: &Email) -> Result<u64, CacheError> {
        let seconds: u64 = self
            .scripts
            .record_failure
            .key(failures_key(account))
            .key(lock_key(account))
            .arg(LOCK_THRESHOLD)
            .arg(LOCK_BASE_SECONDS)
            .arg(LOCK_CAP_SECONDS)
            .arg(FAILURE_MEMORY_SECONDS)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(seconds)
    }

    /// Consecutive failed sign-ins currently counted for an account.
    pub async fn failure_count(&self, account: &Email) -> Result<u64, CacheError> {
        let count: Option<u64> = redis::cmd("GET")
            .arg(failures_key(account))
            .query_async(&mut self.connection())
            .await?;
        Ok(count.unwrap_or(0))
    }

    /// A successful sign-in: the failures were not consecutive after all.
    pub async fn clear_failures(&self, account: &Email) -> Result<(), CacheError> {
        self.delete(&[failures_key(account), lock_key(account)])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_s_keys_share_a_slot_and_routes_have_their_own_bucket() {
        let email = Email::parse("a@b.co").unwrap();
        assert!(failures_key(&email).starts_with("{a:a@b.co}"));
        assert!(lock_key(&email).starts_with("{a:a@b.co}"));
        assert_ne!(
            bucket_key(Route::Signin, "1.2.3.4"),
            bucket_key(Route::Signup, "1.2.3.4")
        );
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(ceil_seconds(1), 1);
        assert_eq!(ceil_seconds(1000), 1);
        assert_eq!(ceil_seconds(1001), 2);
        assert_eq!(ceil_seconds(-2), 1);
    }

    #[test]
    fn defaults_allow_300_requests_a_minute_from_one_address() {
        let limit = RateLimit::default();
        assert!(f64::from(limit.capacity) + limit.refill_per_second * 60.0 >= 300.0);
    }
}
