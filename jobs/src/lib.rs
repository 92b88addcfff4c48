#![doc = include_str!("../README.md")]

pub mod accounting;
pub mod maintenance;
pub mod notify;
pub mod repairs;
pub mod reports;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use apalis::prelude::*;
use apalis_cron::CronScheduler;
use apalis_postgres::{Config as QueueConfig, PgPool, PostgresStorage};
use cartouche_schema::db;

/// How the workers run.
#[derive(Clone, Debug)]
pub struct JobsConfig {
    pub database_url: String,
    /// Unique per process: apalis re-enqueues a dead worker's jobs by this name.
    pub worker_name: String,
    /// When to purge ended credentials (cron with seconds: `0 */15 * * * *`).
    pub purge_schedule: String,
    /// When to count the pages of meters with new readings (cron with seconds).
    pub accounting_schedule: String,
    /// When to triage new alerts and follow cleared faults (cron with seconds).
    pub repairs_schedule: String,
    /// When to make the queued reports (cron with seconds).
    pub reports_schedule: String,
    /// When to collect and send notifications (cron with seconds).
    pub notify_schedule: String,
    /// Where e-mails go out.
    pub mail: notify::Mail,
    /// How long raw readings and counter readings are kept (applied with the purge).
    pub retention: db::retention::Retention,
}

/// `CARTOUCHE_RETAIN_RAW_DAYS` (default 90; `forever` keeps them) and
/// `CARTOUCHE_RETAIN_COUNTER_MONTHS` (default `forever`; at least 3).
fn retention_from_env() -> anyhow::Result<db::retention::Retention> {
    let read = |name: &str, default: Option<u32>, least: u32| -> anyhow::Result<Option<u32>> {
        match std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("forever") => Ok(None),
            Some(v) => {
                let n: u32 = v.parse().with_context(|| format!("{name}={v:?}: a whole number, or forever"))?;
                anyhow::ensure!(n >= least, "{name}={n}: at least {least}, or forever");
                Ok(Some(n))
            }
        }
    };
    Ok(db::retention::Retention {
        raw_days: read("CARTOUCHE_RETAIN_RAW_DAYS", Some(90), 1)?,
        counter_months: read("CARTOUCHE_RETAIN_COUNTER_MONTHS", None, db::retention::MIN_COUNTER_MONTHS)?,
    })
}

impl JobsConfig {
    /// From `DATABASE_URL`, `CARTOUCHE_WORKER_NAME` (default: host name and process id),
    /// `CARTOUCHE_PURGE_SCHEDULE`, `CARTOUCHE_ACCOUNTING_SCHEDULE`, `CARTOUCHE_REPAIRS_SCHEDULE`, `CARTOUCHE_REPORTS_SCHEDULE`, `CARTOUCHE_NOTIFY_SCHEDULE`, and the
    /// mail settings (`CARTOUCHE_SMTP_URL`, `CARTOUCHE_SMTP_FROM`).
    pub fn from_env() -> anyhow::Result<JobsConfig> {
        let database_url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
        let worker_name = std::env::var("CARTOUCHE_WORKER_NAME").unwrap_or_else(|_| default_worker_name());
        let purge_schedule = std::env::var("CARTOUCHE_PURGE_SCHEDULE")
            .unwrap_or_else(|_| maintenance::DEFAULT_PURGE_SCHEDULE.to_owned());
        let accounting_schedule =
            std::env::var("CARTOUCHE_ACCOUNTING_SCHEDULE").unwrap_or_else(|_| accounting::DEFAULT_SCHEDULE.to_owned());
        let repairs_schedule =
            std::env::var("CARTOUCHE_REPAIRS_SCHEDULE").unwrap_or_else(|_| repairs::DEFAULT_SCHEDULE.to_owned());
        let reports_schedule =
            std::env::var("CARTOUCHE_REPORTS_SCHEDULE").unwrap_or_else(|_| reports::DEFAULT_SCHEDULE.to_owned());
        let notify_schedule =
            std::env::var("CARTOUCHE_NOTIFY_SCHEDULE").unwrap_or_else(|_| notify::DEFAULT_SCHEDULE.to_owned());
        for (name, value) in [
            ("CARTOUCHE_NOTIFY_SCHEDULE", &notify_schedule),
            ("CARTOUCHE_REPORTS_SCHEDULE", &reports_schedule),
            ("CARTOUCHE_PURGE_SCHEDULE", &purge_schedule),
            ("CARTOUCHE_ACCOUNTING_SCHEDULE", &accounting_schedule),
            ("CARTOUCHE_REPAIRS_SCHEDULE", &repairs_schedule),
        ] {
            cron::Schedule::from_str(value).with_context(|| {
                format!("{name}={value:?} is not a cron expression (sec min hour day month weekday)")
            })?;
        }
        Ok(JobsConfig {
            database_url,
            worker_name,
            purge_schedule,
            accounting_schedule,
            repairs_schedule,
            reports_schedule,
            notify_schedule,
            mail: notify::Mail::from_env(),
            retention: retention_from_env()?,
        })
    }
}

fn default_worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("{}-{}", host.trim().if_empty("cartouche"), std::process::id())
}

trait IfEmpty {
    fn if_empty<'a>(&'a self, other: &'a str) -> &'a str;
}
impl IfEmpty for str {
    fn if_empty<'a>(&'a self, other: &'a str) -> &'a str {
        if self.is_empty() { other } else { self }
    }
}

/// The queue storage of one job type.
pub async fn storage<Args>(pool: &PgPool, queue: &str) -> PostgresStorage<Args> {
    PostgresStorage::new(pool).with_config(QueueConfig::default().queue(queue))
}

/// Creates apalis' schema and tables (idempotent); the api and the tests call it too.
pub async fn prepare_queue(database_url: &str) -> anyhow::Result<()> {
    let pool = PgPool::connect(database_url).await.context("connecting the job queue to PostgreSQL")?;
    PostgresStorage::<()>::setup(&pool).await.context("creating apalis' tables")?;
    pool.close().await;
    Ok(())
}

/// Connects, prepares apalis' tables, and runs every worker until `shutdown` resolves;
/// jobs in flight then get up to 30 s to finish.
pub async fn run(
    config: JobsConfig,
    shutdown: impl Future<Output = std::io::Result<()>> + Send + 'static,
) -> anyhow::Result<()> {
    let queue_pool = PgPool::connect(&config.database_url).await.context("connecting the job queue to PostgreSQL")?;
    PostgresStorage::<()>::setup(&queue_pool).await.context("creating apalis' tables")?;
    let db_pool = db::pool(&config.database_url, 4).context("building the database pool")?;
    let schedule = cron::Schedule::from_str(&config.purge_schedule).context("purge schedule")?;
    let accounting_schedule = cron::Schedule::from_str(&config.accounting_schedule).context("accounting schedule")?;
    let count_queue: PostgresStorage<accounting::CountPages> = storage(&queue_pool, accounting::QUEUE).await;
    let (count_cron_name, count_name) =
        (format!("{}-count-cron", config.worker_name), format!("{}-count", config.worker_name));
    let count_target = count_queue.clone();
    let count_pool = db_pool.clone();

    let repairs_schedule = cron::Schedule::from_str(&config.repairs_schedule).context("repairs schedule")?;
    let catalogue = std::sync::Arc::new(
        cartouche_schema::profiles::ProfileSet::builtin().context("loading the fault catalogue")?.catalogue,
    );
    let repairs_queue: PostgresStorage<repairs::FollowFaults> = storage(&queue_pool, repairs::QUEUE).await;
    let (repairs_cron_name, repairs_name) =
        (format!("{}-repairs-cron", config.worker_name), format!("{}-repairs", config.worker_name));
    let repairs_target = repairs_queue.clone();
    let repairs_pool = db_pool.clone();

    let reports_schedule = cron::Schedule::from_str(&config.reports_schedule).context("reports schedule")?;
    let reports_queue: PostgresStorage<reports::MakeReports> = storage(&queue_pool, reports::QUEUE).await;
    let (reports_cron_name, reports_name) =
        (format!("{}-reports-cron", config.worker_name), format!("{}-reports", config.worker_name));
    let reports_target = reports_queue.clone();
    let reports_pool = db_pool.clone();
    let reports_catalogue = catalogue.clone();

    let notify_schedule = cron::Schedule::from_str(&config.notify_schedule).context("notification schedule")?;
    let notify_queue: PostgresStorage<notify::SendNotifications> = storage(&queue_pool, notify::QUEUE).await;
    let (notify_cron_name, notify_name) =
        (format!("{}-notify-cron", config.worker_name), format!("{}-notify", config.worker_name));
    let notify_target = notify_queue.clone();
    let notify_pool = db_pool.clone();
    let senders = notify::Senders::new(config.mail.clone(), catalogue.clone()).context("the webhook client")?;

    let purge_queue: PostgresStorage<maintenance::PurgeEndedCredentials> =
        storage(&queue_pool, maintenance::PURGE_QUEUE).await;
    let name = config.worker_name.clone();
    let enqueue_name = format!("{name}-purge-cron");
    let work_name = format!("{name}-purge");
    let enqueue_target = purge_queue.clone();
    let retention = config.retention;

    Monitor::new()
        .register(move |_| {
            WorkerBuilder::new(enqueue_name.clone())
                .backend(CronScheduler::new(schedule.clone()))
                .data(enqueue_target.clone())
                .build(maintenance::enqueue_purge)
        })
        .register(move |_| {
            WorkerBuilder::new(work_name.clone())
                .backend(purge_queue.clone().with_pubsub())
                .data(db_pool.clone())
                .data(retention)
                .build(maintenance::purge_ended_credentials)
        })
        .register(move |_| {
            WorkerBuilder::new(count_cron_name.clone())
                .backend(CronScheduler::new(accounting_schedule.clone()))
                .data(count_target.clone())
                .build(accounting::enqueue)
        })
        .register(move |_| {
            WorkerBuilder::new(count_name.clone())
                .backend(count_queue.clone().with_pubsub())
                .data(count_pool.clone())
                .build(accounting::count_pages)
        })
        .register(move |_| {
            WorkerBuilder::new(repairs_cron_name.clone())
                .backend(CronScheduler::new(repairs_schedule.clone()))
                .data(repairs_target.clone())
                .build(repairs::enqueue)
        })
        .register(move |_| {
            WorkerBuilder::new(repairs_name.clone())
                .backend(repairs_queue.clone().with_pubsub())
                .data(repairs_pool.clone())
                .data(catalogue.clone())
                .build(repairs::follow_faults)
        })
        .register(move |_| {
            WorkerBuilder::new(reports_cron_name.clone())
                .backend(CronScheduler::new(reports_schedule.clone()))
                .data(reports_target.clone())
                .build(reports::enqueue)
        })
        .register(move |_| {
            WorkerBuilder::new(reports_name.clone())
                .backend(reports_queue.clone().with_pubsub())
                .data(reports_pool.clone())
                .data(reports_catalogue.clone())
                .build(reports::make_reports)
        })
        .register(move |_| {
            WorkerBuilder::new(notify_cron_name.clone())
                .backend(CronScheduler::new(notify_schedule.clone()))
                .data(notify_target.clone())
                .build(notify::enqueue)
        })
        .register(move |_| {
            WorkerBuilder::new(notify_name.clone())
                .backend(notify_queue.clone().with_pubsub())
                .data(notify_pool.clone())
                .data(senders.clone())
                .build(notify::send_notifications)
        })
        .shutdown_timeout(Duration::from_secs(30))
        .run_with_signal(shutdown)
        .await
        .context("running the workers")
}
