//! Counters as the API shows them: the latest value of each, and series by period.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bigint, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// The latest value of one counter of a device.
#[derive(QueryableByName, Clone, Debug)]
pub struct LatestCounter {
    #[diesel(sql_type = SqlUuid)]
    pub device_id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Timestamptz)]
    pub read_at: DateTime<Utc>,
    #[diesel(sql_type = Bigint)]
    pub value: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub flag: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    pub agent_id: Uuid,
    #[diesel(sql_type = Bigint)]
    pub sequence: i64,
}

/// The latest value of every counter of each device (one query for a page of devices).
pub async fn latest_counters(conn: &mut AsyncPgConnection, device_ids: &[Uuid]) -> QueryResult<Vec<LatestCounter>> {
    diesel::sql_query(
        "SELECT device_id, kind, read_at, value, flag, agent_id, sequence \
         FROM latest_counters WHERE device_id = ANY($1) ORDER BY device_id, kind",
    )
    .bind::<Array<SqlUuid>, _>(device_ids)
    .load(conn)
    .await
}

/// One point of a counter series: the last reading of each period (counters only grow, so the
/// last is what was printed by then), flagged when that reading was.
#[derive(QueryableByName, Clone, Debug)]
pub struct CounterPoint {
    #[diesel(sql_type = Timestamptz)]
    pub period: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub read_at: DateTime<Utc>,
    #[diesel(sql_type = Bigint)]
    pub value: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub flag: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    pub agent_id: Uuid,
    #[diesel(sql_type = Bigint)]
    pub sequence: i64,
}

/// Periods of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// Every reading.
    Reading,
    Hour,
    Day,
    Month,
}

/// Which series: one counter of one device from `from` to `to` (excluded), periods in
/// `time_zone` (the site's), at most `limit` points.
#[derive(Clone, Debug)]
pub struct Series<'a> {
    pub device_id: Uuid,
    pub kind: &'a str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub granularity: Granularity,
    pub time_zone: &'a str,
    pub limit: i64,
}

pub async fn counter_series(conn: &mut AsyncPgConnection, series: &Series<'_>) -> QueryResult<Vec<CounterPoint>> {
    let Series { device_id, kind, from, to, granularity, time_zone, limit } = series.clone();
    let unit = match granularity {
        Granularity::Reading => {
            return diesel::sql_query(
                "SELECT read_at AS period, read_at, value, flag, agent_id, sequence FROM counter_readings \
                 WHERE device_id = $1 AND kind = $2 AND read_at >= $3 AND read_at < $4 ORDER BY read_at LIMIT $5",
            )
            .bind::<SqlUuid, _>(device_id)
            .bind::<Text, _>(kind)
            .bind::<Timestamptz, _>(from)
            .bind::<Timestamptz, _>(to)
            .bind::<Bigint, _>(limit)
            .load(conn)
            .await;
        }
        Granularity::Hour => "hour",
        Granularity::Day => "day",
        Granularity::Month => "month",
    };
    diesel::sql_query(
        "SELECT * FROM (SELECT DISTINCT ON (period) \
             (date_trunc($6, read_at AT TIME ZONE $7) AT TIME ZONE $7) AS period, read_at, value, flag, agent_id, sequence \
         FROM counter_readings WHERE device_id = $1 AND kind = $2 AND read_at >= $3 AND read_at < $4 \
         ORDER BY period, read_at DESC) p ORDER BY period LIMIT $5",
    )
    .bind::<SqlUuid, _>(device_id)
    .bind::<Text, _>(kind)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .bind::<Bigint, _>(limit)
    .bind::<Text, _>(unit)
    .bind::<Text, _>(time_zone)
    .load(conn)
    .await
}
