//! Page accounting: every minute (by default) the meters with new, late or reinterpreted
//! readings are counted again, day by day in their site's time zone. The due meters come from
//! the outbox the ingestion writes in the readings' own transaction; several worker processes
//! share it (rows locked and skipped), and a recount that fails leaves its meters due.

use apalis::prelude::*;
use apalis_cron::Tick;
use apalis_postgres::PostgresStorage;
use cartouche_schema::db::Pool;
use cartouche_schema::db::accounting;
use chrono::Utc;
use serde::{Deserialize, Serialize};

pub const QUEUE: &str = "cartouche.accounting.count";
/// Every minute, on the second 5.
pub const DEFAULT_SCHEDULE: &str = "5 * * * * *";
/// Devices counted per transaction.
const CHUNK: i64 = 200;

/// Count the pages of every meter due. Idempotent: counting a meter again from the same
/// readings writes the same days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountPages {
    /// The cron tick this run belongs to (seconds since the epoch).
    pub tick: i64,
}

/// Counts every due device, a chunk per transaction, until none is due; returns how many.
pub async fn count_due(pool: &Pool) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    let mut total = 0;
    loop {
        let counted = accounting::drain(&mut conn, CHUNK, Utc::now()).await?;
        total += counted;
        if counted == 0 {
            return Ok(total);
        }
    }
}

/// Cron handler: one queued job per tick, whatever the number of worker processes.
pub async fn enqueue(tick: Tick, queue: Data<PostgresStorage<CountPages>>) -> Result<(), BoxDynError> {
    let at = i64::try_from(tick.get_timestamp()).unwrap_or(i64::MAX);
    let task = TaskBuilder::new(CountPages { tick: at }).idempotency_key(format!("count-pages:{at}")).build();
    let mut queue = (*queue).clone();
    queue.push_task(task).await?;
    Ok(())
}

/// Queue handler.
pub async fn count_pages(job: CountPages, pool: Data<Pool>) -> Result<(), BoxDynError> {
    let counted = count_due(&pool).await.map_err(|e| -> BoxDynError { e.into() })?;
    if counted > 0 {
        tracing::info!(job.name = "CountPages", job.tick = job.tick, devices = counted, "pages counted");
    }
    Ok(())
}
