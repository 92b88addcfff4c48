//! One simulated device: its walk, its faults and its living values.

use std::time::{Duration, Instant};

use cartouche_schema::profiles::{Oid, Value, Walk};
use rand::RngCore;
use snmp2::{MessageType, Pdu};

use cartouche_agent::snmp::ber::{self, Reply};

/// What can go wrong with a device (all off by default).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Never answers.
    pub no_answer: bool,
    /// Drops every packet for this long after start (a printer waking up).
    #[serde(with = "humantime_secs")]
    pub asleep: Option<Duration>,
    /// Answers this late.
    #[serde(with = "humantime_secs")]
    pub slow: Option<Duration>,
    /// Ignores GETBULK (old firmware): the client must fall back to GETNEXT.
    pub no_getbulk: bool,
    /// Answers tooBig when a response would hold more varbinds than this.
    pub too_big_over: Option<usize>,
    /// GETNEXT answers an OID that is not after the one asked (a broken agent).
    pub non_increasing: bool,
    /// Answers random bytes.
    pub garbage: bool,
    /// Below the vendor subtree, GETNEXT never reaches the end (a looping agent).
    pub endless: bool,
}

mod humantime_secs {
    use std::time::Duration;

    use serde::Deserialize;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.map(Duration::from_secs_f64))
    }
}

/// Pages printed per minute and what they use up (living values).
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Living {
    pub pages_per_minute: f64,
    /// Supply level units used per printed page.
    pub toner_per_page: f64,
}

/// Something that happens to a device at a given time after start.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A new cartridge: the level goes back to capacity, the serial in the description changes.
    SwapSupply { at: f64, supply: u32, serial: Option<String> },
    /// A prtAlertTable row appears (RFC 3805 codes: 8 jam, 1101 toner empty, …).
    RaiseAlert { at: f64, code: i64, group: i64, severity: i64, training: i64, description: String },
    /// The alert with this prtAlertIndex goes away.
    ClearAlert { at: f64, index: u32 },
}

impl Event {
    fn at(&self) -> f64 {
        match self {
            Event::SwapSupply { at, .. } | Event::RaiseAlert { at, .. } | Event::ClearAlert { at, .. } => *at,
        }
    }
}

pub struct Device {
    pub walk: Walk,
    pub community: String,
    pub faults: Faults,
    pub living: Living,
    started: Instant,
    /// Pages already applied to the counters.
    applied_pages: u64,
    /// Requests answered (for tests and benchmarks).
    pub requests: u64,
    /// Scheduled events not yet applied, soonest first.
    pending: Vec<Event>,
    /// Pages of the embedded web server, by path (served when the simulator has an HTTP port).
    pub pages: std::collections::BTreeMap<String, Vec<u8>>,
    /// Accepts TCP connections on the NPAP port (when the simulator has one).
    pub npap: bool,
}

const LIFE_COUNT: &str = "1.3.6.1.2.1.43.10.2.1.4";
const SUPPLY_LEVEL: &str = "1.3.6.1.2.1.43.11.1.1.9";
const MAX_BULK: u32 = 64;

impl Device {
    pub fn new(walk: Walk, community: &str) -> Device {
        Device {
            walk,
            community: community.to_owned(),
            faults: Faults::default(),
            living: Living::default(),
            started: Instant::now(),
            applied_pages: 0,
            requests: 0,
            pending: Vec::new(),
            pages: std::collections::BTreeMap::new(),
            npap: false,
        }
    }

    /// Makes this copy of a recording a device of its own: its serial and MAC (found through
    /// the interpreter's provenance, wherever the vendor keeps them) get `n` worked in. A fleet
    /// built from a few recordings then holds as many printers as devices.
    pub fn personalise(&mut self, n: u32, profiles: &cartouche_schema::profiles::ProfileSet) {
        let snapshot = cartouche_schema::profiles::interpret(&self.walk, profiles);
        if let (Some(serial), Some(oid)) =
            (&snapshot.serial, snapshot.provenance.get("serial").and_then(|p| p.oid.parse::<Oid>().ok()))
            && let Some(Value::OctetString(bytes)) = self.walk.get_mut(&oid)
        {
            // The serial may sit inside a longer value (HP's sysDescr "…,SN:XXXX,…").
            let text = String::from_utf8_lossy(bytes).replacen(serial.as_str(), &format!("{serial}{n:05}"), 1);
            *bytes = text.into_bytes();
        }
        let mac_column: Oid = "1.3.6.1.2.1.2.2.1.6".parse().expect("invariant: constant OID");
        let mut macs: Vec<Oid> = self.walk.subtree(&mac_column).map(|(s, _)| mac_column.child(s)).collect();
        macs.extend(
            snapshot
                .provenance
                .get("mac")
                .and_then(|p| p.oid.parse::<Oid>().ok())
                .filter(|o| !o.starts_with(&mac_column)),
        );
        for oid in macs {
            if let Some(Value::OctetString(mac)) = self.walk.get_mut(&oid)
                && mac.len() == 6
            {
                mac[3..].copy_from_slice(&n.to_be_bytes()[1..]);
            }
        }
    }

    /// Schedules events (seconds after the device started).
    pub fn schedule(&mut self, events: Vec<Event>) {
        self.pending.extend(events);
        self.pending.sort_by(|a, b| a.at().total_cmp(&b.at()));
    }

    /// A new cartridge in supply `index`: full again, with a new serial if one is given.
    pub fn swap_supply(&mut self, index: u32, serial: Option<&str>) {
        let table: Oid = "1.3.6.1.2.1.43.11.1.1".parse().expect("invariant: constant OID");
        let row = self.walk.table(&table).into_iter().find(|(i, _)| i.last() == Some(&index)).map(|(i, _)| i);
        let Some(row) = row else { return };
        let max =
            self.walk.get(&table.child(&[8]).child(&row)).and_then(Value::as_i64).filter(|m| *m > 0).unwrap_or(100);
        if let Some(Value::Integer(level)) = self.walk.get_mut(&table.child(&[9]).child(&row)) {
            *level = max;
        }
        if let (Some(serial), Some(Value::OctetString(description))) =
            (serial, self.walk.get_mut(&table.child(&[6]).child(&row)))
        {
            let text = String::from_utf8_lossy(description).into_owned();
            let updated = match text.find("SN") {
                Some(at) => format!("{}SN{serial}", &text[..at]),
                None => format!("{text};SN{serial}"),
            };
            *description = updated.into_bytes();
        }
    }

    /// Adds a prtAlertTable row; returns its index.
    pub fn raise_alert(&mut self, code: i64, group: i64, severity: i64, training: i64, description: &str) -> u32 {
        let table: Oid = "1.3.6.1.2.1.43.18.1.1".parse().expect("invariant: constant OID");
        let index = self.walk.table(&table).keys().filter_map(|i| i.last().copied()).max().unwrap_or(0) + 1;
        let uptime = self
            .walk
            .get(&"1.3.6.1.2.1.1.3.0".parse().expect("invariant: constant OID"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let columns: [(u32, Value); 8] = [
            (2, Value::Integer(severity)),
            (3, Value::Integer(training)),
            (4, Value::Integer(group)),
            (5, Value::Integer(1)),
            (6, Value::Integer(1)),
            (7, Value::Integer(code)),
            (8, Value::OctetString(description.as_bytes().to_vec())),
            (9, Value::TimeTicks(u32::try_from(uptime).unwrap_or(0))),
        ];
        for (column, value) in columns {
            self.walk.insert(table.child(&[column, 1, index]), value);
        }
        index
    }

    /// Removes the alert with prtAlertIndex `index`.
    pub fn clear_alert(&mut self, index: u32) {
        let table: Oid = "1.3.6.1.2.1.43.18.1.1".parse().expect("invariant: constant OID");
        for column in 1..=9 {
            self.walk.remove(&table.child(&[column, 1, index]));
        }
    }

    fn apply_due_events(&mut self) {
        let now = self.started.elapsed().as_secs_f64();
        while self.pending.first().is_some_and(|e| e.at() <= now) {
            match self.pending.remove(0) {
                Event::SwapSupply { supply, serial, .. } => self.swap_supply(supply, serial.as_deref()),
                Event::RaiseAlert { code, group, severity, training, description, .. } => {
                    self.raise_alert(code, group, severity, training, &description);
                }
                Event::ClearAlert { index, .. } => self.clear_alert(index),
            }
        }
    }

    /// Prints `pages` more pages: life counters grow, consumable levels fall.
    pub fn print(&mut self, pages: u64) {
        let life: Oid = LIFE_COUNT.parse().expect("invariant: constant OID");
        let levels: Oid = SUPPLY_LEVEL.parse().expect("invariant: constant OID");
        let counters: Vec<Oid> = self.walk.subtree(&life).map(|(s, _)| life.child(s)).collect();
        for oid in counters {
            match self.walk.get_mut(&oid) {
                // Counter32 wraps at 2^32, as on a real device.
                Some(Value::Counter32(n)) => *n = n.wrapping_add(u32::try_from(pages).unwrap_or(u32::MAX)),
                Some(Value::Integer(n)) => *n = n.saturating_add(i64::try_from(pages).unwrap_or(0)),
                _ => {}
            }
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let used = (pages as f64 * self.living.toner_per_page).round() as i64;
        if used > 0 {
            let supplies: Vec<Oid> = self.walk.subtree(&levels).map(|(s, _)| levels.child(s)).collect();
            for oid in supplies {
                if let Some(Value::Integer(level)) = self.walk.get_mut(&oid)
                    && *level > 0
                {
                    *level = (*level - used).max(0);
                }
            }
        }
    }

    fn live(&mut self) {
        self.apply_due_events();
        if self.living.pages_per_minute <= 0.0 {
            return;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let due = (self.started.elapsed().as_secs_f64() / 60.0 * self.living.pages_per_minute) as u64;
        if due > self.applied_pages {
            self.print(due - self.applied_pages);
            self.applied_pages = due;
        }
    }

    /// The reply to one request datagram, or nothing (dropped, or not for us).
    pub fn answer(&mut self, request: &[u8]) -> Option<Vec<u8>> {
        if self.faults.no_answer || self.faults.asleep.is_some_and(|d| self.started.elapsed() < d) {
            return None;
        }
        if self.faults.garbage {
            let mut junk = vec![0u8; 48];
            rand::rng().fill_bytes(&mut junk);
            return Some(junk);
        }
        let version = ber::version_of(request)?;
        if version == 3 {
            return None; // v3 is tested against net-snmp's snmpd, not simulated
        }
        let pdu = Pdu::from_bytes(request).ok()?;
        if pdu.community != self.community.as_bytes() {
            return None; // a wrong community gets silence, as from real agents
        }
        self.live();
        self.requests += 1;
        let oids: Vec<Oid> = pdu.varbinds.filter_map(|(oid, _)| to_oid(&oid)).collect();
        let v1 = version == 0;
        let (status, index, varbinds) = match pdu.message_type {
            MessageType::GetRequest => self.get(&oids, v1),
            MessageType::GetNextRequest => self.get_next(&oids, v1),
            MessageType::GetBulkRequest if !v1 => {
                if self.faults.no_getbulk {
                    return None;
                }
                self.get_bulk(&oids, pdu.error_status, pdu.error_index.min(MAX_BULK))
            }
            _ => return None,
        };
        if let Some(limit) = self.faults.too_big_over
            && varbinds.len() > limit
        {
            return Some(ber::response(version, pdu.community, pdu.req_id, 1, 0, &[]));
        }
        Some(ber::response(version, pdu.community, pdu.req_id, status, index, &varbinds))
    }

    fn get(&self, oids: &[Oid], v1: bool) -> (u32, u32, Vec<(Oid, Reply)>) {
        let mut out = Vec::with_capacity(oids.len());
        for (i, oid) in oids.iter().enumerate() {
            match self.walk.get(oid) {
                Some(value) => out.push((oid.clone(), Reply::Value(value.clone()))),
                None if v1 => return no_such_name(oids, i),
                None => out.push((oid.clone(), Reply::NoSuchInstance)),
            }
        }
        (0, 0, out)
    }

    fn next_of(&self, oid: &Oid) -> Option<(Oid, Value)> {
        if self.faults.endless && oid.enterprise().is_some() {
            // Always one more after the asked OID: a walk that never ends.
            let mut arcs = oid.arcs().to_vec();
            if arcs.len() < 14 {
                arcs.push(1);
            } else if let Some(last) = arcs.last_mut() {
                *last += 1;
            }
            return Some((Oid::new(arcs), Value::Integer(1)));
        }
        if self.faults.non_increasing {
            let (next, value) = self.walk.next_after(oid)?;
            // Every third answer repeats the OID asked for instead of moving on.
            if next.arcs().iter().sum::<u32>() % 3 == 0 {
                return Some((oid.clone(), value.clone()));
            }
            return Some((next.clone(), value.clone()));
        }
        self.walk.next_after(oid).map(|(o, v)| (o.clone(), v.clone()))
    }

    fn get_next(&self, oids: &[Oid], v1: bool) -> (u32, u32, Vec<(Oid, Reply)>) {
        let mut out = Vec::with_capacity(oids.len());
        for (i, oid) in oids.iter().enumerate() {
            match self.next_of(oid) {
                Some((next, value)) => out.push((next, Reply::Value(value))),
                None if v1 => return no_such_name(oids, i),
                None => out.push((oid.clone(), Reply::EndOfMibView)),
            }
        }
        (0, 0, out)
    }

    fn get_bulk(&self, oids: &[Oid], non_repeaters: u32, max_repetitions: u32) -> (u32, u32, Vec<(Oid, Reply)>) {
        let split = usize::try_from(non_repeaters).unwrap_or(0).min(oids.len());
        let (_, _, mut out) = self.get_next(&oids[..split], false);
        for start in &oids[split..] {
            let mut cursor = start.clone();
            for _ in 0..max_repetitions.max(1) {
                match self.next_of(&cursor) {
                    Some((next, value)) => {
                        cursor = next.clone();
                        out.push((next, Reply::Value(value)));
                    }
                    None => {
                        out.push((cursor.clone(), Reply::EndOfMibView));
                        break;
                    }
                }
            }
        }
        (0, 0, out)
    }
}

/// v1's answer to a missing OID: error-status noSuchName (2) at its 1-based index.
fn no_such_name(oids: &[Oid], i: usize) -> (u32, u32, Vec<(Oid, Reply)>) {
    let varbinds = oids.iter().map(|o| (o.clone(), Reply::Null)).collect();
    (2, u32::try_from(i + 1).unwrap_or(0), varbinds)
}

fn to_oid(oid: &snmp2::Oid<'_>) -> Option<Oid> {
    let arcs: Option<Vec<u32>> = oid.iter()?.map(|a| u32::try_from(a).ok()).collect();
    Some(Oid::new(arcs?))
}
