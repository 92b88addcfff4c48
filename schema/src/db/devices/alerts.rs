//! Alerts, a device's or the fleet's, newest first.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::page::{self, PageRequest};
use crate::db::schema::{alerts, devices};
use crate::db::scope::Scope;

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
    /// Who the device says must clear it (untrained, trained, field_service, …).
    pub training_level: Option<String>,
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
