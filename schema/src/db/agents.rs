use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::page::{self, PageRequest, after_keyset, lower};
use super::schema::{agents, cycle_reports, enrollment_keys, raw_batches};
use super::scope::Scope;

/// A key an admin hands to whoever installs an agent.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = enrollment_keys)]
pub struct EnrollmentKey {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Option<Uuid>,
    pub name: String,
    #[diesel(deserialize_as = Vec<u8>)]
    pub key_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub uses_left: Option<i32>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = enrollment_keys)]
pub struct NewEnrollmentKey<'a> {
    pub tenant_id: Uuid,
    pub site_id: Option<Uuid>,
    pub name: &'a str,
    pub key_hash: &'a [u8],
    pub expires_at: DateTime<Utc>,
    pub uses_left: Option<i32>,
    pub created_by: Option<Uuid>,
}

/// An enrolled agent.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = agents)]
pub struct Agent {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Option<Uuid>,
    pub enrollment_key: Option<Uuid>,
    pub name: String,
    #[diesel(deserialize_as = Vec<u8>)]
    pub credential_hash: Vec<u8>,
    pub version: Option<String>,
    pub enrolled_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Minutes between polls of local (USB) printers; `None`: with the network counters.
    pub usb_interval_minutes: Option<i32>,
    pub connected_at: Option<DateTime<Utc>>,
    pub disconnected_at: Option<DateTime<Utc>>,
}

/// How long an agent may stay silent (no heartbeat reaching the database) and still be
/// believed connected.
pub const LINK_SILENCE_SECONDS: i64 = 150;

impl Agent {
    /// `connected`, `disconnected`, `never_connected` or `revoked`, at `now`.
    pub fn link_status(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            return "revoked";
        }
        match (self.connected_at, self.disconnected_at) {
            (None, _) => "never_connected",
            (Some(up), down) if down.is_none_or(|d| up > d) => {
                let fresh = self.last_seen_at.is_some_and(|seen| (now - seen).num_seconds() <= LINK_SILENCE_SECONDS);
                if fresh { "connected" } else { "disconnected" }
            }
            _ => "disconnected",
        }
    }

    /// Records the link going up (`true`) or down, and the agent seen now.
    pub async fn record_link(conn: &mut AsyncPgConnection, id: Uuid, up: bool) -> QueryResult<Agent> {
        let now = Utc::now();
        let target = agents::table.find(id);
        if up {
            diesel::update(target)
                .set((agents::connected_at.eq(now), agents::last_seen_at.eq(now)))
                .returning(Agent::as_returning())
                .get_result(conn)
                .await
        } else {
            diesel::update(target)
                .set(agents::disconnected_at.eq(now))
                .returning(Agent::as_returning())
                .get_result(conn)
                .await
        }
    }
}

/// A cycle report as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cycle_reports)]
pub struct CycleReportRow {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub tenant_id: Uuid,
    pub cycle: String,
    pub range_id: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub devices_read: i32,
    pub devices_failed: i32,
    pub devices_asleep: i32,
    pub received_at: DateTime<Utc>,
    pub batches_not_kept: i32,
}

/// Why an enrollment was refused (the same answer goes to the agent for all of them but
/// `Exhausted`, so that keys cannot be probed).
#[derive(Debug, PartialEq, Eq)]
pub enum EnrollError {
    Unknown,
    Expired,
    Revoked,
    Exhausted,
}

impl EnrollmentKey {
    pub async fn create(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        new: NewEnrollmentKey<'_>,
    ) -> QueryResult<EnrollmentKey> {
        scope.require(new.tenant_id)?;
        diesel::insert_into(enrollment_keys::table)
            .values(new)
            .returning(EnrollmentKey::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn page(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        request: &PageRequest,
    ) -> QueryResult<(Vec<EnrollmentKey>, bool)> {
        let query = enrollment_keys::table
            .filter(enrollment_keys::tenant_id.eq_any(scope.tenant_ids()))
            .select(EnrollmentKey::as_select())
            .order_by((lower(enrollment_keys::name), enrollment_keys::id))
            .limit(request.limit())
            .into_boxed();
        let query = after_keyset!(query, enrollment_keys::name, enrollment_keys::id, &request.after);
        Ok(page::finish(query.load(conn).await?, request))
    }

    pub async fn revoke(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<EnrollmentKey> {
        diesel::update(enrollment_keys::table.find(id).filter(enrollment_keys::tenant_id.eq_any(scope.tenant_ids())))
            .set(enrollment_keys::revoked_at.eq(diesel::dsl::now))
            .returning(EnrollmentKey::as_returning())
            .get_result(conn)
            .await
    }
}

impl Agent {
    /// Exchanges a key for a new agent (in one transaction: the key row is locked, so a key
    /// with one use left enrolls one agent, however many try at once).
    pub async fn enroll(
        conn: &mut AsyncPgConnection,
        key_hash: &[u8],
        name: &str,
        version: Option<&str>,
        credential_hash: &[u8],
        now: DateTime<Utc>,
    ) -> QueryResult<Result<Agent, EnrollError>> {
        conn.transaction(async |conn| {
            let key: Option<EnrollmentKey> = enrollment_keys::table
                .filter(enrollment_keys::key_hash.eq(key_hash))
                .select(EnrollmentKey::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?;
            let Some(key) = key else { return Ok(Err(EnrollError::Unknown)) };
            if key.revoked_at.is_some() {
                return Ok(Err(EnrollError::Revoked));
            }
            if key.expires_at <= now {
                return Ok(Err(EnrollError::Expired));
            }
            if key.uses_left == Some(0) {
                return Ok(Err(EnrollError::Exhausted));
            }
            if key.uses_left.is_some() {
                diesel::update(enrollment_keys::table.find(key.id))
                    .set(enrollment_keys::uses_left.eq(enrollment_keys::uses_left - 1))
                    .execute(conn)
                    .await?;
            }
            let agent = diesel::insert_into(agents::table)
                .values((
                    agents::tenant_id.eq(key.tenant_id),
                    agents::site_id.eq(key.site_id),
                    agents::enrollment_key.eq(key.id),
                    agents::name.eq(name),
                    agents::credential_hash.eq(credential_hash),
                    agents::version.eq(version),
                ))
                .returning(Agent::as_returning())
                .get_result(conn)
                .await?;
            Ok::<_, diesel::result::Error>(Ok(agent))
        })
        .await
    }

    /// The agent presenting this credential (unscoped: it establishes who is calling).
    pub async fn find_by_credential(
        conn: &mut AsyncPgConnection,
        credential_hash: &[u8],
    ) -> QueryResult<Option<Agent>> {
        agents::table
            .filter(agents::credential_hash.eq(credential_hash))
            .select(Agent::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub async fn find_for_gateway(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Agent>> {
        agents::table.find(id).select(Agent::as_select()).first(conn).await.optional()
    }

    /// Visible agents by name, one page; `status` (a [`Agent::link_status`] word) narrows
    /// them with the same rule, in SQL.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        status: Option<&str>,
        request: &PageRequest,
    ) -> QueryResult<(Vec<Agent>, bool)> {
        let mut query = agents::table
            .filter(agents::tenant_id.eq_any(scope.tenant_ids()))
            .select(Agent::as_select())
            .order_by((lower(agents::name), agents::id))
            .limit(request.limit())
            .into_boxed();
        let cutoff = Utc::now() - chrono::Duration::seconds(LINK_SILENCE_SECONDS);
        let active = agents::revoked_at.is_null();
        let up = agents::connected_at
            .is_not_null()
            .and(agents::disconnected_at.is_null().or(agents::connected_at.gt(agents::disconnected_at.nullable())))
            .and(agents::last_seen_at.ge(cutoff));
        query = match status {
            None => query,
            Some("revoked") => query.filter(agents::revoked_at.is_not_null()),
            Some("never_connected") => query.filter(active.and(agents::connected_at.is_null())),
            Some("connected") => query.filter(active.and(up)),
            // Linked once, and since: the link went down, or its heartbeats stopped.
            Some("disconnected") => query.filter(
                active.and(agents::connected_at.is_not_null()).and(
                    agents::disconnected_at
                        .ge(agents::connected_at)
                        .or(agents::last_seen_at.is_null())
                        .or(agents::last_seen_at.lt(cutoff)),
                ),
            ),
            Some(_) => return Ok((Vec::new(), false)),
        };
        let query = after_keyset!(query, agents::name, agents::id, &request.after);
        Ok(page::finish(query.load(conn).await?, request))
    }

    pub async fn find(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<Agent> {
        agents::table
            .find(id)
            .filter(agents::tenant_id.eq_any(scope.tenant_ids()))
            .select(Agent::as_select())
            .first(conn)
            .await
    }

    pub async fn revoke(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<Agent> {
        let agent = Self::find(conn, scope, id).await?;
        if agent.revoked_at.is_some() {
            return Ok(agent);
        }
        diesel::update(agents::table.find(id))
            .set(agents::revoked_at.eq(diesel::dsl::now))
            .returning(Agent::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn seen(conn: &mut AsyncPgConnection, id: Uuid, version: &str) -> QueryResult<()> {
        diesel::update(agents::table.find(id))
            .set((agents::last_seen_at.eq(diesel::dsl::now), agents::version.eq(version)))
            .execute(conn)
            .await
            .map(drop)
    }

    /// Stores a batch of raw readings; a batch already stored (a resend) is left as it is.
    /// Returns true when the batch is new.
    pub async fn store_batch(
        conn: &mut AsyncPgConnection,
        agent: &Agent,
        sequence: i64,
        readings: &[crate::wire::RawReading],
    ) -> QueryResult<bool> {
        use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
        // Written as JSON text straight from the readings (PostgreSQL parses it into jsonb
        // once; no intermediate JSON tree here).
        let text =
            serde_json::to_string(readings).map_err(|err| diesel::result::Error::SerializationError(Box::new(err)))?;
        let inserted = diesel::sql_query(
            "INSERT INTO raw_batches (agent_id, sequence, tenant_id, readings) VALUES ($1, $2, $3, $4::jsonb) \
             ON CONFLICT (agent_id, sequence) DO NOTHING",
        )
        .bind::<SqlUuid, _>(agent.id)
        .bind::<BigInt, _>(sequence)
        .bind::<SqlUuid, _>(agent.tenant_id)
        .bind::<Text, _>(text)
        .execute(conn)
        .await?;
        Ok(inserted == 1)
    }

    /// Keeps a cycle report as the agent sent it (counts clamped to the columns' ranges).
    pub async fn store_report(
        conn: &mut AsyncPgConnection,
        agent: &Agent,
        report: &crate::wire::CycleReport,
    ) -> QueryResult<()> {
        let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        diesel::insert_into(cycle_reports::table)
            .values((
                cycle_reports::agent_id.eq(agent.id),
                cycle_reports::tenant_id.eq(agent.tenant_id),
                cycle_reports::cycle.eq(report.cycle.name()),
                cycle_reports::range_id.eq(report.range_id.as_deref()),
                cycle_reports::started_at.eq(report.started_at),
                cycle_reports::duration_ms.eq(i64::try_from(report.duration_ms).unwrap_or(i64::MAX)),
                cycle_reports::devices_read.eq(count(report.devices_read)),
                cycle_reports::devices_failed.eq(count(report.devices_failed)),
                cycle_reports::devices_asleep.eq(count(report.devices_asleep)),
                cycle_reports::batches_not_kept.eq(count(report.batches_not_kept)),
            ))
            .execute(conn)
            .await
            .map(drop)
    }

    /// The agent's latest cycle reports, newest first.
    pub async fn recent_reports(
        conn: &mut AsyncPgConnection,
        agent_id: Uuid,
        limit: i64,
    ) -> QueryResult<Vec<CycleReportRow>> {
        cycle_reports::table
            .filter(cycle_reports::agent_id.eq(agent_id))
            .order_by((cycle_reports::started_at.desc(), cycle_reports::id))
            .limit(limit)
            .select(CycleReportRow::as_select())
            .load(conn)
            .await
    }

    /// Sequences stored for an agent (tests and audits).
    pub async fn stored_sequences(conn: &mut AsyncPgConnection, agent_id: Uuid) -> QueryResult<Vec<i64>> {
        raw_batches::table
            .filter(raw_batches::agent_id.eq(agent_id))
            .select(raw_batches::sequence)
            .order_by(raw_batches::sequence)
            .load(conn)
            .await
    }
}
