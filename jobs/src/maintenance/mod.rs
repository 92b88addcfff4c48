//! Housekeeping: the authentication tables, and the retention of raw readings and counter
//! readings (`schema::db::retention`).

use apalis::prelude::*;
use apalis_cron::Tick;
use apalis_postgres::PostgresStorage;
use cartouche_schema::db::Pool;
use cartouche_schema::db::api_tokens::ApiToken;
use cartouche_schema::db::retention::{self, Removed, Retention};
use cartouche_schema::db::sessions::Session;
use cartouche_schema::db::throttle;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

pub const PURGE_QUEUE: &str = "cartouche.maintenance.purge";
/// Every quarter of an hour, on the second 0.
pub const DEFAULT_PURGE_SCHEDULE: &str = "0 */15 * * * *";
/// Ended rows are kept this long for audit before they are deleted.
pub const KEEP_ENDED_DAYS: i64 = 7;

/// Deletes sessions, refresh tokens and API tokens that ended more than a week ago, and
/// stale sign-in throttles. Idempotent: running it twice deletes nothing more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeEndedCredentials {
    /// The cron tick this run belongs to (seconds since the epoch).
    pub tick: i64,
}

/// What one purge deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: usize,
    pub refresh_tokens: usize,
    pub api_tokens: usize,
    pub throttles: usize,
}

/// The purge itself, callable from tests and the CLI.
pub async fn purge(pool: &Pool, now: chrono::DateTime<Utc>) -> anyhow::Result<Purged> {
    let mut conn = pool.get().await?;
    let before = now - Duration::days(KEEP_ENDED_DAYS);
    let (sessions, refresh_tokens) = Session::purge_ended(&mut conn, before).await?;
    let api_tokens = ApiToken::purge_ended(&mut conn, before).await?;
    let throttles = throttle::purge_stale(&mut conn, now).await?;
    Ok(Purged { sessions, refresh_tokens, api_tokens, throttles })
}

/// Cron handler: turns a tick into one queued job. The idempotency key makes the job unique
/// per tick, so N worker processes enqueue it once between them.
pub async fn enqueue_purge(tick: Tick, queue: Data<PostgresStorage<PurgeEndedCredentials>>) -> Result<(), BoxDynError> {
    let at = i64::try_from(tick.get_timestamp()).unwrap_or(i64::MAX);
    let task = TaskBuilder::new(PurgeEndedCredentials { tick: at })
        .idempotency_key(format!("purge-ended-credentials:{at}"))
        .build();
    let mut queue = (*queue).clone();
    queue.push_task(task).await?;
    Ok(())
}

/// Queue handler: the credentials, then the retention of readings.
pub async fn purge_ended_credentials(
    job: PurgeEndedCredentials,
    pool: Data<Pool>,
    retention: Data<Retention>,
) -> Result<(), BoxDynError> {
    let purged = purge(&pool, Utc::now()).await.map_err(|e| -> BoxDynError { e.into() })?;
    tracing::info!(job.name = "PurgeEndedCredentials", job.tick = job.tick, ?purged, "purged ended credentials");
    let mut conn = pool.get().await.map_err(|e| -> BoxDynError { e.into() })?;
    let removed = retention::apply(&mut conn, *retention, Utc::now()).await?;
    if removed != Removed::default() {
        tracing::info!(job.tick = job.tick, ?removed, "readings past their retention removed");
    }
    Ok(())
}
