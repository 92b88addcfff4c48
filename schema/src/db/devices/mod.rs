//! Reading the fleet: devices by filter in keyset pages, and what the API shows of each
//! (latest counters, counter series, supplies with their events, alerts, address history), and
//! the fleet-wide supplies and alerts views. Every query keeps to the caller's scope; the
//! batch queries behind DataLoaders take ids of rows already read through a scope.

use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::fleet::Device;
use crate::db::page::{self, PageRequest};
use crate::db::schema::devices;
use crate::db::scope::Scope;

mod alerts;
mod counters;
mod history;
mod summary;
mod supplies;

pub use alerts::{AlertFilter, AlertRow, alerts_page};
pub use counters::{CounterPoint, Granularity, LatestCounter, Series, counter_series, latest_counters};
pub use history::{AddressStretch, RawBatch, StatusChange, addresses_of, raw_batch, status_history};
pub use summary::{FleetSummary, fleet_summary};
pub use supplies::{SupplyEventRow, SupplyFilter, SupplyRow, supplies_of, supplies_page, supply_events_of};

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
            query = query.filter(page::lower(devices::vendor.assume_not_null()).eq(vendor.to_lowercase()));
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
