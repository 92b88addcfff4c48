//! The fleet tables as ingestion writes them: one interpreted reading applied to its device
//! (identity resolved, addresses and moves tracked), its counters (flagged when they cannot be
//! billed as they are), supplies (with what happened to them), alerts (opened and cleared) and
//! status. The caller runs each reading in a transaction (a savepoint inside the batch's) so
//! that a reading that fails leaves nothing half-written.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bigint, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::agents::Agent;
use super::schema::{
    alerts, counter_readings, device_addresses, device_status_history, devices, discovery_ranges, raw_batches,
    snmp_credentials, supplies, supply_events,
};
use crate::fleet::{self, KnownSupply};
use crate::profiles::snapshot::CounterKind;
use crate::profiles::{DeviceSnapshot, ReadPlan};
use crate::wire::{Cycle, RawReading};

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

#[derive(QueryableByName)]
struct Previous {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Timestamptz)]
    read_at: DateTime<Utc>,
    #[diesel(sql_type = Bigint)]
    value: i64,
}

/// Stores a reading's counters for the device, each judged against the reading before it
/// (also used to replay readings when a device is reinterpreted).
pub async fn store_counters(conn: &mut AsyncPgConnection, input: &Interpreted<'_>, device_id: Uuid) -> QueryResult<()> {
    let at = input.reading.read_at;
    let previous: Vec<Previous> = diesel::sql_query(
        "SELECT DISTINCT ON (kind) kind, read_at, value FROM counter_readings \
         WHERE device_id = $1 AND read_at < $2 ORDER BY kind, read_at DESC",
    )
    .bind::<SqlUuid, _>(device_id)
    .bind::<Timestamptz, _>(at)
    .load(conn)
    .await?;
    let previous: BTreeMap<String, (DateTime<Utc>, i64)> =
        previous.into_iter().map(|p| (p.kind, (p.read_at, p.value))).collect();
    let total = input.snapshot.counters.iter().find(|c| c.kind == CounterKind::Total).map(|c| c.value);
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for counter in &input.snapshot.counters {
        let key = fleet::counter_key(counter.kind, &counter.label);
        if !seen.insert(key.clone()) {
            continue;
        }
        let flag = if fleet::color_above_total(counter.kind, counter.value, total) {
            Some(fleet::CounterFlag::ColorAboveTotal)
        } else {
            fleet::counter_flag(previous.get(&key).copied(), at, counter.value)
        };
        rows.push((
            counter_readings::device_id.eq(device_id),
            counter_readings::tenant_id.eq(input.agent.tenant_id),
            counter_readings::read_at.eq(at),
            counter_readings::kind.eq(key),
            counter_readings::value.eq(counter.value),
            counter_readings::flag.eq(flag.map(fleet::CounterFlag::name)),
            counter_readings::agent_id.eq(input.agent.id),
            counter_readings::sequence.eq(input.sequence),
        ));
    }
    if rows.is_empty() {
        return Ok(());
    }
    diesel::insert_into(counter_readings::table).values(rows).on_conflict_do_nothing().execute(conn).await.map(drop)
}

/// Stores the supplies and their events; true when anything changed.
async fn store_supplies(
    conn: &mut AsyncPgConnection,
    input: &Interpreted<'_>,
    device_id: Uuid,
    created: bool,
) -> QueryResult<bool> {
    let now = &input.snapshot.supplies;
    let at = input.reading.read_at;
    #[derive(Queryable)]
    struct Stored {
        index: i32,
        serial: Option<String>,
        percent: Option<f64>,
        receptacle: bool,
        installed_at: Option<DateTime<Utc>>,
    }
    let stored: Vec<Stored> = supplies::table
        .filter(supplies::device_id.eq(device_id))
        .select((
            supplies::supply_index,
            supplies::serial,
            supplies::percent,
            supplies::receptacle,
            supplies::installed_at,
        ))
        .load(conn)
        .await?;
    let known: Vec<KnownSupply> = stored
        .iter()
        .map(|s| KnownSupply {
            index: u32::try_from(s.index).unwrap_or(0),
            serial: s.serial.clone(),
            percent: s.percent,
            receptacle: s.receptacle,
        })
        .collect();
    let events = fleet::supply_events(&known, now);
    let replaced: BTreeSet<u32> =
        events.iter().filter(|(_, e)| !matches!(e, fleet::SupplyEvent::Removed)).map(|(index, _)| *index).collect();
    // One statement for all of them (a device has up to a dozen supplies).
    let mut seen = BTreeSet::new();
    let mut rows = Vec::with_capacity(now.len());
    for supply in now {
        let index = i32::try_from(supply.index).unwrap_or(i32::MAX);
        if !seen.insert(index) {
            continue;
        }
        let installed_at = if replaced.contains(&supply.index) {
            Some(at)
        } else {
            stored.iter().find(|s| s.index == index).and_then(|s| s.installed_at).or(if created {
                None
            } else {
                Some(at)
            })
        };
        rows.push((
            supplies::device_id.eq(device_id),
            supplies::tenant_id.eq(input.agent.tenant_id),
            supplies::supply_index.eq(index),
            supplies::kind.eq(&supply.kind),
            supplies::color.eq(&supply.color),
            supplies::description.eq(&supply.description),
            supplies::level.eq(supply.level),
            supplies::max_capacity.eq(supply.max_capacity),
            supplies::percent.eq(supply.percent),
            supplies::state.eq(serde_json::to_value(supply.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()),
            supplies::unit.eq(&supply.unit),
            supplies::receptacle.eq(supply.receptacle),
            supplies::part_number.eq(&supply.part_number),
            supplies::serial.eq(&supply.serial),
            supplies::remaining_pages.eq(supply.remaining_pages),
            supplies::installed_at.eq(installed_at),
            supplies::read_at.eq(at),
            supplies::agent_id.eq(input.agent.id),
            supplies::sequence.eq(input.sequence),
        ));
    }
    if !rows.is_empty() {
        use diesel::upsert::excluded;
        diesel::insert_into(supplies::table)
            .values(rows)
            .on_conflict((supplies::device_id, supplies::supply_index))
            .do_update()
            .set((
                supplies::kind.eq(excluded(supplies::kind)),
                supplies::color.eq(excluded(supplies::color)),
                supplies::description.eq(excluded(supplies::description)),
                supplies::level.eq(excluded(supplies::level)),
                supplies::max_capacity.eq(excluded(supplies::max_capacity)),
                supplies::percent.eq(excluded(supplies::percent)),
                supplies::state.eq(excluded(supplies::state)),
                supplies::unit.eq(excluded(supplies::unit)),
                supplies::receptacle.eq(excluded(supplies::receptacle)),
                supplies::part_number.eq(excluded(supplies::part_number)),
                supplies::serial.eq(excluded(supplies::serial)),
                supplies::remaining_pages.eq(excluded(supplies::remaining_pages)),
                supplies::installed_at.eq(excluded(supplies::installed_at)),
                supplies::read_at.eq(excluded(supplies::read_at)),
                supplies::agent_id.eq(excluded(supplies::agent_id)),
                supplies::sequence.eq(excluded(supplies::sequence)),
            ))
            .execute(conn)
            .await?;
    }
    for (index, event) in &events {
        if matches!(event, fleet::SupplyEvent::Removed) {
            diesel::delete(supplies::table.find((device_id, i32::try_from(*index).unwrap_or(i32::MAX))))
                .execute(conn)
                .await?;
        }
        let detail = match event {
            fleet::SupplyEvent::SerialChanged { from, to } => serde_json::json!({ "from": from, "to": to }),
            fleet::SupplyEvent::LevelJumpedUp { from, to } => serde_json::json!({ "from": from, "to": to }),
            _ => serde_json::json!({}),
        };
        diesel::insert_into(supply_events::table)
            .values((
                supply_events::device_id.eq(device_id),
                supply_events::tenant_id.eq(input.agent.tenant_id),
                supply_events::supply_index.eq(i32::try_from(*index).unwrap_or(i32::MAX)),
                supply_events::at.eq(at),
                supply_events::kind.eq(event.name()),
                supply_events::detail.eq(detail),
                supply_events::agent_id.eq(input.agent.id),
                supply_events::sequence.eq(input.sequence),
            ))
            .execute(conn)
            .await?;
    }
    Ok(!events.is_empty() || !now.is_empty())
}

/// Opens the alerts not open yet and closes those no longer reported; true when any changed.
async fn store_alerts(conn: &mut AsyncPgConnection, input: &Interpreted<'_>, device_id: Uuid) -> QueryResult<bool> {
    let at = input.reading.read_at;
    let open: Vec<String> = alerts::table
        .filter(alerts::device_id.eq(device_id))
        .filter(alerts::ended_at.is_null())
        .select(alerts::key)
        .load(conn)
        .await?;
    let mut now: BTreeMap<String, &crate::profiles::snapshot::Alert> = BTreeMap::new();
    for alert in &input.snapshot.alerts {
        now.entry(fleet::alert_key(alert)).or_insert(alert);
    }
    let mut changed = false;
    for (key, alert) in &now {
        if open.contains(key) {
            continue;
        }
        changed = true;
        diesel::insert_into(alerts::table)
            .values((
                alerts::device_id.eq(device_id),
                alerts::tenant_id.eq(input.agent.tenant_id),
                alerts::key.eq(key),
                alerts::code.eq(alert.code),
                alerts::severity.eq(&alert.severity),
                alerts::fault_type.eq(&alert.fault_type),
                alerts::description.eq(&alert.description),
                alerts::started_at.eq(at),
                alerts::agent_id.eq(input.agent.id),
                alerts::sequence.eq(input.sequence),
            ))
            .execute(conn)
            .await?;
    }
    let cleared: Vec<&String> = open.iter().filter(|key| !now.contains_key(*key)).collect();
    if !cleared.is_empty() {
        changed = true;
        diesel::update(
            alerts::table
                .filter(alerts::device_id.eq(device_id))
                .filter(alerts::ended_at.is_null())
                .filter(alerts::key.eq_any(cleared)),
        )
        .set(alerts::ended_at.eq(at))
        .execute(conn)
        .await?;
    }
    Ok(changed)
}

/// Creates the monthly partitions of `counter_readings` for the month of `now` and the two
/// after it (readings outside them, back-dated or far ahead, land in the default partition).
/// Returns the partitions created; one that cannot be (the default partition already holds
/// rows of its month) is reported and skipped.
pub async fn ensure_counter_partitions(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<(Vec<String>, Vec<String>)> {
    use chrono::Datelike;
    let (mut created, mut skipped) = (Vec::new(), Vec::new());
    let mut year = now.year();
    let mut month = now.month();
    for _ in 0..3 {
        let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
        let name = format!("counter_readings_{year:04}_{month:02}");
        let exists: i64 = diesel::sql_query("SELECT count(*) AS n FROM pg_class WHERE relname = $1")
            .bind::<Text, _>(&name)
            .get_result::<Count>(conn)
            .await?
            .n;
        if exists == 0 {
            let sql = format!(
                "CREATE TABLE {name} PARTITION OF counter_readings \
                 FOR VALUES FROM ('{year:04}-{month:02}-01') TO ('{next_year:04}-{next_month:02}-01')"
            );
            match diesel::sql_query(sql).execute(conn).await {
                Ok(_) => created.push(name),
                Err(err) => skipped.push(format!("{name}: {err}")),
            }
        }
        (year, month) = (next_year, next_month);
    }
    Ok((created, skipped))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Bigint)]
    n: i64,
}

/// Removes a device's counter readings in [from, to) before they are replayed; returns how
/// many there were.
pub async fn delete_counters(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        counter_readings::table
            .filter(counter_readings::device_id.eq(device_id))
            .filter(counter_readings::read_at.ge(from))
            .filter(counter_readings::read_at.lt(to)),
    )
    .execute(conn)
    .await
}

/// Sets what a device is (vendor, model, firmware, profiles, read plan) from a full reading.
pub async fn describe(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    snapshot: &DeviceSnapshot,
    plan: Option<&ReadPlan>,
) -> QueryResult<()> {
    let profile: Vec<Option<String>> = snapshot.profile.iter().cloned().map(Some).collect();
    let plan = plan.map(|p| serde_json::to_value(p).expect("invariant: read plans serialise"));
    diesel::update(devices::table.find(device_id))
        .set((
            devices::vendor.eq(&snapshot.vendor),
            devices::model.eq(&snapshot.model),
            devices::firmware.eq(&snapshot.firmware),
            devices::profile.eq(profile),
            devices::read_plan.eq(plan),
            devices::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The raw batches that may hold readings of a device read in [from, to): those of every agent
/// that ever read it, received from `from` until a week after `to` (a spool can hold readings
/// that long), oldest first.
pub async fn batches_for_device(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<Vec<PendingBatch>> {
    let agents: Vec<Option<Uuid>> = device_addresses::table
        .filter(device_addresses::device_id.eq(device_id))
        .select(device_addresses::agent_id)
        .distinct()
        .load(conn)
        .await?;
    let agents: Vec<Uuid> = agents.into_iter().flatten().collect();
    raw_batches::table
        .filter(raw_batches::agent_id.eq_any(agents))
        .filter(raw_batches::received_at.ge(from))
        .filter(raw_batches::received_at.lt(to + chrono::Duration::days(7)))
        .order_by((raw_batches::received_at, raw_batches::sequence))
        .select((raw_batches::agent_id, raw_batches::sequence, raw_batches::tenant_id, raw_batches::readings))
        .load(conn)
        .await
}

/// How many counter readings a device has in [from, to).
pub async fn count_counters(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<usize> {
    let n: i64 = counter_readings::table
        .filter(counter_readings::device_id.eq(device_id))
        .filter(counter_readings::read_at.ge(from))
        .filter(counter_readings::read_at.lt(to))
        .count()
        .get_result(conn)
        .await?;
    Ok(usize::try_from(n).unwrap_or(0))
}

impl Device {
    /// A device by id whatever its tenant (the operator's command line only).
    pub async fn find_any(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Device> {
        devices::table.find(id).select(Device::as_select()).first(conn).await
    }
}

/// Every address a device was seen at.
pub async fn addresses_seen(conn: &mut AsyncPgConnection, device_id: Uuid) -> QueryResult<Vec<String>> {
    device_addresses::table
        .filter(device_addresses::device_id.eq(device_id))
        .select(device_addresses::address)
        .distinct()
        .load(conn)
        .await
}

/// A stored batch waiting for interpretation.
#[derive(Queryable, Debug)]
pub struct PendingBatch {
    pub agent_id: Uuid,
    pub sequence: i64,
    pub tenant_id: Uuid,
    pub readings: serde_json::Value,
}

/// Locks a batch not interpreted yet; `None` when it is done or another process has it.
pub async fn lock_batch(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
    sequence: i64,
) -> QueryResult<Option<PendingBatch>> {
    raw_batches::table
        .find((agent_id, sequence))
        .filter(raw_batches::interpreted_at.is_null())
        .select((raw_batches::agent_id, raw_batches::sequence, raw_batches::tenant_id, raw_batches::readings))
        .for_update()
        .skip_locked()
        .first(conn)
        .await
        .optional()
}

/// Batches waiting for interpretation, oldest first.
pub async fn pending(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<(Uuid, i64)>> {
    raw_batches::table
        .filter(raw_batches::interpreted_at.is_null())
        .order_by((raw_batches::received_at, raw_batches::agent_id, raw_batches::sequence))
        .select((raw_batches::agent_id, raw_batches::sequence))
        .limit(limit)
        .load(conn)
        .await
}

/// Marks a batch interpreted, with the errors of the readings that could not be (by index).
pub async fn finish_batch(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
    sequence: i64,
    errors: Option<serde_json::Value>,
) -> QueryResult<()> {
    diesel::update(raw_batches::table.find((agent_id, sequence)))
        .set((raw_batches::interpreted_at.eq(diesel::dsl::now), raw_batches::errors.eq(errors)))
        .execute(conn)
        .await
        .map(drop)
}

/// The profiles a device was recognised with (base first), to interpret its partial readings.
pub async fn profile_of(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    device_id: Uuid,
) -> QueryResult<Option<Vec<String>>> {
    let profile: Option<Vec<Option<String>>> = devices::table
        .find(device_id)
        .filter(devices::tenant_id.eq(tenant_id))
        .select(devices::profile)
        .first(conn)
        .await
        .optional()?;
    Ok(profile.map(|p| p.into_iter().flatten().collect()).filter(|p: &Vec<String>| !p.is_empty()))
}

/// The devices an agent reads in its counters and alerts cycles: its network devices with a
/// read plan, in ranges it scans.
pub async fn known_devices(conn: &mut AsyncPgConnection, agent_id: Uuid, ranges: &[Uuid]) -> QueryResult<Vec<Device>> {
    devices::table
        .filter(devices::agent_id.eq(agent_id))
        .filter(devices::kind.eq("snmp"))
        .filter(devices::read_plan.is_not_null())
        .filter(devices::range_id.eq_any(ranges))
        .order_by(devices::address)
        .select(Device::as_select())
        .load(conn)
        .await
}
