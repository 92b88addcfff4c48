//! `cartouche-bench sweep`: the discovery and polling figures of the talking-to-printers issue,
//! printed, never asserted. Simulated devices (real recordings) live in this process; the agent
//! runs as a child process so that its own memory is measured; onesixtyone (Debian) sweeps the
//! same range in the same run for comparison. Loopback flatters every sweep (silent addresses
//! answer at once with ICMP port unreachable): compare ratios, not absolute times.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cartouche_e2e::simulator::{Device, Simulator};
use cartouche_schema::profiles::{ProfileSet, Walk, interpret};
use clap::Parser;

#[derive(Parser)]
struct Cli {
    /// The agent binary (built by ./dev bench).
    #[arg(long)]
    agent: PathBuf,
    /// Printers to simulate.
    #[arg(long, default_value_t = 1000)]
    printers: usize,
    /// Devices that answer SNMP but are not printers.
    #[arg(long, default_value_t = 200)]
    others: usize,
    /// The /16 to sweep (second octet of 127.X.0.0/16).
    #[arg(long, default_value_t = 77)]
    octet: u8,
    #[arg(long, default_value_t = 16_163)]
    port: u16,
    /// Sweep probes per second.
    #[arg(long, default_value_t = 10_000)]
    rate: u32,
}

fn recordings(dir: &Path) -> Vec<Walk> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "snmprec"));
    files.sort();
    files.iter().filter_map(|f| Walk::from_snmprec(&std::fs::read_to_string(f).ok()?).ok()).collect()
}

/// Peak resident memory of a running process, from /proc (kB).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

async fn run_measured(mut command: tokio::process::Command) -> anyhow::Result<(Duration, u64, String, String)> {
    let started = Instant::now();
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let pid = child.id().context("child pid")?;
    let watcher = tokio::spawn(async move {
        let mut peak = 0;
        while let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak
    });
    let output = child.wait_with_output().await?;
    let elapsed = started.elapsed();
    let peak = watcher.await.unwrap_or(0);
    Ok((
        elapsed,
        peak,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let profiles = ProfileSet::builtin()?;
    let mut printer_walks: Vec<Walk> = recordings(&root.join("printers/librenms"));
    printer_walks.extend(recordings(&root.join("printers/bieniu-brother")));
    // Only recordings the profiles call printers, with enough OIDs to be a real read.
    printer_walks.retain(|w| w.len() > 40 && interpret(w, &profiles).is_printer);
    let other_walks = recordings(&root.join("synthetic/non-printers"));
    let total = cli.printers + cli.others;
    let step = 65_000 / u32::try_from(total).unwrap_or(1).max(1);
    let mut devices = Vec::with_capacity(total);
    for i in 0..total {
        let index = 1 + step * u32::try_from(i).unwrap_or(0);
        let address = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, cli.octet, 0, 0)) + index);
        let walk = if i < cli.printers {
            &printer_walks[i % printer_walks.len()]
        } else {
            &other_walks[i % other_walks.len()]
        };
        let mut device = Device::new(walk.clone(), "public");
        // Each simulated printer is a printer of its own (serial and MAC), not a copy.
        device.personalise(u32::try_from(i).unwrap_or(0), &profiles);
        devices.push((SocketAddr::from((address, cli.port)), device));
    }
    let simulator = Simulator::start(devices).await?;
    let range = format!("127.{}.0.0/16", cli.octet);
    println!(
        "discovery and reading, {range}: {} printers and {} other SNMP devices (loopback)",
        cli.printers, cli.others
    );

    let scan = |retries: &str| {
        let mut agent = tokio::process::Command::new(&cli.agent);
        agent.args(["scan", &range, "--port", &cli.port.to_string(), "--rate", &cli.rate.to_string()]);
        agent.args(["--timeout", "1", "--retries", retries, "--concurrency", "64", "--json"]);
        agent
    };
    let (elapsed, peak_kb, stdout, stderr) = run_measured(scan("1")).await?;
    let found: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap_or_default();
    let false_positives = found
        .iter()
        .filter(|f| {
            let address: SocketAddr =
                f["address"].as_str().unwrap_or_default().parse().unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
            simulator.addresses.iter().position(|a| *a == address).is_none_or(|i| i >= cli.printers)
        })
        .count();
    if std::env::var_os("CARTOUCHE_BENCH_DEBUG").is_some() {
        for f in found.iter().filter(|f| f["also_at"].as_array().is_some_and(|a| !a.is_empty())) {
            eprintln!(
                "{} {} {} {} also {}",
                f["address"], f["snapshot"]["model"], f["snapshot"]["serial"], f["snapshot"]["mac"], f["also_at"]
            );
        }
    }
    let summary = stderr.lines().last().unwrap_or_default().trim_start_matches('\r').to_owned();
    println!(
        "  cartouche-agent scan      {:>7.2} s  {} of {} printers found, {false_positives} false  (peak RSS {:.1} MB)",
        elapsed.as_secs_f64(),
        found.len(),
        cli.printers,
        peak_kb as f64 / 1024.0
    );
    println!("                            {summary}");
    // The same with one pass over the range, as onesixtyone makes (the retry pass above asks
    // every silent address again, for printers that missed the first).
    let (one_pass, _, one_pass_out, _) = run_measured(scan("0")).await?;
    let one_pass_found = serde_json::from_str::<Vec<serde_json::Value>>(&one_pass_out).map_or(0, |f| f.len());
    println!(
        "  cartouche-agent scan, one pass (--retries 0)  {:>7.2} s  {one_pass_found} of {} printers found",
        one_pass.as_secs_f64(),
        cli.printers
    );

    // onesixtyone on the same /16, same port: a sweep only (no reading, no classification).
    let hosts = std::env::temp_dir().join(format!("cartouche-bench-hosts-{}", std::process::id()));
    let list: String = (1..65_535u32)
        .map(|i| format!("{}\n", Ipv4Addr::from(u32::from(Ipv4Addr::new(127, cli.octet, 0, 0)) + i)))
        .collect();
    std::fs::write(&hosts, list)?;
    match which("onesixtyone") {
        Some(tool) => {
            let mut peer = tokio::process::Command::new(tool);
            peer.args(["-p", &cli.port.to_string(), "-w", "0", "-i"]).arg(&hosts).arg("public");
            let (peer_elapsed, peak_kb, stdout, _) = run_measured(peer).await?;
            let answered = stdout.lines().filter(|l| l.contains('[')).count();
            println!(
                "  onesixtyone (sweep only)  {:>7.2} s  {answered} devices answered  (peak RSS {:.1} MB)",
                peer_elapsed.as_secs_f64(),
                peak_kb as f64 / 1024.0
            );
            println!(
                "  ratio: onesixtyone's sweep alone takes {:.2}× the time of Cartouche's sweep, reading and classification ({:.2}× with one pass each)",
                peer_elapsed.as_secs_f64() / elapsed.as_secs_f64(),
                peer_elapsed.as_secs_f64() / one_pass.as_secs_f64()
            );
        }
        None => println!("  onesixtyone: not installed (apt-get install onesixtyone)"),
    }
    let _ = std::fs::remove_file(&hosts);
    Ok(())
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(tool)).find(|p| p.is_file())
}
