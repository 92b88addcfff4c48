//! What a printer's IPP attributes say about it: state, state reasons, IEEE 1284 device id
//! and supply levels (CUPS `marker-*` attributes, or PWG 5100.13 `printer-supply`).

use super::Group;

/// `printer-state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrinterState {
    Idle,
    Processing,
    Stopped,
}

/// A supply as the printer reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    pub name: String,
    /// `toner`, `ink`, `waste-toner`, `opc`, … (CUPS `marker-types` keywords).
    pub kind: Option<String>,
    /// `#000000`, or `none`.
    pub color: Option<String>,
    /// Percent 0–100; `None` when the printer does not know (negative values).
    pub level: Option<i32>,
    pub low: Option<i32>,
    pub high: Option<i32>,
}

/// What a printer's attributes say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterStatus {
    pub name: Option<String>,
    pub make_and_model: Option<String>,
    /// The IEEE 1284 device id (`MFG:…;MDL:…;SN:…;`), when known.
    pub device_id: Option<String>,
    pub state: Option<PrinterState>,
    /// `printer-state-reasons`, without `none`.
    pub state_reasons: Vec<String>,
    pub markers: Vec<Marker>,
}

impl PrinterStatus {
    pub fn from_attributes(printer: &Group) -> PrinterStatus {
        let state = printer.integers("printer-state").first().and_then(|s| match s {
            3 => Some(PrinterState::Idle),
            4 => Some(PrinterState::Processing),
            5 => Some(PrinterState::Stopped),
            _ => None,
        });
        let state_reasons = printer.strings("printer-state-reasons").into_iter().filter(|r| r != "none").collect();
        let mut markers = cups_markers(printer);
        if markers.is_empty() {
            markers = pwg_supplies(printer);
        }
        PrinterStatus {
            name: printer.string("printer-name"),
            make_and_model: printer.string("printer-make-and-model"),
            device_id: printer.string("printer-device-id"),
            state,
            state_reasons,
            markers,
        }
    }

    /// The serial number from the 1284 device id (`SN:` or `SERN:`), when there is one.
    pub fn serial(&self) -> Option<String> {
        let id = self.device_id.as_deref()?;
        id.split(';').find_map(|field| {
            let (key, value) = field.split_once(':')?;
            matches!(key.trim().to_ascii_uppercase().as_str(), "SN" | "SERN" | "SERIALNUMBER")
                .then(|| value.trim().to_owned())
                .filter(|v| !v.is_empty())
        })
    }
}

fn level(n: i32) -> Option<i32> {
    (0..=100).contains(&n).then_some(n)
}

/// CUPS `marker-names` with the parallel `marker-levels`, `marker-types`, `marker-colors`,
/// `marker-low-levels`, `marker-high-levels`.
fn cups_markers(printer: &Group) -> Vec<Marker> {
    let names = printer.strings("marker-names");
    let levels = printer.integers("marker-levels");
    let kinds = printer.strings("marker-types");
    let colors = printer.strings("marker-colors");
    let lows = printer.integers("marker-low-levels");
    let highs = printer.integers("marker-high-levels");
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| Marker {
            name,
            kind: kinds.get(i).cloned(),
            color: colors.get(i).cloned(),
            level: levels.get(i).copied().and_then(level),
            low: lows.get(i).copied().and_then(level),
            high: highs.get(i).copied().and_then(level),
        })
        .collect()
}

/// PWG 5100.13 `printer-supply` (`type=toner;maxcapacity=100;level=40;colorantname=black;…`)
/// with `printer-supply-description` for names.
fn pwg_supplies(printer: &Group) -> Vec<Marker> {
    let descriptions = printer.strings("printer-supply-description");
    printer
        .strings("printer-supply")
        .iter()
        .enumerate()
        .map(|(i, supply)| {
            let field = |key: &str| {
                supply
                    .split(';')
                    .find_map(|kv| kv.split_once('=').filter(|(k, _)| k.trim() == key).map(|(_, v)| v.trim()))
            };
            let number = |key: &str| field(key).and_then(|v| v.parse::<i64>().ok());
            let percent = match (number("level"), number("maxcapacity"), field("unit")) {
                (Some(l), _, Some("percent")) => i32::try_from(l).ok().and_then(level),
                (Some(l), Some(max), _) if max > 0 && l >= 0 => i32::try_from(l * 100 / max).ok().and_then(level),
                _ => None,
            };
            Marker {
                name: descriptions
                    .get(i)
                    .cloned()
                    .or_else(|| field("colorantname").map(str::to_owned))
                    .unwrap_or_else(|| format!("supply {}", i + 1)),
                kind: field("type").map(str::to_owned),
                color: field("colorantname").map(str::to_owned),
                level: percent,
                low: None,
                high: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipp::{Attribute, Value, group, tag};

    fn printer(attributes: Vec<Attribute>) -> Group {
        Group { tag: group::PRINTER, attributes }
    }

    fn keywords(tag: u8, values: &[&str]) -> Vec<Value> {
        values.iter().map(|v| Value::text(tag, v)).collect()
    }

    #[test]
    fn cups_markers_become_supply_levels_with_unknown_levels_kept_unknown() {
        let group = printer(vec![
            Attribute::new("printer-name", keywords(tag::NAME, &["HP_LaserJet_M404"])),
            Attribute::new("printer-state", vec![Value::integer(tag::ENUM, 5)]),
            Attribute::new(
                "printer-state-reasons",
                keywords(tag::KEYWORD, &["toner-low-warning", "media-empty-error"]),
            ),
            Attribute::new("printer-device-id", keywords(tag::TEXT, &["MFG:HP;MDL:LaserJet M404;SN:PHB1234567;"])),
            Attribute::new("marker-names", keywords(tag::NAME, &["Black Toner", "Imaging Drum"])),
            Attribute::new("marker-types", keywords(tag::KEYWORD, &["toner", "opc"])),
            Attribute::new("marker-colors", keywords(tag::NAME, &["#000000", "none"])),
            Attribute::new("marker-levels", vec![Value::integer(tag::INTEGER, 8), Value::integer(tag::INTEGER, -3)]),
            Attribute::new(
                "marker-low-levels",
                vec![Value::integer(tag::INTEGER, 10), Value::integer(tag::INTEGER, 5)],
            ),
        ]);
        let status = PrinterStatus::from_attributes(&group);
        assert_eq!(status.state, Some(PrinterState::Stopped));
        assert_eq!(status.state_reasons, vec!["toner-low-warning", "media-empty-error"]);
        assert_eq!(status.serial().as_deref(), Some("PHB1234567"));
        assert_eq!(status.markers.len(), 2);
        assert_eq!((status.markers[0].level, status.markers[0].low), (Some(8), Some(10)));
        assert_eq!(status.markers[1].level, None, "-3: unknown, not empty");
        assert_eq!(status.markers[1].kind.as_deref(), Some("opc"));
    }

    #[test]
    fn pwg_supplies_are_used_when_there_are_no_cups_markers() {
        let group = printer(vec![
            Attribute::new(
                "printer-supply",
                keywords(
                    tag::OCTET_STRING,
                    &[
                        "index=1;class=supplyThatIsConsumed;type=toner;unit=percent;maxcapacity=100;level=40;colorantname=black;",
                        "index=2;type=wasteToner;maxcapacity=5000;level=2500;",
                        "index=3;type=toner;maxcapacity=-2;level=-2;colorantname=cyan;",
                    ],
                ),
            ),
            Attribute::new("printer-supply-description", keywords(tag::TEXT, &["Black Toner", "Waste Toner Box"])),
            Attribute::new("printer-state-reasons", keywords(tag::KEYWORD, &["none"])),
        ]);
        let status = PrinterStatus::from_attributes(&group);
        assert!(status.state_reasons.is_empty());
        let levels: Vec<_> = status.markers.iter().map(|m| (m.name.as_str(), m.level)).collect();
        assert_eq!(levels, vec![("Black Toner", Some(40)), ("Waste Toner Box", Some(50)), ("cyan", None)]);
    }
}
