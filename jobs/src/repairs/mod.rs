//! Faults to repairs: every 15 seconds (by default) new alerts are checked against the tenants'
//! work order rules, and the work orders whose fault cleared in telemetry are proposed for
//! closing or closed by their rule once pages print again (`db::work_orders`). Several worker
//! processes share the work: each takes rows locked and skipped by the others.

use std::sync::Arc;

use apalis::prelude::*;
use apalis_cron::Tick;
use apalis_postgres::PostgresStorage;
use cartouche_schema::db::Pool;
use cartouche_schema::db::work_orders::{self, Followed};
use cartouche_schema::profiles::catalogue::FaultCatalogue;
use serde::{Deserialize, Serialize};

pub const QUEUE: &str = "cartouche.repairs.follow";
/// Every 15 seconds.
pub const DEFAULT_SCHEDULE: &str = "*/15 * * * * *";
/// Alerts or work orders per transaction.
const CHUNK: i64 = 200;

/// Triage new alerts and follow cleared faults. Idempotent: an alert is triaged once (a flag set
/// in the transaction that opens its work order) and a followed work order is not taken again
/// unless its rule still waits for pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowFaults {
    pub tick: i64,
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub opened: usize,
    pub followed: Followed,
}

/// Triage every new alert, then follow every cleared fault, a chunk per transaction.
pub async fn run_pass(pool: &Pool, catalogue: &FaultCatalogue) -> anyhow::Result<Pass> {
    let mut conn = pool.get().await?;
    let mut pass = Pass::default();
    loop {
        let triaged = work_orders::triage(&mut conn, catalogue, CHUNK).await?;
        pass.opened += triaged.opened;
        if triaged.alerts == 0 {
            break;
        }
    }
    loop {
        let done = work_orders::follow(&mut conn, CHUNK).await?;
        pass.followed.proposed += done.proposed;
        pass.followed.closed += done.closed;
        if done == Followed::default() {
            break;
        }
    }
    Ok(pass)
}

/// Cron handler: one queued job per tick, whatever the number of worker processes.
pub async fn enqueue(tick: Tick, queue: Data<PostgresStorage<FollowFaults>>) -> Result<(), BoxDynError> {
    let at = i64::try_from(tick.get_timestamp()).unwrap_or(i64::MAX);
    let task = TaskBuilder::new(FollowFaults { tick: at }).idempotency_key(format!("follow-faults:{at}")).build();
    let mut queue = (*queue).clone();
    queue.push_task(task).await?;
    Ok(())
}

/// Queue handler.
pub async fn follow_faults(
    job: FollowFaults,
    pool: Data<Pool>,
    catalogue: Data<Arc<FaultCatalogue>>,
) -> Result<(), BoxDynError> {
    let pass = run_pass(&pool, &catalogue).await.map_err(|e| -> BoxDynError { e.into() })?;
    if pass != Pass::default() {
        tracing::info!(
            job.name = "FollowFaults",
            job.tick = job.tick,
            opened = pass.opened,
            proposed = pass.followed.proposed,
            closed = pass.followed.closed,
            "work orders followed"
        );
    }
    Ok(())
}
