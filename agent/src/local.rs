//! Local printers (USB, parallel) read through the host's print system over IPP: CUPS on
//! localhost:631 (every queue with its attributes in one CUPS-Get-Printers request), and
//! ipp-usb, which gives each IPP-over-USB printer its own IPP endpoint on a localhost port
//! from 60000. Network queues are left to SNMP (they are found by discovery), and a CUPS
//! queue that only forwards to an ipp-usb endpoint is read once, directly.
//!
//! Each printer's attributes are kept as an IPP message (`RawReading::ipp`, base64), exactly
//! as received, for the server to interpret; what could not be read on this host, and why,
//! is said per source for `cartouche-agent status`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;
use cartouche_schema::ipp::{self, Group, Message, PrinterStatus};
use cartouche_schema::wire::{Cycle, RawReading};
use chrono::Utc;
use serde::{Deserialize, Serialize};

/// The attributes asked for: identity, state and supplies.
pub const REQUESTED: &[&str] = &[
    "printer-name",
    "printer-uri-supported",
    "device-uri",
    "printer-make-and-model",
    "printer-info",
    "printer-location",
    "printer-device-id",
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
    "marker-names",
    "marker-types",
    "marker-colors",
    "marker-levels",
    "marker-low-levels",
    "marker-high-levels",
    "marker-message",
    "printer-supply",
    "printer-supply-description",
    "printer-uuid",
    "printer-firmware-string-version",
];

/// Where to look.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// CUPS's address (`127.0.0.1:631`); `None` to skip CUPS.
    pub cups: Option<SocketAddr>,
    /// ipp-usb endpoints to try (its ports count up from 60000, one per printer).
    pub ipp_usb: Vec<SocketAddr>,
    pub timeout: Duration,
}

impl Default for LocalOptions {
    fn default() -> Self {
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        LocalOptions {
            cups: Some(SocketAddr::new(localhost, 631)),
            ipp_usb: (60000..60008).map(|port| SocketAddr::new(localhost, port)).collect(),
            timeout: Duration::from_secs(5),
        }
    }
}

/// What one source gave on this host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceReport {
    /// `cups` or `ipp-usb`.
    pub source: String,
    /// Printers read.
    pub printers: u32,
    /// Why this source could not be read (absent, refused, nonsense); `None` when it was.
    pub unavailable: Option<String>,
    /// Queues left alone on purpose, and why (network queues, duplicates of ipp-usb printers).
    #[serde(default)]
    pub skipped: Vec<String>,
    /// Printers that should have been read and were not, and why.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// One round of local reading.
#[derive(Debug, Default)]
pub struct LocalOutcome {
    pub readings: Vec<RawReading>,
    pub sources: Vec<SourceReport>,
}

impl LocalOutcome {
    /// The capabilities this host has, for the server (`cups`, `ipp-usb`).
    pub fn capabilities(&self) -> Vec<String> {
        self.sources.iter().filter(|s| s.unavailable.is_none()).map(|s| s.source.clone()).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("nothing listens at {0}")]
    Absent(SocketAddr),
    #[error("{0}: {1}")]
    Http(String, String),
    #[error("{0} answered HTTP {1}")]
    Status(String, u16),
    #[error("{0} answered something that is not IPP: {1}")]
    NotIpp(String, ipp::IppError),
    #[error("{0} answered IPP status 0x{1:04x}")]
    IppStatus(String, u16),
}

/// Reads every local printer the sources offer.
pub async fn read(options: &LocalOptions) -> LocalOutcome {
    let client = match reqwest::Client::builder().timeout(options.timeout).no_proxy().build() {
        Ok(client) => client,
        Err(err) => {
            let why = format!("no HTTP client: {err}");
            return LocalOutcome {
                readings: vec![],
                sources: ["cups", "ipp-usb"]
                    .map(|s| SourceReport {
                        source: s.into(),
                        printers: 0,
                        unavailable: Some(why.clone()),
                        skipped: vec![],
                        errors: vec![],
                    })
                    .into(),
            };
        }
    };
    let mut outcome = LocalOutcome::default();
    // ipp-usb first: a CUPS queue pointing at one of its endpoints is then a duplicate.
    let mut usb_uris = Vec::new();
    let mut usb =
        SourceReport { source: "ipp-usb".into(), printers: 0, unavailable: None, skipped: vec![], errors: vec![] };
    let mut absent = 0;
    for endpoint in &options.ipp_usb {
        let uri = format!("ipp://{endpoint}/ipp/print");
        match get_attributes(&client, *endpoint, &uri).await {
            Ok(printer) => {
                outcome.readings.push(reading(&uri, printer));
                usb.printers += 1;
                usb_uris.push(*endpoint);
            }
            Err(LocalError::Absent(_)) => absent += 1,
            Err(err) => usb.errors.push(err.to_string()),
        }
    }
    if usb.printers == 0 {
        usb.unavailable = Some(if absent == options.ipp_usb.len() {
            "no ipp-usb endpoint answers (ipp-usb not installed, or no IPP-over-USB printer plugged in)".into()
        } else {
            format!("no ipp-usb endpoint gave printer attributes ({})", usb.errors.join("; "))
        });
    }
    outcome.sources.push(usb);

    let mut cups =
        SourceReport { source: "cups".into(), printers: 0, unavailable: None, skipped: vec![], errors: vec![] };
    match options.cups {
        None => cups.unavailable = Some("not looked for (switched off)".into()),
        Some(address) => match get_printers(&client, address).await {
            Ok(queues) => {
                for queue in queues {
                    let name = queue.string("printer-name").unwrap_or_else(|| "?".into());
                    let device = queue.string("device-uri").unwrap_or_default();
                    match local_kind(&device, &usb_uris) {
                        Kind::Local => {
                            outcome.readings.push(reading(&format!("cups:{name}"), queue));
                            cups.printers += 1;
                        }
                        Kind::IppUsb => cups.skipped.push(format!("{name}: read through ipp-usb")),
                        Kind::Network => cups.skipped.push(format!("{name}: a network queue, read by SNMP")),
                    }
                }
            }
            Err(err) => cups.unavailable = Some(err.to_string()),
        },
    }
    outcome.sources.push(cups);
    outcome
}

enum Kind {
    Local,
    IppUsb,
    Network,
}

/// Local backends (usb, parallel, serial, HPLIP's USB), and ipp-usb behind CUPS.
fn local_kind(device_uri: &str, usb_endpoints: &[SocketAddr]) -> Kind {
    let lower = device_uri.to_ascii_lowercase();
    let scheme = lower.split(':').next().unwrap_or("");
    match scheme {
        "usb" | "parallel" | "serial" => Kind::Local,
        "hp" | "hpfax" if lower.contains("/usb/") || lower.contains("/par/") => Kind::Local,
        "ipp" | "ipps" | "http" | "https" => {
            let host_port = lower.split("://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or("");
            let loopback =
                host_port.starts_with("localhost") || host_port.starts_with("127.") || host_port.starts_with("[::1]");
            if !loopback {
                return Kind::Network;
            }
            if usb_endpoints
                .iter()
                .any(|e| host_port == format!("{e}") || host_port == format!("localhost:{}", e.port()))
            {
                Kind::IppUsb
            } else {
                // A loopback IPP queue that ipp-usb did not show us: read it through CUPS.
                Kind::Local
            }
        }
        _ => Kind::Network,
    }
}

fn reading(address: &str, printer: Group) -> RawReading {
    let status = PrinterStatus::from_attributes(&printer);
    let mut notes = Vec::new();
    if status.markers.is_empty() {
        notes.push("no supply levels reported (the driver or printer does not give them)".to_owned());
    }
    let message = Message { version: (2, 0), code: 0, request_id: 0, groups: vec![printer], data: vec![] };
    RawReading {
        notes,
        ipp: Some(base64::engine::general_purpose::STANDARD.encode(message.encode())),
        ..RawReading::snmp(address, Cycle::Counters, Utc::now(), String::new())
    }
}

async fn exchange(
    client: &reqwest::Client,
    address: SocketAddr,
    path: &str,
    request: &Message,
) -> Result<Message, LocalError> {
    let url = format!("http://{address}{path}");
    let answer = client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/ipp")
        .body(request.encode())
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() { LocalError::Absent(address) } else { LocalError::Http(url.clone(), e.to_string()) }
        })?;
    if !answer.status().is_success() {
        return Err(LocalError::Status(url, answer.status().as_u16()));
    }
    let body = answer.bytes().await.map_err(|e| LocalError::Http(url.clone(), e.to_string()))?;
    let message = Message::decode(&body).map_err(|e| LocalError::NotIpp(url.clone(), e))?;
    if !message.is_success() {
        return Err(LocalError::IppStatus(url, message.code));
    }
    Ok(message)
}

async fn get_printers(client: &reqwest::Client, cups: SocketAddr) -> Result<Vec<Group>, LocalError> {
    let request = Message::request(ipp::operation::CUPS_GET_PRINTERS, 1, None, REQUESTED);
    let answer = exchange(client, cups, "/", &request).await?;
    Ok(answer.groups(ipp::group::PRINTER).cloned().collect())
}

async fn get_attributes(client: &reqwest::Client, endpoint: SocketAddr, uri: &str) -> Result<Group, LocalError> {
    let request = Message::request(ipp::operation::GET_PRINTER_ATTRIBUTES, 1, Some(uri), REQUESTED);
    let answer = exchange(client, endpoint, "/ipp/print", &request).await?;
    answer
        .groups(ipp::group::PRINTER)
        .next()
        .cloned()
        .ok_or_else(|| LocalError::Http(uri.to_owned(), "no printer attributes in the answer".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_are_sorted_into_local_ipp_usb_and_network() {
        let usb: Vec<SocketAddr> = vec!["127.0.0.1:60000".parse().unwrap()];
        assert!(matches!(local_kind("usb://HP/LaserJet%20M404?serial=PHB1", &usb), Kind::Local));
        assert!(matches!(local_kind("hp:/usb/HP_LaserJet?serial=X", &usb), Kind::Local));
        assert!(matches!(local_kind("parallel:/dev/lp0", &usb), Kind::Local));
        assert!(matches!(local_kind("ipp://localhost:60000/ipp/print", &usb), Kind::IppUsb));
        assert!(matches!(local_kind("ipp://127.0.0.1:60000/ipp/print", &usb), Kind::IppUsb));
        assert!(matches!(local_kind("ipp://127.0.0.1:60001/ipp/print", &usb), Kind::Local));
        assert!(matches!(local_kind("socket://10.0.0.5:9100", &usb), Kind::Network));
        assert!(matches!(local_kind("ipps://printer.example.com/ipp/print", &usb), Kind::Network));
        assert!(matches!(local_kind("dnssd://HP%20LaserJet._ipp._tcp.local/", &usb), Kind::Network));
    }
}
