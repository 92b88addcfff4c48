//! `cartouche-agent`: the agent on a customer network, and tools for technicians.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use cartouche_agent::snmp::{Credential, EngineConfig, Session, Target};
use cartouche_agent::{inspect, profiles, read};
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
}

#[derive(Args)]
struct SnmpArgs {
    /// UDP port of the device's SNMP agent.
    #[arg(long, default_value_t = 161)]
    port: u16,
    /// SNMP v1/v2c community (default public). Prefer --community-file or the environment:
    /// a command line is visible to other users of the machine.
    #[arg(long, env = "CARTOUCHE_COMMUNITY", hide_env_values = true)]
    community: Option<String>,
    /// Read the community from this file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "community")]
    community_file: Option<PathBuf>,
    /// Speak SNMP v1 instead of v2c.
    #[arg(long)]
    v1: bool,
    /// Seconds to wait for the first answer (doubled at each retry).
    #[arg(long, default_value_t = 3.0)]
    timeout: f64,
    /// Retries after the first attempt.
    #[arg(long, default_value_t = 1)]
    retries: u32,
}

impl SnmpArgs {
    fn target(&self, address: &str) -> anyhow::Result<(Target, EngineConfig)> {
        let address: SocketAddr = (address, self.port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {address:?}"))?
            .next()
            .with_context(|| format!("{address:?} has no address"))?;
        let community = match (&self.community, &self.community_file) {
            (Some(c), _) => c.clone(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| format!("reading the community from {}", file.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            (None, None) => "public".to_owned(),
        };
        let community = SecretString::from(community);
        let credential = if self.v1 { Credential::V1 { community } } else { Credential::V2c { community } };
        if !(0.05..=60.0).contains(&self.timeout) {
            anyhow::bail!("--timeout {} is out of range (0.05 to 60 seconds)", self.timeout);
        }
        let config = EngineConfig {
            first_timeout: Duration::from_secs_f64(self.timeout),
            retries: self.retries,
            ..EngineConfig::default()
        };
        Ok((Target { address, credential }, config))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Inspect { address, walk, json, profiles: dir, snmp } => {
            let set = profiles::load(dir.as_deref())?;
            let snapshot = match (walk, address) {
                (Some(walk), _) => inspect::walk_file(&walk, &set)?,
                (None, Some(address)) => {
                    let (target, config) = snmp.target(&address)?;
                    let (cap, reps) = (config.walk_cap, config.max_repetitions);
                    let shown = target.address;
                    let mut session = Session::new(target, config);
                    let reading = read::read_device(&mut session, &set, cap, reps)
                        .await
                        .with_context(|| format!("reading {shown}"))?;
                    for note in &reading.notes {
                        eprintln!("note: {note}");
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
    }
}
