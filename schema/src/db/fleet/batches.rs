//! Raw batches as ingestion and reinterpretation take them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{device_addresses, raw_batches};

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

/// A stored batch waiting for interpretation.
#[derive(Queryable, Debug)]
pub struct PendingBatch {
    pub agent_id: Uuid,
    pub sequence: i64,
    pub tenant_id: Uuid,
    pub readings: serde_json::Value,
}

/// Locks a batch not interpreted yet; false when it is done or another process has it.
pub async fn lock_batch(conn: &mut AsyncPgConnection, agent_id: Uuid, sequence: i64) -> QueryResult<bool> {
    raw_batches::table
        .find((agent_id, sequence))
        .filter(raw_batches::interpreted_at.is_null())
        .select(raw_batches::sequence)
        .for_update()
        .skip_locked()
        .first::<i64>(conn)
        .await
        .optional()
        .map(|found| found.is_some())
}

/// The readings of a stored batch.
pub async fn batch_readings(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
    sequence: i64,
) -> QueryResult<serde_json::Value> {
    raw_batches::table.find((agent_id, sequence)).select(raw_batches::readings).first(conn).await
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
