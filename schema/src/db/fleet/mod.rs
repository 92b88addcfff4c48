//! The fleet tables as ingestion writes them: one interpreted reading applied to its device
//! (identity resolved, addresses and moves tracked), its counters (flagged when they cannot be
//! billed as they are), supplies (with what happened to them), alerts (opened and cleared) and
//! status. The caller runs each reading in a transaction (a savepoint inside the batch's) so
//! that a reading that fails leaves nothing half-written.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::agents::Agent;
use super::schema::{device_addresses, device_status_history, devices, discovery_ranges, snmp_credentials};
use crate::profiles::{DeviceSnapshot, ReadPlan};
use crate::wire::{Cycle, RawReading};

mod alerts;
mod batches;
mod counters;
mod known;
mod supplies;

use alerts::store_alerts;
pub use batches::{PendingBatch, batches_for_device, finish_batch, lock_batch, pending};
pub use counters::{count_counters, delete_counters, ensure_counter_partitions, store_counters};
pub use known::{addresses_seen, describe, known_devices, profile_of};
use supplies::store_supplies;

diesel::define_sql_function! {
    /// PostgreSQL's greatest() of two timestamps.
    fn greatest(a: Timestamptz, b: Timestamptz) -> Timestamptz;
}

#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
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
        _ => "unknown",
    }
}

fn uuid_of(text: Option<&String>) -> Option<Uuid> {
    text.and_then(|t| Uuid::parse_str(t).ok())
}

/// Finds the device a reading is of: the known device it names, else by serial, then MAC,
/// then engine id within the tenant; a device without any of them by its address at this agent.
async fn resolve(conn: &mut AsyncPgConnection, input: &Interpreted<'_>) -> QueryResult<Result<Option<Device>, String>> {
    let tenant = input.agent.tenant_id;
    let base = || devices::table.filter(devices::tenant_id.eq(tenant)).select(Device::as_select()).into_boxed();
    if let Some(named) = &input.reading.device_id {
        let Ok(id) = Uuid::parse_str(named) else {
            return Ok(Err(format!("device id {named:?} is not an id")));
        };
        return Ok(match base().filter(devices::id.eq(id)).first(conn).await.optional()? {
            Some(device) => Ok(Some(device)),
            None => Err(format!("device {id} is not known to this tenant (deleted?)")),
        });
    }
    let snapshot = input.snapshot;
    if let Some(serial) = &snapshot.serial
        && let Some(found) = base().filter(devices::serial.eq(serial)).first(conn).await.optional()?
    {
        return Ok(Ok(Some(found)));
    }
    if let Some(mac) = &snapshot.mac
        && let Some(found) = base()
            .filter(devices::mac.eq(mac))
            // A MAC shared by two serials is two devices (a print server moved): only a device
            // without another serial matches.
            .filter(devices::serial.is_null().or(devices::serial.nullable().eq(snapshot.serial.clone())))
            .order_by(devices::last_seen_at.desc())
            .first(conn)
            .await
            .optional()?
    {
        return Ok(Ok(Some(found)));
    }
    if let Some(engine) = &input.reading.engine_id
        && let Some(found) = base()
            .filter(devices::engine_id.eq(engine))
            .order_by(devices::last_seen_at.desc())
            .first(conn)
            .await
            .optional()?
    {
        return Ok(Ok(Some(found)));
    }
    if snapshot.serial.is_none() && snapshot.mac.is_none() && input.reading.engine_id.is_none() {
        return Ok(Ok(base()
            .filter(devices::agent_id.eq(input.agent.id))
            .filter(devices::address.eq(&input.reading.address))
            .filter(devices::serial.is_null())
            .filter(devices::mac.is_null())
            .first(conn)
            .await
            .optional()?));
    }
    Ok(Ok(None))
}

/// Applies one reading. `Err(reason)` when it cannot be (an unknown device): nothing written.
pub async fn apply(conn: &mut AsyncPgConnection, input: &Interpreted<'_>) -> QueryResult<Result<Applied, String>> {
    let reading = input.reading;
    let snapshot = input.snapshot;
    let at = reading.read_at;
    let agent = input.agent;
    let existing = match resolve(conn, input).await? {
        Ok(found) => found,
        Err(reason) => return Ok(Err(reason)),
    };
    if existing.is_none() && reading.device_id.is_none() && !snapshot.is_printer {
        return Ok(Err("not a printer: nothing to record".into()));
    }
    // A reading older than what the device last said (a late batch) adds history (counters)
    // but does not overwrite the current state.
    let current = existing.as_ref().is_none_or(|d| at >= d.last_seen_at);
    // A known device's cycle reading does not move it between ranges or credentials: those
    // come with discovery readings only (and these lookups are two round trips a reading).
    let discovered = reading.device_id.is_none();
    let range_id = match uuid_of(reading.range_id.as_ref()).filter(|_| discovered) {
        Some(id) => discovery_ranges::table
            .find(id)
            .filter(discovery_ranges::tenant_id.eq(agent.tenant_id))
            .select(discovery_ranges::id)
            .first::<Uuid>(conn)
            .await
            .optional()?,
        None => None,
    };
    let credential_id = match uuid_of(reading.credential.as_ref()).filter(|_| discovered) {
        Some(id) => snmp_credentials::table
            .find(id)
            .filter(snmp_credentials::tenant_id.eq(agent.tenant_id))
            .select(snmp_credentials::id)
            .first::<Uuid>(conn)
            .await
            .optional()?,
        None => None,
    };
    let plan = input.plan.map(|p| serde_json::to_value(p).expect("invariant: read plans serialise"));
    let profile: Vec<Option<String>> = snapshot.profile.iter().cloned().map(Some).collect();
    let status = status_word(&snapshot.status.summary);
    let touches_status = matches!(reading.cycle, Cycle::Discovery | Cycle::Alerts) || input.kind == "local";
    let (device, created) = match existing {
        None => {
            let device = diesel::insert_into(devices::table)
                .values((
                    devices::tenant_id.eq(agent.tenant_id),
                    devices::site_id.eq(agent.site_id),
                    devices::agent_id.eq(agent.id),
                    devices::range_id.eq(range_id),
                    devices::kind.eq(input.kind),
                    devices::serial.eq(&snapshot.serial),
                    devices::mac.eq(&snapshot.mac),
                    devices::engine_id.eq(&reading.engine_id),
                    devices::address.eq(&reading.address),
                    devices::port.eq(i32::from(reading.port.unwrap_or(161))),
                    devices::host_name.eq(&snapshot.host_name),
                    devices::credential_id.eq(credential_id),
                    devices::vendor.eq(&snapshot.vendor),
                    devices::model.eq(&snapshot.model),
                    devices::firmware.eq(&snapshot.firmware),
                    devices::location.eq(&snapshot.location),
                    devices::profile.eq(&profile),
                    devices::read_plan.eq(&plan),
                    devices::status.eq(status),
                    devices::first_seen_at.eq(at),
                    devices::last_seen_at.eq(at),
                ))
                .returning(Device::as_returning())
                .get_result(conn)
                .await?;
            if touches_status {
                record_status(conn, device.id, at, status, &snapshot.status.errors).await?;
            }
            (device, true)
        }
        Some(device) if current => {
            // Identity and description: what this reading knows replaces what was stored;
            // what it does not know (a counters-only reading) is kept.
            let full = reading.device_id.is_none();
            let updated = diesel::update(devices::table.find(device.id))
                .set((
                    devices::site_id.eq(agent.site_id.or(device.site_id)),
                    devices::agent_id.eq(agent.id),
                    devices::range_id.eq(range_id.or(device.range_id)),
                    devices::serial.eq(snapshot.serial.clone().or(device.serial.clone())),
                    devices::mac.eq(snapshot.mac.clone().or(device.mac.clone())),
                    devices::engine_id.eq(reading.engine_id.clone().or(device.engine_id.clone())),
                    devices::address.eq(&reading.address),
                    devices::port.eq(reading.port.map_or(device.port, i32::from)),
                    devices::host_name.eq(snapshot.host_name.clone().or(device.host_name.clone())),
                    devices::credential_id.eq(if full { credential_id } else { device.credential_id }),
                    devices::vendor.eq(snapshot.vendor.clone().or(device.vendor.clone())),
                    devices::model.eq(snapshot.model.clone().or(device.model.clone())),
                    devices::firmware.eq(snapshot.firmware.clone().or(device.firmware.clone())),
                    devices::location.eq(snapshot.location.clone().or(device.location.clone())),
                    devices::profile.eq(if profile.is_empty() { device.profile.clone() } else { profile.clone() }),
                    devices::read_plan.eq(plan.clone().or(device.read_plan.clone())),
                    devices::status.eq(if touches_status { status } else { device.status.as_str() }),
                    devices::last_seen_at.eq(at),
                    devices::updated_at.eq(diesel::dsl::now),
                ))
                .returning(Device::as_returning())
                .get_result(conn)
                .await?;
            if touches_status && device.status != status {
                record_status(conn, device.id, at, status, &snapshot.status.errors).await?;
            }
            (updated, false)
        }
        Some(device) => (device, false),
    };
    track_address(conn, &device, agent, at).await?;
    let mut applied = Applied { device_id: device.id, created, ..Applied::default() };
    if matches!(reading.cycle, Cycle::Discovery | Cycle::Counters) {
        store_counters(conn, input, device.id).await?;
    }
    if current && (matches!(reading.cycle, Cycle::Discovery | Cycle::Counters) || input.kind == "local") {
        applied.supplies_changed = store_supplies(conn, input, device.id, created).await?;
    }
    if current && (matches!(reading.cycle, Cycle::Discovery | Cycle::Alerts) || input.kind == "local") {
        applied.alerts_changed = store_alerts(conn, input, device.id).await?;
    }
    Ok(Ok(applied))
}

async fn record_status(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    at: DateTime<Utc>,
    status: &str,
    errors: &[String],
) -> QueryResult<()> {
    diesel::insert_into(device_status_history::table)
        .values((
            device_status_history::device_id.eq(device_id),
            device_status_history::at.eq(at),
            device_status_history::status.eq(status),
            device_status_history::errors.eq(errors),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

/// Extends the device's current stretch at its address, or starts a new one when it moved
/// (another address, host name, agent or site).
async fn track_address(
    conn: &mut AsyncPgConnection,
    device: &Device,
    agent: &Agent,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    #[derive(Queryable)]
    struct Stretch {
        since: DateTime<Utc>,
        address: String,
        host: Option<String>,
        agent_id: Option<Uuid>,
        site_id: Option<Uuid>,
    }
    let last: Option<Stretch> = device_addresses::table
        .filter(device_addresses::device_id.eq(device.id))
        .order_by(device_addresses::first_seen_at.desc())
        .select((
            device_addresses::first_seen_at,
            device_addresses::address,
            device_addresses::host_name,
            device_addresses::agent_id,
            device_addresses::site_id,
        ))
        .first(conn)
        .await
        .optional()?;
    match last {
        Some(last)
            if last.address == device.address
                && last.host == device.host_name
                && last.agent_id == Some(agent.id)
                && last.site_id == device.site_id =>
        {
            diesel::update(device_addresses::table.find((device.id, last.since)))
                .set(device_addresses::last_seen_at.eq(greatest(device_addresses::last_seen_at, at)))
                .execute(conn)
                .await
                .map(drop)
        }
        Some(last) if last.since >= at => Ok(()),
        _ => diesel::insert_into(device_addresses::table)
            .values((
                device_addresses::device_id.eq(device.id),
                device_addresses::address.eq(&device.address),
                device_addresses::host_name.eq(&device.host_name),
                device_addresses::agent_id.eq(agent.id),
                device_addresses::site_id.eq(device.site_id),
                device_addresses::first_seen_at.eq(at),
                device_addresses::last_seen_at.eq(at),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await
            .map(drop),
    }
}
