//! The agents' side of the api: enrollment (`POST /agent/enroll`) and the link
//! (`GET /agent/ws`, a websocket of `schema::wire` messages). A batch of readings is stored
//! before it is acknowledged, idempotently on (agent, sequence); a revoked agent's link is cut
//! as soon as the revocation event reaches this replica.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cartouche_schema::db::agent_config::AgentCommandRow;
use cartouche_schema::db::agents::{Agent, EnrollError};
use cartouche_schema::wire::{AgentConfig, AgentMessage, Cycle, OLDEST_SUPPORTED, PROTOCOL_VERSION, ServerMessage};
use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::tokens;
use crate::events::{ChangeKind, Entity};

pub const CREDENTIAL_PREFIX: &str = "cag_";

#[derive(Deserialize)]
pub struct EnrollRequest {
    pub key: String,
    /// A name for the agent (its host name, usually).
    pub name: String,
    pub version: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct EnrollResponse {
    pub agent_id: String,
    pub credential: String,
}

fn refuse(status: StatusCode, reason: &str) -> Response {
    (status, Json(serde_json::json!({ "error": reason }))).into_response()
}

pub async fn enroll(State(state): State<AppState>, Json(request): Json<EnrollRequest>) -> Response {
    let name = request.name.trim();
    if name.is_empty() || name.len() > 200 {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "name: 1 to 200 characters");
    }
    let Ok(mut conn) = state.pool.get().await else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "the server cannot reach its database; retry later");
    };
    let (credential, credential_hash) = tokens::new_secret(CREDENTIAL_PREFIX);
    let key_hash = tokens::hash_secret(request.key.trim());
    match Agent::enroll(&mut conn, &key_hash, name, request.version.as_deref(), &credential_hash, Utc::now()).await {
        Ok(Ok(agent)) => {
            tracing::info!(agent.id = %agent.id, tenant.id = %agent.tenant_id, "agent enrolled");
            Json(EnrollResponse { agent_id: agent.id.to_string(), credential: credential.expose_secret().to_owned() })
                .into_response()
        }
        Ok(Err(EnrollError::Exhausted)) => refuse(StatusCode::GONE, "this enrollment key has been used up"),
        Ok(Err(why)) => {
            tracing::info!(?why, "enrollment refused");
            refuse(StatusCode::UNAUTHORIZED, "unknown, expired or revoked enrollment key")
        }
        Err(err) => {
            tracing::error!(error = %err, "enrollment failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

pub async fn link(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| serve(state, socket))
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    match serde_json::to_string(message) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

async fn hello(socket: &mut WebSocket) -> Option<AgentMessage> {
    let first = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.ok()??.ok()?;
    match first {
        Message::Text(text) => serde_json::from_str(&text).ok(),
        _ => None,
    }
}

async fn serve(state: AppState, mut socket: WebSocket) {
    let Some(AgentMessage::Hello { protocol, agent_id, credential, agent_version, .. }) = hello(&mut socket).await
    else {
        send(&mut socket, &ServerMessage::Refused { reason: "expected a hello message first".into() }).await;
        return;
    };
    if protocol < OLDEST_SUPPORTED {
        let reason =
            format!("protocol {protocol} is too old; this server speaks {OLDEST_SUPPORTED} to {PROTOCOL_VERSION}");
        send(&mut socket, &ServerMessage::Refused { reason }).await;
        return;
    }
    let agent = match state.pool.get().await {
        Ok(mut conn) => Agent::find_by_credential(&mut conn, &tokens::hash_secret(&credential)).await.ok().flatten(),
        Err(_) => None,
    };
    let Some(agent) = agent.filter(|a| a.id.to_string() == agent_id && a.revoked_at.is_none()) else {
        tracing::info!(agent.id = %agent_id, "agent link refused");
        send(&mut socket, &ServerMessage::Refused { reason: "unknown or revoked agent".into() }).await;
        return;
    };
    if let Ok(mut conn) = state.pool.get().await {
        let _ = Agent::seen(&mut conn, agent.id, &agent_version).await;
    }
    link_changed(&state, &agent, true).await;
    linked(&state, &mut socket, &agent, protocol, &agent_version).await;
    link_changed(&state, &agent, false).await;
}

/// Records the link going up or down and tells subscribers (agentStatusChanged).
async fn link_changed(state: &AppState, agent: &Agent, up: bool) {
    let recorded = async {
        let mut conn = state.pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let agent = Agent::record_link(&mut conn, agent.id, up).await?;
        let event = crate::events::Event::new(Entity::Agent, ChangeKind::Updated, agent.tenant_id, agent.id)
            .at_site(agent.site_id);
        crate::events::publish(&mut conn, &event).await?;
        Ok::<_, anyhow::Error>(())
    };
    if let Err(err) = recorded.await {
        tracing::warn!(agent.id = %agent.id, up, error = %err, "could not record the agent's link state");
    }
}

/// The link of an authenticated agent, until it ends.
async fn linked(state: &AppState, socket: &mut WebSocket, agent: &Agent, protocol: u32, agent_version: &str) {
    let spoken = protocol.min(PROTOCOL_VERSION);
    if !send(socket, &ServerMessage::Welcome { protocol: spoken }).await {
        return;
    }
    tracing::info!(agent.id = %agent.id, version = %agent_version, "agent connected");
    // Subscribed before the first configuration is built: a change committed meanwhile is
    // seen as an event and sent after it.
    let mut events = std::pin::pin!(state.events.subscribe());
    let mut sent_config = None;
    let mut seen_written = tokio::time::Instant::now();
    if !refresh_config(state, socket, agent.id, &mut sent_config).await
        || !deliver_commands(state, socket, agent.id).await
    {
        return;
    }
    loop {
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else { return };
                if event.tenant_id != agent.tenant_id {
                    continue;
                }
                let still_linked = match event.entity {
                    Entity::Agent if event.id == agent.id && event.kind == ChangeKind::Deleted => {
                        send(socket, &ServerMessage::Refused { reason: "this agent was revoked".into() }).await;
                        let _ = socket.close().await;
                        tracing::info!(agent.id = %agent.id, "link cut: agent revoked");
                        return;
                    }
                    Entity::AgentCommand if event.id == agent.id => deliver_commands(state, socket, agent.id).await,
                    Entity::AgentCommand | Entity::Device | Entity::Alert | Entity::Supply | Entity::WorkOrder => true,
                    // Any other agent of the tenant changing may move its site's ranges here.
                    Entity::Agent | Entity::Site | Entity::Range | Entity::Credential => {
                        refresh_config(state, socket, agent.id, &mut sent_config).await
                    }
                };
                if !still_linked {
                    return;
                }
            }
            incoming = socket.next() => {
                let Some(Ok(message)) = incoming else { return };
                let Message::Text(text) = message else { continue };
                let reply = match serde_json::from_str::<AgentMessage>(&text) {
                    Ok(AgentMessage::Readings { sequence, readings }) => store(state, agent, sequence, readings).await,
                    Ok(AgentMessage::Heartbeat { .. }) => {
                        // Keeps last_seen_at fresh (once a minute at most): a replica that dies
                        // without recording the link down is not believed for long.
                        if seen_written.elapsed() > Duration::from_secs(60) {
                            seen_written = tokio::time::Instant::now();
                            if let Ok(mut conn) = state.pool.get().await {
                                let _ = Agent::seen(&mut conn, agent.id, agent_version).await;
                            }
                        }
                        Some(ServerMessage::Heartbeat { at: Utc::now() })
                    }
                    Ok(AgentMessage::CycleReport(report)) => {
                        // A lost report is a missing line on the agent's page, not lost data:
                        // logged, and the link goes on.
                        match state.pool.get().await {
                            Ok(mut conn) => {
                                if let Err(err) = Agent::store_report(&mut conn, agent, &report).await {
                                    tracing::error!(agent.id = %agent.id, error = %err, "could not store a cycle report");
                                }
                            }
                            Err(err) => tracing::error!(agent.id = %agent.id, error = %err, "no database for a cycle report"),
                        }
                        None
                    }
                    Ok(AgentMessage::Hello { .. }) => None,
                    Err(err) => {
                        // Nonsense from an agent is logged and dropped; the link stays.
                        tracing::warn!(agent.id = %agent.id, error = %err, "unreadable message from an agent");
                        None
                    }
                };
                if let Some(reply) = reply && !send(socket, &reply).await {
                    return;
                }
            }
        }
    }
}

/// Sends the agent its configuration when it differs from what it was last sent. A database
/// failure keeps the agent on its current configuration (logged); false: the link is broken.
async fn refresh_config(
    state: &AppState,
    socket: &mut WebSocket,
    agent_id: uuid::Uuid,
    sent: &mut Option<AgentConfig>,
) -> bool {
    let built = async {
        let mut conn = state.pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let agent =
            Agent::find_for_gateway(&mut conn, agent_id).await?.ok_or_else(|| anyhow::anyhow!("agent is gone"))?;
        Ok::<_, anyhow::Error>(crate::agent_config::build(&mut conn, &state.config.secret_keys, &agent).await?)
    };
    match built.await {
        Ok(config) if sent.as_ref() != Some(&config) => {
            let ok = send(socket, &ServerMessage::Config(config.clone())).await;
            tracing::info!(agent.id = %agent_id, ranges = config.ranges.len(), "configuration sent");
            *sent = Some(config);
            ok
        }
        Ok(_) => true,
        Err(err) => {
            tracing::error!(agent.id = %agent_id, error = %err, "could not build the agent's configuration; it keeps its current one");
            true
        }
    }
}

/// Sends the agent's waiting "run now" orders. Orders taken but not sent (the link broke)
/// are given back for the next connection.
async fn deliver_commands(state: &AppState, socket: &mut WebSocket, agent_id: uuid::Uuid) -> bool {
    let Ok(mut conn) = state.pool.get().await else {
        tracing::error!(agent.id = %agent_id, "no database to read run-now orders; they wait");
        return true;
    };
    let orders = match AgentCommandRow::take_pending(&mut conn, agent_id).await {
        Ok(orders) => orders,
        Err(err) => {
            tracing::error!(agent.id = %agent_id, error = %err, "could not read run-now orders; they wait");
            return true;
        }
    };
    for (index, order) in orders.iter().enumerate() {
        let Some(cycle) = Cycle::from_name(&order.cycle) else { continue };
        let message = ServerMessage::RunNow { cycle, range_id: order.range_id.map(|r| r.to_string()) };
        if !send(socket, &message).await {
            let unsent: Vec<uuid::Uuid> = orders[index..].iter().map(|o| o.id).collect();
            if let Err(err) = AgentCommandRow::undeliver(&mut conn, &unsent).await {
                tracing::error!(agent.id = %agent_id, error = %err, "run-now orders lost with the link");
            }
            return false;
        }
        tracing::info!(agent.id = %agent_id, cycle = %order.cycle, "run-now delivered");
    }
    true
}

/// Stores a batch and acknowledges it; an error leaves it unacknowledged (the agent resends).
async fn store(
    state: &AppState,
    agent: &Agent,
    sequence: u64,
    readings: Vec<cartouche_schema::wire::RawReading>,
) -> Option<ServerMessage> {
    let Ok(sequence_db) = i64::try_from(sequence) else { return None };
    let mut conn = state.pool.get().await.ok()?;
    match Agent::store_batch(&mut conn, agent, sequence_db, &readings).await {
        Ok(new) => {
            if new {
                state.ingestor.spawn(agent.id, sequence_db, readings);
            }
            Some(ServerMessage::Ack { sequence })
        }
        Err(err) => {
            tracing::error!(agent.id = %agent.id, sequence, error = %err, "could not store readings; not acknowledged");
            None
        }
    }
}
