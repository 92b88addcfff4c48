//! The profile file format (TOML), as read. `deny_unknown_fields` everywhere: a misspelt key
//! is an error naming the line, never a silently ignored rule.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::oid::Oid;
use super::snapshot::{CounterKind, SupplyState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    /// Unique id (`hp`, `ricoh`, `savin`, …).
    pub id: String,
    pub name: String,
    /// The brand a matching device is shown under.
    pub vendor: Option<String>,
    /// The profile this one refines; every profile but `base` refines `base` at least.
    pub extends: Option<String>,
    /// When the profile applies; `base` has none (it always applies).
    #[serde(rename = "match")]
    pub matching: Option<MatchSpec>,
    #[serde(default)]
    pub read: ReadSpec,
    #[serde(default)]
    pub identity: IdentitySpec,
    #[serde(default)]
    pub counters: Vec<CounterSpec>,
    #[serde(default)]
    pub supplies: SuppliesSpec,
    /// How to tell printers from look-alikes; read from `base` only.
    #[serde(default)]
    pub classify: ClassifySpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifySpec {
    /// Enterprises whose devices are never printers (hosts, switches, UPSes, NAS, cameras).
    #[serde(default)]
    pub non_printer_enterprises: Vec<u32>,
    /// Regexes on sysDescr that suggest a printer when little else is known.
    #[serde(default)]
    pub printer_words: Vec<String>,
    /// Regexes on sysDescr that rule a printer out (scanner, UPS, switch, …).
    #[serde(default)]
    pub non_printer_words: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// sysObjectID prefixes of this vendor's printers (the strongest evidence).
    #[serde(default)]
    pub sys_object_id: Vec<Oid>,
    /// Enterprise numbers: any sysObjectID under `1.3.6.1.4.1.<n>`. Weaker: vendors make more
    /// than printers.
    #[serde(default)]
    pub enterprises: Vec<u32>,
    /// Scalar OIDs whose presence identifies the vendor's printers (for devices without, or
    /// with a foreign, sysObjectID). A first look GETs them.
    #[serde(default)]
    pub present: Vec<Oid>,
    /// Regexes on sysDescr; with sysObjectID rules, all must agree; alone, one suffices.
    #[serde(default)]
    pub sys_descr: Vec<String>,
    /// Regexes on sysDescr naming the vendor's printer lines ("^Canon (MF|LBP|iR)"): as strong
    /// as a printer sysObjectID arc, and enough on their own.
    #[serde(default)]
    pub printer_descr: Vec<String>,
    /// Regexes on the model found by the parent profile (model-specific profiles).
    #[serde(default)]
    pub model: Vec<String>,
    /// Wins ties between profiles of the same depth.
    #[serde(default)]
    pub priority: i32,
    /// A match is evidence that the device is a printer (false for print servers).
    #[serde(default = "yes")]
    pub printer: bool,
}

fn yes() -> bool {
    true
}

/// Per cycle, what to GET and what to walk: the read plan sent to agents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadSpec {
    #[serde(default)]
    pub discovery: CycleSpec,
    #[serde(default)]
    pub counters: CycleSpec,
    #[serde(default)]
    pub alerts: CycleSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CycleSpec {
    #[serde(default)]
    pub get: Vec<Oid>,
    #[serde(default)]
    pub walk: Vec<Oid>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySpec {
    #[serde(default)]
    pub model: Vec<SourceSpec>,
    #[serde(default)]
    pub serial: Vec<SourceSpec>,
    #[serde(default)]
    pub firmware: Vec<SourceSpec>,
    #[serde(default)]
    pub mac: Vec<SourceSpec>,
    #[serde(default)]
    pub host_name: Vec<SourceSpec>,
    /// Values that mean "nothing" for any identity field (`unknown`, `0000000000`, …).
    #[serde(default)]
    pub reject: Vec<String>,
}

impl IdentitySpec {
    /// Every source of every identity field.
    pub fn sources(&self) -> impl Iterator<Item = &SourceSpec> {
        self.model.iter().chain(&self.serial).chain(&self.firmware).chain(&self.mac).chain(&self.host_name)
    }
}

/// Where one value comes from. Exactly one of `oid`, `printer_column`, `first_in`, `tlv`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// A scalar.
    pub oid: Option<Oid>,
    /// A column of hrDeviceTable, read at the index of the printer device (hrDevicePrinter).
    pub printer_column: Option<Oid>,
    /// The first value found below this prefix (a table column with unknown index).
    pub first_in: Option<Oid>,
    /// A record of a Brother-style TLV blob.
    pub tlv: Option<TlvSpec>,
    /// A page of the device's embedded web server (HP LEDM XML, …); use `regex` to pick a value.
    pub http: Option<String>,
    /// Capture group 1 (or the whole match) of this regex on the text.
    pub regex: Option<String>,
    /// An IEEE 1284 device-id key (`MDL`, `MFG`, `SN`) in the text.
    pub ieee1284: Option<String>,
    /// `mac`: decode 6 raw bytes as a MAC address.
    pub decode: Option<Decode>,
    /// Text to put before the value (a model family name the device omits).
    pub prefix: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Decode {
    Text,
    Mac,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct TlvSpec {
    pub oid: Oid,
    /// The record's code (first byte).
    pub code: u8,
    /// Multiply the value by this (Brother's life percentages are in hundredths).
    pub scale: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterSpec {
    /// Unique within the layered profile; formulas name counters by it.
    pub name: String,
    pub kind: CounterKind,
    pub label: Option<String>,
    /// impressions (default), sheets, inches, …
    pub unit: Option<String>,
    pub oid: Option<Oid>,
    /// The sum of every value below this prefix (one per marker or per engine).
    pub walk_sum: Option<Oid>,
    pub tlv: Option<TlvSpec>,
    /// A page of the embedded web server; `regex` picks the number.
    pub http: Option<String>,
    /// For a text value ("1920 INCHES, 4876 CENTIMETERS"): the regex whose group 1 is the number.
    pub regex: Option<String>,
    /// Other counters of this profile combined: `print_black + copy_black - 2`.
    pub formula: Option<String>,
    /// Read the unit from this OID (Printer-MIB prtMarkerCounterUnit values).
    pub unit_oid: Option<Oid>,
    /// When this counter has a value, the named counter (usually the base `total`) is kept but
    /// demoted to kind `other`: one authoritative meter per kind.
    pub replaces: Option<String>,
    /// This counter stands in for the named one only when that one has no value; otherwise
    /// it is kept as kind `other`.
    pub fallback_for: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppliesSpec {
    /// Read prtMarkerSuppliesTable (default true).
    pub table: Option<bool>,
    /// Raw levels with a vendor meaning (`-100 = "empty"` for Ricoh), besides the standard
    /// −1/−2/−3.
    #[serde(default)]
    pub sentinels: BTreeMap<String, SupplyState>,
    /// Regexes whose group 1 is the part number, tried on each description.
    #[serde(default)]
    pub part_number: Vec<String>,
    /// Regexes whose group 1 is the supply serial, tried on each description.
    #[serde(default)]
    pub serial: Vec<String>,
    /// Regexes removed from descriptions once part number and serial are taken out.
    #[serde(default)]
    pub description_strip: Vec<String>,
    /// A vendor column, indexed like prtMarkerSuppliesTable, holding each supply's serial.
    pub serial_column: Option<Oid>,
    /// A vendor column holding each supply's part number.
    pub part_number_column: Option<Oid>,
    /// Supplies read from vendor OIDs.
    #[serde(default)]
    pub extra: Vec<ExtraSupplySpec>,
    /// Percent below which a supply is low (default 10).
    pub low_percent: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraSupplySpec {
    /// An index of its own, kept apart from the table's (use 100 and up).
    pub index: u32,
    pub kind: String,
    pub color: Option<String>,
    pub description: Option<String>,
    /// Remaining life in percent.
    pub percent: Option<SourceSpec>,
    /// Level and capacity, when the vendor gives units instead of a percentage.
    pub level: Option<SourceSpec>,
    pub max_capacity: Option<SourceSpec>,
    pub max_value: Option<i64>,
    pub remaining_pages: Option<SourceSpec>,
    /// Replaces the table's row with this index (same supply, better reading).
    pub replaces: Option<u32>,
    /// The device's own verdict on the supply, an enumerated code (Brother's 1 ok, 2 low …).
    pub status: Option<SourceSpec>,
    /// What each status code means; it overrides the state computed from the level.
    #[serde(default)]
    pub status_map: BTreeMap<String, SupplyState>,
}
