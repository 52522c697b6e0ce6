//! Reads fields out of a JSON object, collecting every missing and invalid one so a client
//! learns all its mistakes from one response.

use serde_json::{Map, Value};

use crate::error::{ApiError, FieldProblem};

/// What a field parser returns when the value is present but wrong.
pub type Reason = &'static str;

#[derive(Default)]
pub struct FieldReader {
    missing: Vec<FieldProblem>,
    invalid: Vec<FieldProblem>,
}

impl FieldReader {
    /// Reads `object[key]` (reported as `path.key`). Absent, `null` and blank strings count
    /// as missing; anything `parse` refuses counts as invalid.
    pub fn required<T>(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        key: &str,
        parse: impl FnOnce(&mut Self, &str, &Value) -> Result<T, Reason>,
    ) -> Option<T> {
        let field = if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        };
        match object.get(key) {
            None | Some(Value::Null) => {
                self.missing.push(FieldProblem::new(field, "is required"));
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.missing.push(FieldProblem::new(field, "is required"));
                None
            }
            Some(value) => match parse(self, &field, value) {
                Ok(parsed) => Some(parsed),
                Err(reason) => {
                    self.invalid.push(FieldProblem::new(field, reason));
                    None
                }
            },
        }
    }

    /// Records a problem found while parsing inside a field (e.g. one phone of the list).
    pub fn invalid(&mut self, field: impl Into<String>, reason: Reason) {
        self.invalid.push(FieldProblem::new(field, reason));
    }

    /// Missing fields win over invalid ones: a client fixes the shape first.
    pub fn finish<T>(self, parsed: Option<T>) -> Result<T, ApiError> {
        if !self.missing.is_empty() {
            return Err(ApiError::MissingFields(self.missing));
        }
        match parsed {
            Some(value) if self.invalid.is_empty() => Ok(value),
            _ => Err(ApiError::InvalidFields(self.invalid)),
        }
    }
}

/// The string inside a JSON value, or the reason it is not one.
pub fn string(value: &Value) -> Result<&str, Reason> {
    value.as_str().ok_or("must be a string")
}
