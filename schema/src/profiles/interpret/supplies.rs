//! Supplies: the Printer-MIB table with vendor corrections, vendor supplies, and paper trays.

use std::collections::BTreeMap;

use super::super::oid::Oid;
use super::super::profile::Profile;
use super::super::snapshot::{DeviceSnapshot, InputTray, Supply, SupplyState};
use super::super::spec::ExtraSupplySpec;
use super::super::value::{Value, decode_text};
use super::super::walk::Walk;
use super::{System, oid, oids, provenance};

/// prtMarkerSuppliesType → our kind.
fn kind_name(code: i64) -> &'static str {
    match code {
        3 | 21 => "toner",
        4 => "waste_toner",
        5 | 6 => "ink",
        7 => "ink_ribbon",
        8 => "waste_ink",
        9 => "drum",
        10 => "developer",
        11 => "fuser_oil",
        12 => "solid_wax",
        13 => "ribbon_wax",
        14 => "waste_wax",
        15 => "fuser",
        16 => "corona_wire",
        17 => "fuser_oil_wick",
        18 => "cleaner_unit",
        19 => "fuser_cleaning_pad",
        20 => "transfer_unit",
        22 => "fuser_oiler",
        23 => "water",
        24 => "waste_water",
        26 => "waste_paper",
        27 => "binding_supply",
        28 => "banding_supply",
        29 => "stitching_wire",
        30 => "shrink_wrap",
        31 => "paper_wrap",
        32 => "staples",
        33 => "inserts",
        34 => "covers",
        35 => "matte_toner",
        36 => "matte_ink",
        2 => "unknown",
        _ => "other",
    }
}

/// prtMarkerSuppliesSupplyUnit → unit name.
fn unit_name(code: i64) -> Option<&'static str> {
    Some(match code {
        1 => "other",
        3 => "ten_thousandths_of_inches",
        4 => "micrometers",
        7 => "impressions",
        8 => "sheets",
        11 => "hours",
        12 => "thousandths_of_ounces",
        13 => "tenths_of_grams",
        14 => "hundredths_of_fluid_ounces",
        15 => "tenths_of_milliliters",
        16 => "feet",
        17 => "meters",
        18 => "items",
        19 => "percent",
        _ => return None,
    })
}

const COLORS: [(&str, &[&str]); 9] = [
    ("black", &["black", "noir", "schwarz", "nero", "negro", "bk"]),
    ("cyan", &["cyan", "cian"]),
    ("magenta", &["magenta"]),
    ("yellow", &["yellow", "jaune", "gelb", "giallo", "amarillo"]),
    ("light_cyan", &["light cyan", "photo cyan"]),
    ("light_magenta", &["light magenta", "photo magenta"]),
    ("gray", &["gray", "grey", "gris"]),
    ("red", &["red", "rouge"]),
    ("blue", &["blue", "bleu"]),
];

/// A colour named in free text (a description or a colorant value).
pub(crate) fn color_in(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    // Two-word colours first ("light cyan" is not cyan).
    for (name, spellings) in COLORS.iter().rev() {
        for spelling in *spellings {
            let hit = if spelling.contains(' ') { lower.contains(spelling) } else { words.contains(spelling) };
            if hit {
                return Some((*name).to_owned());
            }
        }
    }
    None
}

/// When the device gives no supply type (or "other"), the description usually says.
fn kind_from_description(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    let rules: [(&[&str], &str); 11] = [
        (&["waste toner", "toner collection", "collecteur", "récupérateur"], "waste_toner"),
        (&["waste ink", "maintenance box", "ink collector"], "waste_ink"),
        (&["staple", "agrafe"], "staples"),
        (&["drum", "opc", "photoconductor", "imaging unit", "tambour", "trommel"], "drum"),
        (&["developer", "développeur", "entwickler"], "developer"),
        (&["fuser", "fixing", "four", "fixier"], "fuser"),
        (&["cleaner", "cleaning"], "cleaner_unit"),
        (&["transfer", "belt", "bias transfer"], "transfer_unit"),
        (&["maintenance kit", "maint kit"], "maintenance_kit"),
        (&["ink", "encre", "tinte"], "ink"),
        (&["toner", "cartridge", "cartouche", "tonerkassette"], "toner"),
    ];
    rules.iter().find(|(words, _)| words.iter().any(|w| lower.contains(w))).map(|(_, kind)| *kind)
}

fn colored(kind: &str) -> bool {
    matches!(kind, "toner" | "ink" | "drum" | "developer" | "ink_ribbon" | "matte_toner" | "matte_ink")
}

struct Rules<'a> {
    chain: &'a [&'a Profile],
    sentinels: BTreeMap<i64, SupplyState>,
    low_percent: f64,
}

impl Rules<'_> {
    fn new<'a>(chain: &'a [&'a Profile]) -> Rules<'a> {
        let mut sentinels: BTreeMap<i64, SupplyState> =
            [(-1, SupplyState::Unrestricted), (-2, SupplyState::Unknown), (-3, SupplyState::SomeRemaining)].into();
        let mut low_percent = 10.0;
        for profile in chain {
            for (raw, state) in &profile.spec.supplies.sentinels {
                if let Ok(raw) = raw.parse() {
                    sentinels.insert(raw, *state);
                }
            }
            if let Some(low) = profile.spec.supplies.low_percent {
                low_percent = low;
            }
        }
        Rules { chain, sentinels, low_percent }
    }

    /// First capture of the chain's regexes (most specific first) in `text`.
    fn capture(&self, text: &str, patterns: fn(&Profile) -> &Vec<String>) -> Option<String> {
        self.chain.iter().rev().find_map(|profile| {
            patterns(profile).iter().find_map(|p| {
                let caps = profile.regex(p)?.captures(text)?;
                let value = caps.get(1).or_else(|| caps.get(0))?.as_str().trim().to_owned();
                (!value.is_empty() && !value.eq_ignore_ascii_case("unknown")).then_some(value)
            })
        })
    }

    fn strip(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for profile in self.chain {
            for pattern in &profile.spec.supplies.description_strip {
                if let Some(re) = profile.regex(pattern) {
                    text = re.replace_all(&text, "").into_owned();
                }
            }
        }
        text.trim().trim_end_matches([',', ';']).trim().to_owned()
    }

    fn column<'w>(&self, walk: &'w Walk, pick: fn(&Profile) -> &Option<Oid>, index: &[u32]) -> Option<&'w Value> {
        self.chain.iter().rev().find_map(|p| pick(p).as_ref()).and_then(|root| walk.get(&root.child(index)))
    }

    /// State and percent from level and capacity; percent is what remains (for a receptacle,
    /// the space that remains).
    fn measure(
        &self,
        level: i64,
        max: i64,
        unit: Option<&str>,
        receptacle: bool,
    ) -> (SupplyState, Option<f64>, Option<i64>) {
        if let Some(state) = self.sentinels.get(&level) {
            return (*state, None, None);
        }
        if level < 0 {
            return (SupplyState::Unknown, None, None);
        }
        #[allow(clippy::cast_precision_loss)]
        let percent = if max > 0 {
            Some((level as f64 / max as f64 * 100.0).min(100.0))
        } else if unit == Some("percent") {
            Some((level as f64).min(100.0))
        } else if level == 0 {
            // Nothing left is nothing left, whatever the capacity.
            Some(0.0)
        } else {
            None
        };
        let state = match percent {
            Some(p) if p <= 0.0 => {
                if receptacle {
                    SupplyState::Full
                } else {
                    SupplyState::Empty
                }
            }
            // Little left: of the supply, or of the space in a receptacle.
            Some(p) if p <= self.low_percent => SupplyState::Low,
            Some(_) => SupplyState::Ok,
            None if level == 0 && !receptacle => SupplyState::Empty,
            None => SupplyState::Ok,
        };
        (state, percent.map(|p| (p * 10.0).round() / 10.0), Some(level))
    }
}

pub(crate) fn apply(walk: &Walk, chain: &[&Profile], system: &System, snapshot: &mut DeviceSnapshot) {
    let rules = Rules::new(chain);
    let table_enabled = chain.iter().rev().find_map(|p| p.spec.supplies.table).unwrap_or(true);
    let mut supplies = if table_enabled { table(walk, &rules, snapshot) } else { Vec::new() };
    for profile in chain {
        for extra in &profile.spec.supplies.extra {
            if let Some(supply) = vendor_supply(walk, profile, extra, system, &rules) {
                if let Some(replaced) = extra.replaces {
                    supplies.retain(|s| s.index != replaced);
                }
                supplies.retain(|s| s.index != supply.index);
                supplies.push(supply);
            }
        }
    }
    supplies.sort_by_key(|s| s.index);
    snapshot.supplies = supplies;
    snapshot.inputs = inputs(walk, &rules);
}

fn table(walk: &Walk, rules: &Rules<'_>, snapshot: &mut DeviceSnapshot) -> Vec<Supply> {
    let root = oid(oids::PRT_SUPPLIES);
    // Rows by index (hrDeviceIndex.supplyIndex), columns by number.
    let rows = walk.table(&root);
    let colorants = oid(oids::PRT_COLORANT_VALUE);
    let mut out = Vec::new();
    for (index, columns) in rows {
        let Some(level_value) = columns.get(&9) else { continue };
        let supply_index = *index.last().unwrap_or(&0);
        let number = |col: u32| columns.get(&col).and_then(|v| v.as_i64());
        let level_oid = root.child(&[9]).child(&index);
        let Some(level) = level_value.as_i64() else {
            snapshot.warnings.push(format!("supply {supply_index}: level at {level_oid} is not a number"));
            continue;
        };
        let raw_description = columns.get(&6).and_then(|v| v.as_bytes()).map(|b| {
            let text = decode_text(b);
            if let Some(repair) = text.repaired {
                snapshot.warnings.push(format!("supply {supply_index} description: {repair}"));
            }
            text.text
        });
        let typed = number(5).map(kind_name).filter(|k| *k != "other" && *k != "unknown");
        let kind =
            typed.or_else(|| raw_description.as_deref().and_then(kind_from_description)).unwrap_or("other").to_owned();
        let receptacle = number(4) == Some(4) || kind.starts_with("waste");
        let unit = number(7).and_then(unit_name);
        let max = number(8).unwrap_or(-2);
        let (state, percent, level_out) = rules.measure(level, max, unit, receptacle);
        if max > 0 && level > max {
            snapshot.warnings.push(format!("supply {supply_index}: level {level} is above its capacity {max}"));
        }
        if let Some(sentinel) = rules.sentinels.get(&level)
            && level < -3
        {
            snapshot.warnings.push(format!("supply {supply_index}: vendor level {level} read as {sentinel:?}"));
        }
        let colorant = number(3)
            .filter(|c| *c > 0)
            .and_then(|c| u32::try_from(c).ok())
            .and_then(|c| walk.get(&colorants.child(&[index[0], c])))
            .and_then(|v| v.as_bytes())
            .map(|b| decode_text(b).text);
        let description_text = raw_description.clone().unwrap_or_default();
        let color = colorant
            .as_deref()
            .and_then(color_in)
            .or_else(|| if colored(&kind) { color_in(&description_text) } else { None });
        let part_number = rules
            .column(walk, |p| &p.spec.supplies.part_number_column, &index)
            .and_then(|v| v.as_bytes())
            .map(|b| decode_text(b).text)
            .filter(|t| !t.is_empty())
            .or_else(|| rules.capture(&description_text, |p| &p.spec.supplies.part_number));
        let serial = rules
            .column(walk, |p| &p.spec.supplies.serial_column, &index)
            .and_then(|v| v.as_bytes())
            .map(|b| decode_text(b).text)
            .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("unknown"))
            .or_else(|| rules.capture(&description_text, |p| &p.spec.supplies.serial));
        out.push(Supply {
            index: supply_index,
            kind,
            color,
            description: raw_description.map(|d| rules.strip(&d)).filter(|d| !d.is_empty()),
            level: level_out,
            max_capacity: (max >= 0).then_some(max),
            percent,
            state,
            unit: unit.map(str::to_owned),
            receptacle,
            part_number,
            serial,
            remaining_pages: None,
            source: provenance(&level_oid, level_value, "prtMarkerSuppliesTable"),
        });
    }
    out
}

fn vendor_supply(
    walk: &Walk,
    profile: &Profile,
    spec: &ExtraSupplySpec,
    system: &System,
    rules: &Rules<'_>,
) -> Option<Supply> {
    let rule = format!("supply {} ({})", spec.index, spec.kind);
    let number = |source: &Option<super::super::spec::SourceSpec>| {
        source.as_ref().and_then(|s| super::identity::number(walk, profile, s, system, &rule))
    };
    let receptacle = spec.kind.starts_with("waste");
    let (state, percent, level, max, source) = if let Some((p, source)) = number(&spec.percent) {
        #[allow(clippy::cast_possible_truncation)]
        let (state, percent, _) = rules.measure(p.round() as i64, 100, Some("percent"), receptacle);
        (state, percent.or(Some(p)), None, None, source)
    } else if spec.level.is_none() || number(&spec.level).is_none() {
        // Only the remaining pages are known: a real supply with an unknown level.
        let (_, source) = number(&spec.remaining_pages)?;
        (SupplyState::Unknown, None, None, None, source)
    } else {
        let (level, source) = number(&spec.level)?;
        let max = number(&spec.max_capacity).map(|(m, _)| m).or(spec.max_value.map(|m| m as f64));
        #[allow(clippy::cast_possible_truncation)]
        let (level, max) = (level.round() as i64, max.map_or(-2, |m| m.round() as i64));
        let (state, percent, level) = rules.measure(level, max, None, receptacle);
        (state, percent, level, (max >= 0).then_some(max), source)
    };
    #[allow(clippy::cast_possible_truncation)]
    let remaining_pages = number(&spec.remaining_pages).map(|(n, _)| n.round() as i64);
    // The device's own enumerated verdict, when the profile maps it, wins over our reading.
    #[allow(clippy::cast_possible_truncation)]
    let state = number(&spec.status)
        .and_then(|(code, _)| spec.status_map.get(&(code.round() as i64).to_string()).copied())
        .unwrap_or(state);
    Some(Supply {
        index: spec.index,
        kind: spec.kind.clone(),
        color: spec.color.clone(),
        description: spec.description.clone(),
        level,
        max_capacity: max,
        percent: percent.map(|p| (p * 10.0).round() / 10.0),
        state,
        unit: None,
        receptacle,
        part_number: None,
        serial: None,
        remaining_pages,
        source,
    })
}

fn inputs(walk: &Walk, rules: &Rules<'_>) -> Vec<InputTray> {
    let root = oid(oids::PRT_INPUT);
    let rows = walk.table(&root);
    rows.into_iter()
        .filter_map(|(index, columns)| {
            let level = columns.get(&10)?.as_i64()?;
            let max = columns.get(&9).and_then(|v| v.as_i64()).unwrap_or(-2);
            let text = |col| {
                columns.get(&col).and_then(|v| v.as_bytes()).map(|b| decode_text(b).text).filter(|t| !t.is_empty())
            };
            let (state, percent, level) = rules.measure(level, max, None, false);
            Some(InputTray {
                index: *index.last().unwrap_or(&0),
                name: text(13).or_else(|| text(18)),
                level,
                max_capacity: (max >= 0).then_some(max),
                percent,
                state,
                media: text(12),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::color_in;

    #[test]
    fn colours_are_found_in_several_languages() {
        assert_eq!(color_in("Black Toner Cartridge").as_deref(), Some("black"));
        assert_eq!(color_in("Toner Jaune").as_deref(), Some("yellow"));
        assert_eq!(color_in("Light Cyan Ink").as_deref(), Some("light_cyan"));
        assert_eq!(color_in("Drum Unit"), None);
        assert_eq!(color_in("Blackout"), None, "whole words only");
    }
}
