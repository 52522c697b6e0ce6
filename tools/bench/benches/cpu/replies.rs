//! Redis replies without Redis: every command the functions send is answered by its name with
//! what a healthy server would say for a live session and a full bucket.

use std::sync::Arc;

use redis::Value;
use shared::cache::Responder;

/// What `GET {u:…}:profile` finds.
pub enum Profile {
    Cached(String),
    Missing,
}

pub fn responder(profile: Profile) -> Responder {
    let profile = match profile {
        Profile::Cached(json) => Value::BulkString(json.into_bytes()),
        Profile::Missing => Value::Nil,
    };
    let session_expiry = Value::BulkString(b"99999999999".to_vec());
    Arc::new(move |packed: &[u8]| {
        command_names(packed)
            .map(|name| match name {
                // take-token script: no wait
                b"EVAL" => Value::Int(0),
                // start-session script
                b"EVALSHA" => Value::Int(1),
                b"DEL" => Value::Int(0),
                b"SET" => Value::Okay,
                b"HGET" => session_expiry.clone(),
                b"GET" => profile.clone(),
                _ => Value::Nil,
            })
            .collect()
    })
}

/// The name of each command in RESP-packed bytes (`*<n>\r\n$<len>\r\n<name>\r\n…`).
fn command_names(packed: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = packed;
    std::iter::from_fn(move || loop {
        let (line, after) = split_line(rest)?;
        rest = after;
        let Some(count) = line.strip_prefix(b"*") else {
            continue;
        };
        let mut name = None;
        for index in 0..parse(count)? {
            let (header, after) = split_line(rest)?;
            let len = parse(header.strip_prefix(b"$")?)?;
            let value = after.get(..len)?;
            rest = after.get(len + 2..)?;
            if index == 0 {
                name = Some(value);
            }
        }
        return name;
    })
}

fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.windows(2).position(|w| w == b"\r\n")?;
    Some((&bytes[..end], &bytes[end + 2..]))
}

fn parse(digits: &[u8]) -> Option<usize> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}
