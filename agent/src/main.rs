//! `cartouche-agent`: the agent on a customer network, and tools for technicians.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use cartouche_agent::discovery::{self, SweepConfig};
use cartouche_agent::read::ReadOptions;
use cartouche_agent::snmp::{AuthProtocol, Credential, EngineConfig, Privacy, Session, Target, V3Credential};
use cartouche_agent::{inspect, link, profiles, read};
use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;

#[derive(Parser)]
#[command(name = "cartouche-agent", version, about = "Finds and reads printers for Cartouche")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what Cartouche makes of one device: identity, counters, supplies, alerts.
    ///
    /// Give a device ADDRESS (read live over SNMP), or --walk FILE (a recording).
    Inspect {
        /// The device: an IP address or a host name.
        #[arg(required_unless_present = "walk", conflicts_with = "walk")]
        address: Option<String>,
        /// A recorded walk of the device (.snmprec: OID|TAG|VALUE lines).
        #[arg(long, value_name = "FILE")]
        walk: Option<PathBuf>,
        /// Print the snapshot as JSON (the format of docs/PROFILES.md).
        #[arg(long)]
        json: bool,
        /// A folder of extra or corrected profiles (*.toml), tried before the shipped ones.
        #[arg(long, value_name = "DIR")]
        profiles: Option<PathBuf>,
        #[command(flatten)]
        snmp: SnmpArgs,
    },
    /// Find the printers of address ranges and show what each one is.
    ///
    /// RANGE: 10.1.0.0/22, 10.1.0.10-10.1.3.200, 10.1.0.10-200, 10.1.0.7, a host name, or a
    /// comma list of those. Devices that are not printers are counted, not listed.
    Scan {
        /// Ranges to sweep (at most a /16 each).
        #[arg(required = true)]
        ranges: Vec<String>,
        /// Print the printers found as JSON (one snapshot each, with its address).
        #[arg(long)]
        json: bool,
        /// Probes per second.
        #[arg(long, default_value_t = 2000)]
        rate: u32,
        /// Devices read at once after the sweep.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// A folder of extra or corrected profiles (*.toml).
        #[arg(long, value_name = "DIR")]
        profiles: Option<PathBuf>,
        #[command(flatten)]
        snmp: SnmpArgs,
    },
    /// Join a Cartouche server with an enrollment key (created in the console, Agents page).
    ///
    /// The identity the server gives back is saved, readable by its owner only, in --config.
    Enroll {
        /// The server's address: https://cartouche.example.com or http://10.0.0.5:8080.
        #[arg(long)]
        server: String,
        /// The enrollment key. Prefer --key-file or CARTOUCHE_ENROLLMENT_KEY: a command line
        /// is visible to other users of the machine.
        #[arg(long, env = "CARTOUCHE_ENROLLMENT_KEY", hide_env_values = true)]
        key: Option<String>,
        /// Read the enrollment key from this file (first line).
        #[arg(long, value_name = "FILE", conflicts_with = "key")]
        key_file: Option<PathBuf>,
        /// The agent's name in the console (default: this machine's host name).
        #[arg(long)]
        name: Option<String>,
        /// Where to save the agent's identity.
        #[arg(long, value_name = "FILE", default_value = DEFAULT_ENROLLMENT)]
        config: PathBuf,
        /// Replace an existing enrollment (the old identity stops working once revoked).
        #[arg(long)]
        force: bool,
        /// A PEM file of certificate authorities to trust besides the public ones (a server
        /// with a certificate from a private CA). Kept in the enrollment for `run`.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
    },
    /// Run as the site's agent: keep the link to the server, run the cycles it configures,
    /// keep readings on disk until the server has them. Stops on SIGTERM or Ctrl-C.
    Run {
        /// The enrollment saved by `enroll`.
        #[arg(long, value_name = "FILE", default_value = DEFAULT_ENROLLMENT)]
        config: PathBuf,
        /// The spool database (default: spool.db beside the enrollment).
        #[arg(long, value_name = "FILE")]
        spool: Option<PathBuf>,
        /// Room for readings waiting for the server, in MiB.
        #[arg(long, default_value_t = 256)]
        spool_mib: u64,
        /// When the spool is full: drop the oldest readings (newest counters matter most), or
        /// refuse new ones.
        #[arg(long, value_enum, default_value = "drop-oldest")]
        spool_full: SpoolFull,
        /// A folder of extra or corrected profiles (*.toml).
        #[arg(long, value_name = "DIR")]
        profiles: Option<PathBuf>,
        /// Probes per second during discovery.
        #[arg(long, default_value_t = 2000)]
        rate: u32,
        /// Devices read at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// UDP port of the devices' SNMP agents.
        #[arg(long, default_value_t = 161)]
        snmp_port: u16,
        /// Port of the devices' embedded web servers; 0 disables HTTP reads.
        #[arg(long, default_value_t = 80)]
        http_port: u16,
        /// Port probed for NPAP; 0 disables the probe.
        #[arg(long, default_value_t = 9300)]
        npap_port: u16,
    },
    /// How the agent on this machine is doing: its link, the readings waiting, the last
    /// cycles. Exits with 3 when the link is down (for monitoring).
    Status {
        /// The enrollment saved by `enroll`.
        #[arg(long, value_name = "FILE", default_value = DEFAULT_ENROLLMENT)]
        config: PathBuf,
        /// The spool database (default: spool.db beside the enrollment).
        #[arg(long, value_name = "FILE")]
        spool: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SpoolFull {
    DropOldest,
    RefuseNew,
}

/// Where an enrolled agent keeps its identity unless told otherwise.
const DEFAULT_ENROLLMENT: &str = "/var/lib/cartouche-agent/agent.json";

#[derive(Args)]
struct SnmpArgs {
    /// UDP port of the device's SNMP agent.
    #[arg(long, default_value_t = 161)]
    port: u16,
    /// SNMP v1/v2c community (default public); repeat to try several in order. Prefer
    /// --community-file or the environment: a command line is visible to other users.
    #[arg(long, env = "CARTOUCHE_COMMUNITY", hide_env_values = true, value_delimiter = ',')]
    community: Vec<String>,
    /// Read the community from this file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "community")]
    community_file: Option<PathBuf>,
    /// Speak SNMP v1 instead of v2c.
    #[arg(long)]
    v1: bool,
    /// SNMPv3 user (switches to v3).
    #[arg(long)]
    user: Option<String>,
    /// SNMPv3 authentication: MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512.
    #[arg(long, requires = "user")]
    auth_protocol: Option<AuthProtocol>,
    /// SNMPv3 authentication password (or CARTOUCHE_AUTH_PASSWORD, or --auth-password-file).
    #[arg(long, env = "CARTOUCHE_AUTH_PASSWORD", hide_env_values = true, requires = "user")]
    auth_password: Option<String>,
    #[arg(long, value_name = "FILE", conflicts_with = "auth_password")]
    auth_password_file: Option<PathBuf>,
    /// SNMPv3 privacy: DES, AES (128), AES-192, AES-256.
    #[arg(long, requires = "auth_protocol")]
    priv_protocol: Option<Privacy>,
    /// SNMPv3 privacy password (or CARTOUCHE_PRIV_PASSWORD, or --priv-password-file).
    #[arg(long, env = "CARTOUCHE_PRIV_PASSWORD", hide_env_values = true, requires = "user")]
    priv_password: Option<String>,
    #[arg(long, value_name = "FILE", conflicts_with = "priv_password")]
    priv_password_file: Option<PathBuf>,
    /// SNMPv3 context name.
    #[arg(long, requires = "user")]
    context: Option<String>,
    /// Seconds to wait for the first answer (doubled at each retry).
    #[arg(long, default_value_t = 3.0)]
    timeout: f64,
    /// Retries after the first attempt.
    #[arg(long, default_value_t = 1)]
    retries: u32,
    /// Port of the devices' embedded web servers (pages some profiles read); 0 disables HTTP.
    #[arg(long, default_value_t = 80)]
    http_port: u16,
    /// Port probed for NPAP (IEEE 1284.1); 0 disables the probe.
    #[arg(long, default_value_t = 9300)]
    npap_port: u16,
}

impl SnmpArgs {
    fn secret(value: &Option<String>, file: &Option<PathBuf>, what: &str) -> anyhow::Result<Option<SecretString>> {
        match (value, file) {
            (Some(v), _) => Ok(Some(SecretString::from(v.clone()))),
            (None, Some(f)) => Ok(Some(SecretString::from(
                std::fs::read_to_string(f)
                    .with_context(|| format!("reading the {what} from {}", f.display()))?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            ))),
            (None, None) => Ok(None),
        }
    }

    /// The credentials to try, in order.
    fn credentials(&self) -> anyhow::Result<Vec<Credential>> {
        if let Some(user) = &self.user {
            let auth_password = Self::secret(&self.auth_password, &self.auth_password_file, "authentication password")?;
            let priv_password = Self::secret(&self.priv_password, &self.priv_password_file, "privacy password")?;
            let auth = match (self.auth_protocol, auth_password) {
                (Some(p), Some(pw)) => Some((p, pw)),
                (Some(_), None) => anyhow::bail!("--auth-protocol needs --auth-password (or its file or variable)"),
                (None, Some(_)) => anyhow::bail!("--auth-password needs --auth-protocol"),
                (None, None) => None,
            };
            let privacy = match (self.priv_protocol, priv_password) {
                (Some(p), Some(pw)) => Some((p, pw)),
                (Some(_), None) => anyhow::bail!("--priv-protocol needs --priv-password (or its file or variable)"),
                (None, Some(_)) => anyhow::bail!("--priv-password needs --priv-protocol"),
                (None, None) => None,
            };
            return Ok(vec![Credential::V3(V3Credential {
                user: user.clone(),
                auth,
                privacy,
                context: self.context.clone(),
            })]);
        }
        let communities: Vec<String> = if !self.community.is_empty() {
            self.community.clone()
        } else if let Some(file) = &self.community_file {
            std::fs::read_to_string(file)
                .with_context(|| format!("reading communities from {}", file.display()))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        } else {
            vec!["public".to_owned()]
        };
        Ok(communities
            .into_iter()
            .map(|c| {
                let community = SecretString::from(c);
                if self.v1 { Credential::V1 { community } } else { Credential::V2c { community } }
            })
            .collect())
    }

    fn engine(&self) -> anyhow::Result<EngineConfig> {
        if !(0.05..=60.0).contains(&self.timeout) {
            anyhow::bail!("--timeout {} is out of range (0.05 to 60 seconds)", self.timeout);
        }
        Ok(EngineConfig {
            first_timeout: Duration::from_secs_f64(self.timeout),
            retries: self.retries,
            ..EngineConfig::default()
        })
    }

    fn read_options(&self, engine: &EngineConfig) -> ReadOptions {
        ReadOptions {
            http_port: (self.http_port != 0).then_some(self.http_port),
            npap_port: (self.npap_port != 0).then_some(self.npap_port),
            tcp_timeout: engine.first_timeout,
            ..ReadOptions::new(engine.walk_cap, engine.max_repetitions)
        }
    }

    fn target(&self, address: &str) -> anyhow::Result<(Target, EngineConfig)> {
        let address: SocketAddr = (address, self.port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {address:?}"))?
            .next()
            .with_context(|| format!("{address:?} has no address"))?;
        let credential = self.credentials()?.into_iter().next().context("no credential given")?;
        Ok((Target { address, credential }, self.engine()?))
    }
}

/// Resolves on SIGTERM or Ctrl-C.
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

/// This machine's host name, for the console (`/etc/hostname`, else the kernel's).
fn host_name() -> String {
    ["/etc/hostname", "/proc/sys/kernel/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "cartouche-agent".to_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The service says what it does; a technician's command only what went wrong.
    // CARTOUCHE_LOG (tracing's filter syntax) overrides both.
    let default = if matches!(cli.command, Command::Run { .. }) { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CARTOUCHE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match cli.command {
        Command::Run {
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
        } => {
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
            let options = cartouche_agent::cycles::CycleOptions { engine, sweep };
            let link_options = link::LinkOptions::default();
            let outcome =
                cartouche_agent::service::run_agent(enrollment, set, spool, options, link_options, signalled()).await;
            if let Err(err) = &outcome
                && let Some(link::LinkError::Refused(_)) = err.downcast_ref::<link::LinkError>()
            {
                // EX_CONFIG: the systemd unit does not restart an agent the server refuses.
                eprintln!("Error: {err:#}");
                std::process::exit(78);
            }
            outcome
        }
        Command::Status { config, spool, json } => {
            let enrollment = link::Enrollment::load(&config)?;
            let spool_path = spool.unwrap_or_else(|| config.with_file_name("spool.db"));
            if !spool_path.exists() {
                anyhow::bail!("{} does not exist: the agent has never run here", spool_path.display());
            }
            let spool = cartouche_agent::spool::Spool::open(
                &spool_path,
                u64::MAX,
                cartouche_agent::spool::FullPolicy::RefuseNew,
            )
            .with_context(|| format!("opening the spool {}", spool_path.display()))?;
            let (batches, bytes) = spool.depth()?;
            let dropped = spool.dropped()?;
            let link = spool.link_state()?;
            let mut runs = spool.last_runs()?;
            runs.sort();
            let when = |at: i64| {
                chrono::DateTime::<chrono::Utc>::from_timestamp(at, 0)
                    .map_or_else(|| at.to_string(), |t| t.to_rfc3339())
            };
            if json {
                let value = serde_json::json!({
                    "agent_id": enrollment.agent_id,
                    "server": enrollment.server,
                    "link": link.map(|(up, since)| serde_json::json!({ "up": up, "since": when(since) })),
                    "spool": { "batches": batches, "bytes": bytes, "dropped": dropped },
                    "last_runs": runs.iter().map(|(range, cycle, at)| serde_json::json!({ "range": range, "cycle": cycle, "at": when(*at) })).collect::<Vec<_>>(),
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
                println!(
                    "spool    {batches} batches waiting ({} KiB); {dropped} dropped when full",
                    bytes.div_ceil(1024)
                );
                for (range, cycle, at) in &runs {
                    println!("cycle    {range} {cycle}: last run {}", when(*at));
                }
            }
            if link.is_some_and(|(up, _)| up) {
                Ok(())
            } else {
                std::process::exit(3);
            }
        }
        Command::Enroll { server, key, key_file, name, config, force, ca } => {
            if config.exists() && !force {
                anyhow::bail!(
                    "{} already holds an enrollment; pass --force to replace it (and revoke the old agent in the console)",
                    config.display()
                );
            }
            let key = match (key, key_file) {
                (Some(key), _) => key,
                (None, Some(file)) => std::fs::read_to_string(&file)
                    .with_context(|| format!("reading the enrollment key from {}", file.display()))?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                (None, None) => anyhow::bail!("no enrollment key: give --key-file FILE or CARTOUCHE_ENROLLMENT_KEY"),
            };
            if let Some(parent) = config.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            }
            let name = name.unwrap_or_else(host_name);
            let ca = ca.map(|c| std::path::absolute(&c).unwrap_or(c));
            let enrollment = link::enroll(&server, &key, &name, ca.as_deref()).await?;
            enrollment.save(&config)?;
            eprintln!("enrolled as {:?} (agent {}); identity saved in {}", name, enrollment.agent_id, config.display());
            Ok(())
        }
        Command::Inspect { address, walk, json, profiles: dir, snmp } => {
            let set = profiles::load(dir.as_deref())?;
            let snapshot = match (walk, address) {
                (Some(walk), _) => inspect::walk_file(&walk, &set)?,
                (None, Some(address)) => {
                    let (target, config) = snmp.target(&address)?;
                    let options = snmp.read_options(&config);
                    let shown = target.address;
                    let mut session = Session::new(target, config);
                    let reading = read::read_device(&mut session, &set, &options)
                        .await
                        .with_context(|| format!("reading {shown}"))?;
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
        Command::Scan { ranges, json, rate, concurrency, profiles: dir, snmp } => {
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
                "\r{} printers, {} other devices answering, {} unreadable, {} addresses; sweep {:.2} s, read {:.2} s, total {:.2} s",
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
    }
}
