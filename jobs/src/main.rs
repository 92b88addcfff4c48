//! `cartouche-jobs`: the background workers. Stops on Ctrl-C or SIGTERM, giving jobs in flight
//! up to 30 s to finish.

use cartouche_jobs::{JobsConfig, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let config = JobsConfig::from_env()?;
    tracing::info!(worker = %config.worker_name, "cartouche-jobs starting");
    run(config, shutdown_signal()).await
}

async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result?,
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CARTOUCHE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx::postgres::notice=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let json = std::env::var("CARTOUCHE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
