//! Answers to read-only fleet queries, kept per caller until something in the caller's tenants
//! changes. A console open on the device list (or a dashboard refreshing it) asks the same
//! question again and again; between two changes the answer is the same bytes.
//!
//! Correctness comes from the event bus, which every change of the fleet goes through, from
//! any replica (PostgreSQL LISTEN/NOTIFY): an event of a tenant makes every kept answer that
//! could see that tenant stale. When events may have been missed (the LISTEN connection
//! dropped, or this process fell behind), everything kept is dropped; while the bus is not
//! listening nothing is kept or served. Answers are kept at most `MAX_AGE` as well (values
//! that move without an event, such as an agent's last heartbeat, are never older than
//! that). Only queries whose root fields are all fleet reads are kept (`devices`, `device`,
//! `supplies`, `alerts`), only answers without errors, and only for the same caller (user or
//! API token) with the same role: another caller never gets them. A request with
//! `Cache-Control: no-cache` is answered afresh.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
use axum::body::Bytes;
use cartouche_schema::domain::Role;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::auth::{Actor, Principal};
use crate::events::EventBus;

/// The longest an answer is kept, changes or not.
const MAX_AGE: Duration = Duration::from_secs(5);
/// Root fields whose answers depend only on fleet data the event bus reports changes of.
const CACHEABLE_ROOTS: [&str; 4] = ["devices", "device", "supplies", "alerts"];

/// Who asked what.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    caller: Uuid,
    role: Role,
    query: String,
    variables: String,
    operation: Option<String>,
}

struct Entry {
    body: Bytes,
    kept_at: Instant,
    /// The bus's state when the answer was computed: its connection and how far each tenant
    /// the caller can see had changed.
    epoch: (u64, u64),
    seen: Vec<(Uuid, u64)>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<Key, Entry>,
    /// Oldest first, for eviction when full.
    order: VecDeque<Key>,
    bytes: usize,
}

/// What a query was asked against: taken before it runs, so a change during the run makes
/// the answer stale at once.
pub struct Snapshot {
    epoch: (u64, u64),
    seen: Vec<(Uuid, u64)>,
}

pub struct ResponseCache {
    entries: Mutex<Entries>,
    /// Whether a document (and operation) may be kept, as parsed once.
    documents: Mutex<HashMap<(String, Option<String>), bool>>,
    /// Per tenant, how many changes were reported.
    changes: Mutex<HashMap<Uuid, u64>>,
    /// Bumped whenever events may have been missed: everything before is stale.
    epoch: AtomicU64,
    bus: EventBus,
    max_entries: usize,
    max_bytes: usize,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache").field("max_entries", &self.max_entries).finish_non_exhaustive()
    }
}

/// The operation a document runs (the one named, or the only one), if it parses.
fn operation_of<'a>(
    document: &'a async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a async_graphql::parser::types::OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        // A named operation alone in its document runs without being named.
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Whether a document's operation is a query whose root fields are all fleet reads.
fn cacheable(query: &str, operation: Option<&str>) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(query) else { return false };
    let Some(operation) = operation_of(&document, operation) else { return false };
    operation.ty == OperationType::Query
        && operation.selection_set.node.items.iter().all(|item| match &item.node {
            Selection::Field(field) => CACHEABLE_ROOTS.contains(&field.node.name.node.as_str()),
            // A fragment at the root could select anything: not kept.
            Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
        })
}

/// Whether a document's operation is a mutation (one that does not parse changes nothing).
pub fn is_mutation(query: &str, operation: Option<&str>) -> bool {
    async_graphql::parser::parse_query(query)
        .ok()
        .and_then(|document| operation_of(&document, operation).map(|op| op.ty == OperationType::Mutation))
        .unwrap_or(false)
}

impl ResponseCache {
    /// A cache that follows `bus`; `max_entries` 0 keeps nothing.
    pub fn new(bus: EventBus, max_entries: usize, max_bytes: usize) -> Arc<ResponseCache> {
        let cache = Arc::new(ResponseCache {
            entries: Mutex::new(Entries::default()),
            documents: Mutex::new(HashMap::new()),
            changes: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            bus,
            max_entries,
            max_bytes,
        });
        if max_entries > 0 {
            tokio::spawn(Arc::clone(&cache).follow());
        }
        cache
    }

    /// Marks tenants changed as events arrive; drops everything when some may be lost.
    async fn follow(self: Arc<ResponseCache>) {
        let mut receiver = self.bus.receiver();
        loop {
            match receiver.recv().await {
                Ok(delivered) => self.changed(&[delivered.event.tenant_id]),
                Err(RecvError::Lagged(_)) => self.forget_all(),
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Tenants whose data changed (a mutation here marks them at once, before its event
    /// comes back through the bus).
    pub fn changed(&self, tenants: &[Uuid]) {
        let mut changes = self.changes.lock().expect("invariant: never poisoned");
        for tenant in tenants {
            *changes.entry(*tenant).or_default() += 1;
        }
    }

    fn forget_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Which stretch of uninterrupted events this is: (everything dropped so many times, the
    /// bus's connection).
    fn epoch(&self) -> (u64, u64) {
        (self.epoch.load(Ordering::SeqCst), self.bus.connections())
    }

    /// The key of a request, when its answer may be kept.
    pub fn key(&self, actor: &Actor, request: &async_graphql::Request) -> Option<Key> {
        if self.max_entries == 0 || !self.bus.is_listening() {
            return None;
        }
        // Clients send the same few documents again and again: each is parsed once.
        let document = (request.query.clone(), request.operation_name.clone());
        let known = self.documents.lock().expect("invariant: never poisoned").get(&document).copied();
        let keep = known.unwrap_or_else(|| {
            let keep = cacheable(&request.query, request.operation_name.as_deref());
            let mut documents = self.documents.lock().expect("invariant: never poisoned");
            if documents.len() >= 1024 {
                documents.clear();
            }
            documents.insert(document, keep);
            keep
        });
        if !keep {
            return None;
        }
        let caller = match actor.principal {
            Principal::User { user_id, .. } => user_id,
            Principal::ApiToken { token_id } => token_id,
        };
        Some(Key {
            caller,
            role: actor.role,
            query: request.query.clone(),
            variables: serde_json::to_string(&request.variables).ok()?,
            operation: request.operation_name.clone(),
        })
    }

    /// The state to keep an answer against, taken before running the query.
    pub fn snapshot(&self, actor: &Actor) -> Snapshot {
        let tenants = actor.scope.tenant_ids();
        let changes = self.changes.lock().expect("invariant: never poisoned");
        Snapshot {
            epoch: self.epoch(),
            seen: tenants.iter().map(|t| (*t, changes.get(t).copied().unwrap_or(0))).collect(),
        }
    }

    /// A kept answer still valid for `key`.
    pub fn get(&self, key: &Key, actor: &Actor) -> Option<Bytes> {
        let now = self.snapshot(actor);
        let entries = self.entries.lock().expect("invariant: never poisoned");
        let entry = entries.map.get(key)?;
        (entry.kept_at.elapsed() < MAX_AGE && entry.epoch == now.epoch && entry.seen == now.seen)
            .then(|| entry.body.clone())
    }

    /// Keeps an answer computed against `snapshot`.
    pub fn put(&self, key: Key, snapshot: Snapshot, body: Bytes) {
        if body.len() > self.max_bytes / 4 {
            return;
        }
        let mut entries = self.entries.lock().expect("invariant: never poisoned");
        let entry = Entry { body, kept_at: Instant::now(), epoch: snapshot.epoch, seen: snapshot.seen };
        entries.bytes += entry.body.len();
        if let Some(old) = entries.map.insert(key.clone(), entry) {
            entries.bytes -= old.body.len();
        } else {
            entries.order.push_back(key);
        }
        while entries.map.len() > self.max_entries || entries.bytes > self.max_bytes {
            let Some(oldest) = entries.order.pop_front() else { break };
            if let Some(old) = entries.map.remove(&oldest) {
                entries.bytes -= old.body.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cacheable;

    #[test]
    fn only_fleet_reads_are_kept() {
        assert!(cacheable("{ devices(first: 5) { edges { node { id } } } }", None));
        assert!(cacheable(
            "query Page($a: String) { devices(after: $a) { edges { cursor } } alerts { edges { cursor } } }",
            None
        ));
        assert!(!cacheable("{ devices { edges { cursor } } sites { edges { cursor } } }", None), "sites are not");
        assert!(!cacheable("mutation { revokeAgent(id: \"x\") { id } }", None));
        assert!(!cacheable("subscription { deviceUpdated { id } }", None));
        assert!(!cacheable("{ ...F } fragment F on Query { devices { edges { cursor } } }", None));
        assert!(!cacheable("{ devices { edges { cursor } }", None), "a document that does not parse");
        let two = "query A { devices { edges { cursor } } } query B { me { id } }";
        assert!(cacheable(two, Some("A")));
        assert!(!cacheable(two, Some("B")));
        assert!(!cacheable(two, None));
        assert!(!cacheable(two, Some("C")));
        assert!(super::is_mutation("# a comment first\nmutation { revokeAgent(id: \"x\") { id } }", None));
        assert!(!super::is_mutation("{ devices { edges { cursor } } }", None));
    }
}
