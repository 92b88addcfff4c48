//! Notifications end to end: a critical jam reported by an agent and a work order opened become
//! e-mails received by a local SMTP sink (for the users who want them) and webhooks received
//! with a valid signature; an SMTP server that refuses and a webhook that answers 500 are
//! retried, their errors visible, until they get through; bad webhook URLs are refused.

use cartouche_e2e::agent_socket;
use cartouche_e2e::app::TestApp;
use cartouche_e2e::sinks::{SmtpSink, WebhookReceiver};
use cartouche_jobs::notify::{Mail, Senders, run_pass};
use cartouche_schema::domain::Role;
use cartouche_schema::wire::{Cycle, RawReading};
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// Checks a webhook's signature the way a receiver would: HMAC-SHA256 of "<t>.<body>".
fn signed(secret: &str, header: &str, body: &[u8]) -> bool {
    let Some((t, v1)) = header.split_once(',') else { return false };
    let (Some(t), Some(v1)) = (t.strip_prefix("t="), v1.strip_prefix("v1=")) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let Ok(expected) = hex::decode(v1) else { return false };
    mac.verify_slice(&expected).is_ok()
}

fn jam(walk: &str) -> String {
    let mut walk = walk.to_owned();
    for (column, kind, value) in
        [(2, 2, "3"), (3, 2, "3"), (4, 2, "13"), (5, 2, "1"), (6, 2, "1"), (7, 2, "8"), (8, 4, "Paper jam in tray 2")]
    {
        walk = cartouche_e2e::with_varbind(&walk, &format!("1.3.6.1.2.1.43.18.1.1.{column}.1.90"), kind, value);
    }
    walk
}

#[tokio::test(flavor = "multi_thread")]
async fn a_critical_alert_and_a_work_order_reach_the_mailboxes_and_the_webhook() {
    let smtp = SmtpSink::start(false).await.unwrap();
    let refusing = SmtpSink::start(true).await.unwrap();
    let hooks = WebhookReceiver::start(1).await.unwrap();
    let app = TestApp::start().await.unwrap();
    let (tenant, admin, key) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let password = "correct horse battery";
    app.user(tenant.id, "tech@acme.test", Role::Technician, password).await.unwrap();
    app.user(tenant.id, "viewer@acme.test", Role::Viewer, password).await.unwrap();
    // The viewer wants no critical alerts by e-mail.
    let viewer = app.signed_in("viewer@acme.test", password).await.unwrap();
    viewer
        .data(
            "mutation { setNotificationPreferences(input: { criticalAlert: false, supplyReorder: false, workOrder: true }) { criticalAlert } }",
            json!({}),
            "setNotificationPreferences",
        )
        .await
        .unwrap();
    for bad in ["ftp://erp.test/hook", "erp.test/hook", "https://user:pw@erp.test/"] {
        let refused = admin
            .run(
                "mutation($u: String!) { createWebhook(input: { url: $u, events: [CRITICAL_ALERT] }) { secret } }",
                json!({ "u": bad }),
            )
            .await
            .unwrap();
        assert_eq!((refused.error_code(), refused.error_field()), (Some("VALIDATION"), Some("url")), "{bad}");
    }
    let created = admin
        .data(
            "mutation($u: String!) { createWebhook(input: { url: $u, events: [CRITICAL_ALERT, WORK_ORDER] }) { secret webhook { id events } } }",
            json!({ "u": hooks.url() }),
            "createWebhook",
        )
        .await
        .unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();

    // A critical jam.
    let (mut socket, agent) = agent_socket::linked(&app, &key, "pc").await.unwrap();
    let walk = jam(&cartouche_e2e::recording("librenms/brother_hl5370dw.snmprec"));
    let reading = RawReading::snmp("10.9.0.12", Cycle::Discovery, chrono::Utc::now(), walk);
    assert_eq!(agent_socket::deliver(&app, &mut socket, agent, 1, vec![reading]).await, None);
    let pool = cartouche_schema::db::pool(app.db.url(), 2).unwrap();
    let catalogue = std::sync::Arc::new(cartouche_schema::profiles::ProfileSet::builtin().unwrap().catalogue);
    let good = Senders::new(
        Mail { smtp_url: Some(smtp.url()), from: "Cartouche <noc@dealer.test>".into() },
        catalogue.clone(),
    )
    .unwrap();
    let pass = run_pass(&pool, &good).await.unwrap();
    // Two notifications: the jam, and a supply of the recorded printer at its re-order level
    // (which nobody here receives: e-mails of re-orders are off by default, the webhook does
    // not take them). Two e-mails (the admin and the technician, not the viewer) and the
    // webhook, which answers 500 the first time: retried later.
    assert_eq!((pass.notifications, pass.sent, pass.failed), (2, 2, 1));
    let mut conn = app.db.conn().await.unwrap();
    let mut kinds: Vec<String> = {
        use cartouche_schema::db::schema::notifications::dsl::*;
        use diesel::QueryDsl;
        notifications.select(kind).load(&mut conn).await.unwrap()
    };
    kinds.sort();
    assert_eq!(kinds, ["critical_alert", "supply_reorder"]);
    let mails = smtp.mails.lock().await.clone();
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["<admin@acme.test>", "<tech@acme.test>"]);
    let subject = mails[0].header("Subject").unwrap();
    assert!(subject.contains("Critical: Paper jam in tray 2"), "{subject}");
    assert!(mails[0].data.contains("Who can fix it: user"), "{}", mails[0].data);
    let failing = admin
        .data(
            "{ notificationDeliveries(status: PENDING) { channel attempts lastError } }",
            json!({}),
            "notificationDeliveries",
        )
        .await
        .unwrap();
    assert_eq!(failing[0]["channel"], "webhook");
    assert_eq!(failing[0]["attempts"], 1);
    assert!(failing[0]["lastError"].as_str().unwrap().contains("500"), "{failing}");
    // Its retry is due later; made due now, it gets through with a valid signature.
    assert_eq!(run_pass(&pool, &good).await.unwrap().sent, 0, "not before its backoff");
    diesel::sql_query("UPDATE deliveries SET next_attempt_at = now() WHERE status = 'pending'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(run_pass(&pool, &good).await.unwrap().sent, 1);
    let hook = hooks.hooks.lock().await[0].clone();
    let signature = hook.headers["x-cartouche-signature"].to_str().unwrap();
    assert!(signed(&secret, signature, &hook.body), "the signature checks with the webhook's secret");
    assert!(!signed("whsec_wrong", signature, &hook.body));
    let body: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!((&body["kind"], &body["data"]["faultType"]), (&json!("critical_alert"), &json!("jam")));
    assert_eq!(hook.headers["x-cartouche-event"], "critical_alert");

    // A work order opened while the SMTP server refuses: the e-mails wait, with the refusal.
    let alert =
        admin.data("{ alerts(filter: { open: true }) { nodes { id deviceId } } }", json!({}), "alerts").await.unwrap();
    let alert = &alert["nodes"][0];
    admin
        .data(
            "mutation($i: OpenWorkOrderInput!) { openWorkOrder(input: $i) { id } }",
            json!({ "i": { "deviceId": alert["deviceId"], "alertId": alert["id"] } }),
            "openWorkOrder",
        )
        .await
        .unwrap();
    let refused =
        Senders::new(Mail { smtp_url: Some(refusing.url()), from: "noc@dealer.test".into() }, catalogue.clone())
            .unwrap();
    let pass = run_pass(&pool, &refused).await.unwrap();
    // Three e-mails (everyone wants work orders) refused, the webhook sent.
    assert_eq!((pass.notifications, pass.sent, pass.failed), (1, 1, 3));
    let waiting = admin
        .data(
            "{ notificationDeliveries(status: PENDING) { channel subject lastError } }",
            json!({}),
            "notificationDeliveries",
        )
        .await
        .unwrap();
    assert_eq!(waiting.as_array().unwrap().len(), 3);
    assert!(waiting[0]["subject"].as_str().unwrap().starts_with("Work order opened"), "{waiting}");
    assert!(waiting[0]["lastError"].as_str().unwrap().contains("refused"), "{waiting}");
    diesel::sql_query("UPDATE deliveries SET next_attempt_at = now() WHERE status = 'pending'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(run_pass(&pool, &good).await.unwrap().sent, 3);
    assert_eq!(smtp.mails.lock().await.len(), 5);
    assert_eq!(hooks.hooks.lock().await.len(), 2);
    // Nothing is sent twice.
    assert_eq!(run_pass(&pool, &good).await.unwrap(), Default::default());

    // The tenant stops e-mailing work orders (a technician cannot decide that): the next step
    // goes to the webhook only.
    let tech = app.signed_in("tech@acme.test", password).await.unwrap();
    let off = "mutation { setTenantNotificationSettings(input: { criticalAlert: true, supplyReorder: true, workOrder: false }) { workOrder } }";
    assert_eq!(tech.run(off, json!({})).await.unwrap().error_code(), Some("FORBIDDEN"));
    admin.data(off, json!({}), "setTenantNotificationSettings").await.unwrap();
    let order =
        admin.data("{ workOrders { nodes { id } } }", json!({}), "workOrders").await.unwrap()["nodes"][0]["id"].clone();
    admin
        .data(
            "mutation($id: ID!) { updateWorkOrder(id: $id, input: { comment: \"Tray 2 roller worn\" }) { id } }",
            json!({ "id": order }),
            "updateWorkOrder",
        )
        .await
        .unwrap();
    let pass = run_pass(&pool, &good).await.unwrap();
    assert_eq!((pass.notifications, pass.sent), (1, 1));
    assert_eq!(smtp.mails.lock().await.len(), 5, "no e-mail");
    let last: Value = serde_json::from_slice(&hooks.hooks.lock().await[2].body).unwrap();
    assert_eq!(last["data"]["body"], "Tray 2 roller worn");
}
