//! The `GET /me` body, cached as the exact JSON served, so a hit costs no parsing.

use super::sessions::profile_key;
use super::{Cache, CacheError};
use crate::domain::{User, UserId};

impl Cache {
    pub async fn put_profile(&self, user: &User) -> Result<(), CacheError> {
        let body = serde_json::to_string(user).map_err(|err| {
            CacheError(redis::RedisError::from((
                redis::ErrorKind::Client,
                "profile serialisation",
                err.to_string(),
            )))
        })?;
        redis::cmd("SET")
            .arg(profile_key(user.id))
            .arg(body)
            .arg("EX")
            .arg(self.settings.profile_ttl_seconds)
            .query_async::<()>(&mut self.connection())
            .await?;
        Ok(())
    }

    pub async fn forget_profile(&self, user: UserId) -> Result<(), CacheError> {
        self.delete(&[profile_key(user)]).await
    }
}
