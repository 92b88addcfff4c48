use std::fmt;

use serde::{Deserialize, Serialize};

/// An e-mail address as typed by a person, trimmed, with a plausible shape.
///
/// The check is deliberately modest (one `@`, a local part, a domain with a dot, no spaces,
/// at most 254 characters): the only real test of an address is a mail that arrives.
/// Comparisons in the database are case-insensitive; [`Email::key`] gives the folded form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("an e-mail address is required")]
    Empty,
    #[error("an e-mail address is at most 254 characters")]
    TooLong,
    #[error("{0:?} is not an e-mail address (expected name@example.com)")]
    Malformed(String),
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let malformed = || EmailError::Malformed(s.to_owned());
        let (local, domain) = s.split_once('@').ok_or_else(malformed)?;
        let well_formed = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(malformed());
        }
        Ok(Email(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form used for uniqueness and look-ups.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
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
    fn accepts_ordinary_addresses_and_trims_them() {
        let email = Email::parse("  Ada.Lovelace@Example.FR ").unwrap();
        assert_eq!(email.as_str(), "Ada.Lovelace@Example.FR");
        assert_eq!(email.key(), "ada.lovelace@example.fr");
    }

    #[test]
    fn rejects_what_cannot_be_an_address() {
        for bad in ["ada", "@example.fr", "ada@", "ada@example", "a b@example.fr", "a@b@c.fr", "ada@.fr"] {
            assert!(matches!(Email::parse(bad), Err(EmailError::Malformed(_))), "{bad}");
        }
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        let long = format!("{}@example.fr", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }
}
