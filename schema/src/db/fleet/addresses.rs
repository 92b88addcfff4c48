//! Where devices were: a stretch per (address, host name, agent, site), extended while a
//! device stays and started anew when it moves.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::identity::Step;
use crate::db::schema::device_addresses;

#[derive(QueryableByName, Clone, Debug)]
struct Stretch {
    #[diesel(sql_type = SqlUuid)]
    device_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    first_seen_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    last_seen_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    address: String,
    #[diesel(sql_type = Nullable<Text>)]
    host_name: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    agent_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    site_id: Option<Uuid>,
}

/// A device's latest stretch as the group leaves it.
struct Latest {
    stretch: Stretch,
    /// Already in the table (else inserted at the end).
    stored: bool,
    extended: bool,
}

/// Extends each device's current stretch, or starts a new one when it moved, for the steps in
/// the order they were read; a step older than the current stretch's start changes nothing.
pub(super) async fn track(conn: &mut AsyncPgConnection, agent_id: Uuid, steps: &[Step]) -> QueryResult<()> {
    let mut ids: Vec<Uuid> = steps.iter().map(|s| s.device_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let stored: Vec<Stretch> = diesel::sql_query(
        "SELECT DISTINCT ON (device_id) device_id, first_seen_at, last_seen_at, address, host_name, agent_id, site_id \
         FROM device_addresses WHERE device_id = ANY($1) ORDER BY device_id, first_seen_at DESC",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .load(conn)
    .await?;
    let mut latest: HashMap<Uuid, Latest> =
        stored.into_iter().map(|s| (s.device_id, Latest { stretch: s, stored: true, extended: false })).collect();
    let (mut extended, mut started) = (Vec::new(), Vec::new());
    let mut retire = |old: Latest| match old {
        Latest { stored: false, stretch, .. } => started.push(stretch),
        Latest { extended: true, stretch, .. } => extended.push(stretch),
        Latest { .. } => {}
    };
    for step in steps {
        let at = step.at;
        match latest.get_mut(&step.device_id) {
            Some(last)
                if last.stretch.address == step.address
                    && last.stretch.host_name == step.host_name
                    && last.stretch.agent_id == Some(agent_id)
                    && last.stretch.site_id == step.site_id =>
            {
                if at > last.stretch.last_seen_at {
                    last.stretch.last_seen_at = at;
                    last.extended = true;
                }
            }
            Some(last) if last.stretch.first_seen_at >= at => {}
            _ => {
                let new = Stretch {
                    device_id: step.device_id,
                    first_seen_at: at,
                    last_seen_at: at,
                    address: step.address.clone(),
                    host_name: step.host_name.clone(),
                    agent_id: Some(agent_id),
                    site_id: step.site_id,
                };
                if let Some(old) =
                    latest.insert(step.device_id, Latest { stretch: new, stored: false, extended: false })
                {
                    retire(old);
                }
            }
        }
    }
    latest.into_values().for_each(&mut retire);
    if !extended.is_empty() {
        diesel::sql_query(
            "UPDATE device_addresses d SET last_seen_at = greatest(d.last_seen_at, v.last_seen_at) \
             FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS v(device_id, first_seen_at, last_seen_at) \
             WHERE d.device_id = v.device_id AND d.first_seen_at = v.first_seen_at",
        )
        .bind::<Array<SqlUuid>, _>(extended.iter().map(|s| s.device_id).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(extended.iter().map(|s| s.first_seen_at).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(extended.iter().map(|s| s.last_seen_at).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    }
    if !started.is_empty() {
        let rows: Vec<_> = started
            .iter()
            .map(|s| {
                (
                    device_addresses::device_id.eq(s.device_id),
                    device_addresses::address.eq(&s.address),
                    device_addresses::host_name.eq(&s.host_name),
                    device_addresses::agent_id.eq(s.agent_id),
                    device_addresses::site_id.eq(s.site_id),
                    device_addresses::first_seen_at.eq(s.first_seen_at),
                    device_addresses::last_seen_at.eq(s.last_seen_at),
                )
            })
            .collect();
        diesel::insert_into(device_addresses::table).values(rows).on_conflict_do_nothing().execute(conn).await?;
    }
    Ok(())
}
