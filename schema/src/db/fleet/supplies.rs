//! A device's supplies: their current state and what happened to them.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::Interpreted;
use crate::db::schema::{supplies, supply_events};
use crate::fleet::{self, KnownSupply};

/// Stores the supplies and their events; true when anything changed.
pub(super) async fn store_supplies(
    conn: &mut AsyncPgConnection,
    input: &Interpreted<'_>,
    device_id: Uuid,
    created: bool,
) -> QueryResult<bool> {
    let now = &input.snapshot.supplies;
    let at = input.reading.read_at;
    #[derive(Queryable)]
    struct Stored {
        index: i32,
        serial: Option<String>,
        percent: Option<f64>,
        receptacle: bool,
        installed_at: Option<DateTime<Utc>>,
    }
    let stored: Vec<Stored> = supplies::table
        .filter(supplies::device_id.eq(device_id))
        .select((
            supplies::supply_index,
            supplies::serial,
            supplies::percent,
            supplies::receptacle,
            supplies::installed_at,
        ))
        .load(conn)
        .await?;
    let known: Vec<KnownSupply> = stored
        .iter()
        .map(|s| KnownSupply {
            index: u32::try_from(s.index).unwrap_or(0),
            serial: s.serial.clone(),
            percent: s.percent,
            receptacle: s.receptacle,
        })
        .collect();
    let events = fleet::supply_events(&known, now);
    let replaced: BTreeSet<u32> =
        events.iter().filter(|(_, e)| !matches!(e, fleet::SupplyEvent::Removed)).map(|(index, _)| *index).collect();
    // One statement for all of them (a device has up to a dozen supplies).
    let mut seen = BTreeSet::new();
    let mut rows = Vec::with_capacity(now.len());
    for supply in now {
        let index = i32::try_from(supply.index).unwrap_or(i32::MAX);
        if !seen.insert(index) {
            continue;
        }
        let installed_at = if replaced.contains(&supply.index) {
            Some(at)
        } else {
            stored.iter().find(|s| s.index == index).and_then(|s| s.installed_at).or(if created {
                None
            } else {
                Some(at)
            })
        };
        rows.push((
            supplies::device_id.eq(device_id),
            supplies::tenant_id.eq(input.agent.tenant_id),
            supplies::supply_index.eq(index),
            supplies::kind.eq(&supply.kind),
            supplies::color.eq(&supply.color),
            supplies::description.eq(&supply.description),
            supplies::level.eq(supply.level),
            supplies::max_capacity.eq(supply.max_capacity),
            supplies::percent.eq(supply.percent),
            supplies::state.eq(serde_json::to_value(supply.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()),
            supplies::unit.eq(&supply.unit),
            supplies::receptacle.eq(supply.receptacle),
            supplies::part_number.eq(&supply.part_number),
            supplies::serial.eq(&supply.serial),
            supplies::remaining_pages.eq(supply.remaining_pages),
            supplies::installed_at.eq(installed_at),
            supplies::read_at.eq(at),
            supplies::agent_id.eq(input.agent.id),
            supplies::sequence.eq(input.sequence),
        ));
    }
    if !rows.is_empty() {
        use diesel::upsert::excluded;
        diesel::insert_into(supplies::table)
            .values(rows)
            .on_conflict((supplies::device_id, supplies::supply_index))
            .do_update()
            .set((
                supplies::kind.eq(excluded(supplies::kind)),
                supplies::color.eq(excluded(supplies::color)),
                supplies::description.eq(excluded(supplies::description)),
                supplies::level.eq(excluded(supplies::level)),
                supplies::max_capacity.eq(excluded(supplies::max_capacity)),
                supplies::percent.eq(excluded(supplies::percent)),
                supplies::state.eq(excluded(supplies::state)),
                supplies::unit.eq(excluded(supplies::unit)),
                supplies::receptacle.eq(excluded(supplies::receptacle)),
                supplies::part_number.eq(excluded(supplies::part_number)),
                supplies::serial.eq(excluded(supplies::serial)),
                supplies::remaining_pages.eq(excluded(supplies::remaining_pages)),
                supplies::installed_at.eq(excluded(supplies::installed_at)),
                supplies::read_at.eq(excluded(supplies::read_at)),
                supplies::agent_id.eq(excluded(supplies::agent_id)),
                supplies::sequence.eq(excluded(supplies::sequence)),
            ))
            .execute(conn)
            .await?;
    }
    for (index, event) in &events {
        if matches!(event, fleet::SupplyEvent::Removed) {
            diesel::delete(supplies::table.find((device_id, i32::try_from(*index).unwrap_or(i32::MAX))))
                .execute(conn)
                .await?;
        }
        let detail = match event {
            fleet::SupplyEvent::SerialChanged { from, to } => serde_json::json!({ "from": from, "to": to }),
            fleet::SupplyEvent::LevelJumpedUp { from, to } => serde_json::json!({ "from": from, "to": to }),
            _ => serde_json::json!({}),
        };
        diesel::insert_into(supply_events::table)
            .values((
                supply_events::device_id.eq(device_id),
                supply_events::tenant_id.eq(input.agent.tenant_id),
                supply_events::supply_index.eq(i32::try_from(*index).unwrap_or(i32::MAX)),
                supply_events::at.eq(at),
                supply_events::kind.eq(event.name()),
                supply_events::detail.eq(detail),
                supply_events::agent_id.eq(input.agent.id),
                supply_events::sequence.eq(input.sequence),
            ))
            .execute(conn)
            .await?;
    }
    Ok(!events.is_empty() || !now.is_empty())
}
