//! PostgreSQL: the diesel schema generated from `migrations/`, row models and query functions.
//!
//! Every query on a tenant-owned table takes a [`Scope`]: the set of tenants the caller may see,
//! which only authentication can produce. A row outside the scope is reported as
//! `diesel::result::Error::NotFound`, exactly like a row that does not exist, so that nothing
//! tells one tenant what another has.

pub mod accounting;
pub mod agent_config;
pub mod agents;
pub mod api_tokens;
pub mod billing;
pub mod bills;
pub mod devices;
pub mod fleet;
pub mod forecasts;
pub mod notifications;
pub mod page;
pub mod reports;
pub mod retention;
pub mod schema;
pub mod scope;
pub mod sessions;
pub mod shipments;
pub mod sites;
pub mod tenants;
pub mod throttle;
pub mod users;
pub mod work_orders;

mod role_sql;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use page::{Keyset, PageRequest};
pub use scope::Scope;

/// The PostgreSQL channel of change events: every api replica LISTENs on it, and whatever
/// changes a watched object (the api, the workers) `pg_notify`s on it in its transaction.
pub const EVENTS_CHANNEL: &str = "cartouche_events";

/// The migrations of `migrations/`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

pub type Pool = deadpool::Pool<AsyncPgConnection>;
pub type PooledConn = deadpool::Object<AsyncPgConnection>;

/// A connection pool of at most `max_size` connections; connections open lazily.
pub fn pool(database_url: &str, max_size: usize) -> Result<Pool, deadpool::BuildError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(database_url);
    deadpool::Pool::builder(manager).max_size(max_size).build()
}

/// Key of the advisory lock that serialises migrations between processes (several api
/// replicas starting at once).
const MIGRATION_LOCK: i64 = 0x6361_7274_6f75_6368; // "cartouch"

/// Applies every pending migration and returns the versions applied.
///
/// Must run on a multi-threaded tokio runtime (the harness blocks in place). Holds a
/// session advisory lock meanwhile, released when the connection closes.
pub async fn run_migrations(
    mut conn: AsyncPgConnection,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    use diesel_async::RunQueryDsl;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn)
        .await?;
    let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
    let applied = harness.run_pending_migrations(MIGRATIONS)?;
    Ok(applied.into_iter().map(|v| v.to_string()).collect())
}

/// Reverts every migration, newest first (used by the tests that prove `down.sql` works).
pub async fn revert_all_migrations(
    conn: AsyncPgConnection,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
    let reverted = harness.revert_all_migrations(MIGRATIONS)?;
    Ok(reverted.into_iter().map(|v| v.to_string()).collect())
}

/// True when the error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(err, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}
