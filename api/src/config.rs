//! The api's configuration, read once from the environment and validated at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};

use crate::secrets::SecretKeys;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: SecretString,
    /// `CARTOUCHE_LISTEN`: address to bind (port 0 picks a free port).
    pub listen: SocketAddr,
    /// `CARTOUCHE_JWT_SECRET`: HMAC key of the access tokens, at least 32 bytes.
    pub jwt_secret: SecretString,
    /// `CARTOUCHE_ACCESS_TOKEN_TTL_SECONDS`: life of an access token.
    pub access_token_ttl: Duration,
    /// `CARTOUCHE_SESSION_TTL_HOURS`: longest a sign-in lasts, refreshes included.
    pub session_ttl: Duration,
    /// `CARTOUCHE_WEB_DIR`: the built console (index.html, app.js, app_bg.wasm).
    pub web_dir: Option<PathBuf>,
    /// `CARTOUCHE_DB_POOL_SIZE`: connections in the pool.
    pub db_pool_size: usize,
    /// `CARTOUCHE_MIGRATE_ON_START`: apply pending migrations before serving.
    pub migrate_on_start: bool,
    /// `CARTOUCHE_RESPONSE_CACHE_ENTRIES`: answers to fleet queries kept until a change (0: none).
    pub response_cache_entries: usize,
    /// `CARTOUCHE_SECRET_KEY` (and `CARTOUCHE_SECRET_KEY_PREVIOUS`): seals SNMP secrets at rest.
    pub secret_keys: SecretKeys,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> anyhow::Result<Config> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let database_url = var("DATABASE_URL").context("DATABASE_URL is not set (postgres://user@host:port/db)")?;
        let listen = match var("CARTOUCHE_LISTEN") {
            Some(raw) => raw
                .parse()
                .with_context(|| format!("CARTOUCHE_LISTEN={raw:?} is not an address such as 127.0.0.1:8080"))?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let jwt_secret = var("CARTOUCHE_JWT_SECRET")
            .context("CARTOUCHE_JWT_SECRET is not set (a random string of at least 32 bytes)")?;
        if jwt_secret.len() < 32 {
            bail!("CARTOUCHE_JWT_SECRET is {} bytes long; it must be at least 32", jwt_secret.len());
        }
        let access_token_ttl =
            Duration::from_secs(number(&var, "CARTOUCHE_ACCESS_TOKEN_TTL_SECONDS", 900, 10..=86_400)?);
        let session_ttl =
            Duration::from_secs(3600 * number(&var, "CARTOUCHE_SESSION_TTL_HOURS", 24 * 30, 1..=24 * 365)?);
        let db_pool_size = usize::try_from(number(&var, "CARTOUCHE_DB_POOL_SIZE", 16, 1..=1000)?)
            .context("CARTOUCHE_DB_POOL_SIZE does not fit this platform")?;
        let response_cache_entries =
            usize::try_from(number(&var, "CARTOUCHE_RESPONSE_CACHE_ENTRIES", 4096, 0..=1_000_000)?)
                .context("CARTOUCHE_RESPONSE_CACHE_ENTRIES does not fit this platform")?;
        let migrate_on_start = match var("CARTOUCHE_MIGRATE_ON_START").as_deref() {
            None | Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(other) => bail!("CARTOUCHE_MIGRATE_ON_START={other:?}: expected true or false"),
        };
        let secret_keys = SecretKeys::parse(
            &var("CARTOUCHE_SECRET_KEY").context(
                "CARTOUCHE_SECRET_KEY is not set (32 random bytes in base64: head -c 32 /dev/urandom | base64)",
            )?,
            var("CARTOUCHE_SECRET_KEY_PREVIOUS").as_deref(),
        )?;
        Ok(Config {
            database_url: SecretString::from(database_url),
            listen,
            jwt_secret: SecretString::from(jwt_secret),
            access_token_ttl,
            session_ttl,
            web_dir: var("CARTOUCHE_WEB_DIR").map(PathBuf::from),
            db_pool_size,
            migrate_on_start,
            response_cache_entries,
            secret_keys,
        })
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

fn number(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> anyhow::Result<u64> {
    let Some(raw) = var(name) else {
        return Ok(default);
    };
    let value: u64 = raw.trim().parse().with_context(|| format!("{name}={raw:?} is not a whole number"))?;
    if !range.contains(&value) {
        bail!("{name}={value} is out of range {}..={}", range.start(), range.end());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn defaults_apply_when_only_the_required_variables_are_set() {
        let c = config(&[
            ("DATABASE_URL", "postgres://x@127.0.0.1/db"),
            ("CARTOUCHE_JWT_SECRET", SECRET),
            ("CARTOUCHE_SECRET_KEY", KEY),
        ])
        .unwrap();
        assert_eq!(c.listen.port(), 8080);
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert!(c.migrate_on_start);
    }

    #[test]
    fn errors_name_the_variable_at_fault() {
        let err = config(&[("CARTOUCHE_JWT_SECRET", SECRET), ("CARTOUCHE_SECRET_KEY", KEY)]).unwrap_err().to_string();
        assert!(err.contains("DATABASE_URL"), "{err}");
        let err =
            config(&[("DATABASE_URL", "postgres://x"), ("CARTOUCHE_JWT_SECRET", "short")]).unwrap_err().to_string();
        assert!(err.contains("CARTOUCHE_JWT_SECRET"), "{err}");
        let err = config(&[
            ("DATABASE_URL", "postgres://x"),
            ("CARTOUCHE_JWT_SECRET", SECRET),
            ("CARTOUCHE_SECRET_KEY", KEY),
            ("CARTOUCHE_LISTEN", "localhost"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("CARTOUCHE_LISTEN"), "{err}");
        let err = config(&[
            ("DATABASE_URL", "postgres://x"),
            ("CARTOUCHE_JWT_SECRET", SECRET),
            ("CARTOUCHE_SECRET_KEY", KEY),
            ("CARTOUCHE_ACCESS_TOKEN_TTL_SECONDS", "0"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("CARTOUCHE_ACCESS_TOKEN_TTL_SECONDS"), "{err}");
        let err =
            config(&[("DATABASE_URL", "postgres://x"), ("CARTOUCHE_JWT_SECRET", SECRET)]).unwrap_err().to_string();
        assert!(err.contains("CARTOUCHE_SECRET_KEY"), "{err}");
        let err = config(&[
            ("DATABASE_URL", "postgres://x"),
            ("CARTOUCHE_JWT_SECRET", SECRET),
            ("CARTOUCHE_SECRET_KEY", "dG9vIHNob3J0"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("CARTOUCHE_SECRET_KEY"), "{err}");
    }
}
