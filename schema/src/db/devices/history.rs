//! Where a device was, and the raw batches behind any value (provenance).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{device_addresses, device_status_history, raw_batches};
use crate::db::scope::Scope;

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

/// A change of a device's status or of the error bits behind it.
#[derive(Queryable, Clone, Debug)]
pub struct StatusChange {
    pub at: DateTime<Utc>,
    pub status: String,
    pub errors: Vec<Option<String>>,
}

/// A device's status changes, newest first.
pub async fn status_history(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<StatusChange>> {
    device_status_history::table
        .filter(device_status_history::device_id.eq(device_id))
        .order_by(device_status_history::at.desc())
        .limit(limit)
        .select((device_status_history::at, device_status_history::status, device_status_history::errors))
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
