//! Rate limiting: a token bucket per client IP and route. Callers fail open on errors: a
//! cache outage must never be the reason a legitimate request fails. (The per-account lock,
//! which must not fail open, is in [`crate::lockout`].)

use super::{Cache, CacheError};

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
    /// `POST /token/validate`: cheap to answer, but an oracle for guessed tokens otherwise.
    Validate,
    /// `POST /token/refresh`: each try at a guessed refresh token costs a DynamoDB read.
    Refresh,
    /// `POST /email/verify` and its resend: each try at a code costs DynamoDB writes.
    Email,
    /// `POST /password/forgot` and `/password/reset`: codes again, and a reset hashes.
    Password,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Signup => "signup",
            Route::Signin => "signin",
            Route::Validate => "validate",
            Route::Refresh => "refresh",
            Route::Email => "email",
            Route::Password => "password",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    RateLimited { retry_after: u64 },
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

fn bucket_key(route: Route, client: &str) -> String {
    format!("{{ip:{client}}}:{}", route.name())
}

fn ceil_seconds(millis: i64) -> u64 {
    u64::try_from(millis).unwrap_or(0).div_ceil(1000).max(1)
}

impl Cache {
    /// One round trip: take a token from the client's bucket.
    pub async fn admit(&self, route: Route, client: &str) -> Result<Admission, CacheError> {
        let limit = self.settings.rate_limit;
        let wait: i64 = redis::cmd("EVAL")
            .arg(TAKE_TOKEN)
            .arg(1)
            .arg(bucket_key(route, client))
            .arg(limit.capacity)
            .arg(limit.refill_per_second)
            .query_async(&mut self.connection())
            .await?;
        Ok(if wait > 0 {
            Admission::RateLimited {
                retry_after: ceil_seconds(wait),
            }
        } else {
            Admission::Allowed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_have_their_own_bucket() {
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
