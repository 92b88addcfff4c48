//! The api as its own process, configured from the environment like `cartouche-api serve`,
//! for the drills that kill it (SIGKILL: no shutdown, no flush, connections cut mid-write).
//! A binary of this package so that the tests find it (`CARGO_BIN_EXE_cartouche-test-api`).

use cartouche_api::{Config, Server};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cartouche_api::telemetry::init();
    let server = Server::bind(Config::from_env()?).await?;
    server.serve(std::future::pending()).await
}
