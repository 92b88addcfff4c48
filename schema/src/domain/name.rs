use serde::{Deserialize, Serialize};

/// A human-given name (tenant, site, token, user's display name): trimmed, 1 to 200
/// characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("a name is required")]
    Empty,
    #[error("a name is at most 200 characters")]
    TooLong,
    #[error("a name cannot contain control characters")]
    ControlCharacter,
}

impl DisplayName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(NameError::TooLong);
        }
        if s.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        Ok(DisplayName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        DisplayName::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Siège Lyon ").unwrap().as_str(), "Siège Lyon");
        assert_eq!(DisplayName::parse(" \t "), Err(NameError::Empty));
        assert_eq!(DisplayName::parse(&"é".repeat(201)), Err(NameError::TooLong));
        assert!(DisplayName::parse(&"é".repeat(200)).is_ok());
        assert_eq!(DisplayName::parse("a\u{7}b"), Err(NameError::ControlCharacter));
    }
}
