//! A walk: every varbind read from one device, sorted by OID. It is what an agent uploads
//! (the raw reading) and what a `.snmprec` recording holds.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::oid::Oid;
use super::value::Value;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Walk {
    values: BTreeMap<Oid, Value>,
    /// Pages of the device's embedded web server that the read plan asked for, by path.
    pages: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct SnmprecError {
    pub line: usize,
    pub reason: String,
}

impl Walk {
    pub fn new() -> Walk {
        Walk::default()
    }

    pub fn insert(&mut self, oid: Oid, value: Value) {
        self.values.insert(oid, value);
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Keeps a page of the embedded web server.
    pub fn insert_page(&mut self, path: &str, body: Vec<u8>) {
        self.pages.insert(path.to_owned(), body);
    }

    pub fn page(&self, path: &str) -> Option<&[u8]> {
        self.pages.get(path).map(Vec::as_slice)
    }

    pub fn pages(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.pages.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn get(&self, oid: &Oid) -> Option<&Value> {
        self.values.get(oid).filter(|v| !matches!(v, Value::Missing))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Oid, &Value)> {
        self.values.iter()
    }

    /// The first varbind strictly after `oid` (what GETNEXT answers).
    pub fn next_after(&self, oid: &Oid) -> Option<(&Oid, &Value)> {
        self.values.range((Bound::Excluded(oid.clone()), Bound::Unbounded)).next()
    }

    /// Removes a varbind (the simulator clears an alert).
    pub fn remove(&mut self, oid: &Oid) -> Option<Value> {
        self.values.remove(oid)
    }

    /// Mutable access to one value (the simulator's living values).
    pub fn get_mut(&mut self, oid: &Oid) -> Option<&mut Value> {
        self.values.get_mut(oid)
    }

    /// Every varbind below `prefix`, with the arcs after it.
    pub fn subtree<'a>(&'a self, prefix: &'a Oid) -> impl Iterator<Item = (&'a [u32], &'a Value)> + 'a {
        self.values
            .range((Bound::Excluded(prefix.clone()), Bound::Unbounded))
            .take_while(move |(oid, _)| oid.starts_with(prefix))
            .filter(|(_, v)| !matches!(v, Value::Missing))
            .filter_map(move |(oid, v)| oid.suffix(prefix).map(|s| (s, v)))
    }

    /// A conceptual table below `entry` (`…Table.1`): rows by index, each row's values by column
    /// number. `entry.column.index…` is how every SNMP table is laid out.
    pub fn table<'a>(&'a self, entry: &'a Oid) -> BTreeMap<Vec<u32>, BTreeMap<u32, &'a Value>> {
        let mut rows: BTreeMap<Vec<u32>, BTreeMap<u32, &Value>> = BTreeMap::new();
        for (suffix, value) in self.subtree(entry) {
            if let [column, index @ ..] = suffix
                && !index.is_empty()
            {
                rows.entry(index.to_vec()).or_default().insert(*column, value);
            }
        }
        rows
    }

    /// True when anything lies below `prefix`.
    pub fn has_subtree(&self, prefix: &Oid) -> bool {
        self.subtree(prefix).next().is_some()
    }

    /// Parses a `.snmprec` recording (`OID|TAG|VALUE` per line; a tag ending in `x` means a
    /// hex-encoded value). Fails on the first malformed line, naming it.
    pub fn from_snmprec(text: &str) -> Result<Walk, SnmprecError> {
        let mut walk = Walk::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |reason: String| SnmprecError { line: number + 1, reason };
            let mut parts = line.splitn(3, '|');
            let (Some(oid), Some(tag), Some(raw)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(fail("expected OID|TAG|VALUE".into()));
            };
            let oid: Oid = oid.parse().map_err(|e: super::oid::OidError| fail(e.to_string()))?;
            let (tag, is_hex) = match tag.strip_suffix('x') {
                Some(tag) => (tag, true),
                None => (tag, false),
            };
            let bytes = if is_hex {
                decode_hex(raw).ok_or_else(|| fail(format!("{raw:?} is not hex")))?
            } else {
                raw.as_bytes().to_vec()
            };
            let value = value_of(tag, bytes).map_err(fail)?;
            walk.insert(oid, value);
        }
        Ok(walk)
    }

    /// Writes the varbinds as a `.snmprec` recording that `from_snmprec` reads back to the same
    /// walk: strings and opaque values in hex (`4x`), so no byte is lost to an encoding, a
    /// newline or a `|` inside a value; missing values as tag 129 (noSuchInstance). Pages are
    /// not part of the format; they travel beside it.
    pub fn to_snmprec(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(self.values.len() * 48);
        for (oid, value) in &self.values {
            // Writing into a String cannot fail.
            let _ = match value {
                Value::Integer(v) => writeln!(out, "{oid}|2|{v}"),
                Value::OctetString(bytes) => writeln!(out, "{oid}|4x|{}", encode_hex(bytes)),
                Value::Null => writeln!(out, "{oid}|5|"),
                Value::ObjectId(v) => writeln!(out, "{oid}|6|{v}"),
                Value::IpAddress([a, b, c, d]) => writeln!(out, "{oid}|64|{a}.{b}.{c}.{d}"),
                Value::Counter32(v) => writeln!(out, "{oid}|65|{v}"),
                Value::Gauge32(v) => writeln!(out, "{oid}|66|{v}"),
                Value::TimeTicks(v) => writeln!(out, "{oid}|67|{v}"),
                Value::Opaque(bytes) => writeln!(out, "{oid}|68x|{}", encode_hex(bytes)),
                Value::Counter64(v) => writeln!(out, "{oid}|70|{v}"),
                Value::Missing => writeln!(out, "{oid}|129|"),
            };
        }
        out
    }
}

/// Every `.snmprec` recording below `root` (sub-folders included), sorted by path: the corpus
/// that tests and benchmarks read. Fails naming the file that is unreadable or malformed.
pub fn read_recordings(root: &std::path::Path) -> Result<Vec<(std::path::PathBuf, Walk)>, String> {
    let mut folders = vec![root.to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = folders.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "snmprec") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let walk = Walk::from_snmprec(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok((path, walk))
        })
        .collect()
}

fn encode_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl FromIterator<(Oid, Value)> for Walk {
    fn from_iter<T: IntoIterator<Item = (Oid, Value)>>(iter: T) -> Self {
        Walk { values: iter.into_iter().collect(), pages: BTreeMap::new() }
    }
}

fn decode_hex(raw: &str) -> Option<Vec<u8>> {
    let raw = raw.trim();
    if !raw.len().is_multiple_of(2) {
        return None;
    }
    (0..raw.len()).step_by(2).map(|i| u8::from_str_radix(raw.get(i..i + 2)?, 16).ok()).collect()
}

fn text(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map(str::trim).map_err(|_| "value is not text".to_owned())
}

fn number<T: std::str::FromStr>(bytes: &[u8], tag: &str) -> Result<T, String> {
    let t = text(bytes)?;
    t.parse().map_err(|_| format!("{t:?} is not a valid value for tag {tag}"))
}

fn value_of(tag: &str, bytes: Vec<u8>) -> Result<Value, String> {
    Ok(match tag {
        "2" => Value::Integer(number(&bytes, tag)?),
        "4" => Value::OctetString(bytes),
        "5" => Value::Null,
        "6" => Value::ObjectId(text(&bytes)?.parse().map_err(|e: super::oid::OidError| e.to_string())?),
        "64" => {
            let ip = if bytes.len() == 4 {
                [bytes[0], bytes[1], bytes[2], bytes[3]]
            } else {
                let parsed: std::net::Ipv4Addr = number(&bytes, tag)?;
                parsed.octets()
            };
            Value::IpAddress(ip)
        }
        "65" => Value::Counter32(number(&bytes, tag)?),
        "66" => Value::Gauge32(number(&bytes, tag)?),
        "67" => Value::TimeTicks(number(&bytes, tag)?),
        "68" => Value::Opaque(bytes),
        "70" => Value::Counter64(number(&bytes, tag)?),
        "128" | "129" | "130" => Value::Missing,
        other => return Err(format!("unknown tag {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recording_survives_a_round_trip_through_snmprec() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers");
        let mut checked = 0;
        for (path, walk) in read_recordings(&folder).unwrap() {
            let written = walk.to_snmprec();
            assert_eq!(Walk::from_snmprec(&written).unwrap(), walk, "{}", path.display());
            checked += 1;
        }
        assert!(checked >= 50, "only {checked} recordings found in {}", folder.display());
    }

    #[test]
    fn awkward_values_keep_every_byte() {
        let mut walk = Walk::new();
        let oid = |s: &str| s.parse::<Oid>().unwrap();
        walk.insert(oid("1.3.6.1.2.1.1.1.0"), Value::OctetString(b"a|b\nc\r\n\xe9\0".to_vec()));
        walk.insert(oid("1.3.6.1.2.1.1.5.0"), Value::OctetString(Vec::new()));
        walk.insert(oid("1.3.6.1.2.1.1.6.0"), Value::Missing);
        walk.insert(oid("1.3.6.1.2.1.1.7.0"), Value::Null);
        walk.insert(oid("1.3.6.1.2.1.1.8.0"), Value::Opaque(vec![0x9f, 0x78, 4, 0x42, 0xf6, 0, 0]));
        walk.insert(oid("1.3.6.1.2.1.1.9.0"), Value::Counter64(u64::MAX));
        walk.insert(oid("1.3.6.1.2.1.1.10.0"), Value::Integer(-3));
        walk.insert(oid("1.3.6.1.2.1.4.20.1.1.10.0.0.5"), Value::IpAddress([10, 0, 0, 5]));
        let text = walk.to_snmprec();
        assert_eq!(text.lines().count(), 8, "one line per varbind, whatever the bytes: {text}");
        assert_eq!(Walk::from_snmprec(&text).unwrap(), walk);
    }

    #[test]
    fn parses_every_tag_and_hex_values() {
        let walk = Walk::from_snmprec(
            "1.3.6.1.2.1.1.1.0|4|HP LaserJet\n\
             1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1\n\
             1.3.6.1.2.1.1.3.0|67|123456\n\
             1.3.6.1.2.1.2.2.1.6.1|4x|001ba90ba752\n\
             1.3.6.1.2.1.4.20.1.1.10.0.0.5|64|10.0.0.5\n\
             1.3.6.1.2.1.43.10.2.1.4.1.1|65|7792\n",
        )
        .unwrap();
        assert_eq!(walk.len(), 6);
        assert_eq!(walk.get(&"1.3.6.1.2.1.1.3.0".parse().unwrap()), Some(&Value::TimeTicks(123456)));
        assert_eq!(
            walk.get(&"1.3.6.1.2.1.2.2.1.6.1".parse().unwrap()),
            Some(&Value::OctetString(vec![0, 0x1b, 0xa9, 0x0b, 0xa7, 0x52]))
        );
        let prefix: Oid = "1.3.6.1.2.1.1".parse().unwrap();
        assert_eq!(walk.subtree(&prefix).count(), 3);
    }

    #[test]
    fn malformed_lines_are_named() {
        let err = Walk::from_snmprec("1.3.6.1.2.1.1.1.0|4|ok\n1.3.6.1.x|4|bad\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err = Walk::from_snmprec("1.3.6.1.2.1.1.3.0|67|soon\n").unwrap_err();
        assert!(err.reason.contains("not a valid value"), "{err}");
        let err = Walk::from_snmprec("1.3.6.1.2.1.1.3.0|4x|abc\n").unwrap_err();
        assert!(err.reason.contains("not hex"));
    }
}
