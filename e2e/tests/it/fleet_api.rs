//! The fleet in GraphQL, on data an agent uploaded: devices paged and filtered in SQL, a
//! device's latest counters, series, supplies, alerts, addresses and the raw reading behind a
//! value; fleet-wide supplies and alerts; live changes; and none of it visible to another
//! tenant.

use std::time::Duration;

use cartouche_e2e::agent_socket::{self, acked, interpreted, upload};
use cartouche_e2e::app::TestApp;
use cartouche_e2e::recording;
use cartouche_e2e::ws::Subscriber;
use cartouche_schema::domain::Role;
use cartouche_schema::wire::{Cycle, RawReading};
use serde_json::{Value, json};

/// The tenant the client's user belongs to.
async fn home_tenant(admin: &cartouche_e2e::graphql::GraphqlClient) -> uuid::Uuid {
    let me = admin.data("{ me { tenant { id } } }", json!({}), "me").await.unwrap();
    me["tenant"]["id"].as_str().unwrap().parse().unwrap()
}

const PRINTERS: [&str; 3] =
    ["librenms/konica_c250i.snmprec", "librenms/brother_hl5370dw.snmprec", "librenms/jetdirect.snmprec"];

const DEVICE: &str = "query($id: ID!, $from: DateTime!, $to: DateTime!) { device(id: $id) {
    id serial model vendor address status kind siteId
    latestCounters { kind value flag source { sequence reading } }
    supplies { index kind percent state source { sequence } }
    counters(kind: \"total\", from: $from, to: $to, granularity: DAY) { period value flag }
    alerts(first: 10) { edges { node { faultType endedAt } } }
    addresses { address firstSeenAt }
} }";

#[tokio::test(flavor = "multi_thread")]
async fn the_fleet_api_pages_filters_traces_and_keeps_tenants_apart() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await.unwrap();
    let (agent_id, credential) = agent_socket::enrolled(&app, &key, "pc-hq").await.unwrap();
    let agent: uuid::Uuid = agent_id.parse().unwrap();

    // Another tenant watches everything it may see; Acme watches its site.
    let globex = app.tenant("Globex", None).await.unwrap();
    app.user(globex.id, "eve@globex.test", Role::Admin, "correct horse battery").await.unwrap();
    let eve = app.signed_in("eve@globex.test", "correct horse battery").await.unwrap();
    let mut eve_watch = Subscriber::authenticated(&app.ws_url(), eve.bearer().unwrap()).await.unwrap();
    eve_watch.subscribe("d", "subscription { deviceUpdated { deviceId } }", json!({})).await.unwrap();
    eve_watch.subscribe("a", "subscription { agentStatusChanged { agentId } }", json!({})).await.unwrap();
    eve_watch.subscribe("s", "subscription { supplyChanged { deviceId } }", json!({})).await.unwrap();
    eve_watch.subscribe("l", "subscription { alertChanged { deviceId } }", json!({})).await.unwrap();
    let mut watch = Subscriber::authenticated(&app.ws_url(), admin.bearer().unwrap()).await.unwrap();
    watch
        .subscribe(
            "d",
            "subscription($site: ID) { deviceUpdated(siteId: $site) { deviceId device { serial } } }",
            json!({ "site": site }),
        )
        .await
        .unwrap();
    watch.subscribe("a", "subscription { agentStatusChanged { agentId agent { status } } }", json!({})).await.unwrap();
    watch.subscribe("s", "subscription { supplyChanged { deviceId } }", json!({})).await.unwrap();
    // graphql-transport-ws does not acknowledge a subscribe: the subscriptions are live once
    // a change made now (renaming the agent) comes through the last one.
    let mut live = false;
    for _ in 0..20 {
        admin
            .data(
                "mutation($id: ID!) { configureAgent(id: $id, input: { name: \"pc-hq\" }) { id } }",
                json!({ "id": agent_id }),
                "configureAgent",
            )
            .await
            .unwrap();
        if watch.next_event("a", Duration::from_millis(500)).await.is_ok() {
            live = true;
            break;
        }
    }
    assert!(live, "the subscriptions never started");

    // The agent connects (its status changes, live) and uploads three printers.
    let (mut socket, _) = agent_socket::connect(&app, &agent_id, &credential).await.unwrap();
    // (A rename of the readiness check may still be on its way: the link's change follows.)
    loop {
        let status = watch.next_event("a", Duration::from_secs(10)).await.unwrap();
        assert_eq!(status["data"]["agentStatusChanged"]["agentId"], agent_id);
        if status["data"]["agentStatusChanged"]["agent"]["status"] == "CONNECTED" {
            break;
        }
    }
    let day = chrono::Duration::days(1);
    let t0 = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now() - day * 3, 0);
    let readings: Vec<RawReading> = PRINTERS
        .iter()
        .zip(1..)
        .map(|(file, i)| RawReading::snmp(format!("10.20.0.{i}"), Cycle::Discovery, t0, recording(file)))
        .collect();
    upload(&mut socket, 1, readings).await;
    let mut configs = Vec::new();
    acked(&mut socket, 1, &mut configs).await;
    assert_eq!(interpreted(&app, agent, 1).await, None);
    let event = watch.next_event("d", Duration::from_secs(10)).await.unwrap();
    assert!(event["data"]["deviceUpdated"]["device"]["serial"].is_string(), "{event}");
    watch.next_event("s", Duration::from_secs(10)).await.unwrap();

    // Pages: two, then the rest, in a stable order; a cursor that is not ours is refused.
    let page = "query($after: String, $filter: DeviceFilterInput) { devices(first: 2, after: $after, filter: $filter) {
        edges { cursor node { id serial model vendor address status } } pageInfo { hasNextPage endCursor } } }";
    let first = admin.data(page, json!({}), "devices").await.unwrap();
    assert_eq!(first["edges"].as_array().unwrap().len(), 2);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let rest = admin.data(page, json!({ "after": first["pageInfo"]["endCursor"] }), "devices").await.unwrap();
    assert_eq!(rest["edges"].as_array().unwrap().len(), 1);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    let all: Vec<Value> = first["edges"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["edges"].as_array().unwrap())
        .map(|e| e["node"].clone())
        .collect();
    let bad = admin.run(page, json!({ "after": "bm90LWEtY3Vyc29y" })).await.unwrap();
    assert_eq!((bad.error_code(), bad.error_field()), (Some("VALIDATION"), Some("after")));
    let long = admin.run(page, json!({ "filter": { "search": "x".repeat(101) } })).await.unwrap();
    assert_eq!(long.error_field(), Some("filter.search"));

    // Filters run in SQL: by part of a serial, by vendor, by status, by site.
    let konica = all.iter().find(|d| d["address"] == "10.20.0.1").unwrap().clone();
    let serial = konica["serial"].as_str().expect("the Konica has a serial").to_owned();
    let part = &serial[1..serial.len() - 1];
    let found = admin.data(page, json!({ "filter": { "search": part.to_lowercase() } }), "devices").await.unwrap();
    let ids: Vec<&Value> = found["edges"].as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
    assert_eq!(ids, vec![&konica["id"]]);
    let vendor = konica["vendor"].as_str().unwrap().to_uppercase();
    let by_vendor = admin.data(page, json!({ "filter": { "vendor": vendor } }), "devices").await.unwrap();
    assert!(by_vendor["edges"].as_array().unwrap().iter().all(|e| e["node"]["vendor"] == konica["vendor"]));
    let status = konica["status"].as_str().unwrap();
    let by_status = admin.data(page, json!({ "filter": { "status": status } }), "devices").await.unwrap();
    assert!(by_status["edges"].as_array().unwrap().iter().any(|e| e["node"]["id"] == konica["id"]));
    let elsewhere = admin
        .data("mutation { createSite(input: { name: \"Annex\", timeZone: \"UTC\" }) { id } }", json!({}), "createSite")
        .await
        .unwrap();
    let none = admin.data(page, json!({ "filter": { "siteId": elsewhere["id"] } }), "devices").await.unwrap();
    assert_eq!(none["edges"], json!([]));

    // A day later: a counters reading; the series has one point a day, each traceable.
    let mut later = RawReading::snmp("10.20.0.1", Cycle::Counters, t0 + day, recording(PRINTERS[0]));
    later.device_id = konica["id"].as_str().map(str::to_owned);
    upload(&mut socket, 2, vec![later]).await;
    acked(&mut socket, 2, &mut configs).await;
    interpreted(&app, agent, 2).await;
    let vars = json!({ "id": konica["id"], "from": (t0 - day).to_rfc3339(), "to": (t0 + day * 2).to_rfc3339() });
    let device = admin.data(DEVICE, vars.clone(), "device").await.unwrap();
    assert_eq!(device["serial"], konica["serial"]);
    assert_eq!(device["kind"], "SNMP");
    assert_eq!(device["siteId"], site);
    let total = device["latestCounters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "total")
        .expect("a total counter")
        .clone();
    assert_eq!(total["source"]["sequence"], 2);
    let raw = &total["source"]["reading"];
    assert_eq!(raw["address"], "10.20.0.1");
    assert!(
        raw["snmprec"].as_str().unwrap().contains("1.3.6.1.2.1.43.10.2.1.4.1.1|"),
        "the varbinds the value came from"
    );
    let series = device["counters"].as_array().unwrap();
    assert_eq!(series.len(), 2, "{series:?}");
    assert_eq!(series[0]["value"], total["value"]);
    assert!(!device["supplies"].as_array().unwrap().is_empty());
    assert_eq!(device["addresses"][0]["address"], "10.20.0.1");
    let bad_range = admin
        .run(DEVICE, json!({ "id": konica["id"], "from": t0.to_rfc3339(), "to": (t0 - day).to_rfc3339() }))
        .await
        .unwrap();
    assert_eq!(bad_range.error_field(), Some("to"));

    // Fleet-wide supplies, lowest first, and alerts.
    let supplies = admin
        .data(
            "{ supplies(first: 200, filter: { belowPercent: 100 }) { edges { node { percent kind device { id serial } } } } }",
            json!({}),
            "supplies",
        )
        .await
        .unwrap();
    let levels: Vec<f64> =
        supplies["edges"].as_array().unwrap().iter().map(|e| e["node"]["percent"].as_f64().unwrap()).collect();
    assert!(!levels.is_empty());
    assert!(levels.windows(2).all(|w| w[0] <= w[1]), "lowest first: {levels:?}");
    assert!(levels.iter().all(|l| *l < 100.0));
    let bad = admin.run("{ supplies(filter: { belowPercent: 150 }) { edges { cursor } } }", json!({})).await.unwrap();
    assert_eq!(bad.error_field(), Some("filter.belowPercent"));
    admin
        .data("{ alerts(filter: { open: true }) { edges { node { faultType device { id } } } } }", json!({}), "alerts")
        .await
        .unwrap();

    // Another tenant: nothing, by list or by id; no event reached it.
    let seen = eve
        .data(
            "{ devices { edges { node { id } } } supplies { edges { cursor } } alerts { edges { cursor } } }",
            json!({}),
            "devices",
        )
        .await
        .unwrap();
    assert_eq!(seen["edges"], json!([]));
    let stolen = eve.run(DEVICE, vars).await.unwrap();
    assert_eq!(stolen.error_code(), Some("NOT_FOUND"));
    let peek = eve
        .run(
            "query($site: ID!) { devices(filter: { siteId: $site }) { edges { node { id } } } }",
            json!({ "site": site }),
        )
        .await
        .unwrap();
    assert_eq!(peek.data("devices").unwrap()["edges"], json!([]));
    let quiet = eve_watch.next_message(Duration::from_millis(500)).await;
    assert!(
        quiet.as_ref().map_or(true, |m| m.as_ref().is_none_or(|m| m["type"] != "next")),
        "another tenant's event leaked: {quiet:?}"
    );

    // Reinterpretation: the counter readings of the period are made again from the raw ones
    // (here after they were tampered with in the database), by an admin only.
    {
        use cartouche_schema::db::schema::{counter_readings, latest_counters};
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let id: uuid::Uuid = konica["id"].as_str().unwrap().parse().unwrap();
        let mut conn = app.db.conn().await.unwrap();
        let series = async |conn: &mut diesel_async::AsyncPgConnection| -> Vec<(String, i64)> {
            counter_readings::table
                .filter(counter_readings::device_id.eq(id))
                .order_by((counter_readings::read_at, counter_readings::kind))
                .select((counter_readings::kind, counter_readings::value))
                .load(conn)
                .await
                .unwrap()
        };
        let honest = series(&mut conn).await;
        diesel::update(counter_readings::table.filter(counter_readings::device_id.eq(id)))
            .set(counter_readings::value.eq(1))
            .execute(&mut conn)
            .await
            .unwrap();
        let reinterpret = "mutation($input: ReinterpretInput!) { reinterpretDevices(input: $input) { devices readings countersRemoved countersWritten errors } }";
        let input = json!({ "input": { "deviceIds": [konica["id"]], "from": (t0 - day).to_rfc3339(), "to": (t0 + day * 2).to_rfc3339() } });
        let done = admin.data(reinterpret, input.clone(), "reinterpretDevices").await.unwrap();
        assert_eq!((done["devices"].clone(), done["readings"].clone()), (json!(1), json!(2)), "{done}");
        assert_eq!(done["countersRemoved"], done["countersWritten"]);
        assert_eq!(series(&mut conn).await, honest);
        assert_eq!(eve.run(reinterpret, input.clone()).await.unwrap().error_code(), Some("NOT_FOUND"));
        app.user(home_tenant(&admin).await, "tech@acme.test", Role::Technician, "correct horse battery").await.unwrap();
        let tech = app.signed_in("tech@acme.test", "correct horse battery").await.unwrap();
        assert_eq!(tech.run(reinterpret, input).await.unwrap().error_code(), Some("FORBIDDEN"));
        let backwards =
            json!({ "input": { "deviceIds": [konica["id"]], "from": t0.to_rfc3339(), "to": (t0 - day).to_rfc3339() } });
        assert_eq!(admin.run(reinterpret, backwards).await.unwrap().error_field(), Some("to"));

        // The operator's command line does the same, for any tenant, and names what is wrong.
        diesel::update(counter_readings::table.filter(counter_readings::device_id.eq(id)))
            .set(counter_readings::value.eq(1))
            .execute(&mut conn)
            .await
            .unwrap();
        let lines =
            cartouche_api::reinterpret::from_command_line(app.db.url(), &[id], t0 - day, t0 + day * 2).await.unwrap();
        assert!(lines[0].starts_with("1 device(s): 2 readings interpreted again;"), "{lines:?}");
        assert_eq!(series(&mut conn).await, honest);
        let latest: Vec<(String, i64)> = latest_counters::table
            .filter(latest_counters::device_id.eq(id))
            .order_by(latest_counters::kind)
            .select((latest_counters::kind, latest_counters::value))
            .load(&mut conn)
            .await
            .unwrap();
        let last_read = honest.iter().rev().take(latest.len()).cloned().collect::<std::collections::BTreeMap<_, _>>();
        assert_eq!(
            latest.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
            last_read,
            "latest values set again"
        );
        let unknown =
            cartouche_api::reinterpret::from_command_line(app.db.url(), &[uuid::Uuid::new_v4()], t0 - day, t0)
                .await
                .unwrap_err();
        assert!(unknown.to_string().contains("does not exist"), "{unknown}");
        let backwards =
            cartouche_api::reinterpret::from_command_line(app.db.url(), &[id], t0, t0 - day).await.unwrap_err();
        assert!(backwards.to_string().contains("must be before --to"), "{backwards}");
    }

    // The agent goes away: its status says so, live (after the other changes of the agent,
    // its configuration rebuilt when it discovered devices).
    drop(socket);
    loop {
        let change = watch.next_event("a", Duration::from_secs(10)).await.unwrap();
        if change["data"]["agentStatusChanged"]["agent"]["status"] == "DISCONNECTED" {
            break;
        }
    }
    let listed =
        admin.data("{ agents { nodes { status connectedAt disconnectedAt } } }", json!({}), "agents").await.unwrap();
    assert_eq!(listed["nodes"][0]["status"], "DISCONNECTED");
}

/// What a technician reads on a device: the error bits behind its status, decoded, with who
/// can fix each; their history (a change of bits under the same status counts); and each
/// alert's fault from the catalogue, the device's training level and the catalogue weighed.
#[tokio::test(flavor = "multi_thread")]
async fn a_device_says_what_is_wrong_who_can_fix_it_and_since_when() {
    use cartouche_e2e::with_varbind;

    const ERRORS: &str = "1.3.6.1.2.1.25.3.5.1.2.1";
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (_, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await.unwrap();
    let (mut socket, agent) = agent_socket::linked(&app, &key, "pc-hq").await.unwrap();
    let base = recording("librenms/brother_hl5370dw.snmprec");
    // A fuser failure the device calls a job for a trained user, and a jam.
    let fuser = [
        ("1.3.6.1.2.1.43.18.1.1.2.1.1", 2, "3"),
        ("1.3.6.1.2.1.43.18.1.1.3.1.1", 2, "4"),
        ("1.3.6.1.2.1.43.18.1.1.4.1.1", 2, "10"),
        ("1.3.6.1.2.1.43.18.1.1.5.1.1", 2, "1"),
        ("1.3.6.1.2.1.43.18.1.1.6.1.1", 2, "0"),
        ("1.3.6.1.2.1.43.18.1.1.7.1.1", 2, "1001"),
        ("1.3.6.1.2.1.43.18.1.1.8.1.1", 4, "Fuser error 50"),
        ("1.3.6.1.2.1.43.18.1.1.9.1.1", 67, "1234"),
    ]
    .iter()
    .fold(base.clone(), |walk, (oid, tag, value)| with_varbind(&walk, oid, *tag, value));
    let at = chrono::Utc::now() - chrono::Duration::minutes(10);
    let steps = [
        with_varbind(&fuser, ERRORS, "4x", "04"),
        with_varbind(&fuser, ERRORS, "4x", "0c"),
        with_varbind(&base, ERRORS, "4x", "00"),
    ];
    for (i, walk) in steps.into_iter().enumerate() {
        let mut reading =
            RawReading::snmp("10.9.0.12", Cycle::Discovery, at + chrono::Duration::minutes(i as i64), walk);
        // Cleared, and slow to answer: asleep (power save), not ok.
        reading.answered_late = i == 2;
        assert_eq!(agent_socket::deliver(&app, &mut socket, agent, i as u64 + 1, vec![reading]).await, None);
        if i == 0 {
            let found = admin
                .data(
                    "{ devices(first: 5) { nodes { id status statusErrors { bit fault { faultType fixedBy specialistNeeded } }
                       alerts(open: true, first: 5) { nodes { trainingLevel fault { faultType title fixedBy specialistNeeded estimatedMinutes partsCost } } } } } }",
                    json!({}),
                    "devices",
                )
                .await
                .unwrap();
            let device = &found["nodes"][0];
            assert_eq!(device["status"], "ERROR", "{device}");
            assert_eq!(
                device["statusErrors"],
                json!([{ "bit": "jammed", "fault": { "faultType": "jam", "fixedBy": "user", "specialistNeeded": false } }])
            );
            assert_eq!(
                device["alerts"]["nodes"],
                json!([{ "trainingLevel": "trained", "fault": { "faultType": "fuser_failure", "title": "Fuser failure",
                    "fixedBy": "field_technician", "specialistNeeded": true, "estimatedMinutes": 60, "partsCost": 180.0 } }]),
                "the catalogue knows a fuser needs a technician, whatever the device says"
            );
        }
    }
    let device = admin
        .data(
            "{ devices { nodes { status statusErrors { bit } statusHistory(first: 10) { status errors } } } }",
            json!({}),
            "devices",
        )
        .await
        .unwrap();
    let device = &device["nodes"][0];
    assert_eq!(device["statusErrors"], json!([]), "cleared");
    assert_eq!(device["status"], "ASLEEP");
    let summary = admin.data("{ fleetSummary { asleep ok } }", json!({}), "fleetSummary").await.unwrap();
    assert_eq!(summary, json!({ "asleep": 1, "ok": 0 }));
    let history: Vec<Value> = device["statusHistory"].as_array().unwrap().iter().map(|h| h["errors"].clone()).collect();
    assert_eq!(history, vec![json!([]), json!(["door_open", "jammed"]), json!(["jammed"])], "newest first");
    let bad = admin.run("{ devices { nodes { statusHistory(first: 0) { at } } } }", json!({})).await.unwrap();
    assert_eq!(bad.error_code(), Some("VALIDATION"));
}
