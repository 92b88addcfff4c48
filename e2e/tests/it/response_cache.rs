//! Kept answers to fleet queries: the same bytes while nothing changed, never another caller's,
//! fresh at once after a mutation here, and fresh after a change an agent uploads well before
//! they would age out (the event bus, not a timer, makes them stale).

use std::time::{Duration, Instant};

use cartouche_e2e::agent_socket;
use cartouche_e2e::app::TestApp;
use cartouche_e2e::recording;
use cartouche_schema::domain::Role;
use cartouche_schema::wire::{Cycle, RawReading};
use serde_json::{Value, json};

const PAGE: &str = "{ devices(first: 10) { edges { node { serial siteId supplies { index percent } } } } }";
const CYAN_LEVEL: &str = "1.3.6.1.2.1.43.11.1.1.9.1.1";

fn cyan(page: &Value) -> Option<f64> {
    page["edges"][0]["node"]["supplies"].as_array()?.iter().find(|s| s["index"] == 1)?["percent"].as_f64()
}

#[tokio::test(flavor = "multi_thread")]
async fn kept_answers_are_per_caller_and_go_stale_with_changes_not_time() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await.unwrap();
    let (agent_id, credential) = agent_socket::enrolled(&app, &key, "pc-hq").await.unwrap();
    let agent: uuid::Uuid = agent_id.parse().unwrap();
    let (mut socket, _) = agent_socket::connect(&app, &agent_id, &credential).await.unwrap();
    let konica = recording("librenms/konica_c250i.snmprec");
    let t0 = chrono::Utc::now() - chrono::Duration::hours(2);
    let discovered = vec![RawReading::snmp("10.9.0.11", Cycle::Discovery, t0, konica.clone())];
    assert_eq!(agent_socket::deliver(&app, &mut socket, agent, 1, discovered).await, None);

    let first = admin.data(PAGE, json!({}), "devices").await.unwrap();
    assert_eq!(first["edges"][0]["node"]["siteId"], json!(site));
    assert_eq!(cyan(&first), Some(76.0));
    assert_eq!(admin.data(PAGE, json!({}), "devices").await.unwrap(), first, "asked again: the same answer");
    // Kept: a change made behind the api's back (no event) is not seen, unless asked afresh.
    {
        use diesel_async::RunQueryDsl;
        let mut conn = app.db.conn().await.unwrap();
        diesel::sql_query("UPDATE supplies SET percent = 12 WHERE supply_index = 1").execute(&mut conn).await.unwrap();
    }
    assert_eq!(cyan(&admin.data(PAGE, json!({}), "devices").await.unwrap()), Some(76.0));
    let fresh: Value = app
        .http
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(admin.bearer().unwrap())
        .header("cache-control", "no-cache")
        .json(&json!({ "query": PAGE }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cyan(&fresh["data"]["devices"]), Some(12.0));

    // Another tenant asking the very same question gets its own (empty) fleet.
    let globex = app.tenant("Globex", None).await.unwrap();
    app.user(globex.id, "eve@globex.test", Role::Admin, "correct horse battery").await.unwrap();
    let eve = app.signed_in("eve@globex.test", "correct horse battery").await.unwrap();
    assert_eq!(eve.data(PAGE, json!({}), "devices").await.unwrap()["edges"], json!([]));

    // A mutation here: the very next answer has it (the site's devices are left without one).
    admin.data("mutation($id: ID!) { deleteSite(id: $id) }", json!({ "id": site }), "deleteSite").await.unwrap();
    let moved = admin.data(PAGE, json!({}), "devices").await.unwrap();
    assert_eq!(moved["edges"][0]["node"]["siteId"], Value::Null);

    // A reading uploaded by the agent: the answer follows within moments, long before a kept
    // answer would age out (5 s).
    let mut reading = RawReading::snmp(
        "10.9.0.11",
        Cycle::Counters,
        t0 + chrono::Duration::hours(1),
        konica.replace(&format!("{CYAN_LEVEL}|2|76"), &format!("{CYAN_LEVEL}|2|40")),
    );
    let id: String = {
        let page = admin.data("{ devices(first: 1) { edges { node { id } } } }", json!({}), "devices").await.unwrap();
        page["edges"][0]["node"]["id"].as_str().unwrap().to_owned()
    };
    reading.device_id = Some(id);
    assert_eq!(
        cyan(&admin.data(PAGE, json!({}), "devices").await.unwrap()),
        Some(12.0),
        "kept before the change (the fresh answer replaced it)"
    );
    assert_eq!(agent_socket::deliver(&app, &mut socket, agent, 2, vec![reading]).await, None);
    let since = Instant::now();
    loop {
        if cyan(&admin.data(PAGE, json!({}), "devices").await.unwrap()) == Some(40.0) {
            break;
        }
        assert!(since.elapsed() < Duration::from_secs(2), "the kept answer outlived the change");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
