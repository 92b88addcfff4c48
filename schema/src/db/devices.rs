//! Reading the fleet: devices by filter in keyset pages, and what the API shows of each
//! (latest counters, counter series, supplies with their events, alerts, address history), and
//! the fleet-wide supplies and alerts views. Every query keeps to the caller's scope; the
//! batch queries behind DataLoaders take ids of rows already read through a scope.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bigint, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::fleet::Device;
use super::page::{self, PageRequest};
use super::schema::{alerts, device_addresses, devices, raw_batches, supplies, supply_events};
use super::scope::Scope;

/// How the device list is narrowed; every field optional.
#[derive(Clone, Debug, Default)]
pub struct DeviceFilter {
    pub site: Option<Uuid>,
    pub agent: Option<Uuid>,
    /// ok, warning, error, offline, unknown.
    pub status: Option<String>,
    /// Vendor, case-insensitive, exact.
    pub vendor: Option<String>,
    /// Any part of serial, model, vendor, address, host name, location or MAC.
    pub search: Option<String>,
}

/// `text` for a LIKE pattern: `%` and `_` taken literally.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

impl Device {
    pub async fn find(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<Device> {
        devices::table
            .find(id)
            .filter(devices::tenant_id.eq_any(scope.tenant_ids()))
            .select(Device::as_select())
            .first(conn)
            .await
    }

    /// Devices by id (DataLoader; the caller read the ids through its scope).
    pub async fn load_many(conn: &mut AsyncPgConnection, scope: &Scope, ids: &[Uuid]) -> QueryResult<Vec<Device>> {
        devices::table
            .filter(devices::id.eq_any(ids))
            .filter(devices::tenant_id.eq_any(scope.tenant_ids()))
            .select(Device::as_select())
            .load(conn)
            .await
    }

    /// One page of visible devices, ordered by vendor, model and address.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        filter: &DeviceFilter,
        request: &PageRequest,
    ) -> QueryResult<(Vec<(Device, String)>, bool)> {
        let mut query = devices::table
            .select((Device::as_select(), devices::sort_key.assume_not_null()))
            .order_by((devices::sort_key, devices::id))
            .limit(request.limit())
            .into_boxed();
        // One tenant (most callers) walks its (tenant, sort key, id) index in order.
        query = match scope.tenant_ids() {
            [only] => query.filter(devices::tenant_id.eq(*only)),
            many => query.filter(devices::tenant_id.eq_any(many.to_vec())),
        };
        if let Some(site) = filter.site {
            query = query.filter(devices::site_id.eq(site));
        }
        if let Some(agent) = filter.agent {
            query = query.filter(devices::agent_id.eq(agent));
        }
        if let Some(status) = &filter.status {
            query = query.filter(devices::status.eq(status.clone()));
        }
        if let Some(vendor) = &filter.vendor {
            query = query.filter(super::page::lower(devices::vendor.assume_not_null()).eq(vendor.to_lowercase()));
        }
        if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = format!("%{}%", like_escaped(&search.to_lowercase()));
            query = query.filter(devices::search_text.assume_not_null().like(pattern));
        }
        if let Some(after) = &request.after {
            // A row comparison: the index starts right after the cursor instead of filtering
            // every row before it.
            query = query.filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("(devices.sort_key, devices.id) > (")
                    .bind::<Text, _>(after.key.clone())
                    .sql(", ")
                    .bind::<SqlUuid, _>(after.id)
                    .sql(")"),
            );
        }
        Ok(page::finish(query.load(conn).await?, request))
    }
}

/// The latest value of one counter of a device.
#[derive(QueryableByName, Clone, Debug)]
pub struct LatestCounter {
    #[diesel(sql_type = SqlUuid)]
    pub device_id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Timestamptz)]
    pub read_at: DateTime<Utc>,
    #[diesel(sql_type = Bigint)]
    pub value: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub flag: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    pub agent_id: Uuid,
    #[diesel(sql_type = Bigint)]
    pub sequence: i64,
}

/// The latest value of every counter of each device (one query for a page of devices).
pub async fn latest_counters(conn: &mut AsyncPgConnection, device_ids: &[Uuid]) -> QueryResult<Vec<LatestCounter>> {
    diesel::sql_query(
        "SELECT device_id, kind, read_at, value, flag, agent_id, sequence \
         FROM latest_counters WHERE device_id = ANY($1) ORDER BY device_id, kind",
    )
    .bind::<Array<SqlUuid>, _>(device_ids)
    .load(conn)
    .await
}

/// One point of a counter series: the last reading of each period (counters only grow, so the
/// last is what was printed by then), flagged when that reading was.
#[derive(QueryableByName, Clone, Debug)]
pub struct CounterPoint {
    #[diesel(sql_type = Timestamptz)]
    pub period: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub read_at: DateTime<Utc>,
    #[diesel(sql_type = Bigint)]
    pub value: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub flag: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    pub agent_id: Uuid,
    #[diesel(sql_type = Bigint)]
    pub sequence: i64,
}

/// Periods of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// Every reading.
    Reading,
    Hour,
    Day,
    Month,
}

/// Which series: one counter of one device from `from` to `to` (excluded), periods in
/// `time_zone` (the site's), at most `limit` points.
#[derive(Clone, Debug)]
pub struct Series<'a> {
    pub device_id: Uuid,
    pub kind: &'a str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub granularity: Granularity,
    pub time_zone: &'a str,
    pub limit: i64,
}

pub async fn counter_series(conn: &mut AsyncPgConnection, series: &Series<'_>) -> QueryResult<Vec<CounterPoint>> {
    let Series { device_id, kind, from, to, granularity, time_zone, limit } = series.clone();
    let unit = match granularity {
        Granularity::Reading => {
            return diesel::sql_query(
                "SELECT read_at AS period, read_at, value, flag, agent_id, sequence FROM counter_readings \
                 WHERE device_id = $1 AND kind = $2 AND read_at >= $3 AND read_at < $4 ORDER BY read_at LIMIT $5",
            )
            .bind::<SqlUuid, _>(device_id)
            .bind::<Text, _>(kind)
            .bind::<Timestamptz, _>(from)
            .bind::<Timestamptz, _>(to)
            .bind::<Bigint, _>(limit)
            .load(conn)
            .await;
        }
        Granularity::Hour => "hour",
        Granularity::Day => "day",
        Granularity::Month => "month",
    };
    diesel::sql_query(
        "SELECT * FROM (SELECT DISTINCT ON (period) \
             (date_trunc($6, read_at AT TIME ZONE $7) AT TIME ZONE $7) AS period, read_at, value, flag, agent_id, sequence \
         FROM counter_readings WHERE device_id = $1 AND kind = $2 AND read_at >= $3 AND read_at < $4 \
         ORDER BY period, read_at DESC) p ORDER BY period LIMIT $5",
    )
    .bind::<SqlUuid, _>(device_id)
    .bind::<Text, _>(kind)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .bind::<Bigint, _>(limit)
    .bind::<Text, _>(unit)
    .bind::<Text, _>(time_zone)
    .load(conn)
    .await
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = supplies)]
pub struct SupplyRow {
    pub device_id: Uuid,
    pub tenant_id: Uuid,
    pub supply_index: i32,
    pub kind: String,
    pub color: Option<String>,
    pub description: Option<String>,
    pub level: Option<i64>,
    pub max_capacity: Option<i64>,
    pub percent: Option<f64>,
    pub state: String,
    pub unit: Option<String>,
    pub receptacle: bool,
    pub part_number: Option<String>,
    pub serial: Option<String>,
    pub remaining_pages: Option<i64>,
    pub installed_at: Option<DateTime<Utc>>,
    pub read_at: DateTime<Utc>,
    pub agent_id: Uuid,
    pub sequence: i64,
}

/// The current supplies of each device.
pub async fn supplies_of(conn: &mut AsyncPgConnection, device_ids: &[Uuid]) -> QueryResult<Vec<SupplyRow>> {
    supplies::table
        .filter(supplies::device_id.eq_any(device_ids))
        .order_by((supplies::device_id, supplies::supply_index))
        .select(SupplyRow::as_select())
        .load(conn)
        .await
}

/// How the fleet-wide supplies view is narrowed.
#[derive(Clone, Debug, Default)]
pub struct SupplyFilter {
    /// Only supplies with a known level below this percent.
    pub below_percent: Option<f64>,
    pub kind: Option<String>,
    pub site: Option<Uuid>,
}

/// Supplies of visible devices, lowest first: (percent, device, index) keyset in `after`
/// (`key` is "percent index", `id` the device).
pub async fn supplies_page(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    filter: &SupplyFilter,
    request: &PageRequest,
) -> QueryResult<(Vec<SupplyRow>, bool)> {
    let mut query = supplies::table
        .inner_join(devices::table)
        .filter(supplies::tenant_id.eq_any(scope.tenant_ids()))
        .filter(supplies::percent.is_not_null())
        .select(SupplyRow::as_select())
        .order_by((supplies::percent, supplies::device_id, supplies::supply_index))
        .limit(request.limit())
        .into_boxed();
    if let Some(below) = filter.below_percent {
        query = query.filter(supplies::percent.lt(below));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(supplies::kind.eq(kind.clone()));
    }
    if let Some(site) = filter.site {
        query = query.filter(devices::site_id.eq(site));
    }
    if let Some(after) = &request.after {
        let (percent, index) = after
            .key
            .split_once(' ')
            .and_then(|(p, i)| Some((p.parse::<f64>().ok()?, i.parse::<i32>().ok()?)))
            .ok_or(diesel::result::Error::NotFound)?;
        query = query.filter(supplies::percent.gt(percent).or(supplies::percent.eq(percent).and(
            supplies::device_id.gt(after.id).or(supplies::device_id.eq(after.id).and(supplies::supply_index.gt(index))),
        )));
    }
    Ok(page::finish(query.load(conn).await?, request))
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = supply_events)]
pub struct SupplyEventRow {
    pub id: Uuid,
    pub device_id: Uuid,
    pub tenant_id: Uuid,
    pub supply_index: i32,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub detail: serde_json::Value,
    pub agent_id: Uuid,
    pub sequence: i64,
}

pub async fn supply_events_of(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<SupplyEventRow>> {
    supply_events::table
        .filter(supply_events::device_id.eq(device_id))
        .order_by((supply_events::at.desc(), supply_events::id))
        .limit(limit)
        .select(SupplyEventRow::as_select())
        .load(conn)
        .await
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = alerts)]
pub struct AlertRow {
    pub id: Uuid,
    pub device_id: Uuid,
    pub tenant_id: Uuid,
    pub key: String,
    pub code: Option<i64>,
    pub severity: String,
    pub fault_type: String,
    pub description: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub agent_id: Uuid,
    pub sequence: i64,
}

/// How alerts are narrowed (on a device, or fleet-wide).
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    /// Only open (true) or only ended (false) alerts.
    pub open: Option<bool>,
    /// Alerts active at some time in [from, to).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub severity: Option<String>,
    pub site: Option<Uuid>,
    pub device: Option<Uuid>,
}

/// Alerts of visible devices, newest first: (started_at, id) keyset in `after` (`key` is the
/// start time in RFC 3339).
pub async fn alerts_page(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    filter: &AlertFilter,
    request: &PageRequest,
) -> QueryResult<(Vec<AlertRow>, bool)> {
    let mut query = alerts::table
        .inner_join(devices::table)
        .filter(alerts::tenant_id.eq_any(scope.tenant_ids()))
        .select(AlertRow::as_select())
        .order_by((alerts::started_at.desc(), alerts::id.desc()))
        .limit(request.limit())
        .into_boxed();
    match filter.open {
        Some(true) => query = query.filter(alerts::ended_at.is_null()),
        Some(false) => query = query.filter(alerts::ended_at.is_not_null()),
        None => {}
    }
    if let Some(from) = filter.from {
        query = query.filter(alerts::ended_at.is_null().or(alerts::ended_at.gt(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(alerts::started_at.lt(to));
    }
    if let Some(severity) = &filter.severity {
        query = query.filter(alerts::severity.eq(severity.clone()));
    }
    if let Some(site) = filter.site {
        query = query.filter(devices::site_id.eq(site));
    }
    if let Some(device) = filter.device {
        query = query.filter(alerts::device_id.eq(device));
    }
    if let Some(after) = &request.after {
        let started: DateTime<Utc> = after.key.parse().map_err(|_| diesel::result::Error::NotFound)?;
        query = query
            .filter(alerts::started_at.lt(started).or(alerts::started_at.eq(started).and(alerts::id.lt(after.id))));
    }
    Ok(page::finish(query.load(conn).await?, request))
}

#[derive(Queryable, Clone, Debug)]
pub struct AddressStretch {
    pub address: String,
    pub host_name: Option<String>,
    pub agent_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

pub async fn addresses_of(conn: &mut AsyncPgConnection, device_id: Uuid) -> QueryResult<Vec<AddressStretch>> {
    device_addresses::table
        .filter(device_addresses::device_id.eq(device_id))
        .order_by(device_addresses::first_seen_at.desc())
        .select((
            device_addresses::address,
            device_addresses::host_name,
            device_addresses::agent_id,
            device_addresses::site_id,
            device_addresses::first_seen_at,
            device_addresses::last_seen_at,
        ))
        .load(conn)
        .await
}

/// A raw batch behind a value (provenance), within the caller's scope.
#[derive(Queryable, Clone, Debug)]
pub struct RawBatch {
    pub agent_id: Uuid,
    pub sequence: i64,
    pub received_at: DateTime<Utc>,
    pub readings: serde_json::Value,
    pub interpreted_at: Option<DateTime<Utc>>,
    pub errors: Option<serde_json::Value>,
}

pub async fn raw_batch(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    agent_id: Uuid,
    sequence: i64,
) -> QueryResult<RawBatch> {
    raw_batches::table
        .find((agent_id, sequence))
        .filter(raw_batches::tenant_id.eq_any(scope.tenant_ids()))
        .select((
            raw_batches::agent_id,
            raw_batches::sequence,
            raw_batches::received_at,
            raw_batches::readings,
            raw_batches::interpreted_at,
            raw_batches::errors,
        ))
        .first(conn)
        .await
}

/// The fleet at a glance: devices by status, open alerts, supplies below a level, agents.
#[derive(QueryableByName, Clone, Debug, Default, PartialEq)]
pub struct FleetSummary {
    #[diesel(sql_type = Bigint)]
    pub devices: i64,
    #[diesel(sql_type = Bigint)]
    pub ok: i64,
    #[diesel(sql_type = Bigint)]
    pub warning: i64,
    #[diesel(sql_type = Bigint)]
    pub error: i64,
    #[diesel(sql_type = Bigint)]
    pub offline: i64,
    #[diesel(sql_type = Bigint)]
    pub unknown: i64,
    #[diesel(sql_type = Bigint)]
    pub open_alerts: i64,
    /// Supplies whose level is below the threshold (receptacles: whose room left is).
    #[diesel(sql_type = Bigint)]
    pub low_supplies: i64,
    /// Agents not revoked, and those of them linked now (heard from within the link's silence).
    #[diesel(sql_type = Bigint)]
    pub agents: i64,
    #[diesel(sql_type = Bigint)]
    pub agents_connected: i64,
}

/// Counts what the scope sees, on one site when `site` is given (one statement).
pub async fn fleet_summary(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    site: Option<Uuid>,
    low_percent: f64,
) -> QueryResult<FleetSummary> {
    diesel::sql_query(
        "SELECT d.devices, d.ok, d.warning, d.error, d.offline, d.unknown, \
           (SELECT count(*) FROM alerts a JOIN devices dv ON dv.id = a.device_id \
             WHERE a.tenant_id = ANY($1) AND a.ended_at IS NULL AND ($2::uuid IS NULL OR dv.site_id = $2)) AS open_alerts, \
           (SELECT count(*) FROM supplies s JOIN devices dv ON dv.id = s.device_id \
             WHERE s.tenant_id = ANY($1) AND s.percent < $3 AND ($2::uuid IS NULL OR dv.site_id = $2)) AS low_supplies, \
           g.agents, g.agents_connected \
         FROM (SELECT count(*) AS devices, count(*) FILTER (WHERE status = 'ok') AS ok, \
                 count(*) FILTER (WHERE status = 'warning') AS warning, count(*) FILTER (WHERE status = 'error') AS error, \
                 count(*) FILTER (WHERE status = 'offline') AS offline, count(*) FILTER (WHERE status = 'unknown') AS unknown \
               FROM devices WHERE tenant_id = ANY($1) AND ($2::uuid IS NULL OR site_id = $2)) d, \
              (SELECT count(*) AS agents, count(*) FILTER (WHERE connected_at IS NOT NULL \
                   AND (disconnected_at IS NULL OR connected_at > disconnected_at) \
                   AND last_seen_at >= now() - make_interval(secs => $4)) AS agents_connected \
               FROM agents WHERE tenant_id = ANY($1) AND revoked_at IS NULL AND ($2::uuid IS NULL OR site_id = $2)) g",
    )
    .bind::<Array<SqlUuid>, _>(scope.tenant_ids())
    .bind::<Nullable<SqlUuid>, _>(site)
    .bind::<diesel::sql_types::Double, _>(low_percent)
    .bind::<diesel::sql_types::Double, _>(super::agents::LINK_SILENCE_SECONDS as f64)
    .get_result(conn)
    .await
}
