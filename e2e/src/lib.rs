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
pub mod synthetic;
pub mod ws;

/// Waits until `check` holds, checking every 50 ms; panics naming `what` after 60 s.
pub async fn eventually<F: AsyncFnMut() -> bool>(what: &str, mut check: F) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A file of the repository's `testdata` folder.
pub fn testdata(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(path)
}

/// A printer recording (`testdata/printers/<file>`), as `.snmprec` text.
pub fn recording(file: &str) -> String {
    let path = testdata(&format!("printers/{file}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
