//! Talking to the api's agent gateway as an agent would, message by message: for tests that
//! check what the server sends and when (the agent's own link is tested through `agent::link`).

use std::time::Duration;

use cartouche_schema::db::schema::raw_batches;
use cartouche_schema::wire::{AgentConfig, AgentMessage, PROTOCOL_VERSION, RawReading, ServerMessage};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::app::TestApp;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `POST /agent/enroll` with `key`, as host `name`.
pub async fn enroll(app: &TestApp, key: &str, name: &str) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .http
        .post(format!("{}/agent/enroll", app.base_url))
        .json(&json!({ "key": key, "name": name, "version": "0.1.0" }))
        .send()
        .await?)
}

/// Enrolls and returns the agent id and credential.
pub async fn enrolled(app: &TestApp, key: &str, name: &str) -> anyhow::Result<(String, String)> {
    let answer: serde_json::Value = enroll(app, key, name).await?.error_for_status()?.json().await?;
    let field = |f: &str| answer[f].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("no {f} in {answer}"));
    Ok((field("agent_id")?, field("credential")?))
}

/// Opens the link and says hello; returns the socket and the server's first answer.
/// Enrolls an agent with `key` and links it: its socket (past the welcome) and its id.
pub async fn linked(app: &TestApp, key: &str, name: &str) -> anyhow::Result<(Socket, uuid::Uuid)> {
    let (agent_id, credential) = enrolled(app, key, name).await?;
    let (socket, _) = connect(app, &agent_id, &credential).await?;
    Ok((socket, agent_id.parse()?))
}

pub async fn connect(app: &TestApp, agent_id: &str, credential: &str) -> anyhow::Result<(Socket, ServerMessage)> {
    let url = format!("{}/agent/ws", app.base_url.replacen("http://", "ws://", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
    let hello = AgentMessage::Hello {
        protocol: PROTOCOL_VERSION,
        agent_id: agent_id.to_owned(),
        credential: credential.to_owned(),
        agent_version: "0.1.0".into(),
        capabilities: vec![],
    };
    socket.send(Message::text(serde_json::to_string(&hello)?)).await?;
    let first =
        next(&mut socket, Duration::from_secs(10)).await.ok_or_else(|| anyhow::anyhow!("no answer to hello"))?;
    Ok((socket, first))
}

/// The next server message within `wait`; `None` on timeout, close or garbage.
pub async fn next(socket: &mut Socket, wait: Duration) -> Option<ServerMessage> {
    loop {
        let frame = tokio::time::timeout(wait, socket.next()).await.ok()??.ok()?;
        match frame {
            Message::Text(text) => return serde_json::from_str(&text).ok(),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// Sends a batch of readings.
pub async fn upload(socket: &mut Socket, sequence: u64, readings: Vec<RawReading>) {
    let message = AgentMessage::Readings { sequence, readings };
    socket.send(Message::text(serde_json::to_string(&message).unwrap())).await.unwrap();
}

/// Waits for the batch's acknowledgement, keeping the configurations met on the way.
pub async fn acked(socket: &mut Socket, sequence: u64, configs: &mut Vec<AgentConfig>) {
    loop {
        match next(socket, Duration::from_secs(10)).await {
            Some(ServerMessage::Ack { sequence: s }) if s == sequence => return,
            Some(ServerMessage::Config(config)) => configs.push(config),
            Some(_) => {}
            None => panic!("no acknowledgement of batch {sequence}"),
        }
    }
}

/// The first configuration (already met, or to come) that `wanted` accepts.
pub async fn config_where(
    socket: &mut Socket,
    configs: &mut Vec<AgentConfig>,
    wanted: impl Fn(&AgentConfig) -> bool,
) -> AgentConfig {
    loop {
        if let Some(found) = configs.iter().find(|c| wanted(c)) {
            return found.clone();
        }
        match next(socket, Duration::from_secs(10)).await {
            Some(ServerMessage::Config(config)) => configs.push(config),
            Some(_) => {}
            None => panic!("no such configuration; met: {configs:?}"),
        }
    }
}

/// Waits until the server has interpreted the batch; its errors (None: every reading counted).
pub async fn interpreted(app: &TestApp, agent: Uuid, sequence: i64) -> Option<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut conn = app.db.conn().await.unwrap();
        let row: (Option<chrono::DateTime<chrono::Utc>>, Option<serde_json::Value>) = raw_batches::table
            .find((agent, sequence))
            .select((raw_batches::interpreted_at, raw_batches::errors))
            .first(&mut conn)
            .await
            .unwrap();
        if row.0.is_some() {
            return row.1;
        }
        assert!(tokio::time::Instant::now() < deadline, "batch {sequence} not interpreted in 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Uploads a batch, waits for its acknowledgement and its interpretation; the errors of the
/// readings kept raw, if any.
pub async fn deliver(
    app: &TestApp,
    socket: &mut Socket,
    agent: Uuid,
    sequence: u64,
    readings: Vec<RawReading>,
) -> Option<serde_json::Value> {
    upload(socket, sequence, readings).await;
    acked(socket, sequence, &mut Vec::new()).await;
    interpreted(app, agent, i64::try_from(sequence).expect("a small sequence")).await
}
