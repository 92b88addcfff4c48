//! Discovery ranges as people write them: `10.1.0.0/22`, `10.1.0.10-10.1.3.200`,
//! `10.1.0.10-200`, `10.1.0.7`, `printer-3.example.com`, and comma-separated lists of those;
//! and CSV files that link ranges to sites and names (`range,site,name`), with line-numbered errors.
//! Pure: host names are kept as names, resolved by the agent.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// The most addresses one range may cover (a /16): a sweep is bounded, and a typo such as
/// `10.0.0.0/8` is refused rather than run for hours.
pub const MAX_ADDRESSES: u64 = 65_536;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Range {
    /// `first..=last`, inclusive.
    Span { first: Ipv4Addr, last: Ipv4Addr },
    /// A host name, resolved when swept.
    Host(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RangeError {
    #[error("empty range")]
    Empty,
    #[error("{0:?} is not an IPv4 address")]
    BadAddress(String),
    #[error("{0:?}: a prefix length is 0 to 32")]
    BadPrefix(String),
    #[error("{0:?} starts after it ends")]
    Reversed(String),
    #[error("{input:?} covers {count} addresses; at most {MAX_ADDRESSES} (a /16) per range")]
    TooLarge { input: String, count: u64 },
    #[error("{0:?} is neither an address, a range nor a host name")]
    Unrecognised(String),
}

impl Range {
    /// Addresses covered (1 for a host name).
    pub fn len(&self) -> u64 {
        match self {
            Range::Span { first, last } => u64::from(u32::from(*last)) - u64::from(u32::from(*first)) + 1,
            Range::Host(_) => 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// The addresses, in order, without building a list.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let (first, last) = match self {
            Range::Span { first, last } => (u32::from(*first), u32::from(*last)),
            Range::Host(_) => (1, 0),
        };
        (first..=last).map(Ipv4Addr::from)
    }

    /// One range (no commas).
    pub fn parse(input: &str) -> Result<Range, RangeError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(RangeError::Empty);
        }
        let range = if let Some((address, prefix)) = s.split_once('/') {
            let address = address_of(address.trim())?;
            let prefix: u32 = prefix.trim().parse().map_err(|_| RangeError::BadPrefix(s.to_owned()))?;
            if prefix > 32 {
                return Err(RangeError::BadPrefix(s.to_owned()));
            }
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
            let network = u32::from(address) & mask;
            let broadcast = network | !mask;
            // A /31 or /32 has no network and broadcast addresses to skip.
            let (first, last) = if prefix >= 31 { (network, broadcast) } else { (network + 1, broadcast - 1) };
            Range::Span { first: first.into(), last: last.into() }
        } else if let Some((start, end)) = s.split_once('-').filter(|(a, _)| a.trim().parse::<Ipv4Addr>().is_ok()) {
            let first = address_of(start.trim())?;
            let end = end.trim();
            let last = if end.chars().all(|c| c.is_ascii_digit()) && !end.is_empty() {
                // 10.1.0.10-200: the end changes the last octet only.
                let octet: u8 = end.parse().map_err(|_| RangeError::BadAddress(end.to_owned()))?;
                let [a, b, c, _] = first.octets();
                Ipv4Addr::new(a, b, c, octet)
            } else {
                address_of(end)?
            };
            if last < first {
                return Err(RangeError::Reversed(s.to_owned()));
            }
            Range::Span { first, last }
        } else if let Ok(address) = s.parse::<Ipv4Addr>() {
            Range::Span { first: address, last: address }
        } else if is_host_name(s) {
            Range::Host(s.to_ascii_lowercase())
        } else if s.chars().all(|c| c.is_ascii_digit() || c == '.') || s.split('.').count() == 4 {
            return Err(RangeError::BadAddress(s.to_owned()));
        } else {
            return Err(RangeError::Unrecognised(s.to_owned()));
        };
        if range.len() > MAX_ADDRESSES {
            return Err(RangeError::TooLarge { input: s.to_owned(), count: range.len() });
        }
        Ok(range)
    }

    /// A comma-separated list; every item must parse.
    pub fn parse_list(input: &str) -> Result<Vec<Range>, RangeError> {
        let items: Vec<&str> = input.split([',', '\n', ';']).map(str::trim).filter(|s| !s.is_empty()).collect();
        if items.is_empty() {
            return Err(RangeError::Empty);
        }
        items.into_iter().map(Range::parse).collect()
    }
}

fn address_of(s: &str) -> Result<Ipv4Addr, RangeError> {
    s.parse().map_err(|_| RangeError::BadAddress(s.to_owned()))
}

fn is_host_name(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    // "10.0.0.x" is a mistyped address, not a name (and a top-level label is never numeric).
    let address_like = labels.len() == 4 && labels[..3].iter().all(|l| l.chars().all(|c| c.is_ascii_digit()));
    let numeric_tld = labels.last().is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()));
    !address_like
        && !numeric_tld
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        && s.chars().any(|c| c.is_ascii_alphabetic())
}

impl FromStr for Range {
    type Err = RangeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Range::parse(s)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range::Span { first, last } if first == last => write!(f, "{first}"),
            Range::Span { first, last } => write!(f, "{first}-{last}"),
            Range::Host(name) => f.write_str(name),
        }
    }
}

/// One line of a range file: the ranges, the site they belong to and the range's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteRanges {
    pub line: usize,
    /// The range cell as written (trimmed), kept as the range's text.
    pub text: String,
    pub ranges: Vec<Range>,
    pub site: Option<String>,
    pub name: Option<String>,
}

/// An error of a range file, on its line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {error}")]
pub struct CsvError {
    pub line: usize,
    pub error: RangeError,
}

/// Parses a CSV file of `range,site,name` lines (`site` and `name` optional; `#` comments and a
/// header line starting with `range` allowed; a range cell may hold a quoted comma list; `;`
/// separates as well as `,`). Every bad line is reported, not just the first, and the good
/// lines are returned beside them so a caller can check those further in the same pass.
pub fn parse_csv(text: &str) -> (Vec<SiteRanges>, Vec<CsvError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let cells = split_csv(trimmed);
        if line == 1 && cells.first().is_some_and(|c| c.eq_ignore_ascii_case("range")) {
            continue;
        }
        let cell = |i: usize| cells.get(i).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let text = cell(0).unwrap_or_default();
        match Range::parse_list(&text) {
            Ok(ranges) => out.push(SiteRanges { line, text, ranges, site: cell(1), name: cell(2) }),
            Err(error) => errors.push(CsvError { line, error }),
        }
    }
    (out, errors)
}

fn split_csv(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' | ';' if !quoted => cells.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    cells.push(current);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(a: &str, b: &str) -> Range {
        Range::Span { first: a.parse().unwrap(), last: b.parse().unwrap() }
    }

    #[test]
    fn every_supported_format_parses() {
        assert_eq!(Range::parse("10.1.0.0/22").unwrap(), span("10.1.0.1", "10.1.3.254"));
        assert_eq!(Range::parse(" 10.1.0.10-10.1.3.200 ").unwrap(), span("10.1.0.10", "10.1.3.200"));
        assert_eq!(Range::parse("10.1.0.10-200").unwrap(), span("10.1.0.10", "10.1.0.200"));
        assert_eq!(Range::parse("10.1.0.7").unwrap(), span("10.1.0.7", "10.1.0.7"));
        assert_eq!(Range::parse("192.0.2.9/32").unwrap(), span("192.0.2.9", "192.0.2.9"));
        assert_eq!(Range::parse("Printer-3.Example.com").unwrap(), Range::Host("printer-3.example.com".into()));
        let list = Range::parse_list("10.0.0.1, 10.0.1.0/24,copier").unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[1].len(), 254);
        assert_eq!(Range::parse("127.1.0.0/16").unwrap().addresses().count(), 65_534);
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(Range::parse("10.0.0.300"), Err(RangeError::BadAddress("10.0.0.300".into())));
        assert_eq!(Range::parse("10.0.0.0/33"), Err(RangeError::BadPrefix("10.0.0.0/33".into())));
        assert_eq!(Range::parse("10.0.0.9-10.0.0.1"), Err(RangeError::Reversed("10.0.0.9-10.0.0.1".into())));
        assert!(matches!(Range::parse("10.0.0.0/8"), Err(RangeError::TooLarge { count: 16_777_214, .. })));
        assert!(matches!(Range::parse("printer_3!"), Err(RangeError::Unrecognised(_))));
        assert_eq!(Range::parse_list(" , "), Err(RangeError::Empty));
        assert!(Range::parse_list("10.0.0.1, 10.0.0.x").is_err());
    }

    #[test]
    fn csv_files_link_ranges_to_sites_and_report_every_bad_line() {
        let ok =
            parse_csv("range,site,name\n10.1.0.0/24,Lyon,Floor 1\n# comment\n\"10.2.0.1, 10.2.0.9\",Paris\n10.3.0.5\n")
                .0;
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[0].site.as_deref(), Some("Lyon"));
        assert_eq!(ok[0].name.as_deref(), Some("Floor 1"));
        assert_eq!(ok[1].text, "10.2.0.1, 10.2.0.9");
        assert_eq!(ok[1].name, None);
        assert_eq!(ok[1].ranges.len(), 2);
        assert_eq!(ok[1].line, 4);
        assert_eq!(ok[2].site, None);
        let (good, errors) = parse_csv("10.1.0.0/24,Lyon\n10.1.0.0/33,Paris\nnope!,Nice\n");
        assert_eq!(good.len(), 1);
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![2, 3]);
        assert!(errors[0].to_string().starts_with("line 2:"));
    }
}
