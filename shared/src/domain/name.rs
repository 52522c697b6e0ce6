use std::fmt;

/// A first or last name: 1 to 100 characters as sent, no control characters anywhere,
/// not blank; stored trimmed. Any script is welcome; names are shown back as typed. The rules
/// are the ones openapi.yaml states (`maxLength`, `pattern`), so the schema and the code agree.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonName(String);

const MAX_CHARS: usize = 100;

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        if raw.chars().count() > MAX_CHARS {
            return Err("must be at most 100 characters");
        }
        let name = raw.trim();
        if name.is_empty() {
            return Err("must not be blank");
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_unicode() {
        assert_eq!(PersonName::parse("  José ").unwrap().as_str(), "José");
        assert_eq!(PersonName::parse("李小龍").unwrap().as_str(), "李小龍");
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn refuses_long_blank_or_control() {
        assert!(PersonName::parse(&"a".repeat(101)).is_err());
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse("Bob\u{0}by").is_err());
        assert!(PersonName::parse("Bob\nby").is_err());
        assert!(PersonName::parse("Bob\u{7f}").is_err());
        assert!(
            PersonName::parse("\tBob").is_err(),
            "control characters at the edges too"
        );
        assert!(PersonName::parse(&format!(" {}", "a".repeat(100))).is_err());
    }
}
