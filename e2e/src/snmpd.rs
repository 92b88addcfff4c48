//! net-snmp's `snmpd` (Debian's package) on a loopback port, with SNMPv3 users for every
//! authentication and privacy protocol it offers: a third-party agent to judge our v3.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

/// (user, auth, privacy) as snmpd names them; passwords are `authpass123` / `privpass123`.
pub const USERS: &[(&str, &str, Option<&str>)] = &[
    ("md5des", "MD5", Some("DES")),
    ("md5aes", "MD5", Some("AES")),
    ("sha1aes", "SHA", Some("AES")),
    ("sha1des", "SHA", Some("DES")),
    ("sha224aes", "SHA-224", Some("AES")),
    ("sha256aes192", "SHA-256", Some("AES-192")),
    ("sha256aes256", "SHA-256", Some("AES-256")),
    ("sha384aes256", "SHA-384", Some("AES-256")),
    ("sha512aes256", "SHA-512", Some("AES-256")),
    ("sha256noPriv", "SHA-256", None),
];
pub const AUTH_PASSWORD: &str = "authpass123";
pub const PRIV_PASSWORD: &str = "privpass123";
pub const SYS_DESCR: &str = "Cartouche interop test agent";

pub struct Snmpd {
    child: Child,
    pub port: u16,
    dir: PathBuf,
    binary: &'static str,
}

impl Snmpd {
    pub async fn start() -> anyhow::Result<Snmpd> {
        let binary = ["/usr/sbin/snmpd", "/usr/local/sbin/snmpd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .context("snmpd is not installed (./dev install brings Debian's snmpd)")?;
        let port = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!("cartouche-snmpd-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let mut config =
            format!("agentAddress udp:127.0.0.1:{port}\nsysDescr {SYS_DESCR}\nrocommunity public 127.0.0.1\n");
        for (user, auth, privacy) in USERS {
            match privacy {
                Some(p) => {
                    config.push_str(&format!(
                        "createUser {user} {auth} \"{AUTH_PASSWORD}\" {p} \"{PRIV_PASSWORD}\"\nrouser {user} priv\n"
                    ));
                }
                None => config.push_str(&format!("createUser {user} {auth} \"{AUTH_PASSWORD}\"\nrouser {user} auth\n")),
            }
        }
        let conf = dir.join("snmpd.conf");
        std::fs::write(&conf, config)?;
        let child = Self::spawn(binary, &dir)?;
        let snmpd = Snmpd { child, port, dir, binary };
        snmpd.wait_ready().await?;
        Ok(snmpd)
    }

    /// Stops and starts the agent again on the same port and state: its engine boots count
    /// goes up, so SNMPv3 clients must re-synchronise.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        self.child = Self::spawn(self.binary, &self.dir)?;
        self.wait_ready().await
    }

    fn spawn(binary: &str, dir: &std::path::Path) -> anyhow::Result<Child> {
        Command::new(binary)
            .args(["-f", "-C", "-c"])
            .arg(dir.join("snmpd.conf"))
            .args(["-m", "", "-Lf"])
            .arg(dir.join("log"))
            .arg("-p")
            .arg(dir.join("pid"))
            .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting snmpd")
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        use cartouche_agent::snmp::{EngineConfig, Session, Snmp, Target};
        let target = Target::v2c_public(std::net::SocketAddr::from(([127, 0, 0, 1], self.port)));
        let config = EngineConfig { first_timeout: Duration::from_millis(200), retries: 0, ..EngineConfig::default() };
        for _ in 0..50 {
            let mut session = Session::new(target.clone(), config.clone());
            if session.get(&["1.3.6.1.2.1.1.1.0".parse()?]).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        anyhow::bail!("snmpd did not answer on port {}: {log}", self.port)
    }
}

impl Drop for Snmpd {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
