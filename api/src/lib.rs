#![doc = include_str!("../README.md")]

pub mod agent_config;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod error;
pub mod events;
pub mod export;
pub mod gateway;
pub mod graphql;
pub mod ingest;
pub mod reinterpret;
pub mod response_cache;
mod routes;
pub mod secrets;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use cartouche_schema::db::{self, Pool};
use diesel_async::AsyncConnection;
use tokio::net::TcpListener;

pub use config::Config;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub access_tokens: auth::tokens::AccessTokens,
    pub events: events::EventBus,
    pub config: Arc<Config>,
    pub ingestor: ingest::Ingestor,
    pub responses: Arc<response_cache::ResponseCache>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("events", &self.events).finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(config: Config) -> anyhow::Result<AppState> {
        let pool = db::pool(config.database_url(), config.db_pool_size).context("building the database pool")?;
        let profiles = Arc::new(
            cartouche_schema::profiles::ProfileSet::builtin().context("loading the built-in device profiles")?,
        );
        let events = events::EventBus::start(config.database_url().to_owned());
        Ok(AppState {
            ingestor: ingest::Ingestor::new(pool.clone(), profiles),
            pool,
            access_tokens: auth::tokens::AccessTokens::new(&config.jwt_secret, config.access_token_ttl),
            // Up to 64 MiB of answers.
            responses: response_cache::ResponseCache::new(events.clone(), config.response_cache_entries, 64 << 20),
            events,
            config: Arc::new(config),
        })
    }
}

/// Applies pending migrations; returns the versions applied.
pub async fn migrate(database_url: &str) -> anyhow::Result<Vec<String>> {
    let conn = diesel_async::AsyncPgConnection::establish(database_url)
        .await
        .context("connecting to PostgreSQL to migrate")?;
    db::run_migrations(conn).await.map_err(|err| anyhow::anyhow!("migrating the database: {err}"))
}

/// A bound, not yet serving api: tests read the address before serving.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    ingestor: ingest::Ingestor,
}

impl Server {
    /// Migrates (unless configured not to), binds and builds the application.
    pub async fn bind(config: Config) -> anyhow::Result<Server> {
        if config.migrate_on_start {
            let applied = migrate(config.database_url()).await?;
            if !applied.is_empty() {
                tracing::info!(migrations = ?applied, "database migrated");
            }
        }
        let listener = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let state = AppState::new(config)?;
        let ingestor = state.ingestor.clone();
        // Before the first reading can arrive: a month's readings stored in the default
        // partition would keep that month's partition from being made.
        ingestor.ensure_partitions().await;
        Ok(Server { listener, router: routes::router(state), ingestor })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight. Meanwhile,
    /// batches left uninterpreted (by a crash, or a replica that stopped) are picked up every
    /// 30 seconds.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let serving = axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown);
        tokio::select! {
            served = serving => served.context("serving HTTP"),
            () = self.ingestor.catch_up_forever(std::time::Duration::from_secs(30)) => Ok(()),
        }
    }
}
