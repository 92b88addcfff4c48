//! Scenario files: which recordings to serve, on which addresses, how they live and misbehave.
//!
//! ```toml
//! port = 16161
//! community = "public"
//!
//! [[group]]
//! recordings = ["testdata/printers/librenms/*.snmprec"]   # globs: `*` in the file name
//! count = 200                                              # devices, cycling through the files
//! first_address = "127.1.0.1"
//! living = { pages_per_minute = 6.0, toner_per_page = 0.02 }
//! faults = { asleep = 3.0 }
//! events = [
//!   { kind = "swap_supply", at = 30.0, supply = 1, serial = "CRG-0042" },
//!   { kind = "raise_alert", at = 10.0, code = 8, group = 13, severity = 3, training = 3, description = "Paper jam" },
//!   { kind = "clear_alert", at = 40.0, index = 1 },
//! ]
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use cartouche_schema::profiles::Walk;
use serde::Deserialize;

use super::device::{Device, Event, Faults, Living};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_community")]
    pub community: String,
    /// Serve the groups' `pages` over HTTP on this port (80 on a real device).
    pub http_port: Option<u16>,
    /// Accept TCP connections on this port for groups with `npap = true` (9300 on a real device).
    pub npap_port: Option<u16>,
    #[serde(rename = "group")]
    pub groups: Vec<Group>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub recordings: Vec<String>,
    #[serde(default = "one")]
    pub count: usize,
    pub first_address: Ipv4Addr,
    #[serde(default)]
    pub faults: Faults,
    #[serde(default)]
    pub living: Living,
    /// Events for every device of the group (seconds after start).
    #[serde(default)]
    pub events: Vec<Event>,
    /// Embedded web server pages: path → file (relative to the scenario).
    #[serde(default)]
    pub pages: std::collections::BTreeMap<String, String>,
    /// Whether the devices answer on the NPAP port.
    #[serde(default)]
    pub npap: bool,
    /// Give every device its own serial, MAC and supply serials (a fleet of distinct printers
    /// from a few recordings, as the demo serves), instead of exact copies of its recording.
    #[serde(default)]
    pub personalise: bool,
}

fn default_port() -> u16 {
    16161
}
fn default_community() -> String {
    "public".into()
}
fn one() -> usize {
    1
}

/// Files matching `pattern` (a `*` is allowed in the file name only).
fn expand(base: &Path, pattern: &str) -> anyhow::Result<Vec<PathBuf>> {
    let path = base.join(pattern);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
    if !name.contains('*') {
        return Ok(vec![path]);
    }
    let dir = path.parent().context("a recording pattern needs a folder")?;
    let (prefix, suffix) = name.split_once('*').unwrap_or((&name, ""));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix) && n.len() >= prefix.len() + suffix.len())
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no recording matches {pattern}");
    }
    Ok(files)
}

/// The next address after `ip` (127.1.0.255 → 127.1.1.0).
pub fn next_address(ip: Ipv4Addr) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(ip).wrapping_add(1))
}

impl Scenario {
    pub fn parse(text: &str) -> anyhow::Result<Scenario> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("scenario: {e}"))
    }

    /// The other services' ports.
    pub fn services(&self) -> super::Services {
        super::Services { http_port: self.http_port, npap_port: self.npap_port }
    }

    /// The devices to start; recordings are read relative to `base`.
    pub fn devices(&self, base: &Path) -> anyhow::Result<Vec<(SocketAddr, Device)>> {
        let mut out = Vec::new();
        let profiles = if self.groups.iter().any(|g| g.personalise) {
            Some(cartouche_schema::profiles::ProfileSet::builtin().map_err(|e| anyhow::anyhow!("{e}"))?)
        } else {
            None
        };
        for group in &self.groups {
            if !group.first_address.is_loopback() {
                bail!("{}: simulated devices live on loopback addresses (127.0.0.0/8) only", group.first_address);
            }
            let mut walks = Vec::new();
            for pattern in &group.recordings {
                for file in expand(base, pattern)? {
                    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
                    walks.push(Walk::from_snmprec(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?);
                }
            }
            let mut pages = std::collections::BTreeMap::new();
            for (path, file) in &group.pages {
                let body = std::fs::read(base.join(file)).with_context(|| format!("reading the page {file}"))?;
                pages.insert(path.clone(), body);
            }
            let mut address = group.first_address;
            for i in 0..group.count {
                let mut device = Device::new(walks[i % walks.len()].clone(), &self.community);
                device.faults = group.faults.clone();
                device.living = group.living.clone();
                device.schedule(group.events.clone());
                device.pages = pages.clone();
                device.npap = group.npap;
                if let (true, Some(profiles)) = (group.personalise, &profiles) {
                    device.personalise(u32::try_from(out.len()).unwrap_or(u32::MAX), profiles);
                }
                out.push((SocketAddr::from((address, self.port)), device));
                address = next_address(address);
                if !address.is_loopback() {
                    bail!("the group starting at {} runs out of loopback addresses", group.first_address);
                }
            }
        }
        Ok(out)
    }
}
