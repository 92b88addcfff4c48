//! The fleet at a glance.

use diesel::prelude::*;
use diesel::sql_types::{Array, Bigint, Nullable, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::scope::Scope;

/// The fleet at a glance: devices by status, open alerts, supplies below a level, agents.
#[derive(QueryableByName, Clone, Debug, Default, PartialEq)]
pub struct FleetSummary {
    #[diesel(sql_type = Bigint)]
    pub devices: i64,
    #[diesel(sql_type = Bigint)]
    pub ok: i64,
    #[diesel(sql_type = Bigint)]
    pub warning: i64,
    #[diesel(sql_type = Bigint)]
    pub error: i64,
    #[diesel(sql_type = Bigint)]
    pub offline: i64,
    #[diesel(sql_type = Bigint)]
    pub unknown: i64,
    /// Fine, but slow to answer the last time (power save).
    #[diesel(sql_type = Bigint)]
    pub asleep: i64,
    #[diesel(sql_type = Bigint)]
    pub open_alerts: i64,
    /// Supplies whose level is below the threshold (receptacles: whose room left is).
    #[diesel(sql_type = Bigint)]
    pub low_supplies: i64,
    /// Agents not revoked, and those of them linked now (heard from within the link's silence).
    #[diesel(sql_type = Bigint)]
    pub agents: i64,
    #[diesel(sql_type = Bigint)]
    pub agents_connected: i64,
}

/// Counts what the scope sees, on one site when `site` is given (one statement).
pub async fn fleet_summary(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    site: Option<Uuid>,
    low_percent: f64,
) -> QueryResult<FleetSummary> {
    diesel::sql_query(
        "SELECT d.devices, d.ok, d.warning, d.error, d.offline, d.unknown, d.asleep, \
           (SELECT count(*) FROM alerts a JOIN devices dv ON dv.id = a.device_id \
             WHERE a.tenant_id = ANY($1) AND a.ended_at IS NULL AND ($2::uuid IS NULL OR dv.site_id = $2)) AS open_alerts, \
           (SELECT count(*) FROM supplies s JOIN devices dv ON dv.id = s.device_id \
             WHERE s.tenant_id = ANY($1) AND s.percent < $3 AND ($2::uuid IS NULL OR dv.site_id = $2)) AS low_supplies, \
           g.agents, g.agents_connected \
         FROM (SELECT count(*) AS devices, count(*) FILTER (WHERE status = 'ok') AS ok, \
                 count(*) FILTER (WHERE status = 'warning') AS warning, count(*) FILTER (WHERE status = 'error') AS error, \
                 count(*) FILTER (WHERE status = 'offline') AS offline, count(*) FILTER (WHERE status = 'unknown') AS unknown, \
                 count(*) FILTER (WHERE status = 'asleep') AS asleep \
               FROM devices WHERE tenant_id = ANY($1) AND ($2::uuid IS NULL OR site_id = $2)) d, \
              (SELECT count(*) AS agents, count(*) FILTER (WHERE connected_at IS NOT NULL \
                   AND (disconnected_at IS NULL OR connected_at > disconnected_at) \
                   AND last_seen_at >= now() - make_interval(secs => $4)) AS agents_connected \
               FROM agents WHERE tenant_id = ANY($1) AND revoked_at IS NULL AND ($2::uuid IS NULL OR site_id = $2)) g",
    )
    .bind::<Array<SqlUuid>, _>(scope.tenant_ids())
    .bind::<Nullable<SqlUuid>, _>(site)
    .bind::<diesel::sql_types::Double, _>(low_percent)
    .bind::<diesel::sql_types::Double, _>(crate::db::agents::LINK_SILENCE_SECONDS as f64)
    .get_result(conn)
    .await
}
