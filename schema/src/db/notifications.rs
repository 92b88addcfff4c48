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

/// A notification to write (deduplicated by `source`).
struct New {
    tenant_id: Uuid,
    kind: &'static str,
    source: String,
    subject: String,
    body: String,
    payload: serde_json::Value,
}

/// Inserts a notification unless its source was notified already, and fans it out; true when
/// it is new.
async fn notify(conn: &mut AsyncPgConnection, new: New) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let id: Option<Id> = diesel::sql_query(
        "INSERT INTO notifications (tenant_id, kind, source, subject, body, payload) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (source) DO NOTHING RETURNING id",
    )
    .bind::<SqlUuid, _>(new.tenant_id)
    .bind::<Text, _>(new.kind)
    .bind::<Text, _>(&new.source)
    .bind::<Text, _>(&new.subject)
    .bind::<Text, _>(&new.body)
    .bind::<diesel::sql_types::Jsonb, _>(&new.payload)
    .get_result(conn)
    .await
    .optional()?;
    let Some(Id { id }) = id else { return Ok(false) };
    // E-mail to the users of the tenant and of the tenants above it (its dealer) who want this
    // kind (no preferences row: the defaults), enabled; webhooks of those tenants subscribed.
    let column = match new.kind {
        "critical_alert" => "coalesce(p.critical_alert, true) AND coalesce(s.critical_alert, true)",
        "supply_reorder" => "coalesce(p.supply_reorder, false) AND coalesce(s.supply_reorder, true)",
        _ => "coalesce(p.work_order, true) AND coalesce(s.work_order, true)",
    };
    diesel::sql_query(format!(
        "WITH RECURSIVE up(id) AS (SELECT $2::uuid UNION ALL SELECT t.parent_id FROM tenants t JOIN up ON t.id = up.id \
                                   WHERE t.parent_id IS NOT NULL) \
         INSERT INTO deliveries (notification_id, channel, target, webhook_id) \
         SELECT $1, 'email', u.email, NULL FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id \
           LEFT JOIN tenant_notification_settings s ON s.tenant_id = u.tenant_id \
           WHERE u.tenant_id IN (SELECT id FROM up) AND u.disabled_at IS NULL AND {column} \
         UNION ALL \
         SELECT $1, 'webhook', w.url, w.id FROM webhooks w \
           WHERE w.tenant_id IN (SELECT id FROM up) AND w.enabled AND $3 = ANY(w.events)"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(new.tenant_id)
    .bind::<Text, _>(new.kind)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Percent at or below which a supply is to re-order.
pub const REORDER_PERCENT: f64 = 10.0;

/// Turns what happened since the last pass into notifications (at most `limit` of each
/// source per call): new critical alerts, work-order steps, supplies that fell to the
/// re-order level (once per cartridge). Returns how many notifications were made.
pub async fn collect(conn: &mut AsyncPgConnection, catalogue: &FaultCatalogue, limit: i64) -> QueryResult<usize> {
    conn.transaction(async |conn| {
        let mut made = 0;
        #[derive(QueryableByName)]
        struct AlertRow {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
            #[diesel(sql_type = SqlUuid)]
            tenant_id: Uuid,
            #[diesel(sql_type = SqlUuid)]
            device_id: Uuid,
            #[diesel(sql_type = Text)]
            severity: String,
            #[diesel(sql_type = Text)]
            fault_type: String,
            #[diesel(sql_type = Nullable<Text>)]
            description: Option<String>,
            #[diesel(sql_type = Timestamptz)]
            started_at: DateTime<Utc>,
            #[diesel(sql_type = Nullable<Text>)]
            device: Option<String>,
        }
        let alerts: Vec<AlertRow> = diesel::sql_query(
            "SELECT a.id, a.tenant_id, a.device_id, a.severity, a.fault_type, a.description, a.started_at, \
               concat_ws(' ', d.vendor, d.model, d.serial) AS device \
             FROM alerts a JOIN devices d ON d.id = a.device_id WHERE NOT a.notified \
             ORDER BY a.started_at LIMIT $1 FOR UPDATE OF a SKIP LOCKED",
        )
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
        for alert in &alerts {
            if alert.severity != "critical" {
                continue;
            }
            let fault = catalogue.of_type(&alert.fault_type);
            let what = alert.description.clone().filter(|d| !d.trim().is_empty()).unwrap_or_else(|| fault.title.clone());
            let device = alert.device.clone().unwrap_or_default();
            made += usize::from(
                notify(
                    conn,
                    New {
                        tenant_id: alert.tenant_id,
                        kind: "critical_alert",
                        source: format!("alert:{}", alert.id),
                        subject: format!("Critical: {what} on {device}"),
                        body: format!(
                            "{device} reports: {what}.\nSince {}.\nWho can fix it: {}.",
                            alert.started_at.format("%Y-%m-%d %H:%M UTC"),
                            fault.who_fixes(None).name().replace('_', " ")
                        ),
                        payload: serde_json::json!({
                            "alertId": alert.id, "deviceId": alert.device_id, "faultType": alert.fault_type,
                            "description": alert.description, "startedAt": alert.started_at,
                        }),
                    },
                )
                .await?,
            );
        }
        let ids: Vec<Uuid> = alerts.iter().map(|a| a.id).collect();
        diesel::sql_query("UPDATE alerts SET notified = true WHERE id = ANY($1)")
            .bind::<Array<SqlUuid>, _>(ids)
            .execute(conn)
            .await?;

        #[derive(QueryableByName)]
        struct StepRow {
            #[diesel(sql_type = BigInt)]
            id: i64,
            #[diesel(sql_type = SqlUuid)]
            work_order_id: Uuid,
            #[diesel(sql_type = SqlUuid)]
            tenant_id: Uuid,
            #[diesel(sql_type = Text)]
            kind: String,
            #[diesel(sql_type = Nullable<Text>)]
            to_status: Option<String>,
            #[diesel(sql_type = Nullable<Text>)]
            body: Option<String>,
            #[diesel(sql_type = Text)]
            title: String,
            #[diesel(sql_type = Text)]
            status: String,
        }
        let steps: Vec<StepRow> = diesel::sql_query(
            "SELECT e.id, e.work_order_id, w.tenant_id, e.kind, e.to_status, e.body, w.title, w.status \
             FROM work_order_events e JOIN work_orders w ON w.id = e.work_order_id WHERE NOT e.notified \
             ORDER BY e.id LIMIT $1 FOR UPDATE OF e SKIP LOCKED",
        )
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
        for step in &steps {
            let what = match (step.kind.as_str(), &step.to_status) {
                ("opened", _) => "opened".to_owned(),
                ("status", Some(to)) => format!("now {}", to.replace('_', " ")),
                ("assigned", _) => "assigned".to_owned(),
                ("cleared", _) => "fault cleared".to_owned(),
                ("close_proposed", _) => "proposed for closing".to_owned(),
                _ => "commented".to_owned(),
            };
            made += usize::from(
                notify(
                    conn,
                    New {
                        tenant_id: step.tenant_id,
                        kind: "work_order",
                        source: format!("work-order-event:{}", step.id),
                        subject: format!("Work order {what}: {}", step.title),
                        body: format!("{}\n{what}.{}", step.title, step.body.as_ref().map(|b| format!("\n{b}")).unwrap_or_default()),
                        payload: serde_json::json!({
                            "workOrderId": step.work_order_id, "event": step.kind, "status": step.status, "body": step.body,
                        }),
                    },
                )
                .await?,
            );
        }
        let ids: Vec<i64> = steps.iter().map(|s| s.id).collect();
        diesel::sql_query("UPDATE work_order_events SET notified = true WHERE id = ANY($1)")
            .bind::<Array<BigInt>, _>(ids)
            .execute(conn)
            .await?;

        #[derive(QueryableByName)]
        struct LowRow {
            #[diesel(sql_type = SqlUuid)]
            tenant_id: Uuid,
            #[diesel(sql_type = SqlUuid)]
            device_id: Uuid,
            #[diesel(sql_type = Integer)]
            supply_index: i32,
            #[diesel(sql_type = Double)]
            percent: f64,
            #[diesel(sql_type = Text)]
            cartridge: String,
            #[diesel(sql_type = Nullable<Text>)]
            supply: Option<String>,
            #[diesel(sql_type = Nullable<Text>)]
            part_number: Option<String>,
            #[diesel(sql_type = Nullable<Text>)]
            device: Option<String>,
        }
        let low: Vec<LowRow> = diesel::sql_query(
            "SELECT s.tenant_id, s.device_id, s.supply_index, s.percent, \
               coalesce(s.serial, s.installed_at::text, 'first') AS cartridge, coalesce(s.description, s.kind) AS supply, \
               s.part_number, concat_ws(' ', d.vendor, d.model, d.serial) AS device \
             FROM supplies s JOIN devices d ON d.id = s.device_id \
             WHERE s.percent <= $1 AND NOT s.receptacle AND NOT EXISTS (SELECT 1 FROM notifications n \
               WHERE n.source = 'reorder:' || s.device_id || ':' || s.supply_index || ':' || \
                                coalesce(s.serial, s.installed_at::text, 'first')) \
             LIMIT $2",
        )
        .bind::<Double, _>(REORDER_PERCENT)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
        for supply in low {
            let name = supply.supply.clone().unwrap_or_default();
            let device = supply.device.clone().unwrap_or_default();
            made += usize::from(
                notify(
                    conn,
                    New {
                        tenant_id: supply.tenant_id,
                        kind: "supply_reorder",
                        source: format!("reorder:{}:{}:{}", supply.device_id, supply.supply_index, supply.cartridge),
                        subject: format!("Re-order: {name} at {:.0} % on {device}", supply.percent),
                        body: format!(
                            "{name}{} on {device} is at {:.0} %: time to send its replacement.",
                            supply.part_number.as_ref().map(|p| format!(" ({p})")).unwrap_or_default(),
                            supply.percent
                        ),
                        payload: serde_json::json!({
                            "deviceId": supply.device_id, "supplyIndex": supply.supply_index, "level": supply.percent,
                            "partNumber": supply.part_number,
                        }),
                    },
                )
                .await?,
            );
        }
        Ok(made)
    })
    .await
}

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
