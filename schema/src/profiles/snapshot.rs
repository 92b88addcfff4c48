//! What the interpreter makes of a walk: the facts about one device, each with where it came
//! from, and every oddity met on the way. Its JSON form is documented in `docs/PROFILES.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::value::RawValue;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DeviceSnapshot {
    pub is_printer: bool,
    /// Why `is_printer` is what it is, strongest evidence first.
    pub printer_evidence: Vec<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub mac: Option<String>,
    pub firmware: Option<String>,
    pub host_name: Option<String>,
    pub location: Option<String>,
    pub sys_descr: Option<String>,
    pub sys_object_id: Option<String>,
    pub status: Status,
    pub counters: Vec<Counter>,
    pub supplies: Vec<Supply>,
    pub inputs: Vec<InputTray>,
    pub alerts: Vec<Alert>,
    pub warnings: Vec<String>,
    /// The profiles applied, most general first (`base`, then vendor, then model).
    pub profile: Vec<String>,
    /// Where each identity field came from.
    pub provenance: BTreeMap<String, Provenance>,
}

/// Where a value came from: the OID, the raw value there, and the rule that read it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Provenance {
    pub oid: String,
    pub raw: RawValue,
    pub rule: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Status {
    /// ok, warning, error, offline or unknown: the one word a dashboard shows.
    pub summary: String,
    /// hrDeviceStatus: unknown, running, warning, testing, down.
    pub device: Option<String>,
    /// hrPrinterStatus: other, unknown, idle, printing, warmup.
    pub printer: Option<String>,
    /// hrPrinterDetectedErrorState bits that are set (low_paper, jammed, door_open, …).
    pub errors: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterKind {
    /// Every page the device ever printed (the billing meter).
    Total,
    Mono,
    Color,
    Print,
    PrintMono,
    PrintColor,
    Copy,
    CopyMono,
    CopyColor,
    Fax,
    Scan,
    ScanMono,
    ScanColor,
    Duplex,
    LargeFormat,
    SingleColor,
    TwoColor,
    /// Pages fed through the document feeder.
    Adf,
    /// Impressions since the device was last powered on.
    SincePowerOn,
    /// Printed media length (label printers).
    Length,
    Other,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Counter {
    pub kind: CounterKind,
    pub value: i64,
    /// impressions, sheets, inches, …
    pub unit: String,
    /// The vendor's name for it, or the profile's.
    pub label: String,
    pub source: Provenance,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplyState {
    Ok,
    /// Little left (for a receptacle: little space left, nearly full).
    Low,
    Empty,
    /// The level is not measured, but some remains (Printer-MIB −3).
    SomeRemaining,
    /// No restriction / not a consumable in the usual sense (Printer-MIB −1).
    Unrestricted,
    /// The device does not know (Printer-MIB −2).
    Unknown,
    /// A waste receptacle that is full.
    Full,
}

impl SupplyState {
    /// The word stored and shown (as serialised).
    pub fn name(self) -> &'static str {
        match self {
            SupplyState::Ok => "ok",
            SupplyState::Low => "low",
            SupplyState::Empty => "empty",
            SupplyState::SomeRemaining => "some_remaining",
            SupplyState::Unrestricted => "unrestricted",
            SupplyState::Unknown => "unknown",
            SupplyState::Full => "full",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Supply {
    /// prtMarkerSuppliesIndex, or the profile's index for vendor supplies.
    pub index: u32,
    /// toner, ink, drum, developer, fuser, waste_toner, transfer_unit, staples, …
    pub kind: String,
    /// black, cyan, magenta, yellow, … when known.
    pub color: Option<String>,
    pub description: Option<String>,
    /// The raw level in `unit`s, when measured.
    pub level: Option<i64>,
    pub max_capacity: Option<i64>,
    /// What remains, in percent: of the supply, or for a receptacle (waste toner) of its space.
    pub percent: Option<f64>,
    pub state: SupplyState,
    pub unit: Option<String>,
    /// True for receptacles (waste toner, waste ink), which fill up instead of emptying.
    pub receptacle: bool,
    pub part_number: Option<String>,
    pub serial: Option<String>,
    /// Pages the vendor expects this supply to last still.
    pub remaining_pages: Option<i64>,
    pub source: Provenance,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InputTray {
    pub index: u32,
    pub name: Option<String>,
    pub level: Option<i64>,
    pub max_capacity: Option<i64>,
    pub percent: Option<f64>,
    pub state: SupplyState,
    pub media: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub index: u32,
    /// prtAlertCode, numeric (see the fault catalogue for names).
    pub code: i64,
    /// The code's name from RFC 3805 (jam, coverOpen, …), when standard.
    pub code_name: Option<String>,
    pub group: Option<String>,
    pub group_index: Option<i64>,
    pub location: Option<i64>,
    pub severity: String,
    pub training_level: Option<String>,
    pub description: Option<String>,
    /// sysUpTime when raised (hundredths of a second).
    pub time: Option<i64>,
    /// The catalogue's fault type (jam, cover_open, toner_empty, …).
    pub fault_type: String,
}

#[cfg(test)]
mod tests {
    use super::SupplyState;

    #[test]
    fn supply_state_names_are_their_serialised_form() {
        use SupplyState::*;
        for state in [Ok, Low, Empty, SomeRemaining, Unrestricted, Unknown, Full] {
            assert_eq!(serde_json::to_value(state).unwrap(), serde_json::json!(state.name()));
        }
    }
}
