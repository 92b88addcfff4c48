//! `cartouche-jobs`: the background workers.

use cartouche_jobs::{JobsConfig, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cartouche_api_free_telemetry();
    let config = JobsConfig::from_env()?;
    tracing::info!(worker = %config.worker_name, "cartouche-jobs starting");
    run(config, async { tokio::signal::ctrl_c().await }).await
}

fn cartouche_api_free_telemetry() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CARTOUCHE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
