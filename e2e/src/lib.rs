#![doc = include_str!("../README.md")]

pub mod agent_socket;
pub mod app;
pub mod browser;
pub mod db;
pub mod graphql;
pub mod ipp_printer;
pub mod relay;
pub mod simulator;
pub mod snmpd;
pub mod ws;

/// Waits until `check` holds, checking every 50 ms; panics naming `what` after 60 s.
pub async fn eventually<F: AsyncFnMut() -> bool>(what: &str, mut check: F) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
