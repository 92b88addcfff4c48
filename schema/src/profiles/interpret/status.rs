//! Status (hrDeviceStatus, hrPrinterStatus, hrPrinterDetectedErrorState) and alerts
//! (prtAlertTable), each alert tagged with the catalogue's fault type.

use super::super::catalogue::alert_code_name;
use super::super::profile::ProfileSet;
use super::super::snapshot::{Alert, DeviceSnapshot, Status};
use super::super::value::{Value, decode_text};
use super::super::walk::Walk;
use super::{System, oid, oids};

/// hrPrinterDetectedErrorState bits, most significant bit of the first byte first.
const ERROR_BITS: [&str; 16] = [
    "low_paper",
    "no_paper",
    "low_toner",
    "no_toner",
    "door_open",
    "jammed",
    "offline",
    "service_requested",
    "input_tray_missing",
    "output_tray_missing",
    "marker_supply_missing",
    "output_near_full",
    "output_full",
    "input_tray_empty",
    "overdue_prevent_maint",
    "reserved",
];

pub(crate) fn error_bits(bytes: &[u8]) -> Vec<&'static str> {
    let mut set = Vec::new();
    for (i, name) in ERROR_BITS.iter().enumerate() {
        let byte = bytes.get(i / 8).copied().unwrap_or(0);
        if byte & (0x80 >> (i % 8)) != 0 && *name != "reserved" {
            set.push(*name);
        }
    }
    set
}

fn severity_name(code: i64) -> &'static str {
    match code {
        3 => "critical",
        4 => "warning",
        5 => "warning_binary_change_event",
        _ => "other",
    }
}

fn training_name(code: i64) -> Option<&'static str> {
    Some(match code {
        1 => "other",
        2 => "unknown",
        3 => "untrained",
        4 => "trained",
        5 => "field_service",
        6 => "management",
        7 => "no_intervention_required",
        _ => return None,
    })
}

fn group_name(code: i64) -> Option<&'static str> {
    Some(match code {
        1 => "other",
        2 => "unknown",
        3 => "host_resources_storage",
        4 => "host_resources_device",
        5 => "general_printer",
        6 => "cover",
        7 => "localization",
        8 => "input",
        9 => "output",
        10 => "marker",
        11 => "marker_supplies",
        12 => "marker_colorant",
        13 => "media_path",
        14 => "channel",
        15 => "interpreter",
        16 => "console_display_buffer",
        17 => "console_lights",
        18 => "alert",
        30 => "finisher_device",
        31 => "finisher_supply",
        32 => "finisher_supply_media_input",
        33 => "finisher_attribute",
        _ => return None,
    })
}

pub(crate) fn apply(walk: &Walk, set: &ProfileSet, system: &System, snapshot: &mut DeviceSnapshot) {
    let index = system.printer_device.unwrap_or(1);
    let device = walk.get(&oid(oids::HR_DEVICE_STATUS).child(&[index])).and_then(Value::as_i64).map(|c| match c {
        2 => "running",
        3 => "warning",
        4 => "testing",
        5 => "down",
        _ => "unknown",
    });
    let printer = walk.get(&oid(oids::HR_PRINTER_STATUS).child(&[index])).and_then(Value::as_i64).map(|c| match c {
        1 => "other",
        3 => "idle",
        4 => "printing",
        5 => "warmup",
        _ => "unknown",
    });
    let errors: Vec<String> = walk
        .get(&oid(oids::HR_PRINTER_ERRORS).child(&[index]))
        .and_then(Value::as_bytes)
        .map(error_bits)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let critical = errors.iter().any(|e| set.catalogue.for_error_bit(e).severity == "critical" && e != "offline");
    let summary = if device == Some("down") || critical {
        "error"
    } else if errors.iter().any(|e| e == "offline") {
        "offline"
    } else if device == Some("warning") || !errors.is_empty() {
        "warning"
    } else if device.is_some() || printer.is_some() {
        "ok"
    } else {
        "unknown"
    };
    snapshot.status = Status {
        summary: summary.to_owned(),
        device: device.map(str::to_owned),
        printer: printer.map(str::to_owned),
        errors,
    };
    snapshot.alerts = alerts(walk, set, snapshot);
}

fn alerts(walk: &Walk, set: &ProfileSet, snapshot: &mut DeviceSnapshot) -> Vec<Alert> {
    let root = oid(oids::PRT_ALERT);
    let rows = walk.table(&root);
    let mut out = Vec::new();
    for (index, columns) in rows {
        let number = |col| columns.get(&col).and_then(|v| v.as_i64());
        let Some(code) = number(7) else {
            snapshot.warnings.push(format!("alert {index:?} has no code; skipped"));
            continue;
        };
        let description =
            columns.get(&8).and_then(|v| v.as_bytes()).map(|b| decode_text(b).text).filter(|t| !t.is_empty());
        let group = number(4);
        let fault = set.catalogue.for_alert(code, group, description.as_deref());
        out.push(Alert {
            index: *index.last().unwrap_or(&0),
            code,
            code_name: alert_code_name(code).map(str::to_owned),
            group: group.and_then(group_name).map(str::to_owned),
            group_index: number(5),
            location: number(6),
            severity: number(2).map_or_else(|| fault.severity.clone(), |s| severity_name(s).to_owned()),
            training_level: number(3).and_then(training_name).map(str::to_owned),
            description,
            time: number(9),
            fault_type: fault.fault_type.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::error_bits;

    #[test]
    fn error_bits_are_read_most_significant_first() {
        assert_eq!(error_bits(&[0x00]), Vec::<&str>::new());
        assert_eq!(error_bits(&[0x80]), vec!["low_paper"]);
        assert_eq!(error_bits(&[0x04, 0x02]), vec!["jammed", "overdue_prevent_maint"]);
        assert_eq!(error_bits(&[0x01, 0x80]), vec!["service_requested", "input_tray_missing"]);
    }
}
