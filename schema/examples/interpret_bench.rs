//! Interpretation speed on the real recordings: the largest one (the Zebra, 1,270 OIDs) and
//! the whole corpus. Prints figures; asserts nothing (machines are shared and noisy).
//!
//! `./dev bench` runs it in release mode; or `cargo run --release -p cartouche-schema --example interpret_bench`.

use std::path::Path;
use std::time::{Duration, Instant};

use cartouche_schema::profiles::{ProfileSet, interpret, read_recordings};

fn time<T>(rounds: u32, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() * 99 / 100])
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers");
    let walks = read_recordings(&root).expect("testdata/printers holds valid recordings");
    let (load, _) = time(50, || ProfileSet::builtin().expect("profiles load"));
    let profiles = ProfileSet::builtin().expect("profiles load");
    let (zebra_path, zebra) = walks.iter().max_by_key(|(_, w)| w.len()).expect("at least one recording");
    let (zebra_p50, zebra_p99) = time(2000, || interpret(zebra, &profiles));
    let (corpus_p50, corpus_p99) = time(200, || walks.iter().map(|(_, w)| interpret(w, &profiles)).collect::<Vec<_>>());
    let oids: usize = walks.iter().map(|(_, w)| w.len()).sum();
    println!("interpretation (release build, one core)");
    println!("  load the shipped profiles            p50 {:>9.3} ms", load.as_secs_f64() * 1e3);
    println!(
        "  largest recording ({}, {} OIDs)  p50 {:>9.1} µs  p99 {:>9.1} µs",
        zebra_path.file_stem().unwrap_or_default().to_string_lossy(),
        zebra.len(),
        zebra_p50.as_secs_f64() * 1e6,
        zebra_p99.as_secs_f64() * 1e6
    );
    println!(
        "  whole corpus ({} recordings, {oids} OIDs)  p50 {:>9.3} ms  p99 {:>9.3} ms  ({:.0} devices/s)",
        walks.len(),
        corpus_p50.as_secs_f64() * 1e3,
        corpus_p99.as_secs_f64() * 1e3,
        walks.len() as f64 / corpus_p50.as_secs_f64()
    );
}
