//! `cartouche-agent`: the agent on a customer network, and tools for technicians.

use std::path::PathBuf;

use cartouche_agent::{inspect, profiles};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cartouche-agent", version, about = "Finds and reads printers for Cartouche")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what Cartouche makes of one device: identity, counters, supplies, alerts.
    Inspect {
        /// A recorded walk of the device (.snmprec: OID|TAG|VALUE lines).
        #[arg(long, value_name = "FILE")]
        walk: PathBuf,
        /// Print the snapshot as JSON (the format of docs/PROFILES.md).
        #[arg(long)]
        json: bool,
        /// A folder of extra or corrected profiles (*.toml), tried before the shipped ones.
        #[arg(long, value_name = "DIR")]
        profiles: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Inspect { walk, json, profiles: dir } => {
            let set = profiles::load(dir.as_deref())?;
            let snapshot = inspect::walk_file(&walk, &set)?;
            if json {
                println!("{}", inspect::json(&snapshot)?);
            } else {
                print!("{}", inspect::text(&snapshot));
            }
            Ok(())
        }
    }
}
