//! [`MailStore`] on DynamoDB: the outbox (`MAIL#`), the per-address quota (`MAILQUOTA#`) and
//! the live codes (`CODE#`), laid out in [`super::item`].

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use std::collections::HashMap;

use super::dynamo::{bad_item, classify, condition_failed, number, DynamoUserStore};
use super::item::{self, Item, EMAIL_VERIFIED_AT, EXPIRES_AT, PK};
use super::{MailQueued, MailStore, PasswordReset, StoreError};
use crate::code::{CodeDigest, Purpose, MAX_ATTEMPTS};
use crate::domain::{Email, Timestamp, UserId};

/// At most one message a minute per address and purpose…
const MIN_INTERVAL_MS: i64 = 60_000;
/// …and five an hour.
const WINDOW_MS: i64 = 3_600_000;
const PER_WINDOW: u32 = 5;

/// The sends an address got lately, unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quota {
    last_sent: i64,
    window_start: i64,
    sent: u32,
}

impl Quota {
    fn first(now: i64) -> Self {
        Self {
            last_sent: now,
            window_start: now,
            sent: 1,
        }
    }

    /// The quota after one more send at `now`, or `None` when it allows none.
    fn after_send(current: Option<Self>, now: i64) -> Option<Self> {
        let Some(quota) = current else {
            return Some(Self::first(now));
        };
        if now - quota.last_sent < MIN_INTERVAL_MS {
            None
        } else if now - quota.window_start >= WINDOW_MS {
            Some(Self::first(now))
        } else if quota.sent >= PER_WINDOW {
            None
        } else {
            Some(Self {
                last_sent: now,
                window_start: quota.window_start,
                sent: quota.sent + 1,
            })
        }
    }

    fn parse(item: &Item) -> Option<Self> {
        let n = |name| item.get(name)?.as_n().ok()?.parse::<i64>().ok();
        Some(Self {
            last_sent: n("lastSentAt")?,
            window_start: n("windowStart")?,
            sent: u32::try_from(n("sent")?).ok()?,
        })
    }

    fn item(self, purpose: Purpose, email: &Email) -> Item {
        HashMap::from([
            (PK.to_owned(), item::quota_key(purpose, email)),
            ("lastSentAt".to_owned(), number(self.last_sent)),
            ("windowStart".to_owned(), number(self.window_start)),
            ("sent".to_owned(), number(self.sent)),
            // Forgotten once its window is over.
            (
                EXPIRES_AT.to_owned(),
                number((self.window_start + WINDOW_MS) / 1000 + 1),
            ),
        ])
    }
}

impl MailStore for DynamoUserStore {
    async fn request_mail(
        &self,
        purpose: Purpose,
        email: &Email,
        at: Timestamp,
    ) -> Result<MailQueued, StoreError> {
        let key = item::quota_key(purpose, email);
        let seen = self
            .client()
            .get_item()
            .table_name(&self.table)
            .key(PK, key)
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?
            .item;
        let current = seen.as_ref().and_then(Quota::parse);
        let Some(next) = Quota::after_send(current, at.unix_millis()) else {
            return Ok(MailQueued::OverQuota);
        };
        // Written only if nobody sent since it was read: `lastSentAt` changes with every send.
        let mut quota = Put::builder()
            .table_name(&self.table)
            .set_item(Some(next.item(purpose, email)))
            .expression_attribute_names("#pk", PK);
        quota = match current {
            Some(seen) => quota
                .condition_expression("lastSentAt = :seen")
                .expression_attribute_values(":seen", number(seen.last_sent)),
            None => quota.condition_expression("attribute_not_exists(#pk)"),
        };
        let quota = quota
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        let request = self.new_item_put(item::mail_request_item(purpose, email, at))?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(quota).build())
            .transact_items(request)
            .send()
            .await;
        match result {
            Ok(_) => Ok(MailQueued::Queued),
            // Another request for this address won the race: that one is this minute's send.
            Err(err) if cancelled(&err) => Ok(MailQueued::OverQuota),
            Err(err) => Err(classify(err)),
        }
    }

    async fn put_code(
        &self,
        purpose: Purpose,
        user: UserId,
        digest: &CodeDigest,
        valid_until: Timestamp,
    ) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item::code_item(purpose, user, digest, valid_until)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn try_code(
        &self,
        purpose: Purpose,
        user: UserId,
        digest: &CodeDigest,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let key = item::code_key(purpose, user);
        // The try counts first; a dead, used or exhausted code is refused by the condition.
        let counted = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key(PK, key)
            .update_expression("SET attempts = attempts + :one")
            .condition_expression("attribute_exists(#pk) AND attempts < :max AND validUntil > :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":max", number(MAX_ATTEMPTS))
            .expression_attribute_values(":now", number(at.unix_millis()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let stored = match counted {
            Ok(output) => output.attributes.unwrap_or_default(),
            Err(err) if condition_failed(&err) => return Ok(false),
            Err(err) => return Err(classify(err)),
        };
        let stored = item::parse_code_digest(&stored).map_err(bad_item)?;
        Ok(stored.matches(digest))
    }

    async fn verify_email(
        &self,
        user: UserId,
        digest: &CodeDigest,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        if !self
            .try_code(Purpose::VerifyEmail, user, digest, at)
            .await?
        {
            return Ok(false);
        }
        // The first verification is the one remembered.
        let mark = Update::builder()
            .table_name(&self.table)
            .key(PK, item::user_key(user))
            .update_expression("SET #verified = if_not_exists(#verified, :at)")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#verified", EMAIL_VERIFIED_AT)
            .expression_attribute_values(":at", number(at.unix_millis()))
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(self.consume(Purpose::VerifyEmail, user, digest)?)
            .transact_items(TransactWriteItem::builder().update(mark).build())
            .send()
            .await;
        committed(result)
    }

    async fn reset_password(&self, reset: &PasswordReset<'_>) -> Result<bool, StoreError> {
        let PasswordReset {
            user,
            email,
            code,
            password,
            at,
            locks,
        } = *reset;
        // The new hash, on the address's credential record as long as it is still this user's.
        let credential = self.set_hash(email, user, password, None)?;
        // Every session opened so far ends; the code, read in the mailbox, verifies it too.
        let profile = self.end_sessions(user, at, true)?;
        let mut transaction = self
            .client()
            .transact_write_items()
            .transact_items(self.consume(Purpose::ResetPassword, user, code)?)
            .transact_items(credential)
            .transact_items(profile);
        // The failures counted against the account, and the lock they set, go with the old
        // password.
        for lock in locks {
            transaction = transaction.transact_items(self.delete_item(item::lock_key(lock))?);
        }
        committed(transaction.send().await)
    }
}

impl DynamoUserStore {
    /// Deletes the live code of `purpose` if it is still `digest`: what makes a code single
    /// use however many requests race with it.
    fn consume(
        &self,
        purpose: Purpose,
        user: UserId,
        digest: &CodeDigest,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PK, item::code_key(purpose, user))
            .condition_expression("digest = :digest")
            .expression_attribute_values(
                ":digest",
                AttributeValue::B(digest.as_bytes().to_vec().into()),
            )
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

/// A code-consuming transaction's result. Cancelled: another request used the code first,
/// or the user (or their address) is gone.
pub(super) fn committed(
    result: Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, HttpResponse>>,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(err) if cancelled(&err) => Ok(false),
        Err(err) => Err(classify(err)),
    }
}

/// A transaction refused by one of its conditions (or by a concurrent one on the same item).
fn cancelled<R>(err: &SdkError<TransactWriteItemsError, R>) -> bool {
    matches!(
        err.as_service_error(),
        Some(TransactWriteItemsError::TransactionCanceledException(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_800_000_000_000;

    #[test]
    fn one_send_a_minute_and_five_an_hour() {
        let mut quota = Quota::after_send(None, T);
        assert_eq!(quota, Some(Quota::first(T)));
        assert_eq!(Quota::after_send(quota, T + MIN_INTERVAL_MS - 1), None);
        let mut now = T;
        for sent in 2..=PER_WINDOW {
            now += MIN_INTERVAL_MS;
            quota = Quota::after_send(quota, now);
            assert_eq!(quota.map(|q| q.sent), Some(sent));
        }
        assert_eq!(Quota::after_send(quota, now + MIN_INTERVAL_MS), None);
        // A new hour, a new window.
        assert_eq!(
            Quota::after_send(quota, T + WINDOW_MS),
            Some(Quota::first(T + WINDOW_MS))
        );
    }
}
