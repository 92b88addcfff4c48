//! Counter readings: stored with the flag that says whether they can be billed as they are,
//! removed and counted for reinterpretation, and their monthly partitions.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bigint, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::Interpreted;
use crate::db::schema::counter_readings;
use crate::fleet;
use crate::profiles::snapshot::CounterKind;

#[derive(QueryableByName)]
struct Previous {
    #[diesel(sql_type = SqlUuid)]
    device_id: Uuid,
    /// The reading it is previous to (late readings only).
    #[diesel(sql_type = Nullable<Timestamptz>)]
    before: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Timestamptz)]
    read_at: DateTime<Utc>,
    #[diesel(sql_type = Bigint)]
    value: i64,
}

/// Per counter kind: when it was last read and its value.
type Values = HashMap<String, (DateTime<Utc>, i64)>;

/// Stores the counters of readings (device, reading), given in the order they were read, each
/// judged against the reading before it: the device's latest counters for a reading newer than
/// all of them (one indexed lookup for the group), the history for a late one. Returns the rows
/// written (a reading already stored adds none). Also used to replay readings when a device is
/// reinterpreted.
pub async fn store_counters(conn: &mut AsyncPgConnection, items: &[(Uuid, &Interpreted<'_>)]) -> QueryResult<usize> {
    if items.is_empty() {
        return Ok(0);
    }
    let mut ids: Vec<Uuid> = items.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let latest: Vec<Previous> = diesel::sql_query(
        "SELECT device_id, NULL::timestamptz AS before, kind, read_at, value FROM latest_counters WHERE device_id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .load(conn)
    .await?;
    let mut newest: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    let mut stored: HashMap<Uuid, Values> = HashMap::new();
    for p in latest {
        let at = newest.entry(p.device_id).or_insert(p.read_at);
        *at = (*at).max(p.read_at);
        stored.entry(p.device_id).or_default().insert(p.kind, (p.read_at, p.value));
    }
    // Late readings (not after every stored counter of their device) look back in the history.
    let late: Vec<(Uuid, DateTime<Utc>)> = items
        .iter()
        .map(|(id, input)| (*id, input.reading.read_at))
        .filter(|(id, at)| newest.get(id).is_some_and(|newest| at <= newest))
        .collect();
    let mut history: HashMap<(Uuid, DateTime<Utc>), Values> = HashMap::new();
    if !late.is_empty() {
        let found: Vec<Previous> = diesel::sql_query(
            "SELECT r.device_id, r.before, p.kind, p.read_at, p.value \
             FROM unnest($1::uuid[], $2::timestamptz[]) AS r(device_id, before) CROSS JOIN LATERAL ( \
               SELECT DISTINCT ON (kind) kind, read_at, value FROM counter_readings \
               WHERE device_id = r.device_id AND read_at < r.before ORDER BY kind, read_at DESC) p",
        )
        .bind::<Array<SqlUuid>, _>(late.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(late.iter().map(|(_, at)| *at).collect::<Vec<_>>())
        .load(conn)
        .await?;
        for p in found {
            let before = p.before.expect("invariant: the lateral query names the reading");
            history.entry((p.device_id, before)).or_default().insert(p.kind, (p.read_at, p.value));
        }
    }
    let empty = Values::new();
    // What the group itself read before, per device.
    let mut group: HashMap<Uuid, Values> = HashMap::new();
    let mut rows = Rows::default();
    for (device_id, input) in items {
        let at = input.reading.read_at;
        let before = if newest.get(device_id).is_some_and(|newest| at <= *newest) {
            history.get(&(*device_id, at)).unwrap_or(&empty)
        } else {
            stored.get(device_id).unwrap_or(&empty)
        };
        let earlier = group.entry(*device_id).or_default();
        let total = input.snapshot.counters.iter().find(|c| c.kind == CounterKind::Total).map(|c| c.value);
        let mut seen = BTreeSet::new();
        for counter in &input.snapshot.counters {
            let key = fleet::counter_key(counter.kind, &counter.label);
            if !seen.insert(key.clone()) {
                continue;
            }
            let previous = [before.get(&key), earlier.get(&key).filter(|(read, _)| *read < at)]
                .into_iter()
                .flatten()
                .max_by_key(|(read, _)| *read)
                .copied();
            let flag = if fleet::color_above_total(counter.kind, counter.value, total) {
                Some(fleet::CounterFlag::ColorAboveTotal)
            } else {
                fleet::counter_flag(previous, at, counter.value)
            };
            if earlier.get(&key).is_none_or(|(read, _)| *read < at) {
                earlier.insert(key.clone(), (at, counter.value));
            }
            rows.device_id.push(*device_id);
            rows.tenant_id.push(input.agent.tenant_id);
            rows.read_at.push(at);
            rows.kind.push(key);
            rows.value.push(counter.value);
            rows.flag.push(flag.map(|f| f.name().to_owned()));
            rows.agent_id.push(input.agent.id);
            rows.sequence.push(input.sequence);
        }
    }
    if rows.device_id.is_empty() {
        return Ok(0);
    }
    // The history, the latest values and the recount due (page accounting) in one statement.
    #[derive(QueryableByName)]
    struct Written {
        #[diesel(sql_type = Bigint)]
        n: i64,
    }
    let written: Written = diesel::sql_query(
        "WITH v AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::int8[], $6::text[], $7::uuid[], $8::int8[]) \
            AS v(device_id, tenant_id, read_at, kind, value, flag, agent_id, sequence)), \
         history AS (INSERT INTO counter_readings (device_id, tenant_id, read_at, kind, value, flag, agent_id, sequence) \
            SELECT * FROM v ON CONFLICT DO NOTHING RETURNING 1), \
         latest AS (INSERT INTO latest_counters (device_id, tenant_id, kind, read_at, value, flag, agent_id, sequence) \
            SELECT DISTINCT ON (device_id, kind) device_id, tenant_id, kind, read_at, value, flag, agent_id, sequence \
            FROM v ORDER BY device_id, kind, read_at DESC \
            ON CONFLICT (device_id, kind) DO UPDATE SET read_at = excluded.read_at, value = excluded.value, \
              flag = excluded.flag, agent_id = excluded.agent_id, sequence = excluded.sequence \
            WHERE latest_counters.read_at < excluded.read_at), \
         queued AS (INSERT INTO accounting_outbox (device_id, since) \
            SELECT device_id, min(read_at) FROM v GROUP BY device_id \
            ON CONFLICT (device_id) DO UPDATE SET since = least(accounting_outbox.since, excluded.since)) \
         SELECT count(*) AS n FROM history",
    )
    .bind::<Array<SqlUuid>, _>(rows.device_id)
    .bind::<Array<SqlUuid>, _>(rows.tenant_id)
    .bind::<Array<Timestamptz>, _>(rows.read_at)
    .bind::<Array<Text>, _>(rows.kind)
    .bind::<Array<Bigint>, _>(rows.value)
    .bind::<Array<Nullable<Text>>, _>(rows.flag)
    .bind::<Array<SqlUuid>, _>(rows.agent_id)
    .bind::<Array<Bigint>, _>(rows.sequence)
    .get_result(conn)
    .await?;
    Ok(usize::try_from(written.n).unwrap_or(0))
}

/// Counter rows as columns, bound as arrays.
#[derive(Default)]
struct Rows {
    device_id: Vec<Uuid>,
    tenant_id: Vec<Uuid>,
    read_at: Vec<DateTime<Utc>>,
    kind: Vec<String>,
    value: Vec<i64>,
    flag: Vec<Option<String>>,
    agent_id: Vec<Uuid>,
    sequence: Vec<i64>,
}

/// Sets a device's latest counters again from its history (after a reinterpretation removed
/// and rewrote part of it).
pub async fn refresh_latest_counters(conn: &mut AsyncPgConnection, device_id: Uuid) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM latest_counters WHERE device_id = $1")
        .bind::<SqlUuid, _>(device_id)
        .execute(conn)
        .await?;
    diesel::sql_query(
        "INSERT INTO latest_counters (device_id, tenant_id, kind, read_at, value, flag, agent_id, sequence) \
         SELECT DISTINCT ON (kind) device_id, tenant_id, kind, read_at, value, flag, agent_id, sequence \
         FROM counter_readings WHERE device_id = $1 ORDER BY kind, read_at DESC",
    )
    .bind::<SqlUuid, _>(device_id)
    .execute(conn)
    .await
    .map(drop)
}

/// Creates the monthly partitions of `counter_readings` for the month of `now` and the two
/// after it (readings outside them, back-dated or far ahead, land in the default partition).
/// Returns the partitions created; one that cannot be (the default partition already holds
/// rows of its month) is reported and skipped.
pub async fn ensure_counter_partitions(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<(Vec<String>, Vec<String>)> {
    use chrono::Datelike;
    let (mut created, mut skipped) = (Vec::new(), Vec::new());
    let mut year = now.year();
    let mut month = now.month();
    for _ in 0..3 {
        let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
        let name = format!("counter_readings_{year:04}_{month:02}");
        let exists: i64 = diesel::sql_query("SELECT count(*) AS n FROM pg_class WHERE relname = $1")
            .bind::<Text, _>(&name)
            .get_result::<Count>(conn)
            .await?
            .n;
        if exists == 0 {
            let sql = format!(
                "CREATE TABLE {name} PARTITION OF counter_readings \
                 FOR VALUES FROM ('{year:04}-{month:02}-01') TO ('{next_year:04}-{next_month:02}-01')"
            );
            match diesel::sql_query(sql).execute(conn).await {
                Ok(_) => created.push(name),
                Err(err) => skipped.push(format!("{name}: {err}")),
            }
        }
        (year, month) = (next_year, next_month);
    }
    Ok((created, skipped))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Bigint)]
    n: i64,
}

/// Removes a device's counter readings in [from, to) before they are replayed; returns how
/// many there were.
pub async fn delete_counters(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        counter_readings::table
            .filter(counter_readings::device_id.eq(device_id))
            .filter(counter_readings::read_at.ge(from))
            .filter(counter_readings::read_at.lt(to)),
    )
    .execute(conn)
    .await
}

/// How many counter readings a device has in [from, to).
pub async fn count_counters(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<usize> {
    let n: i64 = counter_readings::table
        .filter(counter_readings::device_id.eq(device_id))
        .filter(counter_readings::read_at.ge(from))
        .filter(counter_readings::read_at.lt(to))
        .count()
        .get_result(conn)
        .await?;
    Ok(usize::try_from(n).unwrap_or(0))
}
