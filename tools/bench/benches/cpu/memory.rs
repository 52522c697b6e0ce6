//! A user store in a hash map, so the benchmarks time our code and not a database.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use shared::domain::{Email, Timestamp, User, UserId};
use shared::lockout::{now_millis, Attempt, LockKey, LockPolicy, LockState, Outcome, Reservation};
use shared::password::PasswordDigest;
use shared::store::{StoreError, StoredCredentials, UserStore};

#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<HashMap<UserId, User>>,
    credentials: Mutex<HashMap<String, StoredCredentials>>,
    locks: Mutex<HashMap<String, LockState>>,
}

impl MemoryStore {
    /// Replaces the stored password hash of `email` (which must be registered).
    pub fn replace_digest(&self, email: &str, digest: PasswordDigest) {
        self.credentials
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(email)
            .expect("a registered e-mail")
            .digest = digest;
    }
}

impl UserStore for MemoryStore {
    async fn create(&self, user: &User, digest: &PasswordDigest) -> Result<(), StoreError> {
        let mut credentials = self
            .credentials
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = user.email.to_string();
        if credentials.contains_key(&key) {
            return Err(StoreError::EmailTaken);
        }
        credentials.insert(
            key,
            StoredCredentials {
                user_id: user.id,
                digest: digest.clone(),
            },
        );
        self.users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user.id, user.clone());
        Ok(())
    }

    async fn credentials(&self, email: &Email) -> Result<Option<StoredCredentials>, StoreError> {
        Ok(self
            .credentials
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&email.to_string())
            .cloned())
    }

    async fn record_login(&self, id: UserId, at: Timestamp) -> Result<Option<User>, StoreError> {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(users.get_mut(&id).map(|user| {
            user.last_login = at;
            user.clone()
        }))
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned())
    }

    async fn reserve_attempt(
        &self,
        lock: &LockKey,
        policy: &LockPolicy,
    ) -> Result<Reservation, StoreError> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        let key = lock.as_str().to_owned();
        Ok(match policy.reserve(locks.get(&key), now_millis()) {
            Ok(next) => {
                locks.insert(key, next);
                Reservation::Granted(Attempt {
                    failures: next.failures,
                })
            }
            Err(retry_after) => Reservation::Locked { retry_after },
        })
    }

    async fn finish_attempt(
        &self,
        lock: &LockKey,
        policy: &LockPolicy,
        attempt: Attempt,
        outcome: Outcome,
    ) -> Result<(), StoreError> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(current) = locks.get_mut(lock.as_str()) {
            if let Some(next) = policy.finish(current, attempt, outcome, now_millis()) {
                *current = next;
            }
        }
        Ok(())
    }
}
