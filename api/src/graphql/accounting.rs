//! Page accounting in GraphQL: a device's pages per hour, day or month (billable and held for
//! review, with the evidence), and the meter reads of a billing period for ERPs (also as CSV
//! at `/export/meter-reads.csv`).

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject};
use cartouche_schema::accounting::{self as rules, Unit};
use cartouche_schema::db::Keyset;
use cartouche_schema::db::accounting::{self, MeterReadRow};
use cartouche_schema::db::sites::Site;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::error::ApiError;
use crate::graphql::connection::{connection, page_request};
use crate::graphql::{actor, conn, parse_id};

/// The longest period asked at once, per granularity (days).
const MAX_DAYS_HOURLY: i64 = 31;
const MAX_DAYS: i64 = 3660;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum PageGranularity {
    /// Computed from the readings when asked (up to 31 days).
    Hour,
    /// Local days of the site, as the accounting worker keeps them.
    #[default]
    Day,
    /// Calendar months of the site (sums of days).
    Month,
}

/// Pages of one meter in one period.
#[derive(SimpleObject, Clone, Debug)]
pub struct PagePeriod {
    /// The counter: total, mono, color, …
    pub kind: String,
    /// The period's start, in the site's time zone (as an instant).
    pub start: DateTime<Utc>,
    /// The local date the period starts on.
    pub day: NaiveDate,
    /// Billable pages.
    pub pages: i64,
    /// Pages held for review (not billed): an implausible jump, a colour count above the total.
    pub held_pages: i64,
    /// Why pages were held, and resets or wraps the period spans.
    pub reasons: Vec<String>,
    /// The readings `[at, value]` at both ends of each held step, for the review.
    pub evidence: Option<Json<serde_json::Value>>,
}

/// Checks a period of local dates: it ends after it starts, and is not longer than allowed.
pub fn check_period(from: NaiveDate, to: NaiveDate, max_days: i64) -> Result<(), ApiError> {
    if to <= from {
        return Err(ApiError::validation("to", format!("the period ends ({to}) before it starts ({from})")));
    }
    if (to - from).num_days() > max_days {
        return Err(ApiError::validation("to", format!("at most {max_days} days at once")));
    }
    Ok(())
}

/// A device's pages in each period from `from` to `to` (local dates of its site, `to`
/// excluded).
pub async fn page_periods(
    ctx: &Context<'_>,
    device: &cartouche_schema::db::fleet::Device,
    from: NaiveDate,
    to: NaiveDate,
    granularity: PageGranularity,
    kind: Option<String>,
) -> async_graphql::Result<Vec<PagePeriod>> {
    let max = if granularity == PageGranularity::Hour { MAX_DAYS_HOURLY } else { MAX_DAYS };
    check_period(from, to, max)?;
    let actor = actor(ctx)?;
    let mut conn = conn(ctx).await?;
    let tz: Tz = match device.site_id {
        Some(site) => Site::find(&mut conn, &actor.scope, site)
            .await
            .map_err(|e| ApiError::from_db("site", e))?
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::UTC),
        None => chrono_tz::UTC,
    };
    let local =
        |d: NaiveDate| rules::period_start(d.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc(), tz, Unit::Day);
    if granularity == PageGranularity::Hour {
        let (start, end) = (local(from), local(to));
        let reads =
            accounting::meter_reads_spanning(&mut conn, device.id, kind.as_deref().unwrap_or("total"), start, end)
                .await
                .map_err(|e| ApiError::from_db("counter", e))?;
        return Ok(rules::periods(&reads, tz, Unit::Hour, start, end)
            .into_iter()
            .map(|p| PagePeriod {
                kind: kind.clone().unwrap_or_else(|| "total".into()),
                day: p.start.with_timezone(&tz).date_naive(),
                start: p.start,
                pages: p.pages,
                held_pages: p.held,
                reasons: p.reasons.iter().map(|r| (*r).to_owned()).collect(),
                evidence: (!p.evidence.is_empty()).then(|| {
                    Json(serde_json::json!(p.evidence.iter().map(|(at, v)| (at.to_rfc3339(), v)).collect::<Vec<_>>()))
                }),
            })
            .collect());
    }
    let days = accounting::page_counts_of(&mut conn, device.id, kind.as_deref(), from, to)
        .await
        .map_err(|e| ApiError::from_db("page count", e))?;
    let mut out: Vec<PagePeriod> = Vec::new();
    for day in days {
        let key = match granularity {
            PageGranularity::Month => day.day.with_day(1).unwrap_or(day.day),
            _ => day.day,
        };
        let reasons: Vec<String> = day.reasons.into_iter().flatten().collect();
        match out.last_mut() {
            Some(last) if last.kind == day.kind && last.day == key => {
                last.pages += day.pages;
                last.held_pages += day.held;
                for r in reasons {
                    if !last.reasons.contains(&r) {
                        last.reasons.push(r);
                    }
                }
                if let (Some(Json(serde_json::Value::Array(all))), Some(serde_json::Value::Array(more))) =
                    (&mut last.evidence, day.evidence.clone())
                {
                    all.extend(more);
                } else if last.evidence.is_none() {
                    last.evidence = day.evidence.map(Json);
                }
            }
            _ => out.push(PagePeriod {
                kind: day.kind,
                start: local(key),
                day: key,
                pages: day.pages,
                held_pages: day.held,
                reasons,
                evidence: day.evidence.map(Json),
            }),
        }
    }
    Ok(out)
}

/// One meter of one device over a billing period, as ERPs import it.
pub struct MeterReadNode(pub MeterReadRow);

#[Object(name = "MeterRead")]
impl MeterReadNode {
    async fn device_id(&self) -> ID {
        ID(self.0.device_id.to_string())
    }
    async fn serial(&self) -> Option<&str> {
        self.0.serial.as_deref()
    }
    async fn vendor(&self) -> Option<&str> {
        self.0.vendor.as_deref()
    }
    async fn model(&self) -> Option<&str> {
        self.0.model.as_deref()
    }
    async fn address(&self) -> &str {
        &self.0.address
    }
    async fn site(&self) -> Option<&str> {
        self.0.site.as_deref()
    }
    /// The counter: total, mono, color, …
    async fn meter(&self) -> &str {
        &self.0.kind
    }
    /// The last reading at or before the period's start (none: the device came later).
    async fn start_read_at(&self) -> Option<DateTime<Utc>> {
        self.0.start_read_at
    }
    async fn start_value(&self) -> Option<i64> {
        self.0.start_value
    }
    /// The last reading before the period's end.
    async fn end_read_at(&self) -> Option<DateTime<Utc>> {
        self.0.end_read_at
    }
    async fn end_value(&self) -> Option<i64> {
        self.0.end_value
    }
    /// Billable pages of the period (resets, wraps and missed reads accounted for).
    async fn pages(&self) -> i64 {
        self.0.pages
    }
    /// Pages held for review, not billed.
    async fn held_pages(&self) -> i64 {
        self.0.held
    }
    /// What the period's counts went through: wrap, reset, and why pages were held.
    async fn notes(&self) -> &[String] {
        &self.0.reasons
    }
}

#[derive(Default)]
pub struct AccountingQuery;

#[Object]
impl AccountingQuery {
    /// The meter reads of a billing period (`from` to `to` excluded, local dates of each
    /// device's site) of every visible device, or one site's, by device and meter. The same as
    /// CSV: `GET /export/meter-reads.csv?from=…&to=…[&siteId=…]`.
    #[graphql(complexity = "first.unwrap_or(100) as usize * child_complexity")]
    async fn meter_reads(
        &self,
        ctx: &Context<'_>,
        from: NaiveDate,
        to: NaiveDate,
        site_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, MeterReadNode>> {
        check_period(from, to, MAX_DAYS)?;
        let actor = actor(ctx)?;
        let site = site_id.as_ref().map(|s| parse_id("siteId", s)).transpose()?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        if let Some(site) = site {
            Site::find(&mut conn, &actor.scope, site).await.map_err(|e| ApiError::from_db("site", e))?;
        }
        let after = request.after.as_ref().map(|k| (k.id, k.key.clone()));
        let rows = accounting::meter_reads(&mut conn, &actor.scope, site, from, to, after, request.limit())
            .await
            .map_err(|e| ApiError::from_db("meter read", e))?;
        let (rows, more) = cartouche_schema::db::page::finish(rows, &request);
        Ok(connection(
            rows,
            more,
            request.after.is_some(),
            |r| Keyset { key: r.kind.clone(), id: r.device_id },
            MeterReadNode,
        ))
    }
}
