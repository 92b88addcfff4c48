//! What a report says — pages, costs, supplies, faults and repairs of a customer (or one of
//! its sites) over a period — read from the same tables and bills the console shows.

use super::*;

/// What a report says, gathered section by section (its progress written as it goes).
pub async fn gather(
    conn: &mut AsyncPgConnection,
    report: &Report,
    catalogue: &FaultCatalogue,
) -> QueryResult<Document> {
    let tenant_name: String = tenants::table.find(report.tenant_id).select(tenants::name).get_result(conn).await?;
    let site_names: Vec<(Uuid, String)> =
        sites::table.filter(sites::tenant_id.eq(report.tenant_id)).select((sites::id, sites::name)).load(conn).await?;
    let site_name = |id: Option<Uuid>| -> String {
        id.and_then(|id| site_names.iter().find(|(s, _)| *s == id).map(|(_, n)| n.clone())).unwrap_or_default()
    };
    let (from, to) = (report.period_from, report.period_to);
    let in_site = |site: Option<Uuid>| report.site_id.is_none_or(|wanted| site == Some(wanted));
    let subtitle = format!(
        "{tenant_name}{} · {from} to {}",
        report.site_id.map(|s| format!(" · {}", site_name(Some(s)))).unwrap_or_default(),
        to.pred_opt().unwrap_or(to)
    );
    let mut sections = Vec::new();

    // Pages, per device and per site.
    Report::set_progress(conn, report.id, 5, "pages").await?;
    let meters = crate::db::billing::tenant_pages(conn, report.tenant_id, from, to).await?;
    let mut devices = Vec::new();
    let mut per_site: std::collections::BTreeMap<String, (i64, i64)> = std::collections::BTreeMap::new();
    for device in meters.chunk_by(|a, b| a.device_id == b.device_id) {
        let first = &device[0];
        if !in_site(first.site_id) {
            continue;
        }
        let pages = crate::billing::DevicePages::from_meters(
            device.iter().filter_map(|m| Some((m.kind.as_deref()?, m.pages, m.held))),
        );
        let site = per_site.entry(site_name(first.site_id)).or_default();
        site.0 += pages.mono;
        site.1 += pages.color;
        devices.push(vec![
            Cell::Text(site_name(first.site_id)),
            Cell::from(first.model.clone()),
            Cell::from(first.serial.clone()),
            Cell::Integer(pages.mono),
            Cell::Integer(pages.color),
            Cell::Integer(pages.large),
            Cell::Integer(pages.held),
        ]);
    }
    sections.push(Section {
        title: "Pages per site".into(),
        columns: vec![
            Column::new("Site", ColumnKind::Text),
            Column::new("Mono", ColumnKind::Integer),
            Column::new("Colour", ColumnKind::Integer),
            Column::new("Total", ColumnKind::Integer),
        ],
        rows: per_site
            .into_iter()
            .map(|(site, (mono, color))| {
                vec![Cell::Text(site), Cell::Integer(mono), Cell::Integer(color), Cell::Integer(mono + color)]
            })
            .collect(),
        chart: Some(Chart { title: "Pages per site".into(), label_column: 0, value_column: 3 }),
        note: None,
    });
    sections.push(Section {
        title: "Pages per device".into(),
        columns: vec![
            Column::new("Site", ColumnKind::Text),
            Column::new("Model", ColumnKind::Text),
            Column::new("Serial", ColumnKind::Text),
            Column::new("Mono", ColumnKind::Integer),
            Column::new("Colour", ColumnKind::Integer),
            Column::new("Large format", ColumnKind::Integer),
            Column::new("Held for review", ColumnKind::Integer),
        ],
        rows: devices,
        chart: None,
        note: Some("Held pages are under review and not billed.".into()),
    });

    // Costs, month by month (whole months overlapping the period).
    let mut months = Vec::new();
    let mut month = from.with_day(1).unwrap_or(from);
    while month < to {
        let next = month.checked_add_months(chrono::Months::new(1)).unwrap_or(to);
        months.push((month, next));
        month = next;
    }
    let mut cost_rows = Vec::new();
    for (i, (start, end)) in months.iter().enumerate() {
        let progress = 20 + i32::try_from(i * 40 / months.len().max(1)).unwrap_or(0);
        Report::set_progress(conn, report.id, progress, "costs").await?;
        let bill = crate::db::bills::month_bill(conn, report.tenant_id, *start, *end).await?;
        let billed: Micros = match report.site_id {
            Some(site) => bill.sites().get(&Some(site)).map_or(0, |s| s.amount),
            None => bill.plans.iter().map(|p| p.bill.total).sum(),
        };
        let wanted = |device: &Uuid| match report.site_id {
            None => true,
            Some(_) => bill.plans.iter().flat_map(|p| &p.lines).any(|l| l.device_id == *device && in_site(l.site_id)),
        };
        let supplies: Micros = crate::db::shipments::supply_costs(conn, report.tenant_id, *start, *end)
            .await?
            .iter()
            .filter(|(d, _)| wanted(d))
            .map(|(_, c)| c)
            .sum();
        let repairs: Micros = crate::db::work_orders::service_costs(conn, report.tenant_id, *start, *end)
            .await?
            .iter()
            .filter(|(d, _, _)| wanted(d))
            .map(|(_, c, _)| c)
            .sum();
        cost_rows.push(vec![
            Cell::Text(start.format("%Y-%m").to_string()),
            Cell::Money(billed),
            Cell::Money(supplies),
            Cell::Money(repairs),
            Cell::Money(billed - supplies - repairs),
        ]);
    }
    sections.push(Section {
        title: "Costs per month".into(),
        columns: vec![
            Column::new("Month", ColumnKind::Text),
            Column::new("Billed", ColumnKind::Money),
            Column::new("Supplies", ColumnKind::Money),
            Column::new("Repairs", ColumnKind::Money),
            Column::new("Margin", ColumnKind::Money),
        ],
        rows: cost_rows,
        chart: Some(Chart { title: "Billed per month".into(), label_column: 0, value_column: 1 }),
        note: Some(if report.site_id.is_some() {
            "Whole months. For one site, billed is its devices' lines, before the plan's pooled volume and minimum."
                .into()
        } else {
            "Whole months, from the bills of the price plans in force.".into()
        }),
    });

    // Supplies: what happened to them in the period.
    Report::set_progress(conn, report.id, 65, "supplies").await?;
    #[derive(QueryableByName)]
    struct SupplyRow {
        #[diesel(sql_type = Timestamptz)]
        at: DateTime<Utc>,
        #[diesel(sql_type = Nullable<SqlUuid>)]
        site_id: Option<Uuid>,
        #[diesel(sql_type = Nullable<Text>)]
        model: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        serial: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        supply: Option<String>,
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Nullable<Text>)]
        detail: Option<String>,
    }
    let supply_rows: Vec<SupplyRow> = about(
        report,
        "SELECT e.at, d.site_id, d.model, d.serial, coalesce(s.description, s.kind) AS supply, e.kind, \
           CASE WHEN e.detail ? 'from' THEN (e.detail->>'from') || ' → ' || (e.detail->>'to') END AS detail \
         FROM supply_events e JOIN devices d ON d.id = e.device_id \
         LEFT JOIN supplies s ON s.device_id = e.device_id AND s.supply_index = e.supply_index \
         WHERE e.tenant_id = $1 AND e.at >= $2 AND e.at < $3 AND ($4::uuid IS NULL OR d.site_id = $4) \
         ORDER BY e.at",
    )
    .load(conn)
    .await?;
    sections.push(Section {
        title: "Supplies".into(),
        columns: vec![
            Column::new("Date", ColumnKind::Text),
            Column::new("Site", ColumnKind::Text),
            Column::new("Model", ColumnKind::Text),
            Column::new("Serial", ColumnKind::Text),
            Column::new("Supply", ColumnKind::Text),
            Column::new("Event", ColumnKind::Text),
            Column::new("Detail", ColumnKind::Text),
        ],
        rows: supply_rows
            .into_iter()
            .map(|r| {
                vec![
                    Cell::Text(r.at.format("%Y-%m-%d").to_string()),
                    Cell::Text(site_name(r.site_id)),
                    Cell::from(r.model),
                    Cell::from(r.serial),
                    Cell::from(r.supply),
                    Cell::Text(r.kind.replace('_', " ")),
                    Cell::from(r.detail),
                ]
            })
            .collect(),
        chart: None,
        note: None,
    });

    // Faults that ended in the period, per type.
    Report::set_progress(conn, report.id, 75, "faults").await?;
    #[derive(QueryableByName)]
    struct FaultRow {
        #[diesel(sql_type = Text)]
        fault_type: String,
        #[diesel(sql_type = BigInt)]
        count: i64,
        #[diesel(sql_type = Double)]
        mean: f64,
        #[diesel(sql_type = Double)]
        median: f64,
        #[diesel(sql_type = Double)]
        p90: f64,
    }
    let faults: Vec<FaultRow> = about(
        report,
        "SELECT fault_type, count(*) AS count, avg(m) AS mean, \
           percentile_cont(0.5) WITHIN GROUP (ORDER BY m) AS median, percentile_cont(0.9) WITHIN GROUP (ORDER BY m) AS p90 \
         FROM (SELECT a.fault_type, extract(epoch FROM a.ended_at - a.started_at)::float8 / 60 AS m \
               FROM alerts a JOIN devices d ON d.id = a.device_id \
               WHERE a.tenant_id = $1 AND a.ended_at >= $2 AND a.ended_at < $3 AND ($4::uuid IS NULL OR d.site_id = $4)) f \
         GROUP BY fault_type ORDER BY count DESC, fault_type",
    )
    .load(conn)
    .await?;
    sections.push(Section {
        title: "Faults".into(),
        columns: vec![
            Column::new("Fault", ColumnKind::Text),
            Column::new("Count", ColumnKind::Integer),
            Column::new("Mean minutes", ColumnKind::Decimal),
            Column::new("Median minutes", ColumnKind::Decimal),
            Column::new("90th percentile minutes", ColumnKind::Decimal),
        ],
        rows: faults
            .into_iter()
            .map(|f| {
                vec![
                    Cell::Text(catalogue.of_type(&f.fault_type).title.clone()),
                    Cell::Integer(f.count),
                    Cell::Decimal(f.mean),
                    Cell::Decimal(f.median),
                    Cell::Decimal(f.p90),
                ]
            })
            .collect(),
        chart: Some(Chart { title: "Faults by type".into(), label_column: 0, value_column: 1 }),
        note: Some("Faults that ended in the period, from the device's first report to its last.".into()),
    });

    // Repairs opened or closed in the period.
    Report::set_progress(conn, report.id, 85, "repairs").await?;
    #[derive(QueryableByName)]
    struct RepairRow {
        #[diesel(sql_type = Timestamptz)]
        opened_at: DateTime<Utc>,
        #[diesel(sql_type = Nullable<Text>)]
        model: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        serial: Option<String>,
        #[diesel(sql_type = Text)]
        title: String,
        #[diesel(sql_type = Text)]
        skill: String,
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = Nullable<BigInt>)]
        estimate: Option<i64>,
        #[diesel(sql_type = Nullable<Timestamptz>)]
        closed_at: Option<DateTime<Utc>>,
    }
    let repairs: Vec<RepairRow> = about(
        report,
        "SELECT w.opened_at, d.model, d.serial, w.title, w.skill, w.status, \
           w.estimated_labour + w.estimated_parts AS estimate, w.closed_at \
         FROM work_orders w JOIN devices d ON d.id = w.device_id \
         WHERE w.tenant_id = $1 AND ($4::uuid IS NULL OR d.site_id = $4) \
           AND ((w.opened_at >= $2 AND w.opened_at < $3) OR (w.closed_at >= $2 AND w.closed_at < $3)) \
         ORDER BY w.opened_at",
    )
    .load(conn)
    .await?;
    sections.push(Section {
        title: "Repairs".into(),
        columns: vec![
            Column::new("Opened", ColumnKind::Text),
            Column::new("Model", ColumnKind::Text),
            Column::new("Serial", ColumnKind::Text),
            Column::new("Fault", ColumnKind::Text),
            Column::new("Who fixes", ColumnKind::Text),
            Column::new("Status", ColumnKind::Text),
            Column::new("Estimate", ColumnKind::Money),
            Column::new("Closed", ColumnKind::Text),
        ],
        rows: repairs
            .into_iter()
            .map(|r| {
                vec![
                    Cell::Text(r.opened_at.format("%Y-%m-%d").to_string()),
                    Cell::from(r.model),
                    Cell::from(r.serial),
                    Cell::Text(r.title),
                    Cell::Text(r.skill.replace('_', " ")),
                    Cell::Text(r.status.replace('_', " ")),
                    r.estimate.map_or(Cell::Empty, Cell::Money),
                    r.closed_at.map_or(Cell::Empty, |c| Cell::Text(c.format("%Y-%m-%d").to_string())),
                ]
            })
            .collect(),
        chart: None,
        note: None,
    });
    Report::set_progress(conn, report.id, 95, "rendering").await?;
    Ok(Document { title: "Fleet report".into(), subtitle, sections })
}

/// A query about a report's subject: `$1` its tenant, `$2` and `$3` its period's first and
/// excluded last day (UTC midnights), `$4` its site (null: all).
fn about(
    report: &Report,
    sql: &str,
) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
    let midnight = |day: NaiveDate| day.and_time(chrono::NaiveTime::MIN).and_utc();
    diesel::sql_query(sql)
        .into_boxed()
        .bind::<SqlUuid, _>(report.tenant_id)
        .bind::<Timestamptz, _>(midnight(report.period_from))
        .bind::<Timestamptz, _>(midnight(report.period_to))
        .bind::<Nullable<SqlUuid>, _>(report.site_id)
}
