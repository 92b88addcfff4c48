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

mod figures;
mod rules;
mod telemetry;
mod workflow;

pub use figures::{FaultDuration, OpenFaultGroup, fault_durations, open_fault_groups, service_costs};
pub use rules::{LabourRate, NewWorkOrderRule, WorkOrderRule, rates_for};
use rules::{UP, rules_for};
pub use telemetry::{Followed, Triaged, follow, triage};
pub use workflow::{Change, ChangeError};

/// Writes a work order's new events and queues the api replicas' change event (`created` or
/// `updated`, delivered at commit): every change of a work order ends here.
async fn record(
    conn: &mut AsyncPgConnection,
    order: &WorkOrder,
    kind: &str,
    events: &[NewEvent<'_>],
) -> QueryResult<()> {
    diesel::insert_into(work_order_events::table).values(events).execute(conn).await?;
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
            record(conn, &order, "created", &events).await?;
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
