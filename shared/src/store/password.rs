//! [`PasswordStore`] on DynamoDB: a password change, or an account's deletion, each in one
//! transaction.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};

use super::dynamo::{number, DynamoUserStore};
use super::item::{self, EMAIL_VERIFIED_AT, PK, SESSIONS_ENDED_AT, SESSION_RENEWED_AT};
use super::mail::committed;
use super::{PasswordChange, PasswordStore, StoreError};
use crate::code::Purpose;
use crate::domain::{Email, Timestamp, UserId};
use crate::password::PasswordDigest;

/// DynamoDB's limit on the items of one TransactWriteItems.
const MAX_TRANSACTION_ITEMS: usize = 100;

impl PasswordStore for DynamoUserStore {
    async fn change_password(&self, change: &PasswordChange<'_>) -> Result<bool, StoreError> {
        let PasswordChange {
            user,
            email,
            old,
            new,
            session,
            at,
        } = *change;
        // The hash that was verified, still this user's: a racing change or reset wins alone.
        let credential = self.set_hash(email, user, new, Some(old))?;
        // Every session opened so far ends...
        let profile = self.end_sessions(user, at, false)?;
        // ...but the one the change was made on, which counts as opened just after.
        let kept = Update::builder()
            .table_name(&self.table)
            .key(PK, item::session_key(session))
            .update_expression("SET #renewed = :kept")
            .condition_expression("userId = :user AND revoked = :live")
            .expression_attribute_names("#renewed", SESSION_RENEWED_AT)
            .expression_attribute_values(":kept", number(at.unix_millis() + 1))
            .expression_attribute_values(":user", AttributeValue::S(user.to_string()))
            .expression_attribute_values(":live", AttributeValue::Bool(false))
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(credential)
            .transact_items(profile)
            .transact_items(TransactWriteItem::builder().update(kept).build())
            .send()
            .await;
        committed(result)
    }

    async fn delete_account(
        &self,
        user: UserId,
        email: &Email,
        digest: &PasswordDigest,
    ) -> Result<bool, StoreError> {
        let credential = Delete::builder()
            .table_name(&self.table)
            .key(PK, item::email_key(email))
            .condition_expression("userId = :user AND passwordHash = :digest")
            .expression_attribute_values(":user", AttributeValue::S(user.to_string()))
            .expression_attribute_values(":digest", AttributeValue::S(digest.as_str().to_owned()))
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        let profile = Delete::builder()
            .table_name(&self.table)
            .key(PK, item::user_key(user))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        let mut transaction = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(credential).build())
            .transact_items(TransactWriteItem::builder().delete(profile).build());
        let codes = Purpose::ALL.map(|purpose| item::code_key(purpose, user));
        // The sessions not signed out, as many as the transaction holds beside the rest (a
        // user has a few); any beyond, or opened a moment ago, are dead with the profile and
        // leave with their TTL, as signed-out ones do.
        let sessions = self.session_keys(user, 1).await?;
        let room = MAX_TRANSACTION_ITEMS - 2 - codes.len();
        if sessions.len() > room {
            tracing::warn!(%user, sessions = sessions.len(), "more sessions than one deletion holds; the rest expire");
        }
        for key in codes.into_iter().chain(sessions.into_iter().take(room)) {
            transaction = transaction.transact_items(self.delete_item(key)?);
        }
        committed(transaction.send().await)
    }
}

impl DynamoUserStore {
    /// A transaction's update of the credential record at `email`: `hash` in force, as long as
    /// the record is still `user`'s and, given `old`, its hash is still `old`.
    pub(super) fn set_hash(
        &self,
        email: &Email,
        user: UserId,
        hash: &PasswordDigest,
        old: Option<&PasswordDigest>,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key(PK, item::email_key(email))
            .update_expression("SET passwordHash = :hash")
            .expression_attribute_values(":hash", AttributeValue::S(hash.as_str().to_owned()))
            .expression_attribute_values(":user", AttributeValue::S(user.to_string()));
        let update = match old {
            Some(old) => update
                .condition_expression("userId = :user AND passwordHash = :old")
                .expression_attribute_values(":old", AttributeValue::S(old.as_str().to_owned())),
            None => update.condition_expression("userId = :user"),
        };
        let update = update
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A transaction's update of `user`'s profile: every session opened up to `at` ends
    /// (`sessionsEndedAt`); `verified`: the address counts as proven from `at` on, if it was
    /// not before.
    pub(super) fn end_sessions(
        &self,
        user: UserId,
        at: Timestamp,
        verified: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key(PK, item::user_key(user))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ended", SESSIONS_ENDED_AT)
            .expression_attribute_values(":at", number(at.unix_millis()));
        let update = if verified {
            update
                .update_expression("SET #ended = :at, #verified = if_not_exists(#verified, :at)")
                .expression_attribute_names("#verified", EMAIL_VERIFIED_AT)
        } else {
            update.update_expression("SET #ended = :at")
        };
        let update = update
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A transaction's delete of the item at `key`, whatever it holds.
    pub(super) fn delete_item(&self, key: AttributeValue) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PK, key)
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}
