//! Loading, checking and layering profiles.

use std::collections::BTreeMap;

use regex_lite::Regex;

use super::catalogue::FaultCatalogue;
use super::oid::Oid;
use super::spec::{CounterSpec, CycleSpec, ProfileSpec, SourceSpec};

/// A profile that failed to load: the file, the line when known, and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}{}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ProfileError {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

/// A checked profile, ready to apply.
#[derive(Debug)]
pub struct Profile {
    pub spec: ProfileSpec,
    pub file: String,
    pub(crate) sys_descr: Vec<Regex>,
    pub(crate) printer_descr: Vec<Regex>,
    pub(crate) model: Vec<Regex>,
    pub(crate) reject: Vec<Regex>,
    pub(crate) regexes: BTreeMap<String, Regex>,
}

impl Profile {
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// A compiled regex of this profile (every regex is compiled and checked at load).
    pub(crate) fn regex(&self, pattern: &str) -> Option<&Regex> {
        self.regexes.get(pattern)
    }
}

/// Every profile, plus the fault catalogue: what interpretation needs.
#[derive(Debug)]
pub struct ProfileSet {
    profiles: Vec<Profile>,
    by_id: BTreeMap<String, usize>,
    pub catalogue: FaultCatalogue,
}

/// The profiles shipped with Cartouche.
pub const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_profiles.rs"));

/// The fault catalogue shipped with Cartouche.
pub const BUILTIN_CATALOGUE: (&str, &str) = ("faults.toml", include_str!("../../profiles/faults.toml"));

fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|line| line.contains(needle)).map(|i| i + 1)
}

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl ProfileSet {
    /// The shipped profiles and catalogue.
    pub fn builtin() -> Result<ProfileSet, ProfileError> {
        Self::load(BUILTIN.iter().map(|(f, t)| ((*f).to_owned(), (*t).to_owned())).collect(), BUILTIN_CATALOGUE)
    }

    /// The shipped profiles overlaid with `extra` files (a technician's folder): a file whose
    /// `id` is already known replaces that profile.
    pub fn builtin_with(extra: Vec<(String, String)>) -> Result<ProfileSet, ProfileError> {
        let mut files: Vec<(String, String)> =
            BUILTIN.iter().map(|(f, t)| ((*f).to_owned(), (*t).to_owned())).collect();
        files.extend(extra);
        Self::load(files, BUILTIN_CATALOGUE)
    }

    /// Parses and checks `files` (name, TOML text); later files replace earlier ones of the same id.
    pub fn load(files: Vec<(String, String)>, catalogue: (&str, &str)) -> Result<ProfileSet, ProfileError> {
        let mut profiles: Vec<Profile> = Vec::new();
        let mut by_id = BTreeMap::new();
        let mut texts = BTreeMap::new();
        for (file, text) in files {
            let spec: ProfileSpec = toml::from_str(&text).map_err(|err| ProfileError {
                file: file.clone(),
                line: err.span().map(|span| line_at(&text, span.start)),
                reason: err.message().trim().to_owned(),
            })?;
            let profile = compile(spec, &file, &text)?;
            texts.insert(profile.spec.id.clone(), (file.clone(), text));
            match by_id.get(&profile.spec.id) {
                Some(&i) => profiles[i] = profile,
                None => {
                    by_id.insert(profile.spec.id.clone(), profiles.len());
                    profiles.push(profile);
                }
            }
        }
        let catalogue = FaultCatalogue::parse(catalogue.0, catalogue.1)?;
        let set = ProfileSet { profiles, by_id, catalogue };
        set.check_links(&texts)?;
        Ok(set)
    }

    /// Every `match.present` OID: a first look at an unknown device GETs them, so that a vendor
    /// recognised by presence (no or a foreign sysObjectID) is recognised live as in a walk.
    pub fn presence_probes(&self) -> Vec<Oid> {
        let mut probes: Vec<Oid> = self
            .profiles
            .iter()
            .filter_map(|p| p.spec.matching.as_ref())
            .flat_map(|m| m.present.iter().cloned())
            .collect();
        probes.sort();
        probes.dedup();
        probes
    }

    pub fn get(&self, id: &str) -> Option<&Profile> {
        self.by_id.get(id).map(|&i| &self.profiles[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.iter()
    }

    /// `profile` and its ancestors, most general (`base`) first.
    pub fn chain<'a>(&'a self, profile: &'a Profile) -> Vec<&'a Profile> {
        let mut chain = vec![profile];
        let mut current = profile;
        while let Some(parent) = self.parent(current) {
            chain.push(parent);
            current = parent;
            if chain.len() > 16 {
                break;
            }
        }
        chain.reverse();
        chain
    }

    fn parent<'a>(&'a self, profile: &Profile) -> Option<&'a Profile> {
        if profile.spec.id == "base" {
            return None;
        }
        self.get(profile.spec.extends.as_deref().unwrap_or("base"))
    }

    fn check_links(&self, texts: &BTreeMap<String, (String, String)>) -> Result<(), ProfileError> {
        if self.get("base").is_none() {
            return Err(ProfileError {
                file: "<profiles>".into(),
                line: None,
                reason: "no profile has id \"base\"".into(),
            });
        }
        for profile in &self.profiles {
            let (file, text) = &texts[&profile.spec.id];
            let fail =
                |needle: &str, reason: String| ProfileError { file: file.clone(), line: line_of(text, needle), reason };
            if let Some(parent) = &profile.spec.extends
                && self.get(parent).is_none()
            {
                return Err(fail("extends", format!("extends unknown profile {parent:?}")));
            }
            let chain = self.chain(profile);
            if chain.len() > 16 || chain.first().map(|p| p.spec.id.as_str()) != Some("base") {
                return Err(fail("extends", "the extends chain loops".into()));
            }
            if profile.spec.id != "base" && profile.spec.matching.is_none() {
                return Err(fail("id", format!("profile {:?} has no [match] section", profile.spec.id)));
            }
            // Formulas may name any counter of the chain.
            let names: Vec<&str> = chain.iter().flat_map(|p| p.spec.counters.iter().map(|c| c.name.as_str())).collect();
            for counter in &profile.spec.counters {
                if let Some(replaced) = counter.replaces.as_ref().or(counter.fallback_for.as_ref())
                    && !names.contains(&replaced.as_str())
                {
                    return Err(fail(
                        replaced,
                        format!("counter {:?} replaces a missing counter {replaced:?}", counter.name),
                    ));
                }
                if let Some(formula) = &counter.formula {
                    let terms = parse_formula(formula).map_err(|reason| fail(formula, reason))?;
                    for term in terms {
                        if let Term::Counter(name) = term.value
                            && !names.contains(&name.as_str())
                        {
                            return Err(fail(
                                formula,
                                format!("formula of counter {:?} names a missing counter {name:?}", counter.name),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn compile(spec: ProfileSpec, file: &str, text: &str) -> Result<Profile, ProfileError> {
    let fail =
        |needle: &str, reason: String| ProfileError { file: file.to_owned(), line: line_of(text, needle), reason };
    let regex = |pattern: &str| Regex::new(pattern).map_err(|e| fail(pattern, format!("bad regex {pattern:?}: {e}")));
    let mut regexes = BTreeMap::new();
    let mut keep = |pattern: &str| -> Result<(), ProfileError> {
        regexes.insert(pattern.to_owned(), regex(pattern)?);
        Ok(())
    };
    let identity = &spec.identity;
    let sources = identity.sources().chain(
        spec.supplies
            .extra
            .iter()
            .flat_map(|e| [&e.percent, &e.level, &e.max_capacity, &e.remaining_pages].into_iter().flatten()),
    );
    for source in sources {
        check_source(source).map_err(|reason| fail(&reason.1, reason.0))?;
        if let Some(pattern) = &source.regex {
            keep(pattern)?;
        }
    }
    for pattern in spec
        .supplies
        .part_number
        .iter()
        .chain(&spec.supplies.serial)
        .chain(&spec.supplies.description_strip)
        .chain(&spec.classify.printer_words)
        .chain(&spec.classify.non_printer_words)
    {
        keep(pattern)?;
    }
    for counter in &spec.counters {
        check_counter(counter).map_err(|reason| fail(&counter.name, reason))?;
        if let Some(pattern) = &counter.regex {
            keep(pattern)?;
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for counter in &spec.counters {
        if !names.insert(&counter.name) {
            return Err(fail(&counter.name, format!("two counters are named {:?}", counter.name)));
        }
    }
    for extra in &spec.supplies.extra {
        for code in extra.status_map.keys() {
            code.parse::<i64>().map_err(|_| {
                fail(code, format!("status code {code:?} of supply {} is not a whole number", extra.index))
            })?;
        }
    }
    for raw in spec.supplies.sentinels.keys() {
        raw.parse::<i64>().map_err(|_| fail(raw, format!("sentinel {raw:?} is not a whole number")))?;
    }
    let matching = spec.matching.as_ref();
    let sys_descr = matching.map(|m| m.sys_descr.iter().map(|p| regex(p)).collect()).transpose()?.unwrap_or_default();
    let printer_descr =
        matching.map(|m| m.printer_descr.iter().map(|p| regex(p)).collect()).transpose()?.unwrap_or_default();
    let model = matching.map(|m| m.model.iter().map(|p| regex(p)).collect()).transpose()?.unwrap_or_default();
    let reject = identity.reject.iter().map(|p| regex(p)).collect::<Result<_, _>>()?;
    if let Some(m) = matching
        && m.sys_object_id.is_empty()
        && m.enterprises.is_empty()
        && m.present.is_empty()
        && m.sys_descr.is_empty()
        && m.printer_descr.is_empty()
        && m.model.is_empty()
    {
        return Err(fail(
            "[match]",
            "[match] has no rule: give sys_object_id, enterprises, present, sys_descr or model".into(),
        ));
    }
    Ok(Profile { spec, file: file.to_owned(), sys_descr, printer_descr, model, reject, regexes })
}

fn check_source(source: &SourceSpec) -> Result<(), (String, String)> {
    let places =
        [source.oid.is_some(), source.printer_column.is_some(), source.first_in.is_some(), source.tlv.is_some()];
    let count = places.iter().filter(|p| **p).count();
    let needle = source
        .oid
        .as_ref()
        .or(source.printer_column.as_ref())
        .or(source.first_in.as_ref())
        .map(Oid::to_string)
        .unwrap_or_default();
    if count != 1 {
        return Err((
            format!("a source needs exactly one of oid, printer_column, first_in, tlv, http (found {count})"),
            needle,
        ));
    }
    Ok(())
}

fn check_counter(counter: &CounterSpec) -> Result<(), String> {
    let places = [
        counter.oid.is_some(),
        counter.walk_sum.is_some(),
        counter.tlv.is_some(),
        counter.formula.is_some(),
        counter.http.is_some(),
    ];
    let count = places.iter().filter(|p| **p).count();
    if count != 1 {
        return Err(format!(
            "counter {:?} needs exactly one of oid, walk_sum, tlv, formula, http (found {count})",
            counter.name
        ));
    }
    Ok(())
}

/// One term of a formula.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SignedTerm {
    pub negative: bool,
    pub value: Term,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Term {
    Counter(String),
    Constant(i64),
}

/// `a + b - 2`: names and whole numbers joined by + and −.
pub(crate) fn parse_formula(formula: &str) -> Result<Vec<SignedTerm>, String> {
    let mut terms = Vec::new();
    let mut negative = false;
    let mut expect_term = true;
    for token in formula.split_whitespace().flat_map(split_ops) {
        match (token, expect_term) {
            ("+", false) => {
                negative = false;
                expect_term = true;
            }
            ("-", false) => {
                negative = true;
                expect_term = true;
            }
            (t, true) if !t.is_empty() && t != "+" && t != "-" => {
                let value = match t.parse::<i64>() {
                    Ok(n) => Term::Constant(n),
                    Err(_) if t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => Term::Counter(t.to_owned()),
                    Err(_) => return Err(format!("formula {formula:?}: {t:?} is neither a counter name nor a number")),
                };
                terms.push(SignedTerm { negative, value });
                expect_term = false;
            }
            (t, _) => return Err(format!("formula {formula:?}: unexpected {t:?}")),
        }
    }
    if expect_term {
        return Err(format!("formula {formula:?} is incomplete"));
    }
    Ok(terms)
}

fn split_ops(token: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in token.char_indices() {
        if c == '+' || c == '-' {
            if start < i {
                out.push(&token[start..i]);
            }
            out.push(&token[i..i + 1]);
            start = i + 1;
        }
    }
    if start < token.len() {
        out.push(&token[start..]);
    }
    out
}

/// The union of what a chain of profiles reads in each cycle: the read plan for one device.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadPlan {
    pub discovery: CyclePlan,
    pub counters: CyclePlan,
    pub alerts: CyclePlan,
    /// Pages of the embedded web server to fetch (paths on port 80).
    pub http: Vec<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CyclePlan {
    pub get: Vec<Oid>,
    pub walk: Vec<Oid>,
}

impl CyclePlan {
    fn add(&mut self, spec: &CycleSpec) {
        for oid in &spec.get {
            if !self.get.contains(oid) {
                self.get.push(oid.clone());
            }
        }
        for oid in &spec.walk {
            if !self.walk.iter().any(|w| oid.starts_with(w)) {
                self.walk.retain(|w| !w.starts_with(oid));
                self.walk.push(oid.clone());
            }
        }
    }
}

impl ReadPlan {
    /// The reads of `chain`: the `[read]` sections, plus every OID the profiles' rules use, so
    /// that a rule can never depend on something the agent was not told to read.
    pub fn of(chain: &[&Profile]) -> ReadPlan {
        let mut plan = ReadPlan::default();
        for profile in chain {
            let spec = &profile.spec;
            plan.discovery.add(&spec.read.discovery);
            plan.counters.add(&spec.read.counters);
            plan.alerts.add(&spec.read.alerts);
            let identity = &spec.identity;
            let mut discovery = CycleSpec::default();
            for source in identity.sources() {
                source_reads(source, &mut discovery);
                plan.http.extend(source.http.iter().cloned());
            }
            plan.discovery.add(&discovery);
            let mut counters = CycleSpec::default();
            for counter in &spec.counters {
                plan.http.extend(counter.http.iter().cloned());
                counters.get.extend(counter.oid.iter().chain(&counter.unit_oid).cloned());
                counters.get.extend(counter.tlv.iter().map(|t| t.oid.clone()));
                counters.walk.extend(counter.walk_sum.iter().cloned());
            }
            counters.walk.extend(spec.supplies.serial_column.iter().chain(&spec.supplies.part_number_column).cloned());
            for extra in &spec.supplies.extra {
                for source in [&extra.percent, &extra.level, &extra.max_capacity, &extra.remaining_pages, &extra.status]
                    .into_iter()
                    .flatten()
                {
                    source_reads(source, &mut counters);
                    plan.http.extend(source.http.iter().cloned());
                }
            }
            plan.counters.add(&counters);
        }
        plan.http.sort();
        plan.http.dedup();
        plan
    }
}

fn source_reads(source: &SourceSpec, cycle: &mut CycleSpec) {
    cycle.get.extend(source.oid.iter().cloned());
    cycle.get.extend(source.tlv.iter().map(|t| t.oid.clone()));
    // A printer_column is read at the printer device's index, which only the walk tells.
    cycle.walk.extend(source.printer_column.iter().chain(&source.first_in).cloned());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_parse_names_numbers_and_signs() {
        let terms = parse_formula("print_black+copy_black - 2").unwrap();
        assert_eq!(terms.len(), 3);
        assert_eq!(terms[2], SignedTerm { negative: true, value: Term::Constant(2) });
        assert!(parse_formula("a +").is_err());
        assert!(parse_formula("a b").is_err());
        assert!(parse_formula("a * b").is_err());
    }
}
