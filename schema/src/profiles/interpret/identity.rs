//! Identity fields (model, serial, firmware, MAC, host name): ordered sources, the most
//! specific profile's first, the first usable value wins.

use super::super::oid::Oid;
use super::super::profile::Profile;
use super::super::snapshot::{DeviceSnapshot, Provenance};
use super::super::spec::{Decode, SourceSpec};
use super::super::tlv;
use super::super::value::{RawValue, Value, decode_mac, decode_text};
use super::super::walk::Walk;
use super::{System, provenance};

/// A value found by a source.
pub(crate) struct Found {
    pub text: String,
    pub provenance: Provenance,
    pub warning: Option<String>,
}

fn located<'w>(walk: &'w Walk, source: &'w SourceSpec, system: &System) -> Vec<(Oid, &'w Value)> {
    if let Some(oid) = &source.oid {
        return walk.get(oid).map(|v| vec![(oid.clone(), v)]).unwrap_or_default();
    }
    if let Some(column) = &source.printer_column {
        let at = column.child(&[system.printer_device.unwrap_or(1)]);
        return walk.get(&at).map(|v| vec![(at, v)]).unwrap_or_default();
    }
    if let Some(root) = &source.first_in {
        return walk.subtree(root).map(|(suffix, v)| (root.child(suffix), v)).collect();
    }
    if let Some(tlv) = &source.tlv {
        return walk.get(&tlv.oid).map(|v| vec![(tlv.oid.clone(), v)]).unwrap_or_default();
    }
    Vec::new()
}

/// The text a source yields, after decoding, IEEE 1284 extraction, regex and prefix.
pub(crate) fn text(walk: &Walk, profile: &Profile, source: &SourceSpec, system: &System, rule: &str) -> Option<Found> {
    if let Some(path) = &source.http {
        return page_text(walk, profile, source, path, rule);
    }
    for (oid, value) in located(walk, source, system) {
        let (mut text, warning) = match (source.decode, value) {
            (Some(Decode::Mac), _) => match value.as_bytes().and_then(decode_mac) {
                Some(mac) => (mac, None),
                None => continue,
            },
            (_, Value::OctetString(bytes) | Value::Opaque(bytes)) => {
                let decoded = decode_text(bytes);
                (decoded.text, decoded.repaired.map(|r| format!("{rule} at {oid}: {r}")))
            }
            (_, other) => match other.as_i64() {
                Some(n) => (n.to_string(), None),
                None => match other.as_oid() {
                    Some(o) => (o.to_string(), None),
                    None => continue,
                },
            },
        };
        if let Some(key) = &source.ieee1284 {
            match ieee1284(&text, key) {
                Some(v) => text = v,
                None => continue,
            }
        }
        if let Some(pattern) = &source.regex {
            let Some(re) = profile.regex(pattern) else { continue };
            match re.captures(&text) {
                Some(caps) => {
                    text = caps.get(1).or_else(|| caps.get(0)).map_or(String::new(), |m| m.as_str().trim().to_owned());
                }
                None => continue,
            }
        }
        let text = text.trim().trim_matches(|c: char| c == '"' || c == ';' || c == ',').trim().to_owned();
        if text.is_empty() {
            continue;
        }
        let text = match &source.prefix {
            Some(prefix) if !text.starts_with(prefix.as_str()) => format!("{prefix}{text}"),
            _ => text,
        };
        return Some(Found {
            provenance: provenance(&oid, value, format!("{rule} ({})", profile.id())),
            text,
            warning,
        });
    }
    None
}

/// A value from a page of the embedded web server: the regex's group 1 (or the whole page).
fn page_text(walk: &Walk, profile: &Profile, source: &SourceSpec, path: &str, rule: &str) -> Option<Found> {
    let body = walk.page(path)?;
    let page = String::from_utf8_lossy(body);
    let text = match source.regex.as_deref().and_then(|p| profile.regex(p)) {
        Some(re) => {
            let caps = re.captures(&page)?;
            caps.get(1).or_else(|| caps.get(0))?.as_str().trim().to_owned()
        }
        None => page.trim().to_owned(),
    };
    if text.is_empty() {
        return None;
    }
    Some(Found {
        provenance: Provenance {
            oid: format!("http:{path}"),
            raw: RawValue::Text(text.clone()),
            rule: format!("{rule} ({}, HTTP)", profile.id()),
        },
        text,
        warning: None,
    })
}

/// The number a source yields (a TLV record, or an integer value).
pub(crate) fn number(
    walk: &Walk,
    profile: &Profile,
    source: &SourceSpec,
    system: &System,
    rule: &str,
) -> Option<(f64, Provenance)> {
    if let Some(path) = &source.http {
        let found = page_text(walk, profile, source, path, rule)?;
        return found.text.parse().ok().map(|n| (n, found.provenance));
    }
    if let Some(spec) = &source.tlv {
        let value = walk.get(&spec.oid)?;
        let raw = tlv::find(value.as_bytes()?, spec.code)?;
        let scaled = raw * spec.scale.unwrap_or(1.0);
        return Some((
            scaled,
            provenance(&spec.oid, value, format!("{rule}: TLV record 0x{:02x} ({})", spec.code, profile.id())),
        ));
    }
    for (oid, value) in located(walk, source, system) {
        #[allow(clippy::cast_precision_loss)]
        let n = match value.as_i64() {
            Some(n) => n as f64,
            None => match source.regex.as_deref().and_then(|p| profile.regex(p)) {
                Some(re) => {
                    let text = decode_text(value.as_bytes()?).text;
                    let caps = re.captures(&text)?;
                    caps.get(1).or_else(|| caps.get(0))?.as_str().trim().parse().ok()?
                }
                None => continue,
            },
        };
        return Some((n, provenance(&oid, value, format!("{rule} ({})", profile.id()))));
    }
    None
}

/// The value of `key` in an IEEE 1284 device id (`MFG:Brother;MDL:HL-5370DW;…`).
pub(crate) fn ieee1284(text: &str, key: &str) -> Option<String> {
    text.split(';').find_map(|field| {
        let (k, v) = field.split_once(':')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().to_owned()).filter(|v| !v.is_empty())
    })
}

/// Fills the identity fields, most specific profile first; returns nothing, warns on repairs.
pub(crate) fn apply(walk: &Walk, chain: &[&Profile], system: &System, snapshot: &mut DeviceSnapshot) {
    let rejected = |value: &str| chain.iter().any(|p| p.reject.iter().any(|re| re.is_match(value)));
    type Sources = fn(&Profile) -> &Vec<SourceSpec>;
    let fields: [(&str, Sources); 5] = [
        ("model", |p| &p.spec.identity.model),
        ("serial", |p| &p.spec.identity.serial),
        ("firmware", |p| &p.spec.identity.firmware),
        ("mac", |p| &p.spec.identity.mac),
        ("host_name", |p| &p.spec.identity.host_name),
    ];
    for (field, sources_of) in fields {
        let found = chain.iter().rev().find_map(|profile| {
            sources_of(profile)
                .iter()
                .filter_map(|source| text(walk, profile, source, system, field))
                .find(|f| !rejected(&f.text))
        });
        let Some(found) = found else { continue };
        if let Some(warning) = found.warning {
            snapshot.warnings.push(warning);
        }
        let value = Some(found.text);
        match field {
            "model" => snapshot.model = value,
            "serial" => snapshot.serial = value,
            "firmware" => snapshot.firmware = value,
            "mac" => snapshot.mac = value,
            _ => snapshot.host_name = value,
        }
        snapshot.provenance.insert(field.to_owned(), found.provenance);
    }
    let location = super::oid(super::oids::SYS_LOCATION);
    snapshot.location =
        walk.get(&location).and_then(Value::as_bytes).map(|b| decode_text(b).text).filter(|t| !t.is_empty());
}

#[cfg(test)]
mod tests {
    use super::ieee1284;

    #[test]
    fn reads_ieee1284_keys() {
        let id = "MFG:Brother;CMD:PJL,HBP;MDL:DCP-L3550CDW;CLS:PRINTER;";
        assert_eq!(ieee1284(id, "MDL").as_deref(), Some("DCP-L3550CDW"));
        assert_eq!(ieee1284(id, "mfg").as_deref(), Some("Brother"));
        assert_eq!(ieee1284(id, "SN"), None);
    }
}
