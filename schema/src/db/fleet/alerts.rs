//! Devices' alerts: opened when first reported, ended when no longer.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::Interpreted;
use crate::db::schema::alerts;
use crate::fleet;
use crate::profiles::snapshot::Alert;

/// An alert open while the group goes: stored before it, or opened by one of its readings
/// (the index of the row to insert).
#[derive(Clone, Copy)]
enum Open {
    Stored,
    New(usize),
}

/// A row to insert.
struct Opened<'a> {
    device_id: Uuid,
    key: String,
    alert: &'a Alert,
    input: &'a Interpreted<'a>,
    ended_at: Option<DateTime<Utc>>,
}

/// Opens the alerts not open yet and ends those no longer reported, for readings (device,
/// reading) given in the order they were read; per reading, true when any changed.
pub(super) async fn store_alerts<'a>(
    conn: &mut AsyncPgConnection,
    items: &[(Uuid, &'a Interpreted<'a>)],
) -> QueryResult<Vec<bool>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = items.iter().map(|(id, _)| *id).collect();
    let stored: Vec<(Uuid, String)> = alerts::table
        .filter(alerts::device_id.eq_any(&ids))
        .filter(alerts::ended_at.is_null())
        .select((alerts::device_id, alerts::key))
        .load(conn)
        .await?;
    let mut open: HashMap<Uuid, BTreeMap<String, Open>> = HashMap::new();
    for (device_id, key) in stored {
        open.entry(device_id).or_default().insert(key, Open::Stored);
    }
    let mut opened: Vec<Opened<'a>> = Vec::new();
    let mut ended: Vec<(Uuid, String, DateTime<Utc>)> = Vec::new();
    let mut changed = Vec::with_capacity(items.len());
    for &(device_id, input) in items {
        let at = input.reading.read_at;
        let mut now: BTreeMap<String, &'a Alert> = BTreeMap::new();
        for alert in &input.snapshot.alerts {
            now.entry(fleet::alert_key(alert)).or_insert(alert);
        }
        let device = open.entry(device_id).or_default();
        let before = device.len();
        let mut any = false;
        device.retain(|key, state| {
            if now.contains_key(key) {
                return true;
            }
            match *state {
                Open::Stored => ended.push((device_id, key.clone(), at)),
                Open::New(row) => opened[row].ended_at = Some(at),
            }
            false
        });
        any |= device.len() != before;
        for (key, alert) in now {
            if device.contains_key(&key) {
                continue;
            }
            any = true;
            device.insert(key.clone(), Open::New(opened.len()));
            opened.push(Opened { device_id, key, alert, input, ended_at: None });
        }
        changed.push(any);
    }
    // Ended first: an alert that ended and came back in the group is a new row beside it.
    if !ended.is_empty() {
        diesel::sql_query(
            "UPDATE alerts a SET ended_at = e.ended_at \
             FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS e(device_id, key, ended_at) \
             WHERE a.device_id = e.device_id AND a.key = e.key AND a.ended_at IS NULL",
        )
        .bind::<Array<SqlUuid>, _>(ended.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(ended.iter().map(|(_, key, _)| key.as_str()).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(ended.iter().map(|(_, _, at)| *at).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    }
    if !opened.is_empty() {
        let rows: Vec<_> = opened
            .iter()
            .map(|o| {
                (
                    alerts::device_id.eq(o.device_id),
                    alerts::tenant_id.eq(o.input.agent.tenant_id),
                    alerts::key.eq(&o.key),
                    alerts::code.eq(o.alert.code),
                    alerts::severity.eq(&o.alert.severity),
                    alerts::fault_type.eq(&o.alert.fault_type),
                    alerts::description.eq(&o.alert.description),
                    alerts::training_level.eq(&o.alert.training_level),
                    alerts::started_at.eq(o.input.reading.read_at),
                    alerts::ended_at.eq(o.ended_at),
                    alerts::agent_id.eq(o.input.agent.id),
                    alerts::sequence.eq(o.input.sequence),
                )
            })
            .collect();
        diesel::insert_into(alerts::table).values(rows).execute(conn).await?;
    }
    Ok(changed)
}
