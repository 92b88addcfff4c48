//! Ingestion: each stored batch of raw readings is interpreted with the profiles and applied
//! to the fleet tables in one transaction (each reading in a savepoint of its own, so one bad
//! reading never loses the others). A reading that cannot be interpreted stays raw, with its
//! error recorded on the batch. Batches are taken with `SKIP LOCKED`: several api replicas
//! ingest side by side, each batch once; a catch-up pass picks up what a crash left.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use cartouche_schema::db::Pool;
use cartouche_schema::db::agents::Agent;
use cartouche_schema::db::fleet::{self, Applied, Interpreted};
use cartouche_schema::ipp::{self, Message, PrinterStatus};
use cartouche_schema::profiles::{
    DeviceSnapshot, ProfileSet, ReadPlan, Walk, interpret, interpret_known, read_plan_for,
};
use cartouche_schema::wire::{Cycle, RawReading};
use diesel_async::AsyncConnection;
use serde_json::json;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::events::{ChangeKind, Entity, Event};

/// What one batch gave.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub applied: Vec<Applied>,
    /// (reading index, reason) of the readings kept raw.
    pub errors: Vec<(usize, String)>,
}

#[derive(Clone)]
pub struct Ingestor {
    pool: Pool,
    profiles: Arc<ProfileSet>,
    /// Batches interpreted at once by this process (each holds a connection).
    running: Arc<Semaphore>,
}

impl std::fmt::Debug for Ingestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor").finish_non_exhaustive()
    }
}

/// What the profiles make of a reading: the snapshot, the read plan of a full reading, and
/// whether it is a network or a local printer.
pub(crate) fn interpret_reading(
    reading: &RawReading,
    profiles: &ProfileSet,
    known_profile: Option<&[String]>,
) -> Result<(DeviceSnapshot, Option<ReadPlan>, &'static str), String> {
    if let Some(encoded) = &reading.ipp {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("the IPP attributes are not base64: {e}"))?;
        let message = Message::decode(&bytes).map_err(|e| format!("the IPP attributes do not decode: {e}"))?;
        let printer = message
            .groups(ipp::group::PRINTER)
            .next()
            .ok_or_else(|| "the IPP message has no printer attributes".to_owned())?;
        let snapshot = cartouche_schema::fleet::snapshot_of_ipp(&PrinterStatus::from_attributes(printer));
        return Ok((snapshot, None, "local"));
    }
    let mut walk = Walk::from_snmprec(&reading.snmprec).map_err(|e| format!("the varbinds do not parse: {e}"))?;
    for (path, body) in &reading.pages {
        let body = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("page {path} is not base64: {e}"))?;
        walk.insert_page(path, body);
    }
    // A known device with nothing at its plan's OIDs (no counters in its MIBs) was still
    // read: that is a fact, not an error. A discovery reading without varbinds is.
    if walk.is_empty() && reading.device_id.is_none() {
        return Err("the reading has no varbinds".into());
    }
    Ok(match (reading.cycle, known_profile) {
        (Cycle::Discovery, _) | (_, None) => {
            let snapshot = interpret(&walk, profiles);
            let plan = (reading.cycle == Cycle::Discovery).then(|| read_plan_for(&walk, profiles));
            (snapshot, plan, "snmp")
        }
        (_, Some(chain)) => (interpret_known(&walk, profiles, chain), None, "snmp"),
    })
}

impl Ingestor {
    pub fn new(pool: Pool, profiles: Arc<ProfileSet>) -> Ingestor {
        Ingestor { pool, profiles, running: Arc::new(Semaphore::new(4)) }
    }

    /// The profiles readings are interpreted with.
    pub fn profiles(&self) -> Arc<ProfileSet> {
        self.profiles.clone()
    }

    /// Interprets and applies one stored batch; `None` when it was already done (or another
    /// replica is on it). `readings`: the batch as just received, when the caller has it (else
    /// it is read back from the database).
    pub async fn ingest(
        &self,
        agent_id: Uuid,
        sequence: i64,
        readings: Option<Vec<RawReading>>,
    ) -> anyhow::Result<Option<BatchOutcome>> {
        let _permit = self.running.acquire().await?;
        let mut conn = self.pool.get().await?;
        let profiles = self.profiles.clone();
        let outcome = conn
            .transaction(async |conn| {
                if !fleet::lock_batch(conn, agent_id, sequence).await? {
                    return Ok::<_, diesel::result::Error>(None);
                }
                let Some(agent) = Agent::find_for_gateway(conn, agent_id).await? else {
                    return Ok(None);
                };
                let mut outcome = BatchOutcome::default();
                // Published together when the batch is done (one statement), delivered at commit.
                let mut events = Vec::new();
                let readings: Vec<RawReading> = match readings {
                    Some(readings) => readings,
                    None => match serde_json::from_value(fleet::batch_readings(conn, agent_id, sequence).await?) {
                        Ok(readings) => readings,
                        Err(err) => {
                            outcome.errors.push((0, format!("the batch is not a list of readings: {err}")));
                            Vec::new()
                        }
                    },
                };
                let named: Vec<Uuid> =
                    readings.iter().filter_map(|r| r.device_id.as_deref().and_then(|id| Uuid::parse_str(id).ok())).collect();
                let chains = fleet::profiles_of(conn, agent.tenant_id, &named).await?;
                // Interpreting is the CPU-bound part: off the runtime's workers.
                let (readings, interpreted) = tokio::task::spawn_blocking(move || {
                    let interpreted: Vec<_> = readings
                        .iter()
                        .map(|reading| {
                            let chain = reading
                                .device_id
                                .as_deref()
                                .and_then(|id| Uuid::parse_str(id).ok())
                                .and_then(|id| chains.get(&id));
                            interpret_reading(reading, &profiles, chain.map(Vec::as_slice))
                        })
                        .collect();
                    (readings, interpreted)
                })
                .await
                .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()));
                let mut indices = Vec::new();
                let mut inputs = Vec::new();
                for (index, (reading, interpreted)) in readings.iter().zip(&interpreted).enumerate() {
                    match interpreted {
                        Ok((snapshot, plan, kind)) => {
                            indices.push(index);
                            inputs.push(Interpreted { agent: &agent, sequence, reading, snapshot, plan: plan.as_ref(), kind });
                        }
                        Err(reason) => outcome.errors.push((index, reason.clone())),
                    }
                }
                // The whole batch at once, in a savepoint; if the database refuses it, one
                // reading at a time, so that one bad reading never loses the others.
                let results = match conn.transaction(async |conn| fleet::apply_group(conn, &agent, &inputs).await).await {
                    Ok(results) => results,
                    Err(err) => {
                        tracing::warn!(agent.id = %agent_id, sequence, error = %err, "batch refused as a whole; applying its readings one by one");
                        let mut results = Vec::with_capacity(inputs.len());
                        for input in &inputs {
                            let one = conn
                                .transaction(async |conn| fleet::apply_group(conn, &agent, std::slice::from_ref(input)).await)
                                .await;
                            results.push(match one {
                                Ok(mut one) => one.remove(0),
                                Err(err) => Err(format!("could not be stored: {err}")),
                            });
                        }
                        results
                    }
                };
                for (index, result) in indices.into_iter().zip(results) {
                    match result {
                        Ok(applied) => {
                            let kind = if applied.created { ChangeKind::Created } else { ChangeKind::Updated };
                            let event = |entity, kind| {
                                Event::new(entity, kind, agent.tenant_id, applied.device_id).at_site(agent.site_id)
                            };
                            events.push(event(Entity::Device, kind));
                            if applied.alerts_changed {
                                events.push(event(Entity::Alert, ChangeKind::Updated));
                            }
                            if applied.supplies_changed {
                                events.push(event(Entity::Supply, ChangeKind::Updated));
                            }
                            outcome.applied.push(applied);
                        }
                        Err(reason) => outcome.errors.push((index, reason)),
                    }
                }
                outcome.errors.sort_by_key(|(index, _)| *index);
                // Discovery readings teach the agent's devices (address, plan, credential): its
                // configuration is built again, once per batch.
                let discovered = readings.iter().any(|r| r.cycle == Cycle::Discovery) && !outcome.applied.is_empty();
                if discovered {
                    events.push(Event::new(Entity::Agent, ChangeKind::Updated, agent.tenant_id, agent.id));
                }
                crate::events::publish_many(conn, &events).await?;
                let errors = (!outcome.errors.is_empty()).then(|| {
                    json!(outcome.errors.iter().map(|(i, e)| json!({ "reading": i, "error": e })).collect::<Vec<_>>())
                });
                fleet::finish_batch(conn, agent_id, sequence, errors).await?;
                Ok(Some(outcome))
            })
            .await?;
        if let Some(outcome) = &outcome {
            for (index, reason) in &outcome.errors {
                tracing::warn!(agent.id = %agent_id, sequence, reading = index, %reason, "reading kept raw");
            }
        }
        Ok(outcome)
    }

    /// Interprets every batch waiting, oldest first; returns how many were done here.
    pub async fn catch_up(&self) -> anyhow::Result<usize> {
        let mut done = 0;
        loop {
            let waiting = {
                let mut conn = self.pool.get().await?;
                fleet::pending(&mut conn, 200).await?
            };
            if waiting.is_empty() {
                return Ok(done);
            }
            let mut progressed = false;
            for (agent_id, sequence) in waiting {
                if self.ingest(agent_id, sequence, None).await?.is_some() {
                    done += 1;
                    progressed = true;
                }
            }
            // Everything left is locked by another replica: it will finish them.
            if !progressed {
                return Ok(done);
            }
        }
    }

    /// Creates the counter partitions of this month and the next two; false when the database
    /// could not be asked (logged).
    pub async fn ensure_partitions(&self) -> bool {
        let mut conn = match self.pool.get().await {
            Ok(conn) => conn,
            Err(err) => {
                tracing::error!(error = %err, "no database to check the counter partitions");
                return false;
            }
        };
        match fleet::ensure_counter_partitions(&mut conn, chrono::Utc::now()).await {
            Ok((created, skipped)) => {
                if !created.is_empty() {
                    tracing::info!(?created, "counter partitions created");
                }
                for problem in skipped {
                    tracing::warn!(%problem, "counter partition not created; its readings stay in the default partition");
                }
                true
            }
            Err(err) => {
                tracing::error!(error = %err, "could not check the counter partitions");
                false
            }
        }
    }

    /// Catches up now and then every `every`; never returns (the server drops it on stop).
    pub async fn catch_up_forever(&self, every: Duration) {
        let mut partitions_checked: Option<chrono::DateTime<chrono::Utc>> = None;
        loop {
            // Monthly counter partitions, made ahead (checked hourly).
            let now = chrono::Utc::now();
            if partitions_checked.is_none_or(|at| now - at > chrono::Duration::hours(1))
                && self.ensure_partitions().await
            {
                partitions_checked = Some(now);
            }
            match self.catch_up().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(batches = n, "ingested waiting batches"),
                Err(err) => tracing::error!(error = %err, "ingestion catch-up failed; retrying later"),
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Ingests a batch just stored, in the background, from the readings as received.
    pub fn spawn(&self, agent_id: Uuid, sequence: i64, readings: Vec<RawReading>) {
        let ingestor = self.clone();
        tokio::spawn(async move {
            if let Err(err) = ingestor.ingest(agent_id, sequence, Some(readings)).await {
                tracing::error!(agent.id = %agent_id, sequence, error = %err, "ingestion failed; the catch-up retries it");
            }
        });
    }
}
