//! The agent ⇄ server protocol over the websocket: JSON messages, tagged by `type`, with a
//! protocol version in the handshake. A newer server keeps understanding older agents: fields
//! are only added (with defaults), never renamed; an agent announces the version it speaks and
//! the server answers in it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::profiles::{Oid, ReadPlan};
use crate::schedule::Schedule;

/// The protocol version this build speaks. Version 1 is the first.
pub const PROTOCOL_VERSION: u32 = 1;
/// The oldest agent protocol a server still accepts.
pub const OLDEST_SUPPORTED: u32 = 1;

/// Agent → server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMessage {
    /// First message on every connection.
    Hello {
        protocol: u32,
        agent_id: String,
        /// The secret given at enrollment (sent over TLS only, never logged).
        credential: String,
        agent_version: String,
        /// What this host can read besides the network (`cups`, `ipp-usb`, …).
        #[serde(default)]
        capabilities: Vec<String>,
    },
    /// Raw readings, numbered: the server stores the batch, then acknowledges its sequence.
    Readings {
        sequence: u64,
        readings: Vec<RawReading>,
    },
    /// How a cycle went.
    CycleReport(CycleReport),
    Heartbeat {
        at: DateTime<Utc>,
    },
}

/// Server → agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The handshake is accepted; the protocol both will speak.
    Welcome {
        protocol: u32,
    },
    /// The handshake is refused (unknown or revoked agent, unsupported protocol).
    Refused {
        reason: String,
    },
    /// The agent's whole configuration, sent on connect and whenever it changes.
    Config(AgentConfig),
    /// Batches up to and including `sequence` are stored: drop them from the spool.
    Ack {
        sequence: u64,
    },
    /// Run a cycle now, outside its schedule.
    RunNow {
        cycle: Cycle,
        range_id: Option<String>,
    },
    Heartbeat {
        at: DateTime<Utc>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cycle {
    Discovery,
    Counters,
    Alerts,
}

impl Cycle {
    pub const ALL: [Cycle; 3] = [Cycle::Discovery, Cycle::Counters, Cycle::Alerts];

    /// The name used on the wire and in the database.
    pub fn name(self) -> &'static str {
        match self {
            Cycle::Discovery => "discovery",
            Cycle::Counters => "counters",
            Cycle::Alerts => "alerts",
        }
    }

    pub fn from_name(name: &str) -> Option<Cycle> {
        Cycle::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The schedule a range gets for this cycle unless told otherwise: what a managed-print
    /// contract needs, at hours when office printers are awake. Discovery once a week
    /// (Monday 10:00), counters once a day (11:00, every day: billing needs a reading per day
    /// even from a printer used on a weekend), alerts every hour of office hours on weekdays.
    pub fn default_schedule(self) -> Schedule {
        use chrono::Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
        match self {
            Cycle::Discovery => Schedule::Once { weekday: Mon, hour: 10 },
            Cycle::Counters => Schedule::window(&[Mon, Tue, Wed, Thu, Fri, Sat, Sun], 11, 12)
                .expect("invariant: 11:00 is a valid hour"),
            Cycle::Alerts => {
                Schedule::window(&[Mon, Tue, Wed, Thu, Fri], 7, 19).expect("invariant: 7:00-19:00 is a valid window")
            }
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentConfig {
    pub ranges: Vec<RangeConfig>,
    /// Credentials by id; secrets travel only inside the TLS link and stay in memory.
    pub credentials: BTreeMap<String, CredentialConfig>,
    /// Devices already known, with their read plans.
    pub devices: Vec<KnownDevice>,
    /// Local (USB) printers: polled every `usb_interval_minutes`, or with the network schedule.
    #[serde(default)]
    pub usb_interval_minutes: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RangeConfig {
    pub id: String,
    /// As people write them (`10.1.0.0/22, printer-3`): parsed with `ranges::Range`.
    pub ranges: String,
    pub site_time_zone: String,
    /// Credential ids, tried in order.
    pub credentials: Vec<String>,
    pub schedules: BTreeMap<Cycle, Schedule>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "version", rename_all = "snake_case")]
pub enum CredentialConfig {
    V1 {
        community: String,
    },
    V2c {
        community: String,
    },
    V3 {
        user: String,
        auth_protocol: Option<String>,
        auth_password: Option<String>,
        priv_protocol: Option<String>,
        priv_password: Option<String>,
        context: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnownDevice {
    pub id: String,
    /// The range whose counters and alerts cycles read this device.
    #[serde(default)]
    pub range_id: String,
    pub address: String,
    pub port: u16,
    /// The credential id it answers to; empty: v2c "public".
    pub credential: String,
    pub plan: ReadPlan,
    pub serial: Option<String>,
    pub mac: Option<String>,
}

/// One device's raw reading: varbinds and pages exactly as read, for the server to interpret
/// (and re-interpret when a profile is fixed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RawReading {
    pub address: String,
    pub read_at: DateTime<Utc>,
    pub cycle: Cycle,
    /// `OID|TAG|VALUE` lines (the `.snmprec` format, hex values for strings).
    pub snmprec: String,
    /// Embedded web server pages read, by path (base64).
    #[serde(default)]
    pub pages: BTreeMap<String, String>,
    #[serde(default)]
    pub notes: Vec<String>,
    pub engine_id: Option<String>,
    pub npap: Option<bool>,
    /// A local printer read over IPP: its attributes as an IPP message (base64), exactly as
    /// received (`schema::ipp` decodes and interprets it). `snmprec` is empty then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipp: Option<String>,
    /// The known device this reading is of (counters and alerts cycles read known devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The SNMP port it was read on (none: 161).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The range whose cycle made this reading (none for local printers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_id: Option<String>,
    /// The range's credential that answered (discovery), by id; `None`: v2c "public".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// It answered, but only after a request timed out: a printer waking from power save
    /// (or busy). A device otherwise fine is then counted asleep, not ok.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answered_late: bool,
}

impl RawReading {
    /// A reading of SNMP varbinds (`.snmprec` text) and nothing else yet.
    pub fn snmp(address: impl Into<String>, cycle: Cycle, read_at: DateTime<Utc>, snmprec: String) -> RawReading {
        RawReading {
            address: address.into(),
            read_at,
            cycle,
            snmprec,
            pages: BTreeMap::new(),
            notes: Vec::new(),
            engine_id: None,
            npap: None,
            ipp: None,
            device_id: None,
            port: None,
            range_id: None,
            credential: None,
            answered_late: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CycleReport {
    pub cycle: Cycle,
    pub range_id: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub devices_read: u32,
    pub devices_failed: u32,
    /// Devices that answered only after retries, or not at all but answered before.
    pub devices_asleep: u32,
    /// Batches of readings the agent's spool did not keep while this cycle ran: this cycle's
    /// own refused by a full spool, or older ones dropped to make room for them (by the
    /// spool's policy). Zero, and left out of the message, in the normal case.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub batches_not_kept: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The OIDs of a read plan, all cycles (what a first inspection of a new device reads).
pub fn plan_oids(plan: &ReadPlan) -> Vec<Oid> {
    let mut all: Vec<Oid> = [&plan.discovery, &plan.counters, &plan.alerts]
        .iter()
        .flat_map(|c| c.get.iter().chain(&c.walk).cloned())
        .collect();
    all.sort();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json_and_round_trip() {
        let hello = AgentMessage::Hello {
            protocol: PROTOCOL_VERSION,
            agent_id: "a1".into(),
            credential: "secret".into(),
            agent_version: "0.1.0".into(),
            capabilities: vec!["cups".into()],
        };
        let json = serde_json::to_string(&hello).unwrap();
        assert!(json.starts_with("{\"type\":\"hello\""), "{json}");
        assert_eq!(serde_json::from_str::<AgentMessage>(&json).unwrap(), hello);
        let ack: ServerMessage = serde_json::from_str("{\"type\":\"ack\",\"sequence\":42}").unwrap();
        assert_eq!(ack, ServerMessage::Ack { sequence: 42 });
    }

    #[test]
    fn an_older_agent_without_new_fields_is_understood() {
        // Version 1 agents send no capabilities: the default applies.
        let old =
            "{\"type\":\"hello\",\"protocol\":1,\"agent_id\":\"a\",\"credential\":\"c\",\"agent_version\":\"0.0.9\"}";
        let AgentMessage::Hello { capabilities, .. } = serde_json::from_str(old).unwrap() else { panic!() };
        assert!(capabilities.is_empty());
    }

    #[test]
    fn schedules_travel_in_the_config() {
        let mut schedules = BTreeMap::new();
        schedules.insert(Cycle::Counters, Schedule::always());
        schedules.insert(Cycle::Discovery, Schedule::Disabled);
        let range = RangeConfig {
            id: "r1".into(),
            ranges: "10.1.0.0/24".into(),
            site_time_zone: "Europe/Paris".into(),
            credentials: vec!["c1".into()],
            schedules,
        };
        let json = serde_json::to_value(&range).unwrap();
        assert_eq!(json["schedules"]["discovery"]["kind"], "disabled");
        assert_eq!(serde_json::from_value::<RangeConfig>(json).unwrap(), range);
    }
}
