//! Which profiles apply: base, the best-matching vendor profile (and its ancestors), and a
//! model profile when one matches the model found.

use super::super::profile::{Profile, ProfileSet};
use super::super::walk::Walk;
use super::System;

/// The profiles that apply to one device, and how the vendor profile was recognised.
pub struct Chain<'a> {
    /// Base first, most specific last.
    pub profiles: Vec<&'a Profile>,
    /// How strongly the most specific vendor profile matched (0 when only base applies).
    pub strength: u32,
    /// Whether the matched profile is about printers (`match.printer`).
    pub printer_profile: bool,
    pub reasons: Vec<String>,
}

struct Hit {
    strength: u32,
    depth: usize,
    priority: i32,
    prefix_len: usize,
    reasons: Vec<String>,
}

fn evaluate(profile: &Profile, walk: &Walk, system: &System, depth: usize) -> Option<Hit> {
    let m = profile.spec.matching.as_ref()?;
    if !m.model.is_empty() {
        return None; // model profiles are chosen in the second pass
    }
    let mut reasons = Vec::new();
    let prefix_len = system
        .object_id
        .as_ref()
        .and_then(|id| m.sys_object_id.iter().filter(|p| id.starts_with(p)).map(|p| p.len()).max())
        .unwrap_or(0);
    let enterprise = system.object_id.as_ref().and_then(|id| id.enterprise());
    let enterprise_hit = enterprise.is_some_and(|e| m.enterprises.contains(&e));
    let present_hit = m.present.iter().find(|o| walk.get(o).is_some() || walk.has_subtree(o));
    let descr_hit = system.descr.as_deref().is_some_and(|d| profile.sys_descr.iter().any(|re| re.is_match(d)));
    let printer_descr_hit =
        system.descr.as_deref().is_some_and(|d| profile.printer_descr.iter().any(|re| re.is_match(d)));
    let has_id_rules = !m.sys_object_id.is_empty() || !m.enterprises.is_empty() || !m.present.is_empty();
    let id_hit = prefix_len > 0 || enterprise_hit || present_hit.is_some();
    let matched = if !has_id_rules {
        descr_hit || printer_descr_hit
    } else if id_hit {
        profile.sys_descr.is_empty() || descr_hit || printer_descr_hit
    } else {
        // No sysObjectID to check (a partial walk): the description alone may decide.
        system.object_id.is_none() && (descr_hit || printer_descr_hit)
    };
    if !matched {
        return None;
    }
    let mut strength = 0;
    if prefix_len > 0 {
        strength += 3;
        reasons.push(format!("sysObjectID is in the {} printer arc", profile.spec.name));
    } else if enterprise_hit {
        strength += 1;
        reasons.push(format!(
            "sysObjectID enterprise belongs to {}",
            profile.spec.vendor.as_deref().unwrap_or("the vendor")
        ));
    }
    if let Some(present) = present_hit {
        strength += 3;
        reasons.push(format!("{} answers ({})", present, profile.spec.name));
    }
    if printer_descr_hit {
        strength += 3;
        reasons.push(format!("sysDescr names a {} printer line", profile.spec.vendor.as_deref().unwrap_or("known")));
    } else if descr_hit {
        strength += 1;
        reasons.push(format!("sysDescr matches {}", profile.spec.name));
    }
    Some(Hit { strength, depth, priority: m.priority, prefix_len, reasons })
}

/// Chooses the profiles for a device.
pub fn resolve_chain<'a>(walk: &Walk, set: &'a ProfileSet, system: &System) -> Chain<'a> {
    let base = set.get("base").expect("invariant: a ProfileSet always has base");
    let mut best: Option<(&Profile, Hit)> = None;
    for profile in set.iter() {
        let depth = set.chain(profile).len();
        let Some(hit) = evaluate(profile, walk, system, depth) else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((_, b)) => {
                (hit.depth, hit.priority, hit.prefix_len, hit.strength)
                    > (b.depth, b.priority, b.prefix_len, b.strength)
            }
        };
        if better {
            best = Some((profile, hit));
        }
    }
    match best {
        Some((profile, hit)) => {
            let printer_profile = profile.spec.matching.as_ref().is_some_and(|m| m.printer);
            Chain { profiles: set.chain(profile), strength: hit.strength, printer_profile, reasons: hit.reasons }
        }
        None => Chain { profiles: vec![base], strength: 0, printer_profile: false, reasons: Vec::new() },
    }
}

/// A model profile refining `chain` whose `match.model` accepts `model`, if any.
pub(crate) fn refine_by_model<'a>(set: &'a ProfileSet, chain: &[&'a Profile], model: &str) -> Option<Vec<&'a Profile>> {
    let tip = chain.last()?.id();
    set.iter()
        .filter(|p| p.spec.extends.as_deref() == Some(tip))
        .filter(|p| p.spec.matching.as_ref().is_some_and(|m| !m.model.is_empty()))
        .filter(|p| p.model.iter().any(|re| re.is_match(model)))
        .max_by_key(|p| p.spec.matching.as_ref().map_or(0, |m| m.priority))
        .map(|p| set.chain(p))
}
