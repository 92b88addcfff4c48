//! Reports in GraphQL: ask for one (a customer or one of its sites, a period, CSV, XLSX or
//! PDF), follow its progress, download it (`GET /reports/{id}/file`), and schedule them weekly
//! or monthly. The report worker makes them.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use cartouche_schema::db::reports::{NewReport, NewReportSchedule, Report, ReportSchedule, scheduled_period};
use cartouche_schema::domain::Role;
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::ApiError;
use crate::graphql::{actor, conn, parse_id};

/// Longest period one report covers.
const MAX_DAYS: i64 = 731;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Csv,
    Xlsx,
    Pdf,
}

impl ReportFormat {
    fn word(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Xlsx => "xlsx",
            ReportFormat::Pdf => "pdf",
        }
    }

    fn of(word: &str) -> ReportFormat {
        match word {
            "xlsx" => ReportFormat::Xlsx,
            "pdf" => ReportFormat::Pdf,
            _ => ReportFormat::Csv,
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    Queued,
    Running,
    Done,
    Failed,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ReportCadence {
    /// The previous Monday to Sunday, made on Mondays.
    Weekly,
    /// The previous month, made on the 1st.
    Monthly,
}

/// A fleet report: pages, costs, supplies, faults and repairs of a customer (or a site) over a
/// period.
pub struct ReportNode(Report);

#[Object(name = "Report")]
impl ReportNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The customer reported on.
    async fn tenant_id(&self) -> ID {
        ID(self.0.tenant_id.to_string())
    }
    async fn site_id(&self) -> Option<ID> {
        self.0.site_id.map(|s| ID(s.to_string()))
    }
    /// Made by a schedule (null: asked for by hand).
    async fn schedule_id(&self) -> Option<ID> {
        self.0.schedule_id.map(|s| ID(s.to_string()))
    }
    async fn format(&self) -> ReportFormat {
        ReportFormat::of(&self.0.format)
    }
    async fn from(&self) -> NaiveDate {
        self.0.period_from
    }
    /// Excluded.
    async fn to(&self) -> NaiveDate {
        self.0.period_to
    }
    async fn status(&self) -> ReportStatus {
        match self.0.status.as_str() {
            "running" => ReportStatus::Running,
            "done" => ReportStatus::Done,
            "failed" => ReportStatus::Failed,
            _ => ReportStatus::Queued,
        }
    }
    /// Percent done while it runs.
    async fn progress(&self) -> i32 {
        self.0.progress
    }
    /// What the worker is doing: pages, costs, supplies, faults, repairs, rendering.
    async fn stage(&self) -> Option<&str> {
        self.0.stage.as_deref()
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// Why the last attempt failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn file_name(&self) -> Option<&str> {
        self.0.file_name.as_deref()
    }
    /// Bytes.
    async fn size(&self) -> Option<i64> {
        self.0.size
    }
    /// Where to download it (with the same bearer token), once done.
    async fn download_path(&self) -> Option<String> {
        (self.0.status == "done").then(|| format!("/reports/{}/file", self.0.id))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
}

pub struct ReportScheduleNode(ReportSchedule);

#[Object(name = "ReportSchedule")]
impl ReportScheduleNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn tenant_id(&self) -> ID {
        ID(self.0.tenant_id.to_string())
    }
    async fn site_id(&self) -> Option<ID> {
        self.0.site_id.map(|s| ID(s.to_string()))
    }
    async fn format(&self) -> ReportFormat {
        ReportFormat::of(&self.0.format)
    }
    async fn cadence(&self) -> ReportCadence {
        if self.0.cadence == "weekly" { ReportCadence::Weekly } else { ReportCadence::Monthly }
    }
    /// The day the next report is made.
    async fn next_run_on(&self) -> NaiveDate {
        self.0.next_run_on
    }
}

#[derive(InputObject)]
pub struct ReportInput {
    /// The customer; omitted: your own tenant.
    pub tenant_id: Option<ID>,
    /// One of its sites; omitted: all of them.
    pub site_id: Option<ID>,
    pub from: NaiveDate,
    /// Excluded.
    pub to: NaiveDate,
    pub format: ReportFormat,
}

#[derive(InputObject)]
pub struct ReportScheduleInput {
    pub tenant_id: Option<ID>,
    pub site_id: Option<ID>,
    pub format: ReportFormat,
    pub cadence: ReportCadence,
}

/// The tenant and site a report is about, checked: the tenant visible, the site its own.
async fn subject(
    ctx: &Context<'_>,
    tenant_id: Option<&ID>,
    site_id: Option<&ID>,
) -> async_graphql::Result<(uuid::Uuid, Option<uuid::Uuid>)> {
    let actor = actor(ctx)?;
    let tenant = tenant_id.map(|t| parse_id("tenantId", t)).transpose()?.unwrap_or(actor.tenant_id);
    actor.scope.require(tenant).map_err(|_| ApiError::NotFound("tenant"))?;
    let site = match site_id {
        Some(s) => {
            let mut conn = conn(ctx).await?;
            let site = cartouche_schema::db::sites::Site::find(&mut conn, &actor.scope, parse_id("siteId", s)?)
                .await
                .map_err(|e| ApiError::from_db("site", e))?;
            if site.tenant_id != tenant {
                return Err(ApiError::validation("siteId", "the site belongs to another customer").into());
            }
            Some(site.id)
        }
        None => None,
    };
    Ok((tenant, site))
}

#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// Reports you may see, newest first (at most 100).
    async fn reports(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ReportNode>> {
        let actor = actor(ctx)?;
        let mut conn = conn(ctx).await?;
        let list = Report::list(&mut conn, &actor.scope, 100).await.map_err(|e| ApiError::from_db("report", e))?;
        Ok(list.into_iter().map(ReportNode).collect())
    }

    async fn report(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ReportNode> {
        let actor = actor(ctx)?;
        let mut conn = conn(ctx).await?;
        let report = Report::find(&mut conn, &actor.scope, parse_id("id", &id)?)
            .await
            .map_err(|e| ApiError::from_db("report", e))?;
        Ok(ReportNode(report))
    }

    async fn report_schedules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ReportScheduleNode>> {
        let actor = actor(ctx)?;
        let mut conn = conn(ctx).await?;
        let list =
            ReportSchedule::list(&mut conn, &actor.scope).await.map_err(|e| ApiError::from_db("report schedule", e))?;
        Ok(list.into_iter().map(ReportScheduleNode).collect())
    }
}

#[derive(Default)]
pub struct ReportMutation;

#[Object]
impl ReportMutation {
    /// Asks for a report; the worker makes it (follow `status` and `progress`). Anyone who can
    /// see the customer. A period that ends before it starts, or longer than two years, is
    /// refused at `to`.
    async fn request_report(&self, ctx: &Context<'_>, input: ReportInput) -> async_graphql::Result<ReportNode> {
        let actor = actor(ctx)?;
        if input.to <= input.from {
            return Err(ApiError::validation(
                "to",
                format!("the period ends ({}) before it starts ({})", input.to, input.from),
            )
            .into());
        }
        if (input.to - input.from).num_days() > MAX_DAYS {
            return Err(ApiError::validation("to", format!("at most {MAX_DAYS} days in one report")).into());
        }
        let (tenant, site) = subject(ctx, input.tenant_id.as_ref(), input.site_id.as_ref()).await?;
        let mut conn = conn(ctx).await?;
        let report = Report::request(
            &mut conn,
            &actor.scope,
            NewReport {
                tenant_id: tenant,
                site_id: site,
                requested_by: actor.user_id(),
                schedule_id: None,
                format: input.format.word().to_owned(),
                period_from: input.from,
                period_to: input.to,
            },
        )
        .await
        .map_err(|e| ApiError::from_db("tenant", e))?;
        Ok(ReportNode(report))
    }

    /// Makes a report every week or month. Managers and admins.
    async fn create_report_schedule(
        &self,
        ctx: &Context<'_>,
        input: ReportScheduleInput,
    ) -> async_graphql::Result<ReportScheduleNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "scheduling reports")?;
        let (tenant, site) = subject(ctx, input.tenant_id.as_ref(), input.site_id.as_ref()).await?;
        let cadence = if input.cadence == ReportCadence::Weekly { "weekly" } else { "monthly" };
        let (_, next) = scheduled_period(cadence, Utc::now().date_naive());
        let mut conn = conn(ctx).await?;
        let schedule = ReportSchedule::create(
            &mut conn,
            &actor.scope,
            NewReportSchedule {
                tenant_id: tenant,
                site_id: site,
                created_by: actor.user_id(),
                format: input.format.word().to_owned(),
                cadence: cadence.to_owned(),
                next_run_on: next,
            },
        )
        .await
        .map_err(|e| ApiError::from_db("tenant", e))?;
        Ok(ReportScheduleNode(schedule))
    }

    async fn delete_report_schedule(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "deleting a report schedule")?;
        let mut conn = conn(ctx).await?;
        let schedule = ReportSchedule::delete(&mut conn, &actor.scope, parse_id("id", &id)?)
            .await
            .map_err(|e| ApiError::from_db("report schedule", e))?;
        Ok(ID(schedule.id.to_string()))
    }
}
