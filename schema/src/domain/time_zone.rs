use std::fmt;

use serde::{Deserialize, Serialize};

/// An IANA time zone name (`Europe/Paris`), checked against the tz database compiled in.
/// Sites carry one: schedules and billing periods are in the site's local time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown time zone {0:?}: expected an IANA name such as Europe/Paris")]
pub struct TimeZoneError(pub String);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, TimeZoneError> {
        let s = raw.trim();
        s.parse::<chrono_tz::Tz>().map(|tz| TimeZoneName(tz.name().to_owned())).map_err(|_| TimeZoneError(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0.parse().expect("invariant: a TimeZoneName was parsed from the same tz database")
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = TimeZoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TimeZoneName::parse(&value)
    }
}

impl From<TimeZoneName> for String {
    fn from(value: TimeZoneName) -> Self {
        value.0
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_iana_zones_and_refuses_others() {
        assert_eq!(TimeZoneName::parse(" Europe/Paris ").unwrap().as_str(), "Europe/Paris");
        assert_eq!(TimeZoneName::parse("UTC").unwrap().tz(), chrono_tz::UTC);
        assert_eq!(TimeZoneName::parse("Europe/Lyon"), Err(TimeZoneError("Europe/Lyon".into())));
        assert!(TimeZoneName::parse("").is_err());
    }
}
