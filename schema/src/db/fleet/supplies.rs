//! A device's supplies: their current state and what happened to them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::Interpreted;
use crate::db::schema::{supplies, supply_events};
use crate::fleet::{self, KnownSupply};
use crate::profiles::snapshot::{CounterKind, Supply};

#[derive(Queryable, Clone)]
struct Stored {
    device_id: Uuid,
    index: i32,
    serial: Option<String>,
    percent: Option<f64>,
    receptacle: bool,
    installed_at: Option<DateTime<Utc>>,
    level_at_install: Option<f64>,
}

/// A supply row to write: the key, then what the reading said and when it was installed.
struct Row<'a> {
    input: &'a Interpreted<'a>,
    supply: &'a Supply,
    installed_at: Option<DateTime<Utc>>,
    level_at_install: Option<f64>,
}

/// A level that changed, with the device's total page counter in the same reading.
struct Level {
    device_id: Uuid,
    tenant_id: Uuid,
    index: i32,
    at: DateTime<Utc>,
    percent: f64,
    total: Option<i64>,
}

/// Stores the supplies of readings (device, created by this reading, reading), given in the
/// order they were read, and what happened to them; per reading, true when anything changed.
pub(super) async fn store_supplies<'a>(
    conn: &mut AsyncPgConnection,
    items: &[(Uuid, bool, &'a Interpreted<'a>)],
) -> QueryResult<Vec<bool>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = items.iter().map(|(id, _, _)| *id).collect();
    let stored: Vec<Stored> = supplies::table
        .filter(supplies::device_id.eq_any(&ids))
        .select((
            supplies::device_id,
            supplies::supply_index,
            supplies::serial,
            supplies::percent,
            supplies::receptacle,
            supplies::installed_at,
            supplies::level_at_install,
        ))
        .load(conn)
        .await?;
    // Each device's supplies as the group goes.
    let mut state: HashMap<Uuid, Vec<Stored>> = HashMap::new();
    for supply in stored {
        state.entry(supply.device_id).or_default().push(supply);
    }
    let mut rows: BTreeMap<(Uuid, i32), Row<'a>> = BTreeMap::new();
    let mut removed: Vec<(Uuid, i32)> = Vec::new();
    let mut events = Vec::new();
    let mut levels: Vec<Level> = Vec::new();
    let mut changed = Vec::with_capacity(items.len());
    for &(device_id, created, input) in items {
        let now = &input.snapshot.supplies;
        let at = input.reading.read_at;
        let before = state.remove(&device_id).unwrap_or_default();
        let known: Vec<KnownSupply> = before
            .iter()
            .map(|s| KnownSupply {
                index: u32::try_from(s.index).unwrap_or(0),
                serial: s.serial.clone(),
                percent: s.percent,
                receptacle: s.receptacle,
            })
            .collect();
        let happened = fleet::supply_events(&known, now);
        let replaced: BTreeSet<u32> = happened
            .iter()
            .filter(|(_, e)| !matches!(e, fleet::SupplyEvent::Removed))
            .map(|(index, _)| *index)
            .collect();
        let mut after: Vec<Stored> = Vec::with_capacity(now.len());
        for supply in now {
            let index = i32::try_from(supply.index).unwrap_or(i32::MAX);
            if after.iter().any(|s| s.index == index) {
                continue;
            }
            // Installed now when replaced; when first seen on a device read before, at this
            // reading (it came since); on a new device, unknown — and it stays unknown (a
            // supply already stored keeps what is known of it).
            let stored = before.iter().find(|s| s.index == index);
            if let Some(percent) = supply.percent
                && stored.is_none_or(|s| s.percent != Some(percent))
            {
                let total = input.snapshot.counters.iter().find(|c| c.kind == CounterKind::Total).map(|c| c.value);
                levels.push(Level { device_id, tenant_id: input.agent.tenant_id, index, at, percent, total });
            }
            let installed_at = if replaced.contains(&supply.index) {
                Some(at)
            } else {
                match stored {
                    Some(known) => known.installed_at,
                    None => (!created).then_some(at),
                }
            };
            // The level it started from: at a replacement the new one's; otherwise as kept (or,
            // first seen, the level now).
            let level_at_install = if replaced.contains(&supply.index) {
                supply.percent
            } else {
                stored.and_then(|s| s.level_at_install).or(supply.percent)
            };
            after.push(Stored {
                device_id,
                index,
                serial: supply.serial.clone(),
                percent: supply.percent,
                receptacle: supply.receptacle,
                installed_at,
                level_at_install,
            });
            rows.insert((device_id, index), Row { input, supply, installed_at, level_at_install });
        }
        for (index, event) in &happened {
            let index = i32::try_from(*index).unwrap_or(i32::MAX);
            if matches!(event, fleet::SupplyEvent::Removed) {
                rows.remove(&(device_id, index));
                removed.push((device_id, index));
            }
            let detail = match event {
                fleet::SupplyEvent::SerialChanged { from, to } => serde_json::json!({ "from": from, "to": to }),
                fleet::SupplyEvent::LevelJumpedUp { from, to } => serde_json::json!({ "from": from, "to": to }),
                _ => serde_json::json!({}),
            };
            events.push((
                supply_events::device_id.eq(device_id),
                supply_events::tenant_id.eq(input.agent.tenant_id),
                supply_events::supply_index.eq(index),
                supply_events::at.eq(at),
                supply_events::kind.eq(event.name()),
                supply_events::detail.eq(detail),
                supply_events::agent_id.eq(input.agent.id),
                supply_events::sequence.eq(input.sequence),
            ));
        }
        changed.push(!happened.is_empty() || !now.is_empty());
        state.insert(device_id, after);
    }
    if !levels.is_empty() {
        diesel::sql_query(
            "INSERT INTO supply_levels (device_id, tenant_id, supply_index, at, percent, total_pages) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::timestamptz[], $5::float8[], $6::int8[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind::<Array<SqlUuid>, _>(levels.iter().map(|l| l.device_id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(levels.iter().map(|l| l.tenant_id).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(levels.iter().map(|l| l.index).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(levels.iter().map(|l| l.at).collect::<Vec<_>>())
        .bind::<Array<Double>, _>(levels.iter().map(|l| l.percent).collect::<Vec<_>>())
        .bind::<Array<Nullable<BigInt>>, _>(levels.iter().map(|l| l.total).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    }
    if !removed.is_empty() {
        diesel::sql_query(
            "DELETE FROM supplies s USING unnest($1::uuid[], $2::int4[]) AS r(device_id, supply_index) \
             WHERE s.device_id = r.device_id AND s.supply_index = r.supply_index",
        )
        .bind::<Array<SqlUuid>, _>(removed.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(removed.iter().map(|(_, index)| *index).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    }
    if !rows.is_empty() {
        // One statement of fixed text (arrays, not a row of parameters per supply): prepared
        // once per connection.
        let rows: Vec<(&(Uuid, i32), &Row<'a>)> = rows.iter().collect();
        let text = |f: fn(&Supply) -> &Option<String>| -> Vec<Option<&str>> {
            rows.iter().map(|(_, row)| f(row.supply).as_deref()).collect()
        };
        diesel::sql_query(
            "INSERT INTO supplies (device_id, tenant_id, supply_index, kind, color, description, level, max_capacity, \
               percent, state, unit, receptacle, part_number, serial, remaining_pages, installed_at, read_at, agent_id, sequence, \
               level_at_install) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::int8[], \
               $8::int8[], $9::float8[], $10::text[], $11::text[], $12::bool[], $13::text[], $14::text[], $15::int8[], \
               $16::timestamptz[], $17::timestamptz[], $18::uuid[], $19::int8[], $20::float8[]) \
             ON CONFLICT (device_id, supply_index) DO UPDATE SET kind = excluded.kind, color = excluded.color, \
               description = excluded.description, level = excluded.level, max_capacity = excluded.max_capacity, \
               percent = excluded.percent, state = excluded.state, unit = excluded.unit, receptacle = excluded.receptacle, \
               part_number = excluded.part_number, serial = excluded.serial, remaining_pages = excluded.remaining_pages, \
               installed_at = excluded.installed_at, read_at = excluded.read_at, agent_id = excluded.agent_id, \
               sequence = excluded.sequence, level_at_install = excluded.level_at_install",
        )
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|((id, _), _)| *id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|(_, r)| r.input.agent.tenant_id).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(rows.iter().map(|((_, index), _)| *index).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|(_, r)| r.supply.kind.as_str()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(text(|s| &s.color))
        .bind::<Array<Nullable<Text>>, _>(text(|s| &s.description))
        .bind::<Array<Nullable<BigInt>>, _>(rows.iter().map(|(_, r)| r.supply.level).collect::<Vec<_>>())
        .bind::<Array<Nullable<BigInt>>, _>(rows.iter().map(|(_, r)| r.supply.max_capacity).collect::<Vec<_>>())
        .bind::<Array<Nullable<Double>>, _>(rows.iter().map(|(_, r)| r.supply.percent).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|(_, r)| r.supply.state.name()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(text(|s| &s.unit))
        .bind::<Array<Bool>, _>(rows.iter().map(|(_, r)| r.supply.receptacle).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(text(|s| &s.part_number))
        .bind::<Array<Nullable<Text>>, _>(text(|s| &s.serial))
        .bind::<Array<Nullable<BigInt>>, _>(rows.iter().map(|(_, r)| r.supply.remaining_pages).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamptz>>, _>(rows.iter().map(|(_, r)| r.installed_at).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(rows.iter().map(|(_, r)| r.input.reading.read_at).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|(_, r)| r.input.agent.id).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(rows.iter().map(|(_, r)| r.input.sequence).collect::<Vec<_>>())
        .bind::<Array<Nullable<Double>>, _>(rows.iter().map(|(_, r)| r.level_at_install).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    }
    if !events.is_empty() {
        diesel::insert_into(supply_events::table).values(events).execute(conn).await?;
    }
    Ok(changed)
}
