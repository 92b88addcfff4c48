//! The site agent's commands: `enroll` once, then `run` as a service, and `status` to see how
//! it is doing.

use std::path::PathBuf;

use anyhow::Context as _;
use cartouche_agent::discovery::SweepConfig;
use cartouche_agent::link;
use cartouche_agent::profiles;
use cartouche_agent::read::ReadOptions;
use cartouche_agent::snmp::EngineConfig;
use clap::Args;
use secrecy::ExposeSecret as _;

use crate::snmp_args::secret;

/// Where an enrolled agent keeps its identity unless told otherwise: the systemd unit's state
/// folder, or on Windows the service's folder under ProgramData.
#[cfg(not(windows))]
pub const DEFAULT_ENROLLMENT: &str = "/var/lib/cartouche-agent/agent.json";
#[cfg(windows)]
pub const DEFAULT_ENROLLMENT: &str = r"C:\ProgramData\Cartouche\agent.json";

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SpoolFull {
    DropOldest,
    RefuseNew,
}

#[derive(Args)]
pub struct EnrollArgs {
    /// The server's address: https://cartouche.example.com or http://10.0.0.5:8080.
    #[arg(long)]
    pub server: String,
    /// The enrollment key. Prefer --key-file or CARTOUCHE_ENROLLMENT_KEY: a command line
    /// is visible to other users of the machine.
    #[arg(long, env = "CARTOUCHE_ENROLLMENT_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Read the enrollment key from this file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub key_file: Option<PathBuf>,
    /// The agent's name in the console (default: this machine's host name).
    #[arg(long)]
    pub name: Option<String>,
    /// Where to save the agent's identity.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_ENROLLMENT)]
    pub config: PathBuf,
    /// Replace an existing enrollment (the old identity stops working once revoked).
    #[arg(long)]
    pub force: bool,
    /// A PEM file of certificate authorities to trust besides the public ones (a server
    /// with a certificate from a private CA). Kept in the enrollment for `run`.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

#[derive(Args, Clone)]
pub struct RunArgs {
    /// The enrollment saved by `enroll`.
    #[arg(long, env = "CARTOUCHE_AGENT_CONFIG", value_name = "FILE", default_value = DEFAULT_ENROLLMENT)]
    pub config: PathBuf,
    /// The spool database (default: spool.db beside the enrollment).
    #[arg(long, env = "CARTOUCHE_AGENT_SPOOL", value_name = "FILE")]
    pub spool: Option<PathBuf>,
    /// Room for readings waiting for the server, in MiB.
    #[arg(long, env = "CARTOUCHE_AGENT_SPOOL_MIB", default_value_t = 256)]
    pub spool_mib: u64,
    /// When the spool is full: drop the oldest readings (newest counters matter most), or
    /// refuse new ones.
    #[arg(long, env = "CARTOUCHE_AGENT_SPOOL_FULL", value_enum, default_value = "drop-oldest")]
    pub spool_full: SpoolFull,
    /// A folder of extra or corrected profiles (*.toml).
    #[arg(long, env = "CARTOUCHE_AGENT_PROFILES", value_name = "DIR")]
    pub profiles: Option<PathBuf>,
    /// Probes per second during discovery.
    #[arg(long, env = "CARTOUCHE_AGENT_RATE", default_value_t = 2000)]
    pub rate: u32,
    /// Devices read at once.
    #[arg(long, env = "CARTOUCHE_AGENT_CONCURRENCY", default_value_t = 32)]
    pub concurrency: usize,
    /// UDP port of the devices' SNMP agents.
    #[arg(long, env = "CARTOUCHE_AGENT_SNMP_PORT", default_value_t = 161)]
    pub snmp_port: u16,
    /// Port of the devices' embedded web servers; 0 disables HTTP reads.
    #[arg(long, env = "CARTOUCHE_AGENT_HTTP_PORT", default_value_t = 80)]
    pub http_port: u16,
    /// Port probed for NPAP; 0 disables the probe.
    #[arg(long, env = "CARTOUCHE_AGENT_NPAP_PORT", default_value_t = 9300)]
    pub npap_port: u16,
    /// CUPS on this host, for local (USB) printers; "off" to leave CUPS alone.
    #[arg(long, env = "CARTOUCHE_AGENT_CUPS", default_value = "127.0.0.1:631", value_name = "ADDRESS|off")]
    pub cups: String,
    /// ipp-usb's ports on this host (it gives each IPP-over-USB printer one, from 60000);
    /// "off" to leave ipp-usb alone.
    #[arg(long, env = "CARTOUCHE_AGENT_IPP_USB_PORTS", default_value = "60000-60007", value_name = "FIRST-LAST|off")]
    pub ipp_usb_ports: String,
}

#[derive(Args)]
pub struct StatusArgs {
    /// The enrollment saved by `enroll`.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_ENROLLMENT)]
    pub config: PathBuf,
    /// The spool database (default: spool.db beside the enrollment).
    #[arg(long, value_name = "FILE")]
    pub spool: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// Resolves on SIGTERM or Ctrl-C.
#[cfg(unix)]
async fn signalled() {
    let Ok(mut terminate) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; stopping"),
        _ = terminate.recv() => tracing::info!("terminated; stopping"),
    }
}

/// Resolves on Ctrl-C (a console run; the Windows service stops through its control handler).
#[cfg(not(unix))]
async fn signalled() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("interrupted; stopping");
}

/// This machine's host name, for the console (`/etc/hostname`, else the kernel's; on Windows
/// the computer name).
fn host_name() -> String {
    if cfg!(windows)
        && let Some(name) = std::env::var("COMPUTERNAME").ok().filter(|n| !n.trim().is_empty())
    {
        return name.trim().to_owned();
    }
    ["/etc/hostname", "/proc/sys/kernel/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "cartouche-agent".to_owned())
}

/// Exchanges an enrollment key for the agent's identity and saves it.
pub async fn enroll(args: EnrollArgs) -> anyhow::Result<()> {
    let EnrollArgs { server, key, key_file, name, config, force, ca } = args;
    if config.exists() && !force {
        anyhow::bail!(
            "{} already holds an enrollment; pass --force to replace it (and revoke the old agent in the console)",
            config.display()
        );
    }
    let key = secret(&key, &key_file, "enrollment key")?
        .context("no enrollment key: give --key-file FILE or CARTOUCHE_ENROLLMENT_KEY")?;
    if let Some(parent) = config.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let name = name.unwrap_or_else(host_name);
    let ca = ca.map(|c| std::path::absolute(&c).unwrap_or(c));
    let enrollment = link::enroll(&server, key.expose_secret(), &name, ca.as_deref()).await?;
    enrollment.save(&config)?;
    eprintln!("enrolled as {:?} (agent {}); identity saved in {}", name, enrollment.agent_id, config.display());
    Ok(())
}

/// The service: the link and the cycles until a signal or a refusal.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let outcome = run_until(args, signalled()).await;
    if let Err(err) = &outcome
        && let Some(link::LinkError::Refused(_)) = err.downcast_ref::<link::LinkError>()
    {
        // EX_CONFIG: the systemd unit does not restart an agent the server refuses.
        eprintln!("Error: {err:#}");
        std::process::exit(78);
    }
    outcome
}

/// The link and the cycles until `shutdown` resolves or the server refuses the agent.
pub async fn run_until(args: RunArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let RunArgs {
        config,
        spool,
        spool_mib,
        spool_full,
        profiles: dir,
        rate,
        concurrency,
        snmp_port,
        http_port,
        npap_port,
        cups,
        ipp_usb_ports,
    } = args;
    let local = local_options(&cups, &ipp_usb_ports)?;
    let enrollment = link::Enrollment::load(&config)?;
    let set = std::sync::Arc::new(profiles::load(dir.as_deref())?);
    let spool_path = spool.unwrap_or_else(|| config.with_file_name("spool.db"));
    let policy = match spool_full {
        SpoolFull::DropOldest => cartouche_agent::spool::FullPolicy::DropOldest,
        SpoolFull::RefuseNew => cartouche_agent::spool::FullPolicy::RefuseNew,
    };
    let spool = cartouche_agent::spool::Spool::open(&spool_path, spool_mib << 20, policy)
        .with_context(|| format!("opening the spool {}", spool_path.display()))?;
    let engine = EngineConfig::default();
    let read = ReadOptions {
        http_port: (http_port != 0).then_some(http_port),
        npap_port: (npap_port != 0).then_some(npap_port),
        tcp_timeout: engine.first_timeout,
        ..ReadOptions::new(engine.walk_cap, engine.max_repetitions)
    };
    let sweep = SweepConfig { port: snmp_port, rate, concurrency, read, ..SweepConfig::default() };
    let options = cartouche_agent::cycles::CycleOptions { engine, sweep, local };
    let link_options = link::LinkOptions::default();
    cartouche_agent::service::run_agent(enrollment, set, spool, options, link_options, shutdown).await
}

/// Where local printers are read, from `--cups` and `--ipp-usb-ports`; `None` when both are off.
fn local_options(cups: &str, ports: &str) -> anyhow::Result<Option<cartouche_agent::local::LocalOptions>> {
    use std::net::{Ipv4Addr, SocketAddr};
    let cups = match cups.trim() {
        "off" => None,
        address => Some(
            address
                .parse::<SocketAddr>()
                .with_context(|| format!("--cups {address:?}: expected an address such as 127.0.0.1:631, or off"))?,
        ),
    };
    let ipp_usb = match ports.trim() {
        "off" => vec![],
        range => {
            let bad = || anyhow::anyhow!("--ipp-usb-ports {range:?}: expected FIRST-LAST such as 60000-60007, or off");
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            let first: u16 = first.trim().parse().map_err(|_| bad())?;
            let last: u16 = last.trim().parse().map_err(|_| bad())?;
            if first == 0 || last < first || last - first >= 64 {
                return Err(bad());
            }
            (first..=last).map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port))).collect()
        }
    };
    if cups.is_none() && ipp_usb.is_empty() {
        return Ok(None);
    }
    Ok(Some(cartouche_agent::local::LocalOptions { cups, ipp_usb, ..Default::default() }))
}

/// Prints the link, the spool and the last cycles; exits 3 when the link is down.
pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let StatusArgs { config, spool, json } = args;
    let enrollment = link::Enrollment::load(&config)?;
    let spool_path = spool.unwrap_or_else(|| config.with_file_name("spool.db"));
    if !spool_path.exists() {
        anyhow::bail!("{} does not exist: the agent has never run here", spool_path.display());
    }
    let spool = cartouche_agent::spool::Spool::inspect(&spool_path)
        .with_context(|| format!("opening the spool {}", spool_path.display()))?;
    let (batches, bytes) = spool.depth()?;
    let dropped = spool.dropped()?;
    let refused = spool.refused()?;
    let link = spool.link_state()?;
    let mut runs = spool.last_runs()?;
    runs.sort();
    let local: Vec<cartouche_agent::local::SourceReport> = spool
        .note(cartouche_agent::service::LOCAL_NOTE)?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default();
    let when = |at: i64| {
        chrono::DateTime::<chrono::Utc>::from_timestamp(at, 0).map_or_else(|| at.to_string(), |t| t.to_rfc3339())
    };
    if json {
        let value = serde_json::json!({
            "agent_id": enrollment.agent_id,
            "server": enrollment.server,
            "link": link.map(|(up, since)| serde_json::json!({ "up": up, "since": when(since) })),
            "spool": { "batches": batches, "bytes": bytes, "dropped": dropped, "refused": refused },
            "last_runs": runs.iter().map(|(range, cycle, at)| serde_json::json!({ "range": range, "cycle": cycle, "at": when(*at) })).collect::<Vec<_>>(),
            "local_printers": local,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("agent    {}", enrollment.agent_id);
        println!("server   {}", enrollment.server);
        match link {
            Some((true, since)) => println!("link     up since {}", when(since)),
            Some((false, since)) => println!("link     DOWN since {}", when(since)),
            None => println!("link     never started"),
        }
        println!("spool    {batches} batches waiting ({} KiB)", bytes.div_ceil(1024));
        if dropped + refused > 0 {
            println!(
                "spool    READINGS LOST when the spool was full: {dropped} older batches dropped, {refused} new batches refused"
            );
        }
        for (range, cycle, at) in &runs {
            println!("cycle    {range} {cycle}: last run {}", when(*at));
        }
        if local.is_empty() {
            println!("local    not read yet");
        }
        for source in &local {
            match &source.unavailable {
                Some(why) => println!("local    {}: cannot be read here: {why}", source.source),
                None => println!("local    {}: {} printer(s) read", source.source, source.printers),
            }
            for line in source
                .errors
                .iter()
                .map(|e| format!("error: {e}"))
                .chain(source.skipped.iter().map(|s| format!("left alone: {s}")))
            {
                println!("           {line}");
            }
        }
    }
    if link.is_some_and(|(up, _)| up) {
        Ok(())
    } else {
        std::process::exit(3);
    }
}

#[cfg(test)]
mod tests {
    use super::local_options;

    #[test]
    fn local_printer_options_parse_or_name_the_option_at_fault() {
        let both = local_options("127.0.0.1:631", "60000-60002").unwrap().unwrap();
        assert_eq!(both.cups, Some("127.0.0.1:631".parse().unwrap()));
        assert_eq!(both.ipp_usb.len(), 3);
        assert!(both.ipp_usb.iter().all(|a| a.ip().is_loopback()));
        let cups_only = local_options("127.0.0.1:631", "off").unwrap().unwrap();
        assert!(cups_only.ipp_usb.is_empty());
        assert!(local_options("off", "off").unwrap().is_none(), "both off: local printers are not read");
        let err = local_options("localhost", "off").unwrap_err().to_string();
        assert!(err.contains("--cups"), "{err}");
        for bad in ["60010-60000", "0-5", "60000-61000", "sixty"] {
            let err = local_options("off", bad).unwrap_err().to_string();
            assert!(err.contains("--ipp-usb-ports"), "{bad}: {err}");
        }
    }
}
