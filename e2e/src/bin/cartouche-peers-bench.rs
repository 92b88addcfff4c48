//! `cartouche-peers-bench`: Cartouche next to the open peers installable here, on the same
//! simulated printers (the real recordings, on loopback) in one run, printed as ratios:
//!
//! - polling: the agent's counters and alerts cycles (what it does every day on a site) next
//!   to Prometheus' `prometheus-snmp-exporter` scraping the Printer-MIB tables it is given;
//! - inventory: `cartouche-agent scan` next to FusionInventory's `fusioninventory-netinventory`
//!   on one device per recording: time, and the fields each got right against the values the
//!   recordings are known to hold (testdata/printers/index.json).
//!
//! Figures are printed, never asserted: these machines are shared and noisy.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cartouche_agent::cycles::{self, CycleOptions};
use cartouche_e2e::simulator::{Device, Simulator};
use cartouche_schema::profiles::{ProfileSet, Walk, interpret, interpret_known, read_plan_for};
use cartouche_schema::wire::{AgentConfig, Cycle, KnownDevice, RangeConfig};
use clap::Parser;
use futures_util::StreamExt as _;

#[derive(Parser)]
struct Cli {
    /// The agent binary (built by ./dev bench).
    #[arg(long)]
    agent: PathBuf,
    /// Printers polled.
    #[arg(long, default_value_t = 500)]
    printers: usize,
    #[arg(long, default_value_t = 16_167)]
    port: u16,
    /// Scrapes (or reads) at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

fn which(tool: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/local/bin", "/usr/sbin"].iter().map(|d| Path::new(d).join(tool)).find(|p| p.is_file())
}

/// Peak resident memory of a process (kB), from /proc.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn ratio(ours: f64, theirs: f64) -> String {
    if ours > 0.0 && theirs > 0.0 { format!("{:.1}×", theirs / ours) } else { "—".into() }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers");
    let profiles = Arc::new(ProfileSet::builtin()?);
    let index: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(root.join("index.json"))?)?;
    // The recordings that are whole printers (not detection-only fragments).
    let whole: Vec<(serde_json::Value, Walk)> = index
        .iter()
        .filter(|e| e["detection_only"] == false && e["partial_fixture"] != true)
        .filter_map(|e| {
            let text = std::fs::read_to_string(root.join(e["file"].as_str()?)).ok()?;
            let walk = Walk::from_snmprec(&text).ok()?;
            interpret(&walk, &profiles).is_printer.then(|| (e.clone(), walk))
        })
        .collect();
    anyhow::ensure!(!whole.is_empty(), "no whole printer recordings in {}", root.display());

    polling(&cli, &whole, &profiles).await?;
    inventory(&cli, &whole, &profiles).await?;
    Ok(())
}

// ------------------------------------------------------------------------------- polling

const EXPORTER_CONFIG: &str = r#"# The Printer-MIB tables Cartouche's counters and alerts cycles read, for the exporter.
printer:
  version: 2
  auth:
    community: public
  timeout: 2s
  retries: 1
  walk:
    - 1.3.6.1.2.1.43.10.2.1.4
    - 1.3.6.1.2.1.43.11.1.1
    - 1.3.6.1.2.1.43.18.1.1
  metrics:
    - name: prtMarkerLifeCount
      oid: 1.3.6.1.2.1.43.10.2.1.4
      type: counter
      indexes: [{ labelname: hrDeviceIndex, type: gauge }, { labelname: prtMarkerIndex, type: gauge }]
    - name: prtMarkerSuppliesLevel
      oid: 1.3.6.1.2.1.43.11.1.1.9
      type: gauge
      indexes: [{ labelname: hrDeviceIndex, type: gauge }, { labelname: prtMarkerSuppliesIndex, type: gauge }]
      lookups:
        - labels: [hrDeviceIndex, prtMarkerSuppliesIndex]
          labelname: prtMarkerSuppliesDescription
          oid: 1.3.6.1.2.1.43.11.1.1.6
          type: DisplayString
    - name: prtMarkerSuppliesMaxCapacity
      oid: 1.3.6.1.2.1.43.11.1.1.8
      type: gauge
      indexes: [{ labelname: hrDeviceIndex, type: gauge }, { labelname: prtMarkerSuppliesIndex, type: gauge }]
    - name: prtAlertSeverityLevel
      oid: 1.3.6.1.2.1.43.18.1.1.2
      type: gauge
      indexes: [{ labelname: hrDeviceIndex, type: gauge }, { labelname: prtAlertIndex, type: gauge }]
      lookups:
        - labels: [hrDeviceIndex, prtAlertIndex]
          labelname: prtAlertDescription
          oid: 1.3.6.1.2.1.43.18.1.1.8
          type: DisplayString
"#;

async fn polling(cli: &Cli, whole: &[(serde_json::Value, Walk)], profiles: &Arc<ProfileSet>) -> anyhow::Result<()> {
    let devices: Vec<(SocketAddr, Device)> = (0..cli.printers)
        .map(|i| {
            let n = u32::try_from(i).unwrap_or(0);
            let address = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 78, 0, 1)) + n);
            let mut device = Device::new(whole[i % whole.len()].1.clone(), "public");
            device.personalise(n, profiles);
            (SocketAddr::from((address, cli.port)), device)
        })
        .collect();
    let walks: Vec<Walk> = devices.iter().map(|(_, d)| d.walk.clone()).collect();
    let simulator = Simulator::start(devices).await?;
    println!(
        "polling {} printers (the recordings that are whole printers, each made distinct), {} at once",
        cli.printers, cli.concurrency
    );

    // Cartouche: the known devices with the read plans the server gives them.
    let range = "bench".to_owned();
    let known: Vec<KnownDevice> = simulator
        .addresses
        .iter()
        .zip(&walks)
        .enumerate()
        .map(|(i, (address, walk))| KnownDevice {
            id: format!("device-{i}"),
            range_id: range.clone(),
            address: address.ip().to_string(),
            port: address.port(),
            credential: String::new(),
            plan: read_plan_for(walk, profiles),
            serial: None,
            mac: None,
        })
        .collect();
    let config = AgentConfig {
        ranges: vec![RangeConfig {
            id: range.clone(),
            ranges: format!("127.78.0.1-127.78.{}.{}", (cli.printers) / 256, cli.printers % 256),
            site_time_zone: "UTC".into(),
            credentials: vec![],
            schedules: BTreeMap::new(),
        }],
        credentials: BTreeMap::new(),
        devices: known,
        usb_interval_minutes: None,
    };
    let mut options: CycleOptions = cartouche_e2e::simulator::cycle_options(cli.port);
    options.sweep.concurrency = cli.concurrency;
    let started = Instant::now();
    let counters =
        cycles::run(&config, &range, Cycle::Counters, &options, profiles.clone(), chrono::Utc::now()).await?;
    let alerts = cycles::run(&config, &range, Cycle::Alerts, &options, profiles.clone(), chrono::Utc::now()).await?;
    let ours = started.elapsed();
    let chains: BTreeMap<&str, Vec<String>> =
        config.devices.iter().zip(&walks).map(|(d, w)| (d.id.as_str(), interpret(w, profiles).profile)).collect();
    let (mut page_counters, mut supplies, mut alert_rows) = (0, 0, 0);
    for reading in counters.readings.iter().chain(&alerts.readings) {
        let walk = Walk::from_snmprec(&reading.snmprec)?;
        let chain = reading.device_id.as_deref().and_then(|id| chains.get(id)).cloned().unwrap_or_default();
        let snapshot = interpret_known(&walk, profiles, &chain);
        if reading.cycle == Cycle::Counters {
            page_counters += snapshot.counters.len();
            supplies += snapshot.supplies.len();
        } else {
            alert_rows += snapshot.alerts.len();
        }
    }
    println!(
        "  cartouche counters+alerts cycles   {:>7.2} s  {} + {} devices read; {page_counters} page counters (by kind), {supplies} supplies (with their %), {alert_rows} alerts",
        ours.as_secs_f64(),
        counters.report.devices_read,
        alerts.report.devices_read
    );

    let Some(exporter) = which("prometheus-snmp-exporter") else {
        println!("  prometheus-snmp-exporter: not installed (apt-get install prometheus-snmp-exporter)");
        return Ok(());
    };
    let dir = std::env::temp_dir().join(format!("cartouche-peers-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("snmp.yml"), EXPORTER_CONFIG)?;
    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let mut child = tokio::process::Command::new(exporter)
        .arg(format!("--config.file={}", dir.join("snmp.yml").display()))
        .arg(format!("--web.listen-address={listen}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("exporter pid")?;
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(format!("http://{listen}/")).send().await.is_err() {
        anyhow::ensure!(Instant::now() < deadline, "the exporter did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    let scrapes: Vec<Option<String>> = futures_util::stream::iter(simulator.addresses.iter())
        .map(|address| {
            let http = http.clone();
            async move {
                let url = format!("http://{listen}/snmp?module=printer&target={address}");
                let response = http.get(url).timeout(Duration::from_secs(30)).send().await.ok()?;
                response.status().is_success().then_some(())?;
                response.text().await.ok()
            }
        })
        .buffer_unordered(cli.concurrency)
        .collect()
        .await;
    let theirs = started.elapsed();
    let peak = peak_rss_kb(pid).unwrap_or(0);
    let samples = |name: &str| -> usize {
        scrapes.iter().flatten().flat_map(|body| body.lines()).filter(|l| l.starts_with(&format!("{name}{{"))).count()
    };
    let scraped = scrapes.iter().filter(|s| s.is_some()).count();
    println!(
        "  prometheus-snmp-exporter scrapes   {:>7.2} s  {scraped} devices scraped; {} life counts (by marker, not by kind), {} supply levels (raw, max separately), {} alert rows  (peak RSS {:.1} MB)",
        theirs.as_secs_f64(),
        samples("prtMarkerLifeCount"),
        samples("prtMarkerSuppliesLevel"),
        samples("prtAlertSeverityLevel"),
        peak as f64 / 1024.0
    );
    println!(
        "  ratio: the exporter takes {} the time of Cartouche's cycles for the same printers",
        ratio(ours.as_secs_f64(), theirs.as_secs_f64())
    );
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

// ------------------------------------------------------------------------------ inventory

/// The fields both tools report, scored against the recordings' known values.
#[derive(Default)]
struct Score {
    serial: (usize, usize),
    model: (usize, usize),
    mac: (usize, usize),
    pages: (usize, usize),
    supplies: (usize, usize),
}

impl Score {
    fn add(&mut self, expected: &serde_json::Value, found: &Found) {
        let norm = |s: &str| s.trim().to_lowercase();
        let hex = |s: &str| s.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_lowercase();
        if let Some(serial) = expected["serial_expected"].as_str() {
            self.serial.1 += 1;
            self.serial.0 += usize::from(found.serial.as_deref().is_some_and(|s| norm(s) == norm(serial)));
        }
        if let Some(model) = expected["model_expected"].as_str() {
            // The known model may carry more than the model (a host name in brackets).
            let model = norm(model.split(" [").next().unwrap_or(model));
            self.model.1 += 1;
            self.model.0 += usize::from(found.model.as_deref().is_some_and(|m| {
                let m = norm(m);
                !m.is_empty() && (m.contains(&model) || model.contains(&m))
            }));
        }
        if let Some(mac) = expected["mac_raw"].as_str() {
            self.mac.1 += 1;
            self.mac.0 += usize::from(found.mac.as_deref().is_some_and(|m| hex(m) == hex(mac)));
        }
        if let Some(pages) = expected["lifecount_raw"].as_u64() {
            self.pages.1 += 1;
            self.pages.0 += usize::from(found.pages == Some(pages));
        }
        // The rows of the recording's supplies table (prtMarkerSuppliesTable). LibreNMS's own
        // expectation counts paper trays among supplies too, which neither tool calls supplies.
        if let Some(n) = expected["n_supplies_raw"].as_u64().filter(|n| *n > 0) {
            self.supplies.1 += 1;
            self.supplies.0 += usize::from(found.supplies == usize::try_from(n).unwrap_or(0));
        }
    }

    fn line(&self) -> String {
        let f = |(got, of): (usize, usize)| format!("{got}/{of}");
        format!(
            "serial {}, model {}, MAC {}, total pages {}, supplies {}",
            f(self.serial),
            f(self.model),
            f(self.mac),
            f(self.pages),
            f(self.supplies)
        )
    }

    fn total(&self) -> (usize, usize) {
        [self.serial, self.model, self.mac, self.pages, self.supplies]
            .iter()
            .fold((0, 0), |(g, o), (got, of)| (g + got, o + of))
    }
}

#[derive(Default, Debug)]
struct Found {
    serial: Option<String>,
    model: Option<String>,
    mac: Option<String>,
    pages: Option<u64>,
    supplies: usize,
}

/// The text of the first `<TAG>…</TAG>` in `xml`.
fn tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim())
}

async fn inventory(cli: &Cli, whole: &[(serde_json::Value, Walk)], _profiles: &Arc<ProfileSet>) -> anyhow::Result<()> {
    // One device per recording, exactly as recorded (so the known values hold).
    let devices: Vec<(SocketAddr, Device)> = whole
        .iter()
        .enumerate()
        .map(|(i, (_, walk))| {
            let address = Ipv4Addr::new(127, 79, 0, 1 + u8::try_from(i).unwrap_or(200));
            (SocketAddr::from((address, cli.port)), Device::new(walk.clone(), "public"))
        })
        .collect();
    let simulator = Simulator::start(devices).await?;
    let addresses = simulator.addresses.clone();
    println!("inventory of {} printers, one per whole recording, scored against their known values", addresses.len());

    let list = addresses.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(",");
    let started = Instant::now();
    let output = tokio::process::Command::new(&cli.agent)
        .args(["scan", &list, "--port", &cli.port.to_string(), "--timeout", "2", "--retries", "1", "--json"])
        .output()
        .await?;
    let ours = started.elapsed();
    let found: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap_or_default();
    let mut score = Score::default();
    for (address, (expected, _)) in addresses.iter().zip(whole) {
        let snapshot = found
            .iter()
            .find(|f| f["address"].as_str() == Some(&address.to_string()))
            .map(|f| f["snapshot"].clone())
            .unwrap_or_default();
        let text = |k: &str| snapshot[k].as_str().map(str::to_owned);
        let pages = snapshot["counters"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["kind"] == "total"))
            .and_then(|c| c["value"].as_u64());
        let supplies = snapshot["supplies"].as_array().map_or(0, Vec::len);
        score.add(expected, &Found { serial: text("serial"), model: text("model"), mac: text("mac"), pages, supplies });
    }
    let (got, of) = score.total();
    println!(
        "  cartouche-agent scan               {:>7.2} s  {got}/{of} fields right: {}",
        ours.as_secs_f64(),
        score.line()
    );

    let Some(tool) = which("fusioninventory-netinventory") else {
        println!("  fusioninventory-netinventory: not installed (apt-get install fusioninventory-agent-task-network)");
        return Ok(());
    };
    let started = Instant::now();
    let outputs: Vec<String> = futures_util::stream::iter(addresses.iter())
        .map(|address| {
            let tool = tool.clone();
            async move {
                let output = tokio::process::Command::new(tool)
                    .args(["--host", &address.ip().to_string(), "--port", &address.port().to_string()])
                    .args(["--community", "public", "--timeout", "2"])
                    .stderr(Stdio::null())
                    .output()
                    .await;
                output.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
            }
        })
        .buffered(cli.concurrency.min(8))
        .collect()
        .await;
    let theirs = started.elapsed();
    let mut score = Score::default();
    for (xml, (expected, _)) in outputs.iter().zip(whole) {
        let info = tag(xml, "INFO").unwrap_or_default();
        let pages = tag(xml, "PAGECOUNTERS").and_then(|p| tag(p, "TOTAL")).and_then(|t| t.parse().ok());
        let supplies = tag(xml, "CARTRIDGES").map_or(0, |c| c.matches("</").count());
        score.add(
            expected,
            &Found {
                serial: tag(info, "SERIAL").map(str::to_owned),
                model: tag(info, "MODEL").map(str::to_owned),
                mac: tag(info, "MAC").map(str::to_owned),
                pages,
                supplies,
            },
        );
    }
    let (their_got, their_of) = score.total();
    println!(
        "  fusioninventory-netinventory       {:>7.2} s  {their_got}/{their_of} fields right: {}  (8 at once)",
        theirs.as_secs_f64(),
        score.line()
    );
    println!(
        "  ratio: FusionInventory takes {} the time, and gets {their_got} fields right where Cartouche gets {got}",
        ratio(ours.as_secs_f64(), theirs.as_secs_f64())
    );
    Ok(())
}
