//! Supplies: a device's current ones, the fleet-wide view by level, and their history.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::page::{self, PageRequest};
use crate::db::schema::{devices, supplies, supply_events};
use crate::db::scope::Scope;

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
