//! Faults to repairs through the whole chain: printers of the simulator read by the real agent,
//! their alerts stored by the api, the maintenance worker's pass opening work orders by rule
//! (priced from the fault catalogue at the tenant's labour rates), following the fault in
//! telemetry until it is proposed for closing and closed by rule once pages print again; then
//! the workflow people drive, with every refusal naming its field.

use std::net::{Ipv4Addr, SocketAddr};

use cartouche_e2e::app::TestApp;
use cartouche_e2e::graphql::GraphqlClient;
use cartouche_e2e::running_agent::RunningAgent;
use cartouche_e2e::simulator::{Device, Simulator};
use cartouche_jobs::repairs::run_pass;
use cartouche_schema::domain::Role;
use cartouche_schema::profiles::ProfileSet;
use serde_json::{Value, json};

const PORT: u16 = 16_168;

async fn run_cycle(admin: &GraphqlClient, agent: &RunningAgent, cycle: &str) {
    admin
        .data(
            "mutation($id: ID!, $c: CycleKind!) { runCycle(agentId: $id, cycle: $c) { id } }",
            json!({ "id": agent.enrollment.agent_id, "c": cycle }),
            "runCycle",
        )
        .await
        .unwrap();
}

async fn alerts(admin: &GraphqlClient, open: bool) -> Vec<Value> {
    admin
        .data(
            "query($open: Boolean) { alerts(filter: { open: $open }) { nodes { id faultType deviceId } } }",
            json!({ "open": open }),
            "alerts",
        )
        .await
        .unwrap()["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

const ORDER: &str = "id deviceId alertId ruleId title status skill specialistNeeded estimatedMinutes
    estimatedLabour estimatedParts estimatedCost closeProposed faultClearedAt closedAt timeToRepairMinutes
    fault { faultType } events { kind body fromStatus toStatus actorName }";

async fn work_orders(admin: &GraphqlClient) -> Vec<Value> {
    admin.data(&format!("{{ workOrders {{ nodes {{ {ORDER} }} }} }}"), json!({}), "workOrders").await.unwrap()["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

fn kinds(order: &Value) -> Vec<&str> {
    order["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

/// A jam raised and cleared in the simulator opens and then closes a work order (proposed for
/// closing when the alert goes, closed by its rule once the counters move); a fuser failure
/// the device calls a field-service matter needs a specialist and carries the catalogue's
/// estimate at the technician's rate; the closed repair is the month's service cost.
#[tokio::test(flavor = "multi_thread")]
async fn a_jam_opens_and_closes_a_work_order_and_a_fuser_needs_a_specialist() {
    let block = (std::process::id() % 250) as u8;
    let address = move |i: u8| Ipv4Addr::new(127, 97, block, 1 + i);
    let profiles = ProfileSet::builtin().unwrap();
    let printers: Vec<(SocketAddr, Device)> = [0u32, 1]
        .iter()
        .map(|n| {
            let walk = cartouche_schema::profiles::Walk::from_snmprec(&cartouche_e2e::recording(
                "librenms/brother_hl5370dw.snmprec",
            ))
            .unwrap();
            let mut device = Device::new(walk, "public");
            device.personalise(*n, &profiles);
            (SocketAddr::from((address(*n as u8 * 3), PORT)), device)
        })
        .collect();
    let simulator = Simulator::start(printers).await.unwrap();
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "Lyon").await.unwrap();
    for mutation in [
        "mutation { setLabourRate(skill: USER, hourlyRate: \"30\") { skill } }",
        "mutation { setLabourRate(skill: FIELD_TECHNICIAN, hourlyRate: \"90\") { skill } }",
        "mutation { createWorkOrderRule(input: { name: \"Jams\", faultType: \"jam\", closeWhenCleared: true }) { id } }",
        "mutation { createWorkOrderRule(input: { name: \"Specialists\", minSeverity: \"warning\", minSkill: FIELD_TECHNICIAN }) { id } }",
        "mutation { createPricePlan(input: { name: \"Acme\", monoPrice: \"0.01\", colorPrice: \"0.08\", validFrom: \"2020-01-01\" }) { id } }",
    ] {
        let response = admin.run(mutation, json!({})).await.unwrap();
        assert!(response.error_code().is_none(), "{mutation}: {}", response.body);
    }
    let agent = RunningAgent::start(&app.base_url, &key, "pc-lyon", PORT).await.unwrap();
    cartouche_e2e::running_agent::hourly_discovery_range(&admin, &site, "Lyon", address(0), address(9)).await.unwrap();
    let totals = async || -> Vec<i64> {
        let devices =
            admin.data("{ devices { nodes { latestCounters { kind value } } } }", json!({}), "devices").await.unwrap();
        let mut values: Vec<i64> = devices["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["latestCounters"].as_array().unwrap().clone())
            .filter(|c| c["kind"] == "total")
            .map(|c| c["value"].as_i64().unwrap())
            .collect();
        values.sort_unstable();
        values
    };
    cartouche_e2e::eventually("the two printers discovered with their counters", async || totals().await.len() == 2)
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let pool = cartouche_schema::db::pool(app.db.url(), 2).unwrap();
    let catalogue = profiles.catalogue.clone();

    // A jam (critical, untrained) on the first; a fuser failure the second calls a field
    // service matter, though it says "warning".
    let jam = simulator.device(0).lock().await.raise_alert(8, 13, 3, 3, "Paper jam in tray 2");
    simulator.device(1).lock().await.raise_alert(1001, 10, 4, 5, "Fuser failure");
    run_cycle(&admin, &agent, "ALERTS").await;
    cartouche_e2e::eventually("both alerts stored", async || alerts(&admin, true).await.len() == 2).await;
    let pass = run_pass(&pool, &catalogue).await.unwrap();
    assert_eq!(pass.opened, 2);
    assert_eq!(run_pass(&pool, &catalogue).await.unwrap().opened, 0, "an alert is triaged once");

    let orders = work_orders(&admin).await;
    let jam_order = orders.iter().find(|o| o["fault"]["faultType"] == "jam").unwrap().clone();
    let fuser = orders.iter().find(|o| o["fault"]["faultType"] == "fuser_failure").unwrap();
    let fuser_fault = catalogue.get("fuser_failure").unwrap();
    assert_eq!(
        (&fuser["skill"], &fuser["specialistNeeded"], &fuser["estimatedMinutes"], &fuser["status"]),
        (&json!("FIELD_TECHNICIAN"), &json!(true), &json!(fuser_fault.minutes), &json!("OPEN"))
    );
    // By hand: the catalogue's 60 minutes at 90.00 an hour, and its 180.00 of parts.
    assert_eq!((fuser_fault.minutes, fuser_fault.parts_cost), (60, 180.0));
    assert_eq!(
        (&fuser["estimatedLabour"], &fuser["estimatedParts"], &fuser["estimatedCost"]),
        (&json!("90.00"), &json!("180.00"), &json!("270.00"))
    );
    // The jam: anyone can clear it, 5 minutes at 30.00 an hour.
    assert_eq!(
        (&jam_order["skill"], &jam_order["specialistNeeded"], &jam_order["estimatedLabour"], &jam_order["title"]),
        (&json!("USER"), &json!(false), &json!("2.50"), &json!("Paper jam in tray 2"))
    );
    assert_eq!(kinds(&jam_order), vec!["OPENED"]);
    assert!(jam_order["events"][0]["body"].as_str().unwrap().contains("Jams"));

    // The jam cleared, nothing printed yet: proposed for closing, not closed.
    simulator.device(0).lock().await.clear_alert(jam);
    run_cycle(&admin, &agent, "ALERTS").await;
    cartouche_e2e::eventually("the jam cleared", async || alerts(&admin, true).await.len() == 1).await;
    let pass = run_pass(&pool, &catalogue).await.unwrap();
    assert_eq!((pass.followed.proposed, pass.followed.closed), (1, 0));
    let orders = work_orders(&admin).await;
    let jam_order = orders.iter().find(|o| o["id"] == jam_order["id"]).unwrap().clone();
    assert_eq!((&jam_order["status"], &jam_order["closeProposed"]), (&json!("OPEN"), &json!(true)));
    assert!(jam_order["faultClearedAt"].is_string() && jam_order["timeToRepairMinutes"].as_f64().unwrap() >= 0.0);
    assert_eq!(kinds(&jam_order), vec!["OPENED", "CLEARED", "CLOSE_PROPOSED"]);

    // 30 pages later the rule closes it.
    let before = totals().await;
    simulator.device(0).lock().await.print(30);
    run_cycle(&admin, &agent, "COUNTERS").await;
    cartouche_e2e::eventually("the counters read", async || totals().await != before).await;
    let pass = run_pass(&pool, &catalogue).await.unwrap();
    assert_eq!(pass.followed.closed, 1);
    let orders = work_orders(&admin).await;
    let jam_order = orders.iter().find(|o| o["id"] == jam_order["id"]).unwrap().clone();
    assert_eq!(jam_order["status"], "CLOSED");
    assert_eq!(kinds(&jam_order), vec!["OPENED", "CLEARED", "CLOSE_PROPOSED", "STATUS"]);
    let closing = &jam_order["events"][3];
    assert_eq!((&closing["toStatus"], &closing["actorName"]), (&json!("CLOSED"), &Value::Null));
    assert!(closing["body"].as_str().unwrap().contains("printed 30 pages"), "{closing}");
    // The fuser (no close-by-rule, still reported) stays open.
    assert_eq!(run_pass(&pool, &catalogue).await.unwrap(), Default::default());
    let fuser = orders.iter().find(|o| o["fault"]["faultType"] == "fuser_failure").unwrap();
    assert_eq!((&fuser["status"], &fuser["closeProposed"]), (&json!("OPEN"), &json!(false)));

    // The dashboard: one repair open, a specialist's, with its work order.
    let dashboard = admin
        .data(
            "{ maintenanceDashboard { openFaults withWorkOrder specialistNeeded bySkill { key count } byFault { key count } byAge { key count } bySite { siteId count } } }",
            json!({}),
            "maintenanceDashboard",
        )
        .await
        .unwrap();
    assert_eq!(
        dashboard,
        json!({ "openFaults": 1, "withWorkOrder": 1, "specialistNeeded": 1,
                "bySkill": [{ "key": "field_technician", "count": 1 }],
                "byFault": [{ "key": "fuser_failure", "count": 1 }],
                "byAge": [{ "key": "under_1h", "count": 1 }],
                "bySite": [{ "siteId": site, "count": 1 }] })
    );
    let now = chrono::Utc::now();
    let durations = admin
        .data(
            "query($from: DateTime!, $to: DateTime!) { faultDurations(from: $from, to: $to) { faultType count medianMinutes } }",
            json!({ "from": now - chrono::Duration::hours(1), "to": now + chrono::Duration::minutes(1) }),
            "faultDurations",
        )
        .await
        .unwrap();
    assert_eq!(durations.as_array().unwrap().len(), 1);
    assert_eq!((&durations[0]["faultType"], &durations[0]["count"]), (&json!("jam"), &json!(1)));

    // The closed jam is this month's service cost (estimated: closed by rule without actuals).
    let month = now.format("%Y-%m").to_string();
    let bill = admin
        .data(
            "query($m: String!) { bill(month: $m) { plans { total supplyCost serviceCost serviceCostEstimated margin } } }",
            json!({ "m": month }),
            "bill",
        )
        .await
        .unwrap();
    let plan = &bill["plans"][0];
    assert_eq!((&plan["serviceCost"], &plan["serviceCostEstimated"]), (&json!("2.50"), &json!(true)));
    let total = cartouche_schema::billing::parse_money(plan["total"].as_str().unwrap()).unwrap();
    assert_eq!(plan["margin"], json!(cartouche_schema::billing::format_money(total - 2_500_000, 2)));
    agent.stop().await.unwrap();
}

/// The workflow people drive: open by hand, assign (to a dealer's technician on a customer's
/// device, never to a viewer), move, comment, close with what it took (the actual cost), and
/// every refusal names its field; another tenant sees nothing.
#[tokio::test(flavor = "multi_thread")]
async fn people_move_work_orders_through_their_workflow_and_bad_input_is_refused() {
    use cartouche_e2e::agent_socket;
    use cartouche_schema::wire::{Cycle, RawReading};

    let app = TestApp::start().await.unwrap();
    let dealer = app.tenant("Dealer", None).await.unwrap();
    let customer = app.tenant("Customer", Some(dealer.id)).await.unwrap();
    app.user(dealer.id, "boss@dealer.test", Role::Admin, "password-123456").await.unwrap();
    let tech = app.user(dealer.id, "tech@dealer.test", Role::Technician, "password-123456").await.unwrap();
    let viewer = app.user(customer.id, "viewer@customer.test", Role::Viewer, "password-123456").await.unwrap();
    app.user(customer.id, "admin@customer.test", Role::Admin, "password-123456").await.unwrap();
    let boss = app.signed_in("boss@dealer.test", "password-123456").await.unwrap();
    let technician = app.signed_in("tech@dealer.test", "password-123456").await.unwrap();
    let customer_admin = app.signed_in("admin@customer.test", "password-123456").await.unwrap();
    let (_, key) = TestApp::site_with_enrollment_key(&customer_admin, "Lille").await.unwrap();
    let (mut socket, agent) = agent_socket::linked(&app, &key, "pc-lille").await.unwrap();
    let walk = cartouche_e2e::recording("librenms/brother_hl5370dw.snmprec");
    let reading = RawReading::snmp("10.9.0.12", Cycle::Discovery, chrono::Utc::now(), walk);
    assert_eq!(agent_socket::deliver(&app, &mut socket, agent, 1, vec![reading]).await, None);
    let device =
        customer_admin.data("{ devices { nodes { id } } }", json!({}), "devices").await.unwrap()["nodes"][0]["id"]
            .clone();
    boss.run(
        "mutation($t: ID!) { setLabourRate(tenantId: $t, skill: FIELD_TECHNICIAN, hourlyRate: \"100\") { skill } }",
        json!({ "t": customer.id }),
    )
    .await
    .unwrap();

    let open = async |client: &GraphqlClient, input: Value| {
        client
            .run(
                &format!("mutation($i: OpenWorkOrderInput!) {{ openWorkOrder(input: $i) {{ {ORDER} }} }}"),
                json!({ "i": input }),
            )
            .await
            .unwrap()
    };
    let refused = open(&technician, json!({ "deviceId": device, "faultType": "fuser_broken" })).await;
    assert_eq!((refused.error_code(), refused.error_field()), (Some("VALIDATION"), Some("faultType")));
    assert!(refused.error_message().unwrap().contains("fuser_failure"), "the known types are listed");
    let refused =
        open(&technician, json!({ "deviceId": device, "faultType": "maintenance_due", "assigneeId": viewer.id })).await;
    assert_eq!((refused.error_code(), refused.error_field()), (Some("VALIDATION"), Some("assigneeId")));
    let viewer_client = app.signed_in("viewer@customer.test", "password-123456").await.unwrap();
    let refused = open(&viewer_client, json!({ "deviceId": device, "faultType": "maintenance_due" })).await;
    assert_eq!(refused.error_code(), Some("FORBIDDEN"));

    let order =
        open(&technician, json!({ "deviceId": device, "faultType": "maintenance_due", "comment": "Yearly service" }))
            .await
            .data("openWorkOrder")
            .unwrap();
    // 45 minutes at the customer's 100.00 an hour, 150.00 of parts.
    assert_eq!(
        (&order["status"], &order["estimatedLabour"], &order["estimatedCost"]),
        (&json!("OPEN"), &json!("75.00"), &json!("225.00"))
    );
    let id = order["id"].clone();
    let update = async |client: &GraphqlClient, input: Value| {
        client
            .run(
                &format!("mutation($id: ID!, $i: UpdateWorkOrderInput!) {{ updateWorkOrder(id: $id, input: $i) {{ {ORDER} assigneeName labourMinutes partsCost }} }}"),
                json!({ "id": id, "i": input }),
            )
            .await
            .unwrap()
    };
    // The dealer's technician takes the customer's work order: it becomes assigned.
    let taken = update(&technician, json!({ "assigneeId": tech.id })).await.data("updateWorkOrder").unwrap();
    assert_eq!((&taken["status"], &taken["assigneeName"]), (&json!("ASSIGNED"), &json!(tech.display_name)));
    let refused = update(&technician, json!({ "labourMinutes": 30 })).await;
    assert_eq!((refused.error_code(), refused.error_field()), (Some("VALIDATION"), Some("labourMinutes")));
    let refused = update(&technician, json!({})).await;
    assert_eq!((refused.error_code(), refused.error_field()), (Some("VALIDATION"), Some("input")));
    let refused = update(&technician, json!({ "status": "CLOSED", "partsCost": "12,50" })).await;
    assert_eq!((refused.error_code(), refused.error_field()), (Some("VALIDATION"), Some("partsCost")));
    update(&technician, json!({ "status": "WAITING_PARTS", "comment": "Fuser kit ordered" }))
        .await
        .data("updateWorkOrder")
        .unwrap();
    let closed = update(&technician, json!({ "status": "CLOSED", "labourMinutes": 30, "partsCost": "120" }))
        .await
        .data("updateWorkOrder")
        .unwrap();
    assert_eq!(
        (&closed["status"], &closed["labourMinutes"], &closed["partsCost"]),
        (&json!("CLOSED"), &json!(30), &json!("120.00"))
    );
    assert!(closed["closedAt"].is_string());
    let refused = update(&technician, json!({ "status": "IN_PROGRESS" })).await;
    assert_eq!((refused.error_code(), refused.error_field()), (Some("VALIDATION"), Some("status")));
    assert!(refused.error_message().unwrap().contains("reopen"));
    let history: Vec<(String, Value, Value)> = closed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["toStatus"].clone(), e["body"].clone()))
        .collect();
    assert_eq!(
        history,
        vec![
            ("OPENED".into(), Value::Null, json!("Yearly service")),
            ("ASSIGNED".into(), Value::Null, Value::Null),
            ("STATUS".into(), json!("ASSIGNED"), Value::Null),
            ("STATUS".into(), json!("WAITING_PARTS"), Value::Null),
            ("COMMENT".into(), Value::Null, json!("Fuser kit ordered")),
            ("STATUS".into(), json!("CLOSED"), Value::Null),
        ]
    );
    assert!(closed["events"].as_array().unwrap().iter().all(|e| e["actorName"] == json!(tech.display_name)));

    // The customer sees its repair and its actual cost in its bill: 30 minutes at 100.00 and
    // 120.00 of parts, recorded (not estimated).
    customer_admin
        .data("mutation { createPricePlan(input: { name: \"Base\", monoPrice: \"0.01\", colorPrice: \"0.05\", validFrom: \"2020-01-01\" }) { id } }", json!({}), "createPricePlan")
        .await
        .unwrap();
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let bill = customer_admin
        .data(
            "query($m: String!) { bill(month: $m) { plans { serviceCost serviceCostEstimated } } }",
            json!({ "m": month }),
            "bill",
        )
        .await
        .unwrap();
    assert_eq!(bill["plans"][0], json!({ "serviceCost": "170.00", "serviceCostEstimated": false }));

    // Another dealer sees nothing and can change nothing.
    let (_, stranger, _) = app.tenant_with_enrollment_key("Other").await.unwrap();
    let response = stranger.run("query($id: ID!) { workOrder(id: $id) { id } }", json!({ "id": id })).await.unwrap();
    assert_eq!(response.error_code(), Some("NOT_FOUND"));
    let response = stranger
        .run("mutation($id: ID!) { updateWorkOrder(id: $id, input: { comment: \"hi\" }) { id } }", json!({ "id": id }))
        .await
        .unwrap();
    assert_eq!(response.error_code(), Some("NOT_FOUND"));
    assert!(work_orders(&stranger).await.is_empty());
    let response = stranger
        .run("mutation { createWorkOrderRule(input: { name: \"Toner\", faultType: \"toner_low\" }) { id } }", json!({}))
        .await
        .unwrap();
    assert_eq!((response.error_code(), response.error_field()), (Some("VALIDATION"), Some("faultType")));
    let response = stranger
        .run("{ faultDurations(from: \"2026-02-01T00:00:00Z\", to: \"2026-01-01T00:00:00Z\") { count } }", json!({}))
        .await
        .unwrap();
    assert_eq!((response.error_code(), response.error_field()), (Some("VALIDATION"), Some("to")));
}
