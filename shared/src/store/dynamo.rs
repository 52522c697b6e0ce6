use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use super::item::{
    self, BadItem, Item, EXPIRES_AT, PK, SESSIONS_BY_USER, SESSIONS_ENDED_AT, SESSION_USER,
};
use super::{NewSession, SessionStore, StoreError, StoredCredentials, UserSessions, UserStore};
use crate::cache::SessionId;
use crate::code::Purpose;
use crate::domain::{Email, Timestamp, User, UserId};
use crate::lockout::{now_millis, Attempt, LockKey, LockPolicy, LockState, Outcome, Reservation};
use crate::password::PasswordDigest;
use crate::session::{FoundSession, RefreshToken, SessionRecord};

/// How often a sign-up retries when DynamoDB cancels its transaction because another one was
/// writing the same key; the retry then sees the winner's item and answers 409. Still
/// conflicting after that is an overloaded key, answered 503.
pub const CONFLICT_RETRIES: u32 = 4;

/// Rounds of read-and-compare-and-set a reservation makes before it gives up; each lost round
/// means another attempt on the same account won, so the account is at or near its lock.
const RESERVE_ROUNDS: u32 = 8;

#[derive(Clone)]
pub struct DynamoUserStore {
    client: Arc<Connection>,
    pub(super) table: String,
}

/// The client, or the SDK configuration to build it from when the first call needs it:
/// building one costs about a quarter of a millisecond, a tenth of a whole init, which a
/// function that finds what it needs in Redis (`/me` on a cache hit) never has to pay.
/// One per process, behind an `Arc`: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Connection {
    Ready(Client),
    Lazy {
        aws: aws_config::SdkConfig,
        client: OnceLock<Client>,
    },
}

impl DynamoUserStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client: Arc::new(Connection::Ready(client)),
            table: table.into(),
        }
    }

    /// A store whose client is built from `aws` (`AWS_ENDPOINT_URL_DYNAMODB` honoured) by its
    /// first call.
    pub fn lazy(aws: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: Arc::new(Connection::Lazy {
                aws: aws.clone(),
                client: OnceLock::new(),
            }),
            table: table.into(),
        }
    }

    pub(super) fn client(&self) -> &Client {
        match self.client.as_ref() {
            Connection::Ready(client) => client,
            Connection::Lazy { aws, client } => client.get_or_init(|| crate::config::dynamodb(aws)),
        }
    }

    /// Opens the connection to DynamoDB with the cheapest call there is (DescribeEndpoints:
    /// no table, no capacity), so a request that follows finds it in the pool. Gives up after
    /// `limit`; a failure is only logged: the request will try again and report it.
    pub async fn warm(client: &Client, limit: std::time::Duration) {
        match tokio::time::timeout(limit, client.describe_endpoints().send()).await {
            Ok(Ok(_)) => tracing::debug!("DynamoDB connection opened at init"),
            Ok(Err(err)) => tracing::warn!(
                error = %describe(&err),
                "DynamoDB warm-up failed; the first request will connect"
            ),
            Err(_) => tracing::warn!(
                limit_ms = limit.as_millis(),
                "DynamoDB warm-up gave up; the first request will connect"
            ),
        }
    }

    pub(super) fn new_item_put(&self, item: item::Item) -> Result<TransactWriteItem, StoreError> {
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
    async fn create(
        &self,
        user: &User,
        digest: &PasswordDigest,
        session: NewSession<'_>,
    ) -> Result<(), StoreError> {
        let profile = self.new_item_put(item::user_item(user))?;
        let credential = self.new_item_put(item::credential_item(user, digest.as_str()))?;
        let session = self.new_item_put(item::session_item(session.record, session.deadline))?;
        // The address's verification message, queued in the same transaction: no user
        // without the request for their code. It does not count against the address's resend
        // quota: a resend right after a sign-up then does what it does for any address.
        let mail = self.new_item_put(item::mail_request_item(
            Purpose::VerifyEmail,
            &user.email,
            Timestamp::now(),
        ))?;
        // The same token on every try, the SDK's own retries included: a try whose commit was
        // acknowledged but whose answer was lost is then answered as a success, not as a
        // conflict with itself (409 to the very client that created the user). The user id is
        // new for every sign-up, so it names this sign-up and nothing else.
        let token = user.id.to_string();
        let mut attempt = 0;
        loop {
            let result = self
                .client()
                .transact_write_items()
                .client_request_token(&token)
                .transact_items(profile.clone())
                .transact_items(credential.clone())
                .transact_items(session.clone())
                .transact_items(mail.clone())
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
                Cancelled::Conflict => {
                    return Err(StoreError::Unavailable(
                        format!("transaction still conflicting after {attempt} retries").into(),
                    ))
                }
                Cancelled::Other => return Err(classify(err)),
            }
        }
    }

    async fn credentials(&self, email: &Email) -> Result<Option<StoredCredentials>, StoreError> {
        let output = self
            .client()
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
            .client()
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
            Err(err) if condition_failed(&err) => Ok(None),
            Err(err) => Err(classify(err)),
        }
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let output = self
            .client()
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

    async fn reserve_attempt(
        &self,
        lock: &LockKey,
        policy: &LockPolicy,
    ) -> Result<Reservation, StoreError> {
        let key = item::lock_key(lock);
        // `None`: the record has not been read yet, so try the one-round-trip path first.
        let mut seen: Option<Option<LockState>> = None;
        for _ in 0..RESERVE_ROUNDS {
            let now = now_millis();
            let written = match &seen {
                None => self.reserve_below_threshold(&key, policy, now).await?,
                Some(current) => match policy.reserve(current.as_ref(), now) {
                    Err(retry_after) => return Ok(Reservation::Locked { retry_after }),
                    Ok(next) => self.replace_lock(&key, current.as_ref(), &next).await?,
                },
            };
            match written {
                Ok(failures) => return Ok(Reservation::Granted(Attempt { failures })),
                Err(current) => seen = Some(current),
            }
        }
        Ok(Reservation::Locked { retry_after: 1 })
    }

    async fn finish_attempt(
        &self,
        lock: &LockKey,
        policy: &LockPolicy,
        attempt: Attempt,
        outcome: Outcome,
    ) -> Result<(), StoreError> {
        // What the record was when the attempt was reserved; a failed or abandoned attempt
        // writes only if `failures` is still that (LockPolicy::finish).
        let assumed = LockState {
            failures: attempt.failures,
            ..LockState::default()
        };
        let Some(next) = policy.finish(&assumed, attempt, outcome, now_millis()) else {
            return Ok(());
        };
        let update = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key(PK, item::lock_key(lock))
            .update_expression("SET #f = :f, #u = :u, #v = #v + :one")
            .expression_attribute_names("#f", "failures")
            .expression_attribute_names("#u", "lockedUntil")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":f", number(next.failures))
            .expression_attribute_values(":u", number(next.locked_until))
            .expression_attribute_values(":one", number(1));
        let update = match outcome {
            // Whatever happened since: a success proves the user. Never re-creates a record
            // that expired meanwhile.
            Outcome::Succeeded => update
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK),
            Outcome::Failed | Outcome::Abandoned => update
                .condition_expression("#f = :mine")
                .expression_attribute_values(":mine", number(attempt.failures)),
        };
        applied(update.send().await).map(drop)
    }
}

impl SessionStore for DynamoUserStore {
    async fn open_session(&self, session: NewSession<'_>) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item::session_item(session.record, session.deadline)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn find_session(
        &self,
        user: UserId,
        session: &SessionId,
    ) -> Result<Option<FoundSession>, StoreError> {
        let items = self
            .read_many(&[item::session_key(session), item::user_key(user)])
            .await?;
        let (mut record, mut profile) = (None, None);
        for found in &items {
            match found.get(PK).and_then(|pk| pk.as_s().ok()) {
                Some(pk) if pk.starts_with("SESSION#") => {
                    record = Some(item::parse_session(found).map_err(bad_item)?);
                }
                Some(_) => profile = Some(found),
                None => return Err(bad_item(BadItem(PK))),
            }
        }
        let (Some(record), Some(profile)) = (record, profile) else {
            return Ok(None);
        };
        if record.user != user {
            return Ok(None);
        }
        Ok(Some(FoundSession {
            record,
            user: item::parse_user(profile).map_err(bad_item)?,
            ended_before: item::parse_sessions_ended_at(profile).map_err(bad_item)?,
        }))
    }

    async fn rotate_session(
        &self,
        record: &SessionRecord,
        next: &RefreshToken,
        rotated: NewSession<'_>,
    ) -> Result<bool, StoreError> {
        let now = rotated.record.rotated_at.unix_millis();
        let result = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key(PK, item::session_key(&record.id))
            .update_expression(
                "SET #g = :next, #c = :digest, #p = :current, #r = :now, #l = :now, #e = :deadline",
            )
            .condition_expression("#g = :judged AND #c = :current AND #v = :false")
            .expression_attribute_names("#g", "generation")
            .expression_attribute_names("#c", "current")
            .expression_attribute_names("#p", "previous")
            .expression_attribute_names("#r", "rotatedAt")
            .expression_attribute_names("#l", "lastUsedAt")
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_names("#v", "revoked")
            .expression_attribute_values(":next", number(next.generation))
            .expression_attribute_values(":judged", number(record.generation))
            .expression_attribute_values(":digest", AttributeValue::S(next.digest().0))
            .expression_attribute_values(":current", AttributeValue::S(record.current.0.clone()))
            .expression_attribute_values(":now", number(now))
            .expression_attribute_values(":deadline", number(rotated.deadline))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        applied(result)
    }

    async fn end_session(&self, user: UserId, session: &SessionId) -> Result<bool, StoreError> {
        let result = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key(PK, item::session_key(session))
            // Out of the user's index too: a revoked session is never listed again.
            .update_expression("SET #v = :true REMOVE #s")
            // Not conditional on `revoked`: a retried write (its first answer lost) must succeed
            // like the first did.
            .condition_expression("attribute_exists(#pk) AND #u = :user")
            .expression_attribute_names("#s", SESSION_USER)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#u", "userId")
            .expression_attribute_names("#v", "revoked")
            .expression_attribute_values(":user", AttributeValue::S(user.to_string()))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        applied(result)
    }

    async fn list_sessions(&self, user: UserId) -> Result<UserSessions, StoreError> {
        let mut keys = vec![item::user_key(user)];
        keys.extend(self.session_keys(user, LIST_PAGES).await?);
        // The index is eventually consistent and holds keys only: the records themselves are
        // read strongly consistently, a hundred at a time.
        let mut sessions = UserSessions::default();
        for chunk in keys.chunks(100) {
            for found in self.read_many(chunk).await? {
                if found.get(PK) == Some(&item::user_key(user)) {
                    sessions.ended_before =
                        item::parse_sessions_ended_at(&found).map_err(bad_item)?;
                    continue;
                }
                let record = item::parse_session(&found).map_err(bad_item)?;
                if record.user == user && !record.revoked {
                    sessions.records.push(record);
                }
            }
        }
        Ok(sessions)
    }

    async fn end_all_sessions(&self, user: UserId, at: Timestamp) -> Result<(), StoreError> {
        let result = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key(PK, item::user_key(user))
            .update_expression("SET #s = :at")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#s", SESSIONS_ENDED_AT)
            .expression_attribute_values(":at", number(at.unix_millis()))
            .send()
            .await;
        // No profile: no session of this user can be live anyway.
        applied(result).map(drop)
    }
}

/// Pages of a user's index read for a list: a thousand sessions and more, far beyond any
/// real user; what is beyond is not listed (and still ends with "sign out everywhere").
const LIST_PAGES: usize = 10;

impl DynamoUserStore {
    /// The keys of `user`'s sessions that are not signed out, from the `sessionsByUser` index
    /// (eventually consistent: a session opened a moment ago may be missing), at most `pages`
    /// pages of it.
    pub(super) async fn session_keys(
        &self,
        user: UserId,
        pages: usize,
    ) -> Result<Vec<AttributeValue>, StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        for _ in 0..pages {
            let output = self
                .client()
                .query()
                .table_name(&self.table)
                .index_name(SESSIONS_BY_USER)
                .key_condition_expression("#s = :user")
                .expression_attribute_names("#s", SESSION_USER)
                .expression_attribute_values(":user", AttributeValue::S(user.to_string()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            keys.extend(
                output
                    .items()
                    .iter()
                    .filter_map(|found| found.get(PK).cloned()),
            );
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(keys)
    }

    /// The items at `keys` (at most 100), read strongly consistently; missing ones are left out.
    async fn read_many(&self, keys: &[AttributeValue]) -> Result<Vec<Item>, StoreError> {
        let mut request = KeysAndAttributes::builder().consistent_read(true);
        for key in keys {
            request = request.keys(HashMap::from([(PK.to_owned(), key.clone())]));
        }
        let request = request
            .build()
            .map_err(|err| StoreError::Internal(err.into()))?;
        let output = self
            .client()
            .batch_get_item()
            .request_items(&self.table, request)
            .send()
            .await
            .map_err(classify)?;
        if output
            .unprocessed_keys
            .as_ref()
            .is_some_and(|unprocessed| !unprocessed.is_empty())
        {
            // Only under throttling; the caller answers 503 and the client retries.
            return Err(StoreError::Unavailable(
                "read throttled: keys left unprocessed".into(),
            ));
        }
        Ok(output
            .responses
            .and_then(|mut tables| tables.remove(&self.table))
            .unwrap_or_default())
    }
}

/// A conditional lock write: the new `failures`, or the record as it was when the condition
/// failed (`None`: there was none).
type LockWrite = Result<u32, Option<LockState>>;

impl DynamoUserStore {
    /// One round trip for the common case, a count that stays below the threshold: increments
    /// on condition that it does (below the threshold there is never a lock, see
    /// [`LockState::locked_until`]). Otherwise hands back the record for [`Self::replace_lock`].
    async fn reserve_below_threshold(
        &self,
        key: &AttributeValue,
        policy: &LockPolicy,
        now: u64,
    ) -> Result<LockWrite, StoreError> {
        let result = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key(PK, key.clone())
            .update_expression(
                "SET #f = if_not_exists(#f, :zero) + :one, #v = if_not_exists(#v, :zero) + :one, #e = :e",
            )
            .condition_expression(
                "attribute_not_exists(#f) OR (#f < :free AND #e > :now)",
            )
            .expression_attribute_names("#f", "failures")
            .expression_attribute_names("#v", "version")
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_values(":zero", number(0))
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":free", number(policy.free_attempts()))
            .expression_attribute_values(":now", number(now / 1000))
            .expression_attribute_values(
                ":e",
                number(now / 1000 + crate::lockout::FAILURE_MEMORY_SECONDS),
            )
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        lock_write(result.map(|output| output.attributes.unwrap_or_default()))
    }

    /// Writes `next` on condition that the record is still `current`.
    async fn replace_lock(
        &self,
        key: &AttributeValue,
        current: Option<&LockState>,
        next: &LockState,
    ) -> Result<LockWrite, StoreError> {
        let update = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key(PK, key.clone())
            .update_expression("SET #f = :f, #u = :u, #e = :e, #v = :v")
            .expression_attribute_names("#f", "failures")
            .expression_attribute_names("#u", "lockedUntil")
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":f", number(next.failures))
            .expression_attribute_values(":u", number(next.locked_until))
            .expression_attribute_values(":e", number(next.expires_at))
            .expression_attribute_values(":v", number(next.version))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let update = match current {
            None => update
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK),
            Some(current) => update
                .condition_expression("#v = :seen")
                .expression_attribute_values(":seen", number(current.version)),
        };
        lock_write(
            update
                .send()
                .await
                .map(|output| output.attributes.unwrap_or_default()),
        )
    }
}

/// Reads a conditional lock write's answer: the count it wrote, or the record it found.
fn lock_write(
    result: Result<Item, SdkError<UpdateItemError, HttpResponse>>,
) -> Result<LockWrite, StoreError> {
    match result {
        Ok(written) => {
            let state = item::parse_lock(&written).map_err(bad_item)?;
            Ok(Ok(state.failures))
        }
        Err(err) => {
            if let Some(UpdateItemError::ConditionalCheckFailedException(failed)) =
                err.as_service_error()
            {
                let current = failed.item().map(item::parse_lock).transpose();
                return Ok(Err(current.map_err(bad_item)?));
            }
            Err(classify(err))
        }
    }
}

/// Whether a conditional `UpdateItem` was applied: refused by its condition is an expected
/// outcome (false), not a failure.
fn applied<T>(
    result: Result<T, SdkError<UpdateItemError, HttpResponse>>,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(err) if condition_failed(&err) => Ok(false),
        Err(err) => Err(classify(err)),
    }
}

/// An `UpdateItem` refused by its condition expression: an expected outcome, not a failure.
pub(super) fn condition_failed(err: &SdkError<UpdateItemError, HttpResponse>) -> bool {
    matches!(
        err.as_service_error(),
        Some(UpdateItemError::ConditionalCheckFailedException(_))
    )
}

pub(super) fn number(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
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
pub(super) fn classify<E>(err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
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
    let source = describe(&err).into();
    if temporary {
        StoreError::Unavailable(source)
    } else {
        StoreError::Internal(source)
    }
}

/// What went wrong with an SDK call, for logs: the kind of failure, the service's error code
/// and message, the transport's own error. Never the HTTP response: its body can hold a
/// credential record (`passwordHash`), which `DisplayErrorContext` would print whole.
pub(crate) fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ConstructionFailure(_) => "the request could not be built".to_owned(),
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                "timeout"
            } else if failure.is_io() {
                "I/O error"
            } else {
                "connection error"
            };
            match failure.as_connector_error() {
                Some(connector) => format!(
                    "could not send the request ({kind}): {}",
                    crate::error::ErrorChain(connector)
                ),
                None => format!("could not send the request ({kind})"),
            }
        }
        SdkError::ResponseError(ctx) => format!(
            "the response could not be read (HTTP {})",
            ctx.raw().status()
        ),
        // No error code: an answer the SDK did not recognise, e.g. one it could not parse.
        SdkError::ServiceError(ctx) => match ctx.err().code() {
            Some(code) => format!("{code}: {}", ctx.err().message().unwrap_or("no message")),
            None => format!(
                "the response could not be read (HTTP {})",
                ctx.raw().status()
            ),
        },
        _ => "unknown SDK error".to_owned(),
    }
}

pub(super) fn bad_item(err: BadItem) -> StoreError {
    StoreError::Internal(err.into())
}
