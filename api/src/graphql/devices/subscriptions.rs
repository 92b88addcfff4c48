//! Live changes of devices, their alerts and supplies, and agents' links.

use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt};

use crate::events::{Entity, Event};
use crate::graphql::{actor, parse_id, state};

use super::DeviceNode;

/// A device, its alerts or its supplies changed.
#[derive(SimpleObject)]
pub struct DeviceChange {
    pub device_id: ID,
    pub site_id: Option<ID>,
    /// The device as it is now (null if it is gone or out of your sight).
    pub device: Option<DeviceNode>,
}

/// An agent's link or settings changed.
#[derive(SimpleObject)]
pub struct AgentStatusChange {
    pub agent_id: ID,
    pub agent: Option<crate::graphql::agents::AgentNode>,
}

#[derive(Default)]
pub struct DeviceSubscription;

/// The events of `entity` for the caller's tenants, optionally one site or device.
fn device_events(
    ctx: &Context<'_>,
    entity: Entity,
    site_id: Option<ID>,
    device_id: Option<ID>,
) -> async_graphql::Result<impl Stream<Item = DeviceChange> + use<>> {
    let actor = actor(ctx)?.clone();
    let site = site_id.as_ref().map(|s| parse_id("siteId", s)).transpose()?;
    let device = device_id.as_ref().map(|d| parse_id("deviceId", d)).transpose()?;
    let state = state(ctx).clone();
    let scope = actor.scope.clone();
    Ok(state
        .events
        .subscribe_shared()
        .filter(move |delivered| {
            let event = &delivered.event;
            let wanted = event.entity == entity
                && scope.contains(event.tenant_id)
                && site.is_none_or(|s| event.site_id == Some(s))
                && device.is_none_or(|d| event.id == d);
            std::future::ready(wanted)
        })
        .then(move |delivered| {
            let state = state.clone();
            let scope = actor.scope.clone();
            async move {
                let event = &delivered.event;
                // Loaded once for every subscriber of this replica, then checked against
                // this subscriber's scope.
                let device = delivered.device(&state.pool).await.filter(|d| scope.contains(d.tenant_id)).cloned();
                DeviceChange {
                    device_id: ID(event.id.to_string()),
                    site_id: event.site_id.map(|s| ID(s.to_string())),
                    device: device.map(DeviceNode),
                }
            }
        }))
}

#[Subscription]
impl DeviceSubscription {
    /// A device was found or changed (identity, status, counters), in your tenants, one site
    /// or one device; from any api replica.
    async fn device_updated(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
        device_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = DeviceChange> + use<>> {
        device_events(ctx, Entity::Device, site_id, device_id)
    }

    /// A device's alerts opened or cleared.
    async fn alert_changed(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
        device_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = DeviceChange> + use<>> {
        device_events(ctx, Entity::Alert, site_id, device_id)
    }

    /// A device's supplies changed.
    async fn supply_changed(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
        device_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = DeviceChange> + use<>> {
        device_events(ctx, Entity::Supply, site_id, device_id)
    }

    /// An agent connected, disconnected, was revoked or reconfigured, in your tenants (or one
    /// site).
    async fn agent_status_changed(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = AgentStatusChange> + use<>> {
        let actor = actor(ctx)?.clone();
        let site = site_id.as_ref().map(|s| parse_id("siteId", s)).transpose()?;
        let state = state(ctx).clone();
        let scope = actor.scope.clone();
        Ok(state
            .events
            .subscribe()
            .filter(move |event: &Event| {
                let wanted = event.entity == Entity::Agent
                    && scope.contains(event.tenant_id)
                    && site.is_none_or(|s| event.site_id == Some(s));
                std::future::ready(wanted)
            })
            .then(move |event| {
                let state = state.clone();
                let scope = actor.scope.clone();
                async move {
                    let agent = match state.pool.get().await {
                        Ok(mut conn) => {
                            cartouche_schema::db::agents::Agent::find(&mut conn, &scope, event.id).await.ok()
                        }
                        Err(_) => None,
                    };
                    AgentStatusChange {
                        agent_id: ID(event.id.to_string()),
                        agent: agent.map(crate::graphql::agents::AgentNode),
                    }
                }
            }))
    }
}
