//! Where a device was, and the raw batches behind any value (provenance).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{device_addresses, raw_batches};
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
