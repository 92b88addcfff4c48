//! Reports: requests, schedules, and the worker's claim / progress / result; what a report says
//! is gathered in `document`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::billing::Micros;
use crate::db::schema::{report_schedules, reports, sites, tenants};
use crate::db::scope::Scope;
use crate::profiles::catalogue::FaultCatalogue;
use crate::reports::{Cell, Chart, Column, ColumnKind, Document, Section};

/// A report without its file.
#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = reports)]
pub struct Report {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Option<Uuid>,
    pub requested_by: Option<Uuid>,
    pub schedule_id: Option<Uuid>,
    pub format: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub status: String,
    pub progress: i32,
    pub stage: Option<String>,
    pub attempts: i32,
    pub error: Option<String>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = reports)]
pub struct NewReport {
    pub tenant_id: Uuid,
    pub site_id: Option<Uuid>,
    pub requested_by: Option<Uuid>,
    pub schedule_id: Option<Uuid>,
    pub format: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
}

/// Attempts before a report that keeps failing is left failed.
pub const MAX_ATTEMPTS: i32 = 3;
/// A running report whose worker went silent this long is taken again.
const STALE_MINUTES: i32 = 10;

impl Report {
    pub async fn request(conn: &mut AsyncPgConnection, scope: &Scope, new: NewReport) -> QueryResult<Report> {
        scope.require(new.tenant_id)?;
        diesel::insert_into(reports::table).values(&new).returning(Report::as_returning()).get_result(conn).await
    }

    /// Visible reports, newest first.
    pub async fn list(conn: &mut AsyncPgConnection, scope: &Scope, limit: i64) -> QueryResult<Vec<Report>> {
        reports::table
            .filter(reports::tenant_id.eq_any(scope.tenant_ids()))
            .select(Report::as_select())
            .order_by((reports::created_at.desc(), reports::id))
            .limit(limit)
            .load(conn)
            .await
    }

    pub async fn find(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<Report> {
        reports::table
            .find(id)
            .filter(reports::tenant_id.eq_any(scope.tenant_ids()))
            .select(Report::as_select())
            .get_result(conn)
            .await
    }

    /// A finished report's file: (name, content type, bytes); NotFound until it is done.
    pub async fn file(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<(String, String, Vec<u8>)> {
        let (name, kind, content): (Option<String>, Option<String>, Option<Vec<u8>>) = reports::table
            .find(id)
            .filter(reports::tenant_id.eq_any(scope.tenant_ids()))
            .select((reports::file_name, reports::content_type, reports::content))
            .get_result(conn)
            .await?;
        match (name, kind, content) {
            (Some(name), Some(kind), Some(content)) => Ok((name, kind, content)),
            _ => Err(diesel::result::Error::NotFound),
        }
    }

    /// Takes the oldest queued report (or one whose worker went silent) for this worker.
    pub async fn claim(conn: &mut AsyncPgConnection) -> QueryResult<Option<Report>> {
        diesel::sql_query(format!(
            "UPDATE reports SET status = 'running', started_at = now(), attempts = attempts + 1, progress = 0, \
               stage = NULL, error = NULL \
             WHERE id = (SELECT id FROM reports WHERE status = 'queued' \
                           OR (status = 'running' AND started_at < now() - interval '{STALE_MINUTES} minutes') \
                         ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, tenant_id, site_id, requested_by, schedule_id, format, period_from, period_to, status, \
               progress, stage, attempts, error, file_name, content_type, size, created_at, started_at, finished_at"
        ))
        .get_result::<ReportByName>(conn)
        .await
        .optional()
        .map(|r| r.map(Into::into))
    }

    /// Where the worker is (visible at once: outside any transaction).
    pub async fn set_progress(conn: &mut AsyncPgConnection, id: Uuid, progress: i32, stage: &str) -> QueryResult<()> {
        diesel::update(reports::table.find(id))
            .set((
                reports::progress.eq(progress.clamp(0, 100)),
                reports::stage.eq(stage),
                reports::started_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await
            .map(drop)
    }

    pub async fn finish(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        file_name: &str,
        content_type: &str,
        content: &[u8],
    ) -> QueryResult<()> {
        diesel::update(reports::table.find(id))
            .set((
                reports::status.eq("done"),
                reports::progress.eq(100),
                reports::stage.eq(None::<String>),
                reports::file_name.eq(file_name),
                reports::content_type.eq(content_type),
                reports::content.eq(content),
                reports::size.eq(i64::try_from(content.len()).unwrap_or(i64::MAX)),
                reports::finished_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await
            .map(drop)
    }

    /// Records a failure: queued again while attempts remain, else failed for good.
    pub async fn fail(conn: &mut AsyncPgConnection, id: Uuid, error: &str) -> QueryResult<()> {
        diesel::sql_query(
            "UPDATE reports SET status = CASE WHEN attempts >= $2 THEN 'failed' ELSE 'queued' END, error = $3, \
               finished_at = CASE WHEN attempts >= $2 THEN now() END WHERE id = $1",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<diesel::sql_types::Integer, _>(MAX_ATTEMPTS)
        .bind::<Text, _>(error)
        .execute(conn)
        .await
        .map(drop)
    }
}

#[derive(QueryableByName)]
#[diesel(table_name = reports)]
struct ReportByName {
    id: Uuid,
    tenant_id: Uuid,
    site_id: Option<Uuid>,
    requested_by: Option<Uuid>,
    schedule_id: Option<Uuid>,
    format: String,
    period_from: NaiveDate,
    period_to: NaiveDate,
    status: String,
    progress: i32,
    stage: Option<String>,
    attempts: i32,
    error: Option<String>,
    file_name: Option<String>,
    content_type: Option<String>,
    size: Option<i64>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<ReportByName> for Report {
    fn from(r: ReportByName) -> Report {
        Report {
            id: r.id,
            tenant_id: r.tenant_id,
            site_id: r.site_id,
            requested_by: r.requested_by,
            schedule_id: r.schedule_id,
            format: r.format,
            period_from: r.period_from,
            period_to: r.period_to,
            status: r.status,
            progress: r.progress,
            stage: r.stage,
            attempts: r.attempts,
            error: r.error,
            file_name: r.file_name,
            content_type: r.content_type,
            size: r.size,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = report_schedules)]
pub struct ReportSchedule {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub format: String,
    pub cadence: String,
    pub next_run_on: NaiveDate,
    pub created_at: DateTime<Utc>,
}

#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = report_schedules)]
pub struct NewReportSchedule {
    pub tenant_id: Uuid,
    pub site_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub format: String,
    pub cadence: String,
    pub next_run_on: NaiveDate,
}

/// The period a schedule's report made on `day` covers, and the day the next one is made.
pub fn scheduled_period(cadence: &str, day: NaiveDate) -> ((NaiveDate, NaiveDate), NaiveDate) {
    if cadence == "weekly" {
        let monday = day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()));
        ((monday - chrono::Duration::days(7), monday), monday + chrono::Duration::days(7))
    } else {
        let first = day.with_day(1).unwrap_or(day);
        let previous = first.checked_sub_months(chrono::Months::new(1)).unwrap_or(first);
        ((previous, first), first.checked_add_months(chrono::Months::new(1)).unwrap_or(first))
    }
}

impl ReportSchedule {
    pub async fn create(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        new: NewReportSchedule,
    ) -> QueryResult<ReportSchedule> {
        scope.require(new.tenant_id)?;
        diesel::insert_into(report_schedules::table)
            .values(&new)
            .returning(ReportSchedule::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn list(conn: &mut AsyncPgConnection, scope: &Scope) -> QueryResult<Vec<ReportSchedule>> {
        report_schedules::table
            .filter(report_schedules::tenant_id.eq_any(scope.tenant_ids()))
            .select(ReportSchedule::as_select())
            .order_by(report_schedules::created_at)
            .load(conn)
            .await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<ReportSchedule> {
        diesel::delete(report_schedules::table.find(id).filter(report_schedules::tenant_id.eq_any(scope.tenant_ids())))
            .returning(ReportSchedule::as_returning())
            .get_result(conn)
            .await
    }

    /// Queues the report of every schedule due on or before `today` and moves it to its next
    /// day, in one transaction (a schedule is taken by one worker: locked and skipped).
    pub async fn queue_due(conn: &mut AsyncPgConnection, today: NaiveDate) -> QueryResult<usize> {
        conn.transaction(async |conn| {
            let due: Vec<ReportSchedule> = report_schedules::table
                .filter(report_schedules::next_run_on.le(today))
                .select(ReportSchedule::as_select())
                .for_update()
                .skip_locked()
                .load(conn)
                .await?;
            for schedule in &due {
                let ((from, to), next) = scheduled_period(&schedule.cadence, today);
                diesel::insert_into(reports::table)
                    .values(NewReport {
                        tenant_id: schedule.tenant_id,
                        site_id: schedule.site_id,
                        requested_by: schedule.created_by,
                        schedule_id: Some(schedule.id),
                        format: schedule.format.clone(),
                        period_from: from,
                        period_to: to,
                    })
                    .execute(conn)
                    .await?;
                diesel::update(report_schedules::table.find(schedule.id))
                    .set(report_schedules::next_run_on.eq(next))
                    .execute(conn)
                    .await?;
            }
            Ok(due.len())
        })
        .await
    }
}

mod document;

pub use document::gather;

/// A file name for a report: `fleet-report-<customer>-<from>-<to>.<ext>`, customer name made
/// safe for any file system.
pub fn file_name(customer: &str, from: NaiveDate, to: NaiveDate, extension: &str) -> String {
    let safe: String = customer
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!("fleet-report-{}-{from}-{to}.{extension}", if safe.is_empty() { "customer" } else { &safe })
}

/// The name of a tenant (for a file name).
pub async fn tenant_name(conn: &mut AsyncPgConnection, tenant: Uuid) -> QueryResult<String> {
    tenants::table.find(tenant).select(tenants::name).get_result(conn).await
}
