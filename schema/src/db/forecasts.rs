//! What supply forecasts read: each measured supply with its level now and at install, the
//! pages since, its model's rated yield and its site's lead time; and the devices' daily pages.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::scope::Scope;

/// What a supply's forecast needs, read for many supplies at once.
#[derive(QueryableByName, Clone, Debug, PartialEq)]
pub struct ForecastRow {
    #[diesel(sql_type = SqlUuid)]
    pub device_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub supply_index: i32,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub part_number: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub percent: f64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub level_at_install: Option<f64>,
    #[diesel(sql_type = Timestamptz)]
    pub since: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub first_seen_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub vendor: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub model: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub serial: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub lead_time_days: i32,
    #[diesel(sql_type = Nullable<diesel::sql_types::Integer>)]
    pub rated_yield: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Bigint)]
    pub pages_since: i64,
}

/// The measured supplies (not waste receptacles) of the visible devices (or one device), with
/// what their forecasts need: level now and at install, pages since, the model's rated yield
/// (by part number, in the tenant's catalogue) and the site's lead time.
pub async fn forecast_rows(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    device: Option<Uuid>,
) -> QueryResult<Vec<ForecastRow>> {
    diesel::sql_query(
        "SELECT s.device_id, s.supply_index, s.kind, s.description, s.part_number, s.percent, s.level_at_install, \
           coalesce(s.installed_at, d.first_seen_at) AS since, d.first_seen_at, d.vendor, d.model, d.serial, \
           coalesce(si.lead_time_days, 5) AS lead_time_days, m.rated_yield, \
           (SELECT coalesce(sum(p.pages), 0)::int8 FROM page_counts p WHERE p.device_id = s.device_id AND p.kind = 'total' \
              AND p.day >= coalesce(s.installed_at, d.first_seen_at)::date) AS pages_since \
         FROM supplies s JOIN devices d ON d.id = s.device_id LEFT JOIN sites si ON si.id = d.site_id \
         LEFT JOIN supply_models m ON m.tenant_id = s.tenant_id AND lower(m.part_number) = lower(s.part_number) \
         WHERE s.tenant_id = ANY($1) AND ($2::uuid IS NULL OR s.device_id = $2) AND s.percent IS NOT NULL \
           AND NOT s.receptacle ORDER BY d.serial, s.device_id, s.supply_index",
    )
    .bind::<Array<SqlUuid>, _>(scope.tenant_ids())
    .bind::<Nullable<SqlUuid>, _>(device)
    .load(conn)
    .await
}

/// Pages each visible device (or one) printed per day since `from`: (device, day, pages).
pub async fn daily_pages(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    device: Option<Uuid>,
    from: NaiveDate,
) -> QueryResult<Vec<(Uuid, NaiveDate, i64)>> {
    #[derive(QueryableByName)]
    struct Day {
        #[diesel(sql_type = SqlUuid)]
        device_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Date)]
        day: NaiveDate,
        #[diesel(sql_type = diesel::sql_types::Bigint)]
        pages: i64,
    }
    let days: Vec<Day> = diesel::sql_query(
        "SELECT device_id, day, sum(pages)::int8 AS pages FROM page_counts \
         WHERE tenant_id = ANY($1) AND ($2::uuid IS NULL OR device_id = $2) AND kind = 'total' AND day >= $3 \
         GROUP BY device_id, day",
    )
    .bind::<Array<SqlUuid>, _>(scope.tenant_ids())
    .bind::<Nullable<SqlUuid>, _>(device)
    .bind::<diesel::sql_types::Date, _>(from)
    .load(conn)
    .await?;
    Ok(days.into_iter().map(|d| (d.device_id, d.day, d.pages)).collect())
}

/// Each visible supply's (or one device's supplies') level history since it went in (or since
/// the device was first seen), oldest first: (device, supply index) → [(total pages, percent)].
/// Points without a page counter are left out.
pub async fn level_histories(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    device: Option<Uuid>,
) -> QueryResult<std::collections::HashMap<(Uuid, i32), Vec<(i64, f64)>>> {
    #[derive(QueryableByName)]
    struct Point {
        #[diesel(sql_type = SqlUuid)]
        device_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        supply_index: i32,
        #[diesel(sql_type = diesel::sql_types::Bigint)]
        total_pages: i64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        percent: f64,
    }
    let points: Vec<Point> = diesel::sql_query(
        "SELECT l.device_id, l.supply_index, l.total_pages, l.percent FROM supply_levels l \
         JOIN supplies s ON s.device_id = l.device_id AND s.supply_index = l.supply_index \
         JOIN devices d ON d.id = l.device_id \
         WHERE l.tenant_id = ANY($1) AND ($2::uuid IS NULL OR l.device_id = $2) AND l.total_pages IS NOT NULL \
           AND l.at >= coalesce(s.installed_at, d.first_seen_at) \
         ORDER BY l.device_id, l.supply_index, l.at",
    )
    .bind::<Array<SqlUuid>, _>(scope.tenant_ids())
    .bind::<Nullable<SqlUuid>, _>(device)
    .load(conn)
    .await?;
    let mut out: std::collections::HashMap<(Uuid, i32), Vec<(i64, f64)>> = std::collections::HashMap::new();
    for p in points {
        out.entry((p.device_id, p.supply_index)).or_default().push((p.total_pages, p.percent));
    }
    Ok(out)
}
