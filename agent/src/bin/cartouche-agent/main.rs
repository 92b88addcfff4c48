//! `cartouche-agent`: the agent on a customer network, and tools for technicians.

mod site;
mod snmp_args;
mod technician;
#[cfg(windows)]
mod windows;

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
    ///
    /// Give a device ADDRESS (read live over SNMP), or --walk FILE (a recording).
    Inspect(technician::InspectArgs),
    /// Find the printers of address ranges and show what each one is.
    ///
    /// RANGE: 10.1.0.0/22, 10.1.0.10-10.1.3.200, 10.1.0.10-200, 10.1.0.7, a host name, or a
    /// comma list of those. Devices that are not printers are counted, not listed.
    Scan(technician::ScanArgs),
    /// Join a Cartouche server with an enrollment key (created in the console, Agents page).
    ///
    /// The identity the server gives back is saved, readable by its owner only, in --config.
    Enroll(site::EnrollArgs),
    /// Run as the site's agent: keep the link to the server, run the cycles it configures,
    /// keep readings on disk until the server has them. Stops on SIGTERM or Ctrl-C.
    Run(site::RunArgs),
    /// How the agent on this machine is doing: its link, the readings waiting, the last
    /// cycles. Exits with 3 when the link is down (for monitoring).
    Status(site::StatusArgs),
    /// The agent as a Windows service: install, uninstall.
    #[cfg(windows)]
    #[command(subcommand)]
    Service(windows::ServiceCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    #[cfg(windows)]
    if let Command::Service(service) = cli.command {
        return match service {
            // The Service Control Manager's start: logs go to a file, the SCM runs the show.
            windows::ServiceCommand::Run(args) => windows::dispatch(args),
            windows::ServiceCommand::Install(args) => windows::install(args),
            windows::ServiceCommand::Uninstall => windows::uninstall(),
        };
    }
    // The service says what it does; a technician's command only what went wrong.
    // CARTOUCHE_LOG (tracing's filter syntax) overrides both.
    let default = if matches!(cli.command, Command::Run(_)) { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CARTOUCHE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // CARTOUCHE_LOG_FORMAT=json: one JSON object per line, for journald or a log collector.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("CARTOUCHE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().init();
    } else {
        builder.init();
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Inspect(args) => technician::inspect(args).await,
            Command::Scan(args) => technician::scan(args).await,
            Command::Enroll(args) => site::enroll(args).await,
            Command::Run(args) => site::run(args).await,
            Command::Status(args) => site::status(args).await,
            #[cfg(windows)]
            Command::Service(_) => unreachable!("handled before the runtime starts"),
        }
    })
}
