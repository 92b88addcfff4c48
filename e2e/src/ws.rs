//! A graphql-transport-ws client for tests.

use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Subscriber {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Events of other subscriptions met while waiting for one: kept for their turn.
    pending: std::collections::VecDeque<Value>,
}

/// How `connection_init` went.
pub enum Init {
    Acknowledged(Box<Subscriber>),
    /// The server refused: the close reason (or the error message) it gave.
    Refused(String),
}

impl Subscriber {
    /// Opens the socket and sends `connection_init` with `payload`.
    pub async fn connect(url: &str, payload: Value) -> anyhow::Result<Init> {
        let mut request = url.into_client_request()?;
        request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.context("opening the websocket")?;
        socket.send(Message::text(json!({ "type": "connection_init", "payload": payload }).to_string())).await?;
        let mut subscriber = Subscriber { socket, pending: std::collections::VecDeque::new() };
        match subscriber.next_message(Duration::from_secs(10)).await {
            Ok(Some(msg)) if msg["type"] == "connection_ack" => Ok(Init::Acknowledged(Box::new(subscriber))),
            Ok(Some(msg)) => Ok(Init::Refused(msg.to_string())),
            Ok(None) => Ok(Init::Refused("closed".into())),
            Err(err) => Ok(Init::Refused(err.to_string())),
        }
    }

    /// Connects with a bearer token and expects an acknowledgement.
    pub async fn authenticated(url: &str, bearer: &str) -> anyhow::Result<Subscriber> {
        match Self::connect(url, json!({ "authorization": format!("Bearer {bearer}") })).await? {
            Init::Acknowledged(subscriber) => Ok(*subscriber),
            Init::Refused(why) => bail!("connection refused: {why}"),
        }
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) -> anyhow::Result<()> {
        let message = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
        self.socket.send(Message::text(message.to_string())).await?;
        Ok(())
    }

    /// The next JSON message (pings answered), `None` when the server closed, or an error on
    /// time-out.
    pub async fn next_message(&mut self, wait: Duration) -> anyhow::Result<Option<Value>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = tokio::time::timeout(remaining, self.socket.next()).await.context("no message in time")?;
            match frame {
                None => return Ok(None),
                Some(Err(err)) => return Err(err.into()),
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text)?;
                    if value["type"] == "ping" {
                        self.socket.send(Message::text(json!({ "type": "pong" }).to_string())).await?;
                        continue;
                    }
                    return Ok(Some(value));
                }
                Some(Ok(Message::Close(frame))) => {
                    let reason = frame.map(|f| format!("{} {}", u16::from(f.code), f.reason)).unwrap_or_default();
                    return Ok(Some(json!({ "type": "close", "reason": reason })));
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The payload of the next `next` message for subscription `id`; other subscriptions'
    /// events met meanwhile wait for their own call.
    pub async fn next_event(&mut self, id: &str, wait: Duration) -> anyhow::Result<Value> {
        if let Some(at) = self.pending.iter().position(|m| m["id"] == id) {
            let message = self.pending.remove(at).expect("invariant: the position is in the queue");
            return Ok(message["payload"].clone());
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.next_message(remaining).await?.context("the server closed the socket")?;
            match message["type"].as_str() {
                Some("next") if message["id"] == id => return Ok(message["payload"].clone()),
                Some("next") => self.pending.push_back(message),
                Some("error") if message["id"] == id => bail!("subscription error: {}", message["payload"]),
                Some("close") => bail!("closed: {}", message["reason"]),
                _ => continue,
            }
        }
    }
}
