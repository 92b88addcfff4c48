//! The technicians' commands: `inspect` one device (live or from a recording) and `scan`
//! ranges for printers.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use cartouche_agent::discovery::{self, SweepConfig};
use cartouche_agent::snmp::Session;
use cartouche_agent::{inspect, profiles, read};
use clap::Args;

use crate::snmp_args::SnmpArgs;

#[derive(Args)]
pub struct InspectArgs {
    /// The device: an IP address or a host name.
    #[arg(required_unless_present = "walk", conflicts_with = "walk")]
    pub address: Option<String>,
    /// A recorded walk of the device (.snmprec: OID|TAG|VALUE lines).
    #[arg(long, value_name = "FILE")]
    pub walk: Option<PathBuf>,
    /// Print the snapshot as JSON (the format of docs/PROFILES.md).
    #[arg(long)]
    pub json: bool,
    /// A folder of extra or corrected profiles (*.toml), tried before the shipped ones.
    #[arg(long, value_name = "DIR")]
    pub profiles: Option<PathBuf>,
    #[command(flatten)]
    pub snmp: SnmpArgs,
}

#[derive(Args)]
pub struct ScanArgs {
    /// Ranges to sweep (at most a /16 each).
    #[arg(required = true)]
    pub ranges: Vec<String>,
    /// Print the printers found as JSON (one snapshot each, with its address).
    #[arg(long)]
    pub json: bool,
    /// Probes per second.
    #[arg(long, default_value_t = 2000)]
    pub rate: u32,
    /// Devices read at once after the sweep.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// A folder of extra or corrected profiles (*.toml).
    #[arg(long, value_name = "DIR")]
    pub profiles: Option<PathBuf>,
    #[command(flatten)]
    pub snmp: SnmpArgs,
}

/// Shows what Cartouche makes of one device.
pub async fn inspect(args: InspectArgs) -> anyhow::Result<()> {
    let InspectArgs { address, walk, json, profiles: dir, snmp } = args;
    let set = profiles::load(dir.as_deref())?;
    let snapshot = match (walk, address) {
        (Some(walk), _) => inspect::walk_file(&walk, &set)?,
        (None, Some(address)) => {
            let (target, config) = snmp.target(&address)?;
            let options = snmp.read_options(&config);
            let shown = target.address;
            let mut session = Session::new(target, config);
            let reading =
                read::read_device(&mut session, &set, &options).await.with_context(|| format!("reading {shown}"))?;
            for note in &reading.notes {
                eprintln!("note: {note}");
            }
            if let Some(npap) = reading.npap {
                eprintln!("NPAP (TCP {}): {}", snmp.npap_port, if npap { "answers" } else { "no answer" });
            }
            cartouche_schema::profiles::interpret(&reading.walk, &set)
        }
        (None, None) => unreachable!("clap requires an address or --walk"),
    };
    if json {
        println!("{}", inspect::json(&snapshot)?);
    } else {
        print!("{}", inspect::text(&snapshot));
    }
    Ok(())
}

/// Finds the printers of ranges and lists them (text or streamed JSON).
pub async fn scan(args: ScanArgs) -> anyhow::Result<()> {
    let ScanArgs { ranges, json, rate, concurrency, profiles: dir, snmp } = args;
    let set = std::sync::Arc::new(profiles::load(dir.as_deref())?);
    let addresses = discovery::resolve(&ranges).await?;
    let credentials = snmp.credentials()?;
    let engine = snmp.engine()?;
    let sweep = SweepConfig {
        read: snmp.read_options(&engine),
        port: snmp.port,
        timeout: Duration::from_secs_f64(snmp.timeout),
        retries: snmp.retries,
        rate,
        concurrency,
        keep_raw: false,
    };
    let started = std::time::Instant::now();
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = |done: usize, total: usize| {
        if terminal {
            eprint!("\rsweeping: {done}/{total} addresses        ");
        }
    };
    let report = discovery::scan_report(&addresses, &credentials, &sweep, &engine, set, &progress).await?;
    let printers = report.printers;
    eprintln!(
        "\r{} printers, {} other devices answering, {} unreadable, {} addresses; sweep {:.2} s, reading after it {:.2} s, total {:.2} s",
        printers.len(),
        report.others,
        report.unreadable,
        addresses.len(),
        report.sweep.as_secs_f64(),
        report.read.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    if json {
        // Streamed, one snapshot at a time: a thousand snapshots never sit in memory twice.
        #[derive(serde::Serialize)]
        struct Entry<'a> {
            address: String,
            also_at: Vec<String>,
            snapshot: &'a cartouche_schema::profiles::DeviceSnapshot,
        }
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        std::io::Write::write_all(&mut out, b"[\n")?;
        for (i, found) in printers.iter().enumerate() {
            if i > 0 {
                std::io::Write::write_all(&mut out, b",\n")?;
            }
            serde_json::to_writer(
                &mut out,
                &Entry {
                    address: found.address.to_string(),
                    also_at: found.also_at.iter().map(ToString::to_string).collect(),
                    snapshot: &found.snapshot,
                },
            )?;
        }
        std::io::Write::write_all(&mut out, b"\n]\n")?;
    } else {
        for found in &printers {
            let s = &found.snapshot;
            println!(
                "{:<21} {:<14} {:<28} {}",
                found.address,
                s.vendor.as_deref().unwrap_or("?"),
                s.model.as_deref().unwrap_or("?"),
                s.serial.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}
