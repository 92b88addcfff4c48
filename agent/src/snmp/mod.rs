//! The SNMP engine: requests with timeouts, retries and backoff, walks that survive broken
//! agents, on top of snmp2 (which has none of these), behind a trait of our own.

pub mod ber;
mod session;
mod walk;

use std::net::SocketAddr;
use std::time::Duration;

use cartouche_schema::profiles::{Oid, Value};
use secrecy::SecretString;

pub use session::Session;

impl Target {
    /// A v2c target with the "public" community (tests, first contact).
    pub fn v2c_public(address: SocketAddr) -> Target {
        Target { address, credential: Credential::V2c { community: SecretString::from("public".to_owned()) } }
    }
}
pub use walk::{WalkOutcome, walk};

/// A response as the agent reads one: its request id, error status and index, and each
/// varbind's OID (none when it does not fit our OIDs: an arc above 2^32) and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub request_id: i32,
    pub error_status: u32,
    pub error_index: u32,
    pub varbinds: Vec<(Option<Oid>, Value)>,
}

/// Decodes an SNMPv1/v2c message the way the sweep and the sessions do (snmp2's parser, then
/// our values); any bytes at all give a value or an error, never a panic (fuzzed: `./dev fuzz`).
pub fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    let pdu = snmp2::Pdu::from_bytes(bytes).map_err(|e| format!("{e:?}"))?;
    let varbinds = pdu.varbinds.clone().map(|(oid, v)| (session::from_snmp2(&oid), session::value(&v))).collect();
    Ok(Decoded { request_id: pdu.req_id, error_status: pdu.error_status, error_index: pdu.error_index, varbinds })
}

/// How to talk to one device.
#[derive(Clone, Debug)]
pub struct Target {
    pub address: SocketAddr,
    pub credential: Credential,
}

#[derive(Clone, Debug)]
pub enum Credential {
    V1 { community: SecretString },
    V2c { community: SecretString },
    V3(V3Credential),
}

/// SNMPv3 USM user: authentication (MD5, SHA-1, SHA-2) and privacy (DES, AES-128/192/256).
#[derive(Clone, Debug)]
pub struct V3Credential {
    pub user: String,
    pub auth: Option<(AuthProtocol, SecretString)>,
    pub privacy: Option<(Privacy, SecretString)>,
    pub context: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthProtocol {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privacy {
    Des,
    Aes128,
    Aes192,
    Aes256,
}

impl std::str::FromStr for AuthProtocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_uppercase().replace(['-', '_'], "").as_str() {
            "MD5" => AuthProtocol::Md5,
            "SHA" | "SHA1" => AuthProtocol::Sha1,
            "SHA224" => AuthProtocol::Sha224,
            "SHA256" => AuthProtocol::Sha256,
            "SHA384" => AuthProtocol::Sha384,
            "SHA512" => AuthProtocol::Sha512,
            _ => {
                return Err(format!(
                    "unknown authentication protocol {s:?}: MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512"
                ));
            }
        })
    }
}

impl std::str::FromStr for Privacy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_uppercase().replace(['-', '_'], "").as_str() {
            "DES" => Privacy::Des,
            "AES" | "AES128" => Privacy::Aes128,
            "AES192" => Privacy::Aes192,
            "AES256" => Privacy::Aes256,
            _ => return Err(format!("unknown privacy protocol {s:?}: DES, AES, AES-192 or AES-256")),
        })
    }
}

impl Credential {
    pub fn is_v1(&self) -> bool {
        matches!(self, Credential::V1 { .. })
    }
}

/// Timeouts, retries and limits; the defaults suit real networks with sleeping printers.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The first wait for an answer: long enough for a printer that wakes up (≥ 3 s).
    pub first_timeout: Duration,
    /// Each retry waits this many times longer than the previous attempt.
    pub backoff: u32,
    /// Retries after the first attempt.
    pub retries: u32,
    /// GETBULK max-repetitions to start with (halved on tooBig).
    pub max_repetitions: u32,
    /// Most varbinds one walk may bring (a looping agent is cut there).
    pub walk_cap: usize,
    /// Least time between two requests to one device (fragile devices).
    pub pacing: Duration,
    /// OIDs per GET request.
    pub get_batch: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            first_timeout: Duration::from_secs(3),
            backoff: 2,
            retries: 1,
            max_repetitions: 25,
            walk_cap: 20_000,
            pacing: Duration::ZERO,
            get_batch: 20,
        }
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SnmpError {
    /// No answer at all, after every retry.
    #[error("no answer after {attempts} attempts")]
    Timeout { attempts: u32 },
    /// The answer could not be decoded (garbage, wrong community echo, unsupported version).
    #[error("unreadable answer: {0}")]
    Protocol(String),
    /// The device says the answer would not fit in a datagram.
    #[error("the device answered tooBig")]
    TooBig,
    /// Another error-status from the device.
    #[error("the device answered error-status {status} at varbind {index}")]
    Status { status: u32, index: u32 },
    #[error("cannot reach {0}: {1}")]
    Io(SocketAddr, String),
    /// SNMPv3: wrong user, password or protocol (the device refused to authenticate us).
    #[error("SNMPv3 authentication failed: {0}")]
    Auth(String),
}

/// One answered varbind.
pub type Varbind = (Oid, Value);

/// What the agent needs from SNMP; the engine implements it over snmp2, tests may fake it.
#[allow(async_fn_in_trait)]
pub trait Snmp {
    /// GET of `oids`; missing ones come back as `Value::Missing`.
    async fn get(&mut self, oids: &[Oid]) -> Result<Vec<Varbind>, SnmpError>;
    /// One GETNEXT.
    async fn get_next(&mut self, oid: &Oid) -> Result<Vec<Varbind>, SnmpError>;
    /// One GETBULK from `oid`.
    async fn get_bulk(&mut self, oid: &Oid, max_repetitions: u32) -> Result<Vec<Varbind>, SnmpError>;
    /// Whether GETBULK may be used (not in v1, nor once the device ignored it).
    fn supports_bulk(&self) -> bool;
    /// The device ignores or refuses GETBULK: use GETNEXT from now on.
    fn refuse_bulk(&mut self);
    /// The device's address (HTTP and NPAP go to the same host).
    fn address(&self) -> SocketAddr;
    /// The SNMPv3 engine id (hex) once known: identifies the device across address changes.
    fn engine_id(&self) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod decode_tests {
    use super::*;

    #[test]
    fn a_response_decodes_to_our_values_and_garbage_is_an_error() {
        let oid: Oid = "1.3.6.1.2.1.43.10.2.1.4.1.1".parse().unwrap();
        let bytes =
            ber::response(1, b"public", 77, 0, 0, &[(oid.clone(), ber::Reply::Value(Value::Counter32(4_294_967_000)))]);
        let decoded = decode(&bytes).unwrap();
        assert_eq!(decoded.request_id, 77);
        assert_eq!(decoded.varbinds, vec![(Some(oid), Value::Counter32(4_294_967_000))]);
        for garbage in [&b""[..], b"\x30", b"\x30\x84\xff\xff\xff\xff", &bytes[..bytes.len() - 3]] {
            assert!(decode(garbage).is_err(), "{garbage:?}");
        }
    }
}
