//! Discovery ranges: the addresses an agent sweeps, with when each cycle runs.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object};
use cartouche_schema::db::Keyset;
use cartouche_schema::db::agent_config::{DiscoveryRangeRow, DiscoveryRangeValues, SnmpCredentialRow};
use cartouche_schema::db::agents::Agent;
use cartouche_schema::db::sites::Site;
use cartouche_schema::domain::{DisplayName, Role};
use cartouche_schema::ranges::Range;
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::agent_config::schedules_of;
use crate::error::ApiError;
use crate::events::{ChangeKind, Entity, Event};
use crate::graphql::connection::{connection, page_request};
use crate::graphql::sites::SiteNode;
use crate::graphql::{actor, conn, parse_id};

use super::schedules::{CycleSchedule, CycleScheduleInput, schedule_output, schedules_input};

pub struct DiscoveryRangeNode(pub DiscoveryRangeRow);

/// Addresses an agent sweeps for printers, with when each cycle runs.
#[Object(name = "DiscoveryRange")]
impl DiscoveryRangeNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// As entered: `10.1.0.0/22, 10.2.0.10-10.2.0.50, printer-3.example.com`.
    async fn ranges(&self) -> &str {
        &self.0.ranges
    }
    /// How many addresses the ranges cover (host names count one each).
    async fn address_count(&self) -> u64 {
        Range::parse_list(&self.0.ranges).map(|list| list.iter().map(Range::len).sum()).unwrap_or(0)
    }
    async fn site(&self, ctx: &Context<'_>) -> async_graphql::Result<SiteNode> {
        let actor = actor(ctx)?;
        let mut conn = conn(ctx).await?;
        let site =
            Site::find(&mut conn, &actor.scope, self.0.site_id).await.map_err(|e| ApiError::from_db("site", e))?;
        Ok(SiteNode(site))
    }
    /// The agent assigned; null: the site's agent.
    async fn agent_id(&self) -> Option<ID> {
        self.0.agent_id.map(|a| ID(a.to_string()))
    }
    /// Credential ids, in the order agents try them (none: v2c "public").
    async fn credential_ids(&self) -> Vec<ID> {
        self.0.credentials().iter().map(|c| ID(c.to_string())).collect()
    }
    /// Every cycle's schedule (defaults included).
    async fn schedules(&self) -> Vec<CycleSchedule> {
        schedules_of(&self.0).iter().map(|(cycle, schedule)| schedule_output(*cycle, schedule)).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct DiscoveryRangeInput {
    pub site_id: ID,
    /// The agent that scans it; omitted: the site's agent.
    pub agent_id: Option<ID>,
    pub name: String,
    /// Addresses, CIDR blocks, first-last spans or host names, separated by commas or lines.
    pub ranges: String,
    /// SNMP credentials to try, in order; empty: v2c "public".
    #[graphql(default)]
    pub credential_ids: Vec<ID>,
    /// Cycles not listed keep their defaults (discovery Monday 10:00, counters daily 11:00,
    /// alerts hourly 7:00-19:00 on weekdays).
    #[graphql(default)]
    pub schedules: Vec<CycleScheduleInput>,
}

/// Checks a range input against the database: the site and agent visible and of one tenant,
/// the credentials that tenant's.
async fn range_values<'a>(
    conn: &mut cartouche_schema::db::PooledConn,
    actor: &crate::auth::Actor,
    input: &'a DiscoveryRangeInput,
    name: &'a DisplayName,
    schedules: serde_json::Value,
) -> Result<DiscoveryRangeValues<'a>, ApiError> {
    let site_id = parse_id("siteId", &input.site_id)?;
    let site = Site::find(conn, &actor.scope, site_id).await.map_err(|e| ApiError::from_db("site", e))?;
    let agent_id = match &input.agent_id {
        Some(id) => {
            let agent = Agent::find(conn, &actor.scope, parse_id("agentId", id)?)
                .await
                .map_err(|e| ApiError::from_db("agent", e))?;
            if agent.tenant_id != site.tenant_id {
                return Err(ApiError::validation("agentId", "the agent belongs to another tenant than the site"));
            }
            if agent.revoked_at.is_some() {
                return Err(ApiError::validation("agentId", "the agent is revoked"));
            }
            Some(agent.id)
        }
        None => None,
    };
    let credentials = credentials_of(conn, site.tenant_id, &input.credential_ids).await?;
    Ok(DiscoveryRangeValues {
        tenant_id: site.tenant_id,
        site_id: site.id,
        agent_id,
        name: name.as_str(),
        ranges: input.ranges.trim(),
        credential_ids: credentials.into_iter().map(Some).collect(),
        schedules,
    })
}

/// Checks credential ids: well formed, each once, at most ten, all of `tenant`.
pub(super) async fn credentials_of(
    conn: &mut cartouche_schema::db::PooledConn,
    tenant: uuid::Uuid,
    ids: &[ID],
) -> Result<Vec<uuid::Uuid>, ApiError> {
    let mut credentials = Vec::with_capacity(ids.len());
    for (index, id) in ids.iter().enumerate() {
        let id = parse_id(&format!("credentialIds[{index}]"), id)?;
        if credentials.contains(&id) {
            return Err(ApiError::validation(format!("credentialIds[{index}]"), "listed twice"));
        }
        credentials.push(id);
    }
    if credentials.len() > 10 {
        return Err(ApiError::validation("credentialIds", "at most 10 credentials per range"));
    }
    let found = SnmpCredentialRow::count_in_tenant(conn, tenant, &credentials)
        .await
        .map_err(|e| ApiError::from_db("SNMP credential", e))?;
    if usize::try_from(found).ok() != Some(credentials.len()) {
        return Err(ApiError::validation("credentialIds", "a credential does not exist in the site's tenant"));
    }
    Ok(credentials)
}

/// The longest range text taken.
pub(super) const MAX_RANGES_CHARS: usize = 10_000;

fn check_ranges(ranges: &str) -> Result<(), ApiError> {
    if ranges.len() > MAX_RANGES_CHARS {
        return Err(ApiError::validation("ranges", "at most 10000 characters; split it into several ranges"));
    }
    Range::parse_list(ranges).map(drop).map_err(|e| ApiError::validation("ranges", e))
}

#[derive(Default)]
pub struct RangeQuery;

#[Object]
impl RangeQuery {
    /// Discovery ranges you may see (or one site's), by name.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn discovery_ranges(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, DiscoveryRangeNode>> {
        let actor = actor(ctx)?;
        let site = site_id.as_ref().map(|s| parse_id("siteId", s)).transpose()?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        if let Some(site) = site {
            Site::find(&mut conn, &actor.scope, site).await.map_err(|e| ApiError::from_db("site", e))?;
        }
        let (rows, more) = DiscoveryRangeRow::page(&mut conn, &actor.scope, site, &request)
            .await
            .map_err(|e| ApiError::from_db("discovery range", e))?;
        Ok(connection(
            rows,
            more,
            request.after.is_some(),
            |r| Keyset { key: r.name.to_lowercase(), id: r.id },
            DiscoveryRangeNode,
        ))
    }

    async fn discovery_range(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<DiscoveryRangeNode> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let row = DiscoveryRangeRow::find(&mut conn, &actor.scope, id)
            .await
            .map_err(|e| ApiError::from_db("discovery range", e))?;
        Ok(DiscoveryRangeNode(row))
    }
}

#[derive(Default)]
pub struct RangeMutation;

#[Object]
impl RangeMutation {
    /// Creates a discovery range. Managers and admins. Its agent gets it at once.
    async fn create_discovery_range(
        &self,
        ctx: &Context<'_>,
        mut input: DiscoveryRangeInput,
    ) -> async_graphql::Result<DiscoveryRangeNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "creating a discovery range")?;
        let name = DisplayName::parse(&input.name).map_err(|e| ApiError::validation("name", e))?;
        check_ranges(&input.ranges)?;
        let schedules = schedules_input(std::mem::take(&mut input.schedules))?;
        let mut conn = conn(ctx).await?;
        let values = range_values(&mut conn, actor, &input, &name, schedules).await?;
        let row = conn
            .transaction(async |conn| {
                let row = DiscoveryRangeRow::create(conn, &actor.scope, values).await?;
                crate::events::publish(conn, &Event::new(Entity::Range, ChangeKind::Created, row.tenant_id, row.id))
                    .await?;
                Ok::<_, diesel::result::Error>(row)
            })
            .await
            .map_err(|e| ApiError::from_db("discovery range", e))?;
        Ok(DiscoveryRangeNode(row))
    }

    /// Replaces a discovery range (every field as given). Managers and admins.
    async fn update_discovery_range(
        &self,
        ctx: &Context<'_>,
        id: ID,
        mut input: DiscoveryRangeInput,
    ) -> async_graphql::Result<DiscoveryRangeNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "changing a discovery range")?;
        let id = parse_id("id", &id)?;
        let name = DisplayName::parse(&input.name).map_err(|e| ApiError::validation("name", e))?;
        check_ranges(&input.ranges)?;
        let schedules = schedules_input(std::mem::take(&mut input.schedules))?;
        let mut conn = conn(ctx).await?;
        let current = DiscoveryRangeRow::find(&mut conn, &actor.scope, id)
            .await
            .map_err(|e| ApiError::from_db("discovery range", e))?;
        let values = range_values(&mut conn, actor, &input, &name, schedules).await?;
        if values.tenant_id != current.tenant_id {
            return Err(ApiError::validation("siteId", "a range cannot move to another tenant's site").into());
        }
        let row = conn
            .transaction(async |conn| {
                let row = DiscoveryRangeRow::replace(conn, &actor.scope, id, values).await?;
                crate::events::publish(conn, &Event::new(Entity::Range, ChangeKind::Updated, row.tenant_id, row.id))
                    .await?;
                Ok::<_, diesel::result::Error>(row)
            })
            .await
            .map_err(|e| ApiError::from_db("discovery range", e))?;
        Ok(DiscoveryRangeNode(row))
    }

    /// Deletes a discovery range. Managers and admins.
    async fn delete_discovery_range(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "deleting a discovery range")?;
        let range_id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        conn.transaction(async |conn| {
            let row = DiscoveryRangeRow::delete(conn, &actor.scope, range_id).await?;
            crate::events::publish(conn, &Event::new(Entity::Range, ChangeKind::Deleted, row.tenant_id, row.id))
                .await?;
            Ok::<_, diesel::result::Error>(row)
        })
        .await
        .map_err(|e| ApiError::from_db("discovery range", e))?;
        Ok(id)
    }
}
