//! The GraphQL types of faults to repairs: work orders and their steps, rules, labour rates,
//! the maintenance dashboard and fault durations.

use super::*;
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

pub(super) fn skill_of(word: &str) -> SkillValue {
    Skill::parse(word).unwrap_or(Skill::FieldTechnician).into()
}

pub(super) fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 60.0
}

pub(super) async fn name_of(ctx: &Context<'_>, user: Option<uuid::Uuid>) -> async_graphql::Result<Option<String>> {
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
pub struct WorkOrderEventNode(pub WorkOrderEvent);

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
pub struct WorkOrderRuleNode(pub WorkOrderRule);

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

pub(super) fn rate_nodes(rates: Vec<LabourRate>) -> Vec<LabourRateNode> {
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

pub(super) fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(super) fn tallies(map: std::collections::BTreeMap<String, i64>) -> Vec<Tally> {
    let mut out: Vec<Tally> = map.into_iter().map(|(key, n)| Tally { key, count: count(n) }).collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    out
}
