//! The fleet in GraphQL: devices (filtered and paged in SQL), each with its latest counters,
//! counter series, supplies and their history, alerts and address history, and the raw
//! reading behind any value; fleet-wide supplies and alerts; live changes by subscription.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject, Subscription};
use cartouche_schema::db::devices::{
    self as queries, AlertFilter, AlertRow, DeviceFilter, Granularity, LatestCounter, SupplyEventRow, SupplyFilter,
    SupplyRow,
};
use cartouche_schema::db::fleet::Device;
use cartouche_schema::db::sites::Site;
use cartouche_schema::db::{Keyset, Pool};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::connection::{connection, page_request};
use super::{actor, conn, parse_id, state};
use crate::error::ApiError;
use crate::events::{Entity, Event};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeviceStatus {
    Ok,
    Warning,
    Error,
    Offline,
    Unknown,
}

impl DeviceStatus {
    fn of(word: &str) -> DeviceStatus {
        match word {
            "ok" => DeviceStatus::Ok,
            "warning" => DeviceStatus::Warning,
            "error" => DeviceStatus::Error,
            "offline" => DeviceStatus::Offline,
            _ => DeviceStatus::Unknown,
        }
    }
    fn word(self) -> &'static str {
        match self {
            DeviceStatus::Ok => "ok",
            DeviceStatus::Warning => "warning",
            DeviceStatus::Error => "error",
            DeviceStatus::Offline => "offline",
            DeviceStatus::Unknown => "unknown",
        }
    }
}

/// Where a value came from: the agent's batch, and in it the reading of this device.
pub struct Source {
    agent_id: Uuid,
    sequence: i64,
    device_id: Uuid,
}

#[Object]
impl Source {
    async fn agent_id(&self) -> ID {
        ID(self.agent_id.to_string())
    }
    /// The batch's sequence number at its agent.
    async fn sequence(&self) -> i64 {
        self.sequence
    }
    /// The raw reading of this device in that batch, exactly as the agent sent it (varbinds
    /// in `.snmprec` form, pages, notes), for re-reading what the device said.
    async fn reading(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Json<serde_json::Value>>> {
        let actor = actor(ctx)?;
        let mut conn = conn(ctx).await?;
        let batch = queries::raw_batch(&mut conn, &actor.scope, self.agent_id, self.sequence)
            .await
            .map_err(|e| ApiError::from_db("raw reading", e))?;
        let device =
            Device::find(&mut conn, &actor.scope, self.device_id).await.map_err(|e| ApiError::from_db("device", e))?;
        let addresses: Vec<String> = queries::addresses_of(&mut conn, device.id)
            .await
            .map_err(|e| ApiError::from_db("device", e))?
            .into_iter()
            .map(|a| a.address)
            .collect();
        let id = device.id.to_string();
        let found = batch.readings.as_array().and_then(|readings| {
            readings
                .iter()
                .find(|r| r["device_id"].as_str() == Some(id.as_str()))
                .or_else(|| {
                    readings.iter().find(|r| r["address"].as_str().is_some_and(|a| addresses.iter().any(|x| x == a)))
                })
                .cloned()
        });
        Ok(found.map(Json))
    }
}

/// The latest value of one counter.
pub struct CounterValue(LatestCounter);

#[Object]
impl CounterValue {
    /// total, mono, color, print_color, copy, scan, …; `other:<label>` for vendor counters.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn value(&self) -> i64 {
        self.0.value
    }
    async fn read_at(&self) -> DateTime<Utc> {
        self.0.read_at
    }
    /// Why the value is not to be billed as it is: decrease, wrap, color_above_total,
    /// implausible_jump; null when it is fine.
    async fn flag(&self) -> Option<&str> {
        self.0.flag.as_deref()
    }
    async fn source(&self) -> Source {
        Source { agent_id: self.0.agent_id, sequence: self.0.sequence, device_id: self.0.device_id }
    }
}

/// One point of a counter series.
pub struct CounterPointNode {
    point: queries::CounterPoint,
    device_id: Uuid,
}

#[Object(name = "CounterPoint")]
impl CounterPointNode {
    /// The period's start (in the site's time zone), or the reading's time for READING.
    async fn period(&self) -> DateTime<Utc> {
        self.point.period
    }
    /// The last reading of the period.
    async fn read_at(&self) -> DateTime<Utc> {
        self.point.read_at
    }
    async fn value(&self) -> i64 {
        self.point.value
    }
    async fn flag(&self) -> Option<&str> {
        self.point.flag.as_deref()
    }
    async fn source(&self) -> Source {
        Source { agent_id: self.point.agent_id, sequence: self.point.sequence, device_id: self.device_id }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CounterGranularity {
    Reading,
    Hour,
    Day,
    Month,
}

pub struct SupplyNode(SupplyRow);

#[Object(name = "Supply")]
impl SupplyNode {
    async fn device_id(&self) -> ID {
        ID(self.0.device_id.to_string())
    }
    async fn device(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DeviceNode>> {
        load_device(ctx, self.0.device_id).await
    }
    async fn index(&self) -> i32 {
        self.0.supply_index
    }
    /// toner, ink, drum, waste_toner, fuser, …
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn color(&self) -> Option<&str> {
        self.0.color.as_deref()
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn level(&self) -> Option<i64> {
        self.0.level
    }
    async fn max_capacity(&self) -> Option<i64> {
        self.0.max_capacity
    }
    /// What remains (for a receptacle: the room left), 0 to 100; null when not measured.
    async fn percent(&self) -> Option<f64> {
        self.0.percent
    }
    /// ok, low, empty, some_remaining, unrestricted, unknown, full.
    async fn state(&self) -> &str {
        &self.0.state
    }
    async fn unit(&self) -> Option<&str> {
        self.0.unit.as_deref()
    }
    async fn receptacle(&self) -> bool {
        self.0.receptacle
    }
    async fn part_number(&self) -> Option<&str> {
        self.0.part_number.as_deref()
    }
    async fn serial(&self) -> Option<&str> {
        self.0.serial.as_deref()
    }
    async fn remaining_pages(&self) -> Option<i64> {
        self.0.remaining_pages
    }
    /// When this supply (this cartridge) was first seen in place.
    async fn installed_at(&self) -> Option<DateTime<Utc>> {
        self.0.installed_at
    }
    async fn read_at(&self) -> DateTime<Utc> {
        self.0.read_at
    }
    async fn source(&self) -> Source {
        Source { agent_id: self.0.agent_id, sequence: self.0.sequence, device_id: self.0.device_id }
    }
}

pub struct SupplyEventNode(SupplyEventRow);

/// What happened to a supply: installed, serial_changed, level_jumped_up, removed.
#[Object(name = "SupplyEvent")]
impl SupplyEventNode {
    async fn supply_index(&self) -> i32 {
        self.0.supply_index
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// From/to values for serial and level changes.
    async fn detail(&self) -> Json<serde_json::Value> {
        Json(self.0.detail.clone())
    }
    async fn source(&self) -> Source {
        Source { agent_id: self.0.agent_id, sequence: self.0.sequence, device_id: self.0.device_id }
    }
}

pub struct AlertNode(AlertRow);

#[Object(name = "Alert")]
impl AlertNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn device_id(&self) -> ID {
        ID(self.0.device_id.to_string())
    }
    async fn device(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DeviceNode>> {
        load_device(ctx, self.0.device_id).await
    }
    /// jam, cover_open, toner_empty, toner_low, … (the fault catalogue's types).
    async fn fault_type(&self) -> &str {
        &self.0.fault_type
    }
    /// prtAlertCode, when the alert came from the Printer-MIB.
    async fn code(&self) -> Option<i64> {
        self.0.code
    }
    /// critical, warning, other.
    async fn severity(&self) -> &str {
        &self.0.severity
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// Null while it is open.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
    async fn source(&self) -> Source {
        Source { agent_id: self.0.agent_id, sequence: self.0.sequence, device_id: self.0.device_id }
    }
}

/// A stretch of time a device spent at one address.
#[derive(SimpleObject)]
pub struct DeviceAddress {
    pub address: String,
    pub host_name: Option<String>,
    pub agent_id: Option<ID>,
    pub site_id: Option<ID>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeviceKind {
    /// Read over the network (SNMP).
    Snmp,
    /// A local (USB) printer read by its agent through the host's print system.
    Local,
}

pub struct DeviceNode(pub Device);

#[Object(name = "Device")]
impl DeviceNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> DeviceKind {
        if self.0.kind == "local" { DeviceKind::Local } else { DeviceKind::Snmp }
    }
    async fn serial(&self) -> Option<&str> {
        self.0.serial.as_deref()
    }
    async fn mac(&self) -> Option<&str> {
        self.0.mac.as_deref()
    }
    /// The SNMPv3 engine id, when read over v3.
    async fn engine_id(&self) -> Option<&str> {
        self.0.engine_id.as_deref()
    }
    /// Its IP address now (a local printer: the agent's name for its queue).
    async fn address(&self) -> &str {
        &self.0.address
    }
    async fn host_name(&self) -> Option<&str> {
        self.0.host_name.as_deref()
    }
    async fn vendor(&self) -> Option<&str> {
        self.0.vendor.as_deref()
    }
    async fn model(&self) -> Option<&str> {
        self.0.model.as_deref()
    }
    async fn firmware(&self) -> Option<&str> {
        self.0.firmware.as_deref()
    }
    async fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }
    async fn status(&self) -> DeviceStatus {
        DeviceStatus::of(&self.0.status)
    }
    /// The profiles that read it, most general first.
    async fn profiles(&self) -> Vec<String> {
        self.0.profile.iter().flatten().cloned().collect()
    }
    async fn site_id(&self) -> Option<ID> {
        self.0.site_id.map(|s| ID(s.to_string()))
    }
    async fn agent_id(&self) -> Option<ID> {
        self.0.agent_id.map(|a| ID(a.to_string()))
    }
    async fn range_id(&self) -> Option<ID> {
        self.0.range_id.map(|r| ID(r.to_string()))
    }
    async fn first_seen_at(&self) -> DateTime<Utc> {
        self.0.first_seen_at
    }
    async fn last_seen_at(&self) -> DateTime<Utc> {
        self.0.last_seen_at
    }
    /// The latest value of each of its counters.
    async fn latest_counters(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CounterValue>> {
        let loader = ctx.data_unchecked::<DataLoader<FleetLoader>>();
        let found = loader.load_one(LatestCountersOf(self.0.id)).await.map_err(|e| (*e).clone())?;
        Ok(found.unwrap_or_default().into_iter().map(CounterValue).collect())
    }
    /// Its current supplies.
    async fn supplies(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SupplyNode>> {
        let loader = ctx.data_unchecked::<DataLoader<FleetLoader>>();
        let found = loader.load_one(SuppliesOf(self.0.id)).await.map_err(|e| (*e).clone())?;
        Ok(found.unwrap_or_default().into_iter().map(SupplyNode).collect())
    }
    /// What happened to its supplies, newest first (1 to 500).
    async fn supply_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: i32,
    ) -> async_graphql::Result<Vec<SupplyEventNode>> {
        if !(1..=500).contains(&first) {
            return Err(ApiError::validation("first", "must be 1 to 500").into());
        }
        let mut conn = conn(ctx).await?;
        let rows = queries::supply_events_of(&mut conn, self.0.id, i64::from(first))
            .await
            .map_err(|e| ApiError::from_db("supply event", e))?;
        Ok(rows.into_iter().map(SupplyEventNode).collect())
    }
    /// A counter over time: the last reading of each period from `from` to `to` (excluded),
    /// periods in the site's time zone; at most 1,000 points.
    async fn counters(
        &self,
        ctx: &Context<'_>,
        kind: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[graphql(default_with = "CounterGranularity::Day")] granularity: CounterGranularity,
    ) -> async_graphql::Result<Vec<CounterPointNode>> {
        if from >= to {
            return Err(ApiError::validation("to", "must be after from").into());
        }
        if kind.trim().is_empty() || kind.len() > 100 {
            return Err(ApiError::validation("kind", "a counter kind such as total, mono or color").into());
        }
        let actor = actor(ctx)?;
        let mut conn = conn(ctx).await?;
        let zone = match self.0.site_id {
            Some(site) => {
                Site::find(&mut conn, &actor.scope, site).await.map(|s| s.time_zone).unwrap_or_else(|_| "UTC".into())
            }
            None => "UTC".into(),
        };
        let granularity = match granularity {
            CounterGranularity::Reading => Granularity::Reading,
            CounterGranularity::Hour => Granularity::Hour,
            CounterGranularity::Day => Granularity::Day,
            CounterGranularity::Month => Granularity::Month,
        };
        let series = queries::Series {
            device_id: self.0.id,
            kind: kind.trim(),
            from,
            to,
            granularity,
            time_zone: &zone,
            limit: 1000,
        };
        let points = queries::counter_series(&mut conn, &series).await.map_err(|e| ApiError::from_db("counter", e))?;
        Ok(points.into_iter().map(|point| CounterPointNode { point, device_id: self.0.id }).collect())
    }
    /// Its alerts, newest first: open ones, ended ones, or those active between from and to.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        open: Option<bool>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, AlertNode>> {
        let filter = AlertFilter { open, from, to, device: Some(self.0.id), ..AlertFilter::default() };
        alert_page(ctx, filter, first, after).await
    }
    /// Where it has been: each stretch at one address, newest first.
    async fn addresses(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DeviceAddress>> {
        let mut conn = conn(ctx).await?;
        let rows = queries::addresses_of(&mut conn, self.0.id).await.map_err(|e| ApiError::from_db("device", e))?;
        Ok(rows
            .into_iter()
            .map(|a| DeviceAddress {
                address: a.address,
                host_name: a.host_name,
                agent_id: a.agent_id.map(|x| ID(x.to_string())),
                site_id: a.site_id.map(|x| ID(x.to_string())),
                first_seen_at: a.first_seen_at,
                last_seen_at: a.last_seen_at,
            })
            .collect())
    }
}

async fn alert_page(
    ctx: &Context<'_>,
    filter: AlertFilter,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Connection<String, AlertNode>> {
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from >= to
    {
        return Err(ApiError::validation("to", "must be after from").into());
    }
    let actor = actor(ctx)?;
    let request = page_request(first, after)?;
    if request.after.as_ref().is_some_and(|a| a.key.parse::<DateTime<Utc>>().is_err()) {
        return Err(ApiError::validation("after", "this cursor is not one the API gave out").into());
    }
    let mut conn = conn(ctx).await?;
    let (rows, more) = queries::alerts_page(&mut conn, &actor.scope, &filter, &request)
        .await
        .map_err(|e| ApiError::from_db("alert", e))?;
    Ok(connection(
        rows,
        more,
        request.after.is_some(),
        |a| Keyset { key: a.started_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), id: a.id },
        AlertNode,
    ))
}

async fn load_device(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<DeviceNode>> {
    let loader = ctx.data_unchecked::<DataLoader<FleetLoader>>();
    Ok(loader.load_one(DeviceById(id)).await.map_err(|e| (*e).clone())?.map(DeviceNode))
}

/// Batches the fleet's per-device edges of one request: latest counters, supplies, and
/// devices by id, each in one query for all the devices of a page. Keys come from rows the
/// caller already read through its scope; devices by id are checked against it again.
pub struct FleetLoader {
    pool: Pool,
    scope: cartouche_schema::db::Scope,
}

impl FleetLoader {
    pub fn new(pool: Pool, scope: cartouche_schema::db::Scope) -> FleetLoader {
        FleetLoader { pool, scope }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct LatestCountersOf(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SuppliesOf(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DeviceById(pub Uuid);

fn db_error(what: &'static str) -> impl Fn(diesel::result::Error) -> Arc<async_graphql::Error> {
    move |e| Arc::new(async_graphql::Error::from(ApiError::from_db(what, e)))
}

impl Loader<LatestCountersOf> for FleetLoader {
    type Value = Vec<LatestCounter>;
    type Error = Arc<async_graphql::Error>;

    async fn load(
        &self,
        keys: &[LatestCountersOf],
    ) -> Result<HashMap<LatestCountersOf, Vec<LatestCounter>>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.pool.get().await.map_err(|e| Arc::new(async_graphql::Error::from(ApiError::from(e))))?;
        let rows = queries::latest_counters(&mut conn, &ids).await.map_err(db_error("counter"))?;
        let mut out: HashMap<LatestCountersOf, Vec<LatestCounter>> = HashMap::new();
        for row in rows {
            out.entry(LatestCountersOf(row.device_id)).or_default().push(row);
        }
        Ok(out)
    }
}

impl Loader<SuppliesOf> for FleetLoader {
    type Value = Vec<SupplyRow>;
    type Error = Arc<async_graphql::Error>;

    async fn load(&self, keys: &[SuppliesOf]) -> Result<HashMap<SuppliesOf, Vec<SupplyRow>>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.pool.get().await.map_err(|e| Arc::new(async_graphql::Error::from(ApiError::from(e))))?;
        let rows = queries::supplies_of(&mut conn, &ids).await.map_err(db_error("supply"))?;
        let mut out: HashMap<SuppliesOf, Vec<SupplyRow>> = HashMap::new();
        for row in rows {
            out.entry(SuppliesOf(row.device_id)).or_default().push(row);
        }
        Ok(out)
    }
}

impl Loader<DeviceById> for FleetLoader {
    type Value = Device;
    type Error = Arc<async_graphql::Error>;

    async fn load(&self, keys: &[DeviceById]) -> Result<HashMap<DeviceById, Device>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.pool.get().await.map_err(|e| Arc::new(async_graphql::Error::from(ApiError::from(e))))?;
        let rows = Device::load_many(&mut conn, &self.scope, &ids).await.map_err(db_error("device"))?;
        Ok(rows.into_iter().map(|d| (DeviceById(d.id), d)).collect())
    }
}

#[derive(InputObject, Default)]
pub struct DeviceFilterInput {
    pub site_id: Option<ID>,
    pub agent_id: Option<ID>,
    pub status: Option<DeviceStatus>,
    /// Exact vendor, any case (HP, Konica Minolta, …).
    pub vendor: Option<String>,
    /// Any part of serial, model, vendor, address, host name, location or MAC.
    pub search: Option<String>,
}

#[derive(InputObject, Default)]
pub struct SupplyFilterInput {
    /// Only supplies with a measured level below this percent (0 to 100).
    pub below_percent: Option<f64>,
    /// toner, ink, drum, waste_toner, …
    pub kind: Option<String>,
    pub site_id: Option<ID>,
}

#[derive(InputObject, Default)]
pub struct AlertFilterInput {
    pub open: Option<bool>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// critical, warning, other.
    pub severity: Option<String>,
    pub site_id: Option<ID>,
    pub device_id: Option<ID>,
}

#[derive(Default)]
pub struct DeviceQuery;

#[Object]
impl DeviceQuery {
    /// Devices you may see, by vendor, model and address.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn devices(
        &self,
        ctx: &Context<'_>,
        filter: Option<DeviceFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, DeviceNode>> {
        let actor = actor(ctx)?;
        let input = filter.unwrap_or_default();
        let search = input.search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        if search.as_ref().is_some_and(|s| s.chars().count() > 100) {
            return Err(ApiError::validation("filter.search", "at most 100 characters").into());
        }
        let filter = DeviceFilter {
            site: input.site_id.as_ref().map(|s| parse_id("filter.siteId", s)).transpose()?,
            agent: input.agent_id.as_ref().map(|a| parse_id("filter.agentId", a)).transpose()?,
            status: input.status.map(|s| s.word().to_owned()),
            vendor: input.vendor.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()),
            search,
        };
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        let (rows, more) = Device::page(&mut conn, &actor.scope, &filter, &request)
            .await
            .map_err(|e| ApiError::from_db("device", e))?;
        Ok(connection(
            rows,
            more,
            request.after.is_some(),
            |(d, key)| Keyset { key: key.clone(), id: d.id },
            |(d, _)| DeviceNode(d),
        ))
    }

    async fn device(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<DeviceNode> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        Ok(DeviceNode(Device::find(&mut conn, &actor.scope, id).await.map_err(|e| ApiError::from_db("device", e))?))
    }

    /// Supplies across the fleet, lowest first (those with a measured level).
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn supplies(
        &self,
        ctx: &Context<'_>,
        filter: Option<SupplyFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, SupplyNode>> {
        let actor = actor(ctx)?;
        let input = filter.unwrap_or_default();
        if let Some(below) = input.below_percent
            && !(0.0..=100.0).contains(&below)
        {
            return Err(ApiError::validation("filter.belowPercent", "0 to 100").into());
        }
        let filter = SupplyFilter {
            below_percent: input.below_percent,
            kind: input.kind.map(|k| k.trim().to_lowercase()).filter(|k| !k.is_empty()),
            site: input.site_id.as_ref().map(|s| parse_id("filter.siteId", s)).transpose()?,
        };
        let request = page_request(first, after)?;
        let valid_cursor = request.after.as_ref().is_none_or(|a| {
            a.key.split_once(' ').is_some_and(|(p, i)| p.parse::<f64>().is_ok() && i.parse::<i32>().is_ok())
        });
        if !valid_cursor {
            return Err(ApiError::validation("after", "this cursor is not one the API gave out").into());
        }
        let mut conn = conn(ctx).await?;
        let (rows, more) = queries::supplies_page(&mut conn, &actor.scope, &filter, &request)
            .await
            .map_err(|e| ApiError::from_db("supply", e))?;
        Ok(connection(
            rows,
            more,
            request.after.is_some(),
            |s| Keyset { key: format!("{} {}", s.percent.unwrap_or(0.0), s.supply_index), id: s.device_id },
            SupplyNode,
        ))
    }

    /// Alerts across the fleet, newest first.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AlertFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, AlertNode>> {
        let input = filter.unwrap_or_default();
        let filter = AlertFilter {
            open: input.open,
            from: input.from,
            to: input.to,
            severity: input.severity.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()),
            site: input.site_id.as_ref().map(|s| parse_id("filter.siteId", s)).transpose()?,
            device: input.device_id.as_ref().map(|d| parse_id("filter.deviceId", d)).transpose()?,
        };
        alert_page(ctx, filter, first, after).await
    }
}

/// A device, its alerts or its supplies changed.
#[derive(SimpleObject)]
pub struct DeviceChange {
    pub device_id: ID,
    pub site_id: Option<ID>,
    /// The device as it is now (null if it is gone or out of your sight).
    pub device: Option<DeviceNode>,
}

/// An agent's link or settings changed.
#[derive(SimpleObject)]
pub struct AgentStatusChange {
    pub agent_id: ID,
    pub agent: Option<super::agents::AgentNode>,
}

#[derive(InputObject)]
pub struct ReinterpretInput {
    /// 1 to 1,000 devices.
    pub device_ids: Vec<ID>,
    pub from: DateTime<Utc>,
    /// Excluded; at most three years after `from`.
    pub to: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct ReinterpretResult {
    pub devices: i32,
    /// Raw readings interpreted again.
    pub readings: i32,
    pub counters_removed: i32,
    pub counters_written: i32,
    /// Readings that still cannot be interpreted (kept raw), with the reason.
    pub errors: Vec<String>,
}

#[derive(Default)]
pub struct DeviceMutation;

#[Object]
impl DeviceMutation {
    /// After a profile fix: interprets again the raw readings of these devices over
    /// [from, to) and rewrites their counter readings, and what each device is from its latest
    /// full reading. Admins only.
    async fn reinterpret_devices(
        &self,
        ctx: &Context<'_>,
        input: ReinterpretInput,
    ) -> async_graphql::Result<ReinterpretResult> {
        let actor = actor(ctx)?;
        actor.require(cartouche_schema::domain::Role::Admin, "reinterpreting readings")?;
        if input.device_ids.is_empty() || input.device_ids.len() > 1000 {
            return Err(ApiError::validation("deviceIds", "1 to 1000 devices").into());
        }
        if input.from >= input.to {
            return Err(ApiError::validation("to", "must be after from").into());
        }
        if input.to - input.from > chrono::Duration::days(3 * 366) {
            return Err(ApiError::validation("to", "at most three years after from").into());
        }
        let ids = input
            .device_ids
            .iter()
            .enumerate()
            .map(|(i, id)| parse_id(&format!("deviceIds[{i}]"), id))
            .collect::<Result<Vec<_>, _>>()?;
        let state = state(ctx);
        let mut conn = conn(ctx).await?;
        let done = crate::reinterpret::reinterpret(
            &mut conn,
            state.ingestor.profiles(),
            Some(&actor.scope),
            &ids,
            input.from,
            input.to,
        )
        .await
        .map_err(|e| ApiError::from_db("device", e))?;
        for id in &ids {
            if let Ok(device) = Device::find(&mut conn, &actor.scope, *id).await {
                let event = Event::new(Entity::Device, crate::events::ChangeKind::Updated, device.tenant_id, device.id)
                    .at_site(device.site_id);
                let _ = crate::events::publish(&mut conn, &event).await;
            }
        }
        tracing::info!(devices = done.devices, readings = done.readings, "devices reinterpreted");
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        Ok(ReinterpretResult {
            devices: count(done.devices),
            readings: count(done.readings),
            counters_removed: count(done.counters_removed),
            counters_written: count(done.counters_written),
            errors: done.errors,
        })
    }
}

#[derive(Default)]
pub struct DeviceSubscription;

/// The events of `entity` for the caller's tenants, optionally one site or device.
fn device_events(
    ctx: &Context<'_>,
    entity: Entity,
    site_id: Option<ID>,
    device_id: Option<ID>,
) -> async_graphql::Result<impl Stream<Item = DeviceChange> + use<>> {
    let actor = actor(ctx)?.clone();
    let site = site_id.as_ref().map(|s| parse_id("siteId", s)).transpose()?;
    let device = device_id.as_ref().map(|d| parse_id("deviceId", d)).transpose()?;
    let state = state(ctx).clone();
    let scope = actor.scope.clone();
    Ok(state
        .events
        .subscribe_shared()
        .filter(move |delivered| {
            let event = &delivered.event;
            let wanted = event.entity == entity
                && scope.contains(event.tenant_id)
                && site.is_none_or(|s| event.site_id == Some(s))
                && device.is_none_or(|d| event.id == d);
            std::future::ready(wanted)
        })
        .then(move |delivered| {
            let state = state.clone();
            let scope = actor.scope.clone();
            async move {
                let event = &delivered.event;
                // Loaded once for every subscriber of this replica, then checked against
                // this subscriber's scope.
                let device = delivered.device(&state.pool).await.filter(|d| scope.contains(d.tenant_id)).cloned();
                DeviceChange {
                    device_id: ID(event.id.to_string()),
                    site_id: event.site_id.map(|s| ID(s.to_string())),
                    device: device.map(DeviceNode),
                }
            }
        }))
}

#[Subscription]
impl DeviceSubscription {
    /// A device was found or changed (identity, status, counters), in your tenants, one site
    /// or one device; from any api replica.
    async fn device_updated(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
        device_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = DeviceChange> + use<>> {
        device_events(ctx, Entity::Device, site_id, device_id)
    }

    /// A device's alerts opened or cleared.
    async fn alert_changed(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
        device_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = DeviceChange> + use<>> {
        device_events(ctx, Entity::Alert, site_id, device_id)
    }

    /// A device's supplies changed.
    async fn supply_changed(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
        device_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = DeviceChange> + use<>> {
        device_events(ctx, Entity::Supply, site_id, device_id)
    }

    /// An agent connected, disconnected, was revoked or reconfigured, in your tenants (or one
    /// site).
    async fn agent_status_changed(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = AgentStatusChange> + use<>> {
        let actor = actor(ctx)?.clone();
        let site = site_id.as_ref().map(|s| parse_id("siteId", s)).transpose()?;
        let state = state(ctx).clone();
        let scope = actor.scope.clone();
        Ok(state
            .events
            .subscribe()
            .filter(move |event: &Event| {
                let wanted = event.entity == Entity::Agent
                    && scope.contains(event.tenant_id)
                    && site.is_none_or(|s| event.site_id == Some(s));
                std::future::ready(wanted)
            })
            .then(move |event| {
                let state = state.clone();
                let scope = actor.scope.clone();
                async move {
                    let agent = match state.pool.get().await {
                        Ok(mut conn) => {
                            cartouche_schema::db::agents::Agent::find(&mut conn, &scope, event.id).await.ok()
                        }
                        Err(_) => None,
                    };
                    AgentStatusChange { agent_id: ID(event.id.to_string()), agent: agent.map(super::agents::AgentNode) }
                }
            }))
    }
}
