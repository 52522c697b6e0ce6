use std::fmt;

/// A syntactically valid e-mail address, trimmed and lower-cased. Uniqueness is enforced on
/// the stored key, so the normal form lives here and nowhere else.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";

impl Email {
    /// A deliberately strict dot-atom form: what real mailboxes use, without quoted local
    /// parts, comments or IP literals that only make lookups ambiguous.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_ascii_lowercase();
        let invalid = "is not a valid e-mail address";
        if email.len() > MAX_LEN {
            return Err("is too long");
        }
        let (local, domain) = email.split_once('@').ok_or(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= MAX_LOCAL_LEN
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || LOCAL_SPECIALS.as_bytes().contains(&b))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && !tld.bytes().all(|b| b.is_ascii_digit()));
        if local_ok && domain_ok {
            Ok(Self(email))
        } else {
            Err(invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Used as a hint for the password strength check (a password made of the address is weak).
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_surrounding_space() {
        let email = Email::parse("  Hello@World.COM ").unwrap();
        assert_eq!(email.as_str(), "hello@world.com");
        assert_eq!(email.local_part(), "hello");
    }

    #[test]
    fn accepts_common_addresses() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.com.br",
            "o'neil@xn--bcher-kva.example",
            "x_y-z@my-domain.io",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_malformed_addresses() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("a@{}.com", "b".repeat(250));
        for bad in [
            "plainaddress",
            "@example.com",
            "user@",
            "user@localhost",
            "user@@example.com",
            "user@exa mple.com",
            "us er@example.com",
            ".user@example.com",
            "user.@example.com",
            "us..er@example.com",
            "user@-example.com",
            "user@example..com",
            "user@example.c",
            "user@127.0.0.1",
            "usér@example.com",
            "\"quoted\"@example.com",
            long_local.as_str(),
            long_total.as_str(),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
