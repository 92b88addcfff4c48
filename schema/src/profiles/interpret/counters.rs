//! Page counters: scalars, sums over markers, Brother TLV records and formulas.

use std::collections::BTreeMap;

use super::super::profile::{Profile, Term, parse_formula};
use super::super::snapshot::{Counter, CounterKind, DeviceSnapshot, Provenance};
use super::super::spec::{CounterSpec, SourceSpec};
use super::super::value::RawValue;
use super::super::walk::Walk;
use super::{System, provenance};

/// Printer-MIB prtMarkerCounterUnit values.
fn unit_name(code: i64) -> &'static str {
    match code {
        3 => "ten_thousandths_of_inches",
        4 => "micrometers",
        5 => "characters",
        6 => "lines",
        7 => "impressions",
        8 => "sheets",
        9 => "dot_rows",
        11 => "hours",
        16 => "feet",
        17 => "meters",
        _ => "impressions",
    }
}

/// Counters of the chain by name; a more specific profile's counter replaces a general one
/// of the same name.
fn merged<'a>(chain: &[&'a Profile]) -> Vec<(&'a Profile, &'a CounterSpec)> {
    let mut by_name: BTreeMap<&str, (usize, &'a Profile, &'a CounterSpec)> = BTreeMap::new();
    let mut order = 0;
    for profile in chain {
        for counter in &profile.spec.counters {
            let slot = by_name.get(counter.name.as_str()).map_or(order, |(o, _, _)| *o);
            by_name.insert(&counter.name, (slot, profile, counter));
            order += 1;
        }
    }
    let mut list: Vec<_> = by_name.into_values().collect();
    list.sort_by_key(|(o, _, _)| *o);
    list.into_iter().map(|(_, p, c)| (p, c)).collect()
}

pub(crate) fn apply(walk: &Walk, chain: &[&Profile], system: &System, snapshot: &mut DeviceSnapshot) {
    let counters = merged(chain);
    let mut values: BTreeMap<String, (i64, Counter)> = BTreeMap::new();
    for (profile, spec) in &counters {
        if spec.formula.is_some() {
            continue;
        }
        if let Some(counter) = read(walk, profile, spec, system, snapshot) {
            values.insert(spec.name.clone(), (counter.value, counter));
        }
    }
    // Formulas may build on each other: resolve until nothing changes.
    for _ in 0..counters.len() {
        let mut progress = false;
        for (profile, spec) in &counters {
            let Some(formula) = &spec.formula else { continue };
            if values.contains_key(&spec.name) {
                continue;
            }
            if let Some(counter) = evaluate(profile, spec, formula, &values) {
                values.insert(spec.name.clone(), (counter.value, counter));
                progress = true;
            }
        }
        if !progress {
            break;
        }
    }
    for (_, spec) in &counters {
        // A fallback gives way to its primary first.
        if let Some(primary) = &spec.fallback_for
            && values.contains_key(primary)
            && let Some((_, counter)) = values.get_mut(&spec.name)
        {
            counter.kind = CounterKind::Other;
        }
    }
    // Then what remains a meter replaces the general one.
    for (_, spec) in &counters {
        let active = values.get(&spec.name).is_some_and(|(_, c)| c.kind != CounterKind::Other);
        if let Some(replaced) = &spec.replaces
            && active
            && let Some((_, counter)) = values.get_mut(replaced)
        {
            counter.kind = CounterKind::Other;
        }
    }
    let mut list: Vec<Counter> =
        counters.iter().filter_map(|(_, spec)| values.remove(&spec.name).map(|(_, c)| c)).collect();
    check_integrity(&list, snapshot);
    snapshot.counters.append(&mut list);
}

fn read(
    walk: &Walk,
    profile: &Profile,
    spec: &CounterSpec,
    system: &System,
    snapshot: &mut DeviceSnapshot,
) -> Option<Counter> {
    let rule = format!("counter {} ({})", spec.name, profile.id());
    let (value, source) = if let Some(root) = &spec.walk_sum {
        let mut sum: i64 = 0;
        let mut first = None;
        for (suffix, value) in walk.subtree(root) {
            let Some(n) = value.as_i64() else { continue };
            if n < 0 {
                snapshot.warnings.push(format!("{rule}: negative value {n} at {} ignored", root.child(suffix)));
                continue;
            }
            sum = sum.saturating_add(n);
            first.get_or_insert((root.child(suffix), value.clone()));
        }
        let (oid, value) = first?;
        let mut provenance = provenance(&oid, &value, format!("{rule}: sum below {root}"));
        provenance.oid = root.to_string();
        provenance.raw = RawValue::Int(sum);
        (sum, provenance)
    } else {
        let source = SourceSpec {
            oid: spec.oid.clone(),
            tlv: spec.tlv.clone(),
            http: spec.http.clone(),
            regex: spec.regex.clone(),
            ..SourceSpec::default()
        };
        let (n, provenance) = super::identity::number(walk, profile, &source, system, &rule)?;
        if n < 0.0 {
            snapshot.warnings.push(format!("{rule}: negative value {n} at {} ignored", provenance.oid));
            return None;
        }
        #[allow(clippy::cast_possible_truncation)]
        (n.round() as i64, provenance)
    };
    let unit = match (&spec.unit, &spec.unit_oid) {
        (Some(unit), _) => unit.clone(),
        (None, Some(oid)) => walk.get(oid).and_then(|v| v.as_i64()).map_or("impressions", unit_name).to_owned(),
        (None, None) => "impressions".to_owned(),
    };
    Some(Counter {
        kind: spec.kind,
        value,
        unit,
        label: spec.label.clone().unwrap_or_else(|| spec.name.replace('_', " ")),
        source,
    })
}

fn evaluate(
    profile: &Profile,
    spec: &CounterSpec,
    formula: &str,
    values: &BTreeMap<String, (i64, Counter)>,
) -> Option<Counter> {
    let terms = parse_formula(formula).ok()?;
    let mut total: i64 = 0;
    let mut unit = None;
    for term in &terms {
        let n = match &term.value {
            Term::Constant(n) => *n,
            Term::Counter(name) => {
                let (n, counter) = values.get(name)?;
                unit.get_or_insert_with(|| counter.unit.clone());
                *n
            }
        };
        total = if term.negative { total.saturating_sub(n) } else { total.saturating_add(n) };
    }
    Some(Counter {
        kind: spec.kind,
        value: total,
        unit: spec.unit.clone().or(unit).unwrap_or_else(|| "impressions".into()),
        label: spec.label.clone().unwrap_or_else(|| spec.name.replace('_', " ")),
        source: Provenance {
            oid: String::new(),
            raw: RawValue::Int(total),
            rule: format!("counter {} ({}) = {formula}", spec.name, profile.id()),
        },
    })
}

/// Impossible combinations are kept but flagged: billing must not trust them blindly.
fn check_integrity(counters: &[Counter], snapshot: &mut DeviceSnapshot) {
    let first = |kind| counters.iter().find(|c| c.kind == kind && c.unit != "sheets").map(|c| c.value);
    let (Some(total), color, mono) = (first(CounterKind::Total), first(CounterKind::Color), first(CounterKind::Mono))
    else {
        return;
    };
    if let Some(color) = color
        && color > total
    {
        snapshot.warnings.push(format!("colour counter {color} is above the total {total}"));
    }
    if let (Some(color), Some(mono)) = (color, mono)
        && mono.saturating_add(color) > total.saturating_add(total / 100 + 10)
    {
        snapshot.warnings.push(format!("mono {mono} + colour {color} is above the total {total}"));
    }
}
