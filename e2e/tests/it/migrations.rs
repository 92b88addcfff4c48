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
