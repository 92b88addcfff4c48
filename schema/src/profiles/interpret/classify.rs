//! Is it a printer? Evidence is weighed, because no single sign is proof: print servers list
//! hrDevicePrinter rows, label printers may lack the Printer-MIB, and scanners share their
//! maker's sysObjectID arc with its printers.

use super::super::profile::ProfileSet;
use super::super::snapshot::DeviceSnapshot;
use super::super::walk::Walk;
use super::resolve::Chain;
use super::{System, oid, oids};

/// Score at or above which a device is a printer.
const THRESHOLD: i32 = 3;

pub(crate) fn apply(walk: &Walk, set: &ProfileSet, system: &System, chain: &Chain<'_>, snapshot: &mut DeviceSnapshot) {
    let mut score = 0;
    let mut evidence: Vec<(i32, String)> = Vec::new();
    let mut add = |points: i32, why: String| {
        score += points;
        evidence.push((points, why));
    };
    let base = set.get("base").map(|b| &b.spec.classify);
    if walk.has_subtree(&oid(oids::PRT_MARKER)) {
        add(4, "the Printer-MIB marker table answers".into());
    } else if walk.has_subtree(&oid(oids::PRINTER_MIB)) {
        add(2, "the Printer-MIB answers".into());
    }
    if !snapshot.supplies.is_empty() {
        add(1, format!("{} marker supplies are listed", snapshot.supplies.len()));
    }
    if system.printer_device.is_some() {
        add(1, "HOST-RESOURCES lists a printer device".into());
    }
    if chain.strength > 0 {
        let points = if chain.printer_profile { i32::try_from(chain.strength).unwrap_or(3).min(4) } else { -4 };
        for reason in &chain.reasons {
            add(0, reason.clone());
        }
        let tip = chain.profiles.last().map_or("", |p| p.spec.name.as_str());
        add(points, format!("matches the {tip} profile"));
    }
    if let (Some(descr), Some(base)) = (system.descr.as_deref(), base) {
        let profile = set.get("base");
        let any = |patterns: &Vec<String>| {
            patterns.iter().any(|p| profile.and_then(|b| b.regex(p)).is_some_and(|re| re.is_match(descr)))
        };
        if any(&base.printer_words) {
            add(1, "sysDescr reads like a printer".into());
        }
        if any(&base.non_printer_words) {
            add(-5, "sysDescr names a device that is not a printer".into());
        }
    }
    if let (Some(enterprise), Some(base)) = (system.object_id.as_ref().and_then(|o| o.enterprise()), base)
        && base.non_printer_enterprises.contains(&enterprise)
    {
        add(-6, format!("sysObjectID enterprise {enterprise} makes hosts or network gear, not printers"));
    }
    let printer_type = oid(oids::HR_DEVICE_PRINTER);
    if !system.device_types.is_empty()
        && !system.device_types.contains(&printer_type)
        && !walk.has_subtree(&oid(oids::PRINTER_MIB))
    {
        add(-4, "HOST-RESOURCES lists devices, none of them a printer".into());
    }
    let processors = oid("1.3.6.1.2.1.25.3.1.3");
    let cpu_count = system.device_types.iter().filter(|t| **t == processors).count();
    if cpu_count > 1 && !walk.has_subtree(&oid(oids::PRT_MARKER)) && chain.strength < 3 {
        add(-4, format!("{cpu_count} processors and no print engine: a host, perhaps a print server"));
    }
    evidence.sort_by_key(|(points, _)| -points.abs());
    snapshot.is_printer = score >= THRESHOLD;
    snapshot.printer_evidence =
        evidence.into_iter().map(|(p, why)| if p == 0 { why } else { format!("{p:+} {why}") }).collect();
}
