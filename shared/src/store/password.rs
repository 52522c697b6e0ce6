//! [`PasswordStore`] on DynamoDB: a password change, or an account's deletion, each in one
//! transaction.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};

use super::dynamo::{number, DynamoUserStore};
use super::item::{self, PK, SESSIONS_ENDED_AT, SESSION_RENEWED_AT};
use super::mail::committed;
use super::{PasswordChange, PasswordStore, StoreError};
use crate::code::Purpose;
use crate::domain::{Email, UserId};
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
        let credential = Update::builder()
            .table_name(&self.table)
            .key(PK, item::email_key(email))
            .update_expression("SET passwordHash = :new")
            .condition_expression("userId = :user AND passwordHash = :old")
            .expression_attribute_values(":new", AttributeValue::S(new.as_str().to_owned()))
            .expression_attribute_values(":old", AttributeValue::S(old.as_str().to_owned()))
            .expression_attribute_values(":user", AttributeValue::S(user.to_string()))
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        // Every session opened so far ends...
        let profile = Update::builder()
            .table_name(&self.table)
            .key(PK, item::user_key(user))
            .update_expression("SET #ended = :at")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ended", SESSIONS_ENDED_AT)
            .expression_attribute_values(":at", number(at.unix_millis()))
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
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
            .transact_items(TransactWriteItem::builder().update(credential).build())
            .transact_items(TransactWriteItem::builder().update(profile).build())
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
            let gone = Delete::builder()
                .table_name(&self.table)
                .key(PK, key)
                .build()
                .map_err(|err| StoreError::Internal(err.into()))?;
            transaction =
                transaction.transact_items(TransactWriteItem::builder().delete(gone).build());
        }
        committed(transaction.send().await)
    }
}
