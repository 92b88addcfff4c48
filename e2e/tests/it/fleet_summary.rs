//! The fleet at a glance: counts by status, open alerts, low supplies and agents, for the
//! caller's tenants or one of their sites; nothing of another tenant's.

use cartouche_e2e::agent_socket;
use cartouche_e2e::app::TestApp;
use cartouche_e2e::recording;
use cartouche_schema::domain::Role;
use cartouche_schema::wire::{Cycle, RawReading};
use diesel_async::RunQueryDsl;
use serde_json::json;

const SUMMARY: &str = "query($site: ID, $low: Float) { fleetSummary(siteId: $site, lowSupplyPercent: $low) {
    devices ok warning error offline unknown openAlerts lowSupplies agents agentsConnected } }";

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn the_summary_counts_what_the_caller_sees() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "Lyon").await.unwrap();
    let (empty_site, _) = TestApp::site_with_enrollment_key(&admin, "Annecy").await.unwrap();
    let (agent_id, credential) = agent_socket::enrolled(&app, &key, "pc-lyon").await.unwrap();
    let (mut socket, _) = agent_socket::connect(&app, &agent_id, &credential).await.unwrap();
    let at = chrono::Utc::now() - chrono::Duration::minutes(5);
    let readings = vec![
        RawReading::snmp(
            "10.9.0.11",
            Cycle::Discovery,
            at,
            cartouche_e2e::jammed(&recording("librenms/konica_c250i.snmprec")),
        ),
        RawReading::snmp("10.9.0.12", Cycle::Discovery, at, recording("librenms/brother_hl5370dw.snmprec")),
    ];
    assert_eq!(agent_socket::deliver(&app, &mut socket, agent_id.parse().unwrap(), 1, readings).await, None);

    // What the summary should say, counted row by row.
    let mut conn = app.db.conn().await.unwrap();
    let mut count = async |sql: &str| diesel::sql_query(sql).get_result::<N>(&mut conn).await.unwrap().n;
    let expected = json!({
        "devices": count("SELECT count(*) AS n FROM devices").await,
        "ok": count("SELECT count(*) AS n FROM devices WHERE status = 'ok'").await,
        "warning": count("SELECT count(*) AS n FROM devices WHERE status = 'warning'").await,
        "error": count("SELECT count(*) AS n FROM devices WHERE status = 'error'").await,
        "offline": 0,
        "unknown": count("SELECT count(*) AS n FROM devices WHERE status = 'unknown'").await,
        "openAlerts": count("SELECT count(*) AS n FROM alerts WHERE ended_at IS NULL").await,
        "lowSupplies": count("SELECT count(*) AS n FROM supplies WHERE percent < 25").await,
        "agents": 1,
        "agentsConnected": 1,
    });
    assert_eq!(expected["devices"], 2);
    assert!(
        expected["openAlerts"].as_i64().unwrap() > 0 && expected["lowSupplies"].as_i64().unwrap() > 0,
        "{expected}"
    );
    let summary = admin.data(SUMMARY, json!({ "low": 25.0 }), "fleetSummary").await.unwrap();
    assert_eq!(summary, expected);
    let on_site = admin.data(SUMMARY, json!({ "site": site, "low": 25.0 }), "fleetSummary").await.unwrap();
    assert_eq!(on_site, expected);
    let elsewhere = admin.data(SUMMARY, json!({ "site": empty_site }), "fleetSummary").await.unwrap();
    assert_eq!((elsewhere["devices"].clone(), elsewhere["agents"].clone()), (json!(0), json!(0)));

    // The agent goes away: no longer counted as linked.
    drop(socket);
    cartouche_e2e::eventually("the agent counted as not linked", async || {
        admin.data(SUMMARY, json!({}), "fleetSummary").await.unwrap()["agentsConnected"] == 0
    })
    .await;

    // Another tenant: nothing of Acme's, and Acme's site is not found.
    let globex = app.tenant("Globex", None).await.unwrap();
    app.user(globex.id, "eve@globex.test", Role::Admin, "correct horse battery").await.unwrap();
    let eve = app.signed_in("eve@globex.test", "correct horse battery").await.unwrap();
    let theirs = eve.data(SUMMARY, json!({}), "fleetSummary").await.unwrap();
    assert_eq!(
        (theirs["devices"].clone(), theirs["openAlerts"].clone(), theirs["agents"].clone()),
        (json!(0), json!(0), json!(0))
    );
    assert_eq!(eve.run(SUMMARY, json!({ "site": site })).await.unwrap().error_code(), Some("NOT_FOUND"));
    // A threshold outside 0–100 names the argument.
    assert_eq!(admin.run(SUMMARY, json!({ "low": 150.0 })).await.unwrap().error_field(), Some("lowSupplyPercent"));
}
