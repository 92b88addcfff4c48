//! Page accounting in the database: the outbox of meters to count again, the recount of a
//! device's days (`crate::accounting` on its readings), and what billing reads back (pages
//! per day, meter reads per billing period).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bigint, Date, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::accounting::{self, MeterRead, Unit};
use crate::db::schema::{accounting_outbox, page_counts};
use crate::db::scope::Scope;

/// Makes a device's pages due for a recount from `since` (readings rewritten by a
/// reinterpretation; ingestion queues its own in the statement that stores the readings).
pub async fn queue(conn: &mut AsyncPgConnection, device_id: Uuid, since: DateTime<Utc>) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO accounting_outbox (device_id, since) VALUES ($1, $2) \
         ON CONFLICT (device_id) DO UPDATE SET since = least(accounting_outbox.since, excluded.since)",
    )
    .bind::<SqlUuid, _>(device_id)
    .bind::<Timestamptz, _>(since)
    .execute(conn)
    .await?;
    Ok(())
}

/// Meters waiting for a recount.
pub async fn due(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    accounting_outbox::table.count().get_result(conn).await
}

/// Recounts up to `limit` due devices in one transaction (their outbox rows locked, skipped
/// by other workers, deleted with the new counts): a failure leaves them due. Returns how
/// many were counted; 0 when nothing is due.
pub async fn drain(conn: &mut AsyncPgConnection, limit: i64, now: DateTime<Utc>) -> QueryResult<usize> {
    conn.transaction(async |conn| {
        let due: Vec<(Uuid, DateTime<Utc>)> = accounting_outbox::table
            .select((accounting_outbox::device_id, accounting_outbox::since))
            .order_by(accounting_outbox::queued_at)
            .limit(limit)
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        for (device, since) in &due {
            recount(conn, *device, *since, now).await?;
        }
        let ids: Vec<Uuid> = due.iter().map(|(id, _)| *id).collect();
        diesel::delete(accounting_outbox::table.filter(accounting_outbox::device_id.eq_any(&ids)))
            .execute(conn)
            .await?;
        Ok(due.len())
    })
    .await
}

#[derive(QueryableByName)]
struct Reading {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Timestamptz)]
    read_at: DateTime<Utc>,
    #[diesel(sql_type = Bigint)]
    value: i64,
    #[diesel(sql_type = Nullable<Text>)]
    flag: Option<String>,
}

#[derive(QueryableByName)]
struct Owner {
    #[diesel(sql_type = SqlUuid)]
    tenant_id: Uuid,
    #[diesel(sql_type = Text)]
    time_zone: String,
}

/// A device's days from the one holding `since` (in its site's time zone) to today, counted
/// again from its readings (and the last one before, the base of the first step).
pub async fn recount(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let owner: Option<Owner> = diesel::sql_query(
        "SELECT d.tenant_id, coalesce(s.time_zone, 'UTC') AS time_zone \
         FROM devices d LEFT JOIN sites s ON s.id = d.site_id WHERE d.id = $1",
    )
    .bind::<SqlUuid, _>(device_id)
    .get_result(conn)
    .await
    .optional()?;
    // Gone since it was queued: its counts went with it.
    let Some(owner) = owner else { return Ok(()) };
    let tz: Tz = owner.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let start = accounting::period_start(since, tz, Unit::Day);
    let first_day = start.with_timezone(&tz).date_naive();
    let readings: Vec<Reading> = diesel::sql_query(
        "(SELECT DISTINCT ON (kind) kind, read_at, value, flag FROM counter_readings \
            WHERE device_id = $1 AND read_at < $2 ORDER BY kind, read_at DESC) \
         UNION ALL \
         (SELECT kind, read_at, value, flag FROM counter_readings WHERE device_id = $1 AND read_at >= $2) \
         ORDER BY kind, read_at",
    )
    .bind::<SqlUuid, _>(device_id)
    .bind::<Timestamptz, _>(start)
    .load(conn)
    .await?;
    let end = accounting::next_start(accounting::period_start(now, tz, Unit::Day), tz, Unit::Day);
    let mut rows = Rows::default();
    for kind in readings.chunk_by(|a, b| a.kind == b.kind) {
        let reads: Vec<MeterRead> =
            kind.iter().map(|r| MeterRead { at: r.read_at, value: r.value, flag: r.flag.clone() }).collect();
        for period in accounting::periods(&reads, tz, Unit::Day, start, end) {
            if period.pages == 0 && period.held == 0 && period.reasons.is_empty() {
                continue;
            }
            rows.kind.push(kind[0].kind.clone());
            rows.day.push(period.start.with_timezone(&tz).date_naive());
            rows.pages.push(period.pages);
            rows.held.push(period.held);
            rows.reasons.push(period.reasons.join(","));
            rows.evidence.push((!period.evidence.is_empty()).then(|| {
                serde_json::json!(period.evidence.iter().map(|(at, v)| (at.to_rfc3339(), v)).collect::<Vec<_>>())
            }));
        }
    }
    diesel::delete(
        page_counts::table.filter(page_counts::device_id.eq(device_id)).filter(page_counts::day.ge(first_day)),
    )
    .execute(conn)
    .await?;
    if rows.kind.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO page_counts (device_id, tenant_id, kind, day, pages, held, reasons, evidence) \
         SELECT $1, $2, kind, day, pages, held, CASE WHEN reasons = '' THEN '{}' ELSE string_to_array(reasons, ',') END, evidence \
         FROM unnest($3::text[], $4::date[], $5::int8[], $6::int8[], $7::text[], $8::jsonb[]) \
           AS r(kind, day, pages, held, reasons, evidence)",
    )
    .bind::<SqlUuid, _>(device_id)
    .bind::<SqlUuid, _>(owner.tenant_id)
    .bind::<Array<Text>, _>(rows.kind)
    .bind::<Array<Date>, _>(rows.day)
    .bind::<Array<Bigint>, _>(rows.pages)
    .bind::<Array<Bigint>, _>(rows.held)
    .bind::<Array<Text>, _>(rows.reasons)
    .bind::<Array<Nullable<Jsonb>>, _>(rows.evidence)
    .execute(conn)
    .await?;
    Ok(())
}

/// A meter's readings that tell its pages between `from` and `to`: the last one before
/// `from` (the base of the first step), those between, and the first one at or after `to` (the
/// end of the last step), in time order.
pub async fn meter_reads_spanning(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    kind: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<Vec<MeterRead>> {
    let readings: Vec<Reading> = diesel::sql_query(
        "(SELECT kind, read_at, value, flag FROM counter_readings             WHERE device_id = $1 AND kind = $2 AND read_at < $3 ORDER BY read_at DESC LIMIT 1)          UNION ALL          (SELECT kind, read_at, value, flag FROM counter_readings             WHERE device_id = $1 AND kind = $2 AND read_at >= $3 AND read_at < $4)          UNION ALL          (SELECT kind, read_at, value, flag FROM counter_readings             WHERE device_id = $1 AND kind = $2 AND read_at >= $4 ORDER BY read_at LIMIT 1)          ORDER BY read_at",
    )
    .bind::<SqlUuid, _>(device_id)
    .bind::<Text, _>(kind)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load(conn)
    .await?;
    Ok(readings.into_iter().map(|r| MeterRead { at: r.read_at, value: r.value, flag: r.flag }).collect())
}

/// Day rows as columns, bound as arrays.
#[derive(Default)]
struct Rows {
    kind: Vec<String>,
    day: Vec<NaiveDate>,
    pages: Vec<i64>,
    held: Vec<i64>,
    reasons: Vec<String>,
    evidence: Vec<Option<serde_json::Value>>,
}

/// One meter's pages on one day.
#[derive(Queryable, Clone, Debug, PartialEq)]
pub struct PageCount {
    pub kind: String,
    pub day: NaiveDate,
    pub pages: i64,
    pub held: i64,
    pub reasons: Vec<Option<String>>,
    pub evidence: Option<serde_json::Value>,
}

/// A device's page counts from `from` to `to` (excluded), local days, by kind then day.
pub async fn page_counts_of(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    kind: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<PageCount>> {
    let mut query = page_counts::table
        .filter(page_counts::device_id.eq(device_id))
        .filter(page_counts::day.ge(from))
        .filter(page_counts::day.lt(to))
        .select((
            page_counts::kind,
            page_counts::day,
            page_counts::pages,
            page_counts::held,
            page_counts::reasons,
            page_counts::evidence,
        ))
        .order_by((page_counts::kind, page_counts::day))
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(page_counts::kind.eq(kind.to_owned()));
    }
    query.load(conn).await
}

/// One meter of one device over a billing period: its readings at both ends and the pages
/// between, billable and held.
#[derive(QueryableByName, Clone, Debug, PartialEq)]
pub struct MeterReadRow {
    #[diesel(sql_type = SqlUuid)]
    pub device_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    pub serial: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub vendor: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub model: Option<String>,
    #[diesel(sql_type = Text)]
    pub address: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub site: Option<String>,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub start_read_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Bigint>)]
    pub start_value: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub end_read_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Bigint>)]
    pub end_value: Option<i64>,
    #[diesel(sql_type = Bigint)]
    pub pages: i64,
    #[diesel(sql_type = Bigint)]
    pub held: i64,
    #[diesel(sql_type = Array<Text>)]
    pub reasons: Vec<String>,
}

/// Every meter with pages or readings in the period `from`..`to` (local days of each
/// device's site), of the visible devices (or one site's), by serial, device and kind; at
/// most `limit` rows after (device, kind) `after`.
pub async fn meter_reads(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    site: Option<Uuid>,
    from: NaiveDate,
    to: NaiveDate,
    after: Option<(Uuid, String)>,
    limit: i64,
) -> QueryResult<Vec<MeterReadRow>> {
    let (after_device, after_kind) = after.map_or((None, None), |(d, k)| (Some(d), Some(k)));
    diesel::sql_query(
        "WITH d AS (SELECT d.id, d.serial, d.vendor, d.model, d.address, s.name AS site, \
                coalesce(s.time_zone, 'UTC') AS tz FROM devices d LEFT JOIN sites s ON s.id = d.site_id \
              WHERE d.tenant_id = ANY($1) AND ($2::uuid IS NULL OR d.site_id = $2)), \
         m AS (SELECT d.*, k.kind, ($3::timestamp AT TIME ZONE d.tz) AS opens, ($4::timestamp AT TIME ZONE d.tz) AS closes \
              FROM d CROSS JOIN LATERAL (SELECT DISTINCT kind FROM latest_counters l WHERE l.device_id = d.id) k \
              WHERE ($5::uuid IS NULL OR (d.id, k.kind) > ($5, $6))) \
         SELECT m.id AS device_id, m.serial, m.vendor, m.model, m.address, m.site, m.kind, \
           s.read_at AS start_read_at, s.value AS start_value, e.read_at AS end_read_at, e.value AS end_value, \
           coalesce(p.pages, 0)::int8 AS pages, coalesce(p.held, 0)::int8 AS held, coalesce(p.reasons, '{}') AS reasons \
         FROM m \
         LEFT JOIN LATERAL (SELECT read_at, value FROM counter_readings c WHERE c.device_id = m.id AND c.kind = m.kind \
             AND c.read_at <= m.opens ORDER BY read_at DESC LIMIT 1) s ON true \
         LEFT JOIN LATERAL (SELECT read_at, value FROM counter_readings c WHERE c.device_id = m.id AND c.kind = m.kind \
             AND c.read_at < m.closes ORDER BY read_at DESC LIMIT 1) e ON true \
         LEFT JOIN LATERAL (SELECT sum(pages) AS pages, sum(held) AS held, \
             array(SELECT DISTINCT r FROM page_counts q, unnest(q.reasons) r WHERE q.device_id = m.id AND q.kind = m.kind \
               AND q.day >= $3 AND q.day < $4 ORDER BY r) AS reasons \
             FROM page_counts q WHERE q.device_id = m.id AND q.kind = m.kind AND q.day >= $3 AND q.day < $4) p ON true \
         WHERE e.read_at IS NOT NULL \
         ORDER BY m.id, m.kind LIMIT $7",
    )
    .bind::<Array<SqlUuid>, _>(scope.tenant_ids())
    .bind::<Nullable<SqlUuid>, _>(site)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Nullable<SqlUuid>, _>(after_device)
    .bind::<Nullable<Text>, _>(after_kind)
    .bind::<Bigint, _>(limit)
    .load(conn)
    .await
}

/// Meter reads as CSV (RFC 4180, a header line), for ERP imports.
pub fn meter_reads_csv(rows: &[MeterReadRow], from: NaiveDate, to: NaiveDate) -> String {
    fn cell(text: &str) -> String {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_owned()
        }
    }
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let time =
        |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default();
    let mut out = String::from(
        "device_id,serial,vendor,model,address,site,meter,period_start,period_end,start_read_at,start_value,end_read_at,end_value,pages,held_pages,notes\r\n",
    );
    for r in rows {
        let line = [
            r.device_id.to_string(),
            cell(r.serial.as_deref().unwrap_or("")),
            cell(r.vendor.as_deref().unwrap_or("")),
            cell(r.model.as_deref().unwrap_or("")),
            cell(&r.address),
            cell(r.site.as_deref().unwrap_or("")),
            cell(&r.kind),
            from.to_string(),
            to.to_string(),
            time(r.start_read_at),
            opt(r.start_value),
            time(r.end_read_at),
            opt(r.end_value),
            r.pages.to_string(),
            r.held.to_string(),
            cell(&r.reasons.join(";")),
        ]
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}
