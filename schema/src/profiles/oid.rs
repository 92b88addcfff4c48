//! Object identifiers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An SNMP object identifier (`1.3.6.1.2.1.1.1.0`), compared arc by arc.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Oid(Vec<u32>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not an OID (expected dotted numbers such as 1.3.6.1.2.1.1.1.0)")]
pub struct OidError(pub String);

impl Oid {
    pub fn new(arcs: Vec<u32>) -> Oid {
        Oid(arcs)
    }

    pub fn arcs(&self) -> &[u32] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `self` lies in the subtree rooted at `prefix` (or is `prefix`).
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The arcs after `prefix`, when `self` is below it.
    pub fn suffix(&self, prefix: &Oid) -> Option<&[u32]> {
        self.0.strip_prefix(prefix.0.as_slice())
    }

    /// `self` followed by `more` arcs.
    pub fn child(&self, more: &[u32]) -> Oid {
        let mut arcs = self.0.clone();
        arcs.extend_from_slice(more);
        Oid(arcs)
    }

    /// The enterprise number of an OID under `1.3.6.1.4.1`.
    pub fn enterprise(&self) -> Option<u32> {
        match self.0.as_slice() {
            [1, 3, 6, 1, 4, 1, enterprise, ..] => Some(*enterprise),
            _ => None,
        }
    }
}

impl FromStr for Oid {
    type Err = OidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim().trim_start_matches('.');
        if trimmed.is_empty() {
            return Err(OidError(s.to_owned()));
        }
        trimmed
            .split('.')
            .map(|arc| arc.parse::<u32>().map_err(|_| OidError(s.to_owned())))
            .collect::<Result<Vec<_>, _>>()
            .map(Oid)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for arc in &self.0 {
            if !first {
                f.write_str(".")?;
            }
            write!(f, "{arc}")?;
            first = false;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

impl Serialize for Oid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Oid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compares_and_prints() {
        let a: Oid = ".1.3.6.1.2.1.1.1.0".parse().unwrap();
        assert_eq!(a.to_string(), "1.3.6.1.2.1.1.1.0");
        let b: Oid = "1.3.6.1.2.1.1.10".parse().unwrap();
        assert!(a < b, "arc-wise, not text-wise");
        assert!(a.starts_with(&"1.3.6.1.2.1.1".parse().unwrap()));
        assert_eq!("1.3.6.1.4.1.2435.2".parse::<Oid>().unwrap().enterprise(), Some(2435));
        for bad in ["", "1..3", "1.x.3", "1.3.-1"] {
            assert!(bad.parse::<Oid>().is_err(), "{bad}");
        }
    }
}
