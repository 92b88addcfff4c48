//! Discovery: a sweep asks every address of the ranges for sysDescr and sysObjectID through a
//! few sockets (a /16 must not hold 65,536 sessions), retries the silent ones and tries the
//! next credential; the devices that answered a round are read and classified with the
//! profiles while the next rounds go on, and only printers are kept.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cartouche_schema::identity::{Fingerprint, recognise};
use cartouche_schema::profiles::{DeviceSnapshot, Oid, ProfileSet, interpret};
use cartouche_schema::ranges::Range;
use cartouche_schema::wire::{Cycle, RawReading};
use secrecy::ExposeSecret;
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, mpsc};

use crate::read::{ReadOptions, read_device};
use crate::snmp::{Credential, EngineConfig, Session, Target, ber};

#[derive(Clone, Debug)]
pub struct SweepConfig {
    pub port: u16,
    /// Wait after the last probe of a round before retrying the silent addresses.
    pub timeout: Duration,
    /// Rounds after the first, for silent addresses (a sleeping printer drops the first).
    pub retries: u32,
    /// Probes per second (a polite sweep does not flood a network).
    pub rate: u32,
    /// Devices read at once after the sweep.
    pub concurrency: usize,
    /// How each responder is then read (HTTP and NPAP ports included).
    pub read: ReadOptions,
    /// Keep each printer's raw reading (what a discovery cycle uploads); a technician's scan
    /// only needs the snapshots.
    pub keep_raw: bool,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            port: 161,
            timeout: Duration::from_secs(3),
            retries: 1,
            rate: 2_000,
            concurrency: 64,
            read: ReadOptions::new(20_000, 25),
            keep_raw: false,
        }
    }
}

/// An address that answered a probe, with the credential that worked.
#[derive(Clone, Debug)]
pub struct Responder {
    pub address: SocketAddr,
    pub credential: usize,
}

/// The addresses that answer SNMP, trying `credentials` in order.
pub async fn sweep(
    addresses: &[Ipv4Addr],
    credentials: &[Credential],
    config: &SweepConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
    found_now: Option<&mpsc::UnboundedSender<Responder>>,
) -> anyhow::Result<Vec<Responder>> {
    // Each responder is told to `found_now` as soon as its round ends, so that reading it
    // goes on while the next rounds ask the silent addresses again.
    let tell = |responder: &Responder| {
        if let Some(tx) = found_now {
            let _ = tx.send(responder.clone());
        }
    };
    let socket = Arc::new(UdpSocket::bind("0.0.0.0:0").await?);
    let probe: Vec<Oid> = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0"]
        .iter()
        .map(|o| o.parse().expect("invariant: constant OIDs"))
        .collect();
    let mut found: HashMap<u32, Responder> = HashMap::new();
    let interval = Duration::from_secs_f64(1.0 / f64::from(config.rate.max(1)));
    for (c, credential) in credentials.iter().enumerate() {
        let (version, community) = match credential {
            Credential::V1 { community } => (0, community),
            Credential::V2c { community } => (1, community),
            // v3 needs an engine discovery per device: swept with sessions, not one socket.
            Credential::V3(_) => {
                for r in sweep_v3(addresses, credential, config, &found).await {
                    if let std::collections::hash_map::Entry::Vacant(entry) = found.entry(r.0) {
                        tell(entry.insert(Responder { address: r.1, credential: c }));
                    }
                }
                continue;
            }
        };
        for _round in 0..=config.retries {
            let silent: Vec<(u32, Ipv4Addr)> = addresses
                .iter()
                .enumerate()
                .filter_map(|(i, a)| u32::try_from(i).ok().map(|i| (i, *a)))
                .filter(|(i, _)| !found.contains_key(i))
                .collect();
            if silent.is_empty() {
                break;
            }
            // Listen while sending: answers come back during the round.
            let sent = Arc::new(AtomicBool::new(false));
            let listener = tokio::spawn(listen(socket.clone(), config.timeout, sent.clone()));
            let started = Instant::now();
            for (n, (i, address)) in silent.iter().enumerate() {
                // The request id carries the address's position: one socket serves them all.
                let id = i32::try_from(*i).unwrap_or(i32::MAX);
                let packet = ber::get_request(version, community.expose_secret().as_bytes(), id, &probe);
                let _ = socket.send_to(&packet, (*address, config.port)).await;
                let due = interval.saturating_mul(u32::try_from(n + 1).unwrap_or(u32::MAX));
                if let Some(wait) = due.checked_sub(started.elapsed())
                    && !wait.is_zero()
                {
                    tokio::time::sleep(wait).await;
                }
                if n % 4096 == 0 {
                    progress(n, silent.len());
                }
            }
            sent.store(true, Ordering::Release);
            let answered = listener.await.unwrap_or_default();
            for (i, from) in answered {
                let expected = addresses.get(usize::try_from(i).unwrap_or(usize::MAX));
                // Multi-homed devices may answer from another address: keep the one asked.
                if let Some(address) = expected {
                    if from.ip() != std::net::IpAddr::V4(*address) {
                        tracing::debug!(asked = %address, answered = %from, "answer from another address");
                    }
                    if let std::collections::hash_map::Entry::Vacant(entry) = found.entry(i) {
                        tell(
                            entry.insert(Responder {
                                address: SocketAddr::from((*address, config.port)),
                                credential: c,
                            }),
                        );
                    }
                }
            }
        }
    }
    progress(addresses.len(), addresses.len());
    let mut out: Vec<Responder> = found.into_values().collect();
    out.sort_by_key(|r| r.address);
    Ok(out)
}

/// SNMPv3 sweep: an engine discovery and a GET per address, many at once.
async fn sweep_v3(
    addresses: &[Ipv4Addr],
    credential: &Credential,
    config: &SweepConfig,
    known: &HashMap<u32, Responder>,
) -> Vec<(u32, SocketAddr)> {
    let limit = Arc::new(Semaphore::new(config.concurrency.max(1) * 4));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, address) in addresses.iter().enumerate() {
        let Ok(i) = u32::try_from(i) else { continue };
        if known.contains_key(&i) {
            continue;
        }
        let target = Target { address: SocketAddr::from((*address, config.port)), credential: credential.clone() };
        let engine = EngineConfig { first_timeout: config.timeout, retries: config.retries, ..EngineConfig::default() };
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let mut session = Session::new(target.clone(), engine);
            let probe: Oid = "1.3.6.1.2.1.1.2.0".parse().expect("invariant: constant OID");
            crate::snmp::Snmp::get(&mut session, &[probe]).await.ok().map(|_| (i, target.address))
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(Some(found)) = done {
            out.push(found);
        }
    }
    out
}

/// Collects (request id, sender) of valid answers until, once every probe of the round went
/// out, `quiet` passes without one.
async fn listen(socket: Arc<UdpSocket>, quiet: Duration, sent: Arc<AtomicBool>) -> Vec<(u32, SocketAddr)> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        match tokio::time::timeout(quiet, socket.recv_from(&mut buf)).await {
            Ok(Ok((len, from))) => {
                if let Ok(pdu) = snmp2::Pdu::from_bytes(&buf[..len])
                    && pdu.message_type == snmp2::MessageType::Response
                    && pdu.error_status == 0
                    && let Ok(id) = u32::try_from(pdu.req_id)
                {
                    out.push((id, from));
                }
            }
            Ok(Err(_)) => continue,
            Err(_) if sent.load(Ordering::Acquire) => return out,
            Err(_) => continue,
        }
    }
}

/// A device found and read.
#[derive(Debug)]
pub struct Found {
    pub address: SocketAddr,
    pub snapshot: DeviceSnapshot,
    pub notes: Vec<String>,
    /// The SNMPv3 engine id, when read over v3.
    pub engine_id: Option<String>,
    /// Other addresses the same printer answered on (several interfaces, or a stale DHCP
    /// lease), recognised by serial, then MAC, then engine id.
    pub also_at: Vec<SocketAddr>,
    /// The raw reading, when the sweep was asked to keep it.
    pub raw: Option<RawReading>,
    /// Which of the sweep's credentials answered (an index into them).
    pub credential: usize,
}

fn fingerprint(found: &Found) -> Fingerprint {
    Fingerprint {
        serial: found.snapshot.serial.clone(),
        mac: found.snapshot.mac.clone(),
        engine_id: found.engine_id.clone(),
    }
}

/// One entry per printer: a printer seen on several addresses is listed once.
fn merge_duplicates(found: Vec<Found>) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::with_capacity(found.len());
    let mut prints: Vec<Fingerprint> = Vec::with_capacity(found.len());
    for device in found {
        let print = fingerprint(&device);
        match recognise(&print, &prints) {
            Some((i, _)) => out[i].also_at.push(device.address),
            None => {
                prints.push(print);
                out.push(device);
            }
        }
    }
    out
}

/// What a scan found and what it took.
#[derive(Debug, Default)]
pub struct ScanReport {
    pub printers: Vec<Found>,
    /// Devices that answered SNMP but are not printers.
    pub others: usize,
    /// Devices that answered the sweep and then could not be read.
    pub unreadable: usize,
    pub sweep: Duration,
    /// How long reading went on after the sweep ended (it starts with the first round's finds).
    pub read: Duration,
}

/// Every address of the ranges (as people write them), host names resolved (IPv4 only),
/// sorted, each once.
pub async fn resolve(ranges: &[String]) -> anyhow::Result<Vec<Ipv4Addr>> {
    let mut out = Vec::new();
    for text in ranges {
        for range in Range::parse_list(text).with_context(|| format!("range {text:?}"))? {
            match &range {
                Range::Host(name) => {
                    let resolved = tokio::net::lookup_host((name.as_str(), 0))
                        .await
                        .with_context(|| format!("cannot resolve {name:?}"))?;
                    out.extend(resolved.filter_map(|a| match a.ip() {
                        std::net::IpAddr::V4(v4) => Some(v4),
                        std::net::IpAddr::V6(_) => None,
                    }));
                }
                Range::Span { .. } => out.extend(range.addresses()),
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Sweeps, and reads every responder with the profiles as the sweep finds it (the devices
/// found by a round are read while the next rounds ask the silent addresses again); keeps the
/// printers. `read` in the report is how long reading went on after the sweep ended.
pub async fn scan_report(
    addresses: &[Ipv4Addr],
    credentials: &[Credential],
    sweep_config: &SweepConfig,
    engine: &EngineConfig,
    profiles: Arc<ProfileSet>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> anyhow::Result<ScanReport> {
    let started = Instant::now();
    let (found_now, mut found) = mpsc::unbounded_channel();
    let sweeping = async {
        let found_now = found_now;
        let swept = sweep(addresses, credentials, sweep_config, progress, Some(&found_now)).await;
        (swept, started.elapsed())
    };
    let reading = async {
        let mut reader = Reader::new(credentials, sweep_config, engine, profiles);
        while let Some(responder) = found.recv().await {
            reader.read(responder);
        }
        let swept_at = Instant::now();
        (reader.finish().await, swept_at.elapsed())
    };
    let ((swept, sweep_time), ((printers, others, unreadable), read_time)) = tokio::join!(sweeping, reading);
    swept?;
    Ok(ScanReport { printers, others, unreadable, sweep: sweep_time, read: read_time })
}

/// What reading one responder gave: its address, the credential that answered, and the
/// snapshot, notes, engine id and raw reading (printers only, when kept), or why it failed.
type ReadOutcome = (SocketAddr, usize, Result<ReadDevice, crate::snmp::SnmpError>);
type ReadDevice = (DeviceSnapshot, Vec<String>, Option<String>, Option<RawReading>);

/// Reads the responders as the sweep hands them over, `concurrency` at once.
struct Reader<'a> {
    credentials: &'a [Credential],
    config: &'a SweepConfig,
    engine: &'a EngineConfig,
    profiles: Arc<ProfileSet>,
    limit: Arc<Semaphore>,
    tasks: tokio::task::JoinSet<ReadOutcome>,
}

impl<'a> Reader<'a> {
    fn new(
        credentials: &'a [Credential],
        config: &'a SweepConfig,
        engine: &'a EngineConfig,
        profiles: Arc<ProfileSet>,
    ) -> Reader<'a> {
        let limit = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Reader { credentials, config, engine, profiles, limit, tasks: tokio::task::JoinSet::new() }
    }

    fn read(&mut self, responder: Responder) {
        let target = Target { address: responder.address, credential: self.credentials[responder.credential].clone() };
        let credential = responder.credential;
        let (engine, profiles, limit, options) =
            (self.engine.clone(), self.profiles.clone(), self.limit.clone(), self.config.read.clone());
        let keep_raw = self.config.keep_raw;
        self.tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let mut session = Session::new(target.clone(), engine);
            let reading = read_device(&mut session, &profiles, &options).await;
            (
                target.address,
                credential,
                reading.map(|r| {
                    let snapshot = interpret(&r.walk, &profiles);
                    // Only printers' raw readings travel; the others are dropped here.
                    let raw = (keep_raw && snapshot.is_printer)
                        .then(|| r.to_raw(target.address, Cycle::Discovery, chrono::Utc::now()));
                    (snapshot, r.notes, r.engine_id, raw)
                }),
            )
        });
    }

    /// The printers among the devices read (merged when one answered on several addresses),
    /// and how many were other devices or could not be read.
    async fn finish(self) -> (Vec<Found>, usize, usize) {
        let mut tasks = self.tasks;
        let mut printers = Vec::new();
        let (mut others, mut unreadable) = (0, 0);
        while let Some(done) = tasks.join_next().await {
            let Ok((address, credential, reading)) = done else { continue };
            match reading {
                Ok((snapshot, notes, engine_id, raw)) if snapshot.is_printer => {
                    printers.push(Found { address, snapshot, notes, engine_id, also_at: Vec::new(), raw, credential });
                }
                Ok(_) => others += 1,
                Err(err) => {
                    unreadable += 1;
                    tracing::info!(device = %address, error = %err, "answered the sweep, then could not be read");
                }
            }
        }
        printers.sort_by_key(|f| f.address);
        (merge_duplicates(printers), others, unreadable)
    }
}
