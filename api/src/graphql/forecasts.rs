//! Supply forecasts in GraphQL: days to empty (P50/P90) of every measured supply, the date to
//! order by, and the re-order suggestions (`schema::forecast` on `schema::db::forecasts`).

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{NaiveDate, Utc};

use crate::error::ApiError;
use crate::graphql::{actor, conn, parse_id};

/// When a supply runs out, and when to order its replacement.
#[derive(SimpleObject)]
pub struct SupplyForecast {
    pub device_id: ID,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub supply_index: i32,
    pub kind: String,
    pub description: Option<String>,
    pub part_number: Option<String>,
    /// Level now, percent.
    pub level: f64,
    /// Days to empty at a typical day's pages (P50) and at a busy day's (P90, earlier).
    pub p50_days: f64,
    pub p90_days: f64,
    pub empty_on_p50: NaiveDate,
    pub empty_on_p90: NaiveDate,
    /// The P90 date less the site's lead time: order by then.
    pub order_by: NaiveDate,
    /// measured (the cartridge's own fall against its pages) or rated_yield (not moved enough
    /// yet, or a coarse sensor).
    pub basis: String,
}

/// Recent complete days a forecast reads the page rate from.
const RATE_DAYS: i64 = 30;

async fn forecasts(
    conn: &mut cartouche_schema::db::PooledConn,
    scope: &cartouche_schema::db::Scope,
    device: Option<uuid::Uuid>,
) -> Result<Vec<SupplyForecast>, ApiError> {
    use cartouche_schema::db::forecasts::{daily_pages, forecast_rows, level_histories};
    use cartouche_schema::forecast::{Inputs, days_to_empty};
    let today = Utc::now().date_naive();
    let window = today - chrono::Duration::days(RATE_DAYS);
    let rows = forecast_rows(conn, scope, device).await.map_err(|e| ApiError::from_db("supply", e))?;
    let days = daily_pages(conn, scope, device, window).await.map_err(|e| ApiError::from_db("page count", e))?;
    let histories = level_histories(conn, scope, device).await.map_err(|e| ApiError::from_db("supply", e))?;
    let mut out = Vec::new();
    for row in rows {
        // Complete days since the device was first seen (a new device is not diluted by days
        // it was not there).
        let from = window.max(row.first_seen_at.date_naive());
        let daily: Vec<i64> = from
            .iter_days()
            .take_while(|d| *d < today)
            .map(|d| days.iter().filter(|(id, day, _)| *id == row.device_id && *day == d).map(|(_, _, p)| p).sum())
            .collect();
        let inputs = Inputs {
            level: row.percent,
            level_at_install: row.level_at_install,
            pages_since_install: row.pages_since,
            daily_pages: &daily,
            history: histories.get(&(row.device_id, row.supply_index)).map_or(&[], Vec::as_slice),
            rated_yield: row.rated_yield.map(i64::from),
        };
        let Some(forecast) = days_to_empty(&inputs) else { continue };
        let date = |days: f64| today + chrono::Duration::days(days.floor().min(36_500.0) as i64);
        let empty_on_p90 = date(forecast.p90_days);
        out.push(SupplyForecast {
            device_id: ID(row.device_id.to_string()),
            vendor: row.vendor,
            model: row.model,
            serial: row.serial,
            supply_index: row.supply_index,
            kind: row.kind,
            description: row.description,
            part_number: row.part_number,
            level: row.percent,
            p50_days: forecast.p50_days,
            p90_days: forecast.p90_days,
            empty_on_p50: date(forecast.p50_days),
            empty_on_p90,
            order_by: empty_on_p90 - chrono::Duration::days(i64::from(row.lead_time_days)),
            basis: forecast.basis.name().to_owned(),
        });
    }
    out.sort_by_key(|f| f.order_by);
    Ok(out)
}

#[derive(Default)]
pub struct ForecastQuery;

#[Object]
impl ForecastQuery {
    /// Days to empty (P50/P90) of every measured supply of the visible devices (or one
    /// device), with the date to order by (the P90 date less the site's lead time), soonest
    /// first. `orderWithinDays` keeps the re-order suggestions: those to order within that
    /// many days (overdue included).
    async fn supply_forecasts(
        &self,
        ctx: &Context<'_>,
        device_id: Option<ID>,
        order_within_days: Option<i32>,
    ) -> async_graphql::Result<Vec<SupplyForecast>> {
        let actor = actor(ctx)?;
        let device = device_id.as_ref().map(|d| parse_id("deviceId", d)).transpose()?;
        if order_within_days.is_some_and(|d| !(0..=365).contains(&d)) {
            return Err(ApiError::validation("orderWithinDays", "0 to 365").into());
        }
        let mut conn = conn(ctx).await?;
        let mut list = forecasts(&mut conn, &actor.scope, device).await?;
        if let Some(within) = order_within_days {
            let limit = Utc::now().date_naive() + chrono::Duration::days(i64::from(within));
            list.retain(|f| f.order_by <= limit);
        }
        Ok(list)
    }
}
