//! Agents and their enrollment keys.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use cartouche_schema::db::Keyset;
use cartouche_schema::db::agents::{Agent, CycleReportRow, EnrollmentKey, NewEnrollmentKey};
use cartouche_schema::domain::{DisplayName, Role};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use super::connection::{connection, page_request};
use super::tenants::{TenantNode, load_tenant};
use super::{actor, conn, parse_id, visible_tenant};
use crate::auth::tokens;
use crate::error::ApiError;
use crate::events::{ChangeKind, Entity, Event};

pub const ENROLLMENT_PREFIX: &str = "cek_";

pub struct AgentNode(pub Agent);

#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AgentStatus {
    Connected,
    Disconnected,
    NeverConnected,
    Revoked,
}

#[Object(name = "Agent")]
impl AgentNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn version(&self) -> Option<&str> {
        self.0.version.as_deref()
    }
    async fn enrolled_at(&self) -> DateTime<Utc> {
        self.0.enrolled_at
    }
    async fn last_seen_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_seen_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Its link now: connected, disconnected, never connected, or revoked. An agent whose
    /// heartbeats stopped reaching the server for 150 s counts as disconnected.
    async fn status(&self) -> AgentStatus {
        match self.0.link_status(Utc::now()) {
            "connected" => AgentStatus::Connected,
            "never_connected" => AgentStatus::NeverConnected,
            "revoked" => AgentStatus::Revoked,
            _ => AgentStatus::Disconnected,
        }
    }
    async fn connected_at(&self) -> Option<DateTime<Utc>> {
        self.0.connected_at
    }
    async fn disconnected_at(&self) -> Option<DateTime<Utc>> {
        self.0.disconnected_at
    }
    async fn site_id(&self) -> Option<ID> {
        self.0.site_id.map(|s| ID(s.to_string()))
    }
    /// Minutes between polls of local (USB) printers; null: with the network counters.
    async fn usb_interval_minutes(&self) -> Option<i32> {
        self.0.usb_interval_minutes
    }
    /// The discovery ranges this agent scans (assigned to it, or its site's unassigned ones
    /// when it is the site's first active agent).
    async fn discovery_ranges(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::agent_config::DiscoveryRangeNode>> {
        let mut conn = conn(ctx).await?;
        let rows = cartouche_schema::db::agent_config::DiscoveryRangeRow::for_agent(&mut conn, &self.0)
            .await
            .map_err(|e| ApiError::from_db("discovery range", e))?;
        Ok(rows.into_iter().map(|(row, _)| super::agent_config::DiscoveryRangeNode(row)).collect())
    }
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantNode> {
        load_tenant(ctx, self.0.tenant_id).await?.ok_or_else(|| ApiError::NotFound("tenant").into())
    }
    /// The latest cycle reports, newest first (1 to 200).
    async fn cycle_reports(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> async_graphql::Result<Vec<CycleReportNode>> {
        if !(1..=200).contains(&first) {
            return Err(ApiError::validation("first", "must be 1 to 200").into());
        }
        let mut conn = conn(ctx).await?;
        let rows = Agent::recent_reports(&mut conn, self.0.id, i64::from(first))
            .await
            .map_err(|e| ApiError::from_db("cycle reports", e))?;
        Ok(rows.into_iter().map(CycleReportNode).collect())
    }
}

pub struct CycleReportNode(pub CycleReportRow);

/// How one cycle of an agent went.
#[Object(name = "CycleReport")]
impl CycleReportNode {
    /// discovery, counters or alerts.
    async fn cycle(&self) -> &str {
        &self.0.cycle
    }
    async fn range_id(&self) -> Option<&str> {
        self.0.range_id.as_deref()
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn duration_ms(&self) -> i64 {
        self.0.duration_ms
    }
    async fn devices_read(&self) -> i32 {
        self.0.devices_read
    }
    async fn devices_failed(&self) -> i32 {
        self.0.devices_failed
    }
    /// Devices that answered only after a timeout (asleep or busy).
    async fn devices_asleep(&self) -> i32 {
        self.0.devices_asleep
    }
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
    /// Batches of readings the agent's spool did not keep during this cycle because it was
    /// full (refused, or older ones dropped for them, by the agent's policy): readings lost.
    async fn batches_not_kept(&self) -> i32 {
        self.0.batches_not_kept
    }
}

pub struct EnrollmentKeyNode(pub EnrollmentKey);

#[Object(name = "EnrollmentKey")]
impl EnrollmentKeyNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn site_id(&self) -> Option<ID> {
        self.0.site_id.map(|s| ID(s.to_string()))
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// Enrollments left; null means unlimited until expiry.
    async fn uses_left(&self) -> Option<i32> {
        self.0.uses_left
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

#[derive(Default)]
pub struct AgentQuery;

#[Object]
impl AgentQuery {
    /// Agents you may see, by name.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn agents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only agents whose link is in this state now (the rule of `Agent.status`).")] status: Option<
            AgentStatus,
        >,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, AgentNode>> {
        let actor = actor(ctx)?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        let status = status.map(|s| match s {
            AgentStatus::Connected => "connected",
            AgentStatus::Disconnected => "disconnected",
            AgentStatus::NeverConnected => "never_connected",
            AgentStatus::Revoked => "revoked",
        });
        let (rows, more) =
            Agent::page(&mut conn, &actor.scope, status, &request).await.map_err(|e| ApiError::from_db("agent", e))?;
        Ok(connection(
            rows,
            more,
            request.after.is_some(),
            |a| Keyset { key: a.name.to_lowercase(), id: a.id },
            AgentNode,
        ))
    }

    /// Enrollment keys you may see, by name. Managers and admins.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn enrollment_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, EnrollmentKeyNode>> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "listing enrollment keys")?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        let (rows, more) = EnrollmentKey::page(&mut conn, &actor.scope, &request)
            .await
            .map_err(|e| ApiError::from_db("enrollment key", e))?;
        Ok(connection(
            rows,
            more,
            request.after.is_some(),
            |k| Keyset { key: k.name.to_lowercase(), id: k.id },
            EnrollmentKeyNode,
        ))
    }
}

#[derive(InputObject)]
pub struct CreateEnrollmentKeyInput {
    /// Defaults to your own tenant.
    pub tenant_id: Option<ID>,
    /// The site the agents enrolled with this key belong to.
    pub site_id: Option<ID>,
    pub name: String,
    /// Hours until the key expires: 1 to 720, default 72.
    pub expires_in_hours: Option<i32>,
    /// How many agents may enroll with it; null: unlimited until it expires.
    pub uses: Option<i32>,
}

#[derive(SimpleObject)]
pub struct CreateEnrollmentKeyPayload {
    pub key: EnrollmentKeyNode,
    /// Shown once: `cartouche-agent enroll --server URL --key <secret>`.
    pub secret: String,
}

#[derive(Default)]
pub struct AgentMutation;

#[Object]
impl AgentMutation {
    /// Creates an enrollment key. Managers and admins.
    async fn create_enrollment_key(
        &self,
        ctx: &Context<'_>,
        input: CreateEnrollmentKeyInput,
    ) -> async_graphql::Result<CreateEnrollmentKeyPayload> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "creating an enrollment key")?;
        let tenant_id = visible_tenant(actor, "tenantId", input.tenant_id.as_ref())?.unwrap_or(actor.tenant_id);
        let name = DisplayName::parse(&input.name).map_err(|e| ApiError::validation("name", e))?;
        let hours = input.expires_in_hours.unwrap_or(72);
        if !(1..=720).contains(&hours) {
            return Err(ApiError::validation("expiresInHours", format!("between 1 and 720 hours, not {hours}")).into());
        }
        if let Some(uses) = input.uses
            && !(1..=10_000).contains(&uses)
        {
            return Err(ApiError::validation("uses", format!("between 1 and 10000, not {uses}")).into());
        }
        let mut conn = conn(ctx).await?;
        let site_id = match &input.site_id {
            Some(id) => {
                let id = parse_id("siteId", id)?;
                let site = cartouche_schema::db::sites::Site::find(&mut conn, &actor.scope, id)
                    .await
                    .map_err(|e| ApiError::from_db("site", e))?;
                if site.tenant_id != tenant_id {
                    return Err(ApiError::validation("siteId", "the site belongs to another tenant").into());
                }
                Some(site.id)
            }
            None => None,
        };
        let (secret, hash) = tokens::new_secret(ENROLLMENT_PREFIX);
        let key = EnrollmentKey::create(
            &mut conn,
            &actor.scope,
            NewEnrollmentKey {
                tenant_id,
                site_id,
                name: name.as_str(),
                key_hash: &hash,
                expires_at: Utc::now() + chrono::Duration::hours(i64::from(hours)),
                uses_left: input.uses,
                created_by: actor.user_id(),
            },
        )
        .await
        .map_err(|e| ApiError::from_db("enrollment key", e))?;
        Ok(CreateEnrollmentKeyPayload { key: EnrollmentKeyNode(key), secret: secret.expose_secret().to_owned() })
    }

    /// Revokes an agent: its link is cut within seconds and it cannot connect again.
    async fn revoke_agent(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<AgentNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "revoking an agent")?;
        let id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let agent = Agent::revoke(&mut conn, &actor.scope, id).await.map_err(|e| ApiError::from_db("agent", e))?;
        crate::events::publish(&mut conn, &Event::new(Entity::Agent, ChangeKind::Deleted, agent.tenant_id, agent.id))
            .await
            .map_err(|e| ApiError::from_db("agent", e))?;
        tracing::info!(agent.id = %agent.id, "agent revoked");
        Ok(AgentNode(agent))
    }

    /// Revokes an enrollment key: no new agent can enroll with it.
    async fn revoke_enrollment_key(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<EnrollmentKeyNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "revoking an enrollment key")?;
        let id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let key = EnrollmentKey::revoke(&mut conn, &actor.scope, id)
            .await
            .map_err(|e| ApiError::from_db("enrollment key", e))?;
        Ok(EnrollmentKeyNode(key))
    }
}
