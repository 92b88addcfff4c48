//! What agents are told to do: SNMP credentials (the secret part sealed by the api, opaque
//! here), discovery ranges with their schedules, and "run now" orders. Validation of the
//! contents (range syntax, schedules, credential fields) happens before these functions; they
//! keep tenants apart and keep references consistent.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::agents::Agent;
use super::page::{self, PageRequest, after_keyset, lower};
use super::schema::{agent_commands, agents, discovery_ranges, sites, snmp_credentials};
use super::scope::Scope;

/// An SNMP credential as stored: the secret part is sealed (see the api's `secrets`).
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = snmp_credentials)]
pub struct SnmpCredentialRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// `v1`, `v2c` or `v3`.
    pub version: String,
    pub v3_user: Option<String>,
    pub auth_protocol: Option<String>,
    pub priv_protocol: Option<String>,
    pub context: Option<String>,
    #[diesel(deserialize_as = Vec<u8>)]
    pub sealed: Vec<u8>,
    pub key_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A credential to store; the caller picks the id (the sealed secret is bound to it).
#[derive(Insertable, AsChangeset, Debug)]
#[diesel(table_name = snmp_credentials, treat_none_as_null = true)]
pub struct SnmpCredentialValues<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: &'a str,
    pub version: &'a str,
    pub v3_user: Option<&'a str>,
    pub auth_protocol: Option<&'a str>,
    pub priv_protocol: Option<&'a str>,
    pub context: Option<&'a str>,
    pub sealed: &'a [u8],
    pub key_id: &'a str,
}

/// Why a credential cannot be deleted.
#[derive(Debug)]
pub enum CredentialInUse {
    /// Names of the ranges that still try it.
    Ranges(Vec<String>),
}

impl SnmpCredentialRow {
    pub async fn find(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<SnmpCredentialRow> {
        snmp_credentials::table
            .find(id)
            .filter(snmp_credentials::tenant_id.eq_any(scope.tenant_ids()))
            .select(SnmpCredentialRow::as_select())
            .first(conn)
            .await
    }

    pub async fn page(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        tenant: Option<Uuid>,
        request: &PageRequest,
    ) -> QueryResult<(Vec<SnmpCredentialRow>, bool)> {
        let mut query = snmp_credentials::table
            .filter(snmp_credentials::tenant_id.eq_any(scope.tenant_ids()))
            .select(SnmpCredentialRow::as_select())
            .order_by((lower(snmp_credentials::name), snmp_credentials::id))
            .limit(request.limit())
            .into_boxed();
        if let Some(tenant) = tenant {
            query = query.filter(snmp_credentials::tenant_id.eq(tenant));
        }
        let query = after_keyset!(query, snmp_credentials::name, snmp_credentials::id, &request.after);
        Ok(page::finish(query.load(conn).await?, request))
    }

    pub async fn create(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        values: SnmpCredentialValues<'_>,
    ) -> QueryResult<SnmpCredentialRow> {
        scope.require(values.tenant_id)?;
        diesel::insert_into(snmp_credentials::table)
            .values(values)
            .returning(SnmpCredentialRow::as_returning())
            .get_result(conn)
            .await
    }

    /// Replaces a credential's fields (its id and tenant stay).
    pub async fn replace(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        values: SnmpCredentialValues<'_>,
    ) -> QueryResult<SnmpCredentialRow> {
        scope.require(values.tenant_id)?;
        diesel::update(
            snmp_credentials::table
                .find(values.id)
                .filter(snmp_credentials::tenant_id.eq(values.tenant_id))
                .filter(snmp_credentials::tenant_id.eq_any(scope.tenant_ids())),
        )
        .set((&values, snmp_credentials::updated_at.eq(diesel::dsl::now)))
        .returning(SnmpCredentialRow::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes a credential no range uses any more; one still in use is kept and the ranges
    /// using it are named.
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        id: Uuid,
    ) -> QueryResult<Result<SnmpCredentialRow, CredentialInUse>> {
        conn.transaction(async |conn| {
            let row = snmp_credentials::table
                .find(id)
                .filter(snmp_credentials::tenant_id.eq_any(scope.tenant_ids()))
                .select(SnmpCredentialRow::as_select())
                .for_update()
                .first(conn)
                .await?;
            let users: Vec<String> = discovery_ranges::table
                .filter(discovery_ranges::credential_ids.contains(vec![Some(id)]))
                .select(discovery_ranges::name)
                .order_by(discovery_ranges::name)
                .load(conn)
                .await?;
            if !users.is_empty() {
                return Ok(Err(CredentialInUse::Ranges(users)));
            }
            diesel::delete(snmp_credentials::table.find(id)).execute(conn).await?;
            Ok(Ok(row))
        })
        .await
    }

    /// Credentials by id, for building an agent's configuration (unscoped: the gateway has
    /// already established the agent's tenant and filters with it).
    pub async fn by_ids(
        conn: &mut AsyncPgConnection,
        tenant_id: Uuid,
        ids: &[Uuid],
    ) -> QueryResult<Vec<SnmpCredentialRow>> {
        snmp_credentials::table
            .filter(snmp_credentials::tenant_id.eq(tenant_id))
            .filter(snmp_credentials::id.eq_any(ids))
            .select(SnmpCredentialRow::as_select())
            .load(conn)
            .await
    }

    /// How many credentials of `tenant_id` exist among `ids` (checks references).
    pub async fn count_in_tenant(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<i64> {
        snmp_credentials::table
            .filter(snmp_credentials::tenant_id.eq(tenant_id))
            .filter(snmp_credentials::id.eq_any(ids))
            .count()
            .get_result(conn)
            .await
    }
}

/// A discovery range as stored.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = discovery_ranges)]
pub struct DiscoveryRangeRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub agent_id: Option<Uuid>,
    pub name: String,
    pub ranges: String,
    pub credential_ids: Vec<Option<Uuid>>,
    pub schedules: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl DiscoveryRangeRow {
    /// Credential ids in the order they are tried.
    pub fn credentials(&self) -> Vec<Uuid> {
        self.credential_ids.iter().flatten().copied().collect()
    }
}

#[derive(Insertable, AsChangeset, Debug)]
#[diesel(table_name = discovery_ranges, treat_none_as_null = true)]
pub struct DiscoveryRangeValues<'a> {
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub agent_id: Option<Uuid>,
    pub name: &'a str,
    pub ranges: &'a str,
    pub credential_ids: Vec<Option<Uuid>>,
    pub schedules: serde_json::Value,
}

impl DiscoveryRangeRow {
    pub async fn find(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<DiscoveryRangeRow> {
        discovery_ranges::table
            .find(id)
            .filter(discovery_ranges::tenant_id.eq_any(scope.tenant_ids()))
            .select(DiscoveryRangeRow::as_select())
            .first(conn)
            .await
    }

    /// Visible ranges by name; `site` narrows to one site.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        site: Option<Uuid>,
        request: &PageRequest,
    ) -> QueryResult<(Vec<DiscoveryRangeRow>, bool)> {
        let mut query = discovery_ranges::table
            .filter(discovery_ranges::tenant_id.eq_any(scope.tenant_ids()))
            .select(DiscoveryRangeRow::as_select())
            .order_by((lower(discovery_ranges::name), discovery_ranges::id))
            .limit(request.limit())
            .into_boxed();
        if let Some(site) = site {
            query = query.filter(discovery_ranges::site_id.eq(site));
        }
        let query = after_keyset!(query, discovery_ranges::name, discovery_ranges::id, &request.after);
        Ok(page::finish(query.load(conn).await?, request))
    }

    pub async fn create(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        values: DiscoveryRangeValues<'_>,
    ) -> QueryResult<DiscoveryRangeRow> {
        scope.require(values.tenant_id)?;
        diesel::insert_into(discovery_ranges::table)
            .values(values)
            .returning(DiscoveryRangeRow::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn replace(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        id: Uuid,
        values: DiscoveryRangeValues<'_>,
    ) -> QueryResult<DiscoveryRangeRow> {
        scope.require(values.tenant_id)?;
        diesel::update(
            discovery_ranges::table
                .find(id)
                .filter(discovery_ranges::tenant_id.eq(values.tenant_id))
                .filter(discovery_ranges::tenant_id.eq_any(scope.tenant_ids())),
        )
        .set((&values, discovery_ranges::updated_at.eq(diesel::dsl::now)))
        .returning(DiscoveryRangeRow::as_returning())
        .get_result(conn)
        .await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<DiscoveryRangeRow> {
        diesel::delete(discovery_ranges::table.find(id).filter(discovery_ranges::tenant_id.eq_any(scope.tenant_ids())))
            .returning(DiscoveryRangeRow::as_returning())
            .get_result(conn)
            .await
    }

    /// The ranges an agent scans, each with its site's time zone: those assigned to it, and
    /// its site's unassigned ranges when it is the site's first enrolled agent still active.
    pub async fn for_agent(
        conn: &mut AsyncPgConnection,
        agent: &Agent,
    ) -> QueryResult<Vec<(DiscoveryRangeRow, String)>> {
        let site_agent = match agent.site_id {
            Some(site) => {
                let first: Option<Uuid> = agents::table
                    .filter(agents::site_id.eq(site))
                    .filter(agents::revoked_at.is_null())
                    .order_by((agents::enrolled_at, agents::id))
                    .select(agents::id)
                    .first(conn)
                    .await
                    .optional()?;
                first == Some(agent.id)
            }
            None => false,
        };
        let mut query = discovery_ranges::table
            .inner_join(sites::table)
            .filter(discovery_ranges::tenant_id.eq(agent.tenant_id))
            .select((DiscoveryRangeRow::as_select(), sites::time_zone))
            .order_by((discovery_ranges::name, discovery_ranges::id))
            .into_boxed();
        query = match (site_agent, agent.site_id) {
            (true, Some(site)) => query.filter(
                discovery_ranges::agent_id
                    .eq(agent.id)
                    .or(discovery_ranges::agent_id.is_null().and(discovery_ranges::site_id.eq(site))),
            ),
            _ => query.filter(discovery_ranges::agent_id.eq(agent.id)),
        };
        query.load(conn).await
    }
}

/// A "run now" order for an agent.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = agent_commands)]
pub struct AgentCommandRow {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub tenant_id: Uuid,
    pub cycle: String,
    pub range_id: Option<Uuid>,
    pub requested_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl AgentCommandRow {
    /// Queues an order for a visible agent (its range, when given, is the agent's tenant's).
    pub async fn create(
        conn: &mut AsyncPgConnection,
        agent: &Agent,
        cycle: &str,
        range_id: Option<Uuid>,
        requested_by: Option<Uuid>,
        expires_at: DateTime<Utc>,
    ) -> QueryResult<AgentCommandRow> {
        diesel::insert_into(agent_commands::table)
            .values((
                agent_commands::agent_id.eq(agent.id),
                agent_commands::tenant_id.eq(agent.tenant_id),
                agent_commands::cycle.eq(cycle),
                agent_commands::range_id.eq(range_id),
                agent_commands::requested_by.eq(requested_by),
                agent_commands::expires_at.eq(expires_at),
            ))
            .returning(AgentCommandRow::as_returning())
            .get_result(conn)
            .await
    }

    /// Takes the agent's orders not yet delivered and not expired, oldest first, marking them
    /// delivered in the same statement (two replicas never deliver one order twice).
    pub async fn take_pending(conn: &mut AsyncPgConnection, agent_id: Uuid) -> QueryResult<Vec<AgentCommandRow>> {
        let mut taken: Vec<AgentCommandRow> = diesel::update(
            agent_commands::table
                .filter(agent_commands::agent_id.eq(agent_id))
                .filter(agent_commands::delivered_at.is_null())
                .filter(agent_commands::expires_at.gt(diesel::dsl::now)),
        )
        .set(agent_commands::delivered_at.eq(diesel::dsl::now))
        .returning(AgentCommandRow::as_returning())
        .get_results(conn)
        .await?;
        taken.sort_by_key(|c| (c.created_at, c.id));
        Ok(taken)
    }

    /// Gives orders back (the link broke before they were sent).
    pub async fn undeliver(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<()> {
        diesel::update(agent_commands::table.filter(agent_commands::id.eq_any(ids)))
            .set(agent_commands::delivered_at.eq(None::<DateTime<Utc>>))
            .execute(conn)
            .await
            .map(drop)
    }

    pub async fn find(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<AgentCommandRow> {
        agent_commands::table
            .find(id)
            .filter(agent_commands::tenant_id.eq_any(scope.tenant_ids()))
            .select(AgentCommandRow::as_select())
            .first(conn)
            .await
    }
}

impl Agent {
    /// Renames an agent and sets how often it polls local printers (`None`: with the network
    /// counters).
    pub async fn configure(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        id: Uuid,
        name: Option<&str>,
        usb_interval_minutes: Option<Option<i32>>,
    ) -> QueryResult<Agent> {
        let agent = Self::find(conn, scope, id).await?;
        diesel::update(agents::table.find(agent.id))
            .set((
                agents::name.eq(name.unwrap_or(&agent.name)),
                agents::usb_interval_minutes.eq(usb_interval_minutes.unwrap_or(agent.usb_interval_minutes)),
            ))
            .returning(Agent::as_returning())
            .get_result(conn)
            .await
    }
}
