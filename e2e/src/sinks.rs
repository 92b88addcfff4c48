//! Local stand-ins for what notifications go to: an SMTP sink that keeps the messages it is
//! given (or refuses every recipient), and a webhook receiver that keeps each request (and can
//! answer 500 to the first ones, to exercise retries). Loopback only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// A message the sink accepted.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent (dot-stuffing undone).
    pub data: String,
}

impl Mail {
    /// A header's value (first occurrence), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push_str(line.trim_start());
                    continue;
                }
                break;
            }
            if let Some((key, rest)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                value = Some(rest.trim().to_owned());
            }
        }
        value
    }
}

pub struct SmtpSink {
    pub address: SocketAddr,
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    /// Listens on a free loopback port; `refuse`: every RCPT gets 550.
    pub async fn start(refuse: bool) -> anyhow::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let kept = mails.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let _ = session(socket, refuse, kept).await;
                });
            }
        });
        Ok(SmtpSink { address, mails })
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }
}

async fn session(socket: tokio::net::TcpStream, refuse: bool, kept: Arc<Mutex<Vec<Mail>>>) -> anyhow::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut mail = Mail::default();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => write.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await?,
            "HELO" | "NOOP" => write.write_all(b"250 ok\r\n").await?,
            "RSET" => {
                mail = Mail::default();
                write.write_all(b"250 ok\r\n").await?;
            }
            "MAIL" => {
                mail.from = command.split_once(':').map(|(_, a)| a.trim().to_owned()).unwrap_or_default();
                write.write_all(b"250 ok\r\n").await?;
            }
            "RCPT" if refuse => write.write_all(b"550 5.1.1 mailbox unavailable\r\n").await?,
            "RCPT" => {
                mail.to.push(command.split_once(':').map(|(_, a)| a.trim().to_owned()).unwrap_or_default());
                write.write_all(b"250 ok\r\n").await?;
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                mail.data = data;
                kept.lock().await.push(std::mem::take(&mut mail));
                write.write_all(b"250 queued\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"502 not implemented\r\n").await?,
        }
    }
}

/// A request the webhook receiver got.
#[derive(Clone, Debug)]
pub struct Hook {
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

pub struct WebhookReceiver {
    pub address: SocketAddr,
    pub hooks: Arc<Mutex<Vec<Hook>>>,
}

impl WebhookReceiver {
    /// Listens on a free loopback port; the first `fail_first` requests get 500.
    pub async fn start(fail_first: usize) -> anyhow::Result<WebhookReceiver> {
        let hooks: Arc<Mutex<Vec<Hook>>> = Arc::default();
        let seen = Arc::new(AtomicUsize::new(0));
        let kept = hooks.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (kept, seen) = (kept.clone(), seen.clone());
                async move {
                    if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    kept.lock().await.push(Hook { headers, body: body.to_vec() });
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(WebhookReceiver { address, hooks })
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }
}
