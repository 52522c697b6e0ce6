use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use aws_sdk_dynamodb::Client;

use super::item::{self, BadItem, PK};
use super::{StoreError, StoredCredentials, UserStore};
use crate::domain::{Email, Timestamp, User, UserId};
use crate::password::PasswordDigest;

/// How often a sign-up retries when DynamoDB cancels its transaction because another one was
/// writing the same key; the retry then sees the winner's item and answers 409.
const CONFLICT_RETRIES: u32 = 4;

#[derive(Clone)]
pub struct DynamoUserStore {
    client: Client,
    table: String,
}

impl DynamoUserStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Opens the connection to DynamoDB with the cheapest call there is (DescribeEndpoints:
    /// no table, no capacity), so a request that follows finds it in the pool. Gives up after
    /// `limit`; a failure is only logged: the request will try again and report it.
    pub async fn warm(client: &Client, limit: std::time::Duration) {
        match tokio::time::timeout(limit, client.describe_endpoints().send()).await {
            Ok(Ok(_)) => tracing::debug!("DynamoDB connection opened at init"),
            Ok(Err(err)) => tracing::warn!(
                error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err),
                "DynamoDB warm-up failed; the first request will connect"
            ),
            Err(_) => tracing::warn!(
                limit_ms = limit.as_millis(),
                "DynamoDB warm-up gave up; the first request will connect"
            ),
        }
    }

    fn new_item_put(&self, item: item::Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl UserStore for DynamoUserStore {
    async fn create(&self, user: &User, digest: &PasswordDigest) -> Result<(), StoreError> {
        let profile = self.new_item_put(item::user_item(user))?;
        let credential = self.new_item_put(item::credential_item(user, digest.as_str()))?;
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .transact_items(profile.clone())
                .transact_items(credential.clone())
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            match cancellation(&err) {
                Cancelled::EmailTaken => return Err(StoreError::EmailTaken),
                Cancelled::Conflict if attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                _ => return Err(classify(err)),
            }
        }
    }

    async fn credentials(&self, email: &Email) -> Result<Option<StoredCredentials>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, item::email_key(email))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(found) = output.item else {
            return Ok(None);
        };
        let (user_id, digest) = item::parse_credentials(&found).map_err(bad_item)?;
        Ok(Some(StoredCredentials {
            user_id,
            digest: PasswordDigest::from_stored(digest),
        }))
    }

    async fn record_login(&self, id: UserId, at: Timestamp) -> Result<Option<User>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, item::user_key(id))
            .update_expression("SET lastLogin = :at")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":at", AttributeValue::S(at.to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let attributes = output.attributes.unwrap_or_default();
                item::parse_user(&attributes).map(Some).map_err(bad_item)
            }
            Err(SdkError::ServiceError(ctx))
                if matches!(
                    ctx.err(),
                    UpdateItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                Ok(None)
            }
            Err(err) => Err(classify(err)),
        }
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, item::user_key(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output
            .item
            .map(|found| item::parse_user(&found).map_err(bad_item))
            .transpose()
    }
}

enum Cancelled {
    EmailTaken,
    Conflict,
    Other,
}

/// Reads the per-item reasons of a cancelled transaction (profile first, credential second).
fn cancellation<R>(err: &SdkError<TransactWriteItemsError, R>) -> Cancelled {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    else {
        return Cancelled::Other;
    };
    let codes: Vec<&str> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|reason| reason.code().unwrap_or("None"))
        .collect();
    if codes.get(1) == Some(&"ConditionalCheckFailed") {
        Cancelled::EmailTaken
    } else if codes.contains(&"TransactionConflict") {
        Cancelled::Conflict
    } else {
        Cancelled::Other
    }
}

/// 20, 40, 80 ms… plus up to 20 ms of jitter so retrying racers spread out.
fn backoff(attempt: u32) -> Duration {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 20;
    Duration::from_millis(10 * 2u64.pow(attempt) + jitter)
}

/// Transport failures, timeouts, throttling and 5xx answers are temporary: 503. Anything else
/// (a missing table, a malformed request) is our bug: 500.
fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let temporary = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(ctx) => matches!(
            ctx.err().code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "LimitExceededException"
            )
        ),
        _ => false,
    };
    let source = aws_sdk_dynamodb::error::DisplayErrorContext(err)
        .to_string()
        .into();
    if temporary {
        StoreError::Unavailable(source)
    } else {
        StoreError::Internal(source)
    }
}

fn bad_item(err: BadItem) -> StoreError {
    StoreError::Internal(err.into())
}
