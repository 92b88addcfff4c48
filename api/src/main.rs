//! `cartouche-api`: serve, migrate, print the schema, bootstrap an installation.

use anyhow::Context as _;
use cartouche_api::bootstrap::{Bootstrapped, bootstrap};
use cartouche_api::{Config, Server, graphql, migrate, telemetry};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cartouche-api", version, about = "The Cartouche server: GraphQL API, agent gateway and console")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the console (the default). Configuration from CARTOUCHE_* variables.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Create the first tenant and its admin; does nothing if the installation has tenants.
    Bootstrap {
        #[arg(long, default_value = "Cartouche")]
        tenant: String,
        #[arg(long)]
        email: String,
        /// The admin's password (at least 10 characters).
        #[arg(long, env = "CARTOUCHE_BOOTSTRAP_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Interpret again the stored raw readings of devices over a period, with this build's
    /// profiles (after a profile fix): their counter readings are rewritten.
    Reinterpret {
        /// A device id (repeat for several).
        #[arg(long = "device", required = true)]
        devices: Vec<uuid::Uuid>,
        /// Start of the period (RFC 3339, e.g. 2026-11-01T00:00:00Z).
        #[arg(long)]
        from: chrono::DateTime<chrono::Utc>,
        /// End of the period, excluded.
        #[arg(long)]
        to: chrono::DateTime<chrono::Utc>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let config = Config::from_env()?;
            let server = Server::bind(config).await?;
            tracing::info!(address = %server.local_addr()?, "cartouche-api listening");
            server.serve(shutdown_signal()).await
        }
        Command::Migrate => {
            let url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
            let applied = migrate(&url).await?;
            if applied.is_empty() {
                println!("database is up to date");
            } else {
                println!("applied {}: {}", applied.len(), applied.join(", "));
            }
            Ok(())
        }
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Reinterpret { devices, from, to } => {
            let url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
            for line in cartouche_api::reinterpret::from_command_line(&url, &devices, from, to).await? {
                println!("{line}");
            }
            Ok(())
        }
        Command::Bootstrap { tenant, email, password } => {
            let url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
            migrate(&url).await?;
            match bootstrap(&url, &tenant, &email, &password).await? {
                Bootstrapped::Created { .. } => println!("created tenant {tenant:?} with admin {email}"),
                Bootstrapped::AlreadyInitialised => println!("installation already has tenants; nothing changed"),
            }
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
