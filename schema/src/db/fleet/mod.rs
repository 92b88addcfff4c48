//! The fleet tables as ingestion writes them: interpreted readings applied to their devices
//! (identity resolved, addresses and moves tracked), their counters (flagged when they cannot
//! be billed as they are), supplies (with what happened to them), alerts (opened and cleared)
//! and status. A batch is applied as a group, each table written with one statement, in a
//! transaction the caller holds: a group that fails leaves nothing half-written.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::agents::Agent;
use super::schema::devices;
use crate::profiles::{DeviceSnapshot, ReadPlan};
use crate::wire::{Cycle, RawReading};

mod addresses;
mod alerts;
mod batches;
mod counters;
mod identity;
mod known;
mod supplies;

use alerts::store_alerts;
pub use batches::{PendingBatch, batch_readings, batches_for_device, finish_batch, lock_batch, pending};
pub use counters::{
    count_counters, delete_counters, ensure_counter_partitions, refresh_latest_counters, store_counters,
};
use identity::{Fleet, Step};
pub use known::{addresses_seen, describe, known_devices, profiles_of};
use supplies::store_supplies;

#[derive(Queryable, QueryableByName, Selectable, Identifiable, Insertable, Clone, Debug)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub range_id: Option<Uuid>,
    pub kind: String,
    pub serial: Option<String>,
    pub mac: Option<String>,
    pub engine_id: Option<String>,
    pub address: String,
    pub port: i32,
    pub host_name: Option<String>,
    pub credential_id: Option<Uuid>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub location: Option<String>,
    pub profile: Vec<Option<String>>,
    pub read_plan: Option<serde_json::Value>,
    pub status: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The decoded error bits behind `status` (jammed, door_open, …).
    pub status_errors: Vec<Option<String>>,
}

/// What applying a reading changed, for the events subscribers get.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub device_id: Uuid,
    pub created: bool,
    pub supplies_changed: bool,
    pub alerts_changed: bool,
}

/// One reading to apply: what the agent sent and what the profiles made of it.
pub struct Interpreted<'a> {
    pub agent: &'a Agent,
    pub sequence: i64,
    pub reading: &'a RawReading,
    pub snapshot: &'a DeviceSnapshot,
    /// The read plan derived from a full (discovery) reading.
    pub plan: Option<&'a ReadPlan>,
    /// `snmp` or `local`.
    pub kind: &'static str,
}

/// A device's summary status, as the table allows it.
fn status_word(summary: &str) -> &'static str {
    match summary {
        "ok" => "ok",
        "warning" => "warning",
        "error" => "error",
        "offline" => "offline",
        "asleep" => "asleep",
        _ => "unknown",
    }
}

/// Applies a group of readings (a batch) of one agent: each reading's device resolved and
/// merged in the order they were read, then every table written with one statement for the
/// group. Per reading, what changed, or `Err(reason)` when it cannot be applied (an unknown
/// device, not a printer), which writes nothing for it. A database error fails the whole
/// group: the caller runs it in a savepoint and applies its readings one by one instead.
pub async fn apply_group(
    conn: &mut AsyncPgConnection,
    agent: &Agent,
    inputs: &[Interpreted<'_>],
) -> QueryResult<Vec<Result<Applied, String>>> {
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| inputs[i].reading.read_at);
    let mut fleet = Fleet::load(conn, agent, inputs).await?;
    let mut results: Vec<Result<Applied, String>> = vec![Err(String::new()); inputs.len()];
    let mut steps = Vec::with_capacity(inputs.len());
    for i in order {
        match fleet.merge(agent, i, &inputs[i]) {
            Ok(step) => {
                results[i] = Ok(Applied { device_id: step.device_id, created: step.created, ..Applied::default() });
                steps.push(step);
            }
            Err(reason) => results[i] = Err(reason),
        }
    }
    fleet.write(conn).await?;
    addresses::track(conn, agent.id, &steps).await?;
    let cycle = |step: &Step| (inputs[step.index].reading.cycle, inputs[step.index].kind);
    let counted: Vec<(Uuid, &Interpreted<'_>)> = steps
        .iter()
        .filter(|s| matches!(cycle(s).0, Cycle::Discovery | Cycle::Counters))
        .map(|s| (s.device_id, &inputs[s.index]))
        .collect();
    store_counters(conn, &counted).await?;
    // Supplies and alerts are the current state: a late reading does not change them.
    let supplied: Vec<&Step> = steps
        .iter()
        .filter(|s| s.current && (matches!(cycle(s).0, Cycle::Discovery | Cycle::Counters) || cycle(s).1 == "local"))
        .collect();
    let items: Vec<_> = supplied.iter().map(|s| (s.device_id, s.created, &inputs[s.index])).collect();
    for (step, changed) in supplied.iter().zip(store_supplies(conn, &items).await?) {
        if let Ok(applied) = &mut results[step.index] {
            applied.supplies_changed = changed;
        }
    }
    let alerted: Vec<&Step> = steps
        .iter()
        .filter(|s| s.current && (matches!(cycle(s).0, Cycle::Discovery | Cycle::Alerts) || cycle(s).1 == "local"))
        .collect();
    let items: Vec<_> = alerted.iter().map(|s| (s.device_id, &inputs[s.index])).collect();
    for (step, changed) in alerted.iter().zip(store_alerts(conn, &items).await?) {
        if let Ok(applied) = &mut results[step.index] {
            applied.alerts_changed = changed;
        }
    }
    Ok(results)
}
