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

/// The orders the device list offers. Each has its index (migration 10) and its own cursor
/// form, so a cursor of one order is refused by another.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceOrder {
    /// Vendor, model, address.
    #[default]
    Name,
    /// Longest unseen first: the devices that went quiet.
    LastSeen,
    /// Worst status first (error, offline, warning, asleep, unknown, ok), then by name.
    Status,
}

/// Statuses, worst first: their rank in the `Status` order.
pub const STATUS_RANKS: [&str; 6] = ["error", "offline", "warning", "asleep", "unknown", "ok"];

/// The rank of a status word (an unknown word ranks with `unknown`).
pub fn status_rank(status: &str) -> usize {
    STATUS_RANKS.iter().position(|s| *s == status).unwrap_or(4)
}

/// The SQL of [`status_rank`], as the index of migration 10 spells it (the planner matches
/// the two textually).
pub fn status_rank_sql() -> String {
    let cases: String = STATUS_RANKS.iter().enumerate().map(|(i, s)| format!(" WHEN '{s}' THEN {i}")).collect();
    format!("(CASE devices.status{cases} ELSE 4 END)")
}

impl DeviceOrder {
    /// Whether a cursor key was made by this order.
    pub fn accepts(self, key: &str) -> bool {
        match self {
            DeviceOrder::Name => !key.starts_with("l:") && !key.starts_with("s:"),
            DeviceOrder::LastSeen => {
                key.strip_prefix("l:").is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
            }
            DeviceOrder::Status => key
                .strip_prefix("s:")
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(rank, _)| rank.parse::<u8>().is_ok()),
        }
    }

    /// The cursor key of a device in this order.
    pub fn key(self, device: &Device, sort_key: &str) -> String {
        match self {
            DeviceOrder::Name => sort_key.to_owned(),
            DeviceOrder::LastSeen => {
                format!("l:{}", device.last_seen_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            }
            DeviceOrder::Status => format!("s:{}:{sort_key}", status_rank(&device.status)),
        }
    }
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

    /// One page of visible devices in `order`, each with its cursor key. The caller checks the
    /// cursor with [`DeviceOrder::accepts`]; one of another order fails here as a
    /// deserialization error.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        filter: &DeviceFilter,
        order: DeviceOrder,
        request: &PageRequest,
    ) -> QueryResult<(Vec<(Device, String)>, bool)> {
        let mut query = devices::table
            .select((Device::as_select(), devices::sort_key.assume_not_null()))
            .limit(request.limit())
            .into_boxed();
        query = match order {
            DeviceOrder::Name => query.order_by((devices::sort_key, devices::id)),
            DeviceOrder::LastSeen => query.order_by((devices::last_seen_at, devices::id)),
            DeviceOrder::Status => query
                .order_by(diesel::dsl::sql::<diesel::sql_types::Integer>(&status_rank_sql()))
                .then_order_by((devices::sort_key, devices::id)),
        };
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
            let bad = || diesel::result::Error::DeserializationError("a cursor of another order".into());
            let id = after.id;
            query = match order {
                DeviceOrder::Name => query.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>("(devices.sort_key, devices.id) > (")
                        .bind::<Text, _>(after.key.clone())
                        .sql(", ")
                        .bind::<SqlUuid, _>(id)
                        .sql(")"),
                ),
                DeviceOrder::LastSeen => {
                    let at = after
                        .key
                        .strip_prefix("l:")
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .ok_or_else(bad)?
                        .with_timezone(&chrono::Utc);
                    query.filter(
                        diesel::dsl::sql::<diesel::sql_types::Bool>("(devices.last_seen_at, devices.id) > (")
                            .bind::<diesel::sql_types::Timestamptz, _>(at)
                            .sql(", ")
                            .bind::<SqlUuid, _>(id)
                            .sql(")"),
                    )
                }
                DeviceOrder::Status => {
                    let (rank, key) = after
                        .key
                        .strip_prefix("s:")
                        .and_then(|rest| rest.split_once(':'))
                        .and_then(|(rank, key)| Some((rank.parse::<i32>().ok()?, key.to_owned())))
                        .ok_or_else(bad)?;
                    query.filter(
                        diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                            "({}, devices.sort_key, devices.id) > (",
                            status_rank_sql()
                        ))
                        .bind::<diesel::sql_types::Integer, _>(rank)
                        .sql(", ")
                        .bind::<Text, _>(key)
                        .sql(", ")
                        .bind::<SqlUuid, _>(id)
                        .sql(")"),
                    )
                }
            };
        }
        Ok(page::finish(query.load(conn).await?, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_order_is_the_one_its_index_was_built_on() {
        let migration = include_str!("../../../../migrations/2026-11-28-000010_device_orders/up.sql");
        let expression = status_rank_sql().replace("devices.status", "status");
        assert!(migration.contains(&expression), "{expression}");
        assert_eq!(status_rank("error"), 0);
        assert_eq!(status_rank("ok"), 5);
        assert_eq!(status_rank("something new"), status_rank("unknown"));
    }

    #[test]
    fn cursors_are_refused_by_another_order() {
        let seen = "l:2026-11-28T10:00:00.000000Z";
        let status = "s:2:hp laserjet 10.0.0.1";
        assert!(DeviceOrder::LastSeen.accepts(seen) && !DeviceOrder::LastSeen.accepts(status));
        assert!(DeviceOrder::Status.accepts(status) && !DeviceOrder::Status.accepts("hp laserjet"));
        assert!(DeviceOrder::Name.accepts("hp laserjet") && !DeviceOrder::Name.accepts(seen));
    }
}
