//! Notifications: what is worth telling (critical alerts, supplies to re-order, work-order
//! changes) becomes a notification once (a unique source key), fanned out to deliveries — an
//! e-mail to each user whose preferences ask for it (the customer's users and its dealer's),
//! a signed POST to each webhook subscribed — which the sender works through with retries.
//! Every step takes its rows locked and skipped, so several workers never send twice.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{deliveries, notification_preferences, tenant_notification_settings, webhooks};
use crate::db::scope::Scope;
use crate::profiles::catalogue::FaultCatalogue;

/// What a notification is about.
pub const KINDS: [&str; 3] = ["critical_alert", "supply_reorder", "work_order"];

/// Attempts before a delivery is left failed.
pub const MAX_ATTEMPTS: i32 = 6;

/// Seconds before attempt `n` (1-based) is tried again: 30 s, 2 min, 8 min, 32 min, ~2 h.
pub fn backoff_seconds(attempts: i32) -> i64 {
    30 * 4i64.pow(u32::try_from(attempts.clamp(1, 6) - 1).unwrap_or(0))
}

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub url: String,
    pub secret: String,
    /// critical_alert, supply_reorder, work_order (never null: PostgreSQL arrays only say so).
    pub events: Vec<Option<String>>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

impl Webhook {
    pub async fn create(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        tenant: Uuid,
        url: &str,
        secret: &str,
        events: &[String],
    ) -> QueryResult<Webhook> {
        scope.require(tenant)?;
        diesel::insert_into(webhooks::table)
            .values((
                webhooks::tenant_id.eq(tenant),
                webhooks::url.eq(url),
                webhooks::secret.eq(secret),
                webhooks::events.eq(events.iter().map(|e| Some(e.as_str())).collect::<Vec<_>>()),
            ))
            .returning(Webhook::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn list(conn: &mut AsyncPgConnection, scope: &Scope) -> QueryResult<Vec<Webhook>> {
        webhooks::table
            .filter(webhooks::tenant_id.eq_any(scope.tenant_ids()))
            .select(Webhook::as_select())
            .order_by(webhooks::created_at)
            .load(conn)
            .await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<Webhook> {
        diesel::delete(webhooks::table.find(id).filter(webhooks::tenant_id.eq_any(scope.tenant_ids())))
            .returning(Webhook::as_returning())
            .get_result(conn)
            .await
    }
}

/// What a user wants by e-mail (a user without a row gets the defaults: critical alerts and
/// work orders, not re-orders).
#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = notification_preferences)]
pub struct Preferences {
    pub user_id: Uuid,
    pub critical_alert: bool,
    pub supply_reorder: bool,
    pub work_order: bool,
}

impl Preferences {
    pub fn defaults(user_id: Uuid) -> Preferences {
        Preferences { user_id, critical_alert: true, supply_reorder: false, work_order: true }
    }

    pub async fn of(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<Preferences> {
        Ok(notification_preferences::table
            .find(user)
            .select(Preferences::as_select())
            .get_result(conn)
            .await
            .optional()?
            .unwrap_or_else(|| Preferences::defaults(user)))
    }

    pub async fn set(conn: &mut AsyncPgConnection, preferences: &Preferences) -> QueryResult<()> {
        diesel::insert_into(notification_preferences::table)
            .values((
                notification_preferences::user_id.eq(preferences.user_id),
                notification_preferences::critical_alert.eq(preferences.critical_alert),
                notification_preferences::supply_reorder.eq(preferences.supply_reorder),
                notification_preferences::work_order.eq(preferences.work_order),
            ))
            .on_conflict(notification_preferences::user_id)
            .do_update()
            .set((
                notification_preferences::critical_alert.eq(preferences.critical_alert),
                notification_preferences::supply_reorder.eq(preferences.supply_reorder),
                notification_preferences::work_order.eq(preferences.work_order),
            ))
            .execute(conn)
            .await
            .map(drop)
    }
}

/// What a tenant e-mails its users about at all (its users choose within it).
#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = tenant_notification_settings)]
pub struct TenantSettings {
    pub tenant_id: Uuid,
    pub critical_alert: bool,
    pub supply_reorder: bool,
    pub work_order: bool,
}

impl TenantSettings {
    pub async fn of(conn: &mut AsyncPgConnection, scope: &Scope, tenant: Uuid) -> QueryResult<TenantSettings> {
        scope.require(tenant)?;
        Ok(tenant_notification_settings::table
            .find(tenant)
            .select(TenantSettings::as_select())
            .get_result(conn)
            .await
            .optional()?
            .unwrap_or(TenantSettings {
                tenant_id: tenant,
                critical_alert: true,
                supply_reorder: true,
                work_order: true,
            }))
    }

    pub async fn set(conn: &mut AsyncPgConnection, scope: &Scope, settings: &TenantSettings) -> QueryResult<()> {
        scope.require(settings.tenant_id)?;
        let values = (
            tenant_notification_settings::critical_alert.eq(settings.critical_alert),
            tenant_notification_settings::supply_reorder.eq(settings.supply_reorder),
            tenant_notification_settings::work_order.eq(settings.work_order),
        );
        diesel::insert_into(tenant_notification_settings::table)
            .values((tenant_notification_settings::tenant_id.eq(settings.tenant_id), values))
            .on_conflict(tenant_notification_settings::tenant_id)
            .do_update()
            .set(values)
            .execute(conn)
            .await
            .map(drop)
    }
}

mod collect;

pub use collect::{REORDER_PERCENT, collect};

/// A delivery to attempt, with its notification.
#[derive(QueryableByName, Clone, Debug)]
pub struct Due {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Text)]
    pub target: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub secret: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    pub notification_id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub payload: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Takes up to `limit` deliveries due now (locked for 5 minutes: their attempt is counted and
/// their next try pushed back before they are sent, so a crash mid-send is retried later, not
/// lost, and another worker does not take them meanwhile).
pub async fn take_due(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Due>> {
    diesel::sql_query(
        "WITH due AS (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= now() \
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED), \
              taken AS (UPDATE deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + interval '5 minutes' \
                        FROM due WHERE d.id = due.id RETURNING d.*) \
         SELECT t.id, t.channel, t.target, t.attempts, w.secret, n.id AS notification_id, n.kind, n.subject, n.body, \
                n.payload, n.created_at \
         FROM taken t JOIN notifications n ON n.id = t.notification_id LEFT JOIN webhooks w ON w.id = t.webhook_id",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Records a successful send.
pub async fn sent(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(deliveries::table.find(id))
        .set((
            deliveries::status.eq("sent"),
            deliveries::sent_at.eq(Utc::now()),
            deliveries::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Records a failed attempt: tried again after a backoff, or failed for good after the last.
pub async fn failed(conn: &mut AsyncPgConnection, id: Uuid, attempts: i32, error: &str) -> QueryResult<()> {
    let gave_up = attempts >= MAX_ATTEMPTS;
    diesel::update(deliveries::table.find(id))
        .set((
            deliveries::status.eq(if gave_up { "failed" } else { "pending" }),
            deliveries::last_error.eq(error),
            deliveries::next_attempt_at.eq(Utc::now() + chrono::Duration::seconds(backoff_seconds(attempts))),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A delivery as people see it.
#[derive(QueryableByName, Clone, Debug)]
pub struct DeliveryRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Text)]
    pub target: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub next_attempt_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub sent_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Visible deliveries (of one status or all), newest first.
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    status: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    diesel::sql_query(
        "SELECT d.id, n.kind, n.subject, d.channel, d.target, d.status, d.attempts, d.last_error, d.next_attempt_at, \
                d.sent_at, d.created_at \
         FROM deliveries d JOIN notifications n ON n.id = d.notification_id \
         WHERE n.tenant_id = ANY($1) AND ($2::text IS NULL OR d.status = $2) \
         ORDER BY d.created_at DESC, d.id LIMIT $3",
    )
    .bind::<Array<SqlUuid>, _>(scope.tenant_ids())
    .bind::<Nullable<Text>, _>(status)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
