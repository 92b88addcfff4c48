//! Enrollment and the agent link: a key exchanged for an identity, readings stored exactly
//! once before they are acknowledged, and a revoked agent cut off.

use std::time::Duration;

use cartouche_e2e::agent_socket::{self, Socket};
use cartouche_e2e::app::TestApp;
use cartouche_schema::domain::Role;
use cartouche_schema::wire::{AgentMessage, Cycle, CycleReport, PROTOCOL_VERSION, RawReading, ServerMessage};
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "correct horse battery";

async fn enroll(app: &TestApp, key: &str) -> reqwest::Response {
    agent_socket::enroll(app, key, "pc-accueil").await.unwrap()
}

async fn connect(app: &TestApp, agent_id: &str, credential: &str) -> (Socket, ServerMessage) {
    agent_socket::connect(app, agent_id, credential).await.unwrap()
}

async fn next(socket: &mut Socket) -> Option<ServerMessage> {
    agent_socket::next(socket, Duration::from_secs(10)).await
}

fn reading(n: u32) -> RawReading {
    RawReading::snmp(
        format!("10.0.0.{n}"),
        Cycle::Counters,
        chrono::Utc::now(),
        "1.3.6.1.2.1.43.10.2.1.4.1.1|65|1000
"
        .into(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_enrolls_uploads_exactly_once_and_is_cut_off_when_revoked() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, key) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let key = key.as_str();

    assert_eq!(enroll(&app, "cek_not-a-key").await.status(), 401);
    let enrolled: serde_json::Value = enroll(&app, key).await.json().await.unwrap();
    let agent_id = enrolled["agent_id"].as_str().unwrap().to_owned();
    let credential = enrolled["credential"].as_str().unwrap().to_owned();
    assert_eq!(enroll(&app, key).await.status(), 410, "one use only");

    let (_, refused) = connect(&app, &agent_id, "cag_wrong").await;
    assert!(matches!(refused, ServerMessage::Refused { .. }), "{refused:?}");

    let (mut socket, welcome) = connect(&app, &agent_id, &credential).await;
    assert_eq!(welcome, ServerMessage::Welcome { protocol: PROTOCOL_VERSION });
    assert!(matches!(next(&mut socket).await, Some(ServerMessage::Config(_))));
    for sequence in [1u64, 2, 1, 3] {
        let batch = AgentMessage::Readings { sequence, readings: vec![reading(u32::try_from(sequence).unwrap())] };
        socket.send(Message::text(serde_json::to_string(&batch).unwrap())).await.unwrap();
        assert_eq!(next(&mut socket).await, Some(ServerMessage::Ack { sequence }));
    }
    let mut conn = app.db.conn().await.unwrap();
    let stored =
        cartouche_schema::db::agents::Agent::stored_sequences(&mut conn, agent_id.parse().unwrap()).await.unwrap();
    assert_eq!(stored, vec![1, 2, 3], "a resent batch is stored once");

    // A cycle report is kept and shown on the agent.
    let report = AgentMessage::CycleReport(CycleReport {
        cycle: Cycle::Counters,
        range_id: Some("hq".into()),
        started_at: chrono::Utc::now(),
        duration_ms: 1_234,
        devices_read: 41,
        devices_failed: 2,
        devices_asleep: 3,
        batches_not_kept: 4,
    });
    socket.send(Message::text(serde_json::to_string(&report).unwrap())).await.unwrap();
    let query = "{ agents { nodes { cycleReports(first: 5) { cycle rangeId durationMs devicesRead devicesFailed devicesAsleep batchesNotKept } } } }";
    let mut shown = serde_json::Value::Null;
    for _ in 0..100 {
        let agents = admin.data(query, json!({}), "agents").await.unwrap();
        shown = agents["nodes"][0]["cycleReports"].clone();
        if shown.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        shown,
        json!([{ "cycle": "counters", "rangeId": "hq", "durationMs": 1234, "devicesRead": 41, "devicesFailed": 2, "devicesAsleep": 3, "batchesNotKept": 4 }])
    );
    let too_many = admin.run("{ agents { nodes { cycleReports(first: 500) { cycle } } } }", json!({})).await.unwrap();
    assert_eq!(
        (too_many.error_code(), too_many.error_field()),
        (Some("VALIDATION"), Some("first")),
        "{:?}",
        too_many.body
    );

    let agents = admin.data("{ agents { nodes { id name lastSeenAt } } }", json!({}), "agents").await.unwrap();
    assert_eq!(agents["nodes"][0]["name"], "pc-accueil");
    assert!(!agents["nodes"][0]["lastSeenAt"].is_null());

    admin
        .data("mutation($id: ID!) { revokeAgent(id: $id) { revokedAt } }", json!({ "id": agent_id }), "revokeAgent")
        .await
        .unwrap();
    let cut = next(&mut socket).await;
    assert!(matches!(cut, Some(ServerMessage::Refused { .. }) | None), "the link is cut: {cut:?}");
    let (_, again) = connect(&app, &agent_id, &credential).await;
    assert!(matches!(again, ServerMessage::Refused { .. }), "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_and_keys_stay_inside_their_tenant() {
    let app = TestApp::start().await.unwrap();
    let acme = app.tenant("Acme", None).await.unwrap();
    let globex = app.tenant("Globex", None).await.unwrap();
    app.user(acme.id, "admin@acme.test", Role::Admin, PASSWORD).await.unwrap();
    app.user(globex.id, "admin@globex.test", Role::Admin, PASSWORD).await.unwrap();
    app.user(acme.id, "viewer@acme.test", Role::Viewer, PASSWORD).await.unwrap();
    let acme_admin = app.signed_in("admin@acme.test", PASSWORD).await.unwrap();
    let globex_admin = app.signed_in("admin@globex.test", PASSWORD).await.unwrap();
    let viewer = app.signed_in("viewer@acme.test", PASSWORD).await.unwrap();
    let key = acme_admin
        .data("mutation { createEnrollmentKey(input: { name: \"K\" }) { secret } }", json!({}), "createEnrollmentKey")
        .await
        .unwrap();
    let enrolled: serde_json::Value = enroll(&app, key["secret"].as_str().unwrap()).await.json().await.unwrap();
    let agent_id = enrolled["agent_id"].as_str().unwrap();

    let r = globex_admin
        .run("mutation($id: ID!) { revokeAgent(id: $id) { id } }", json!({ "id": agent_id }))
        .await
        .unwrap();
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
    let list = globex_admin
        .data("{ agents { nodes { id } } enrollmentKeys { nodes { id } } }", json!({}), "agents")
        .await
        .unwrap();
    assert_eq!(list["nodes"], json!([]));
    let r = viewer.run("mutation { createEnrollmentKey(input: { name: \"V\" }) { secret } }", json!({})).await.unwrap();
    assert_eq!(r.error_code(), Some("FORBIDDEN"));
    let r = acme_admin
        .run("mutation { createEnrollmentKey(input: { name: \"K\", expiresInHours: 0 }) { secret } }", json!({}))
        .await
        .unwrap();
    assert_eq!(r.error_field(), Some("expiresInHours"));
}

/// `agents(status:)` narrows in SQL by the very rule `Agent.status` applies: each agent, in
/// each state (linked, link dropped, heartbeats stopped, never linked, revoked), is listed
/// under its own status and no other.
#[tokio::test(flavor = "multi_thread")]
async fn agents_are_filtered_by_link_status_as_each_one_reports_it() {
    use cartouche_schema::db::schema::agents;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let key = admin
        .data(
            "mutation { createEnrollmentKey(input: { name: \"five\", uses: 5 }) { secret } }",
            json!({}),
            "createEnrollmentKey",
        )
        .await
        .unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ids = std::collections::BTreeMap::new();
    let mut sockets = Vec::new();
    for name in ["linked", "dropped", "silent", "never", "revoked"] {
        let (id, credential) = agent_socket::enrolled(&app, &key, name).await.unwrap();
        if name != "never" {
            let (socket, _) = connect(&app, &id, &credential).await;
            sockets.push((name, socket));
        }
        ids.insert(name, id);
    }
    for (name, socket) in &mut sockets {
        if *name == "dropped" {
            socket.close(None).await.unwrap();
        }
    }
    let mut conn = app.db.conn().await.unwrap();
    let silent: uuid::Uuid = ids["silent"].parse().unwrap();
    diesel::update(agents::table.find(silent))
        .set(agents::last_seen_at.eq(chrono::Utc::now() - chrono::Duration::minutes(10)))
        .execute(&mut conn)
        .await
        .unwrap();
    admin
        .data("mutation($id: ID!) { revokeAgent(id: $id) { id } }", json!({ "id": ids["revoked"] }), "revokeAgent")
        .await
        .unwrap();

    let expected = [
        ("CONNECTED", vec!["linked"]),
        ("DISCONNECTED", vec!["dropped", "silent"]),
        ("NEVER_CONNECTED", vec!["never"]),
        ("REVOKED", vec!["revoked"]),
    ];
    cartouche_e2e::eventually("the dropped link recorded", async || {
        let answer =
            admin.data("query { agents(status: DISCONNECTED) { nodes { name } } }", json!({}), "agents").await.unwrap();
        answer["nodes"].as_array().unwrap().len() == 2
    })
    .await;
    for (status, names) in expected {
        let answer = admin
            .data(
                "query($s: AgentStatus) { agents(status: $s) { nodes { name status } } }",
                json!({ "s": status }),
                "agents",
            )
            .await
            .unwrap();
        let listed: Vec<&str> =
            answer["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
        assert_eq!(listed, names, "{status}");
        assert!(answer["nodes"].as_array().unwrap().iter().all(|n| n["status"] == status), "{answer}");
    }
}
