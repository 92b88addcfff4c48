//! What the repairs worker does: new alerts against the rules (triage), and cleared faults
//! followed until their work orders are proposed for closing or closed by rule.

use super::*;

/// What [`triage`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Triaged {
    /// New alerts looked at.
    pub alerts: usize,
    /// Work orders opened for them.
    pub opened: usize,
}

/// Applies the rules to new alerts (at most `limit`, oldest first). An alert that already ended opens nothing (it cleared by itself); one
/// whose device already has an open work order for the same fault is added to it (a comment,
/// and the work order follows the new alert) instead of opening another.
pub async fn triage(conn: &mut AsyncPgConnection, catalogue: &FaultCatalogue, limit: i64) -> QueryResult<Triaged> {
    conn.transaction(async |conn| {
        let alerts: Vec<AlertRow> = diesel::sql_query(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a WHERE NOT a.triaged \
             ORDER BY a.started_at LIMIT $1 FOR UPDATE SKIP LOCKED"
        ))
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
        if alerts.is_empty() {
            return Ok(Triaged::default());
        }
        let mut tenants: Vec<Uuid> = alerts.iter().map(|a| a.tenant_id).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let rules = rules_for(conn, &tenants).await?;
        let rates = rates_for(conn, &tenants).await?;
        let mut opened = 0;
        for alert in alerts.iter().filter(|a| a.ended_at.is_none()) {
            let fault = catalogue.of_type(&alert.fault_type);
            let skill = fault.who_fixes(alert.training_level.as_deref());
            let Some((_, rule)) = rules.iter().find(|(tenant, rule)| {
                *tenant == alert.tenant_id && rule.rule().matches(fault, &alert.severity, skill)
            }) else {
                continue;
            };
            let running: Option<WorkOrder> = work_orders::table
                .filter(work_orders::device_id.eq(alert.device_id))
                .filter(work_orders::fault_type.eq(&fault.fault_type))
                .filter(work_orders::closed_at.is_null())
                .select(WorkOrder::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?;
            if let Some(order) = running {
                let body =
                    format!("The fault was reported again at {}.", alert.started_at.format("%Y-%m-%d %H:%M UTC"));
                let order = diesel::update(work_orders::table.find(order.id))
                    .set((
                        work_orders::alert_id.eq(alert.id),
                        work_orders::fault_cleared_at.eq(None::<DateTime<Utc>>),
                        work_orders::close_proposed.eq(false),
                        work_orders::updated_at.eq(Utc::now()),
                    ))
                    .returning(WorkOrder::as_returning())
                    .get_result(conn)
                    .await?;
                record(
                    conn,
                    &order,
                    "updated",
                    &[NewEvent { body: Some(&body), ..NewEvent::new(order.id, None, "comment") }],
                )
                .await?;
                continue;
            }
            let estimate = maintenance::estimate(fault, alert.training_level.as_deref(), |s| {
                rates.get(&(alert.tenant_id, s)).copied()
            });
            let title =
                alert.description.clone().filter(|d| !d.trim().is_empty()).unwrap_or_else(|| fault.title.clone());
            let mut row = estimate_row(alert.tenant_id, alert.device_id, &fault.fault_type, &title, &estimate);
            row.alert_id = Some(alert.id);
            row.rule_id = Some(rule.id);
            row.fault_started_at = alert.started_at;
            let order: Option<WorkOrder> = diesel::insert_into(work_orders::table)
                .values(&row)
                .on_conflict_do_nothing()
                .returning(WorkOrder::as_returning())
                .get_result(conn)
                .await
                .optional()?;
            let Some(order) = order else { continue };
            let body = format!("Opened by the rule {:?}.", rule.name);
            record(
                conn,
                &order,
                "created",
                &[NewEvent { body: Some(&body), ..NewEvent::new(order.id, None, "opened") }],
            )
            .await?;
            opened += 1;
        }
        let ids: Vec<Uuid> = alerts.iter().map(|a| a.id).collect();
        let ids_len = ids.len();
        diesel::sql_query("UPDATE alerts SET triaged = true WHERE id = ANY($1)")
            .bind::<Array<SqlUuid>, _>(ids)
            .execute(conn)
            .await?;
        Ok(Triaged { alerts: ids_len, opened })
    })
    .await
}

/// What [`follow`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Followed {
    pub proposed: usize,
    pub closed: usize,
}

/// Follows open work orders whose alert ended (at most `limit`): the clearing is recorded, the
/// work order proposed for closing, and closed when its rule says so and the device's total
/// counter moved since the fault cleared (pages print again).
pub async fn follow(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Followed> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Timestamptz)]
        ended_at: DateTime<Utc>,
        #[diesel(sql_type = Bool)]
        close_when_cleared: bool,
        #[diesel(sql_type = Nullable<BigInt>)]
        pages_since: Option<i64>,
    }
    conn.transaction(async |conn| {
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT w.id, a.ended_at, COALESCE(r.close_when_cleared, false) AS close_when_cleared, \
                    (SELECT after.value - before.value FROM \
                        (SELECT value FROM counter_readings c WHERE c.device_id = w.device_id AND c.kind = 'total' \
                           AND c.read_at <= a.ended_at ORDER BY c.read_at DESC LIMIT 1) before, \
                        (SELECT value FROM counter_readings c WHERE c.device_id = w.device_id AND c.kind = 'total' \
                           AND c.read_at > a.ended_at ORDER BY c.read_at DESC LIMIT 1) after) AS pages_since \
             FROM work_orders w JOIN alerts a ON a.id = w.alert_id \
             LEFT JOIN work_order_rules r ON r.id = w.rule_id \
             WHERE w.closed_at IS NULL AND w.alert_id IS NOT NULL AND a.ended_at IS NOT NULL \
               AND (NOT w.close_proposed OR COALESCE(r.close_when_cleared, false)) \
             ORDER BY a.ended_at LIMIT $1 FOR UPDATE OF w SKIP LOCKED",
        )
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
        let mut done = Followed::default();
        let now = Utc::now();
        for row in rows {
            let order: WorkOrder =
                work_orders::table.find(row.id).select(WorkOrder::as_select()).get_result(conn).await?;
            let mut events = Vec::new();
            let cleared =
                format!("The device stopped reporting the fault at {}.", row.ended_at.format("%Y-%m-%d %H:%M UTC"));
            if order.fault_cleared_at.is_none() {
                events.push(NewEvent { body: Some(&cleared), ..NewEvent::new(order.id, None, "cleared") });
            }
            let moving = row.pages_since.is_some_and(|p| p != 0);
            let closing = row.close_when_cleared && moving;
            let closed_note = format!(
                "Closed by rule: the fault cleared and the device printed {} pages since.",
                row.pages_since.unwrap_or(0)
            );
            if closing {
                events.push(NewEvent {
                    from_status: Some(&order.status),
                    to_status: Some(Status::Closed.name()),
                    body: Some(&closed_note),
                    ..NewEvent::new(order.id, None, "status")
                });
                done.closed += 1;
            } else if !order.close_proposed {
                events.push(NewEvent::new(order.id, None, "close_proposed"));
                done.proposed += 1;
            }
            if events.is_empty() {
                continue;
            }
            let updated = diesel::update(work_orders::table.find(order.id))
                .set((
                    work_orders::fault_cleared_at.eq(Some(row.ended_at)),
                    work_orders::close_proposed.eq(!closing),
                    work_orders::status.eq(if closing { Status::Closed.name() } else { order.status.as_str() }),
                    work_orders::closed_at.eq(closing.then_some(now)),
                    work_orders::updated_at.eq(now),
                ))
                .returning(WorkOrder::as_returning())
                .get_result(conn)
                .await?;
            record(conn, &updated, "updated", &events).await?;
        }
        Ok(done)
    })
    .await
}
