//! Reinterpretation after a profile fix (admins).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use cartouche_schema::db::fleet::Device;
use chrono::{DateTime, Utc};

use crate::error::ApiError;
use crate::events::{Entity, Event};
use crate::graphql::{actor, conn, parse_id, state};

#[derive(InputObject)]
pub struct ReinterpretInput {
    /// 1 to 1,000 devices.
    pub device_ids: Vec<ID>,
    pub from: DateTime<Utc>,
    /// Excluded; at most three years after `from`.
    pub to: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct ReinterpretResult {
    pub devices: i32,
    /// Raw readings interpreted again.
    pub readings: i32,
    pub counters_removed: i32,
    pub counters_written: i32,
    /// Readings that still cannot be interpreted (kept raw), with the reason.
    pub errors: Vec<String>,
}

#[derive(Default)]
pub struct DeviceMutation;

#[Object]
impl DeviceMutation {
    /// After a profile fix: interprets again the raw readings of these devices over
    /// [from, to) and rewrites their counter readings, and what each device is from its latest
    /// full reading. Admins only.
    async fn reinterpret_devices(
        &self,
        ctx: &Context<'_>,
        input: ReinterpretInput,
    ) -> async_graphql::Result<ReinterpretResult> {
        let actor = actor(ctx)?;
        actor.require(cartouche_schema::domain::Role::Admin, "reinterpreting readings")?;
        if input.device_ids.is_empty() || input.device_ids.len() > 1000 {
            return Err(ApiError::validation("deviceIds", "1 to 1000 devices").into());
        }
        if input.from >= input.to {
            return Err(ApiError::validation("to", "must be after from").into());
        }
        if input.to - input.from > chrono::Duration::days(3 * 366) {
            return Err(ApiError::validation("to", "at most three years after from").into());
        }
        let ids = input
            .device_ids
            .iter()
            .enumerate()
            .map(|(i, id)| parse_id(&format!("deviceIds[{i}]"), id))
            .collect::<Result<Vec<_>, _>>()?;
        let state = state(ctx);
        let mut conn = conn(ctx).await?;
        let done = crate::reinterpret::reinterpret(
            &mut conn,
            state.ingestor.profiles(),
            Some(&actor.scope),
            &ids,
            input.from,
            input.to,
        )
        .await
        .map_err(|e| ApiError::from_db("device", e))?;
        for id in &ids {
            if let Ok(device) = Device::find(&mut conn, &actor.scope, *id).await {
                let event = Event::new(Entity::Device, crate::events::ChangeKind::Updated, device.tenant_id, device.id)
                    .at_site(device.site_id);
                let _ = crate::events::publish(&mut conn, &event).await;
            }
        }
        tracing::info!(devices = done.devices, readings = done.readings, "devices reinterpreted");
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        Ok(ReinterpretResult {
            devices: count(done.devices),
            readings: count(done.readings),
            counters_removed: count(done.counters_removed),
            counters_written: count(done.counters_written),
            errors: done.errors,
        })
    }
}
