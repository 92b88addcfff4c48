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
    assert_eq!(cartouche_e2e::synthetic::october_pages(&mut conn, app.db.url()).await.unwrap(), 2);
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

    // Month by month, with each month's sites (these devices have none): September has no
    // pages, so the tenant plan's minimum is the bill; October's lines add up per site.
    let months = admin
        .data(
            "{ bills(fromMonth: \"2026-09\", toMonth: \"2026-10\") { month plans { plan { name } total }
               sites { siteId monoPages colorPages amount } } }",
            json!({}),
            "bills",
        )
        .await
        .unwrap();
    assert_eq!(months[0]["month"], "2026-09");
    assert_eq!(months[0]["plans"], json!([{ "plan": { "name": "Acme all-in" }, "total": "10.00" }]));
    assert_eq!(
        months[1]["sites"],
        json!([{ "siteId": null, "monoPages": 2300, "colorPages": 500, "amount": "71.00" }])
    );
    let backwards =
        admin.run("{ bills(fromMonth: \"2026-10\", toMonth: \"2026-09\") { month } }", json!({})).await.unwrap();
    assert_eq!(backwards.error_field(), Some("toMonth"));

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

/// The month's bill of a small simulated fleet, end to end: the real agent reads two printers
/// of the simulator; one's Counter32 wraps while it prints 800 pages and gets a cartridge
/// shipped by serial; the other's board is swapped (its counter back near zero) and prints
/// 400 more. The bill is checked against the hand count: the wrap and the reset inflate
/// nothing, and the shipped cartridge is the month's supply cost.
#[tokio::test(flavor = "multi_thread")]
async fn a_simulated_fleet_is_billed_through_a_wrap_a_reset_and_a_swap() {
    use std::net::{Ipv4Addr, SocketAddr};

    use cartouche_e2e::running_agent::RunningAgent;
    use cartouche_e2e::simulator::{Device, Simulator};
    use cartouche_schema::profiles::{Oid, ProfileSet, Value, Walk};

    const PORT: u16 = 16_167;
    let block = (std::process::id() % 250) as u8;
    let address = move |i: u8| Ipv4Addr::new(127, 98, block, 1 + i);
    let profiles = ProfileSet::builtin().unwrap();
    let life: Oid = "1.3.6.1.2.1.43.10.2.1.4.1.1".parse().unwrap();
    let printers: Vec<(SocketAddr, Device)> = [0u32, 1]
        .iter()
        .map(|n| {
            let walk = Walk::from_snmprec(&cartouche_e2e::recording("librenms/brother_hl5370dw.snmprec")).unwrap();
            let mut device = Device::new(walk, "public");
            device.personalise(*n, &profiles);
            // The first is close to a Counter32's end.
            let start = if *n == 0 { 4_294_967_000 } else { 50_000 };
            *device.walk.get_mut(&life).unwrap() = Value::Counter32(start);
            (SocketAddr::from((address(*n as u8 * 5), PORT)), device)
        })
        .collect();
    let simulator = Simulator::start(printers).await.unwrap();

    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "Lyon").await.unwrap();
    for mutation in [
        "mutation { createSupplyModel(input: { partNumber: \"TN-3280\", name: \"Toner\", kind: \"toner\", ratedYield: 8000, unitCost: \"40\" }) { id } }",
        "mutation { createPricePlan(input: { name: \"Acme\", monoPrice: \"0.01\", colorPrice: \"0.08\", validFrom: \"2020-01-01\" }) { id } }",
    ] {
        admin.run(mutation, json!({})).await.unwrap();
    }
    let today = chrono::Utc::now().date_naive();
    admin
        .data(
            "mutation($input: ShipmentInput!) { recordShipment(input: $input) { id } }",
            json!({ "input": { "siteId": site, "partNumber": "TN-3280", "quantity": 1, "serials": ["TNSHIP01"], "shippedOn": today.to_string() } }),
            "recordShipment",
        )
        .await
        .unwrap();
    let agent = RunningAgent::start(&app.base_url, &key, "pc-lyon", PORT).await.unwrap();
    cartouche_e2e::running_agent::hourly_discovery_range(&admin, &site, "Lyon", address(0), address(9)).await.unwrap();
    let mut conn = app.db.conn().await.unwrap();
    let devices = async |conn: &mut diesel_async::AsyncPgConnection| -> i64 {
        use cartouche_schema::db::schema::devices;
        use diesel::QueryDsl;
        devices::table.count().get_result(conn).await.unwrap()
    };
    cartouche_e2e::eventually("the two printers discovered", async || devices(&mut conn).await == 2).await;
    // The agent has them with their read plans before it is asked to read their counters.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;

    // The month's printing: 800 pages across the wrap and a new cartridge (the shipped one)
    // on the first; a board swap (back to 0) then 400 pages on the second.
    {
        let first = simulator.device(0);
        let mut first = first.lock().await;
        first.print(800);
        first.swap_supply(1, Some("TNSHIP01"));
    }
    {
        let second = simulator.device(1);
        let mut second = second.lock().await;
        *second.walk.get_mut(&life).unwrap() = Value::Counter32(0);
        second.print(400);
    }
    admin
        .data(
            "mutation($id: ID!) { runCycle(agentId: $id, cycle: COUNTERS) { id } }",
            json!({ "id": agent.enrollment.agent_id }),
            "runCycle",
        )
        .await
        .unwrap();
    let latest = async || {
        admin.data("{ devices { nodes { latestCounters { kind value } } } }", json!({}), "devices").await.unwrap()["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["latestCounters"].as_array().unwrap().clone())
            .filter(|c| c["kind"] == "total")
            .map(|c| c["value"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    cartouche_e2e::eventually("the counters cycle read", async || {
        let mut values = latest().await;
        values.sort_unstable();
        values == vec![400, 504]
    })
    .await;
    let pool = cartouche_schema::db::pool(app.db.url(), 2).unwrap();
    cartouche_jobs::accounting::count_due(&pool).await.unwrap();

    let month = today.format("%Y-%m").to_string();
    let bill = admin
        .data(
            "query($m: String!) { bill(month: $m) { plans { total supplyCost margin lines { monoPages amount } } } }",
            json!({ "m": month }),
            "bill",
        )
        .await
        .unwrap();
    let plan = &bill["plans"][0];
    let mut pages: Vec<i64> =
        plan["lines"].as_array().unwrap().iter().map(|l| l["monoPages"].as_i64().unwrap()).collect();
    pages.sort_unstable();
    // By hand: 800 pages across the wrap (4,294,967,000 → 504) and 400 after the reset (0 →
    // 400), at 0.01: 12.00; the shipped cartridge went in this month: 40.00 of supplies.
    assert_eq!(pages, vec![400, 800]);
    assert_eq!(
        (&plan["total"], &plan["supplyCost"], &plan["margin"]),
        (&json!("12.00"), &json!("40.00"), &json!("-28.00"))
    );
    agent.stop().await.unwrap();
}

/// A plan replaced on the 11th: each plan bills the days it was in force, with its included
/// volume and minimum charge in proportion; large-format pages count twice — checked by hand.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_changed_mid_month_bills_each_part_under_its_own_terms_and_a3_counts_twice() {
    let app = TestApp::start().await.unwrap();
    let (tenant, admin, key) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (agent_id, _) = cartouche_e2e::agent_socket::enrolled(&app, &key, "pc").await.unwrap();
    let mut conn = app.db.conn().await.unwrap();
    cartouche_e2e::synthetic::fleet(&mut conn, tenant.id, agent_id.parse().unwrap(), 1).await.unwrap();
    // 1,000 pages from the 1st to the 10th, 3,000 from the 11th to the end of October (UTC),
    // 200 of them large format (A3).
    diesel::sql_query(
        "INSERT INTO counter_readings (device_id, tenant_id, read_at, kind, value, agent_id, sequence) \
         SELECT d.id, d.tenant_id, r.at::timestamptz, r.kind, r.value, d.agent_id, 1 FROM devices d, \
         (VALUES ('2026-10-01T00:00:00Z', 'total', 10000), ('2026-10-11T00:00:00Z', 'total', 11000), \
                 ('2026-11-01T00:00:00Z', 'total', 14000), ('2026-10-01T00:00:00Z', 'large_format', 500), \
                 ('2026-10-11T00:00:00Z', 'large_format', 500), ('2026-11-01T00:00:00Z', 'large_format', 700)) \
           AS r(at, kind, value)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query("INSERT INTO accounting_outbox (device_id, since) SELECT id, '2026-09-01' FROM devices")
        .execute(&mut conn)
        .await
        .unwrap();
    cartouche_jobs::accounting::count_due(&cartouche_schema::db::pool(app.db.url(), 2).unwrap()).await.unwrap();
    for plan in [
        json!({ "name": "Old", "monoPrice": "0.01", "colorPrice": "0.05", "includedMono": 3100, "minimumCharge": "62",
                "validFrom": "2026-01-01", "validTo": "2026-10-11" }),
        json!({ "name": "New", "monoPrice": "0.02", "colorPrice": "0.05", "includedMono": 3100, "validFrom": "2026-10-11" }),
    ] {
        admin.data(PLAN, json!({ "input": plan }), "createPricePlan").await.unwrap();
    }
    let bill = admin
        .data(
            "query { bill(month: \"2026-10\") { plans { plan { name } from to prorated pooledMono subtotal minimumTopUp total
                lines { monoPages largePages chargedMono amount } } } }",
            json!({}),
            "bill",
        )
        .await
        .unwrap();
    // By hand. Old, 10 days of 31: 1,000 of its 3,100 pages included (all 1,000 printed) and
    // 20.00 of its 62.00 minimum: 0.00 topped up to 20.00. New, 21 days: 3,000 printed, the
    // 200 A3 pages counting twice: 3,200, of which 2,100 included; 1,100 × 0.02 = 22.00.
    assert_eq!(
        bill["plans"],
        json!([
            { "plan": { "name": "Old" }, "from": "2026-10-01", "to": "2026-10-11", "prorated": true, "pooledMono": 1000,
              "subtotal": "0.00", "minimumTopUp": "20.00", "total": "20.00",
              "lines": [{ "monoPages": 1000, "largePages": 0, "chargedMono": 1000, "amount": "10.00" }] },
            { "plan": { "name": "New" }, "from": "2026-10-11", "to": "2026-11-01", "prorated": true, "pooledMono": 2100,
              "subtotal": "22.00", "minimumTopUp": "0.00", "total": "22.00",
              "lines": [{ "monoPages": 3000, "largePages": 200, "chargedMono": 3200, "amount": "64.00" }] },
        ])
    );
    let refused = admin
        .run(
            PLAN,
            json!({ "input": { "name": "Odd", "monoPrice": "0.01", "colorPrice": "0.05", "largeFormatFactor": 7,
            "validFrom": "2030-01-01" } }),
        )
        .await
        .unwrap();
    assert_eq!((refused.error_code(), refused.error_field()), (Some("VALIDATION"), Some("largeFormatFactor")));
    // November is the new plan's alone, whole.
    let november = admin
        .data("query { bill(month: \"2026-11\") { plans { plan { name } prorated } } }", json!({}), "bill")
        .await
        .unwrap();
    assert_eq!(november["plans"], json!([{ "plan": { "name": "New" }, "prorated": false }]));
}
