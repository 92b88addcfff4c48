//! Change events that cross api replicas.
//!
//! A mutation publishes with `pg_notify` inside its own transaction, so an event exists exactly
//! when its change was committed. Every api process LISTENs on one dedicated connection and fans
//! the events out to its subscriptions through a broadcast channel; a replica that loses the
//! connection reconnects with backoff.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

/// The PostgreSQL channel every replica listens on.
pub const CHANNEL: &str = cartouche_schema::db::EVENTS_CHANNEL;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Site,
    Agent,
    /// An SNMP credential (agents using it get a new configuration).
    Credential,
    /// A discovery range and its schedules.
    Range,
    /// A "run now" order for the agent whose id the event carries.
    AgentCommand,
    /// A device (its identity, status, counters, supplies or alerts) changed.
    Device,
    /// A device's alerts opened or cleared (the event's id is the device's).
    Alert,
    /// A device's supplies changed (the event's id is the device's).
    Supply,
    /// A work order (opened, moved, commented, followed in telemetry); published by the api
    /// and by the maintenance worker.
    WorkOrder,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

/// What changed; subscribers reload the object through their own scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub entity: Entity,
    pub kind: ChangeKind,
    pub tenant_id: Uuid,
    pub id: Uuid,
    /// The site the object is at, when it has one (lets subscriptions filter by site
    /// without a query per event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<Uuid>,
}

impl Event {
    pub fn new(entity: Entity, kind: ChangeKind, tenant_id: Uuid, id: Uuid) -> Event {
        Event { entity, kind, tenant_id, id, site_id: None }
    }

    pub fn at_site(mut self, site_id: Option<Uuid>) -> Event {
        self.site_id = site_id;
        self
    }
}

/// Queues the event; PostgreSQL delivers it when (and only if) the transaction commits.
pub async fn publish(conn: &mut AsyncPgConnection, event: &Event) -> diesel::QueryResult<()> {
    publish_many(conn, std::slice::from_ref(event)).await
}

/// An event as this process received it, with what subscribers look up about it loaded once
/// and shared (at 10,000 subscriptions, one query per event instead of one per subscriber).
#[derive(Debug)]
pub struct Delivered {
    pub event: Event,
    device: tokio::sync::OnceCell<Option<cartouche_schema::db::fleet::Device>>,
}

impl Delivered {
    fn new(event: Event) -> Delivered {
        Delivered { event, device: tokio::sync::OnceCell::new() }
    }

    /// The device the event is about, loaded once for every subscriber (unscoped: each
    /// subscriber checks its own scope against the device's tenant).
    pub async fn device(&self, pool: &cartouche_schema::db::Pool) -> Option<&cartouche_schema::db::fleet::Device> {
        self.device
            .get_or_init(|| async {
                let mut conn = pool.get().await.ok()?;
                cartouche_schema::db::fleet::Device::find_any(&mut conn, self.event.id).await.ok()
            })
            .await
            .as_ref()
    }
}

/// Queues several events in one statement (ingestion publishes a batch's at its end).
pub async fn publish_many(conn: &mut AsyncPgConnection, events: &[Event]) -> diesel::QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let payloads = events
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    diesel::sql_query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
        .bind::<Text, _>(CHANNEL)
        .bind::<diesel::sql_types::Array<Text>, _>(payloads)
        .execute(conn)
        .await
        .map(drop)
}

/// This process's end of the event stream.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Delivered>>,
    listening: Arc<AtomicBool>,
    /// LISTEN connections made so far: events between two may have been missed.
    connections: Arc<AtomicU64>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus").field("listening", &self.is_listening()).finish_non_exhaustive()
    }
}

impl EventBus {
    /// Starts listening on `database_url` in a background task.
    pub fn start(database_url: String) -> EventBus {
        let (sender, _) = broadcast::channel(4096);
        let bus =
            EventBus { sender, listening: Arc::new(AtomicBool::new(false)), connections: Arc::new(AtomicU64::new(0)) };
        tokio::spawn(bus.clone().listen_forever(database_url));
        bus
    }

    /// True while the LISTEN connection is up (part of readiness).
    pub fn is_listening(&self) -> bool {
        AtomicBool::load(&self.listening, Ordering::Relaxed)
    }

    /// How many times the LISTEN connection was made: a change means events may have been
    /// missed in between.
    pub fn connections(&self) -> u64 {
        AtomicU64::load(&self.connections, Ordering::SeqCst)
    }

    /// The raw receiver, for a subscriber that must know when it missed events.
    pub fn receiver(&self) -> broadcast::Receiver<Arc<Delivered>> {
        self.sender.subscribe()
    }

    /// Events from now on. A subscriber too slow to keep up skips what it missed (and the
    /// log says so) rather than slowing everyone down.
    pub fn subscribe(&self) -> impl Stream<Item = Event> + Send + 'static + use<> {
        self.subscribe_shared().map(|delivered| delivered.event.clone())
    }

    /// Events from now on, shared with the other subscribers of this process (see
    /// [`Delivered`]).
    pub fn subscribe_shared(&self) -> impl Stream<Item = Arc<Delivered>> + Send + 'static + use<> {
        let receiver = self.sender.subscribe();
        futures_util::stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) => return Some((event, receiver)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "subscriber lagged behind; events skipped");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }

    async fn listen_forever(self, database_url: String) {
        let mut backoff = Duration::from_millis(200);
        loop {
            match self.listen_once(&database_url).await {
                Ok(()) => tracing::warn!("event connection closed; reconnecting"),
                Err(err) => tracing::warn!(error = %err, "event connection failed; reconnecting"),
            }
            AtomicBool::store(&self.listening, false, Ordering::Relaxed);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }

    async fn listen_once(&self, database_url: &str) -> anyhow::Result<()> {
        let mut conn = AsyncPgConnection::establish(database_url).await?;
        diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn).await?;
        self.connections.fetch_add(1, Ordering::SeqCst);
        AtomicBool::store(&self.listening, true, Ordering::Relaxed);
        tracing::debug!("listening for events");
        let mut notifications = std::pin::pin!(conn.notifications_stream());
        while let Some(notification) = notifications.next().await {
            let notification = notification?;
            match serde_json::from_str::<Event>(&notification.payload) {
                // No receivers is fine: nobody is subscribed on this replica right now.
                Ok(event) => drop(self.sender.send(Arc::new(Delivered::new(event)))),
                Err(err) => tracing::warn!(error = %err, payload = notification.payload, "unreadable event skipped"),
            }
        }
        Ok(())
    }
}
