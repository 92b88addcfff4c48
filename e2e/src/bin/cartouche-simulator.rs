//! `cartouche-simulator SCENARIO.toml`: serves simulated printers until Ctrl-C.

use std::path::PathBuf;

use cartouche_e2e::simulator::{Scenario, Simulator};
use clap::Parser;

#[derive(Parser)]
#[command(name = "cartouche-simulator", about = "Simulated printers on loopback addresses, from real recordings")]
struct Cli {
    /// The scenario file (TOML); recordings are found relative to its folder.
    scenario: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let text = std::fs::read_to_string(&cli.scenario)?;
    let scenario = Scenario::parse(&text)?;
    let base = cli.scenario.parent().map(PathBuf::from).unwrap_or_default();
    let simulator = Simulator::start_with(scenario.devices(&base)?, scenario.services()).await?;
    let first = simulator.addresses.first().map(ToString::to_string).unwrap_or_default();
    let last = simulator.addresses.last().map(ToString::to_string).unwrap_or_default();
    println!("serving {} simulated devices, {first} … {last}", simulator.len());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
