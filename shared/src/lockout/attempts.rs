//! One password attempt as every lock in force counts it: the account's, and the per-address
//! one when it is on. Reserved in all before any password work; if one refuses, the others are
//! given back, so a refused attempt counts nowhere. Sign-in and the password change both count
//! their tries here: a stolen session cannot guess the password faster than sign-in can.

use super::{Attempt, LockKey, LockPolicy, Lockout, Outcome, Reservation};
use crate::domain::Email;
use crate::store::UserStore;
use crate::{ApiError, App};

/// The attempt, reserved in every lock in force.
pub struct Attempts {
    held: Vec<(LockKey, LockPolicy, Attempt)>,
}

impl Attempts {
    /// Reserves the attempt on `email` from `address` in every lock at once.
    pub async fn reserve<S: UserStore>(
        app: &App<S>,
        lockout: &Lockout,
        email: &Email,
        address: &str,
    ) -> Result<Self, ApiError> {
        let locks = lockout.locks(email, address);
        // One or two locks; reserved in both at once.
        let reserve = |n: usize| {
            let lock = locks.get(n);
            async move {
                match lock {
                    Some((key, policy)) => Some(app.store.reserve_attempt(key, policy).await),
                    None => None,
                }
            }
        };
        let (first, second) = tokio::join!(reserve(0), reserve(1));
        let reserved = [first, second].into_iter().flatten().zip(&locks);
        let mut attempts = Self { held: Vec::new() };
        let (mut locked_for, mut failure) = (None, None);
        for (reservation, (key, policy)) in reserved {
            match reservation {
                Ok(Reservation::Granted(attempt)) => {
                    attempts.held.push((key.clone(), *policy, attempt));
                }
                Ok(Reservation::Locked { retry_after }) => {
                    locked_for = locked_for.max(Some(retry_after));
                }
                Err(err) => failure = Some(err),
            }
        }
        let refusal = match (failure, locked_for) {
            (Some(err), _) => err.into(),
            (None, Some(retry_after)) => ApiError::AccountLocked { retry_after },
            (None, None) => return Ok(attempts),
        };
        attempts.finish(app, Outcome::Abandoned).await;
        Err(refusal)
    }

    /// Records how the attempt ended in every lock. A failure to record is logged, never the
    /// client's problem: the attempt stays counted (and a lock it started is held until it
    /// ends by itself).
    pub async fn finish<S: UserStore>(self, app: &App<S>, outcome: Outcome) {
        let mut held = self.held.iter();
        tokio::join!(
            finish_one(app, held.next(), outcome),
            finish_one(app, held.next(), outcome)
        );
    }
}

async fn finish_one<S: UserStore>(
    app: &App<S>,
    held: Option<&(LockKey, LockPolicy, Attempt)>,
    outcome: Outcome,
) {
    let Some((key, policy, attempt)) = held else {
        return;
    };
    match app
        .store
        .finish_attempt(key, policy, *attempt, outcome)
        .await
    {
        Ok(()) if outcome == Outcome::Failed && attempt.failures >= policy.threshold => {
            tracing::warn!(
                failures = attempt.failures,
                lock_seconds = policy.lock_millis(attempt.failures).div_ceil(1000),
                "sign-ins locked after failures"
            );
        }
        Ok(()) => {}
        Err(err) => tracing::warn!(
            error = %crate::error::ErrorChain(&err),
            ?outcome,
            "sign-in attempt not recorded"
        ),
    }
}
