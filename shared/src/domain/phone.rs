use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{FieldReader, Reason};

/// `+` followed by one to three digits, as ITU country calling codes are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, Reason> {
        let code = raw.trim();
        let digits = code
            .strip_prefix('+')
            .ok_or("must be '+' and 1 to 3 digits")?;
        if (1..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code.to_owned()))
        } else {
            Err("must be '+' and 1 to 3 digits")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CountryCode {
    type Error = Reason;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> Self {
        code.0
    }
}

/// One phone of a user, in the contract's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    pub number: u64,
    pub area_code: u32,
    pub country_code: CountryCode,
}

/// E.164 allows at most 15 digits in a whole number.
const MAX_NUMBER: u64 = 999_999_999_999_999;
const MAX_AREA_CODE: u32 = 99_999;
pub const MAX_PHONES: usize = 10;

impl Phone {
    /// Parses `phones`: a list of at most ten phone objects, every sub-field required.
    pub(super) fn parse_list(
        reader: &mut FieldReader,
        field: &str,
        value: &Value,
    ) -> Result<Vec<Phone>, Reason> {
        let items = value.as_array().ok_or("must be a list")?;
        if items.len() > MAX_PHONES {
            return Err("must have at most 10 phones");
        }
        let mut phones = Vec::with_capacity(items.len());
        let mut complete = true;
        for (i, item) in items.iter().enumerate() {
            let path = format!("{field}[{i}]");
            let Some(object) = item.as_object() else {
                reader.invalid(path, "must be an object");
                complete = false;
                continue;
            };
            let number = reader.required(object, &path, "number", |_, _, v| whole(v, MAX_NUMBER));
            let area_code = reader.required(object, &path, "area_code", |_, _, v| {
                whole(v, MAX_AREA_CODE.into()).map(|n| n as u32)
            });
            let country_code = reader.required(object, &path, "country_code", |_, _, v| {
                CountryCode::parse(super::fields::string(v)?)
            });
            match (number, area_code, country_code) {
                (Some(number), Some(area_code), Some(country_code)) => phones.push(Phone {
                    number,
                    area_code,
                    country_code,
                }),
                _ => complete = false,
            }
        }
        // Problems inside the list were recorded per sub-field; the list itself is fine.
        Ok(if complete { phones } else { Vec::new() })
    }
}

/// A JSON integer in `0..=max`; strings, fractions and negatives are refused.
fn whole(value: &Value, max: u64) -> Result<u64, Reason> {
    match value.as_u64() {
        Some(n) if n <= max => Ok(n),
        Some(_) => Err("is too large"),
        None => Err("must be a non-negative whole number"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes() {
        for ok in ["+1", "+55", "+351"] {
            assert_eq!(CountryCode::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["55", "+", "+1234", "+5a", "++55", "+ 55", "+٥٥"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn whole_numbers_only() {
        assert_eq!(
            whole(&serde_json::json!(988887888), MAX_NUMBER),
            Ok(988887888)
        );
        for bad in [
            serde_json::json!(-1),
            serde_json::json!(1.5),
            serde_json::json!("988887888"),
            serde_json::json!(true),
            serde_json::json!(1e300),
        ] {
            assert!(whole(&bad, MAX_NUMBER).is_err(), "{bad}");
        }
        assert!(whole(&serde_json::json!(10_000_000_000_000_000u64), MAX_NUMBER).is_err());
    }
}
