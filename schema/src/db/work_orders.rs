//! Work orders: opened for a device's fault by a person or by a tenant's rule, priced from the
//! fault catalogue at the labour rates up the tenant tree, moved through their workflow (every
//! step an event), and followed in telemetry: a fault that cleared proposes closing, and a rule
//! may close it once the counters move again. Every change notifies the api replicas
//! (`pg_notify` in the change's transaction).
//!
//! The maintenance worker calls [`triage`] (new alerts against the rules) and [`follow`]
//! (cleared faults); both lock what they take (`FOR UPDATE SKIP LOCKED`), so several workers
//! never handle one alert or one work order twice.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::billing::Micros;
use crate::db::page::{self, PageRequest};
use crate::db::schema::{devices, labour_rates, work_order_events, work_order_rules, work_orders};
use crate::db::scope::Scope;
use crate::maintenance::{self, Estimate, Rule, Status};
use crate::profiles::catalogue::{FaultCatalogue, Skill};

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = work_orders)]
pub struct WorkOrder {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub device_id: Uuid,
    pub alert_id: Option<Uuid>,
    pub rule_id: Option<Uuid>,
    pub fault_type: String,
    pub title: String,
    pub skill: String,
    pub specialist: bool,
    pub estimated_minutes: i32,
    pub estimated_labour: Option<i64>,
    pub estimated_parts: i64,
    pub status: String,
    pub assignee_id: Option<Uuid>,
    pub opened_by: Option<Uuid>,
    pub opened_at: DateTime<Utc>,
    pub fault_started_at: DateTime<Utc>,
    pub fault_cleared_at: Option<DateTime<Utc>>,
    pub close_proposed: bool,
    pub closed_at: Option<DateTime<Utc>>,
    pub labour_minutes: Option<i32>,
    pub parts_cost: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = work_orders)]
struct NewRow<'a> {
    tenant_id: Uuid,
    device_id: Uuid,
    alert_id: Option<Uuid>,
    rule_id: Option<Uuid>,
    fault_type: &'a str,
    title: &'a str,
    skill: &'static str,
    specialist: bool,
    estimated_minutes: i32,
    estimated_labour: Option<i64>,
    estimated_parts: i64,
    status: &'static str,
    assignee_id: Option<Uuid>,
    opened_by: Option<Uuid>,
    fault_started_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = work_order_events)]
pub struct WorkOrderEvent {
    pub id: i64,
    pub work_order_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    /// opened, status, assigned, comment, cleared, close_proposed.
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub body: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = work_order_events)]
struct NewEvent<'a> {
    work_order_id: Uuid,
    actor_id: Option<Uuid>,
    kind: &'static str,
    from_status: Option<&'a str>,
    to_status: Option<&'a str>,
    assignee_id: Option<Uuid>,
    body: Option<&'a str>,
}

impl<'a> NewEvent<'a> {
    fn new(work_order_id: Uuid, actor_id: Option<Uuid>, kind: &'static str) -> NewEvent<'a> {
        NewEvent { work_order_id, actor_id, kind, from_status: None, to_status: None, assignee_id: None, body: None }
    }
}

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = work_order_rules)]
pub struct WorkOrderRule {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub fault_type: Option<String>,
    pub min_severity: String,
    pub min_skill: Option<String>,
    pub close_when_cleared: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = work_order_rules)]
pub struct NewWorkOrderRule {
    pub tenant_id: Uuid,
    pub name: String,
    pub fault_type: Option<String>,
    pub min_severity: String,
    pub min_skill: Option<String>,
    pub close_when_cleared: bool,
}

impl WorkOrderRule {
    fn rule(&self) -> Rule {
        Rule {
            fault_type: self.fault_type.clone(),
            min_severity: self.min_severity.clone(),
            min_skill: self.min_skill.as_deref().and_then(Skill::parse),
        }
    }

    pub async fn create(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        new: NewWorkOrderRule,
    ) -> QueryResult<WorkOrderRule> {
        scope.require(new.tenant_id)?;
        diesel::insert_into(work_order_rules::table)
            .values(&new)
            .returning(WorkOrderRule::as_returning())
            .get_result(conn)
            .await
    }

    /// Visible rules, oldest first.
    pub async fn list(conn: &mut AsyncPgConnection, scope: &Scope) -> QueryResult<Vec<WorkOrderRule>> {
        work_order_rules::table
            .filter(work_order_rules::tenant_id.eq_any(scope.tenant_ids()))
            .select(WorkOrderRule::as_select())
            .order_by((work_order_rules::created_at, work_order_rules::id))
            .load(conn)
            .await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<WorkOrderRule> {
        diesel::delete(work_order_rules::table.find(id).filter(work_order_rules::tenant_id.eq_any(scope.tenant_ids())))
            .returning(WorkOrderRule::as_returning())
            .get_result(conn)
            .await
    }
}

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = labour_rates)]
pub struct LabourRate {
    pub tenant_id: Uuid,
    pub skill: String,
    pub hourly_rate: i64,
    pub currency: String,
}

impl LabourRate {
    /// Sets (or with `None` removes) a tenant's rate for a skill.
    pub async fn set(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        tenant: Uuid,
        skill: Skill,
        rate: Option<(Micros, String)>,
    ) -> QueryResult<()> {
        scope.require(tenant)?;
        let target =
            labour_rates::table.filter(labour_rates::tenant_id.eq(tenant)).filter(labour_rates::skill.eq(skill.name()));
        match rate {
            None => diesel::delete(target).execute(conn).await.map(drop),
            Some((hourly_rate, currency)) => diesel::insert_into(labour_rates::table)
                .values((
                    labour_rates::tenant_id.eq(tenant),
                    labour_rates::skill.eq(skill.name()),
                    labour_rates::hourly_rate.eq(hourly_rate),
                    labour_rates::currency.eq(&currency),
                ))
                .on_conflict((labour_rates::tenant_id, labour_rates::skill))
                .do_update()
                .set((labour_rates::hourly_rate.eq(hourly_rate), labour_rates::currency.eq(&currency)))
                .execute(conn)
                .await
                .map(drop),
        }
    }

    /// The rates a tenant set itself.
    pub async fn of_tenant(conn: &mut AsyncPgConnection, scope: &Scope, tenant: Uuid) -> QueryResult<Vec<LabourRate>> {
        scope.require(tenant)?;
        labour_rates::table
            .filter(labour_rates::tenant_id.eq(tenant))
            .select(LabourRate::as_select())
            .order_by(labour_rates::skill)
            .load(conn)
            .await
    }
}

/// The rate each of `tenants` pays per skill: its own, else the nearest up the tree.
pub async fn rates_for(conn: &mut AsyncPgConnection, tenants: &[Uuid]) -> QueryResult<HashMap<(Uuid, Skill), Micros>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        tenant_id: Uuid,
        #[diesel(sql_type = Text)]
        skill: String,
        #[diesel(sql_type = BigInt)]
        hourly_rate: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "{UP} SELECT DISTINCT ON (up.tenant_id, r.skill) up.tenant_id, r.skill, r.hourly_rate \
         FROM up JOIN labour_rates r ON r.tenant_id = up.ancestor_id \
         ORDER BY up.tenant_id, r.skill, up.depth"
    ))
    .bind::<Array<SqlUuid>, _>(tenants)
    .load(conn)
    .await?;
    Ok(rows.into_iter().filter_map(|r| Some(((r.tenant_id, Skill::parse(&r.skill)?), r.hourly_rate))).collect())
}

/// Each tenant of `$1` with itself and its ancestors (`depth` 0 for itself).
const UP: &str = "WITH RECURSIVE up(tenant_id, ancestor_id, depth) AS ( \
        SELECT id, id, 0 FROM tenants WHERE id = ANY($1) \
        UNION ALL \
        SELECT up.tenant_id, t.parent_id, up.depth + 1 FROM up JOIN tenants t ON t.id = up.ancestor_id \
        WHERE t.parent_id IS NOT NULL)";

/// The rules that apply to each of `tenants` (their own and their ancestors'), nearest first.
async fn rules_for(conn: &mut AsyncPgConnection, tenants: &[Uuid]) -> QueryResult<Vec<(Uuid, WorkOrderRule)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        applies_to: Uuid,
        #[diesel(embed)]
        rule: WorkOrderRuleByName,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "{UP} SELECT up.tenant_id AS applies_to, r.* FROM up JOIN work_order_rules r ON r.tenant_id = up.ancestor_id \
         ORDER BY up.tenant_id, up.depth, r.created_at, r.id"
    ))
    .bind::<Array<SqlUuid>, _>(tenants)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.applies_to, r.rule.into())).collect())
}

#[derive(QueryableByName)]
#[diesel(table_name = work_order_rules)]
struct WorkOrderRuleByName {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    fault_type: Option<String>,
    min_severity: String,
    min_skill: Option<String>,
    close_when_cleared: bool,
    created_at: DateTime<Utc>,
}

impl From<WorkOrderRuleByName> for WorkOrderRule {
    fn from(r: WorkOrderRuleByName) -> WorkOrderRule {
        WorkOrderRule {
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            fault_type: r.fault_type,
            min_severity: r.min_severity,
            min_skill: r.min_skill,
            close_when_cleared: r.close_when_cleared,
            created_at: r.created_at,
        }
    }
}

/// Queues the api replicas' change event of a work order (delivered at commit).
async fn notify(conn: &mut AsyncPgConnection, order: &WorkOrder, kind: &str) -> QueryResult<()> {
    diesel::sql_query(
        "SELECT pg_notify($1, json_build_object('entity', 'work_order', 'kind', $2::text, \
                'tenant_id', $3::uuid, 'id', $4::uuid)::text)",
    )
    .bind::<Text, _>(super::EVENTS_CHANNEL)
    .bind::<Text, _>(kind)
    .bind::<SqlUuid, _>(order.tenant_id)
    .bind::<SqlUuid, _>(order.id)
    .execute(conn)
    .await
    .map(drop)
}

/// What a person opens a work order for: a device's alert, or a device and a fault type.
#[derive(Clone, Debug)]
pub struct OpenRequest {
    pub device_id: Uuid,
    pub alert_id: Option<Uuid>,
    /// The catalogue's type (the alert's when an alert is given).
    pub fault_type: Option<String>,
    pub title: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub comment: Option<String>,
}

#[derive(Debug)]
pub enum OpenError {
    /// The alert belongs to another device.
    AlertElsewhere,
    /// This alert already has a work order (its id).
    AlreadyOpen(Uuid),
    Assignee(AssigneeError),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for OpenError {
    fn from(err: diesel::result::Error) -> OpenError {
        OpenError::Db(err)
    }
}

/// Why someone cannot be given a work order.
#[derive(Debug, PartialEq, Eq)]
pub enum AssigneeError {
    /// No such user where the work order's tenant can reach (its own or a parent's users).
    Unknown,
    Disabled,
    /// Viewers change nothing.
    Viewer,
}

impl std::fmt::Display for AssigneeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AssigneeError::Unknown => "no such user of this customer or of its dealer",
            AssigneeError::Disabled => "this user is disabled",
            AssigneeError::Viewer => "a viewer cannot be given work orders",
        })
    }
}

/// Checks that `user` may be given a work order of `tenant`: a user of the tenant or of a
/// tenant above it, enabled, and not a viewer.
async fn check_assignee(conn: &mut AsyncPgConnection, tenant: Uuid, user: Uuid) -> Result<(), OpenError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        role: String,
        #[diesel(sql_type = Bool)]
        disabled: bool,
    }
    let row: Option<Row> = diesel::sql_query(format!(
        "{UP} SELECT u.role, u.disabled_at IS NOT NULL AS disabled FROM users u \
         WHERE u.id = $2 AND u.tenant_id IN (SELECT ancestor_id FROM up)"
    ))
    .bind::<Array<SqlUuid>, _>(vec![tenant])
    .bind::<SqlUuid, _>(user)
    .get_result(conn)
    .await
    .optional()?;
    match row {
        None => Err(OpenError::Assignee(AssigneeError::Unknown)),
        Some(r) if r.disabled => Err(OpenError::Assignee(AssigneeError::Disabled)),
        Some(r) if r.role == "viewer" => Err(OpenError::Assignee(AssigneeError::Viewer)),
        Some(_) => Ok(()),
    }
}

fn estimate_row<'a>(
    tenant_id: Uuid,
    device_id: Uuid,
    fault_type: &'a str,
    title: &'a str,
    estimate: &Estimate,
) -> NewRow<'a> {
    NewRow {
        tenant_id,
        device_id,
        alert_id: None,
        rule_id: None,
        fault_type,
        title,
        skill: estimate.skill.name(),
        specialist: estimate.specialist,
        estimated_minutes: i32::try_from(estimate.minutes).unwrap_or(i32::MAX),
        estimated_labour: estimate.labour,
        estimated_parts: estimate.parts,
        status: Status::Open.name(),
        assignee_id: None,
        opened_by: None,
        fault_started_at: Utc::now(),
    }
}

#[derive(QueryableByName, Clone, Debug)]
struct AlertRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    device_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    tenant_id: Uuid,
    #[diesel(sql_type = Text)]
    severity: String,
    #[diesel(sql_type = Text)]
    fault_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    description: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    training_level: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    started_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    ended_at: Option<DateTime<Utc>>,
}

const ALERT_COLUMNS: &str = "a.id, a.device_id, a.tenant_id, a.severity, a.fault_type, a.description, a.training_level, a.started_at, a.ended_at";

impl WorkOrder {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Open)
    }

    /// Opens a work order by hand: for an alert (its fault, training level and start), or for a
    /// device and a fault type of the catalogue. The estimate uses the labour rates in force.
    pub async fn open(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        catalogue: &FaultCatalogue,
        actor: Option<Uuid>,
        request: OpenRequest,
    ) -> Result<WorkOrder, OpenError> {
        let device: (Uuid, Uuid) = devices::table
            .find(request.device_id)
            .filter(devices::tenant_id.eq_any(scope.tenant_ids()))
            .select((devices::id, devices::tenant_id))
            .get_result(conn)
            .await?;
        let tenant = device.1;
        conn.transaction(async |conn| {
            let alert: Option<AlertRow> = match request.alert_id {
                Some(alert) => {
                    let row: AlertRow =
                        diesel::sql_query(format!("SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.id = $1"))
                            .bind::<SqlUuid, _>(alert)
                            .get_result(conn)
                            .await?;
                    if row.device_id != device.0 {
                        return Err(OpenError::AlertElsewhere);
                    }
                    Some(row)
                }
                None => None,
            };
            if let Some(user) = request.assignee_id {
                check_assignee(conn, tenant, user).await?;
            }
            let fault_type = alert.as_ref().map(|a| a.fault_type.clone()).or(request.fault_type.clone());
            let fault = catalogue.of_type(fault_type.as_deref().unwrap_or("other"));
            let rates = rates_for(conn, &[tenant]).await?;
            let training = alert.as_ref().and_then(|a| a.training_level.as_deref());
            let estimate = maintenance::estimate(fault, training, |skill| rates.get(&(tenant, skill)).copied());
            let title = request
                .title
                .clone()
                .or_else(|| alert.as_ref().and_then(|a| a.description.clone()).filter(|d| !d.trim().is_empty()))
                .unwrap_or_else(|| fault.title.clone());
            let mut row = estimate_row(tenant, device.0, &fault.fault_type, &title, &estimate);
            row.alert_id = alert.as_ref().map(|a| a.id);
            row.opened_by = actor;
            row.assignee_id = request.assignee_id;
            if request.assignee_id.is_some() {
                row.status = Status::Assigned.name();
            }
            if let Some(alert) = &alert {
                row.fault_started_at = alert.started_at;
            }
            let inserted = diesel::insert_into(work_orders::table)
                .values(&row)
                .returning(WorkOrder::as_returning())
                .get_result(conn)
                .await;
            let order = match (inserted, alert.as_ref()) {
                (Ok(order), _) => order,
                (
                    Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)),
                    Some(alert),
                ) => {
                    let existing: Uuid = work_orders::table
                        .filter(work_orders::alert_id.eq(alert.id))
                        .select(work_orders::id)
                        .get_result(conn)
                        .await?;
                    return Err(OpenError::AlreadyOpen(existing));
                }
                (Err(err), _) => return Err(err.into()),
            };
            let mut events =
                vec![NewEvent { body: request.comment.as_deref(), ..NewEvent::new(order.id, actor, "opened") }];
            if let Some(user) = request.assignee_id {
                events.push(NewEvent { assignee_id: Some(user), ..NewEvent::new(order.id, actor, "assigned") });
            }
            diesel::insert_into(work_order_events::table).values(&events).execute(conn).await?;
            notify(conn, &order, "created").await?;
            Ok(order)
        })
        .await
    }

    pub async fn find(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<WorkOrder> {
        work_orders::table
            .find(id)
            .filter(work_orders::tenant_id.eq_any(scope.tenant_ids()))
            .select(WorkOrder::as_select())
            .get_result(conn)
            .await
    }

    /// Any work order by id, whoever's (the api's event fan-out checks scope itself).
    pub async fn find_any(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<WorkOrder> {
        work_orders::table.find(id).select(WorkOrder::as_select()).get_result(conn).await
    }

    /// Visible work orders, newest first: (opened_at, id) keyset (`key`: RFC 3339).
    pub async fn page(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        filter: &WorkOrderFilter,
        request: &PageRequest,
    ) -> QueryResult<(Vec<WorkOrder>, bool)> {
        let mut query = work_orders::table
            .inner_join(devices::table)
            .filter(work_orders::tenant_id.eq_any(scope.tenant_ids()))
            .select(WorkOrder::as_select())
            .order_by((work_orders::opened_at.desc(), work_orders::id.desc()))
            .limit(request.limit())
            .into_boxed();
        match filter.open {
            Some(true) => query = query.filter(work_orders::closed_at.is_null()),
            Some(false) => query = query.filter(work_orders::closed_at.is_not_null()),
            None => {}
        }
        if let Some(status) = filter.status {
            query = query.filter(work_orders::status.eq(status.name()));
        }
        if let Some(device) = filter.device {
            query = query.filter(work_orders::device_id.eq(device));
        }
        if let Some(site) = filter.site {
            query = query.filter(devices::site_id.eq(site));
        }
        if let Some(user) = filter.assignee {
            query = query.filter(work_orders::assignee_id.eq(user));
        }
        if let Some(specialist) = filter.specialist {
            query = query.filter(work_orders::specialist.eq(specialist));
        }
        if let Some(after) = &request.after {
            let opened: DateTime<Utc> = after.key.parse().map_err(|_| diesel::result::Error::NotFound)?;
            query = query.filter(
                work_orders::opened_at
                    .lt(opened)
                    .or(work_orders::opened_at.eq(opened).and(work_orders::id.lt(after.id))),
            );
        }
        Ok(page::finish(query.load(conn).await?, request))
    }

    /// Its history, oldest first.
    pub async fn events(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<WorkOrderEvent>> {
        work_order_events::table
            .filter(work_order_events::work_order_id.eq(id))
            .select(WorkOrderEvent::as_select())
            .order_by(work_order_events::id)
            .load(conn)
            .await
    }

    /// Applies a person's change (status, assignee, comment, what the repair took) in one
    /// transaction, the work order locked; each part is an event. Assigning someone to an
    /// open work order makes it assigned; taking the assignee off an assigned one reopens it.
    pub async fn change(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        id: Uuid,
        actor: Option<Uuid>,
        change: Change,
    ) -> Result<WorkOrder, ChangeError> {
        conn.transaction(async |conn| {
            let order: WorkOrder = work_orders::table
                .find(id)
                .filter(work_orders::tenant_id.eq_any(scope.tenant_ids()))
                .select(WorkOrder::as_select())
                .for_update()
                .get_result(conn)
                .await?;
            let mut events: Vec<NewEvent<'_>> = Vec::new();
            let mut assignee = order.assignee_id;
            if let Some(new) = change.assignee
                && new != order.assignee_id
            {
                if let Some(user) = new {
                    check_assignee(conn, order.tenant_id, user).await.map_err(|e| match e {
                        OpenError::Assignee(e) => ChangeError::Assignee(e),
                        OpenError::Db(e) => ChangeError::Db(e),
                        _ => ChangeError::Db(diesel::result::Error::NotFound),
                    })?;
                }
                assignee = new;
                events.push(NewEvent { assignee_id: new, ..NewEvent::new(id, actor, "assigned") });
            }
            let from = order.status();
            let to = match change.status {
                Some(to) => {
                    from.check_move(to, assignee.is_some()).map_err(ChangeError::Status)?;
                    to
                }
                None if from == Status::Open && assignee.is_some() && order.assignee_id.is_none() => Status::Assigned,
                None if from == Status::Assigned && assignee.is_none() => Status::Open,
                None => from,
            };
            if to != from {
                events.push(NewEvent {
                    from_status: Some(from.name()),
                    to_status: Some(to.name()),
                    ..NewEvent::new(id, actor, "status")
                });
            }
            if (change.labour_minutes.is_some() || change.parts_cost.is_some()) && to != Status::Closed {
                return Err(ChangeError::ActualsBeforeClosing);
            }
            if let Some(text) = change.comment.as_deref() {
                events.push(NewEvent { body: Some(text), ..NewEvent::new(id, actor, "comment") });
            }
            if events.is_empty() && change.labour_minutes.is_none() && change.parts_cost.is_none() {
                return Err(ChangeError::Nothing);
            }
            let now = Utc::now();
            let closed_at =
                if to.is_final() { order.closed_at.filter(|_| from.is_final()).or(Some(now)) } else { None };
            let updated = diesel::update(work_orders::table.find(id))
                .set((
                    work_orders::status.eq(to.name()),
                    work_orders::assignee_id.eq(assignee),
                    work_orders::closed_at.eq(closed_at),
                    work_orders::close_proposed.eq(order.close_proposed && !from.is_final() && !to.is_final()),
                    work_orders::labour_minutes.eq(change.labour_minutes.or(order.labour_minutes)),
                    work_orders::parts_cost.eq(change.parts_cost.or(order.parts_cost)),
                    work_orders::updated_at.eq(now),
                ))
                .returning(WorkOrder::as_returning())
                .get_result(conn)
                .await?;
            diesel::insert_into(work_order_events::table).values(&events).execute(conn).await?;
            notify(conn, &updated, "updated").await?;
            Ok(updated)
        })
        .await
    }
}

#[derive(Clone, Debug, Default)]
pub struct WorkOrderFilter {
    /// Not closed or cancelled (true), or only those (false).
    pub open: Option<bool>,
    pub status: Option<Status>,
    pub device: Option<Uuid>,
    pub site: Option<Uuid>,
    pub assignee: Option<Uuid>,
    pub specialist: Option<bool>,
}

/// A person's change of a work order; every part is optional.
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub status: Option<Status>,
    /// `Some(None)` takes the assignee off.
    pub assignee: Option<Option<Uuid>>,
    pub comment: Option<String>,
    /// What the repair took (only when closing).
    pub labour_minutes: Option<i32>,
    pub parts_cost: Option<Micros>,
}

#[derive(Debug)]
pub enum ChangeError {
    Status(maintenance::StatusError),
    Assignee(AssigneeError),
    ActualsBeforeClosing,
    Nothing,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for ChangeError {
    fn from(err: diesel::result::Error) -> ChangeError {
        ChangeError::Db(err)
    }
}

/// What [`triage`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Triaged {
    /// New alerts looked at.
    pub alerts: usize,
    /// Work orders opened for them.
    pub opened: usize,
}

/// Applies the rules to new alerts (at most `limit`, oldest first). An alert that already ended opens nothing (it cleared by itself); one
/// whose device already has an open work order for the same fault is added to it (a comment,
/// and the work order follows the new alert) instead of opening another.
pub async fn triage(conn: &mut AsyncPgConnection, catalogue: &FaultCatalogue, limit: i64) -> QueryResult<Triaged> {
    conn.transaction(async |conn| {
        let alerts: Vec<AlertRow> = diesel::sql_query(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a WHERE NOT a.triaged \
             ORDER BY a.started_at LIMIT $1 FOR UPDATE SKIP LOCKED"
        ))
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
        if alerts.is_empty() {
            return Ok(Triaged::default());
        }
        let mut tenants: Vec<Uuid> = alerts.iter().map(|a| a.tenant_id).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let rules = rules_for(conn, &tenants).await?;
        let rates = rates_for(conn, &tenants).await?;
        let mut opened = 0;
        for alert in alerts.iter().filter(|a| a.ended_at.is_none()) {
            let fault = catalogue.of_type(&alert.fault_type);
            let skill = fault.who_fixes(alert.training_level.as_deref());
            let Some((_, rule)) = rules.iter().find(|(tenant, rule)| {
                *tenant == alert.tenant_id && rule.rule().matches(fault, &alert.severity, skill)
            }) else {
                continue;
            };
            let running: Option<WorkOrder> = work_orders::table
                .filter(work_orders::device_id.eq(alert.device_id))
                .filter(work_orders::fault_type.eq(&fault.fault_type))
                .filter(work_orders::closed_at.is_null())
                .select(WorkOrder::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?;
            if let Some(order) = running {
                let body =
                    format!("The fault was reported again at {}.", alert.started_at.format("%Y-%m-%d %H:%M UTC"));
                let order = diesel::update(work_orders::table.find(order.id))
                    .set((
                        work_orders::alert_id.eq(alert.id),
                        work_orders::fault_cleared_at.eq(None::<DateTime<Utc>>),
                        work_orders::close_proposed.eq(false),
                        work_orders::updated_at.eq(Utc::now()),
                    ))
                    .returning(WorkOrder::as_returning())
                    .get_result(conn)
                    .await?;
                diesel::insert_into(work_order_events::table)
                    .values(NewEvent { body: Some(&body), ..NewEvent::new(order.id, None, "comment") })
                    .execute(conn)
                    .await?;
                notify(conn, &order, "updated").await?;
                continue;
            }
            let estimate = maintenance::estimate(fault, alert.training_level.as_deref(), |s| {
                rates.get(&(alert.tenant_id, s)).copied()
            });
            let title =
                alert.description.clone().filter(|d| !d.trim().is_empty()).unwrap_or_else(|| fault.title.clone());
            let mut row = estimate_row(alert.tenant_id, alert.device_id, &fault.fault_type, &title, &estimate);
            row.alert_id = Some(alert.id);
            row.rule_id = Some(rule.id);
            row.fault_started_at = alert.started_at;
            let order: Option<WorkOrder> = diesel::insert_into(work_orders::table)
                .values(&row)
                .on_conflict_do_nothing()
                .returning(WorkOrder::as_returning())
                .get_result(conn)
                .await
                .optional()?;
            let Some(order) = order else { continue };
            let body = format!("Opened by the rule {:?}.", rule.name);
            diesel::insert_into(work_order_events::table)
                .values(NewEvent { body: Some(&body), ..NewEvent::new(order.id, None, "opened") })
                .execute(conn)
                .await?;
            notify(conn, &order, "created").await?;
            opened += 1;
        }
        let ids: Vec<Uuid> = alerts.iter().map(|a| a.id).collect();
        let ids_len = ids.len();
        diesel::sql_query("UPDATE alerts SET triaged = true WHERE id = ANY($1)")
            .bind::<Array<SqlUuid>, _>(ids)
            .execute(conn)
            .await?;
        Ok(Triaged { alerts: ids_len, opened })
    })
    .await
}

/// What [`follow`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Followed {
    pub proposed: usize,
    pub closed: usize,
}

/// Follows open work orders whose alert ended (at most `limit`): the clearing is recorded, the
/// work order proposed for closing, and closed when its rule says so and the device's total
/// counter moved since the fault cleared (pages print again).
pub async fn follow(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Followed> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Timestamptz)]
        ended_at: DateTime<Utc>,
        #[diesel(sql_type = Bool)]
        close_when_cleared: bool,
        #[diesel(sql_type = Nullable<BigInt>)]
        pages_since: Option<i64>,
    }
    conn.transaction(async |conn| {
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT w.id, a.ended_at, COALESCE(r.close_when_cleared, false) AS close_when_cleared, \
                    (SELECT after.value - before.value FROM \
                        (SELECT value FROM counter_readings c WHERE c.device_id = w.device_id AND c.kind = 'total' \
                           AND c.read_at <= a.ended_at ORDER BY c.read_at DESC LIMIT 1) before, \
                        (SELECT value FROM counter_readings c WHERE c.device_id = w.device_id AND c.kind = 'total' \
                           AND c.read_at > a.ended_at ORDER BY c.read_at DESC LIMIT 1) after) AS pages_since \
             FROM work_orders w JOIN alerts a ON a.id = w.alert_id \
             LEFT JOIN work_order_rules r ON r.id = w.rule_id \
             WHERE w.closed_at IS NULL AND w.alert_id IS NOT NULL AND a.ended_at IS NOT NULL \
               AND (NOT w.close_proposed OR COALESCE(r.close_when_cleared, false)) \
             ORDER BY a.ended_at LIMIT $1 FOR UPDATE OF w SKIP LOCKED",
        )
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
        let mut done = Followed::default();
        let now = Utc::now();
        for row in rows {
            let order: WorkOrder =
                work_orders::table.find(row.id).select(WorkOrder::as_select()).get_result(conn).await?;
            let mut events = Vec::new();
            let cleared =
                format!("The device stopped reporting the fault at {}.", row.ended_at.format("%Y-%m-%d %H:%M UTC"));
            if order.fault_cleared_at.is_none() {
                events.push(NewEvent { body: Some(&cleared), ..NewEvent::new(order.id, None, "cleared") });
            }
            let moving = row.pages_since.is_some_and(|p| p != 0);
            let closing = row.close_when_cleared && moving;
            let closed_note = format!(
                "Closed by rule: the fault cleared and the device printed {} pages since.",
                row.pages_since.unwrap_or(0)
            );
            if closing {
                events.push(NewEvent {
                    from_status: Some(&order.status),
                    to_status: Some(Status::Closed.name()),
                    body: Some(&closed_note),
                    ..NewEvent::new(order.id, None, "status")
                });
                done.closed += 1;
            } else if !order.close_proposed {
                events.push(NewEvent::new(order.id, None, "close_proposed"));
                done.proposed += 1;
            }
            if events.is_empty() {
                continue;
            }
            let updated = diesel::update(work_orders::table.find(order.id))
                .set((
                    work_orders::fault_cleared_at.eq(Some(row.ended_at)),
                    work_orders::close_proposed.eq(!closing),
                    work_orders::status.eq(if closing { Status::Closed.name() } else { order.status.as_str() }),
                    work_orders::closed_at.eq(closing.then_some(now)),
                    work_orders::updated_at.eq(now),
                ))
                .returning(WorkOrder::as_returning())
                .get_result(conn)
                .await?;
            diesel::insert_into(work_order_events::table).values(&events).execute(conn).await?;
            notify(conn, &updated, "updated").await?;
        }
        Ok(done)
    })
    .await
}

/// How long one type of fault lasted, from the device's first report to its last.
#[derive(QueryableByName, Clone, Debug, PartialEq)]
pub struct FaultDuration {
    #[diesel(sql_type = Text)]
    pub fault_type: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    #[diesel(sql_type = Double)]
    pub mean_minutes: f64,
    #[diesel(sql_type = Double)]
    pub median_minutes: f64,
    #[diesel(sql_type = Double)]
    pub p90_minutes: f64,
    #[diesel(sql_type = Double)]
    pub longest_minutes: f64,
}

/// Durations of the faults that ended in [from, to), per fault type (of one device or every
/// visible one), longest mean first.
pub async fn fault_durations(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    device: Option<Uuid>,
) -> QueryResult<Vec<FaultDuration>> {
    diesel::sql_query(
        "SELECT fault_type, count(*) AS count, avg(m) AS mean_minutes, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY m) AS median_minutes, \
                percentile_cont(0.9) WITHIN GROUP (ORDER BY m) AS p90_minutes, max(m) AS longest_minutes \
         FROM (SELECT fault_type, extract(epoch FROM ended_at - started_at)::float8 / 60 AS m FROM alerts \
               WHERE tenant_id = ANY($1) AND ended_at >= $2 AND ended_at < $3 \
                 AND ($4::uuid IS NULL OR device_id = $4)) d \
         GROUP BY fault_type ORDER BY mean_minutes DESC, fault_type",
    )
    .bind::<Array<SqlUuid>, _>(scope.tenant_ids())
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .bind::<Nullable<SqlUuid>, _>(device)
    .load(conn)
    .await
}

/// Open faults counted by what the maintenance dashboard groups them by.
#[derive(QueryableByName, Clone, Debug, PartialEq)]
pub struct OpenFaultGroup {
    #[diesel(sql_type = Text)]
    pub severity: String,
    #[diesel(sql_type = Text)]
    pub fault_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub training_level: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub site_id: Option<Uuid>,
    /// 0: under an hour, 1: under a day, 2: under a week, 3: older.
    #[diesel(sql_type = Integer)]
    pub age: i32,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Of which have an open work order.
    #[diesel(sql_type = BigInt)]
    pub with_work_order: i64,
}

/// The open alerts of visible devices (one site's or all), grouped for the dashboard; the
/// caller maps fault types to the catalogue (repairs only, skill needed).
pub async fn open_fault_groups(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    site: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<OpenFaultGroup>> {
    diesel::sql_query(
        "SELECT a.severity, a.fault_type, a.training_level, d.site_id, \
                CASE WHEN a.started_at > $3 - interval '1 hour' THEN 0 \
                     WHEN a.started_at > $3 - interval '1 day' THEN 1 \
                     WHEN a.started_at > $3 - interval '7 days' THEN 2 ELSE 3 END AS age, \
                count(*) AS count, \
                count(*) FILTER (WHERE EXISTS (SELECT 1 FROM work_orders w WHERE w.alert_id = a.id \
                                                AND w.closed_at IS NULL)) AS with_work_order \
         FROM alerts a JOIN devices d ON d.id = a.device_id \
         WHERE a.tenant_id = ANY($1) AND a.ended_at IS NULL AND ($2::uuid IS NULL OR d.site_id = $2) \
         GROUP BY 1, 2, 3, 4, 5",
    )
    .bind::<Array<SqlUuid>, _>(scope.tenant_ids())
    .bind::<Nullable<SqlUuid>, _>(site)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await
}

/// What the repairs closed in [from, to) cost, per device of a tenant: the labour minutes
/// recorded at closing at the skill's rate and the parts recorded, or the estimate where
/// nothing was recorded. The flag says whether any estimate stood in.
pub async fn service_costs(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(Uuid, Micros, bool)>> {
    let closed: Vec<WorkOrder> = work_orders::table
        .filter(work_orders::tenant_id.eq(tenant))
        .filter(work_orders::status.eq(Status::Closed.name()))
        .filter(work_orders::closed_at.ge(from.and_time(chrono::NaiveTime::MIN).and_utc()))
        .filter(work_orders::closed_at.lt(to.and_time(chrono::NaiveTime::MIN).and_utc()))
        .select(WorkOrder::as_select())
        .load(conn)
        .await?;
    let rates = rates_for(conn, &[tenant]).await?;
    let mut out: std::collections::BTreeMap<Uuid, (Micros, bool)> = std::collections::BTreeMap::new();
    for order in closed {
        let rate = Skill::parse(&order.skill).and_then(|s| rates.get(&(tenant, s)).copied());
        let (labour, labour_estimated) = match (order.labour_minutes, rate) {
            (Some(minutes), Some(rate)) => (maintenance::labour_cost(rate, minutes.max(0) as u32), false),
            _ => (order.estimated_labour.unwrap_or(0), true),
        };
        let (parts, parts_estimated) = match order.parts_cost {
            Some(parts) => (parts, false),
            None => (order.estimated_parts, true),
        };
        let entry = out.entry(order.device_id).or_default();
        entry.0 += labour + parts;
        entry.1 |= labour_estimated || parts_estimated;
    }
    Ok(out.into_iter().map(|(device, (cost, estimated))| (device, cost, estimated)).collect())
}
