//! Scale-out on one PostgreSQL: two api processes (replicas) and two job worker processes
//! side by side. An agent linked to one replica, a subscription on the other: the event
//! arrives. Two workers on one database: every report is made once and every notification is
//! sent once.

use std::time::Duration;

use cartouche_e2e::agent_socket;
use cartouche_e2e::app::TestApp;
use cartouche_e2e::sinks::WebhookReceiver;
use cartouche_e2e::ws::Subscriber;
use cartouche_jobs::JobsConfig;
use cartouche_schema::wire::{Cycle, RawReading};
use diesel_async::RunQueryDsl;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_on_one_replica_reaches_a_subscription_on_another() {
    let app = TestApp::start().await.unwrap();
    let other = app.replica().await.unwrap();
    let (_, admin, key) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    // The console watches through the second replica…
    let mut watcher = Subscriber::authenticated(&other.ws_url(), admin.bearer().unwrap()).await.unwrap();
    watcher
        .subscribe("devices", "subscription { deviceUpdated { deviceId device { serial } } }", json!({}))
        .await
        .unwrap();
    // …and reads through it too: the same data.
    let through_other = cartouche_e2e::graphql::GraphqlClient::new(
        reqwest::Client::new(),
        format!("{}/graphql", other.base_url),
        admin.bearer().map(str::to_owned),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    // …while the agent is linked to the first.
    let (mut socket, agent) = agent_socket::linked(&app, &key, "pc").await.unwrap();
    let reading = RawReading::snmp(
        "10.9.0.12",
        Cycle::Discovery,
        chrono::Utc::now(),
        cartouche_e2e::recording("librenms/brother_hl5370dw.snmprec"),
    );
    assert_eq!(agent_socket::deliver(&app, &mut socket, agent, 1, vec![reading]).await, None);
    let event = watcher.next_event("devices", Duration::from_secs(10)).await.unwrap();
    let serial = event["data"]["deviceUpdated"]["device"]["serial"].as_str().unwrap().to_owned();
    let devices = through_other.data("{ devices { nodes { serial } } }", json!({}), "devices").await.unwrap();
    assert_eq!(devices["nodes"][0]["serial"], json!(serial));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_worker_processes_make_each_report_and_send_each_notification_once() {
    let hooks = WebhookReceiver::start(0).await.unwrap();
    let app = TestApp::start().await.unwrap();
    let (_, admin, key) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    admin
        .data(
            "mutation($u: String!) { createWebhook(input: { url: $u, events: [CRITICAL_ALERT] }) { secret } }",
            json!({ "u": hooks.url() }),
            "createWebhook",
        )
        .await
        .unwrap();
    for month in ["2026-07", "2026-08", "2026-09", "2026-10"] {
        let from = format!("{month}-01");
        let to = chrono::NaiveDate::parse_from_str(&from, "%Y-%m-%d").unwrap() + chrono::Months::new(1);
        admin
            .data(
                "mutation($i: ReportInput!) { requestReport(input: $i) { id } }",
                json!({ "i": { "from": from, "to": to.to_string(), "format": "PDF" } }),
                "requestReport",
            )
            .await
            .unwrap();
    }
    // Two worker processes, every schedule every second.
    let mut stops = Vec::new();
    let mut workers = Vec::new();
    for n in 0..2 {
        let config = JobsConfig {
            database_url: app.db.url().to_owned(),
            worker_name: format!("scale-{n}-{}", uuid::Uuid::new_v4().simple()),
            purge_schedule: "0 0 0 1 1 *".into(),
            accounting_schedule: "* * * * * *".into(),
            repairs_schedule: "* * * * * *".into(),
            reports_schedule: "* * * * * *".into(),
            notify_schedule: "* * * * * *".into(),
            mail: cartouche_jobs::notify::Mail::default(),
            retention: Default::default(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        workers.push(tokio::spawn(cartouche_jobs::run(config, async {
            let _ = stopped.await;
            Ok(())
        })));
    }
    // A critical jam while they run.
    let (mut socket, agent) = agent_socket::linked(&app, &key, "pc").await.unwrap();
    let mut walk = cartouche_e2e::recording("librenms/brother_hl5370dw.snmprec");
    for (column, kind, value) in
        [(2, 2, "3"), (3, 2, "3"), (4, 2, "13"), (5, 2, "1"), (6, 2, "1"), (7, 2, "8"), (8, 4, "Paper jam")]
    {
        walk = cartouche_e2e::with_varbind(&walk, &format!("1.3.6.1.2.1.43.18.1.1.{column}.1.90"), kind, value);
    }
    let reading = RawReading::snmp("10.9.0.12", Cycle::Discovery, chrono::Utc::now(), walk);
    assert_eq!(agent_socket::deliver(&app, &mut socket, agent, 1, vec![reading]).await, None);

    let done = async || {
        let reports = admin.data("{ reports { status attempts } }", json!({}), "reports").await.unwrap();
        reports.as_array().unwrap().iter().all(|r| r["status"] == "DONE")
    };
    cartouche_e2e::eventually("the four reports made", done).await;
    cartouche_e2e::eventually("the webhook called", async || !hooks.hooks.lock().await.is_empty()).await;
    // A few more ticks of both workers: nothing is made or sent again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let reports = admin.data("{ reports { status attempts } }", json!({}), "reports").await.unwrap();
    assert!(reports.as_array().unwrap().iter().all(|r| r["attempts"] == 1), "each report made once: {reports}");
    assert_eq!(hooks.hooks.lock().await.len(), 1, "the notification sent once");
    let mut conn = app.db.conn().await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let deliveries: Count = diesel::sql_query("SELECT count(*) AS n FROM deliveries WHERE channel = 'webhook'")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(deliveries.n, 1);
    for stop in stops {
        let _ = stop.send(());
    }
    for worker in workers {
        tokio::time::timeout(Duration::from_secs(40), worker).await.unwrap().unwrap().unwrap();
    }
}
