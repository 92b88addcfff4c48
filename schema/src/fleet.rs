//! The rules that turn successive readings of one device into facts, pure so they can be
//! tested alone: whether a counter value can be billed as it is, what happened to the supplies
//! between two readings, which alerts opened and which cleared, and what a local printer's IPP
//! attributes say in the same terms as an SNMP reading.

use chrono::{DateTime, Utc};

use crate::ipp::PrinterStatus;
use crate::profiles::DeviceSnapshot;
use crate::profiles::snapshot::{Alert, CounterKind, Provenance, Status, Supply, SupplyState};
use crate::profiles::value::RawValue;

/// Why a counter value is stored but not billed as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterFlag {
    /// Lower than the previous reading (a board swap, a reset, a wrong OID).
    Decrease,
    /// Lower because a 32-bit counter went past 4,294,967,295.
    Wrap,
    /// A colour counter above the total of the same reading.
    ColorAboveTotal,
    /// More pages since the previous reading than the device could print in that time.
    ImplausibleJump,
}

impl CounterFlag {
    pub fn name(self) -> &'static str {
        match self {
            CounterFlag::Decrease => "decrease",
            CounterFlag::Wrap => "wrap",
            CounterFlag::ColorAboveTotal => "color_above_total",
            CounterFlag::ImplausibleJump => "implausible_jump",
        }
    }
}

/// The fastest production printers print about 150 pages a minute; a meter growing faster than
/// this since its previous reading is not believed.
pub const MAX_PAGES_PER_HOUR: i64 = 12_000;
/// Growth always allowed between two readings, whatever the time between them (clock skew,
/// readings a few seconds apart).
const JUMP_SLACK: i64 = 500;
const COUNTER32: i64 = 1 << 32;

/// The name a counter is stored under: the kind, and for `Other` the vendor's label.
pub fn counter_key(kind: CounterKind, label: &str) -> String {
    let name = serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    if kind == CounterKind::Other { format!("other:{}", label.trim().to_lowercase()) } else { name }
}

/// Judges `value` read at `at` against the previous value of the same counter.
pub fn counter_flag(previous: Option<(DateTime<Utc>, i64)>, at: DateTime<Utc>, value: i64) -> Option<CounterFlag> {
    let (then, before) = previous?;
    if value < before {
        // A 32-bit counter that passed its maximum comes back near zero: the pages printed are
        // (2^32 - before) + value, plausible only when `before` was close to the top.
        let wrapped = COUNTER32 - before + value;
        return Some(if before < COUNTER32 && before > COUNTER32 - 10_000_000 && wrapped < 10_000_000 {
            CounterFlag::Wrap
        } else {
            CounterFlag::Decrease
        });
    }
    let hours = (at - then).num_seconds().max(0) as f64 / 3600.0;
    let allowed = JUMP_SLACK + (hours * MAX_PAGES_PER_HOUR as f64) as i64;
    (value - before > allowed).then_some(CounterFlag::ImplausibleJump)
}

/// Colour counters above the total of the same reading.
pub fn color_above_total(kind: CounterKind, value: i64, total: Option<i64>) -> bool {
    matches!(kind, CounterKind::Color | CounterKind::PrintColor | CounterKind::CopyColor)
        && total.is_some_and(|t| value > t)
}

/// What happened to one supply between two readings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SupplyEvent {
    /// A supply appeared where there was none (or the first reading of a device that had
    /// supplies before).
    Installed,
    /// Its serial number changed: a new cartridge.
    SerialChanged { from: String, to: String },
    /// Its level rose by `by` points without a serial change: most likely a new cartridge.
    LevelJumpedUp { from: i64, to: i64 },
    /// It is no longer reported.
    Removed,
}

impl SupplyEvent {
    pub fn name(&self) -> &'static str {
        match self {
            SupplyEvent::Installed => "installed",
            SupplyEvent::SerialChanged { .. } => "serial_changed",
            SupplyEvent::LevelJumpedUp { .. } => "level_jumped_up",
            SupplyEvent::Removed => "removed",
        }
    }
}

/// A supply as last stored, for comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct KnownSupply {
    pub index: u32,
    pub serial: Option<String>,
    pub percent: Option<f64>,
    pub receptacle: bool,
}

/// A rise this large (in points of percent) is a replacement, not measuring noise.
const LEVEL_JUMP_POINTS: f64 = 20.0;

/// The events between what was stored (`before`, empty for a device never read) and `now`.
pub fn supply_events(before: &[KnownSupply], now: &[Supply]) -> Vec<(u32, SupplyEvent)> {
    let mut events = Vec::new();
    for supply in now {
        match before.iter().find(|b| b.index == supply.index) {
            None if !before.is_empty() => events.push((supply.index, SupplyEvent::Installed)),
            None => {}
            Some(old) => {
                if let (Some(from), Some(to)) = (&old.serial, &supply.serial)
                    && from != to
                {
                    events.push((supply.index, SupplyEvent::SerialChanged { from: from.clone(), to: to.clone() }));
                    continue;
                }
                // A receptacle (waste toner) "rises" when it is emptied or replaced: its
                // percent is the space left, so the same rule applies.
                if let (Some(from), Some(to)) = (old.percent, supply.percent)
                    && to - from >= LEVEL_JUMP_POINTS
                {
                    events.push((
                        supply.index,
                        SupplyEvent::LevelJumpedUp { from: from.round() as i64, to: to.round() as i64 },
                    ));
                }
            }
        }
    }
    for old in before {
        if !now.iter().any(|s| s.index == old.index) {
            events.push((old.index, SupplyEvent::Removed));
        }
    }
    events
}

/// What identifies an alert across readings (the table index changes; the fault, its code
/// and where it is do not).
pub fn alert_key(alert: &Alert) -> String {
    format!(
        "{}:{}:{}:{}",
        alert.fault_type,
        alert.code,
        alert.group.as_deref().unwrap_or("-"),
        alert.group_index.map_or_else(|| "-".to_owned(), |i| i.to_string())
    )
}

/// A local printer's IPP attributes in the terms of an SNMP reading: identity, status,
/// supplies and alerts (one per `-warning` or `-error` state reason).
pub fn snapshot_of_ipp(status: &PrinterStatus) -> DeviceSnapshot {
    let field = |key: &str| {
        status.device_id.as_deref().and_then(|id| {
            id.split(';').find_map(|f| {
                let (k, v) = f.split_once(':')?;
                let k = k.trim().to_ascii_uppercase();
                (k == key || (key == "MFG" && k == "MANUFACTURER") || (key == "MDL" && k == "MODEL"))
                    .then(|| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
            })
        })
    };
    let mut alerts = Vec::new();
    let mut worst = "ok";
    for (i, reason) in status.state_reasons.iter().enumerate() {
        let (fault, severity) = if let Some(f) = reason.strip_suffix("-error") {
            (f, "critical")
        } else if let Some(f) = reason.strip_suffix("-warning") {
            (f, "warning")
        } else if reason.ends_with("-report") {
            continue;
        } else {
            // A reason without a suffix is an error (RFC 8011 §5.4.12).
            (reason.as_str(), "critical")
        };
        if severity == "critical" {
            worst = "error";
        } else if worst == "ok" {
            worst = "warning";
        }
        alerts.push(Alert {
            index: u32::try_from(i + 1).unwrap_or(u32::MAX),
            code: 0,
            code_name: Some(fault.to_owned()),
            group: Some("ipp".into()),
            group_index: None,
            location: None,
            severity: severity.into(),
            training_level: None,
            description: Some(reason.clone()),
            time: None,
            fault_type: fault.replace('-', "_"),
        });
    }
    if status.state == Some(crate::ipp::PrinterState::Stopped) && worst == "ok" {
        worst = "error";
    }
    let supplies = status
        .markers
        .iter()
        .enumerate()
        .map(|(i, marker)| {
            let kind = marker.kind.clone().unwrap_or_else(|| "other".into()).replace('-', "_");
            let receptacle = kind.starts_with("waste");
            let percent = marker.level.map(f64::from);
            let state = match (marker.level, marker.low) {
                (None, _) => SupplyState::Unknown,
                (Some(0), _) => {
                    if receptacle {
                        SupplyState::Full
                    } else {
                        SupplyState::Empty
                    }
                }
                (Some(l), Some(low)) if l <= low => SupplyState::Low,
                _ => SupplyState::Ok,
            };
            Supply {
                index: u32::try_from(i + 1).unwrap_or(u32::MAX),
                kind,
                color: marker.color.clone().filter(|c| c != "none"),
                description: Some(marker.name.clone()),
                level: marker.level.map(i64::from),
                max_capacity: Some(100),
                percent,
                state,
                unit: Some("percent".into()),
                receptacle,
                part_number: None,
                serial: None,
                remaining_pages: None,
                source: Provenance {
                    oid: "ipp:marker-levels".into(),
                    raw: RawValue::Int(marker.level.map_or(-2, i64::from)),
                    rule: "ipp marker-levels".into(),
                },
            }
        })
        .collect();
    DeviceSnapshot {
        is_printer: true,
        printer_evidence: vec!["a print queue of the host's print system".into()],
        vendor: field("MFG"),
        model: field("MDL").or_else(|| status.make_and_model.clone()),
        serial: status.serial(),
        status: Status { summary: worst.into(), ..Status::default() },
        supplies,
        alerts,
        ..DeviceSnapshot::default()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::hours(h)
    }

    #[test]
    fn counters_that_cannot_be_billed_as_they_are_are_flagged() {
        assert_eq!(counter_flag(None, t(0), 10), None, "a first reading has nothing to compare with");
        assert_eq!(counter_flag(Some((t(0), 1000)), t(24), 1800), None);
        assert_eq!(counter_flag(Some((t(0), 1000)), t(24), 1000), None, "no pages is fine");
        assert_eq!(counter_flag(Some((t(0), 1000)), t(24), 900), Some(CounterFlag::Decrease));
        assert_eq!(counter_flag(Some((t(0), 4_294_960_000)), t(1), 3_000), Some(CounterFlag::Wrap));
        assert_eq!(counter_flag(Some((t(0), 2_000_000_000)), t(1), 3_000), Some(CounterFlag::Decrease));
        // An hour allows 12,000 pages (and 500 of slack); a day, far more.
        assert_eq!(counter_flag(Some((t(0), 0)), t(1), 12_400), None);
        assert_eq!(counter_flag(Some((t(0), 0)), t(1), 13_000), Some(CounterFlag::ImplausibleJump));
        assert_eq!(counter_flag(Some((t(0), 0)), t(0), 600), Some(CounterFlag::ImplausibleJump));
        assert!(color_above_total(CounterKind::Color, 101, Some(100)));
        assert!(!color_above_total(CounterKind::Mono, 101, Some(100)));
        assert!(!color_above_total(CounterKind::Color, 100, Some(100)));
        assert_eq!(counter_key(CounterKind::PrintColor, "x"), "print_color");
        assert_eq!(counter_key(CounterKind::Other, " Banner Sheets "), "other:banner sheets");
    }

    fn supply(index: u32, serial: Option<&str>, percent: Option<f64>) -> Supply {
        let mut s = snapshot_of_ipp(&PrinterStatus {
            name: None,
            make_and_model: None,
            device_id: None,
            state: None,
            state_reasons: vec![],
            markers: vec![crate::ipp::Marker {
                name: "x".into(),
                kind: Some("toner".into()),
                color: None,
                level: Some(50),
                low: None,
                high: None,
            }],
        })
        .supplies
        .remove(0);
        s.index = index;
        s.serial = serial.map(Into::into);
        s.percent = percent;
        s
    }

    fn known(index: u32, serial: Option<&str>, percent: Option<f64>) -> KnownSupply {
        KnownSupply { index, serial: serial.map(Into::into), percent, receptacle: false }
    }

    #[test]
    fn supply_events_say_what_happened_between_two_readings() {
        assert!(supply_events(&[], &[supply(1, None, Some(80.0))]).is_empty(), "a first reading is no event");
        let before = [known(1, Some("A1"), Some(5.0)), known(2, None, Some(40.0)), known(3, None, Some(50.0))];
        let now = [supply(1, Some("B7"), Some(100.0)), supply(2, None, Some(95.0)), supply(4, None, Some(100.0))];
        let events = supply_events(&before, &now);
        assert_eq!(
            events,
            vec![
                (1, SupplyEvent::SerialChanged { from: "A1".into(), to: "B7".into() }),
                (2, SupplyEvent::LevelJumpedUp { from: 40, to: 95 }),
                (4, SupplyEvent::Installed),
                (3, SupplyEvent::Removed),
            ]
        );
        // Noise and normal use are no event.
        assert!(supply_events(&[known(1, None, Some(40.0))], &[supply(1, None, Some(45.0))]).is_empty());
        assert!(supply_events(&[known(1, None, Some(40.0))], &[supply(1, None, Some(30.0))]).is_empty());
    }

    #[test]
    fn a_local_printer_reads_like_an_snmp_one() {
        let status = PrinterStatus {
            name: Some("q".into()),
            make_and_model: Some("HP LaserJet M110we".into()),
            device_id: Some("MFG:HP;MDL:LaserJet M110we;SN:VNB3K12345;".into()),
            state: Some(crate::ipp::PrinterState::Idle),
            state_reasons: vec!["toner-low-warning".into(), "media-jam-error".into(), "cups-waiting-report".into()],
            markers: vec![crate::ipp::Marker {
                name: "Black Cartridge".into(),
                kind: Some("toner".into()),
                color: Some("#000000".into()),
                level: Some(8),
                low: Some(10),
                high: Some(100),
            }],
        };
        let snapshot = snapshot_of_ipp(&status);
        assert_eq!((snapshot.vendor.as_deref(), snapshot.model.as_deref()), (Some("HP"), Some("LaserJet M110we")));
        assert_eq!(snapshot.serial.as_deref(), Some("VNB3K12345"));
        assert_eq!(snapshot.status.summary, "error");
        let faults: Vec<_> = snapshot.alerts.iter().map(|a| (a.fault_type.as_str(), a.severity.as_str())).collect();
        assert_eq!(faults, vec![("toner_low", "warning"), ("media_jam", "critical")]);
        assert_eq!(snapshot.supplies[0].state, SupplyState::Low);
        assert_eq!(snapshot.supplies[0].percent, Some(8.0));
    }
}
