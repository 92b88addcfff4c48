//! IPP (RFC 8010 encoding, RFC 8011 semantics) as far as reading a printer's state needs: a
//! lossless message codec (attributes the reader does not know, collections included, are kept
//! byte for byte, so a stored response can be interpreted again later), and the
//! interpretation of printer attributes into state, state reasons, IEEE 1284 device id and
//! supply levels (CUPS `marker-*` attributes, or PWG 5100.13 `printer-supply`).

use std::fmt;

/// Group delimiters.
pub mod group {
    pub const OPERATION: u8 = 0x01;
    pub const JOB: u8 = 0x02;
    pub const END: u8 = 0x03;
    pub const PRINTER: u8 = 0x04;
    pub const UNSUPPORTED: u8 = 0x05;
}

/// Value tags.
pub mod tag {
    pub const UNSUPPORTED: u8 = 0x10;
    pub const UNKNOWN: u8 = 0x12;
    pub const NO_VALUE: u8 = 0x13;
    pub const INTEGER: u8 = 0x21;
    pub const BOOLEAN: u8 = 0x22;
    pub const ENUM: u8 = 0x23;
    pub const OCTET_STRING: u8 = 0x30;
    pub const DATE_TIME: u8 = 0x31;
    pub const RESOLUTION: u8 = 0x32;
    pub const RANGE_OF_INTEGER: u8 = 0x33;
    pub const BEG_COLLECTION: u8 = 0x34;
    pub const TEXT_WITH_LANGUAGE: u8 = 0x35;
    pub const NAME_WITH_LANGUAGE: u8 = 0x36;
    pub const END_COLLECTION: u8 = 0x37;
    pub const TEXT: u8 = 0x41;
    pub const NAME: u8 = 0x42;
    pub const KEYWORD: u8 = 0x44;
    pub const URI: u8 = 0x45;
    pub const URI_SCHEME: u8 = 0x46;
    pub const CHARSET: u8 = 0x47;
    pub const NATURAL_LANGUAGE: u8 = 0x48;
    pub const MIME_MEDIA_TYPE: u8 = 0x49;
    pub const MEMBER_ATTR_NAME: u8 = 0x4a;
    pub const EXTENSION: u8 = 0x7f;
}

/// Operations used here.
pub mod operation {
    pub const GET_PRINTER_ATTRIBUTES: u16 = 0x000b;
    /// CUPS extension: every queue with its attributes.
    pub const CUPS_GET_PRINTERS: u16 = 0x4002;
}

/// The largest message decoded (a printer's full attribute set is some tens of KiB).
pub const MAX_MESSAGE: usize = 4 << 20;
/// Nesting limit for collections.
const MAX_DEPTH: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IppError {
    #[error("the IPP message ends early at byte {0}")]
    Truncated(usize),
    #[error("the IPP message is larger than {MAX_MESSAGE} bytes")]
    TooLarge,
    #[error("an attribute value at byte {0} comes before any attribute group")]
    NoGroup(usize),
    #[error("an additional value at byte {0} has no attribute to belong to")]
    Orphan(usize),
    #[error("collections nest deeper than {MAX_DEPTH} at byte {0}")]
    TooDeep(usize),
}

/// One encoded (tag, name, value) as it appears on the wire.
pub type Triple = (u8, Vec<u8>, Vec<u8>);

/// One value as encoded: its tag and bytes; a collection keeps its members' raw triples,
/// up to and including its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub tag: u8,
    pub bytes: Vec<u8>,
    pub members: Vec<Triple>,
}

impl Value {
    pub fn new(tag: u8, bytes: impl Into<Vec<u8>>) -> Value {
        Value { tag, bytes: bytes.into(), members: Vec::new() }
    }

    pub fn text(tag: u8, text: &str) -> Value {
        Value::new(tag, text.as_bytes())
    }

    pub fn integer(tag: u8, n: i32) -> Value {
        Value::new(tag, n.to_be_bytes())
    }

    /// Integer and enum values.
    pub fn as_i32(&self) -> Option<i32> {
        match self.tag {
            tag::INTEGER | tag::ENUM => Some(i32::from_be_bytes(self.bytes.as_slice().try_into().ok()?)),
            _ => None,
        }
    }

    /// String-like values (text and name, with or without language, keyword, uri, …).
    pub fn as_str(&self) -> Option<String> {
        match self.tag {
            tag::TEXT_WITH_LANGUAGE | tag::NAME_WITH_LANGUAGE => {
                // language length + language + text length + text
                let lang = usize::from(u16::from_be_bytes(self.bytes.get(..2)?.try_into().ok()?));
                let rest = self.bytes.get(2 + lang..)?;
                let len = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
                Some(String::from_utf8_lossy(rest.get(2..2 + len)?).into_owned())
            }
            0x40..=0x4f => Some(String::from_utf8_lossy(&self.bytes).into_owned()),
            tag::OCTET_STRING => Some(String::from_utf8_lossy(&self.bytes).into_owned()),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.as_i32() {
            return write!(f, "{n}");
        }
        match self.tag {
            tag::BOOLEAN => write!(f, "{}", self.bytes.first().is_some_and(|b| *b != 0)),
            tag::UNSUPPORTED => f.write_str("unsupported"),
            tag::UNKNOWN => f.write_str("unknown"),
            tag::NO_VALUE => f.write_str("no-value"),
            tag::BEG_COLLECTION => f.write_str("{collection}"),
            _ => match self.as_str() {
                Some(s) => f.write_str(&s),
                None => self.bytes.iter().try_for_each(|b| write!(f, "{b:02x}")),
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub values: Vec<Value>,
}

impl Attribute {
    pub fn new(name: &str, values: Vec<Value>) -> Attribute {
        Attribute { name: name.to_owned(), values }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub tag: u8,
    pub attributes: Vec<Attribute>,
}

impl Group {
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Every value of `name` as text.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.get(name).map(|a| a.values.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.strings(name).into_iter().next().filter(|s| !s.is_empty())
    }

    pub fn integers(&self, name: &str) -> Vec<i32> {
        self.get(name).map(|a| a.values.iter().filter_map(Value::as_i32).collect()).unwrap_or_default()
    }
}

/// A request (`code` is the operation) or a response (`code` is the status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub version: (u8, u8),
    pub code: u16,
    pub request_id: u32,
    pub groups: Vec<Group>,
    pub data: Vec<u8>,
}

impl Message {
    /// A request with the operation attributes every request starts with.
    pub fn request(operation: u16, request_id: u32, printer_uri: Option<&str>, requested: &[&str]) -> Message {
        let mut attributes = vec![
            Attribute::new("attributes-charset", vec![Value::text(tag::CHARSET, "utf-8")]),
            Attribute::new("attributes-natural-language", vec![Value::text(tag::NATURAL_LANGUAGE, "en")]),
        ];
        if let Some(uri) = printer_uri {
            attributes.push(Attribute::new("printer-uri", vec![Value::text(tag::URI, uri)]));
        }
        if !requested.is_empty() {
            let values = requested.iter().map(|r| Value::text(tag::KEYWORD, r)).collect();
            attributes.push(Attribute::new("requested-attributes", values));
        }
        Message {
            version: (2, 0),
            code: operation,
            request_id,
            groups: vec![Group { tag: group::OPERATION, attributes }],
            data: Vec::new(),
        }
    }

    /// Whether a response's status is a success (0x0000 to 0x00ff).
    pub fn is_success(&self) -> bool {
        self.code <= 0x00ff
    }

    /// The groups with this tag (one per printer in a CUPS-Get-Printers response).
    pub fn groups(&self, tag: u8) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(move |g| g.tag == tag)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.version.0, self.version.1];
        out.extend_from_slice(&self.code.to_be_bytes());
        out.extend_from_slice(&self.request_id.to_be_bytes());
        for group in &self.groups {
            out.push(group.tag);
            for attribute in &group.attributes {
                for (i, value) in attribute.values.iter().enumerate() {
                    let name = if i == 0 { attribute.name.as_bytes() } else { b"" };
                    triple(&mut out, value.tag, name, &value.bytes);
                    for (tag, name, bytes) in &value.members {
                        triple(&mut out, *tag, name, bytes);
                    }
                }
            }
        }
        out.push(group::END);
        out.extend_from_slice(&self.data);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Message, IppError> {
        if bytes.len() > MAX_MESSAGE {
            return Err(IppError::TooLarge);
        }
        let mut r = Reader { bytes, at: 0 };
        let version = (r.u8()?, r.u8()?);
        let code = r.u16()?;
        let request_id = r.u32()?;
        let mut groups: Vec<Group> = Vec::new();
        loop {
            let at = r.at;
            let tag = r.u8()?;
            if tag == group::END {
                break;
            }
            if tag < 0x10 {
                groups.push(Group { tag, attributes: Vec::new() });
                continue;
            }
            let (tag, name, value) = r.rest_of_triple(tag)?;
            let group = groups.last_mut().ok_or(IppError::NoGroup(at))?;
            let mut value = Value::new(tag, value);
            if tag == tag::BEG_COLLECTION {
                value.members = r.collection()?;
            }
            if name.is_empty() {
                group.attributes.last_mut().ok_or(IppError::Orphan(at))?.values.push(value);
            } else {
                group
                    .attributes
                    .push(Attribute { name: String::from_utf8_lossy(&name).into_owned(), values: vec![value] });
            }
        }
        Ok(Message { version, code, request_id, groups, data: bytes[r.at..].to_vec() })
    }
}

fn triple(out: &mut Vec<u8>, tag: u8, name: &[u8], value: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(value);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], IppError> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len()).ok_or(IppError::Truncated(self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, IppError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, IppError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, IppError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Name and value after a value tag (an extension tag carries its real type first).
    fn rest_of_triple(&mut self, tag: u8) -> Result<Triple, IppError> {
        let name_len = usize::from(self.u16()?);
        let name = self.take(name_len)?.to_vec();
        let value_len = usize::from(self.u16()?);
        let value = self.take(value_len)?.to_vec();
        Ok((tag, name, value))
    }
    /// The raw triples of a collection's members, up to and including its end.
    fn collection(&mut self) -> Result<Vec<Triple>, IppError> {
        let mut members = Vec::new();
        let mut depth = 1usize;
        while depth > 0 {
            let at = self.at;
            let tag = self.u8()?;
            if tag < 0x10 {
                return Err(IppError::Truncated(at));
            }
            let triple = self.rest_of_triple(tag)?;
            match tag {
                tag::BEG_COLLECTION => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(IppError::TooDeep(at));
                    }
                }
                tag::END_COLLECTION => depth -= 1,
                _ => {}
            }
            members.push(triple);
        }
        Ok(members)
    }
}

pub mod printer;

pub use printer::{Marker, PrinterState, PrinterStatus};

#[cfg(test)]
mod tests {
    use super::*;

    /// The Print-Job request of RFC 8010 §9.2, byte for byte.
    fn rfc_print_job() -> Vec<u8> {
        let mut b = vec![0x01, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01];
        let mut t = |tag: u8, name: &str, value: &[u8]| triple(&mut b, tag, name.as_bytes(), value);
        t(0x47, "attributes-charset", b"utf-8");
        t(0x48, "attributes-natural-language", b"en-us");
        t(0x45, "printer-uri", b"ipp://printer.example.com/ipp/print/pinetree");
        t(0x42, "job-name", b"foobar");
        t(0x22, "ipp-attribute-fidelity", &[0x01]);
        b.push(0x02);
        triple(&mut b, 0x21, b"copies", &20i32.to_be_bytes());
        triple(&mut b, 0x44, b"sides", b"two-sided-long-edge");
        b.push(0x03);
        b.extend_from_slice(b"%!PDF");
        b
    }

    #[test]
    fn decodes_the_rfc_example_and_encodes_it_back_identically() {
        let bytes = rfc_print_job();
        let message = Message::decode(&bytes).unwrap();
        assert_eq!((message.version, message.code, message.request_id), ((1, 1), 2, 1));
        assert_eq!(message.groups.len(), 2);
        assert_eq!(message.groups[0].string("printer-uri").unwrap(), "ipp://printer.example.com/ipp/print/pinetree");
        assert_eq!(message.groups[1].integers("copies"), vec![20]);
        assert_eq!(message.data, b"%!PDF");
        assert_eq!(message.encode(), bytes);
    }

    #[test]
    fn collections_and_additional_values_survive_a_round_trip() {
        let mut b = vec![0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, group::PRINTER];
        triple(&mut b, tag::KEYWORD, b"printer-state-reasons", b"media-low-warning");
        triple(&mut b, tag::KEYWORD, b"", b"toner-low-report");
        triple(&mut b, tag::BEG_COLLECTION, b"media-col-ready", b"");
        triple(&mut b, tag::MEMBER_ATTR_NAME, b"", b"media-size");
        triple(&mut b, tag::BEG_COLLECTION, b"", b"");
        triple(&mut b, tag::MEMBER_ATTR_NAME, b"", b"x-dimension");
        triple(&mut b, tag::INTEGER, b"", &21000i32.to_be_bytes());
        triple(&mut b, tag::END_COLLECTION, b"", b"");
        triple(&mut b, tag::END_COLLECTION, b"", b"");
        triple(&mut b, tag::ENUM, b"printer-state", &3i32.to_be_bytes());
        b.push(group::END);
        let message = Message::decode(&b).unwrap();
        let printer = &message.groups[0];
        assert_eq!(printer.strings("printer-state-reasons"), vec!["media-low-warning", "toner-low-report"]);
        assert_eq!(
            printer.get("media-col-ready").unwrap().values[0].members.len(),
            6,
            "member names, the nested collection, both ends"
        );
        assert_eq!(printer.integers("printer-state"), vec![3]);
        assert_eq!(message.encode(), b);
    }

    #[test]
    fn garbage_is_an_error_that_says_where_never_a_panic() {
        assert_eq!(Message::decode(&[0x02, 0x00, 0x00]), Err(IppError::Truncated(2)));
        let mut b = rfc_print_job();
        b.truncate(40);
        assert!(matches!(Message::decode(&b), Err(IppError::Truncated(_))));
        // A value before any group.
        let mut b = vec![2, 0, 0, 0, 0, 0, 0, 1];
        triple(&mut b, tag::KEYWORD, b"x", b"y");
        assert_eq!(Message::decode(&b), Err(IppError::NoGroup(8)));
        // Every prefix of a valid message, and random bytes, fail cleanly.
        let valid = rfc_print_job();
        for n in 0..valid.len() - 6 {
            let _ = Message::decode(&valid[..n]);
        }
        let mut x: u32 = 0x1234_5678;
        for _ in 0..2000 {
            let noise: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x.to_le_bytes()[0]
                })
                .collect();
            let _ = Message::decode(&noise);
        }
    }
}
