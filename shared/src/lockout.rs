//! The per-account sign-in lock, as pure state transitions; the store persists them
//! ([`crate::store::UserStore::reserve_attempt`]).
//!
//! An attempt is *reserved* before any password work and counted at once, so parallel guesses
//! cannot all pass a check made before any of them failed. Up to `threshold` attempts since the
//! last success are let through; from then on one attempt per lock window, each failure
//! doubling the window (`base` · 2ⁿ, capped). The state lives in DynamoDB next to the user, not
//! in Redis: a cache flush or outage must not lift the lock. Unknown e-mails lock the same way,
//! so a lock reveals nothing about whether an account exists.

mod attempts;

use std::time::{SystemTime, UNIX_EPOCH};

pub use attempts::Attempts;

use crate::domain::Email;

/// The first lock lasts this long…
pub const LOCK_BASE_MILLIS: u64 = 1_000;
/// Failures older than this (since the last attempt) no longer count.
pub const FAILURE_MEMORY_SECONDS: u64 = 24 * 60 * 60;
/// While an attempt past the threshold is being checked, the account is held locked for this
/// long: longer than sign-in's function timeout (10 s), so an attempt that dies mid-way (a
/// crashed or timed-out instance) cannot keep the account locked for longer.
pub const HOLD_MILLIS: u64 = 15_000;

/// How many attempts an account gets and how long it is locked after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    /// Attempts since the last success that are let through before the first lock (≥ 2).
    pub threshold: u32,
    /// The longest a lock lasts, in milliseconds.
    pub cap_millis: u64,
}

impl Default for LockPolicy {
    /// Cognito's numbers: five attempts, then 1 s, 2 s, 4 s… up to 15 minutes.
    fn default() -> Self {
        Self {
            threshold: 5,
            cap_millis: 15 * 60 * 1000,
        }
    }
}

/// The sign-in locks in force. Always the account's own; optionally a second, stricter one per
/// client address, so one address cannot lock everyone else out (README, Security).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lockout {
    pub account: LockPolicy,
    pub per_address: Option<LockPolicy>,
}

impl Lockout {
    /// Sign-in's settings from the environment ([`crate::config::lockout`]).
    pub fn from_env() -> Result<Self, crate::config::ConfigError> {
        crate::config::lockout(crate::config::env_var)
    }

    /// The records an attempt on `email` from `address` counts in, with their policies.
    pub fn locks(&self, email: &Email, address: &str) -> Vec<(LockKey, LockPolicy)> {
        let mut locks = vec![(LockKey::account(email), self.account)];
        if let Some(policy) = self.per_address {
            locks.push((LockKey::address(email, address), policy));
        }
        locks
    }
}

/// Which attempts a lock record counts: all of an e-mail's, or one client address's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockKey(String);

impl LockKey {
    pub fn account(email: &Email) -> Self {
        Self(format!("LOCK#{email}"))
    }

    pub fn address(email: &Email, address: &str) -> Self {
        Self(format!("LOCK#{email}#{address}"))
    }

    /// The record's key in the store.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An account's attempt record as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockState {
    /// Attempts since the last success: failed ones and those still being checked.
    pub failures: u32,
    /// Unix milliseconds until which attempts are refused; 0 for none. Only set while
    /// `failures` has reached the threshold.
    pub locked_until: u64,
    /// Unix seconds after which the record is forgotten (and DynamoDB's TTL deletes it).
    pub expires_at: u64,
    /// Bumped by every write, so a write computed from a read applies only to that read.
    pub version: u64,
}

/// A reserved attempt: the count it brought the account to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub failures: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Granted(Attempt),
    /// Refused before any password work; retry after this many whole seconds.
    Locked {
        retry_after: u64,
    },
}

/// How a reserved attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The password was right: the failures were not consecutive after all.
    Succeeded,
    /// The password was wrong (or the e-mail unknown): the attempt stays counted.
    Failed,
    /// No password was checked (a dependency failed): the attempt is given back.
    Abandoned,
}

/// Unix time in milliseconds.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl LockPolicy {
    /// The next state if an attempt is let through now, or the wait before one will be.
    /// `seen` is the stored record (`None`: there is none).
    pub fn reserve(&self, seen: Option<&LockState>, now: u64) -> Result<LockState, u64> {
        let current = seen.copied().filter(|s| s.expires_at * 1000 > now);
        let current = current.unwrap_or_default();
        if current.locked_until > now {
            return Err((current.locked_until - now).div_ceil(1000).max(1));
        }
        let failures = current.failures.saturating_add(1);
        Ok(LockState {
            failures,
            locked_until: if failures >= self.threshold {
                now + HOLD_MILLIS
            } else {
                0
            },
            expires_at: now / 1000 + FAILURE_MEMORY_SECONDS,
            version: seen.map_or(0, |s| s.version) + 1,
        })
    }

    /// Attempts that need no look at the record first: counts that stay below the threshold
    /// (the store's one-round-trip path).
    pub fn free_attempts(&self) -> u32 {
        self.threshold - 1
    }

    /// The record after `attempt` ended with `outcome`, or `None` when nothing is to be
    /// written. Failed and abandoned attempts change the record only if nothing else has since
    /// their reservation (`current.failures == attempt.failures`).
    pub fn finish(
        &self,
        current: &LockState,
        attempt: Attempt,
        outcome: Outcome,
        now: u64,
    ) -> Option<LockState> {
        let untouched = current.failures == attempt.failures;
        let next = match outcome {
            Outcome::Succeeded => LockState {
                failures: 0,
                locked_until: 0,
                ..*current
            },
            Outcome::Failed if untouched && attempt.failures >= self.threshold => LockState {
                locked_until: now + self.lock_millis(attempt.failures),
                ..*current
            },
            Outcome::Abandoned if untouched => LockState {
                failures: attempt.failures - 1,
                locked_until: 0,
                ..*current
            },
            Outcome::Failed | Outcome::Abandoned => return None,
        };
        Some(LockState {
            version: current.version + 1,
            ..next
        })
    }

    /// The lock after the `failures`-th failure: base · 2^(failures − threshold), capped.
    pub fn lock_millis(&self, failures: u32) -> u64 {
        let doublings = failures.saturating_sub(self.threshold).min(40);
        (LOCK_BASE_MILLIS << doublings).min(self.cap_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn policy() -> LockPolicy {
        LockPolicy::default()
    }

    /// Runs `n` reserve-then-fail attempts one after another from `now` on, each as soon as
    /// the lock lets it.
    fn fail(state: &mut Option<LockState>, n: u32, now: u64) {
        for _ in 0..n {
            let now = now.max(state.map_or(0, |s| s.locked_until));
            let next = policy().reserve(state.as_ref(), now).unwrap();
            let attempt = Attempt {
                failures: next.failures,
            };
            *state = Some(
                policy()
                    .finish(&next, attempt, Outcome::Failed, now)
                    .unwrap_or(next),
            );
        }
    }

    #[test]
    fn five_attempts_then_a_lock_that_doubles_up_to_the_cap() {
        let mut state = None;
        fail(&mut state, 5, NOW);
        assert_eq!(policy().reserve(state.as_ref(), NOW), Err(1));
        fail(&mut state, 1, NOW + 1_000);
        assert_eq!(policy().reserve(state.as_ref(), NOW + 1_000), Err(2));
        assert_eq!(policy().lock_millis(5), 1_000);
        assert_eq!(policy().lock_millis(7), 4_000);
        assert_eq!(policy().lock_millis(60), 15 * 60 * 1000);
        assert_eq!(policy().lock_millis(u32::MAX), 15 * 60 * 1000);
    }

    #[test]
    fn in_flight_attempts_past_the_threshold_hold_the_lock() {
        let mut state = None;
        // Five reserved, none finished: the fifth set a hold.
        for expected in 1..=5 {
            let next = policy().reserve(state.as_ref(), NOW).unwrap();
            assert_eq!(next.failures, expected);
            state = Some(next);
        }
        assert_eq!(
            policy().reserve(state.as_ref(), NOW + 14_000),
            Err(1),
            "held until the attempt ends or the hold expires"
        );
        assert!(policy().reserve(state.as_ref(), NOW + HOLD_MILLIS).is_ok());
    }

    #[test]
    fn a_success_clears_failures_and_lock() {
        let mut state = None;
        fail(&mut state, 7, NOW);
        let current = state.unwrap();
        let cleared = policy()
            .finish(&current, Attempt { failures: 3 }, Outcome::Succeeded, NOW)
            .unwrap();
        assert_eq!((cleared.failures, cleared.locked_until), (0, 0));
        assert_eq!(cleared.version, current.version + 1);
        assert_eq!(policy().reserve(Some(&cleared), NOW).unwrap().failures, 1);
    }

    #[test]
    fn an_abandoned_attempt_is_given_back_only_if_nothing_happened_since() {
        let reserved = policy().reserve(None, NOW).unwrap();
        let attempt = Attempt { failures: 1 };
        let back = policy()
            .finish(&reserved, attempt, Outcome::Abandoned, NOW)
            .unwrap();
        assert_eq!(back.failures, 0);
        let later = policy().reserve(Some(&reserved), NOW).unwrap();
        assert_eq!(
            policy().finish(&later, attempt, Outcome::Abandoned, NOW),
            None
        );
        // Past the threshold, giving an attempt back also lifts its hold.
        let mut state = None;
        fail(&mut state, 4, NOW);
        let held = policy().reserve(state.as_ref(), NOW).unwrap();
        assert!(held.locked_until > NOW);
        let back = policy()
            .finish(&held, Attempt { failures: 5 }, Outcome::Abandoned, NOW)
            .unwrap();
        assert_eq!((back.failures, back.locked_until), (4, 0));
    }

    #[test]
    fn a_stale_failure_is_not_renewed_by_a_late_finish() {
        let mut state = None;
        fail(&mut state, 5, NOW);
        let current = state.unwrap();
        // An attempt reserved at count 3 finishing now changes nothing.
        assert_eq!(
            policy().finish(&current, Attempt { failures: 3 }, Outcome::Failed, NOW),
            None
        );
    }

    #[test]
    fn the_per_address_lock_is_counted_beside_the_account_s() {
        let email = Email::parse("a@b.co").unwrap();
        let account_only = Lockout::default();
        assert_eq!(account_only.locks(&email, "192.0.2.1").len(), 1);
        let both = Lockout {
            per_address: Some(LockPolicy {
                threshold: 3,
                ..LockPolicy::default()
            }),
            ..Lockout::default()
        };
        let keys: Vec<String> = both
            .locks(&email, "2001:db8::1")
            .iter()
            .map(|(key, _)| key.as_str().to_owned())
            .collect();
        assert_eq!(keys, ["LOCK#a@b.co", "LOCK#a@b.co#2001:db8::1"]);
    }

    #[test]
    fn failures_are_forgotten_after_a_day_even_if_the_record_was_not_deleted() {
        let mut state = None;
        fail(&mut state, 9, NOW);
        let day_later = state.unwrap().locked_until + FAILURE_MEMORY_SECONDS * 1000;
        let next = policy().reserve(state.as_ref(), day_later).unwrap();
        assert_eq!((next.failures, next.locked_until), (1, 0));
    }
}
