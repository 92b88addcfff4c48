//! Running one cycle for one range, as the server configured it: discovery sweeps the range
//! and reads every printer that answers; counters and alerts read the range's known devices
//! with only that cycle's part of their read plan. The result is raw readings (for the spool)
//! and a report of how the cycle went. Secrets come from the configuration and stay in memory.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use cartouche_schema::profiles::{ProfileSet, Walk};
use cartouche_schema::wire::{AgentConfig, CredentialConfig, Cycle, CycleReport, KnownDevice, RangeConfig, RawReading};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use tokio::sync::Semaphore;

use crate::discovery::{self, SweepConfig};
use crate::read::{Reading, read_cycles};
use crate::snmp::{Credential, EngineConfig, Session, Snmp as _, Target, V3Credential};

/// How cycles talk to devices (the same for every range of an agent).
#[derive(Clone, Debug)]
pub struct CycleOptions {
    pub engine: EngineConfig,
    /// Sweep and read settings; `keep_raw` is forced on for discovery.
    pub sweep: SweepConfig,
    /// Where local (USB) printers are read; `None`: not on this host.
    pub local: Option<crate::local::LocalOptions>,
}

/// A configuration problem that stops one cycle, named for the console.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error("range {range_id}: credential {credential:?} is not in the configuration")]
    UnknownCredential { range_id: String, credential: String },
    #[error("credential {credential:?}: {reason}")]
    BadCredential { credential: String, reason: String },
    #[error("range {range_id}: {reason}")]
    BadRange { range_id: String, reason: String },
    #[error("range {0} is not in the configuration")]
    UnknownRange(String),
}

/// Turns a credential of the configuration into one the SNMP engine uses.
pub fn credential(id: &str, config: &CredentialConfig) -> Result<Credential, CycleError> {
    let bad = |reason: String| CycleError::BadCredential { credential: id.to_owned(), reason };
    let secret = |s: &str| SecretString::from(s.to_owned());
    Ok(match config {
        CredentialConfig::V1 { community } => Credential::V1 { community: secret(community) },
        CredentialConfig::V2c { community } => Credential::V2c { community: secret(community) },
        CredentialConfig::V3 { user, auth_protocol, auth_password, priv_protocol, priv_password, context } => {
            let auth = match (auth_protocol, auth_password) {
                (Some(p), Some(pw)) => Some((p.parse().map_err(bad)?, secret(pw))),
                (None, None) => None,
                _ => return Err(bad("an authentication protocol needs its password, and the reverse".into())),
            };
            let privacy = match (priv_protocol, priv_password) {
                (Some(_), Some(_)) if auth.is_none() => {
                    return Err(bad("privacy without authentication is not allowed by SNMPv3".into()));
                }
                (Some(p), Some(pw)) => Some((p.parse().map_err(bad)?, secret(pw))),
                (None, None) => None,
                _ => return Err(bad("a privacy protocol needs its password, and the reverse".into())),
            };
            Credential::V3(V3Credential { user: user.clone(), auth, privacy, context: context.clone() })
        }
    })
}

/// What printers ship with, used where the server names no credential: v2c "public".
fn factory_default() -> Credential {
    Credential::V2c { community: SecretString::from("public".to_owned()) }
}

/// The range's credentials in order; a range with none tries v2c "public", what printers
/// ship with.
fn range_credentials(range: &RangeConfig, config: &AgentConfig) -> Result<Vec<Credential>, CycleError> {
    if range.credentials.is_empty() {
        return Ok(vec![factory_default()]);
    }
    range
        .credentials
        .iter()
        .map(|id| {
            let found = config
                .credentials
                .get(id)
                .ok_or_else(|| CycleError::UnknownCredential { range_id: range.id.clone(), credential: id.clone() })?;
            credential(id, found)
        })
        .collect()
}

/// What a cycle produced.
#[derive(Debug)]
pub struct CycleOutcome {
    pub readings: Vec<RawReading>,
    pub report: CycleReport,
}

/// Runs `cycle` for the range `range_id` of `config`.
pub async fn run(
    config: &AgentConfig,
    range_id: &str,
    cycle: Cycle,
    options: &CycleOptions,
    profiles: Arc<ProfileSet>,
    started_at: DateTime<Utc>,
) -> Result<CycleOutcome, CycleError> {
    let range =
        config.ranges.iter().find(|r| r.id == range_id).ok_or_else(|| CycleError::UnknownRange(range_id.to_owned()))?;
    let started = Instant::now();
    let credentials = range_credentials(range, config)?;
    let (readings, failed, asleep) = match cycle {
        Cycle::Discovery => {
            let addresses = discovery::resolve(std::slice::from_ref(&range.ranges))
                .await
                .map_err(|e| CycleError::BadRange { range_id: range.id.clone(), reason: format!("{e:#}") })?;
            let sweep = SweepConfig { keep_raw: true, ..options.sweep.clone() };
            let report =
                discovery::scan_report(&addresses, &credentials, &sweep, &options.engine, profiles, &|_, _| {})
                    .await
                    .map_err(|e| CycleError::BadRange { range_id: range.id.clone(), reason: format!("{e:#}") })?;
            let unreadable = u32::try_from(report.unreadable).unwrap_or(u32::MAX);
            let readings = report
                .printers
                .into_iter()
                .filter_map(|found| {
                    let mut raw = found.raw?;
                    raw.credential = range.credentials.get(found.credential).cloned();
                    Some(raw)
                })
                .collect();
            (readings, unreadable, 0)
        }
        Cycle::Counters | Cycle::Alerts => {
            let devices: Vec<&KnownDevice> = config.devices.iter().filter(|d| d.range_id == range.id).collect();
            read_known(&devices, config, cycle, options).await?
        }
    };
    let mut readings: Vec<RawReading> = readings;
    for reading in &mut readings {
        reading.range_id = Some(range.id.clone());
    }
    let report = CycleReport {
        cycle,
        range_id: Some(range.id.clone()),
        started_at,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        devices_read: u32::try_from(readings.len()).unwrap_or(u32::MAX),
        devices_failed: failed,
        devices_asleep: asleep,
        batches_not_kept: 0,
    };
    Ok(CycleOutcome { readings, report })
}

/// The most varbinds one walk of a counters or alerts cycle may bring. Those cycles walk a
/// known device's counter and alert tables only: the largest such walk over the 58 recordings
/// is 120 varbinds, and a full Printer-MIB alert table of 50 alerts is 450. A device that loops
/// (GETNEXT never reaching the end) is cut here instead of at the discovery's cap, which would
/// cost every cycle of it thousands of requests.
const KNOWN_WALK_CAP: usize = 2_000;

fn known_walk_cap(cap: usize) -> usize {
    cap.min(KNOWN_WALK_CAP)
}

/// Reads the known devices' part of the plan for `cycle`, a bounded number at once.
async fn read_known(
    devices: &[&KnownDevice],
    config: &AgentConfig,
    cycle: Cycle,
    options: &CycleOptions,
) -> Result<(Vec<RawReading>, u32, u32), CycleError> {
    let limit = Arc::new(Semaphore::new(options.sweep.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for device in devices {
        // No credential: the device answered v2c "public" (a range without credentials).
        let credential = if device.credential.is_empty() {
            factory_default()
        } else {
            let found = config.credentials.get(&device.credential).ok_or_else(|| CycleError::UnknownCredential {
                range_id: device.range_id.clone(),
                credential: device.credential.clone(),
            })?;
            credential(&device.credential, found)?
        };
        let Ok(ip) = device.address.parse::<IpAddr>() else {
            tracing::warn!(device = %device.id, address = %device.address, "known device with an unusable address");
            continue;
        };
        let target = Target { address: SocketAddr::new(ip, device.port), credential };
        let plan = match cycle {
            Cycle::Counters => device.plan.counters.clone(),
            Cycle::Alerts => device.plan.alerts.clone(),
            Cycle::Discovery => device.plan.discovery.clone(),
        };
        let (engine, limit, read) = (options.engine.clone(), limit.clone(), options.sweep.read.clone());
        let id = device.id.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let started = Instant::now();
            let mut session = Session::new(target.clone(), engine);
            let mut walk = Walk::new();
            let mut notes = Vec::new();
            let outcome = read_cycles(
                &mut session,
                &[&plan],
                &mut walk,
                &mut notes,
                known_walk_cap(read.walk_cap),
                read.max_repetitions,
            )
            .await;
            // It answered, but only after a timeout: asleep or busy when the cycle came.
            let slept = session.timeouts > 0;
            let reading =
                Reading { walk, notes, duration: started.elapsed(), engine_id: session.engine_id(), npap: None };
            (id, target.address, outcome.map(|()| reading), slept)
        });
    }
    let mut readings = Vec::new();
    let (mut failed, mut asleep) = (0u32, 0u32);
    while let Some(done) = tasks.join_next().await {
        let Ok((id, address, outcome, slept)) = done else {
            failed += 1;
            continue;
        };
        match outcome {
            Ok(reading) => {
                if slept {
                    asleep += 1;
                }
                let mut raw = reading.to_raw(address, cycle, Utc::now());
                raw.device_id = Some(id);
                raw.answered_late = slept;
                readings.push(raw);
            }
            Err(err) => {
                failed += 1;
                tracing::info!(device = %id, %address, error = %err, "device not read this cycle");
            }
        }
    }
    readings.sort_by(|a, b| a.address.cmp(&b.address));
    Ok((readings, failed, asleep))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v3(auth: Option<&str>, auth_pw: Option<&str>, privacy: Option<&str>, priv_pw: Option<&str>) -> CredentialConfig {
        CredentialConfig::V3 {
            user: "cartouche".into(),
            auth_protocol: auth.map(Into::into),
            auth_password: auth_pw.map(Into::into),
            priv_protocol: privacy.map(Into::into),
            priv_password: priv_pw.map(Into::into),
            context: None,
        }
    }

    #[test]
    fn server_credentials_become_engine_credentials_or_a_named_error() {
        assert!(matches!(
            credential("v3", &v3(Some("SHA-256"), Some("a long pass"), Some("AES"), Some("another"))),
            Ok(Credential::V3(V3Credential { auth: Some(_), privacy: Some(_), .. }))
        ));
        assert!(matches!(
            credential("v2", &CredentialConfig::V2c { community: "x".into() }),
            Ok(Credential::V2c { .. })
        ));
        let typo = credential("branch-v3", &v3(Some("SHA-257"), Some("pw"), None, None)).unwrap_err().to_string();
        assert!(typo.contains("branch-v3") && typo.contains("SHA-257"), "{typo}");
        let no_password = credential("c", &v3(Some("SHA"), None, None, None)).unwrap_err().to_string();
        assert!(no_password.contains("needs its password"), "{no_password}");
        let priv_only = credential("c", &v3(None, None, Some("AES"), Some("pw"))).unwrap_err().to_string();
        assert!(priv_only.contains("privacy without authentication"), "{priv_only}");
    }
}
