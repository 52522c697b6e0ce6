//! The DynamoDB stream's records, read down to what the mailer needs: the new `MAIL#`
//! items' purpose and address. Anything else in a batch is skipped, never an error: a record
//! the mailer cannot use would otherwise be retried until it expires, holding up its shard.

use std::collections::HashMap;

use serde::Deserialize;
use shared::code::Purpose;
use shared::domain::Email;

#[derive(Debug, Deserialize)]
struct StreamEvent {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
}

#[derive(Debug, Deserialize)]
struct Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    #[serde(default)]
    dynamodb: Option<Change>,
}

#[derive(Debug, Deserialize)]
struct Change {
    #[serde(rename = "NewImage", default)]
    new_image: HashMap<String, Attribute>,
}

/// One attribute in DynamoDB's JSON (`{"S": "…"}`); only strings matter here.
#[derive(Debug, Deserialize)]
struct Attribute {
    #[serde(rename = "S")]
    s: Option<String>,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRequest {
    pub purpose: Purpose,
    pub email: Email,
}

/// What a batch asks for, and how many of its records were not requests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub requests: Vec<MailRequest>,
    pub skipped: usize,
}

pub fn parse(event: &serde_json::Value) -> Batch {
    let Ok(event) = StreamEvent::deserialize(event) else {
        tracing::warn!("not a DynamoDB stream event; ignored");
        return Batch::default();
    };
    let mut batch = Batch::default();
    for record in event.records {
        match request(&record) {
            Some(request) => batch.requests.push(request),
            None => batch.skipped += 1,
        }
    }
    batch
}

fn request(record: &Record) -> Option<MailRequest> {
    if record.event_name != "INSERT" {
        return None;
    }
    let image = &record.dynamodb.as_ref()?.new_image;
    let text = |name: &str| image.get(name)?.s.as_deref();
    if !text("pk")?.starts_with("MAIL#") {
        return None;
    }
    Some(MailRequest {
        purpose: Purpose::parse(text("purpose")?)?,
        email: Email::parse(text("email")?).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(name: &str, image: serde_json::Value) -> serde_json::Value {
        json!({"eventName": name, "eventSource": "aws:dynamodb",
               "dynamodb": {"NewImage": image, "StreamViewType": "NEW_IMAGE"}})
    }

    #[test]
    fn reads_inserted_requests_and_skips_everything_else() {
        let request = json!({"pk": {"S": "MAIL#1"}, "purpose": {"S": "verify"},
                             "email": {"S": "Zoe@Example.com"}, "expiresAt": {"N": "1"}});
        let event = json!({"Records": [
            record("INSERT", request.clone()),
            record("MODIFY", request.clone()),
            record("INSERT", json!({"pk": {"S": "USER#1"}, "email": {"S": "a@b.co"}})),
            record("INSERT", json!({"pk": {"S": "MAIL#2"}, "purpose": {"S": "launch"},
                                    "email": {"S": "a@b.co"}})),
            record("INSERT", json!({"pk": {"S": "MAIL#3"}, "purpose": {"S": "verify"},
                                    "email": {"S": "not an address"}})),
            record("INSERT", json!({"pk": {"N": "1"}})),
            {"eventName": "INSERT"},
        ]});
        let batch = parse(&event);
        assert_eq!(
            batch.requests,
            vec![MailRequest {
                purpose: Purpose::VerifyEmail,
                email: Email::parse("zoe@example.com").unwrap()
            }]
        );
        assert_eq!(batch.skipped, 6);
    }

    #[test]
    fn anything_but_a_stream_event_is_an_empty_batch() {
        for event in [
            json!(null),
            json!([]),
            json!({"Records": "x"}),
            json!("text"),
        ] {
            assert_eq!(parse(&event), Batch::default(), "{event}");
        }
    }
}
