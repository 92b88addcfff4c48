//! The interpreter: a walk in, a [`DeviceSnapshot`] out. Pure, total: it never panics and never
//! fails a whole device over one bad value; every oddity becomes a warning.

mod classify;
mod counters;
mod identity;
mod resolve;
mod status;
mod supplies;

use super::oid::Oid;
use super::profile::ProfileSet;
use super::snapshot::{DeviceSnapshot, Provenance};
use super::value::{Value, decode_text};
use super::walk::Walk;

pub(crate) use resolve::resolve_chain;

/// The system facts of a walk (for read plans).
pub(crate) fn system(walk: &Walk) -> System {
    System::read(walk)
}

/// Well-known OIDs of the standard MIBs.
pub(crate) mod oids {
    pub const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";
    pub const SYS_OBJECT_ID: &str = "1.3.6.1.2.1.1.2.0";
    pub const SYS_LOCATION: &str = "1.3.6.1.2.1.1.6.0";
    pub const HR_DEVICE_TYPE: &str = "1.3.6.1.2.1.25.3.2.1.2";
    pub const HR_DEVICE_PRINTER: &str = "1.3.6.1.2.1.25.3.1.5";
    pub const HR_DEVICE_STATUS: &str = "1.3.6.1.2.1.25.3.2.1.5";
    pub const HR_PRINTER_STATUS: &str = "1.3.6.1.2.1.25.3.5.1.1";
    pub const HR_PRINTER_ERRORS: &str = "1.3.6.1.2.1.25.3.5.1.2";
    pub const PRT_MARKER: &str = "1.3.6.1.2.1.43.10.2.1";
    pub const PRT_SUPPLIES: &str = "1.3.6.1.2.1.43.11.1.1";
    pub const PRT_COLORANT_VALUE: &str = "1.3.6.1.2.1.43.12.1.1.4";
    pub const PRT_INPUT: &str = "1.3.6.1.2.1.43.8.2.1";
    pub const PRT_ALERT: &str = "1.3.6.1.2.1.43.18.1.1";
    pub const PRINTER_MIB: &str = "1.3.6.1.2.1.43";
}

pub(crate) fn oid(text: &str) -> Oid {
    text.parse().expect("invariant: built-in OIDs are valid")
}

/// What the system group and HOST-RESOURCES say, read once.
pub(crate) struct System {
    pub descr: Option<String>,
    pub object_id: Option<Oid>,
    /// hrDeviceIndex of the first hrDevicePrinter row.
    pub printer_device: Option<u32>,
    /// Every hrDeviceType row's type.
    pub device_types: Vec<Oid>,
}

impl System {
    fn read(walk: &Walk) -> System {
        let descr = walk
            .get(&oid(oids::SYS_DESCR))
            .and_then(Value::as_bytes)
            .map(|b| decode_text(b).text)
            .filter(|t| !t.is_empty());
        let object_id = walk.get(&oid(oids::SYS_OBJECT_ID)).and_then(Value::as_oid).cloned();
        let types_root = oid(oids::HR_DEVICE_TYPE);
        let printer = oid(oids::HR_DEVICE_PRINTER);
        let mut printer_device = None;
        let mut device_types = Vec::new();
        for (suffix, value) in walk.subtree(&types_root) {
            if let Some(t) = value.as_oid() {
                if printer_device.is_none() && *t == printer {
                    printer_device = suffix.first().copied();
                }
                device_types.push(t.clone());
            }
        }
        System { descr, object_id, printer_device, device_types }
    }
}

/// Interprets one device's walk with the profiles.
pub fn interpret(walk: &Walk, set: &ProfileSet) -> DeviceSnapshot {
    let system = System::read(walk);
    let mut snapshot = DeviceSnapshot::default();
    let mut chain = resolve::resolve_chain(walk, set, &system);
    identity::apply(walk, &chain.profiles, &system, &mut snapshot);
    // A model profile may refine the vendor's once the model is known.
    if let Some(model) = snapshot.model.clone()
        && let Some(refined) = resolve::refine_by_model(set, &chain.profiles, &model)
    {
        chain.profiles = refined;
        snapshot = DeviceSnapshot::default();
        identity::apply(walk, &chain.profiles, &system, &mut snapshot);
    }
    snapshot.profile = chain.profiles.iter().map(|p| p.id().to_owned()).collect();
    snapshot.vendor = chain.profiles.iter().rev().find_map(|p| p.spec.vendor.clone());
    snapshot.sys_descr = system.descr.clone();
    snapshot.sys_object_id = system.object_id.as_ref().map(Oid::to_string);
    counters::apply(walk, &chain.profiles, &system, &mut snapshot);
    supplies::apply(walk, &chain.profiles, &system, &mut snapshot);
    status::apply(walk, set, &system, &mut snapshot);
    classify::apply(walk, set, &system, &chain, &mut snapshot);
    snapshot
}

/// Interprets a partial walk of a device already known (a counters or alerts cycle reads only
/// that cycle's OIDs) with the profiles it was recognised with (`profile_ids`, base first, as
/// `DeviceSnapshot::profile` gave them), instead of resolving them again from OIDs the partial
/// walk does not have. Falls back to `interpret` when a profile is no longer in the set.
pub fn interpret_known(walk: &Walk, set: &ProfileSet, profile_ids: &[String]) -> DeviceSnapshot {
    let chain: Option<Vec<&super::profile::Profile>> = profile_ids.iter().map(|id| set.get(id)).collect();
    let Some(profiles) = chain.filter(|c| !c.is_empty()) else {
        return interpret(walk, set);
    };
    let system = System::read(walk);
    let mut snapshot = DeviceSnapshot::default();
    identity::apply(walk, &profiles, &system, &mut snapshot);
    snapshot.profile = profiles.iter().map(|p| p.id().to_owned()).collect();
    snapshot.vendor = profiles.iter().rev().find_map(|p| p.spec.vendor.clone());
    counters::apply(walk, &profiles, &system, &mut snapshot);
    supplies::apply(walk, &profiles, &system, &mut snapshot);
    status::apply(walk, set, &system, &mut snapshot);
    // Known as a printer when it was recognised; a partial walk cannot say otherwise.
    snapshot.is_printer = true;
    snapshot
}

pub(crate) fn provenance(oid: &Oid, value: &Value, rule: impl Into<String>) -> Provenance {
    Provenance { oid: oid.to_string(), raw: value.raw(), rule: rule.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::{read_plan_for, read_recordings};

    /// Only the OIDs a cycle plan reads, as an agent's counters or alerts cycle would get them.
    fn restricted(walk: &Walk, plan: &crate::profiles::CyclePlan) -> Walk {
        let mut out = Walk::new();
        for (oid, value) in walk.iter() {
            if plan.get.contains(oid) || plan.walk.iter().any(|w| oid.starts_with(w)) {
                out.insert(oid.clone(), value.clone());
            }
        }
        out
    }

    /// What the server relies on: a counters cycle's walk gives the counters and supplies the
    /// whole walk gives, and an alerts cycle's the alerts and status, for every recording.
    #[test]
    fn cycle_walks_of_known_devices_interpret_like_the_whole_walk() {
        let set = ProfileSet::builtin().unwrap();
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers");
        let mut checked = 0;
        for (path, walk) in read_recordings(&folder).unwrap() {
            let full = interpret(&walk, &set);
            if !full.is_printer {
                continue;
            }
            let plan = read_plan_for(&walk, &set);
            let counters = interpret_known(&restricted(&walk, &plan.counters), &set, &full.profile);
            assert_eq!(counters.counters, full.counters, "counters of {}", path.display());
            assert_eq!(counters.supplies, full.supplies, "supplies of {}", path.display());
            let alerts = interpret_known(&restricted(&walk, &plan.alerts), &set, &full.profile);
            assert_eq!(alerts.alerts, full.alerts, "alerts of {}", path.display());
            assert_eq!(alerts.status, full.status, "status of {}", path.display());
            checked += 1;
        }
        assert!(checked >= 40, "only {checked} printers checked");
    }
}
