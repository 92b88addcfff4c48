//! The fleet in GraphQL: devices (filtered and paged in SQL), each with its latest counters,
//! counter series, supplies and their history, alerts and address history, and the raw
//! reading behind any value; fleet-wide supplies and alerts; live changes by subscription.

mod kinds;
mod loader;
mod reinterpret;
mod subscriptions;
mod summary;
mod values;

use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, InputObject, Object};
use cartouche_schema::db::Keyset;
use cartouche_schema::db::devices::{
    self as queries, AlertFilter, DeviceFilter, DeviceOrder, Granularity, SupplyFilter,
};
use cartouche_schema::db::fleet::Device;
use cartouche_schema::db::sites::Site;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::graphql::connection::{connection, page_request};
use crate::graphql::{actor, conn, parse_id};

pub use kinds::{DeviceKind, DeviceOrderBy, DeviceStatus};
pub use loader::{DeviceById, FleetLoader, LatestCountersOf, SuppliesOf};
pub use reinterpret::DeviceMutation;
pub use subscriptions::DeviceSubscription;
pub use summary::FleetSummaryNode;
pub use values::FaultInfo;
use values::{
    AlertNode, CounterGranularity, CounterPointNode, CounterValue, DeviceAddress, StatusChangeNode, StatusError,
    SupplyEventNode, SupplyNode,
};

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
    /// The error bits behind its status (hrPrinterDetectedErrorState), decoded, each with
    /// the fault it means and who can fix it.
    async fn status_errors(&self, ctx: &Context<'_>) -> Vec<StatusError> {
        let catalogue = &crate::graphql::state(ctx).ingestor.profiles().catalogue;
        self.0
            .status_errors
            .iter()
            .flatten()
            .map(|bit| StatusError { bit: bit.clone(), fault: FaultInfo::of(catalogue.for_error_bit(bit), None) })
            .collect()
    }
    /// Its pages per hour, day or month from `from` to `to` (local dates of its site, `to`
    /// excluded): billable, and held for review with the readings as evidence. Days and
    /// months are as the accounting worker last counted them (within a minute of a reading);
    /// hours are computed from the readings when asked (up to 31 days).
    async fn page_counts(
        &self,
        ctx: &Context<'_>,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        #[graphql(default)] granularity: crate::graphql::accounting::PageGranularity,
        kind: Option<String>,
    ) -> async_graphql::Result<Vec<crate::graphql::accounting::PagePeriod>> {
        crate::graphql::accounting::page_periods(ctx, &self.0, from, to, granularity, kind).await
    }
    /// Its status changes (and changes of the error bits behind it), newest first (1 to 200).
    async fn status_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> async_graphql::Result<Vec<StatusChangeNode>> {
        if !(1..=200).contains(&first) {
            return Err(ApiError::validation("first", "1 to 200").into());
        }
        let mut conn = conn(ctx).await?;
        let rows = queries::status_history(&mut conn, self.0.id, i64::from(first))
            .await
            .map_err(|e| ApiError::from_db("device", e))?;
        Ok(rows
            .into_iter()
            .map(|r| StatusChangeNode {
                at: r.at,
                status: DeviceStatus::of(&r.status),
                errors: r.errors.into_iter().flatten().collect(),
            })
            .collect())
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

pub(crate) async fn load_device(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<DeviceNode>> {
    let loader = ctx.data_unchecked::<DataLoader<FleetLoader>>();
    Ok(loader.load_one(DeviceById(id)).await.map_err(|e| (*e).clone())?.map(DeviceNode))
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
        #[graphql(default)] order_by: DeviceOrderBy,
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
        let order = order_by.into();
        if request.after.as_ref().is_some_and(|after| !DeviceOrder::accepts(order, &after.key)) {
            return Err(ApiError::validation("after", "this cursor is of another order; start again without it").into());
        }
        let mut conn = conn(ctx).await?;
        let (rows, more) = Device::page(&mut conn, &actor.scope, &filter, order, &request)
            .await
            .map_err(|e| ApiError::from_db("device", e))?;
        Ok(connection(
            rows,
            more,
            request.after.is_some(),
            |(d, key)| Keyset { key: order.key(d, key), id: d.id },
            |(d, _)| DeviceNode(d),
        ))
    }

    /// The fleet at a glance (on one site when `siteId` is given): devices by status, open
    /// alerts, supplies below `lowSupplyPercent` (0 to 100, 10 when not given), agents and
    /// how many are linked.
    async fn fleet_summary(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
        low_supply_percent: Option<f64>,
    ) -> async_graphql::Result<FleetSummaryNode> {
        let actor = actor(ctx)?;
        let low_supply_percent = low_supply_percent.unwrap_or(10.0);
        if !(0.0..=100.0).contains(&low_supply_percent) {
            return Err(ApiError::validation("lowSupplyPercent", "0 to 100").into());
        }
        let site = site_id.as_ref().map(|s| parse_id("siteId", s)).transpose()?;
        let mut conn = conn(ctx).await?;
        if let Some(site) = site {
            Site::find(&mut conn, &actor.scope, site).await.map_err(|e| ApiError::from_db("site", e))?;
        }
        let summary = queries::fleet_summary(&mut conn, &actor.scope, site, low_supply_percent)
            .await
            .map_err(|e| ApiError::from_db("fleet", e))?;
        Ok(FleetSummaryNode(summary))
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
