//! Agents' settings and "run now" orders.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use cartouche_schema::db::agent_config::{AgentCommandRow, DiscoveryRangeRow};
use cartouche_schema::db::agents::Agent;
use cartouche_schema::domain::{DisplayName, Role};
use cartouche_schema::wire::Cycle;
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::error::ApiError;
use crate::events::{ChangeKind, Entity, Event};
use crate::graphql::agents::AgentNode;
use crate::graphql::{actor, conn, parse_id};

use super::schedules::CycleKind;

/// How long a "run now" order waits for its agent to connect.
const RUN_NOW_TTL_MINUTES: i64 = 60;

pub struct AgentCommandNode(pub AgentCommandRow);

/// A "run now" order: delivered when its agent is (or next gets) connected, dropped when it
/// expires first.
#[Object(name = "AgentCommand")]
impl AgentCommandNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn agent_id(&self) -> ID {
        ID(self.0.agent_id.to_string())
    }
    async fn cycle(&self) -> Option<CycleKind> {
        Cycle::from_name(&self.0.cycle).map(Into::into)
    }
    async fn range_id(&self) -> Option<ID> {
        self.0.range_id.map(|r| ID(r.to_string()))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// When the agent was sent it; null while it waits.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

#[derive(InputObject)]
pub struct ConfigureAgentInput {
    pub name: Option<String>,
    /// Minutes between polls of local (USB) printers, 5 to 1440; null: poll them with the
    /// network counters; omitted: unchanged.
    pub usb_interval_minutes: MaybeUndefined<i32>,
}

#[derive(Default)]
pub struct CommandQuery;

#[Object]
impl CommandQuery {
    /// A "run now" order, to follow its delivery.
    async fn agent_command(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<AgentCommandNode> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let row = AgentCommandRow::find(&mut conn, &actor.scope, id)
            .await
            .map_err(|e| ApiError::from_db("agent command", e))?;
        Ok(AgentCommandNode(row))
    }
}

#[derive(Default)]
pub struct CommandMutation;

#[Object]
impl CommandMutation {
    /// Renames an agent or changes how often it polls local printers. Managers and admins.
    async fn configure_agent(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ConfigureAgentInput,
    ) -> async_graphql::Result<AgentNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "configuring an agent")?;
        let id = parse_id("id", &id)?;
        let name =
            input.name.as_deref().map(DisplayName::parse).transpose().map_err(|e| ApiError::validation("name", e))?;
        let usb = match input.usb_interval_minutes {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(m) if (5..=1440).contains(&m) => Some(Some(m)),
            MaybeUndefined::Value(m) => {
                return Err(ApiError::validation("usbIntervalMinutes", format!("5 to 1440 minutes, not {m}")).into());
            }
        };
        let mut conn = conn(ctx).await?;
        let agent = conn
            .transaction(async |conn| {
                let agent =
                    Agent::configure(conn, &actor.scope, id, name.as_ref().map(DisplayName::as_str), usb).await?;
                crate::events::publish(
                    conn,
                    &Event::new(Entity::Agent, ChangeKind::Updated, agent.tenant_id, agent.id),
                )
                .await?;
                Ok::<_, diesel::result::Error>(agent)
            })
            .await
            .map_err(|e| ApiError::from_db("agent", e))?;
        Ok(AgentNode(agent))
    }

    /// Asks an agent to run a cycle now (all its ranges, or one). Technicians and up. The
    /// order waits up to an hour for the agent to be connected.
    async fn run_cycle(
        &self,
        ctx: &Context<'_>,
        agent_id: ID,
        cycle: CycleKind,
        range_id: Option<ID>,
    ) -> async_graphql::Result<AgentCommandNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Technician, "running a cycle")?;
        let agent_id = parse_id("agentId", &agent_id)?;
        let mut conn = conn(ctx).await?;
        let agent = Agent::find(&mut conn, &actor.scope, agent_id).await.map_err(|e| ApiError::from_db("agent", e))?;
        if agent.revoked_at.is_some() {
            return Err(ApiError::validation("agentId", "the agent is revoked").into());
        }
        let range = match &range_id {
            Some(id) => {
                let range = DiscoveryRangeRow::find(&mut conn, &actor.scope, parse_id("rangeId", id)?)
                    .await
                    .map_err(|e| ApiError::from_db("discovery range", e))?;
                let scanned = DiscoveryRangeRow::for_agent(&mut conn, &agent)
                    .await
                    .map_err(|e| ApiError::from_db("discovery range", e))?;
                if !scanned.iter().any(|(r, _)| r.id == range.id) {
                    return Err(ApiError::validation("rangeId", "this agent does not scan that range").into());
                }
                Some(range.id)
            }
            None => None,
        };
        let cycle: Cycle = cycle.into();
        let expires = Utc::now() + chrono::Duration::minutes(RUN_NOW_TTL_MINUTES);
        let row = conn
            .transaction(async |conn| {
                let row = AgentCommandRow::create(conn, &agent, cycle.name(), range, actor.user_id(), expires).await?;
                crate::events::publish(
                    conn,
                    &Event::new(Entity::AgentCommand, ChangeKind::Created, agent.tenant_id, agent.id),
                )
                .await?;
                Ok::<_, diesel::result::Error>(row)
            })
            .await
            .map_err(|e| ApiError::from_db("agent command", e))?;
        tracing::info!(agent.id = %agent.id, cycle = cycle.name(), "run-now ordered");
        Ok(AgentCommandNode(row))
    }
}
