//! Reading one device: a first look (system group and the base reads) picks the profiles, then
//! the read plan of those profiles is carried out. The result is a walk, the raw reading.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cartouche_schema::profiles::{CyclePlan, Oid, ProfileSet, ReadPlan, Value, Walk, read_plan_for};

use cartouche_schema::wire::{Cycle, RawReading};
use chrono::{DateTime, Utc};

use crate::snmp::{self, Snmp, SnmpError};

/// How to read a device beyond SNMP's own settings.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Most varbinds per walk.
    pub walk_cap: usize,
    pub max_repetitions: u32,
    /// Port of the embedded web server (80), for the pages profiles read; `None`: no HTTP.
    pub http_port: Option<u16>,
    /// Port probed for NPAP (9300); `None`: not probed.
    pub npap_port: Option<u16>,
    /// Deadline of one HTTP request or NPAP probe.
    pub tcp_timeout: Duration,
}

impl ReadOptions {
    pub fn new(walk_cap: usize, max_repetitions: u32) -> ReadOptions {
        ReadOptions {
            walk_cap,
            max_repetitions,
            http_port: Some(80),
            npap_port: Some(9300),
            tcp_timeout: Duration::from_secs(3),
        }
    }
}

/// A device's raw reading and how it went.
#[derive(Debug)]
pub struct Reading {
    pub walk: Walk,
    /// Fallbacks and oddities of the conversation (GETBULK refused, a loop cut short, …).
    pub notes: Vec<String>,
    pub duration: Duration,
    /// SNMPv3 engine id (hex), when read over v3.
    pub engine_id: Option<String>,
    /// Whether the device accepts connections on the NPAP port (`None`: not probed).
    pub npap: Option<bool>,
}

const SYSTEM: [&str; 5] =
    ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.6.0"];

fn keep(walk: &mut Walk, varbinds: Vec<(Oid, Value)>) {
    for (oid, value) in varbinds {
        if !matches!(value, Value::Missing) {
            walk.insert(oid, value);
        }
    }
}

impl Reading {
    /// The reading as it travels to the server: the varbinds as `.snmprec` text, pages in
    /// base64, with the notes of how it went.
    pub fn to_raw(&self, address: std::net::SocketAddr, cycle: Cycle, read_at: DateTime<Utc>) -> RawReading {
        use base64::Engine as _;
        RawReading {
            pages: self
                .walk
                .pages()
                .map(|(path, body)| (path.to_owned(), base64::engine::general_purpose::STANDARD.encode(body)))
                .collect(),
            notes: self.notes.clone(),
            engine_id: self.engine_id.clone(),
            npap: self.npap,
            port: Some(address.port()),
            ..RawReading::snmp(address.ip().to_string(), cycle, read_at, self.walk.to_snmprec())
        }
    }
}

/// Carries out `plan` (all three cycles) on a device whose first look is in `walk`.
pub async fn read_plan(
    snmp: &mut impl Snmp,
    plan: &ReadPlan,
    walk: &mut Walk,
    notes: &mut Vec<String>,
    cap: usize,
    reps: u32,
) -> Result<(), SnmpError> {
    read_cycles(snmp, &[&plan.discovery, &plan.counters, &plan.alerts], walk, notes, cap, reps).await
}

/// Carries out some cycles of a plan: their GETs in one batch (values already in `walk` are
/// not asked again), then their walks, a root below another walked with it.
pub async fn read_cycles(
    snmp: &mut impl Snmp,
    cycles: &[&CyclePlan],
    walk: &mut Walk,
    notes: &mut Vec<String>,
    cap: usize,
    reps: u32,
) -> Result<(), SnmpError> {
    let mut gets: Vec<Oid> = Vec::new();
    let mut roots: Vec<Oid> = Vec::new();
    for cycle in cycles {
        gets.extend(cycle.get.iter().filter(|o| walk.get(o).is_none()).cloned());
        roots.extend(cycle.walk.iter().cloned());
    }
    gets.sort();
    gets.dedup();
    roots.sort();
    roots.dedup();
    let roots: Vec<Oid> =
        roots.iter().filter(|r| !roots.iter().any(|o| o != *r && r.starts_with(o))).cloned().collect();
    if !gets.is_empty() {
        keep(walk, snmp.get(&gets).await?);
    }
    for root in roots {
        let outcome = snmp::walk(snmp, &root, cap, reps).await;
        notes.extend(outcome.notes);
        let failed = outcome.error.clone();
        keep(walk, outcome.varbinds);
        if let Some(err) = failed {
            notes.push(format!("walk of {root} stopped: {err}"));
        }
    }
    Ok(())
}

/// Reads everything Cartouche knows how to use from one device.
pub async fn read_device(
    snmp: &mut impl Snmp,
    profiles: &ProfileSet,
    options: &ReadOptions,
) -> Result<Reading, SnmpError> {
    let (cap, reps) = (options.walk_cap, options.max_repetitions);
    let started = Instant::now();
    let mut walk = Walk::new();
    let mut notes = Vec::new();
    let mut first_look: Vec<Oid> = SYSTEM.iter().map(|o| o.parse().expect("invariant: constant OIDs")).collect();
    first_look.extend(profiles.presence_probes());
    keep(&mut walk, snmp.get(&first_look).await?);
    // Does the Printer-MIB answer at all? One GETNEXT tells (evidence for the classifier).
    let printer_mib: Oid = "1.3.6.1.2.1.43".parse().expect("invariant: constant OID");
    match snmp.get_next(&printer_mib).await {
        Ok(next) => keep(&mut walk, next.into_iter().filter(|(o, _)| o.starts_with(&printer_mib)).collect()),
        Err(err) => notes.push(format!("probing the Printer-MIB: {err}")),
    }
    // The first look decides the profiles; their plan may add vendor reads.
    let first = read_plan_for(&walk, profiles);
    read_plan(snmp, &first, &mut walk, &mut notes, cap, reps).await?;
    let full = read_plan_for(&walk, profiles);
    if full != first {
        read_plan(snmp, &full, &mut walk, &mut notes, cap, reps).await?;
    }
    let host = snmp.address().ip();
    if let Some(port) = options.http_port {
        for path in &full.http {
            match crate::http::get(SocketAddr::new(host, port), path, options.tcp_timeout).await {
                Ok(body) => walk.insert_page(path, body),
                Err(err) => notes.push(format!("HTTP {path}: {err}")),
            }
        }
    }
    let npap = match options.npap_port {
        Some(port) => Some(crate::http::answers_tcp(SocketAddr::new(host, port), options.tcp_timeout).await),
        None => None,
    };
    Ok(Reading { walk, notes, duration: started.elapsed(), engine_id: snmp.engine_id(), npap })
}
