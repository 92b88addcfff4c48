//! SNMP values as a walk carries them, and the decoding every rule needs.

use serde::Serialize;

use super::oid::Oid;

/// One value, typed as the device sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Integer(i64),
    OctetString(Vec<u8>),
    Null,
    ObjectId(Oid),
    IpAddress([u8; 4]),
    Counter32(u32),
    Gauge32(u32),
    TimeTicks(u32),
    Opaque(Vec<u8>),
    Counter64(u64),
    /// noSuchObject, noSuchInstance or endOfMibView: the device has nothing there.
    Missing,
}

impl Value {
    /// The value as an integer, when it is one (strings of digits count: some firmware sends
    /// counters as text).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(v) => Some(*v),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => Some(i64::from(*v)),
            Value::Counter64(v) => i64::try_from(*v).ok(),
            Value::OctetString(bytes) => {
                let text = std::str::from_utf8(bytes).ok()?.trim().trim_end_matches('\0');
                text.parse().ok()
            }
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::OctetString(bytes) | Value::Opaque(bytes) => Some(bytes),
            _ => None,
        }
    }

    pub fn as_oid(&self) -> Option<&Oid> {
        match self {
            Value::ObjectId(oid) => Some(oid),
            _ => None,
        }
    }

    /// A printable rendering for provenance (`raw` in the JSON).
    pub fn raw(&self) -> RawValue {
        match self {
            Value::Integer(v) => RawValue::Int(*v),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => RawValue::Int(i64::from(*v)),
            Value::Counter64(v) => RawValue::Text(v.to_string()),
            Value::OctetString(bytes) | Value::Opaque(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) if !text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') => {
                    RawValue::Text(text.to_owned())
                }
                _ => RawValue::Hex(hex(bytes)),
            },
            Value::ObjectId(oid) => RawValue::Text(oid.to_string()),
            Value::IpAddress(ip) => RawValue::Text(format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])),
            Value::Null => RawValue::Text(String::new()),
            Value::Missing => RawValue::Text("<missing>".into()),
        }
    }
}

/// How a raw value is shown in provenance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RawValue {
    Int(i64),
    Text(String),
    Hex(HexString),
}

/// Bytes shown as `0x…` hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct HexString(pub String);

pub fn hex(bytes: &[u8]) -> HexString {
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("0x");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    HexString(out)
}

/// The result of decoding device text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub text: String,
    /// Set when the bytes needed repair (not UTF-8, hex-dumped, padded): the warning to give.
    pub repaired: Option<String>,
}

/// Decodes a device string: UTF-8 when valid, else Latin-1 (the usual firmware charset);
/// strings captured as hex dumps ("4C 61 73 65 72", or the first 16 bytes as they are and
/// the rest dumped) are decoded; NULs and padding are trimmed. Never fails: the worst case is a lossy, flagged string.
pub fn decode_text(bytes: &[u8]) -> Text {
    let trimmed = trim_padding(bytes);
    if let Some(decoded) = hex_dump(trimmed).or_else(|| hex_dump_tail(bytes)) {
        let inner = decode_text(&decoded);
        return Text { text: inner.text, repaired: Some("string was a hex dump; decoded".into()) };
    }
    match std::str::from_utf8(trimmed) {
        Ok(text) => Text { text: clean(text), repaired: None },
        Err(_) => Text {
            text: clean(&trimmed.iter().map(|&b| char::from(b)).collect::<String>()),
            repaired: Some("string was not UTF-8; read as Latin-1".into()),
        },
    }
}

fn trim_padding(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0 && b != b' ' && b != 0xff).map_or(0, |i| i + 1);
    let bytes = &bytes[..end];
    let start = bytes.iter().position(|&b| b != 0 && b != b' ').unwrap_or(bytes.len());
    &bytes[start..]
}

fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// "48 50 20 4C 61 73 65 72 4A 65 74" (pairs of hex digits separated by spaces, as some
/// capture tools write strings) back to bytes; `None` unless the whole string is such a dump.
fn hex_dump(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.len() >= 16 && text.len() % 2 == 0 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        // One run of hex digits ("5a656272614e6574…"): split it into pairs.
        let decoded: Vec<u8> =
            (0..text.len()).step_by(2).filter_map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect();
        // Only text made of letters, digits and spaces: a serial of hex digits stays as it is.
        let texty = decoded.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
            && decoded.iter().filter(|b| b.is_ascii_alphabetic()).count() * 2 >= decoded.len();
        return texty.then_some(decoded);
    }
    let decoded = hex_pairs(text).filter(|d| d.len() >= 4)?;
    // Only a dump of mostly printable text: a real "00 11 22 33" label stays as it is.
    let printable = decoded.iter().filter(|b| b.is_ascii_graphic() || **b == b' ').count();
    (printable * 10 >= decoded.len() * 9).then_some(decoded)
}

/// A string captured by a tool that shows its first 16 bytes as they are and the rest as a
/// hex dump, 16 pairs a line ("Black Cartridge \n38 32 37 41 20 48 50 00 "), as net-snmp's
/// output of a string with a NUL in it was turned into some public recordings: the bytes back,
/// whole. `None` for anything else.
fn hex_dump_tail(bytes: &[u8]) -> Option<Vec<u8>> {
    const HEAD: usize = 16;
    if bytes.get(HEAD) != Some(&b'\n') {
        return None;
    }
    let tail = std::str::from_utf8(&bytes[HEAD + 1..]).ok()?;
    let mut decoded = bytes[..HEAD].to_vec();
    for line in tail.trim_end().split('\n') {
        decoded.extend(hex_pairs(line).filter(|pairs| !pairs.is_empty() && pairs.len() <= HEAD)?);
    }
    Some(decoded)
}

/// Pairs of hex digits separated by spaces ("38 32 37 41") as bytes; `None` as soon as a
/// word is anything else ("+1" included, which `from_str_radix` would take).
fn hex_pairs(text: &str) -> Option<Vec<u8>> {
    text.split(' ')
        .filter(|word| !word.is_empty())
        .map(|word| {
            if word.len() == 2 && word.bytes().all(|b| b.is_ascii_hexdigit()) {
                u8::from_str_radix(word, 16).ok()
            } else {
                None
            }
        })
        .collect()
}

/// A MAC address from 6 raw bytes (or a 12/17-character text form), `aa:bb:cc:dd:ee:ff`.
pub fn decode_mac(bytes: &[u8]) -> Option<String> {
    let raw: Vec<u8> = if bytes.len() == 6 {
        bytes.to_vec()
    } else {
        let text = std::str::from_utf8(bytes).ok()?;
        let digits: String = text.chars().filter(char::is_ascii_hexdigit).collect();
        if digits.len() != 12 || text.trim().len() > 17 {
            return None;
        }
        (0..6).filter_map(|i| u8::from_str_radix(&digits[i * 2..i * 2 + 2], 16).ok()).collect()
    };
    if raw.len() != 6 || raw.iter().all(|&b| b == 0) || raw.iter().all(|&b| b == 0xff) {
        return None;
    }
    Some(raw.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_repaired_never_failed() {
        assert_eq!(decode_text(b"  HP LaserJet\0\0").text, "HP LaserJet");
        let latin1 = decode_text(b"Imprimante \xe9tage");
        assert_eq!(latin1.text, "Imprimante étage");
        assert!(latin1.repaired.is_some());
        let dump = decode_text(b"48 50 20 4C 61 73 65 72 4A 65 74");
        assert_eq!(dump.text, "HP LaserJet");
        assert!(dump.repaired.is_some());
        assert_eq!(decode_text(b"00 11 22 33").text, "00 11 22 33", "not printable once decoded");
        assert_eq!(decode_text(b"5a656272614e6574205769726564205053").text, "ZebraNet Wired PS");
        assert_eq!(decode_text(b"0123456789ABCDEF").text, "0123456789ABCDEF", "hex serials stay");
    }

    #[test]
    fn a_string_with_its_tail_hex_dumped_is_made_whole() {
        // As in a public recording of an HP Color LaserJet M880's supply descriptions.
        let magenta = decode_text(b"Magenta Cartridg\n65 20 38 32 37 41 20 48 50 20 43 46 33 30 33 41 \n00 ");
        assert_eq!(magenta.text, "Magenta Cartridge 827A HP CF303A");
        assert!(magenta.repaired.is_some());
        assert_eq!(
            decode_text(b"Black Cartridge \n38 32 37 41 20 48 50 20 43 46 33 30 30 41 00 ").text,
            "Black Cartridge 827A HP CF300A"
        );
        // Not that shape: left as it is (the line break read as a space).
        assert_eq!(decode_text(b"Black Cartridge\n38 32").text, "Black Cartridge 38 32", "15 bytes first");
        assert_eq!(decode_text(b"Toner Cartridge \nHP 12A").text, "Toner Cartridge HP 12A");
        assert_eq!(decode_text(b"Toner Cartridge \n").text, "Toner Cartridge");
        assert_eq!(decode_text(b"Toner Cartridge \n+1 41").text, "Toner Cartridge +1 41", "hex pairs only");
    }

    #[test]
    fn macs_come_from_bytes_or_text_and_zero_is_none() {
        assert_eq!(decode_mac(&[0, 0x1b, 0xa9, 0x0b, 0xa7, 0x52]).as_deref(), Some("00:1b:a9:0b:a7:52"));
        assert_eq!(decode_mac(b"00-1B-A9-0B-A7-52").as_deref(), Some("00:1b:a9:0b:a7:52"));
        assert_eq!(decode_mac(&[0; 6]), None);
        assert_eq!(decode_mac(b"hello"), None);
    }

    #[test]
    fn integers_come_from_numbers_and_numeric_text() {
        assert_eq!(Value::Counter32(7).as_i64(), Some(7));
        assert_eq!(Value::OctetString(b" 1234\0".to_vec()).as_i64(), Some(1234));
        assert_eq!(Value::OctetString(b"12a".to_vec()).as_i64(), None);
    }
}
