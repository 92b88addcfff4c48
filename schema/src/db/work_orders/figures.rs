//! Figures about repairs: how long faults last, what is open now for the dashboard, and what
//! the repairs closed in a month cost.

use super::*;

/// How long one type of fault lasted, from the device's first report to its last.
#[derive(QueryableByName, Clone, Debug, PartialEq)]
pub struct FaultDuration {
    #[diesel(sql_type = Text)]
    pub fault_type: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    #[diesel(sql_type = Double)]
    pub mean_minutes: f64,
    #[diesel(sql_type = Double)]
    pub median_minutes: f64,
    #[diesel(sql_type = Double)]
    pub p90_minutes: f64,
    #[diesel(sql_type = Double)]
    pub longest_minutes: f64,
}

/// Durations of the faults that ended in [from, to), per fault type (of one device or every
/// visible one), longest mean first.
pub async fn fault_durations(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    device: Option<Uuid>,
) -> QueryResult<Vec<FaultDuration>> {
    diesel::sql_query(
        "SELECT fault_type, count(*) AS count, avg(m) AS mean_minutes, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY m) AS median_minutes, \
                percentile_cont(0.9) WITHIN GROUP (ORDER BY m) AS p90_minutes, max(m) AS longest_minutes \
         FROM (SELECT fault_type, extract(epoch FROM ended_at - started_at)::float8 / 60 AS m FROM alerts \
               WHERE tenant_id = ANY($1) AND ended_at >= $2 AND ended_at < $3 \
                 AND ($4::uuid IS NULL OR device_id = $4)) d \
         GROUP BY fault_type ORDER BY mean_minutes DESC, fault_type",
    )
    .bind::<Array<SqlUuid>, _>(scope.tenant_ids())
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .bind::<Nullable<SqlUuid>, _>(device)
    .load(conn)
    .await
}

/// Open faults counted by what the maintenance dashboard groups them by.
#[derive(QueryableByName, Clone, Debug, PartialEq)]
pub struct OpenFaultGroup {
    #[diesel(sql_type = Text)]
    pub severity: String,
    #[diesel(sql_type = Text)]
    pub fault_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub training_level: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub site_id: Option<Uuid>,
    /// 0: under an hour, 1: under a day, 2: under a week, 3: older.
    #[diesel(sql_type = Integer)]
    pub age: i32,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Of which have an open work order.
    #[diesel(sql_type = BigInt)]
    pub with_work_order: i64,
}

/// The open alerts of visible devices (one site's or all), grouped for the dashboard; the
/// caller maps fault types to the catalogue (repairs only, skill needed).
pub async fn open_fault_groups(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    site: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<OpenFaultGroup>> {
    diesel::sql_query(
        "SELECT a.severity, a.fault_type, a.training_level, d.site_id, \
                CASE WHEN a.started_at > $3 - interval '1 hour' THEN 0 \
                     WHEN a.started_at > $3 - interval '1 day' THEN 1 \
                     WHEN a.started_at > $3 - interval '7 days' THEN 2 ELSE 3 END AS age, \
                count(*) AS count, \
                count(*) FILTER (WHERE EXISTS (SELECT 1 FROM work_orders w WHERE w.alert_id = a.id \
                                                AND w.closed_at IS NULL)) AS with_work_order \
         FROM alerts a JOIN devices d ON d.id = a.device_id \
         WHERE a.tenant_id = ANY($1) AND a.ended_at IS NULL AND ($2::uuid IS NULL OR d.site_id = $2) \
         GROUP BY 1, 2, 3, 4, 5",
    )
    .bind::<Array<SqlUuid>, _>(scope.tenant_ids())
    .bind::<Nullable<SqlUuid>, _>(site)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await
}

/// What the repairs closed in [from, to) cost, per device of a tenant: the labour minutes
/// recorded at closing at the skill's rate and the parts recorded, or the estimate where
/// nothing was recorded. The flag says whether any estimate stood in.
pub async fn service_costs(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(Uuid, Micros, bool)>> {
    let closed: Vec<WorkOrder> = work_orders::table
        .filter(work_orders::tenant_id.eq(tenant))
        .filter(work_orders::status.eq(Status::Closed.name()))
        .filter(work_orders::closed_at.ge(from.and_time(chrono::NaiveTime::MIN).and_utc()))
        .filter(work_orders::closed_at.lt(to.and_time(chrono::NaiveTime::MIN).and_utc()))
        .select(WorkOrder::as_select())
        .load(conn)
        .await?;
    let rates = rates_for(conn, &[tenant]).await?;
    let mut out: std::collections::BTreeMap<Uuid, (Micros, bool)> = std::collections::BTreeMap::new();
    for order in closed {
        let rate = Skill::parse(&order.skill).and_then(|s| rates.get(&(tenant, s)).copied());
        let (labour, labour_estimated) = match (order.labour_minutes, rate) {
            (Some(minutes), Some(rate)) => (maintenance::labour_cost(rate, minutes.max(0) as u32), false),
            _ => (order.estimated_labour.unwrap_or(0), true),
        };
        let (parts, parts_estimated) = match order.parts_cost {
            Some(parts) => (parts, false),
            None => (order.estimated_parts, true),
        };
        let entry = out.entry(order.device_id).or_default();
        entry.0 += labour + parts;
        entry.1 |= labour_estimated || parts_estimated;
    }
    Ok(out.into_iter().map(|(device, (cost, estimated))| (device, cost, estimated)).collect())
}
