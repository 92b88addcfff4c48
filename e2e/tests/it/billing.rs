//! A month's bill from page counts and price plans, checked against a hand calculation: a
//! tenant-wide plan with a pooled volume, a device's own plan with a minimum charge, the most
//! specific plan applying; overlapping plans, bad amounts and periods refused by name.

use cartouche_e2e::app::TestApp;
use diesel_async::RunQueryDsl;
use serde_json::json;

const PLAN: &str =
    "mutation($input: PricePlanInput!) { createPricePlan(input: $input) { id name monoPrice minimumCharge } }";
const BILL: &str = "query($m: String!) { bill(month: $m) { month unpricedDeviceIds plans {
    plan { name } pooledMono subtotal minimumTopUp total heldPages
    lines { serial monoPages colorPages chargedMono chargedColor amount } } } }";

#[tokio::test(flavor = "multi_thread")]
async fn a_month_is_billed_by_the_most_specific_plan_as_calculated_by_hand() {
    let app = TestApp::start().await.unwrap();
    let (tenant, admin, key) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (agent_id, _) = cartouche_e2e::agent_socket::enrolled(&app, &key, "pc").await.unwrap();
    let mut conn = app.db.conn().await.unwrap();
    cartouche_e2e::synthetic::fleet(&mut conn, tenant.id, agent_id.parse().unwrap(), 2).await.unwrap();
    // October's readings (UTC: these devices have no site): A prints 2,000 pages, 500 of them
    // in colour; B prints 800 in mono. Counted by the accounting worker.
    diesel::sql_query(
        "INSERT INTO counter_readings (device_id, tenant_id, read_at, kind, value, agent_id, sequence) \
         SELECT d.id, d.tenant_id, r.at::timestamptz, r.kind, r.value, d.agent_id, 1 FROM devices d \
         JOIN (VALUES ('SYN00000001', '2026-10-01T00:00:00Z', 'total', 10000), ('SYN00000001', '2026-11-01T00:00:00Z', 'total', 12000), \
                      ('SYN00000001', '2026-10-01T00:00:00Z', 'color', 1000), ('SYN00000001', '2026-11-01T00:00:00Z', 'color', 1500), \
                      ('SYN00000002', '2026-10-01T00:00:00Z', 'total', 5000), ('SYN00000002', '2026-11-01T00:00:00Z', 'total', 5800)) \
           AS r(serial, at, kind, value) ON r.serial = d.serial",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query("INSERT INTO accounting_outbox (device_id, since) SELECT id, '2026-09-01' FROM devices")
        .execute(&mut conn)
        .await
        .unwrap();
    let pool = cartouche_schema::db::pool(app.db.url(), 2).unwrap();
    assert_eq!(cartouche_jobs::accounting::count_due(&pool).await.unwrap(), 2);
    let devices = admin.data("{ devices { nodes { id serial } } }", json!({}), "devices").await.unwrap();
    let id_of = |serial: &str| {
        devices["nodes"].as_array().unwrap().iter().find(|d| d["serial"] == serial).unwrap()["id"].clone()
    };

    // Plans: the tenant's (pooled 2,000 mono included), B's own (with a 20.00 minimum).
    let tenant_plan = json!({ "name": "Acme all-in", "monoPrice": "0.01", "colorPrice": "0.08", "includedMono": 2000,
        "minimumCharge": "10", "validFrom": "2026-01-01" });
    admin.data(PLAN, json!({ "input": tenant_plan }), "createPricePlan").await.unwrap();
    let b_plan = json!({ "name": "B rental", "deviceId": id_of("SYN00000002"), "monoPrice": "0.02", "colorPrice": "0.1",
        "pooled": false, "minimumCharge": "20", "validFrom": "2026-10-01", "validTo": "2027-10-01" });
    admin.data(PLAN, json!({ "input": b_plan }), "createPricePlan").await.unwrap();

    let bill = admin.data(BILL, json!({ "m": "2026-10" }), "bill").await.unwrap();
    assert_eq!(bill["unpricedDeviceIds"], json!([]));
    let plans = bill["plans"].as_array().unwrap();
    let by_name = |name: &str| plans.iter().find(|p| p["plan"]["name"] == name).unwrap().clone();
    // By hand. A under the tenant's plan: mono 2,000 - 500 = 1,500, all within the pooled
    // 2,000 included; colour 500 × 0.08 = 40.00; above the 10.00 minimum.
    let all_in = by_name("Acme all-in");
    assert_eq!(
        all_in["lines"],
        json!([{ "serial": "SYN00000001", "monoPages": 1500, "colorPages": 500, "chargedMono": 1500, "chargedColor": 500, "amount": "55.00" }])
    );
    assert_eq!(
        (&all_in["pooledMono"], &all_in["subtotal"], &all_in["total"]),
        (&json!(1500), &json!("40.00"), &json!("40.00"))
    );
    // B under its own plan: 800 × 0.02 = 16.00, topped up to the 20.00 minimum.
    let rental = by_name("B rental");
    assert_eq!(rental["lines"][0]["amount"], "16.00");
    assert_eq!(
        (&rental["subtotal"], &rental["minimumTopUp"], &rental["total"]),
        (&json!("16.00"), &json!("4.00"), &json!("20.00"))
    );

    // Refused, each with its field named.
    for (input, field) in [
        (
            json!({ "name": "Dup", "monoPrice": "0.01", "colorPrice": "0.1", "validFrom": "2026-06-01", "validTo": "2026-12-01" }),
            "validFrom",
        ),
        (
            json!({ "name": "Back", "monoPrice": "0.01", "colorPrice": "0.1", "validFrom": "2030-06-01", "validTo": "2030-01-01" }),
            "validTo",
        ),
        (json!({ "name": "Comma", "monoPrice": "0,01", "colorPrice": "0.1", "validFrom": "2030-01-01" }), "monoPrice"),
        (json!({ "name": "Minus", "monoPrice": "0.01", "colorPrice": "-1", "validFrom": "2030-01-01" }), "colorPrice"),
        (
            json!({ "name": "Money", "monoPrice": "0.01", "colorPrice": "0.1", "currency": "euros", "validFrom": "2030-01-01" }),
            "currency",
        ),
    ] {
        let answer = admin.run(PLAN, json!({ "input": input })).await.unwrap();
        assert_eq!((answer.error_code(), answer.error_field()), (Some("VALIDATION"), Some(field)), "{input}");
    }
    let overlap = admin
        .run(
            PLAN,
            json!({ "input": { "name": "Dup", "monoPrice": "0.01", "colorPrice": "0.1", "validFrom": "2026-06-01" } }),
        )
        .await
        .unwrap();
    assert!(overlap.error_message().unwrap().contains("Acme all-in"), "{:?}", overlap.error_message());
    let bad_month = admin.run(BILL, json!({ "m": "October" })).await.unwrap();
    assert_eq!(bad_month.error_field(), Some("month"));

    // Another tenant sees no plan and cannot bill this one.
    let other = app.tenant("Other", None).await.unwrap();
    app.user(other.id, "eve@other.test", cartouche_schema::domain::Role::Admin, "correct horse battery").await.unwrap();
    let eve = app.signed_in("eve@other.test", "correct horse battery").await.unwrap();
    assert_eq!(eve.data("{ pricePlans { name } }", json!({}), "pricePlans").await.unwrap(), json!([]));
    let stolen = eve
        .run(
            "query($t: ID!) { bill(tenantId: $t, month: \"2026-10\") { month } }",
            json!({ "t": tenant.id.to_string() }),
        )
        .await
        .unwrap();
    assert_eq!(stolen.error_code(), Some("NOT_FOUND"));
}
