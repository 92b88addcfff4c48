//! Reports: every 5 seconds (by default) the report worker queues the reports of the schedules
//! that are due, then makes the queued ones one by one — gathering the sections with its
//! progress written as it goes, rendering CSV, XLSX or PDF, storing the file. A report that
//! fails is queued again up to three attempts, then left failed with its error; one whose
//! worker died is taken again after ten minutes.

mod pdf;
mod xlsx;

use std::sync::Arc;

use apalis::prelude::*;
use apalis_cron::Tick;
use apalis_postgres::PostgresStorage;
use cartouche_schema::db::Pool;
use cartouche_schema::db::reports::{self, Report, ReportSchedule};
use cartouche_schema::profiles::catalogue::FaultCatalogue;
use cartouche_schema::reports::{Document, to_csv};
use serde::{Deserialize, Serialize};

pub const QUEUE: &str = "cartouche.reports.make";
/// Every 5 seconds.
pub const DEFAULT_SCHEDULE: &str = "*/5 * * * * *";

/// Make the queued reports (and queue the scheduled ones that are due).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MakeReports {
    pub tick: i64,
}

/// A document as a file of `format` (csv, xlsx, pdf): (extension, content type, bytes).
pub fn render(document: &Document, format: &str) -> anyhow::Result<(&'static str, &'static str, Vec<u8>)> {
    Ok(match format {
        "csv" => ("csv", "text/csv; charset=utf-8", to_csv(document)),
        "xlsx" => (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            xlsx::render(document).map_err(|e| anyhow::anyhow!("writing the workbook: {e}"))?,
        ),
        "pdf" => ("pdf", "application/pdf", pdf::render(document)),
        other => anyhow::bail!("unknown report format {other:?}"),
    })
}

/// Makes one claimed report.
async fn make(
    conn: &mut diesel_async::AsyncPgConnection,
    report: &Report,
    catalogue: &FaultCatalogue,
) -> anyhow::Result<()> {
    let document = reports::gather(conn, report, catalogue).await?;
    let format = report.format.clone();
    let (extension, content_type, bytes) =
        tokio::task::spawn_blocking(move || render(&document, &format)).await.map_err(anyhow::Error::from)??;
    let customer = reports::tenant_name(conn, report.tenant_id).await?;
    let name = reports::file_name(&customer, report.period_from, report.period_to, extension);
    Report::finish(conn, report.id, &name, content_type, &bytes).await?;
    Ok(())
}

/// Queues what the schedules owe, then makes every queued report; returns how many were made.
pub async fn make_due(pool: &Pool, catalogue: &FaultCatalogue) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    ReportSchedule::queue_due(&mut conn, chrono::Utc::now().date_naive()).await?;
    let mut made = 0;
    while let Some(report) = Report::claim(&mut conn).await? {
        match make(&mut conn, &report, catalogue).await {
            Ok(()) => made += 1,
            Err(err) => {
                tracing::warn!(report.id = %report.id, attempt = report.attempts, error = %format!("{err:#}"), "report failed");
                Report::fail(&mut conn, report.id, &format!("{err:#}")).await?;
            }
        }
    }
    Ok(made)
}

/// Cron handler: one queued job per tick, whatever the number of worker processes.
pub async fn enqueue(tick: Tick, queue: Data<PostgresStorage<MakeReports>>) -> Result<(), BoxDynError> {
    let at = i64::try_from(tick.get_timestamp()).unwrap_or(i64::MAX);
    let task = TaskBuilder::new(MakeReports { tick: at }).idempotency_key(format!("make-reports:{at}")).build();
    let mut queue = (*queue).clone();
    queue.push_task(task).await?;
    Ok(())
}

/// Queue handler.
pub async fn make_reports(
    job: MakeReports,
    pool: Data<Pool>,
    catalogue: Data<Arc<FaultCatalogue>>,
) -> Result<(), BoxDynError> {
    let made = make_due(&pool, &catalogue).await.map_err(|e| -> BoxDynError { e.into() })?;
    if made > 0 {
        tracing::info!(job.name = "MakeReports", job.tick = job.tick, reports = made, "reports made");
    }
    Ok(())
}
