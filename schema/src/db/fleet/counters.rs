//! Counter readings: stored with the flag that says whether they can be billed as they are,
//! removed and counted for reinterpretation, and their monthly partitions.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bigint, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::Interpreted;
use crate::db::schema::counter_readings;
use crate::fleet;
use crate::profiles::snapshot::CounterKind;

#[derive(QueryableByName)]
struct Previous {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Timestamptz)]
    read_at: DateTime<Utc>,
    #[diesel(sql_type = Bigint)]
    value: i64,
}

/// Stores a reading's counters for the device, each judged against the reading before it
/// (also used to replay readings when a device is reinterpreted).
pub async fn store_counters(conn: &mut AsyncPgConnection, input: &Interpreted<'_>, device_id: Uuid) -> QueryResult<()> {
    let at = input.reading.read_at;
    let previous: Vec<Previous> = diesel::sql_query(
        "SELECT DISTINCT ON (kind) kind, read_at, value FROM counter_readings \
         WHERE device_id = $1 AND read_at < $2 ORDER BY kind, read_at DESC",
    )
    .bind::<SqlUuid, _>(device_id)
    .bind::<Timestamptz, _>(at)
    .load(conn)
    .await?;
    let previous: BTreeMap<String, (DateTime<Utc>, i64)> =
        previous.into_iter().map(|p| (p.kind, (p.read_at, p.value))).collect();
    let total = input.snapshot.counters.iter().find(|c| c.kind == CounterKind::Total).map(|c| c.value);
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for counter in &input.snapshot.counters {
        let key = fleet::counter_key(counter.kind, &counter.label);
        if !seen.insert(key.clone()) {
            continue;
        }
        let flag = if fleet::color_above_total(counter.kind, counter.value, total) {
            Some(fleet::CounterFlag::ColorAboveTotal)
        } else {
            fleet::counter_flag(previous.get(&key).copied(), at, counter.value)
        };
        rows.push((
            counter_readings::device_id.eq(device_id),
            counter_readings::tenant_id.eq(input.agent.tenant_id),
            counter_readings::read_at.eq(at),
            counter_readings::kind.eq(key),
            counter_readings::value.eq(counter.value),
            counter_readings::flag.eq(flag.map(fleet::CounterFlag::name)),
            counter_readings::agent_id.eq(input.agent.id),
            counter_readings::sequence.eq(input.sequence),
        ));
    }
    if rows.is_empty() {
        return Ok(());
    }
    diesel::insert_into(counter_readings::table).values(rows).on_conflict_do_nothing().execute(conn).await.map(drop)
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
