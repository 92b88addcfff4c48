//! Reinterpretation: after a profile is fixed, a device's counter readings of a period are
//! made again from the raw readings stored for it, with the profiles of this build; and what
//! the device is (vendor, model, profiles, read plan) is taken again from its latest full
//! reading of the period. Alerts and supply history are facts of their time and stay as they
//! were recorded. One transaction per device: a failure leaves that device as it was.

use std::collections::HashMap;
use std::sync::Arc;

use cartouche_schema::db::agents::Agent;
use cartouche_schema::db::fleet::{self, Interpreted};
use cartouche_schema::db::{PooledConn, Scope};
use cartouche_schema::profiles::ProfileSet;
use cartouche_schema::wire::{Cycle, RawReading};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use uuid::Uuid;

use crate::ingest::interpret_reading;

/// What a reinterpretation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reinterpreted {
    pub devices: usize,
    pub readings: usize,
    pub counters_removed: usize,
    pub counters_written: usize,
    /// Readings that could not be interpreted (kept raw, as before), with the reason.
    pub errors: Vec<String>,
}

/// Reinterprets `devices` over [from, to). `scope`: the caller's (GraphQL); `None` for the
/// operator's command line. A device out of scope is NOT_FOUND (`diesel::result::Error`).
pub async fn reinterpret(
    conn: &mut PooledConn,
    profiles: Arc<ProfileSet>,
    scope: Option<&Scope>,
    devices: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Reinterpreted, diesel::result::Error> {
    let mut total = Reinterpreted::default();
    for device_id in devices {
        let one = conn
            .transaction(async |conn| {
                let device = match scope {
                    Some(scope) => cartouche_schema::db::fleet::Device::find(conn, scope, *device_id).await?,
                    None => cartouche_schema::db::fleet::Device::find_any(conn, *device_id).await?,
                };
                let mut done = Reinterpreted { devices: 1, ..Reinterpreted::default() };
                done.counters_removed = fleet::delete_counters(conn, device.id, from, to).await?;
                // Its pages are counted again from there, in this transaction's outbox.
                cartouche_schema::db::accounting::queue(conn, device.id, from).await?;
                // The latest values may have been among those removed: the replay is judged
                // against what is left, and the latest are set again once it is done.
                fleet::refresh_latest_counters(conn, device.id).await?;
                let addresses = fleet::addresses_seen(conn, device.id).await?;
                let known_profile: Vec<String> = device.profile.iter().flatten().cloned().collect();
                let mut agents: HashMap<Uuid, Agent> = HashMap::new();
                let mut latest_full = None;
                for batch in fleet::batches_for_device(conn, device.id, from, to).await? {
                    let Ok(readings) = serde_json::from_value::<Vec<RawReading>>(batch.readings) else { continue };
                    let agent = match agents.get(&batch.agent_id) {
                        Some(agent) => agent.clone(),
                        None => {
                            let Some(agent) = Agent::find_for_gateway(conn, batch.agent_id).await? else { continue };
                            agents.insert(agent.id, agent.clone());
                            agent
                        }
                    };
                    let id = device.id.to_string();
                    for reading in readings.iter().filter(|r| {
                        r.read_at >= from
                            && r.read_at < to
                            && r.ipp.is_none()
                            && match &r.device_id {
                                Some(named) => *named == id,
                                None => addresses.contains(&r.address),
                            }
                    }) {
                        let interpreted = interpret_reading(reading, &profiles, Some(&known_profile));
                        let (snapshot, plan, kind) = match interpreted {
                            Ok(interpreted) => interpreted,
                            Err(reason) => {
                                done.errors.push(format!("{} at {}: {reason}", reading.address, reading.read_at));
                                continue;
                            }
                        };
                        // A full reading of another printer that had this address is not this device.
                        if reading.device_id.is_none()
                            && let (Some(serial), Some(ours)) = (&snapshot.serial, &device.serial)
                            && serial != ours
                        {
                            continue;
                        }
                        let input = Interpreted {
                            agent: &agent,
                            sequence: batch.sequence,
                            reading,
                            snapshot: &snapshot,
                            plan: plan.as_ref(),
                            kind,
                        };
                        if matches!(reading.cycle, Cycle::Discovery | Cycle::Counters) {
                            fleet::store_counters(conn, &[(device.id, &input)]).await?;
                            done.readings += 1;
                        }
                        if reading.cycle == Cycle::Discovery {
                            latest_full = Some((snapshot, plan));
                        }
                    }
                }
                if let Some((snapshot, plan)) = latest_full {
                    fleet::describe(conn, device.id, &snapshot, plan.as_ref()).await?;
                }
                fleet::refresh_latest_counters(conn, device.id).await?;
                done.counters_written = fleet::count_counters(conn, device.id, from, to).await?;
                Ok::<_, diesel::result::Error>(done)
            })
            .await?;
        total.devices += one.devices;
        total.readings += one.readings;
        total.counters_removed += one.counters_removed;
        total.counters_written += one.counters_written;
        total.errors.extend(one.errors);
    }
    Ok(total)
}

/// `cartouche-api reinterpret`: reinterprets `devices` over [from, to) on the database at
/// `url`, whatever their tenant, and says what was done, a line each.
pub async fn from_command_line(
    url: &str,
    devices: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    use anyhow::Context as _;
    anyhow::ensure!(from < to, "--from ({from}) must be before --to ({to})");
    let pool = cartouche_schema::db::pool(url, 2).context("building the database pool")?;
    let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
    let profiles = Arc::new(ProfileSet::builtin()?);
    let done = reinterpret(&mut conn, profiles, None, devices, from, to).await.map_err(|e| match e {
        diesel::result::Error::NotFound => anyhow::anyhow!("a device of --device does not exist"),
        other => anyhow::Error::new(other).context("reinterpreting"),
    })?;
    let mut lines = vec![format!(
        "{} device(s): {} readings interpreted again; {} counter readings replaced by {}",
        done.devices, done.readings, done.counters_removed, done.counters_written
    )];
    lines.extend(done.errors.iter().map(|error| format!("kept raw: {error}")));
    Ok(lines)
}
