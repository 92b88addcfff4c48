//! The api as a separate process (`cartouche-test-api`), so that a drill can kill it for real:
//! SIGKILL, with batches half-written, transactions open and acknowledgements unsent.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;

use crate::app::{JWT_SECRET, SECRET_KEY};

pub struct ApiProcess {
    child: tokio::process::Child,
    pub base_url: String,
}

impl ApiProcess {
    /// Starts `binary` on `database_url`, listening on `listen`, and waits until it is ready.
    pub async fn start(binary: &Path, database_url: &str, listen: SocketAddr) -> anyhow::Result<ApiProcess> {
        let child = tokio::process::Command::new(binary)
            .env("DATABASE_URL", database_url)
            .env("CARTOUCHE_LISTEN", listen.to_string())
            .env("CARTOUCHE_JWT_SECRET", JWT_SECRET)
            .env("CARTOUCHE_SECRET_KEY", SECRET_KEY)
            .env("CARTOUCHE_DB_POOL_SIZE", "8")
            .env("CARTOUCHE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let process = ApiProcess { child, base_url: format!("http://{listen}") };
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ready = http
                .get(format!("{}/readyz", process.base_url))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(process);
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "the api process was not ready in 30 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, then reaps the process.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("killing the api process")
    }
}

/// A loopback port free right now (the api is started on it again after each kill, as a
/// service manager restarts a crashed process on its configured port).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
