//! What agents are told to do: SNMP credentials (secrets write-only), discovery ranges with
//! their schedules, agent settings, and "run now" orders. Every change publishes an event;
//! the gateway sends the agents concerned their new configuration.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, OneofObject, SimpleObject};
use cartouche_schema::db::Keyset;
use cartouche_schema::db::agent_config::{
    AgentCommandRow, CredentialInUse, DiscoveryRangeRow, DiscoveryRangeValues, SnmpCredentialRow, SnmpCredentialValues,
};
use cartouche_schema::db::agents::Agent;
use cartouche_schema::db::sites::Site;
use cartouche_schema::domain::{DisplayName, Role};
use cartouche_schema::ranges::Range;
use cartouche_schema::schedule::Schedule;
use cartouche_schema::wire::Cycle;
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use uuid::Uuid;

use super::agents::AgentNode;
use super::connection::{connection, page_request};
use super::sites::SiteNode;
use super::tenants::{TenantNode, load_tenant};
use super::{actor, conn, parse_id, state, visible_tenant};
use crate::agent_config::{SecretParts, schedules_of, seal};
use crate::error::ApiError;
use crate::events::{ChangeKind, Entity, Event};

/// How long a "run now" order waits for its agent to connect.
const RUN_NOW_TTL_MINUTES: i64 = 60;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SnmpVersion {
    V1,
    V2C,
    V3,
}

impl SnmpVersion {
    fn name(self) -> &'static str {
        match self {
            SnmpVersion::V1 => "v1",
            SnmpVersion::V2C => "v2c",
            SnmpVersion::V3 => "v3",
        }
    }
    fn from_name(name: &str) -> SnmpVersion {
        match name {
            "v1" => SnmpVersion::V1,
            "v2c" => SnmpVersion::V2C,
            _ => SnmpVersion::V3,
        }
    }
}

/// SNMPv3 authentication protocols (USM and RFC 7860).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SnmpAuthProtocol {
    #[graphql(name = "MD5")]
    Md5,
    #[graphql(name = "SHA1")]
    Sha1,
    #[graphql(name = "SHA224")]
    Sha224,
    #[graphql(name = "SHA256")]
    Sha256,
    #[graphql(name = "SHA384")]
    Sha384,
    #[graphql(name = "SHA512")]
    Sha512,
}

/// SNMPv3 privacy protocols.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SnmpPrivProtocol {
    Des,
    #[graphql(name = "AES128")]
    Aes128,
    #[graphql(name = "AES192")]
    Aes192,
    #[graphql(name = "AES256")]
    Aes256,
}

// Stored under the names net-snmp uses, which the agent parses.
const AUTH_NAMES: [(SnmpAuthProtocol, &str); 6] = [
    (SnmpAuthProtocol::Md5, "MD5"),
    (SnmpAuthProtocol::Sha1, "SHA"),
    (SnmpAuthProtocol::Sha224, "SHA-224"),
    (SnmpAuthProtocol::Sha256, "SHA-256"),
    (SnmpAuthProtocol::Sha384, "SHA-384"),
    (SnmpAuthProtocol::Sha512, "SHA-512"),
];
const PRIV_NAMES: [(SnmpPrivProtocol, &str); 4] = [
    (SnmpPrivProtocol::Des, "DES"),
    (SnmpPrivProtocol::Aes128, "AES"),
    (SnmpPrivProtocol::Aes192, "AES-192"),
    (SnmpPrivProtocol::Aes256, "AES-256"),
];

fn name_of<T: PartialEq + Copy>(table: &[(T, &'static str)], value: T) -> &'static str {
    table.iter().find(|(v, _)| *v == value).map_or("", |(_, n)| n)
}
fn value_of<T: Copy>(table: &[(T, &'static str)], name: &str) -> Option<T> {
    table.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
}

pub struct SnmpCredentialNode(pub SnmpCredentialRow);

/// SNMP credentials: what agents try, in order, on a range. Secrets are write-only.
#[Object(name = "SnmpCredential")]
impl SnmpCredentialNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn version(&self) -> SnmpVersion {
        SnmpVersion::from_name(&self.0.version)
    }
    /// SNMPv3 user name.
    async fn user(&self) -> Option<&str> {
        self.0.v3_user.as_deref()
    }
    async fn auth_protocol(&self) -> Option<SnmpAuthProtocol> {
        self.0.auth_protocol.as_deref().and_then(|n| value_of(&AUTH_NAMES, n))
    }
    async fn priv_protocol(&self) -> Option<SnmpPrivProtocol> {
        self.0.priv_protocol.as_deref().and_then(|n| value_of(&PRIV_NAMES, n))
    }
    /// SNMPv3 context name.
    async fn context(&self) -> Option<&str> {
        self.0.context.as_deref()
    }
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantNode> {
        load_tenant(ctx, self.0.tenant_id).await?.ok_or_else(|| ApiError::NotFound("tenant").into())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct SnmpCredentialInput {
    /// Defaults to your own tenant (only on creation; a credential never moves).
    pub tenant_id: Option<ID>,
    pub name: String,
    pub version: SnmpVersion,
    /// v1 and v2c. On update, omit it to keep the stored one.
    pub community: Option<String>,
    /// v3: the USM user name.
    pub user: Option<String>,
    pub auth_protocol: Option<SnmpAuthProtocol>,
    /// v3, at least 8 characters. On update, omit it to keep the stored one.
    pub auth_password: Option<String>,
    pub priv_protocol: Option<SnmpPrivProtocol>,
    /// v3, at least 8 characters. On update, omit it to keep the stored one.
    pub priv_password: Option<String>,
    pub context: Option<String>,
}

/// A credential checked field by field; `kept` supplies secrets an update leaves out.
struct CheckedCredential {
    name: DisplayName,
    version: SnmpVersion,
    user: Option<String>,
    auth_protocol: Option<&'static str>,
    priv_protocol: Option<&'static str>,
    context: Option<String>,
    secrets: SecretParts,
}

fn check_secret(field: &str, value: &str, min: usize) -> Result<(), ApiError> {
    let len = value.chars().count();
    if len < min || len > 255 {
        return Err(ApiError::validation(field, format!("{min} to 255 characters, not {len}")));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::validation(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_credential(input: SnmpCredentialInput, kept: Option<SecretParts>) -> Result<CheckedCredential, ApiError> {
    let name = DisplayName::parse(&input.name).map_err(|e| ApiError::validation("name", e))?;
    let kept = kept.unwrap_or_default();
    let v3_only = |field: &str, present: bool| {
        if present && input.version != SnmpVersion::V3 {
            Err(ApiError::validation(field, "only SNMPv3 credentials have this"))
        } else {
            Ok(())
        }
    };
    v3_only("user", input.user.is_some())?;
    v3_only("authProtocol", input.auth_protocol.is_some())?;
    v3_only("authPassword", input.auth_password.is_some())?;
    v3_only("privProtocol", input.priv_protocol.is_some())?;
    v3_only("privPassword", input.priv_password.is_some())?;
    v3_only("context", input.context.is_some())?;
    if input.version == SnmpVersion::V3 {
        if input.community.is_some() {
            return Err(ApiError::validation("community", "SNMPv3 has no community; give a user"));
        }
        let user = input.user.as_deref().map(str::trim).unwrap_or_default();
        if user.is_empty() || user.len() > 32 {
            return Err(ApiError::validation("user", "an SNMPv3 user name of 1 to 32 characters is required"));
        }
        let auth_password = input.auth_password.or(kept.auth_password);
        let priv_password = input.priv_password.or(kept.priv_password);
        match (input.auth_protocol, &auth_password) {
            (Some(_), Some(p)) => check_secret("authPassword", p, 8)?,
            (Some(_), None) => {
                return Err(ApiError::validation("authPassword", "the authentication protocol needs a password"));
            }
            (None, Some(_)) => {
                return Err(ApiError::validation("authProtocol", "a password needs its authentication protocol"));
            }
            (None, None) => {}
        }
        match (input.priv_protocol, &priv_password) {
            (Some(_), _) if input.auth_protocol.is_none() => {
                return Err(ApiError::validation(
                    "privProtocol",
                    "privacy without authentication is not allowed by SNMPv3",
                ));
            }
            (Some(_), Some(p)) => check_secret("privPassword", p, 8)?,
            (Some(_), None) => {
                return Err(ApiError::validation("privPassword", "the privacy protocol needs a password"));
            }
            (None, Some(_)) => {
                return Err(ApiError::validation("privProtocol", "a password needs its privacy protocol"));
            }
            (None, None) => {}
        }
        let context = input.context.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        if context.as_ref().is_some_and(|c| c.len() > 32) {
            return Err(ApiError::validation("context", "at most 32 characters"));
        }
        return Ok(CheckedCredential {
            name,
            version: input.version,
            user: Some(user.to_owned()),
            auth_protocol: input.auth_protocol.map(|p| name_of(&AUTH_NAMES, p)),
            priv_protocol: input.priv_protocol.map(|p| name_of(&PRIV_NAMES, p)),
            context,
            // A password whose protocol was removed is forgotten, not kept.
            secrets: SecretParts {
                community: None,
                auth_password: auth_password.filter(|_| input.auth_protocol.is_some()),
                priv_password: priv_password.filter(|_| input.priv_protocol.is_some()),
            },
        });
    }
    let community = input
        .community
        .or(kept.community)
        .ok_or_else(|| ApiError::validation("community", "SNMPv1 and v2c credentials need a community"))?;
    check_secret("community", &community, 1)?;
    Ok(CheckedCredential {
        name,
        version: input.version,
        user: None,
        auth_protocol: None,
        priv_protocol: None,
        context: None,
        secrets: SecretParts { community: Some(community), auth_password: None, priv_password: None },
    })
}

fn credential_write_error(err: diesel::result::Error) -> ApiError {
    if cartouche_schema::db::is_unique_violation(&err) {
        return ApiError::Conflict("an SNMP credential with this name already exists in this tenant".into());
    }
    ApiError::from_db("SNMP credential", err)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "cartouche_schema::wire::Cycle")]
pub enum CycleKind {
    Discovery,
    Counters,
    Alerts,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "chrono::Weekday")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ScheduleKind {
    /// Never runs.
    Disabled,
    /// At the start of the listed hours of the listed days.
    Weekly,
    /// Once a week, at one hour of one day.
    Once,
}

/// Hours of one weekday (0 to 23, local time of the site) when a cycle runs.
#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "DayHoursInput")]
pub struct DayHours {
    pub weekday: Weekday,
    pub hours: Vec<i32>,
}

/// One hour of one weekday.
#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "WeeklyHourInput")]
pub struct WeeklyHour {
    pub weekday: Weekday,
    pub hour: i32,
}

/// When a cycle runs, in the site's time zone.
#[derive(SimpleObject)]
pub struct CycleSchedule {
    pub cycle: CycleKind,
    pub kind: ScheduleKind,
    /// Weekly: the days and hours (days without hours are left out).
    pub days: Vec<DayHours>,
    /// Once: the day and hour.
    pub once: Option<WeeklyHour>,
}

/// Exactly one of: disabled, weekly hours, or once a week.
#[derive(OneofObject)]
pub enum ScheduleInput {
    /// Switches the cycle off (the value must be true).
    Disabled(bool),
    Weekly(Vec<DayHours>),
    Once(WeeklyHour),
}

#[derive(InputObject)]
pub struct CycleScheduleInput {
    pub cycle: CycleKind,
    pub schedule: ScheduleInput,
}

fn schedule_output(cycle: Cycle, schedule: &Schedule) -> CycleSchedule {
    let cycle = cycle.into();
    match schedule {
        Schedule::Disabled => CycleSchedule { cycle, kind: ScheduleKind::Disabled, days: vec![], once: None },
        Schedule::Weekly { hours } => {
            let days = hours
                .iter()
                .enumerate()
                .filter(|(_, mask)| **mask != 0)
                .map(|(day, mask)| DayHours {
                    weekday: weekday_from_monday(day).into(),
                    hours: (0..24).filter(|h| mask & (1 << h) != 0).collect(),
                })
                .collect();
            CycleSchedule { cycle, kind: ScheduleKind::Weekly, days, once: None }
        }
        Schedule::Once { weekday, hour } => CycleSchedule {
            cycle,
            kind: ScheduleKind::Once,
            days: vec![],
            once: Some(WeeklyHour { weekday: (*weekday).into(), hour: i32::try_from(*hour).unwrap_or(0) }),
        },
    }
}

fn weekday_from_monday(day: usize) -> chrono::Weekday {
    let mut weekday = chrono::Weekday::Mon;
    for _ in 0..day {
        weekday = weekday.succ();
    }
    weekday
}

fn hour_of(field: &str, hour: i32) -> Result<u32, ApiError> {
    u32::try_from(hour)
        .ok()
        .filter(|h| *h < 24)
        .ok_or_else(|| ApiError::validation(field, format!("hour {hour} is not 0 to 23")))
}

fn schedule_input(index: usize, input: ScheduleInput) -> Result<Schedule, ApiError> {
    let field = format!("schedules[{index}].schedule");
    let schedule = match input {
        ScheduleInput::Disabled(true) => Schedule::Disabled,
        ScheduleInput::Disabled(false) => {
            return Err(ApiError::validation(field, "disabled must be true; give weekly or once to switch a cycle on"));
        }
        ScheduleInput::Weekly(days) => {
            let mut hours = [0u32; 7];
            for day in days {
                let slot = &mut hours[chrono::Weekday::from(day.weekday).num_days_from_monday() as usize];
                for hour in day.hours {
                    *slot |= 1 << hour_of(&format!("{field}.weekly"), hour)?;
                }
            }
            Schedule::Weekly { hours }
        }
        ScheduleInput::Once(at) => {
            Schedule::Once { weekday: at.weekday.into(), hour: hour_of(&format!("{field}.once.hour"), at.hour)? }
        }
    };
    schedule.validate().map_err(|e| ApiError::validation(field, e))?;
    Ok(schedule)
}

/// Cycle name → schedule, as stored; a cycle listed twice is an error.
fn schedules_input(inputs: Vec<CycleScheduleInput>) -> Result<serde_json::Value, ApiError> {
    let mut map = serde_json::Map::new();
    for (index, input) in inputs.into_iter().enumerate() {
        let cycle: Cycle = input.cycle.into();
        let schedule = schedule_input(index, input.schedule)?;
        if map.contains_key(cycle.name()) {
            return Err(ApiError::validation(
                format!("schedules[{index}].cycle"),
                format!("{} is listed twice", cycle.name()),
            ));
        }
        map.insert(cycle.name().to_owned(), serde_json::to_value(schedule).map_err(ApiError::internal)?);
    }
    Ok(serde_json::Value::Object(map))
}

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
    let mut credentials = Vec::with_capacity(input.credential_ids.len());
    for (index, id) in input.credential_ids.iter().enumerate() {
        let id = parse_id(&format!("credentialIds[{index}]"), id)?;
        if credentials.contains(&id) {
            return Err(ApiError::validation(format!("credentialIds[{index}]"), "listed twice"));
        }
        credentials.push(id);
    }
    if credentials.len() > 10 {
        return Err(ApiError::validation("credentialIds", "at most 10 credentials per range"));
    }
    let found = SnmpCredentialRow::count_in_tenant(conn, site.tenant_id, &credentials)
        .await
        .map_err(|e| ApiError::from_db("SNMP credential", e))?;
    if usize::try_from(found).ok() != Some(credentials.len()) {
        return Err(ApiError::validation("credentialIds", "a credential does not exist in the site's tenant"));
    }
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

fn check_ranges(ranges: &str) -> Result<(), ApiError> {
    if ranges.len() > 10_000 {
        return Err(ApiError::validation("ranges", "at most 10000 characters; split it into several ranges"));
    }
    Range::parse_list(ranges).map(drop).map_err(|e| ApiError::validation("ranges", e))
}

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
pub struct AgentConfigQuery;

#[Object]
impl AgentConfigQuery {
    /// SNMP credentials you may see, by name (secrets are never returned).
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn snmp_credentials(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, SnmpCredentialNode>> {
        let actor = actor(ctx)?;
        let tenant = visible_tenant(actor, "tenantId", tenant_id.as_ref())?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        let (rows, more) = SnmpCredentialRow::page(&mut conn, &actor.scope, tenant, &request)
            .await
            .map_err(|e| ApiError::from_db("SNMP credential", e))?;
        Ok(connection(
            rows,
            more,
            request.after.is_some(),
            |c| Keyset { key: c.name.to_lowercase(), id: c.id },
            SnmpCredentialNode,
        ))
    }

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
pub struct AgentConfigMutation;

#[Object]
impl AgentConfigMutation {
    /// Stores an SNMP credential, its secrets sealed. Managers and admins.
    async fn create_snmp_credential(
        &self,
        ctx: &Context<'_>,
        input: SnmpCredentialInput,
    ) -> async_graphql::Result<SnmpCredentialNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "creating an SNMP credential")?;
        let tenant_id = visible_tenant(actor, "tenantId", input.tenant_id.as_ref())?.unwrap_or(actor.tenant_id);
        let checked = check_credential(input, None)?;
        let id = Uuid::new_v4();
        let (sealed, key_id) = seal(&state(ctx).config.secret_keys, tenant_id, id, &checked.secrets);
        let mut conn = conn(ctx).await?;
        let row = conn
            .transaction(async |conn| {
                let row =
                    SnmpCredentialRow::create(conn, &actor.scope, values(id, tenant_id, &checked, &sealed, &key_id))
                        .await?;
                crate::events::publish(conn, &Event::new(Entity::Credential, ChangeKind::Created, tenant_id, id))
                    .await?;
                Ok::<_, diesel::result::Error>(row)
            })
            .await
            .map_err(credential_write_error)?;
        tracing::info!(credential.id = %row.id, "SNMP credential created");
        Ok(SnmpCredentialNode(row))
    }

    /// Changes an SNMP credential; secrets left out are kept. Managers and admins. Agents
    /// using it get their new configuration at once.
    async fn update_snmp_credential(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: SnmpCredentialInput,
    ) -> async_graphql::Result<SnmpCredentialNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "changing an SNMP credential")?;
        let id = parse_id("id", &id)?;
        if input.tenant_id.is_some() {
            return Err(ApiError::validation("tenantId", "a credential cannot move to another tenant").into());
        }
        let keys = &state(ctx).config.secret_keys;
        let mut conn = conn(ctx).await?;
        let current = SnmpCredentialRow::find(&mut conn, &actor.scope, id)
            .await
            .map_err(|e| ApiError::from_db("SNMP credential", e))?;
        // A secret sealed with a key no longer configured cannot be kept: it must be given.
        let kept = crate::agent_config::open(keys, &current).ok();
        let checked = check_credential(input, kept)?;
        let (sealed, key_id) = seal(keys, current.tenant_id, id, &checked.secrets);
        let row = conn
            .transaction(async |conn| {
                let row = SnmpCredentialRow::replace(
                    conn,
                    &actor.scope,
                    values(id, current.tenant_id, &checked, &sealed, &key_id),
                )
                .await?;
                crate::events::publish(conn, &Event::new(Entity::Credential, ChangeKind::Updated, row.tenant_id, id))
                    .await?;
                Ok::<_, diesel::result::Error>(row)
            })
            .await
            .map_err(credential_write_error)?;
        Ok(SnmpCredentialNode(row))
    }

    /// Deletes an SNMP credential no range uses. Managers and admins.
    async fn delete_snmp_credential(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "deleting an SNMP credential")?;
        let credential_id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let outcome = conn
            .transaction(async |conn| {
                let outcome = SnmpCredentialRow::delete(conn, &actor.scope, credential_id).await?;
                if let Ok(row) = &outcome {
                    crate::events::publish(
                        conn,
                        &Event::new(Entity::Credential, ChangeKind::Deleted, row.tenant_id, row.id),
                    )
                    .await?;
                }
                Ok::<_, diesel::result::Error>(outcome)
            })
            .await
            .map_err(|e| ApiError::from_db("SNMP credential", e))?;
        match outcome {
            Ok(_) => Ok(id),
            Err(CredentialInUse::Ranges(names)) => Err(ApiError::Conflict(format!(
                "the credential is still used by discovery ranges: {}; remove it from them first",
                names.join(", ")
            ))
            .into()),
        }
    }

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

fn values<'a>(
    id: Uuid,
    tenant_id: Uuid,
    checked: &'a CheckedCredential,
    sealed: &'a [u8],
    key_id: &'a str,
) -> SnmpCredentialValues<'a> {
    SnmpCredentialValues {
        id,
        tenant_id,
        name: checked.name.as_str(),
        version: checked.version.name(),
        v3_user: checked.user.as_deref(),
        auth_protocol: checked.auth_protocol,
        priv_protocol: checked.priv_protocol,
        context: checked.context.as_deref(),
        sealed,
        key_id,
    }
}
