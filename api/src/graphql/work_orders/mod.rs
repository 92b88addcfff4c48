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

mod nodes;

pub use nodes::*;
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
