//! The agent's link to the server: enrollment (an enrollment key exchanged for an identity,
//! kept in a file only its owner can read), then one websocket that stays up: hello,
//! configuration, readings uploaded from the durable spool and forgotten only once the
//! server acknowledges them, heartbeats both ways, and reconnection with jittered
//! exponential backoff when the network or the server goes away.
//!
//! Nothing here reads printers: cycles push batches into the spool and wake the link; the
//! link sends what waits, oldest first, a bounded window at a time. After a reconnection the
//! unacknowledged batches are sent again; the server stores on (agent, sequence), so a batch
//! that was stored but not acknowledged before a cut is stored once.

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cartouche_schema::wire::{AgentConfig, AgentMessage, Cycle, CycleReport, PROTOCOL_VERSION, ServerMessage};
use futures_util::{SinkExt, StreamExt};
use rand::Rng as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::spool::Spool;

/// What enrollment gives an agent; saved as JSON with mode 0600.
#[derive(Clone, Serialize, Deserialize)]
pub struct Enrollment {
    /// The server's base URL (`http://host:port`, `https://…`).
    pub server: String,
    pub agent_id: String,
    #[serde(serialize_with = "expose", deserialize_with = "secret")]
    pub credential: SecretString,
    /// A PEM file of certificate authorities trusted besides the public ones (a server with a
    /// certificate from the customer's or the dealer's own CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<std::path::PathBuf>,
}

fn expose<S: serde::Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

fn secret<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<SecretString, D::Error> {
    String::deserialize(deserializer).map(SecretString::from)
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment").field("server", &self.server).field("agent_id", &self.agent_id).finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the server refused this agent: {0}")]
    Refused(String),
    #[error("enrollment refused by {server}: {reason}")]
    Enrollment { server: String, reason: String },
    #[error("cannot reach {server}: {source}")]
    Unreachable { server: String, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("server URL {0:?}: expected http://host[:port] or https://host[:port]")]
    BadUrl(String),
    #[error("certificate authorities in {path}: {reason}")]
    Ca { path: String, reason: String },
    #[error("TLS settings: {0}")]
    Tls(String),
    #[error("the spool: {0}")]
    Spool(#[from] crate::spool::SpoolError),
    #[error("the link broke: {0}")]
    Broken(Box<dyn std::error::Error + Send + Sync>),
}

/// TLS settings for the link: the public web's authorities (Mozilla's list, built in, so a
/// machine with an outdated store still works) plus those of `ca_file`. Ring as the crypto.
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, LinkError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = ca_file {
        let fail = |reason: String| LinkError::Ca { path: path.display().to_string(), reason };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| fail(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| fail(e.to_string()))?;
        if certs.is_empty() {
            return Err(fail("no certificate (expected PEM: -----BEGIN CERTIFICATE-----)".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| fail(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LinkError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn base_url(server: &str) -> Result<String, LinkError> {
    let trimmed = server.trim().trim_end_matches('/');
    let rest = trimmed.strip_prefix("http://").or_else(|| trimmed.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(trimmed.to_owned()),
        _ => Err(LinkError::BadUrl(server.to_owned())),
    }
}

fn ws_url(server: &str) -> String {
    let ws = if let Some(rest) = server.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        format!("ws://{}", server.trim_start_matches("http://"))
    };
    format!("{ws}/agent/ws")
}

/// Exchanges an enrollment key for the agent's identity; `ca_file` adds trusted authorities
/// (kept in the enrollment for the link).
pub async fn enroll(server: &str, key: &str, name: &str, ca_file: Option<&Path>) -> Result<Enrollment, LinkError> {
    let server = base_url(server)?;
    let tls = tls_config(ca_file)?;
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(rustls::ClientConfig::clone(&tls))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| LinkError::Unreachable { server: server.clone(), source: e.into() })?;
    let body = serde_json::json!({ "key": key.trim(), "name": name, "version": env!("CARGO_PKG_VERSION") });
    let response = client
        .post(format!("{server}/agent/enroll"))
        .json(&body)
        .send()
        .await
        .map_err(|e| LinkError::Unreachable { server: server.clone(), source: e.into() })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let reason = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(LinkError::Enrollment { server, reason });
    }
    #[derive(Deserialize)]
    struct Answer {
        agent_id: String,
        credential: String,
    }
    let answer: Answer = serde_json::from_str(&text)
        .map_err(|e| LinkError::Enrollment { server: server.clone(), reason: format!("unreadable answer: {e}") })?;
    Ok(Enrollment {
        server,
        agent_id: answer.agent_id,
        credential: SecretString::from(answer.credential),
        ca_file: ca_file.map(Path::to_path_buf),
    })
}

impl Enrollment {
    /// Writes the enrollment atomically, readable by its owner only (0600 from creation, so
    /// the secret is never briefly world-readable).
    pub fn save(&self, path: &Path) -> Result<(), LinkError> {
        let file_error =
            |e: std::io::Error| LinkError::File { path: path.display().to_string(), reason: e.to_string() };
        let json = serde_json::to_vec_pretty(self).map_err(|e| file_error(std::io::Error::other(e)))?;
        let temp = path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp).map_err(file_error)?;
        file.write_all(&json).map_err(file_error)?;
        file.sync_all().map_err(file_error)?;
        std::fs::rename(&temp, path).map_err(file_error)?;
        Ok(())
    }

    /// Reads an enrollment; refuses a file that others can read (the credential is in it).
    pub fn load(path: &Path) -> Result<Enrollment, LinkError> {
        let file_error = |reason: String| LinkError::File { path: path.display().to_string(), reason };
        let text = std::fs::read_to_string(path)
            .map_err(|e| file_error(format!("{e} (run `cartouche-agent enroll` first)")))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path).map_err(|e| file_error(e.to_string()))?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(file_error(format!(
                    "holds the agent's credential but is readable by others (mode {:o}); run chmod 600",
                    mode & 0o777
                )));
            }
        }
        let enrollment: Enrollment =
            serde_json::from_str(&text).map_err(|e| file_error(format!("not an enrollment: {e}")))?;
        base_url(&enrollment.server)?;
        Ok(enrollment)
    }
}

/// Timings of the link; the defaults suit a real network, tests shorten them.
#[derive(Clone, Debug)]
pub struct LinkOptions {
    /// A heartbeat is sent this often; a link silent for three of them is dead.
    pub heartbeat: Duration,
    /// Waits between attempts start here, double, and stop growing at `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Batches sent before waiting for acknowledgements.
    pub window: usize,
    /// Connecting and the hello exchange must finish within this.
    pub handshake_timeout: Duration,
}

impl Default for LinkOptions {
    fn default() -> LinkOptions {
        LinkOptions {
            heartbeat: Duration::from_secs(30),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            window: 8,
            handshake_timeout: Duration::from_secs(20),
        }
    }
}

/// A run-now order from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunNow {
    pub cycle: Cycle,
    pub range_id: Option<String>,
}

/// What the rest of the agent shares with the link.
#[derive(Clone)]
pub struct LinkHandles {
    pub spool: Arc<Mutex<Spool>>,
    /// Notified after a batch is pushed into the spool.
    pub pushed: Arc<Notify>,
    /// The latest configuration from the server.
    pub config: watch::Sender<Option<AgentConfig>>,
    /// Is the link up (welcomed) right now.
    pub connected: watch::Sender<bool>,
    pub run_now: mpsc::UnboundedSender<RunNow>,
}

/// Backoff with "equal jitter": half the current step plus a random part of the other half,
/// so a fleet of agents cut by the same outage does not reconnect in step.
fn jittered(step: Duration) -> Duration {
    let half = step / 2;
    let extra = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
    half + Duration::from_millis(extra)
}

/// Keeps the link up until `shutdown` fires or the server refuses the agent (revoked or
/// unknown: retrying would not help, and the error says so).
pub async fn run(
    enrollment: &Enrollment,
    capabilities: Vec<String>,
    handles: LinkHandles,
    mut reports: mpsc::UnboundedReceiver<CycleReport>,
    options: LinkOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), LinkError> {
    let tls = tls_config(enrollment.ca_file.as_deref())?;
    let mut step = options.backoff_min;
    loop {
        let started = tokio::time::Instant::now();
        let outcome = tokio::select! {
            outcome = session(enrollment, &tls, &capabilities, &handles, &mut reports, &options) => outcome,
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
        };
        handles.connected.send_replace(false);
        match outcome {
            Err(LinkError::Refused(reason)) => return Err(LinkError::Refused(reason)),
            Err(err) => tracing::warn!(error = %err, "link down"),
            Ok(()) => tracing::info!("link closed by the server"),
        }
        // A link that stayed up a while was healthy: start the backoff over.
        if started.elapsed() > options.heartbeat * 4 {
            step = options.backoff_min;
        }
        let wait = jittered(step);
        tracing::info!(wait_ms = wait.as_millis() as u64, "reconnecting");
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
        }
        step = (step * 2).min(options.backoff_max);
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(socket: &mut Socket, message: &AgentMessage) -> Result<(), LinkError> {
    let text = serde_json::to_string(message).map_err(|e| LinkError::Broken(e.into()))?;
    socket.send(Message::text(text)).await.map_err(|e| LinkError::Broken(e.into()))
}

/// One connection, from hello until it breaks. `Ok` when the server closed it cleanly.
async fn session(
    enrollment: &Enrollment,
    tls: &Arc<rustls::ClientConfig>,
    capabilities: &[String],
    handles: &LinkHandles,
    reports: &mut mpsc::UnboundedReceiver<CycleReport>,
    options: &LinkOptions,
) -> Result<(), LinkError> {
    let server = enrollment.server.clone();
    let down =
        |e: Box<dyn std::error::Error + Send + Sync>| LinkError::Unreachable { server: server.clone(), source: e };
    let url = ws_url(&enrollment.server);
    let connector = tokio_tungstenite::Connector::Rustls(tls.clone());
    let connect = tokio_tungstenite::connect_async_tls_with_config(url, None, true, Some(connector));
    let (mut socket, _) = tokio::time::timeout(options.handshake_timeout, connect)
        .await
        .map_err(|e| down(e.into()))?
        .map_err(|e| down(e.into()))?;
    let hello = AgentMessage::Hello {
        protocol: PROTOCOL_VERSION,
        agent_id: enrollment.agent_id.clone(),
        credential: enrollment.credential.expose_secret().to_owned(),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        capabilities: capabilities.to_vec(),
    };
    send(&mut socket, &hello).await?;
    match tokio::time::timeout(options.handshake_timeout, next_message(&mut socket)).await {
        Ok(Ok(Some(ServerMessage::Welcome { protocol }))) => {
            tracing::info!(server = %enrollment.server, protocol, "link up");
        }
        Ok(Ok(Some(ServerMessage::Refused { reason }))) => return Err(LinkError::Refused(reason)),
        Ok(Ok(other)) => return Err(down(format!("expected a welcome, got {other:?}").into())),
        Ok(Err(err)) => return Err(err),
        Err(elapsed) => return Err(down(elapsed.into())),
    }
    handles.connected.send_replace(true);

    // Batches sent on this connection and not yet acknowledged.
    let mut in_flight: u64 = 0;
    let mut last_sent: u64 = 0;
    let mut heartbeat = tokio::time::interval(options.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = tokio::time::Instant::now();
    loop {
        // Send what waits in the spool, within the window.
        if (in_flight as usize) < options.window {
            let room = options.window - in_flight as usize;
            let batches = {
                let spool = handles.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                spool.pending_after(last_sent, room)?
            };
            for (sequence, payload) in batches {
                // The payload is the JSON array of readings the cycle serialised; framed as is.
                let payload = String::from_utf8(payload).map_err(|e| LinkError::Broken(e.into()))?;
                let text = format!("{{\"type\":\"readings\",\"sequence\":{sequence},\"readings\":{payload}}}");
                socket.send(Message::text(text)).await.map_err(|e| down(e.into()))?;
                last_sent = sequence;
                in_flight += 1;
            }
        }
        tokio::select! {
            incoming = next_message(&mut socket) => {
                last_heard = tokio::time::Instant::now();
                match incoming? {
                    None => return Ok(()),
                    Some(ServerMessage::Ack { sequence }) => {
                        handles.spool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).ack(sequence)?;
                        in_flight = in_flight.saturating_sub(1);
                    }
                    Some(ServerMessage::Config(config)) => {
                        tracing::info!(ranges = config.ranges.len(), devices = config.devices.len(), "configuration received");
                        handles.config.send_replace(Some(config));
                    }
                    Some(ServerMessage::RunNow { cycle, range_id }) => {
                        let _ = handles.run_now.send(RunNow { cycle, range_id });
                    }
                    Some(ServerMessage::Refused { reason }) => return Err(LinkError::Refused(reason)),
                    Some(ServerMessage::Heartbeat { .. } | ServerMessage::Welcome { .. }) => {}
                }
            }
            () = handles.pushed.notified() => {}
            Some(report) = reports.recv() => {
                send(&mut socket, &AgentMessage::CycleReport(report)).await?;
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > options.heartbeat * 3 {
                    return Err(down(format!("no word from the server for {:?}", last_heard.elapsed()).into()));
                }
                send(&mut socket, &AgentMessage::Heartbeat { at: chrono::Utc::now() }).await?;
            }
        }
    }
}

/// The next server message; `None` when the server closed the link. Frames that are not
/// valid messages are logged and skipped: a newer server may send kinds this agent ignores.
async fn next_message(socket: &mut Socket) -> Result<Option<ServerMessage>, LinkError> {
    loop {
        let Some(frame) = socket.next().await else { return Ok(None) };
        let frame = frame.map_err(|e| LinkError::Broken(e.into()))?;
        match frame {
            Message::Text(text) => match serde_json::from_str(&text) {
                Ok(message) => return Ok(Some(message)),
                Err(err) => tracing::warn!(error = %err, "unreadable message from the server; ignored"),
            },
            Message::Close(_) => return Ok(None),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked_and_mapped_to_the_websocket() {
        assert_eq!(base_url("http://10.0.0.5:8080/").unwrap(), "http://10.0.0.5:8080");
        assert_eq!(ws_url("https://cartouche.example"), "wss://cartouche.example/agent/ws");
        assert_eq!(ws_url("http://127.0.0.1:3000"), "ws://127.0.0.1:3000/agent/ws");
        for bad in ["", "cartouche.example", "ftp://x", "http://", "http://a b"] {
            assert!(matches!(base_url(bad), Err(LinkError::BadUrl(_))), "{bad}");
        }
    }

    #[test]
    fn backoff_is_jittered_within_half_to_whole_step() {
        let step = Duration::from_secs(8);
        let waits: Vec<Duration> = (0..200).map(|_| jittered(step)).collect();
        assert!(waits.iter().all(|w| *w >= step / 2 && *w <= step));
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 50, "jitter spreads the waits");
    }

    #[test]
    fn the_enrollment_file_is_private_and_a_readable_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("cartouche-link-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agent.json");
        let enrollment = Enrollment {
            server: "http://127.0.0.1:1".into(),
            agent_id: "a1".into(),
            credential: SecretString::from("cag_secret".to_owned()),
            ca_file: None,
        };
        enrollment.save(&path).unwrap();
        let loaded = Enrollment::load(&path).unwrap();
        assert_eq!(loaded.agent_id, "a1");
        assert_eq!(loaded.credential.expose_secret(), "cag_secret");
        assert!(!format!("{loaded:?}").contains("cag_secret"), "Debug never shows the credential");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = Enrollment::load(&path).unwrap_err().to_string();
            assert!(err.contains("readable by others"), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
