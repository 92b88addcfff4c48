use cartouche_e2e::db::TestDb;
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn our_tables(db: &TestDb) -> anyhow::Result<i64> {
    let mut conn = db.conn().await?;
    let count: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .get_result(&mut conn)
    .await?;
    Ok(count.n)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_migration_reverts_and_applies_again() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let before = our_tables(&db).await?;
    assert!(before >= 7, "the template is migrated ({before} tables)");
    let reverted =
        cartouche_schema::db::revert_all_migrations(db.conn().await?).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    assert!(!reverted.is_empty());
    assert_eq!(our_tables(&db).await?, 0, "down.sql leaves nothing behind");
    let applied = cartouche_schema::db::run_migrations(db.conn().await?).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(applied.len(), reverted.len());
    assert_eq!(our_tables(&db).await?, before);
    // Running again applies nothing.
    let again = cartouche_schema::db::run_migrations(db.conn().await?).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    assert!(again.is_empty());
    Ok(())
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

/// The columns diesel's `schema.rs` declares for a table, read back from the SQL it generates.
fn declared<T>(table: T, columns: T::AllColumns) -> Vec<(String, String)>
where
    T: diesel::Table + diesel::QuerySource + diesel::query_dsl::methods::SelectDsl<T::AllColumns>,
    <T as diesel::query_dsl::methods::SelectDsl<T::AllColumns>>::Output:
        diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    let sql = diesel::debug_query::<diesel::pg::Pg, _>(&diesel::QueryDsl::select(table, columns)).to_string();
    let select = sql.split(" FROM ").next().unwrap_or_default();
    select
        .split(", ")
        .filter_map(|part| {
            let mut names = part.split('"').filter(|s| !s.is_empty() && *s != "." && !s.starts_with("SELECT"));
            Some((names.next()?.to_owned(), names.next()?.to_owned()))
        })
        .collect()
}

/// `schema.rs` is generated from the migrations; this catches a migration whose schema was not
/// regenerated (`./dev schema-rs`), column by column.
#[tokio::test(flavor = "multi_thread")]
async fn schema_rs_declares_exactly_the_migrated_columns() -> anyhow::Result<()> {
    use cartouche_schema::db::schema::*;
    let db = TestDb::new().await?;
    let mut conn = db.conn().await?;
    let mut actual: Vec<(String, String)> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load::<Column>(&mut conn)
    .await?
    .into_iter()
    .map(|c| (c.table_name, c.column_name))
    .collect();
    let mut expected = Vec::new();
    expected.extend(declared(agents::table, agents::all_columns));
    expected.extend(declared(enrollment_keys::table, enrollment_keys::all_columns));
    expected.extend(declared(raw_batches::table, raw_batches::all_columns));
    expected.extend(declared(cycle_reports::table, cycle_reports::all_columns));
    expected.extend(declared(snmp_credentials::table, snmp_credentials::all_columns));
    expected.extend(declared(discovery_ranges::table, discovery_ranges::all_columns));
    expected.extend(declared(agent_commands::table, agent_commands::all_columns));
    expected.extend(declared(devices::table, devices::all_columns));
    expected.extend(declared(device_addresses::table, device_addresses::all_columns));
    expected.extend(declared(counter_readings::table, counter_readings::all_columns));
    expected.extend(declared(counter_readings_default::table, counter_readings_default::all_columns));
    expected.extend(declared(latest_counters::table, latest_counters::all_columns));
    expected.extend(declared(supplies::table, supplies::all_columns));
    expected.extend(declared(supply_events::table, supply_events::all_columns));
    expected.extend(declared(alerts::table, alerts::all_columns));
    expected.extend(declared(device_status_history::table, device_status_history::all_columns));
    expected.extend(declared(page_counts::table, page_counts::all_columns));
    expected.extend(declared(accounting_outbox::table, accounting_outbox::all_columns));
    expected.extend(declared(price_plans::table, price_plans::all_columns));
    expected.extend(declared(supply_models::table, supply_models::all_columns));
    expected.extend(declared(shipments::table, shipments::all_columns));
    expected.extend(declared(shipped_supplies::table, shipped_supplies::all_columns));
    expected.extend(declared(supply_levels::table, supply_levels::all_columns));
    expected.extend(declared(reports::table, reports::all_columns));
    expected.extend(declared(webhooks::table, webhooks::all_columns));
    expected.extend(declared(tenant_notification_settings::table, tenant_notification_settings::all_columns));
    expected.extend(declared(notification_preferences::table, notification_preferences::all_columns));
    expected.extend(declared(notifications::table, notifications::all_columns));
    expected.extend(declared(deliveries::table, deliveries::all_columns));
    expected.extend(declared(report_schedules::table, report_schedules::all_columns));
    expected.extend(declared(labour_rates::table, labour_rates::all_columns));
    expected.extend(declared(work_order_rules::table, work_order_rules::all_columns));
    expected.extend(declared(work_orders::table, work_orders::all_columns));
    expected.extend(declared(work_order_events::table, work_order_events::all_columns));
    expected.extend(declared(api_tokens::table, api_tokens::all_columns));
    expected.extend(declared(login_throttle::table, login_throttle::all_columns));
    expected.extend(declared(refresh_tokens::table, refresh_tokens::all_columns));
    expected.extend(declared(sessions::table, sessions::all_columns));
    expected.extend(declared(sites::table, sites::all_columns));
    expected.extend(declared(tenants::table, tenants::all_columns));
    expected.extend(declared(users::table, users::all_columns));
    actual.sort();
    expected.sort();
    assert_eq!(expected, actual, "schema/src/db/schema.rs differs from the migrated database");
    Ok(())
}
