//! `cartouche-agent inspect`: what Cartouche makes of one device, for technicians.

use std::fmt::Write as _;

use cartouche_schema::profiles::{DeviceSnapshot, ProfileSet, Walk, interpret};

/// Interprets a recorded walk (`.snmprec`).
pub fn walk_file(path: &std::path::Path, profiles: &ProfileSet) -> anyhow::Result<DeviceSnapshot> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    let walk = Walk::from_snmprec(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(interpret(&walk, profiles))
}

/// The snapshot as stable JSON (documented in docs/PROFILES.md).
pub fn json(snapshot: &DeviceSnapshot) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(snapshot)?)
}

/// A short human summary.
pub fn text(snapshot: &DeviceSnapshot) -> String {
    let mut out = String::new();
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let _ = writeln!(out, "printer   {}", if snapshot.is_printer { "yes" } else { "no" });
    let _ = writeln!(out, "vendor    {}", dash(&snapshot.vendor));
    let _ = writeln!(out, "model     {}", dash(&snapshot.model));
    let _ = writeln!(out, "serial    {}", dash(&snapshot.serial));
    let _ = writeln!(out, "mac       {}", dash(&snapshot.mac));
    let _ = writeln!(out, "firmware  {}", dash(&snapshot.firmware));
    let _ = writeln!(out, "status    {} {}", snapshot.status.summary, snapshot.status.errors.join(", "));
    let _ = writeln!(out, "profiles  {}", snapshot.profile.join(" > "));
    if !snapshot.counters.is_empty() {
        let _ = writeln!(out, "counters");
        for c in &snapshot.counters {
            let _ = writeln!(
                out,
                "  {:<14} {:>10} {:<12} {}",
                format!("{:?}", c.kind).to_lowercase(),
                c.value,
                c.unit,
                c.label
            );
        }
    }
    if !snapshot.supplies.is_empty() {
        let _ = writeln!(out, "supplies");
        for s in &snapshot.supplies {
            let percent = s.percent.map_or_else(|| format!("{:?}", s.state).to_lowercase(), |p| format!("{p:.0} %"));
            let _ = writeln!(
                out,
                "  {:>3} {:<14} {:<8} {:>14} {}",
                s.index,
                s.kind,
                s.color.as_deref().unwrap_or(""),
                percent,
                s.description.as_deref().unwrap_or("")
            );
        }
    }
    for a in &snapshot.alerts {
        let _ = writeln!(out, "alert     {} {} ({})", a.severity, a.description.as_deref().unwrap_or(""), a.fault_type);
    }
    for w in &snapshot.warnings {
        let _ = writeln!(out, "warning   {w}");
    }
    out
}
