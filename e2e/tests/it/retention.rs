//! Retention: interpreted raw readings past their days are deleted (those still waiting are
//! not), counter months past their retention are dropped whole, old rows of the default
//! partition deleted, and everything recent kept.

use cartouche_e2e::agent_socket::{acked, linked, upload};
use cartouche_e2e::app::TestApp;
use cartouche_e2e::{eventually, recording};
use cartouche_schema::db::retention::{self, Removed, Retention};
use cartouche_schema::db::schema::{counter_readings, raw_batches};
use cartouche_schema::wire::{Cycle, RawReading};
use chrono::{TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

#[tokio::test(flavor = "multi_thread")]
async fn readings_past_their_retention_go_and_the_rest_stays() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await.unwrap();
    let range = TestApp::discovery_range(&admin, &site, "10.9.0.0/24").await.unwrap();
    let mut conn = app.db.conn().await.unwrap();
    // A month partition of long ago (as the api made it then).
    diesel::sql_query(
        "CREATE TABLE counter_readings_2025_01 PARTITION OF counter_readings FOR VALUES FROM ('2025-01-01') TO ('2025-02-01')",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    // One printer read in January 2025 (its month partition), in June 2024 (no partition:
    // the default one) and now.
    let (mut socket, agent_id) = linked(&app, &key, "pc-hq").await.unwrap();
    let mut configs = Vec::new();
    let konica = recording("librenms/konica_c250i.snmprec");
    let times = [
        Utc.with_ymd_and_hms(2025, 1, 15, 10, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 6, 15, 10, 0, 0).unwrap(),
        Utc::now() - chrono::Duration::minutes(5),
    ];
    for (sequence, at) in (1u64..).zip(times) {
        let mut reading = RawReading::snmp("10.9.0.11", Cycle::Discovery, at, konica.clone());
        reading.range_id = Some(range.clone());
        upload(&mut socket, sequence, vec![reading]).await;
        acked(&mut socket, sequence, &mut configs).await;
    }
    eventually("the three batches interpreted", async || {
        raw_batches::table
            .filter(raw_batches::interpreted_at.is_not_null())
            .count()
            .get_result::<i64>(&mut conn)
            .await
            .unwrap()
            == 3
    })
    .await;
    let counters_at = async |conn: &mut diesel_async::AsyncPgConnection| -> Vec<chrono::DateTime<Utc>> {
        let mut at: Vec<_> =
            counter_readings::table.select(counter_readings::read_at).distinct().load(conn).await.unwrap();
        at.sort();
        at
    };
    assert_eq!(counters_at(&mut conn).await.len(), 3, "a reading of each time");
    // Batches 1 and 2 arrived long ago (as far as retention is concerned); 2 is not yet
    // interpreted (a profile fix waiting, say), so it must stay.
    diesel::sql_query("UPDATE raw_batches SET received_at = now() - interval '200 days' WHERE sequence IN (1, 2)")
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::sql_query("UPDATE raw_batches SET interpreted_at = NULL WHERE sequence = 2")
        .execute(&mut conn)
        .await
        .unwrap();

    let retention = Retention { raw_days: Some(90), counter_months: Some(3) };
    let removed = retention::apply(&mut conn, retention, Utc::now()).await.unwrap();
    assert_eq!(
        removed,
        Removed {
            raw_batches: 1,
            counter_partitions: vec!["counter_readings_2025_01".into()],
            default_partition_rows: removed.default_partition_rows,
        }
    );
    assert!(removed.default_partition_rows > 0, "June 2024's counters were in the default partition");
    let left: Vec<i64> = raw_batches::table
        .filter(raw_batches::agent_id.eq(agent_id))
        .select(raw_batches::sequence)
        .order_by(raw_batches::sequence)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, vec![2, 3], "the old interpreted batch went; the waiting one and the recent one stay");
    assert_eq!(
        counters_at(&mut conn).await,
        vec![chrono::SubsecRound::trunc_subsecs(times[2], 6)],
        "only the recent counters stay"
    );
    // A second pass removes nothing more.
    assert_eq!(retention::apply(&mut conn, retention, Utc::now()).await.unwrap(), Removed::default());
}
