//! A small BER writer for SNMPv1/v2c messages: the discovery sweep's requests (sent to many
//! addresses from one socket, which snmp2's one-peer sessions cannot do) and the simulator's
//! responses. Decoding is left to snmp2's parser.

use cartouche_schema::profiles::{Oid, Value};

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OBJECT_ID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const IP_ADDRESS: u8 = 0x40;
const COUNTER32: u8 = 0x41;
const GAUGE32: u8 = 0x42;
const TIMETICKS: u8 = 0x43;
const OPAQUE: u8 = 0x44;
const COUNTER64: u8 = 0x46;
const NO_SUCH_OBJECT: u8 = 0x80;
const NO_SUCH_INSTANCE: u8 = 0x81;
const END_OF_MIB_VIEW: u8 = 0x82;
const GET_REQUEST: u8 = 0xa0;
const GET_RESPONSE: u8 = 0xa2;

/// What a varbind of a response holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Value(Value),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
    /// v1 answers NULL next to an error status.
    Null,
}

fn length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn tlv(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    length(out, body.len());
    out.extend_from_slice(body);
}

fn signed(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

fn unsigned(v: u64) -> Vec<u8> {
    let mut body = v.to_be_bytes().iter().skip_while(|b| **b == 0).copied().collect::<Vec<_>>();
    if body.first().is_none_or(|b| b & 0x80 != 0) {
        body.insert(0, 0);
    }
    body
}

fn oid_body(oid: &Oid) -> Vec<u8> {
    let arcs = oid.arcs();
    let mut out = Vec::new();
    let (first, rest) = match arcs {
        [a, b, rest @ ..] => (u64::from(*a) * 40 + u64::from(*b), rest),
        [a] => (u64::from(*a) * 40, &[][..]),
        [] => (0, &[][..]),
    };
    for arc in std::iter::once(first).chain(rest.iter().map(|a| u64::from(*a))) {
        let mut chunk = vec![u8::try_from(arc & 0x7f).unwrap_or(0)];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.push(0x80 | u8::try_from(rest & 0x7f).unwrap_or(0));
            rest >>= 7;
        }
        chunk.reverse();
        out.extend(chunk);
    }
    out
}

fn value(out: &mut Vec<u8>, reply: &Reply) {
    match reply {
        Reply::Null => tlv(out, NULL, &[]),
        Reply::NoSuchObject => tlv(out, NO_SUCH_OBJECT, &[]),
        Reply::NoSuchInstance => tlv(out, NO_SUCH_INSTANCE, &[]),
        Reply::EndOfMibView => tlv(out, END_OF_MIB_VIEW, &[]),
        Reply::Value(v) => match v {
            Value::Integer(n) => tlv(out, INTEGER, &signed(*n)),
            Value::OctetString(b) => tlv(out, OCTET_STRING, b),
            Value::Null | Value::Missing => tlv(out, NULL, &[]),
            Value::ObjectId(o) => tlv(out, OBJECT_ID, &oid_body(o)),
            Value::IpAddress(ip) => tlv(out, IP_ADDRESS, ip),
            Value::Counter32(n) => tlv(out, COUNTER32, &unsigned(u64::from(*n))),
            Value::Gauge32(n) => tlv(out, GAUGE32, &unsigned(u64::from(*n))),
            Value::TimeTicks(n) => tlv(out, TIMETICKS, &unsigned(u64::from(*n))),
            Value::Opaque(b) => tlv(out, OPAQUE, b),
            Value::Counter64(n) => tlv(out, COUNTER64, &unsigned(*n)),
        },
    }
}

/// A GetRequest message for `oids` (values NULL).
pub fn get_request(version: i64, community: &[u8], request_id: i32, oids: &[Oid]) -> Vec<u8> {
    let varbinds: Vec<(Oid, Reply)> = oids.iter().map(|o| (o.clone(), Reply::Null)).collect();
    message(version, community, GET_REQUEST, request_id, 0, 0, &varbinds)
}

/// A GetResponse message.
pub fn response(
    version: i64,
    community: &[u8],
    request_id: i32,
    error_status: u32,
    error_index: u32,
    varbinds: &[(Oid, Reply)],
) -> Vec<u8> {
    message(version, community, GET_RESPONSE, request_id, error_status, error_index, varbinds)
}

fn message(
    version: i64,
    community: &[u8],
    pdu_type: u8,
    request_id: i32,
    error_status: u32,
    error_index: u32,
    varbinds: &[(Oid, Reply)],
) -> Vec<u8> {
    let mut list = Vec::new();
    for (oid, reply) in varbinds {
        let mut vb = Vec::new();
        tlv(&mut vb, OBJECT_ID, &oid_body(oid));
        value(&mut vb, reply);
        tlv(&mut list, SEQUENCE, &vb);
    }
    let mut pdu = Vec::new();
    tlv(&mut pdu, INTEGER, &signed(i64::from(request_id)));
    tlv(&mut pdu, INTEGER, &signed(i64::from(error_status)));
    tlv(&mut pdu, INTEGER, &signed(i64::from(error_index)));
    tlv(&mut pdu, SEQUENCE, &list);
    let mut message = Vec::new();
    tlv(&mut message, INTEGER, &signed(version));
    tlv(&mut message, OCTET_STRING, community);
    tlv(&mut message, pdu_type, &pdu);
    let mut out = Vec::new();
    tlv(&mut out, SEQUENCE, &message);
    out
}

/// An SNMPv3 engine discovery request (RFC 3414 §4): noAuthNoPriv, empty user and engine id,
/// reportable. The agent answers with a Report carrying its engine id, boots and time.
pub fn v3_discovery(message_id: i32, request_id: i32) -> Vec<u8> {
    let mut global = Vec::new();
    tlv(&mut global, INTEGER, &signed(i64::from(message_id)));
    tlv(&mut global, INTEGER, &signed(65_507));
    tlv(&mut global, OCTET_STRING, &[0x04]); // reportable, no auth, no priv
    tlv(&mut global, INTEGER, &signed(3)); // USM
    let mut usm = Vec::new();
    tlv(&mut usm, OCTET_STRING, &[]);
    tlv(&mut usm, INTEGER, &signed(0));
    tlv(&mut usm, INTEGER, &signed(0));
    tlv(&mut usm, OCTET_STRING, &[]);
    tlv(&mut usm, OCTET_STRING, &[]);
    tlv(&mut usm, OCTET_STRING, &[]);
    let mut usm_seq = Vec::new();
    tlv(&mut usm_seq, SEQUENCE, &usm);
    let mut pdu = Vec::new();
    tlv(&mut pdu, INTEGER, &signed(i64::from(request_id)));
    tlv(&mut pdu, INTEGER, &signed(0));
    tlv(&mut pdu, INTEGER, &signed(0));
    tlv(&mut pdu, SEQUENCE, &[]);
    let mut scoped = Vec::new();
    tlv(&mut scoped, OCTET_STRING, &[]);
    tlv(&mut scoped, OCTET_STRING, &[]);
    tlv(&mut scoped, GET_REQUEST, &pdu);
    let mut message = Vec::new();
    tlv(&mut message, INTEGER, &signed(3));
    tlv(&mut message, SEQUENCE, &global);
    tlv(&mut message, OCTET_STRING, &usm_seq);
    tlv(&mut message, SEQUENCE, &scoped);
    let mut out = Vec::new();
    tlv(&mut out, SEQUENCE, &message);
    out
}

/// The authoritative engine id, boots and time of an SNMPv3 message (a discovery Report).
pub fn v3_engine(bytes: &[u8]) -> Option<(Vec<u8>, i64, i64)> {
    let outer = snmp2::AsnReader::from_bytes(bytes).read_raw(0x30).ok()?;
    let mut message = snmp2::AsnReader::from_bytes(outer);
    if message.read_asn_integer().ok()? != 3 {
        return None;
    }
    message.read_raw(0x30).ok()?; // msgGlobalData
    let params = message.read_asn_octetstring().ok()?;
    let usm = snmp2::AsnReader::from_bytes(params).read_raw(0x30).ok()?;
    let mut usm = snmp2::AsnReader::from_bytes(usm);
    let engine_id = usm.read_asn_octetstring().ok()?.to_vec();
    let boots = usm.read_asn_integer().ok()?;
    let time = usm.read_asn_integer().ok()?;
    (!engine_id.is_empty()).then_some((engine_id, boots, time))
}

/// The SNMP version number of a message (0 = v1, 1 = v2c, 3 = v3).
pub fn version_of(bytes: &[u8]) -> Option<i64> {
    let seq = snmp2::AsnReader::from_bytes(bytes).read_raw(0x30).ok()?;
    snmp2::AsnReader::from_bytes(seq).read_asn_integer().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_use_the_fewest_octets_in_twos_complement() {
        assert_eq!(signed(0), vec![0]);
        assert_eq!(signed(127), vec![0x7f]);
        assert_eq!(signed(128), vec![0, 0x80]);
        assert_eq!(signed(-1), vec![0xff]);
        assert_eq!(signed(-129), vec![0xff, 0x7f]);
        assert_eq!(unsigned(4_294_967_295), vec![0, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn responses_parse_back_with_snmp2() {
        let oid: Oid = "1.3.6.1.2.1.1.1.0".parse().unwrap();
        let bytes = response(
            1,
            b"public",
            42,
            0,
            0,
            &[
                (oid.clone(), Reply::Value(Value::OctetString(b"HP LaserJet".to_vec()))),
                ("1.3.6.1.2.1.43.10.2.1.4.1.1".parse().unwrap(), Reply::Value(Value::Counter32(300_000))),
                ("1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.8.0".parse().unwrap(), Reply::EndOfMibView),
            ],
        );
        let pdu = snmp2::Pdu::from_bytes(&bytes).unwrap();
        assert_eq!(pdu.req_id, 42);
        assert_eq!(pdu.community, b"public");
        let varbinds: Vec<_> = pdu.varbinds.collect();
        assert_eq!(varbinds.len(), 3);
        assert_eq!(varbinds[0].0.to_id_string(), "1.3.6.1.2.1.1.1.0");
        assert!(matches!(varbinds[1].1, snmp2::Value::Counter32(300_000)));
        assert!(matches!(varbinds[2].1, snmp2::Value::EndOfMibView));
        assert_eq!(version_of(&bytes), Some(1));
    }

    #[test]
    fn requests_parse_back_with_snmp2() {
        let bytes = get_request(0, b"secret", -7, &["1.3.6.1.2.1.1.2.0".parse().unwrap()]);
        let pdu = snmp2::Pdu::from_bytes(&bytes).unwrap();
        assert_eq!(pdu.message_type, snmp2::MessageType::GetRequest);
        assert_eq!(pdu.req_id, -7);
        assert_eq!(version_of(&bytes), Some(0));
    }
}
