//! The SNMP options shared by the technicians' commands: credentials (v1/v2c communities or a
//! v3 user, secrets from files or the environment rather than the command line), timeouts,
//! and the ports of the side channels.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use cartouche_agent::read::ReadOptions;
use cartouche_agent::snmp::{AuthProtocol, Credential, EngineConfig, Privacy, Target, V3Credential};
use clap::Args;
use secrecy::SecretString;

/// A secret given on the command line or in the environment, else the first line of a file.
pub fn secret(value: &Option<String>, file: &Option<PathBuf>, what: &str) -> anyhow::Result<Option<SecretString>> {
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

#[derive(Args)]
pub struct SnmpArgs {
    /// UDP port of the device's SNMP agent.
    #[arg(long, default_value_t = 161)]
    pub port: u16,
    /// SNMP v1/v2c community (default public); repeat to try several in order. Prefer
    /// --community-file or the environment: a command line is visible to other users.
    #[arg(long, env = "CARTOUCHE_COMMUNITY", hide_env_values = true, value_delimiter = ',')]
    pub community: Vec<String>,
    /// Read the community from this file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "community")]
    pub community_file: Option<PathBuf>,
    /// Speak SNMP v1 instead of v2c.
    #[arg(long)]
    pub v1: bool,
    /// SNMPv3 user (switches to v3).
    #[arg(long)]
    pub user: Option<String>,
    /// SNMPv3 authentication: MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512.
    #[arg(long, requires = "user")]
    pub auth_protocol: Option<AuthProtocol>,
    /// SNMPv3 authentication password (or CARTOUCHE_AUTH_PASSWORD, or --auth-password-file).
    #[arg(long, env = "CARTOUCHE_AUTH_PASSWORD", hide_env_values = true, requires = "user")]
    pub auth_password: Option<String>,
    #[arg(long, value_name = "FILE", conflicts_with = "auth_password")]
    pub auth_password_file: Option<PathBuf>,
    /// SNMPv3 privacy: DES, AES (128), AES-192, AES-256.
    #[arg(long, requires = "auth_protocol")]
    pub priv_protocol: Option<Privacy>,
    /// SNMPv3 privacy password (or CARTOUCHE_PRIV_PASSWORD, or --priv-password-file).
    #[arg(long, env = "CARTOUCHE_PRIV_PASSWORD", hide_env_values = true, requires = "user")]
    pub priv_password: Option<String>,
    #[arg(long, value_name = "FILE", conflicts_with = "priv_password")]
    pub priv_password_file: Option<PathBuf>,
    /// SNMPv3 context name.
    #[arg(long, requires = "user")]
    pub context: Option<String>,
    /// Seconds to wait for the first answer (doubled at each retry).
    #[arg(long, default_value_t = 3.0)]
    pub timeout: f64,
    /// Retries after the first attempt.
    #[arg(long, default_value_t = 1)]
    pub retries: u32,
    /// Port of the devices' embedded web servers (pages some profiles read); 0 disables HTTP.
    #[arg(long, default_value_t = 80)]
    pub http_port: u16,
    /// Port probed for NPAP (IEEE 1284.1); 0 disables the probe.
    #[arg(long, default_value_t = 9300)]
    pub npap_port: u16,
}

impl SnmpArgs {
    /// The credentials to try, in order.
    pub fn credentials(&self) -> anyhow::Result<Vec<Credential>> {
        if let Some(user) = &self.user {
            let auth_password = secret(&self.auth_password, &self.auth_password_file, "authentication password")?;
            let priv_password = secret(&self.priv_password, &self.priv_password_file, "privacy password")?;
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

    pub fn engine(&self) -> anyhow::Result<EngineConfig> {
        if !(0.05..=60.0).contains(&self.timeout) {
            anyhow::bail!("--timeout {} is out of range (0.05 to 60 seconds)", self.timeout);
        }
        Ok(EngineConfig {
            first_timeout: Duration::from_secs_f64(self.timeout),
            retries: self.retries,
            ..EngineConfig::default()
        })
    }

    pub fn read_options(&self, engine: &EngineConfig) -> ReadOptions {
        ReadOptions {
            http_port: (self.http_port != 0).then_some(self.http_port),
            npap_port: (self.npap_port != 0).then_some(self.npap_port),
            tcp_timeout: engine.first_timeout,
            ..ReadOptions::new(engine.walk_cap, engine.max_repetitions)
        }
    }

    pub fn target(&self, address: &str) -> anyhow::Result<(Target, EngineConfig)> {
        let address: SocketAddr = (address, self.port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {address:?}"))?
            .next()
            .with_context(|| format!("{address:?} has no address"))?;
        let credential = self.credentials()?.into_iter().next().context("no credential given")?;
        Ok((Target { address, credential }, self.engine()?))
    }
}
