//! The spool under an outage: readings of the real recordings (discovery: everything read;
//! counters: only the counters part of each read plan), batched as the service batches them,
//! pushed with full synchronisation, then drained as the link drains it (pending, ack).
//! Prints throughput and what a week of outage takes on disk; asserts nothing.
//!
//! `./dev bench` runs it in release mode; or `cargo run --release -p cartouche-agent --example spool_bench`.

use std::path::Path;
use std::time::Instant;

use cartouche_agent::read::Reading;
use cartouche_agent::spool::{FullPolicy, Spool};
use cartouche_schema::profiles::{ProfileSet, Walk, read_plan_for, read_recordings};
use cartouche_schema::wire::{Cycle, RawReading};

/// Readings per batch, as `cartouche-agent run` spools them.
const BATCH: usize = 50;

fn recordings() -> Vec<Walk> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers");
    read_recordings(&root).expect("testdata/printers holds valid recordings").into_iter().map(|(_, w)| w).collect()
}

fn reading(walk: Walk, cycle: Cycle, n: usize) -> RawReading {
    let reading = Reading { walk, notes: vec![], duration: Default::default(), engine_id: None, npap: Some(false) };
    let address = std::net::SocketAddr::from(([10, 0, (n / 250) as u8, (n % 250) as u8 + 1], 161));
    reading.to_raw(address, cycle, chrono::Utc::now())
}

/// The counters part of a full walk: what a counters cycle reads.
fn counters_only(walk: &Walk, profiles: &ProfileSet) -> Walk {
    let plan = read_plan_for(walk, profiles).counters;
    walk.iter()
        .filter(|(oid, _)| plan.get.contains(oid) || plan.walk.iter().any(|root| oid.starts_with(root)))
        .map(|(oid, value)| (oid.clone(), value.clone()))
        .collect()
}

fn batches(readings: &[RawReading]) -> Vec<Vec<u8>> {
    readings.chunks(BATCH).map(|c| serde_json::to_vec(c).expect("readings serialise")).collect()
}

fn run(label: &str, payloads: &[Vec<u8>], printers: usize) {
    let path = std::env::temp_dir().join(format!("cartouche-spool-bench-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut spool = Spool::open(&path, 4 << 30, FullPolicy::DropOldest).expect("spool opens");
    let bytes: usize = payloads.iter().map(Vec::len).sum();
    let start = Instant::now();
    for payload in payloads {
        spool.push(payload).expect("push");
    }
    let push = start.elapsed();
    let start = Instant::now();
    let mut drained = 0;
    let mut last = 0;
    loop {
        let window = spool.pending_after(last, 8).expect("pending");
        if window.is_empty() {
            break;
        }
        for (sequence, payload) in window {
            drained += payload.len();
            last = sequence;
            spool.ack(sequence).expect("ack");
        }
    }
    let drain = start.elapsed();
    let mib = bytes as f64 / (1 << 20) as f64;
    println!(
        "{label}: {} batches of {BATCH} readings, {:.1} MiB ({:.1} KiB per printer-cycle); push {:.0} batches/s ({:.1} MiB/s, fsync each); drain {:.0} batches/s ({:.1} MiB/s)",
        payloads.len(),
        mib,
        bytes as f64 / 1024.0 / printers as f64,
        payloads.len() as f64 / push.as_secs_f64(),
        mib / push.as_secs_f64(),
        payloads.len() as f64 / drain.as_secs_f64(),
        drained as f64 / (1 << 20) as f64 / drain.as_secs_f64(),
    );
    drop(spool);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(path.with_extension("db-wal"));
    let _ = std::fs::remove_file(path.with_extension("db-shm"));
}

fn main() {
    let profiles = ProfileSet::builtin().expect("shipped profiles load");
    let walks = recordings();
    // A fleet of 1,000 printers cycling through the recordings.
    let printers = 1_000;
    let full: Vec<RawReading> =
        (0..printers).map(|n| reading(walks[n % walks.len()].clone(), Cycle::Discovery, n)).collect();
    let counters: Vec<RawReading> =
        (0..printers).map(|n| reading(counters_only(&walks[n % walks.len()], &profiles), Cycle::Counters, n)).collect();
    let full_batches = batches(&full);
    let counter_batches = batches(&counters);
    run("discovery cycle, 1,000 printers", &full_batches, printers);
    run("counters cycle, 1,000 printers", &counter_batches, printers);
    // A week without the server: counters every office hour (5 × 10), discovery once.
    let week: Vec<Vec<u8>> = (0..50).flat_map(|_| counter_batches.iter().cloned()).chain(full_batches).collect();
    let week_mib = week.iter().map(Vec::len).sum::<usize>() as f64 / (1 << 20) as f64;
    println!(
        "a week of outage for 1,000 printers (50 counters cycles + 1 discovery): {week_mib:.0} MiB to keep (default spool: 256 MiB)"
    );
    run("that week, pushed then drained", &week, printers * 51);
}
