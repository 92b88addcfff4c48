//! A device's alerts: opened when first reported, ended when no longer.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::Interpreted;
use crate::db::schema::alerts;
use crate::fleet;

/// Opens the alerts not open yet and closes those no longer reported; true when any changed.
pub(super) async fn store_alerts(
    conn: &mut AsyncPgConnection,
    input: &Interpreted<'_>,
    device_id: Uuid,
) -> QueryResult<bool> {
    let at = input.reading.read_at;
    let open: Vec<String> = alerts::table
        .filter(alerts::device_id.eq(device_id))
        .filter(alerts::ended_at.is_null())
        .select(alerts::key)
        .load(conn)
        .await?;
    let mut now: BTreeMap<String, &crate::profiles::snapshot::Alert> = BTreeMap::new();
    for alert in &input.snapshot.alerts {
        now.entry(fleet::alert_key(alert)).or_insert(alert);
    }
    let mut changed = false;
    for (key, alert) in &now {
        if open.contains(key) {
            continue;
        }
        changed = true;
        diesel::insert_into(alerts::table)
            .values((
                alerts::device_id.eq(device_id),
                alerts::tenant_id.eq(input.agent.tenant_id),
                alerts::key.eq(key),
                alerts::code.eq(alert.code),
                alerts::severity.eq(&alert.severity),
                alerts::fault_type.eq(&alert.fault_type),
                alerts::description.eq(&alert.description),
                alerts::started_at.eq(at),
                alerts::agent_id.eq(input.agent.id),
                alerts::sequence.eq(input.sequence),
            ))
            .execute(conn)
            .await?;
    }
    let cleared: Vec<&String> = open.iter().filter(|key| !now.contains_key(*key)).collect();
    if !cleared.is_empty() {
        changed = true;
        diesel::update(
            alerts::table
                .filter(alerts::device_id.eq(device_id))
                .filter(alerts::ended_at.is_null())
                .filter(alerts::key.eq_any(cleared)),
        )
        .set(alerts::ended_at.eq(at))
        .execute(conn)
        .await?;
    }
    Ok(changed)
}
