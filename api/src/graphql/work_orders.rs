//! Faults to repairs in GraphQL: the maintenance dashboard, work orders (opened by hand or by
//! rule, estimated from the fault catalogue and labour rates, moved through their workflow with
//! history and comments), rules, labour rates, fault durations, and live changes.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject, Subscription};
use cartouche_schema::billing::{format_money, parse_money};
use cartouche_schema::db::work_orders::{
    self as db, AssigneeError, Change, ChangeError, LabourRate, NewWorkOrderRule, OpenError, OpenRequest, WorkOrder,
    WorkOrderEvent, WorkOrderFilter, WorkOrderRule,
};
use cartouche_schema::db::{Keyset, users::User};
use cartouche_schema::domain::{DisplayName, Role};
use cartouche_schema::maintenance::Status;
use cartouche_schema::profiles::Skill;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::error::ApiError;
use crate::events::Entity;
use crate::graphql::connection::{connection, page_request};
use crate::graphql::devices::{DeviceNode, FaultInfo, load_device};
use crate::graphql::{actor, conn, parse_id, state};
use async_graphql::connection::Connection;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "WorkOrderStatus")]
pub enum StatusValue {
    Open,
    Assigned,
    InProgress,
    WaitingParts,
    Closed,
    Cancelled,
}

impl From<StatusValue> for Status {
    fn from(value: StatusValue) -> Status {
        match value {
            StatusValue::Open => Status::Open,
            StatusValue::Assigned => Status::Assigned,
            StatusValue::InProgress => Status::InProgress,
            StatusValue::WaitingParts => Status::WaitingParts,
            StatusValue::Closed => Status::Closed,
            StatusValue::Cancelled => Status::Cancelled,
        }
    }
}

impl From<Status> for StatusValue {
    fn from(value: Status) -> StatusValue {
        match value {
            Status::Open => StatusValue::Open,
            Status::Assigned => StatusValue::Assigned,
            Status::InProgress => StatusValue::InProgress,
            Status::WaitingParts => StatusValue::WaitingParts,
            Status::Closed => StatusValue::Closed,
            Status::Cancelled => StatusValue::Cancelled,
        }
    }
}

/// Who can fix a fault, least trained first.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Skill")]
pub enum SkillValue {
    /// Anyone at the printer.
    User,
    /// A key operator trained on the model.
    TrainedUser,
    /// A service technician (a specialist call-out).
    FieldTechnician,
}

impl From<SkillValue> for Skill {
    fn from(value: SkillValue) -> Skill {
        match value {
            SkillValue::User => Skill::User,
            SkillValue::TrainedUser => Skill::TrainedUser,
            SkillValue::FieldTechnician => Skill::FieldTechnician,
        }
    }
}

impl From<Skill> for SkillValue {
    fn from(value: Skill) -> SkillValue {
        match value {
            Skill::User => SkillValue::User,
            Skill::TrainedUser => SkillValue::TrainedUser,
            Skill::FieldTechnician => SkillValue::FieldTechnician,
        }
    }
}

fn skill_of(word: &str) -> SkillValue {
    Skill::parse(word).unwrap_or(Skill::FieldTechnician).into()
}

fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 60.0
}

async fn name_of(ctx: &Context<'_>, user: Option<uuid::Uuid>) -> async_graphql::Result<Option<String>> {
    let Some(user) = user else { return Ok(None) };
    let mut conn = conn(ctx).await?;
    Ok(User::display_name_of(&mut conn, user).await.map_err(|e| ApiError::from_db("user", e))?)
}

/// A repair of one device's fault.
pub struct WorkOrderNode(pub WorkOrder);

#[Object(name = "WorkOrder")]
impl WorkOrderNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The device's customer.
    async fn tenant_id(&self) -> ID {
        ID(self.0.tenant_id.to_string())
    }
    async fn device_id(&self) -> ID {
        ID(self.0.device_id.to_string())
    }
    async fn device(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DeviceNode>> {
        load_device(ctx, self.0.device_id).await
    }
    /// The alert it repairs (its latest, when the fault came back).
    async fn alert_id(&self) -> Option<ID> {
        self.0.alert_id.map(|a| ID(a.to_string()))
    }
    /// The rule that opened it (null: opened by a person or an integration).
    async fn rule_id(&self) -> Option<ID> {
        self.0.rule_id.map(|r| ID(r.to_string()))
    }
    /// Who opened it (null: a rule or an API token).
    async fn opened_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        name_of(ctx, self.0.opened_by).await
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The fault as the catalogue knows it now.
    async fn fault(&self, ctx: &Context<'_>) -> FaultInfo {
        let catalogue = &state(ctx).ingestor.profiles().catalogue;
        FaultInfo::of(catalogue.of_type(&self.0.fault_type), None)
    }
    /// Who can do the repair: the more demanding of the device's training level and the
    /// fault's (as estimated at opening).
    async fn skill(&self) -> SkillValue {
        skill_of(&self.0.skill)
    }
    /// A service technician must come.
    async fn specialist_needed(&self) -> bool {
        self.0.specialist
    }
    async fn estimated_minutes(&self) -> i32 {
        self.0.estimated_minutes
    }
    /// The minutes at the skill's hourly rate (null: no rate is set for the skill).
    async fn estimated_labour(&self) -> Option<String> {
        self.0.estimated_labour.map(|l| format_money(l, 2))
    }
    async fn estimated_parts(&self) -> String {
        format_money(self.0.estimated_parts, 2)
    }
    /// Labour and parts (null while labour has no rate).
    async fn estimated_cost(&self) -> Option<String> {
        self.0.estimated_labour.map(|l| format_money(l + self.0.estimated_parts, 2))
    }
    async fn status(&self) -> StatusValue {
        self.0.status().into()
    }
    async fn assignee_id(&self) -> Option<ID> {
        self.0.assignee_id.map(|u| ID(u.to_string()))
    }
    async fn assignee_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        name_of(ctx, self.0.assignee_id).await
    }
    async fn opened_at(&self) -> DateTime<Utc> {
        self.0.opened_at
    }
    /// When the device first reported the fault.
    async fn fault_started_at(&self) -> DateTime<Utc> {
        self.0.fault_started_at
    }
    /// When the device stopped reporting it.
    async fn fault_cleared_at(&self) -> Option<DateTime<Utc>> {
        self.0.fault_cleared_at
    }
    /// The fault cleared in telemetry: someone should confirm and close.
    async fn close_proposed(&self) -> bool {
        self.0.close_proposed
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// From the first report of the fault to its clearing (or the closing), in minutes; null
    /// while neither happened.
    async fn time_to_repair_minutes(&self) -> Option<f64> {
        let end = self.0.fault_cleared_at.or(self.0.closed_at)?;
        Some(minutes_between(self.0.fault_started_at, end))
    }
    /// What the repair took, recorded at closing.
    async fn labour_minutes(&self) -> Option<i32> {
        self.0.labour_minutes
    }
    async fn parts_cost(&self) -> Option<String> {
        self.0.parts_cost.map(|p| format_money(p, 2))
    }
    /// Its history, oldest first.
    async fn events(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WorkOrderEventNode>> {
        let mut conn = conn(ctx).await?;
        let events = WorkOrder::events(&mut conn, self.0.id).await.map_err(|e| ApiError::from_db("work order", e))?;
        Ok(events.into_iter().map(WorkOrderEventNode).collect())
    }
}

/// One step of a work order's history.
pub struct WorkOrderEventNode(WorkOrderEvent);

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum WorkOrderEventKind {
    Opened,
    Status,
    Assigned,
    Comment,
    /// Telemetry: the device stopped reporting the fault.
    Cleared,
    /// Telemetry: the fault cleared, closing is proposed.
    CloseProposed,
}

#[Object(name = "WorkOrderEvent")]
impl WorkOrderEventNode {
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn kind(&self) -> WorkOrderEventKind {
        match self.0.kind.as_str() {
            "opened" => WorkOrderEventKind::Opened,
            "status" => WorkOrderEventKind::Status,
            "assigned" => WorkOrderEventKind::Assigned,
            "cleared" => WorkOrderEventKind::Cleared,
            "close_proposed" => WorkOrderEventKind::CloseProposed,
            _ => WorkOrderEventKind::Comment,
        }
    }
    /// Who did it (null: the platform, a rule or telemetry, or an API token).
    async fn actor_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        name_of(ctx, self.0.actor_id).await
    }
    async fn from_status(&self) -> Option<StatusValue> {
        self.0.from_status.as_deref().and_then(|s| Status::parse(s).ok()).map(Into::into)
    }
    async fn to_status(&self) -> Option<StatusValue> {
        self.0.to_status.as_deref().and_then(|s| Status::parse(s).ok()).map(Into::into)
    }
    /// For an assignment: who was given it (null: taken off).
    async fn assignee_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        name_of(ctx, self.0.assignee_id).await
    }
    async fn body(&self) -> Option<&str> {
        self.0.body.as_deref()
    }
}

/// A rule that opens work orders for new alerts by itself.
pub struct WorkOrderRuleNode(WorkOrderRule);

#[Object(name = "WorkOrderRule")]
impl WorkOrderRuleNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn tenant_id(&self) -> ID {
        ID(self.0.tenant_id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Only this fault type (null: any repair).
    async fn fault_type(&self) -> Option<&str> {
        self.0.fault_type.as_deref()
    }
    /// critical, or warning (warnings and criticals).
    async fn min_severity(&self) -> &str {
        &self.0.min_severity
    }
    async fn min_skill(&self) -> Option<SkillValue> {
        self.0.min_skill.as_deref().map(skill_of)
    }
    /// Closes its work orders by itself once the fault cleared and pages print again (else
    /// proposes closing).
    async fn close_when_cleared(&self) -> bool {
        self.0.close_when_cleared
    }
}

#[derive(InputObject)]
pub struct WorkOrderRuleInput {
    /// Whose devices (and customers'); omitted: your own tenant.
    pub tenant_id: Option<ID>,
    pub name: String,
    /// A fault type of the catalogue; omitted: any repair.
    pub fault_type: Option<String>,
    /// critical (default) or warning.
    #[graphql(default_with = "\"critical\".to_owned()")]
    pub min_severity: String,
    pub min_skill: Option<SkillValue>,
    #[graphql(default)]
    pub close_when_cleared: bool,
}

#[derive(SimpleObject)]
pub struct LabourRateNode {
    pub skill: SkillValue,
    /// Per hour, a decimal string.
    pub hourly_rate: String,
    pub currency: String,
}

fn rate_nodes(rates: Vec<LabourRate>) -> Vec<LabourRateNode> {
    rates
        .into_iter()
        .map(|r| LabourRateNode {
            skill: skill_of(&r.skill),
            hourly_rate: format_money(r.hourly_rate, 2),
            currency: r.currency,
        })
        .collect()
}

#[derive(InputObject)]
pub struct OpenWorkOrderInput {
    pub device_id: ID,
    /// The device's alert to repair (its fault, training level and start are used).
    pub alert_id: Option<ID>,
    /// A fault type of the catalogue, when there is no alert (default: other).
    pub fault_type: Option<String>,
    pub title: Option<String>,
    pub assignee_id: Option<ID>,
    pub comment: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateWorkOrderInput {
    pub status: Option<StatusValue>,
    /// A user of the customer or of its dealer; null takes the assignee off.
    pub assignee_id: MaybeUndefined<ID>,
    pub comment: Option<String>,
    /// What the repair took, when closing.
    pub labour_minutes: Option<i32>,
    /// Parts used, when closing (a decimal string).
    pub parts_cost: Option<String>,
}

#[derive(InputObject, Default)]
pub struct WorkOrderFilterInput {
    /// Not closed or cancelled (true), or only those (false).
    pub open: Option<bool>,
    pub status: Option<StatusValue>,
    pub device_id: Option<ID>,
    pub site_id: Option<ID>,
    pub assignee_id: Option<ID>,
    pub specialist_needed: Option<bool>,
}

/// A count under a name.
#[derive(SimpleObject)]
pub struct Tally {
    pub key: String,
    pub count: i32,
}

/// Open faults of a site (null: devices without a site).
#[derive(SimpleObject)]
pub struct SiteTally {
    pub site_id: Option<ID>,
    pub count: i32,
}

/// The repair faults open now (consumables and informational alerts left to the supplies side).
#[derive(SimpleObject)]
pub struct MaintenanceDashboard {
    pub open_faults: i32,
    /// Of which have an open work order.
    pub with_work_order: i32,
    pub specialist_needed: i32,
    /// critical, warning.
    pub by_severity: Vec<Tally>,
    /// user, trained_user, field_technician.
    pub by_skill: Vec<Tally>,
    /// under_1h, under_1d, under_1w, older.
    pub by_age: Vec<Tally>,
    pub by_site: Vec<SiteTally>,
    /// Fault types, most frequent first.
    pub by_fault: Vec<Tally>,
}

#[derive(SimpleObject)]
pub struct FaultDurationNode {
    pub fault_type: String,
    pub title: String,
    pub count: i32,
    pub mean_minutes: f64,
    pub median_minutes: f64,
    pub p90_minutes: f64,
    pub longest_minutes: f64,
}

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn tallies(map: std::collections::BTreeMap<String, i64>) -> Vec<Tally> {
    let mut out: Vec<Tally> = map.into_iter().map(|(key, n)| Tally { key, count: count(n) }).collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    out
}

#[derive(Default)]
pub struct WorkOrderQuery;

#[Object]
impl WorkOrderQuery {
    /// Visible work orders, newest first.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn work_orders(
        &self,
        ctx: &Context<'_>,
        filter: Option<WorkOrderFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, WorkOrderNode>> {
        let actor = actor(ctx)?;
        let input = filter.unwrap_or_default();
        let filter = WorkOrderFilter {
            open: input.open,
            status: input.status.map(Into::into),
            device: input.device_id.as_ref().map(|d| parse_id("filter.deviceId", d)).transpose()?,
            site: input.site_id.as_ref().map(|s| parse_id("filter.siteId", s)).transpose()?,
            assignee: input.assignee_id.as_ref().map(|u| parse_id("filter.assigneeId", u)).transpose()?,
            specialist: input.specialist_needed,
        };
        let request = page_request(first, after)?;
        if request.after.as_ref().is_some_and(|a| a.key.parse::<DateTime<Utc>>().is_err()) {
            return Err(ApiError::validation("after", "this cursor is not one the API gave out").into());
        }
        let mut conn = conn(ctx).await?;
        let (rows, more) = WorkOrder::page(&mut conn, &actor.scope, &filter, &request)
            .await
            .map_err(|e| ApiError::from_db("work order", e))?;
        Ok(connection(
            rows,
            more,
            request.after.is_some(),
            |w| Keyset { key: w.opened_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), id: w.id },
            WorkOrderNode,
        ))
    }

    async fn work_order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WorkOrderNode> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let order =
            WorkOrder::find(&mut conn, &actor.scope, id).await.map_err(|e| ApiError::from_db("work order", e))?;
        Ok(WorkOrderNode(order))
    }

    /// The repair faults open now, counted by severity, skill needed, age, site and type.
    async fn maintenance_dashboard(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
    ) -> async_graphql::Result<MaintenanceDashboard> {
        let actor = actor(ctx)?;
        let site = site_id.as_ref().map(|s| parse_id("siteId", s)).transpose()?;
        let mut conn = conn(ctx).await?;
        let groups = db::open_fault_groups(&mut conn, &actor.scope, site, Utc::now())
            .await
            .map_err(|e| ApiError::from_db("alert", e))?;
        let catalogue = &state(ctx).ingestor.profiles().catalogue;
        let mut dashboard = MaintenanceDashboard {
            open_faults: 0,
            with_work_order: 0,
            specialist_needed: 0,
            by_severity: Vec::new(),
            by_skill: Vec::new(),
            by_age: Vec::new(),
            by_site: Vec::new(),
            by_fault: Vec::new(),
        };
        let (mut severity, mut skill, mut age, mut fault_types) = Default::default();
        let mut sites: std::collections::BTreeMap<Option<uuid::Uuid>, i64> = Default::default();
        let (mut total, mut with_order, mut specialist) = (0i64, 0i64, 0i64);
        for group in groups {
            let fault = catalogue.of_type(&group.fault_type);
            if !fault.maintenance {
                continue;
            }
            let who = fault.who_fixes(group.training_level.as_deref());
            total += group.count;
            with_order += group.with_work_order;
            if who == Skill::FieldTechnician {
                specialist += group.count;
            }
            let add = |map: &mut std::collections::BTreeMap<String, i64>, key: &str| {
                *map.entry(key.to_owned()).or_default() += group.count;
            };
            add(&mut severity, &group.severity);
            add(&mut skill, who.name());
            add(&mut age, ["under_1h", "under_1d", "under_1w", "older"][group.age.clamp(0, 3) as usize]);
            add(&mut fault_types, &fault.fault_type);
            *sites.entry(group.site_id).or_default() += group.count;
        }
        dashboard.open_faults = count(total);
        dashboard.with_work_order = count(with_order);
        dashboard.specialist_needed = count(specialist);
        dashboard.by_severity = tallies(severity);
        dashboard.by_skill = tallies(skill);
        dashboard.by_age = tallies(age);
        dashboard.by_fault = tallies(fault_types);
        let mut by_site: Vec<SiteTally> = sites
            .into_iter()
            .map(|(site, n)| SiteTally { site_id: site.map(|s| ID(s.to_string())), count: count(n) })
            .collect();
        by_site.sort_by_key(|s| std::cmp::Reverse(s.count));
        dashboard.by_site = by_site;
        Ok(dashboard)
    }

    /// How long faults that ended in [from, to) lasted, per fault type (one device's, or every
    /// visible device's).
    async fn fault_durations(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        device_id: Option<ID>,
    ) -> async_graphql::Result<Vec<FaultDurationNode>> {
        let actor = actor(ctx)?;
        if to <= from {
            return Err(ApiError::validation("to", "the period ends before it starts").into());
        }
        let device = device_id.as_ref().map(|d| parse_id("deviceId", d)).transpose()?;
        let mut conn = conn(ctx).await?;
        let rows = db::fault_durations(&mut conn, &actor.scope, from, to, device)
            .await
            .map_err(|e| ApiError::from_db("alert", e))?;
        let catalogue = &state(ctx).ingestor.profiles().catalogue;
        Ok(rows
            .into_iter()
            .map(|r| FaultDurationNode {
                title: catalogue.of_type(&r.fault_type).title.clone(),
                fault_type: r.fault_type,
                count: count(r.count),
                mean_minutes: r.mean_minutes,
                median_minutes: r.median_minutes,
                p90_minutes: r.p90_minutes,
                longest_minutes: r.longest_minutes,
            })
            .collect())
    }

    /// Rules you may see, oldest first.
    async fn work_order_rules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WorkOrderRuleNode>> {
        let actor = actor(ctx)?;
        let mut conn = conn(ctx).await?;
        let rules = WorkOrderRule::list(&mut conn, &actor.scope).await.map_err(|e| ApiError::from_db("rule", e))?;
        Ok(rules.into_iter().map(WorkOrderRuleNode).collect())
    }

    /// The labour rates a tenant set (its customers use the nearest tenant's up the tree).
    async fn labour_rates(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
    ) -> async_graphql::Result<Vec<LabourRateNode>> {
        let actor = actor(ctx)?;
        let tenant = tenant_id.as_ref().map(|t| parse_id("tenantId", t)).transpose()?.unwrap_or(actor.tenant_id);
        let mut conn = conn(ctx).await?;
        let rates =
            LabourRate::of_tenant(&mut conn, &actor.scope, tenant).await.map_err(|e| ApiError::from_db("tenant", e))?;
        Ok(rate_nodes(rates))
    }
}

fn text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(ApiError::validation(field, format!("at most {max} characters")));
    }
    Ok(Some(value))
}

fn assignee_error(field: &str, err: AssigneeError) -> ApiError {
    ApiError::validation(field, err)
}

#[derive(Default)]
pub struct WorkOrderMutation;

#[Object]
impl WorkOrderMutation {
    /// Opens a work order for a device's alert or fault. Technicians and above. An alert that
    /// already has one is refused (VALIDATION on `alertId`, naming it).
    async fn open_work_order(
        &self,
        ctx: &Context<'_>,
        input: OpenWorkOrderInput,
    ) -> async_graphql::Result<WorkOrderNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Technician, "opening a work order")?;
        let catalogue = state(ctx).ingestor.profiles().catalogue.clone();
        let fault_type = text("faultType", input.fault_type, 60)?;
        if let Some(kind) = &fault_type
            && catalogue.get(kind).is_none()
        {
            let known: Vec<&str> = catalogue.faults().iter().map(|f| f.fault_type.as_str()).collect();
            return Err(ApiError::validation(
                "faultType",
                format!("unknown fault type {kind:?}: expected one of {}", known.join(", ")),
            )
            .into());
        }
        let request = OpenRequest {
            device_id: parse_id("deviceId", &input.device_id)?,
            alert_id: input.alert_id.as_ref().map(|a| parse_id("alertId", a)).transpose()?,
            fault_type,
            title: text("title", input.title, 200)?,
            assignee_id: input.assignee_id.as_ref().map(|u| parse_id("assigneeId", u)).transpose()?,
            comment: text("comment", input.comment, 4000)?,
        };
        let mut conn = conn(ctx).await?;
        match WorkOrder::open(&mut conn, &actor.scope, &catalogue, actor.user_id(), request).await {
            Ok(order) => Ok(WorkOrderNode(order)),
            Err(OpenError::AlertElsewhere) => {
                Err(ApiError::validation("alertId", "this alert is another device's").into())
            }
            Err(OpenError::AlreadyOpen(id)) => {
                Err(ApiError::validation("alertId", format!("this alert already has work order {id}")).into())
            }
            Err(OpenError::Assignee(e)) => Err(assignee_error("assigneeId", e).into()),
            Err(OpenError::Db(diesel::result::Error::NotFound)) => Err(ApiError::NotFound("device or alert").into()),
            Err(OpenError::Db(e)) => Err(ApiError::from_db("work order", e).into()),
        }
    }

    /// Moves a work order on: status, assignee, a comment, what the repair took (when closing).
    /// Technicians and above.
    async fn update_work_order(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWorkOrderInput,
    ) -> async_graphql::Result<WorkOrderNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Technician, "changing a work order")?;
        let id = parse_id("id", &id)?;
        let assignee = match input.assignee_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(u) => Some(Some(parse_id("assigneeId", &u)?)),
        };
        if let Some(minutes) = input.labour_minutes
            && !(0..=100_000).contains(&minutes)
        {
            return Err(ApiError::validation("labourMinutes", "between 0 and 100,000 minutes").into());
        }
        let parts_cost = input
            .parts_cost
            .as_deref()
            .map(parse_money)
            .transpose()
            .map_err(|e| ApiError::validation("partsCost", e))?;
        let change = Change {
            status: input.status.map(Into::into),
            assignee,
            comment: text("comment", input.comment, 4000)?,
            labour_minutes: input.labour_minutes,
            parts_cost,
        };
        let mut conn = conn(ctx).await?;
        match WorkOrder::change(&mut conn, &actor.scope, id, actor.user_id(), change).await {
            Ok(order) => Ok(WorkOrderNode(order)),
            Err(ChangeError::Status(e)) => Err(ApiError::validation("status", e).into()),
            Err(ChangeError::Assignee(e)) => Err(assignee_error("assigneeId", e).into()),
            Err(ChangeError::ActualsBeforeClosing) => Err(ApiError::validation(
                "labourMinutes",
                "what the repair took is recorded when closing (status CLOSED)",
            )
            .into()),
            Err(ChangeError::Nothing) => {
                Err(ApiError::validation("input", "nothing to change: give a status, an assignee or a comment").into())
            }
            Err(ChangeError::Db(e)) => Err(ApiError::from_db("work order", e).into()),
        }
    }

    /// Creates a rule that opens work orders for new alerts. Managers and admins.
    async fn create_work_order_rule(
        &self,
        ctx: &Context<'_>,
        input: WorkOrderRuleInput,
    ) -> async_graphql::Result<WorkOrderRuleNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "creating a work order rule")?;
        let name = DisplayName::parse(&input.name).map_err(|e| ApiError::validation("name", e))?;
        let tenant = input.tenant_id.as_ref().map(|t| parse_id("tenantId", t)).transpose()?.unwrap_or(actor.tenant_id);
        let fault_type = text("faultType", input.fault_type, 60)?;
        let catalogue = &state(ctx).ingestor.profiles().catalogue;
        if let Some(kind) = &fault_type {
            match catalogue.get(kind) {
                None => {
                    return Err(ApiError::validation("faultType", format!("unknown fault type {kind:?}")).into());
                }
                Some(f) if !f.maintenance => {
                    return Err(ApiError::validation(
                        "faultType",
                        format!("{kind:?} is a consumable or informational fault, not a repair"),
                    )
                    .into());
                }
                Some(_) => {}
            }
        }
        let severity = input.min_severity.trim().to_lowercase();
        if !["critical", "warning"].contains(&severity.as_str()) {
            return Err(ApiError::validation("minSeverity", "critical or warning").into());
        }
        let new = NewWorkOrderRule {
            tenant_id: tenant,
            name: name.into_inner(),
            fault_type,
            min_severity: severity,
            min_skill: input.min_skill.map(|s| Skill::from(s).name().to_owned()),
            close_when_cleared: input.close_when_cleared,
        };
        let mut conn = conn(ctx).await?;
        let rule =
            WorkOrderRule::create(&mut conn, &actor.scope, new).await.map_err(|e| ApiError::from_db("tenant", e))?;
        Ok(WorkOrderRuleNode(rule))
    }

    async fn delete_work_order_rule(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "deleting a work order rule")?;
        let mut conn = conn(ctx).await?;
        let rule = WorkOrderRule::delete(&mut conn, &actor.scope, parse_id("id", &id)?)
            .await
            .map_err(|e| ApiError::from_db("rule", e))?;
        Ok(ID(rule.id.to_string()))
    }

    /// Sets what an hour of a skill costs for a tenant's devices and its customers' (null
    /// removes it). Managers and admins.
    async fn set_labour_rate(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
        skill: SkillValue,
        hourly_rate: Option<String>,
        #[graphql(default_with = "\"EUR\".to_owned()")] currency: String,
    ) -> async_graphql::Result<Vec<LabourRateNode>> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "setting a labour rate")?;
        let tenant = tenant_id.as_ref().map(|t| parse_id("tenantId", t)).transpose()?.unwrap_or(actor.tenant_id);
        let currency = currency.trim().to_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(ApiError::validation("currency", format!("{currency:?} is not an ISO 4217 code (EUR)")).into());
        }
        let rate =
            hourly_rate.as_deref().map(parse_money).transpose().map_err(|e| ApiError::validation("hourlyRate", e))?;
        let mut conn = conn(ctx).await?;
        LabourRate::set(&mut conn, &actor.scope, tenant, skill.into(), rate.map(|r| (r, currency)))
            .await
            .map_err(|e| ApiError::from_db("tenant", e))?;
        let rates =
            LabourRate::of_tenant(&mut conn, &actor.scope, tenant).await.map_err(|e| ApiError::from_db("tenant", e))?;
        Ok(rate_nodes(rates))
    }
}

/// A work order changed.
#[derive(SimpleObject)]
pub struct WorkOrderChange {
    pub work_order_id: ID,
    /// As it is now (null when gone).
    pub work_order: Option<WorkOrderNode>,
}

#[derive(Default)]
pub struct WorkOrderSubscription;

#[Subscription]
impl WorkOrderSubscription {
    /// A work order of your tenants was opened or changed (by a person, a rule or telemetry),
    /// from any api replica or worker.
    async fn work_order_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = WorkOrderChange> + use<>> {
        let actor = actor(ctx)?.clone();
        let state = state(ctx).clone();
        let scope = actor.scope.clone();
        Ok(state
            .events
            .subscribe_shared()
            .filter(move |d| {
                std::future::ready(d.event.entity == Entity::WorkOrder && scope.contains(d.event.tenant_id))
            })
            .then(move |delivered| {
                let state = state.clone();
                let scope = actor.scope.clone();
                async move {
                    let id = delivered.event.id;
                    let order = match state.pool.get().await {
                        Ok(mut conn) => WorkOrder::find(&mut conn, &scope, id).await.ok(),
                        Err(_) => None,
                    };
                    WorkOrderChange { work_order_id: ID(id.to_string()), work_order: order.map(WorkOrderNode) }
                }
            }))
    }
}
