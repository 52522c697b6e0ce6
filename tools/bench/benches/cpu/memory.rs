//! A user store in a hash map, so the benchmarks time our code and not a database.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use shared::cache::SessionId;
use shared::domain::{Email, Timestamp, User, UserId};
use shared::lockout::{now_millis, Attempt, LockKey, LockPolicy, LockState, Outcome, Reservation};
use shared::password::PasswordDigest;
use shared::session::{FoundSession, RefreshToken, SessionRecord};
use shared::store::{
    NewSession, SessionStore, StoreError, StoredCredentials, UserSessions, UserStore,
};

#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<HashMap<UserId, User>>,
    credentials: Mutex<HashMap<String, StoredCredentials>>,
    locks: Mutex<HashMap<String, LockState>>,
    sessions: Mutex<HashMap<SessionId, SessionRecord>>,
    ended: Mutex<HashMap<UserId, Timestamp>>,
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
    async fn create(
        &self,
        user: &User,
        digest: &PasswordDigest,
        session: NewSession<'_>,
    ) -> Result<(), StoreError> {
        {
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
        }
        self.open_session(session).await
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

impl SessionStore for MemoryStore {
    async fn open_session(&self, session: NewSession<'_>) -> Result<(), StoreError> {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(session.record.id.clone(), session.record.clone());
        Ok(())
    }

    async fn find_session(
        &self,
        user: UserId,
        session: &SessionId,
    ) -> Result<Option<FoundSession>, StoreError> {
        let record = self
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(session)
            .cloned()
            .filter(|record| record.user == user);
        let Some(record) = record else {
            return Ok(None);
        };
        let Some(user) = self.get(user).await? else {
            return Ok(None);
        };
        let ended_before = self
            .ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&user.id)
            .copied();
        Ok(Some(FoundSession {
            record,
            user,
            ended_before,
        }))
    }

    async fn rotate_session(
        &self,
        record: &SessionRecord,
        _next: &RefreshToken,
        rotated: NewSession<'_>,
    ) -> Result<bool, StoreError> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        match sessions.get_mut(&record.id) {
            Some(stored) if stored.generation == record.generation && !stored.revoked => {
                *stored = rotated.record.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn end_session(&self, user: UserId, session: &SessionId) -> Result<bool, StoreError> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        match sessions.get_mut(session) {
            Some(stored) if stored.user == user => {
                stored.revoked = true;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn list_sessions(&self, user: UserId) -> Result<UserSessions, StoreError> {
        let records = self
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|record| record.user == user && !record.revoked)
            .cloned()
            .collect();
        let ended_before = self
            .ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&user)
            .copied();
        Ok(UserSessions {
            records,
            ended_before,
        })
    }

    async fn end_all_sessions(&self, user: UserId, at: Timestamp) -> Result<(), StoreError> {
        self.ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user, at);
        Ok(())
    }
}
