#![doc = include_str!("../README.md")]

pub mod agent_socket;
pub mod api_process;
pub mod app;
pub mod browser;
pub mod db;
pub mod graphql;
pub mod ipp_printer;
pub mod relay;
pub mod running_agent;
pub mod simulator;
pub mod sinks;
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

/// A recording with one varbind's value replaced (or added).
pub fn with_varbind(snmprec: &str, oid: &str, tag: impl std::fmt::Display, value: &str) -> String {
    let prefix = format!("{oid}|");
    let mut lines: Vec<String> = snmprec.lines().filter(|l| !l.starts_with(&prefix)).map(str::to_owned).collect();
    lines.push(format!("{oid}|{tag}|{value}"));
    // Walk::from_snmprec wants them in order; it sorts what it reads.
    lines.join("\n") + "\n"
}

/// A recording with a paper jam in its Printer-MIB alert table.
pub fn jammed(snmprec: &str) -> String {
    [
        ("1.3.6.1.2.1.43.18.1.1.2.1.1", 2, "3"),
        ("1.3.6.1.2.1.43.18.1.1.4.1.1", 2, "8"),
        ("1.3.6.1.2.1.43.18.1.1.5.1.1", 2, "1"),
        ("1.3.6.1.2.1.43.18.1.1.6.1.1", 2, "0"),
        ("1.3.6.1.2.1.43.18.1.1.7.1.1", 2, "8"),
        ("1.3.6.1.2.1.43.18.1.1.8.1.1", 4, "Paper jam in tray 1"),
        ("1.3.6.1.2.1.43.18.1.1.9.1.1", 67, "1234"),
    ]
    .iter()
    .fold(snmprec.to_owned(), |walk, (oid, tag, value)| with_varbind(&walk, oid, *tag, value))
}
