//! Talking to the api's agent gateway as an agent would, message by message: for tests that
//! check what the server sends and when (the agent's own link is tested through `agent::link`).

use std::time::Duration;

use cartouche_schema::wire::{AgentMessage, PROTOCOL_VERSION, ServerMessage};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

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
