//! Notifications: every 10 seconds (by default) the notification worker turns new critical
//! alerts, work-order steps and supplies at their re-order level into notifications
//! (`db::notifications::collect`), then sends the deliveries that are due: e-mails through
//! the SMTP server of `CARTOUCHE_SMTP_URL` (from `CARTOUCHE_SMTP_FROM`), and webhooks as a
//! JSON POST signed with the webhook's secret. A failed send is tried again with a growing
//! backoff (30 s, 2 min, 8 min, 32 min, 2 h), then left failed with its error for people to
//! see.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use apalis_cron::Tick;
use apalis_postgres::PostgresStorage;
use cartouche_schema::db::Pool;
use cartouche_schema::db::notifications::{self, Due};
use cartouche_schema::profiles::catalogue::FaultCatalogue;
use hmac::{Hmac, Mac};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const QUEUE: &str = "cartouche.notifications.send";
/// Every 10 seconds.
pub const DEFAULT_SCHEDULE: &str = "*/10 * * * * *";
/// Rows per step.
const CHUNK: i64 = 200;

/// Where e-mails go out.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required`, `smtps://host:465`; none: e-mail
    /// deliveries fail with a message saying so.
    pub smtp_url: Option<String>,
    pub from: String,
}

impl Mail {
    /// From `CARTOUCHE_SMTP_URL` and `CARTOUCHE_SMTP_FROM` (default `cartouche@localhost`).
    pub fn from_env() -> Mail {
        Mail {
            smtp_url: std::env::var("CARTOUCHE_SMTP_URL").ok().filter(|u| !u.trim().is_empty()),
            from: std::env::var("CARTOUCHE_SMTP_FROM").unwrap_or_else(|_| "Cartouche <cartouche@localhost>".into()),
        }
    }
}

/// What the worker needs besides the database.
#[derive(Clone)]
pub struct Senders {
    pub mail: Mail,
    pub http: reqwest::Client,
    pub catalogue: Arc<FaultCatalogue>,
}

impl Senders {
    pub fn new(mail: Mail, catalogue: Arc<FaultCatalogue>) -> anyhow::Result<Senders> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Cartouche/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Senders { mail, http, catalogue })
    }
}

/// Send or schedule: one queued job per tick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendNotifications {
    pub tick: i64,
}

/// The `X-Cartouche-Signature` of a webhook body sent at `timestamp` (Unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>" under the webhook's secret>`.
/// Receivers check it and refuse old timestamps (replays).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("invariant: HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn send_email(mail: &Mail, due: &Due) -> Result<(), String> {
    let url = mail.smtp_url.as_deref().ok_or("no SMTP server is configured (CARTOUCHE_SMTP_URL)")?;
    let message = Message::builder()
        .from(mail.from.parse().map_err(|e| format!("CARTOUCHE_SMTP_FROM {:?}: {e}", mail.from))?)
        .to(due.target.parse().map_err(|e| format!("recipient {:?}: {e}", due.target))?)
        .subject(&due.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(format!("{}\n\n-- \nCartouche", due.body))
        .map_err(|e| e.to_string())?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| format!("CARTOUCHE_SMTP_URL: {e}"))?
        .timeout(Some(Duration::from_secs(15)))
        .build();
    transport.send(message).await.map(drop).map_err(|e| format!("the SMTP server refused: {e}"))
}

async fn send_webhook(http: &reqwest::Client, due: &Due) -> Result<(), String> {
    let body = serde_json::to_vec(&serde_json::json!({
        "id": due.notification_id,
        "kind": due.kind,
        "subject": due.subject,
        "body": due.body,
        "data": due.payload,
        "createdAt": due.created_at,
    }))
    .map_err(|e| e.to_string())?;
    let timestamp = chrono::Utc::now().timestamp();
    let secret = due.secret.as_deref().ok_or("the webhook is gone")?;
    let response = http
        .post(&due.target)
        .header("content-type", "application/json")
        .header("x-cartouche-event", &due.kind)
        .header("x-cartouche-delivery", due.id.to_string())
        .header("x-cartouche-signature", signature(secret, timestamp, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("no answer from {}: {e}", due.target))?;
    if response.status().is_success() { Ok(()) } else { Err(format!("{} answered {}", due.target, response.status())) }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub notifications: usize,
    pub sent: usize,
    pub failed: usize,
}

/// Collects what is new, then sends every delivery due.
pub async fn run_pass(pool: &Pool, senders: &Senders) -> anyhow::Result<Pass> {
    let mut conn = pool.get().await?;
    let mut pass = Pass::default();
    loop {
        let made = notifications::collect(&mut conn, &senders.catalogue, CHUNK).await?;
        pass.notifications += made;
        if made == 0 {
            break;
        }
    }
    loop {
        let due = notifications::take_due(&mut conn, CHUNK).await?;
        if due.is_empty() {
            break;
        }
        for delivery in due {
            let result = match delivery.channel.as_str() {
                "email" => send_email(&senders.mail, &delivery).await,
                _ => send_webhook(&senders.http, &delivery).await,
            };
            match result {
                Ok(()) => {
                    notifications::sent(&mut conn, delivery.id).await?;
                    pass.sent += 1;
                }
                Err(error) => {
                    tracing::warn!(delivery.id = %delivery.id, channel = %delivery.channel, attempt = delivery.attempts, %error, "notification not sent");
                    notifications::failed(&mut conn, delivery.id, delivery.attempts, &error).await?;
                    pass.failed += 1;
                }
            }
        }
    }
    Ok(pass)
}

/// Cron handler: one queued job per tick, whatever the number of worker processes.
pub async fn enqueue(tick: Tick, queue: Data<PostgresStorage<SendNotifications>>) -> Result<(), BoxDynError> {
    let at = i64::try_from(tick.get_timestamp()).unwrap_or(i64::MAX);
    let task = TaskBuilder::new(SendNotifications { tick: at }).idempotency_key(format!("notify:{at}")).build();
    let mut queue = (*queue).clone();
    queue.push_task(task).await?;
    Ok(())
}

/// Queue handler.
pub async fn send_notifications(
    job: SendNotifications,
    pool: Data<Pool>,
    senders: Data<Senders>,
) -> Result<(), BoxDynError> {
    let pass = run_pass(&pool, &senders).await.map_err(|e| -> BoxDynError { e.into() })?;
    if pass != Pass::default() {
        tracing::info!(
            job.name = "SendNotifications",
            job.tick = job.tick,
            made = pass.notifications,
            sent = pass.sent,
            failed = pass.failed,
            "notifications"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2 shape: key "Jefe"; our message is "1700000000.{}".
        let signature = super::signature("Jefe", 1_700_000_000, b"{}");
        assert!(signature.starts_with("t=1700000000,v1="));
        assert_eq!(signature.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(signature, super::signature("Jefe", 1_700_000_001, b"{}"), "the timestamp is signed");
        assert_ne!(signature, super::signature("jefe", 1_700_000_000, b"{}"), "the key matters");
    }
}
