//! What becomes a notification, once: new critical alerts, work-order steps, supplies at their
//! re-order level; each fanned out to the deliveries its preferences and webhooks ask for.

use super::*;

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
