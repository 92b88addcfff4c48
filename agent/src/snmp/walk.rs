//! Walking a subtree: GETBULK while it works, GETNEXT when it does not, max-repetitions halved
//! on tooBig, stopping on OIDs that do not increase and at a size cap. What was read before a
//! failure is kept.

use cartouche_schema::profiles::{Oid, Value};

use super::{Snmp, SnmpError, Varbind};

#[derive(Debug, Default)]
pub struct WalkOutcome {
    pub varbinds: Vec<Varbind>,
    /// Oddities met (fallbacks, a loop cut short): the interpreter's warnings for the reading.
    pub notes: Vec<String>,
    /// Set when the walk stopped on an error before its end (the varbinds are partial).
    pub error: Option<SnmpError>,
}

pub async fn walk(snmp: &mut impl Snmp, root: &Oid, cap: usize, max_repetitions: u32) -> WalkOutcome {
    let mut out = WalkOutcome::default();
    let mut cursor = root.clone();
    let mut bulk = snmp.supports_bulk();
    let mut reps = max_repetitions.max(1);
    loop {
        if out.varbinds.len() >= cap {
            out.notes.push(format!("walk of {root} cut at {cap} varbinds (the device may loop)"));
            return out;
        }
        let answer = if bulk { snmp.get_bulk(&cursor, reps).await } else { snmp.get_next(&cursor).await };
        let varbinds = match answer {
            Ok(v) => v,
            Err(SnmpError::TooBig) if reps > 1 => {
                reps = (reps / 2).max(1);
                out.notes.push(format!("tooBig below {root}: max-repetitions now {reps}"));
                continue;
            }
            Err(SnmpError::TooBig) if bulk => {
                bulk = false;
                continue;
            }
            Err(SnmpError::Timeout { .. } | SnmpError::Status { .. }) if bulk => {
                // Old firmware ignores or refuses GETBULK: go on with GETNEXT, for good.
                bulk = false;
                snmp.refuse_bulk();
                out.notes.push(format!("GETBULK unanswered below {root}: fell back to GETNEXT"));
                continue;
            }
            Err(err) => {
                out.error = Some(err);
                return out;
            }
        };
        if varbinds.is_empty() {
            return out;
        }
        for (oid, value) in varbinds {
            if matches!(value, Value::Missing) || !oid.starts_with(root) {
                return out;
            }
            if oid <= cursor {
                out.notes.push(format!("{oid} came after {cursor}: the device's walk does not increase; stopped"));
                return out;
            }
            cursor = oid.clone();
            out.varbinds.push((oid, value));
            if out.varbinds.len() >= cap {
                break;
            }
        }
    }
}
