//! Retention of what grows without end. Raw readings are kept so that a fixed profile can
//! re-interpret them; past their retention, interpreted batches are deleted (a batch still
//! waiting for interpretation is never deleted). Counter readings, the time series, live in
//! month partitions: past their retention a month is dropped whole (no row-by-row delete, no
//! bloat), and old rows that landed in the default partition are deleted. Page counts, bills,
//! alerts and work orders are kept.

use chrono::{DateTime, Datelike, Months, TimeZone, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Bigint, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The least counter retention: page accounting reads the reading before each window it
/// counts, so the month before the current one must stay.
pub const MIN_COUNTER_MONTHS: u32 = 3;

/// How long things are kept; `None` keeps them for ever.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Days raw readings are kept after they arrive.
    pub raw_days: Option<u32>,
    /// Whole months of counter readings kept before the current month.
    pub counter_months: Option<u32>,
}

/// What one pass removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub raw_batches: usize,
    pub counter_partitions: Vec<String>,
    pub default_partition_rows: usize,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Bigint)]
    n: i64,
}

/// Applies `retention` as of `now` (a counter retention below `MIN_COUNTER_MONTHS` is taken
/// as that least; the configuration refuses it first).
pub async fn apply(
    conn: &mut AsyncPgConnection,
    retention: Retention,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Removed> {
    let mut removed = Removed::default();
    if let Some(days) = retention.raw_days {
        removed.raw_batches = purge_raw_batches(conn, now - chrono::Duration::days(i64::from(days))).await?;
    }
    if let Some(months) = retention.counter_months {
        let (dropped, rows) = drop_counter_months(conn, counter_cutoff(now, months.max(MIN_COUNTER_MONTHS))).await?;
        removed.counter_partitions = dropped;
        removed.default_partition_rows = rows;
    }
    Ok(removed)
}

/// The first instant kept: the start of the month `months` before the current one.
pub fn counter_cutoff(now: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    let month_start = Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).single().unwrap_or(now);
    month_start.checked_sub_months(Months::new(months)).unwrap_or(month_start)
}

/// Deletes interpreted raw batches received before `before`, 5,000 at a time (short locks,
/// bounded WAL per transaction); returns how many.
pub async fn purge_raw_batches(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> diesel::QueryResult<usize> {
    let mut total = 0;
    loop {
        let deleted = diesel::sql_query(
            "DELETE FROM raw_batches WHERE (agent_id, sequence) IN \
               (SELECT agent_id, sequence FROM raw_batches \
                 WHERE received_at < $1 AND interpreted_at IS NOT NULL LIMIT 5000)",
        )
        .bind::<Timestamptz, _>(before)
        .execute(conn)
        .await?;
        total += deleted;
        if deleted < 5000 {
            return Ok(total);
        }
    }
}

/// The month partitions of `counter_readings` (`counter_readings_YYYY_MM`) that end at or
/// before `cutoff`, dropped; and rows before `cutoff` in the default partition, deleted.
pub async fn drop_counter_months(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
) -> diesel::QueryResult<(Vec<String>, usize)> {
    let partitions: Vec<Name> = diesel::sql_query(
        "SELECT c.relname AS name FROM pg_inherits i \
           JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent \
          WHERE p.relname = 'counter_readings' ORDER BY c.relname",
    )
    .load(conn)
    .await?;
    let mut dropped = Vec::new();
    for Name { name } in partitions {
        let Some(end) = month_partition_end(&name) else { continue };
        if end <= cutoff {
            // The name was read from the catalogue and matched the pattern: safe to quote.
            diesel::sql_query(format!("DROP TABLE \"{name}\"")).execute(conn).await?;
            dropped.push(name);
        }
    }
    let rows = diesel::sql_query("WITH gone AS (DELETE FROM counter_readings_default WHERE read_at < $1 RETURNING 1) SELECT count(*) AS n FROM gone")
        .bind::<Timestamptz, _>(cutoff)
        .get_result::<Count>(conn)
        .await?
        .n;
    Ok((dropped, usize::try_from(rows).unwrap_or(0)))
}

/// The end of the month a `counter_readings_YYYY_MM` partition holds; `None` for other names.
fn month_partition_end(name: &str) -> Option<DateTime<Utc>> {
    let rest = name.strip_prefix("counter_readings_")?;
    let (year, month) = rest.split_once('_')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    let (year, month): (i32, u32) = (year.parse().ok()?, month.parse().ok()?);
    let start = Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single()?;
    start.checked_add_months(Months::new(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_give_their_month_end_and_others_none() {
        assert_eq!(month_partition_end("counter_readings_2026_12"), Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single());
        assert_eq!(month_partition_end("counter_readings_2026_02"), Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single());
        for other in ["counter_readings_default", "counter_readings_2026_13", "counter_readings_26_01", "devices"] {
            assert_eq!(month_partition_end(other), None, "{other}");
        }
    }

    #[test]
    fn the_cutoff_keeps_whole_months_before_the_current_one() {
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 21, 0, 0).unwrap();
        assert_eq!(counter_cutoff(now, 3), Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap());
        assert_eq!(counter_cutoff(now, 24), Utc.with_ymd_and_hms(2024, 11, 1, 0, 0, 0).unwrap());
    }
}
