//! Supplies from shipment onward: cartridges shipped by serial, one installed at its site and
//! replaced (its pages counted while it was in, against its rated yield), one installed at
//! another site, one never installed; bad shipments refused with the field named.

use cartouche_e2e::agent_socket;
use cartouche_e2e::app::TestApp;
use cartouche_e2e::{recording, with_varbind};
use cartouche_schema::wire::{Cycle, RawReading};
use serde_json::json;

const LIFE: &str = "1.3.6.1.2.1.43.10.2.1.4.1.1";
const TONER: &str = "1.3.6.1.2.1.43.11.1.1.6.1.1";
const SHIP: &str =
    "mutation($input: ShipmentInput!) { recordShipment(input: $input) { id quantity supplies { serial status } } }";

#[tokio::test(flavor = "multi_thread")]
async fn shipped_cartridges_are_followed_to_their_devices_and_their_yield() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (lyon, lyon_key) = TestApp::site_with_enrollment_key(&admin, "Lyon").await.unwrap();
    let (_, paris_key) = TestApp::site_with_enrollment_key(&admin, "Paris").await.unwrap();
    admin
        .data(
            "mutation { createSupplyModel(input: { partNumber: \"TN-3280\", name: \"Black toner\", kind: \"toner\", ratedYield: 8000, unitCost: \"42.50\" }) { id } }",
            json!({}),
            "createSupplyModel",
        )
        .await
        .unwrap();

    // Dates relative to today (a cartridge counts as never installed 60 days after delivery).
    let today = chrono::Utc::now().date_naive();
    let day = |d: i64| (today - chrono::Duration::days(d)).to_string();
    let noon = |d: i64| format!("{}T12:00:00Z", day(d));
    // Bad shipments, each refused at its field.
    let base = json!({ "siteId": lyon, "partNumber": "TN-3280", "quantity": 3,
        "serials": ["TNA00001", "TNA00002", "TNA00003"], "shippedOn": day(42), "deliveredOn": day(40) });
    let with = |change: serde_json::Value| {
        let mut input = base.clone();
        input.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
        json!({ "input": input })
    };
    for (change, field) in [
        (json!({ "partNumber": "TN-9999" }), "partNumber"),
        (json!({ "quantity": 2 }), "serials"),
        (json!({ "serials": ["TNA00001", "TNA00001", "TNA00003"] }), "serials[1]"),
        (json!({ "deliveredOn": day(50) }), "deliveredOn"),
    ] {
        let answer = admin.run(SHIP, with(change.clone())).await.unwrap();
        assert_eq!((answer.error_code(), answer.error_field()), (Some("VALIDATION"), Some(field)), "{change}");
    }
    let shipped = admin.data(SHIP, with(json!({})), "recordShipment").await.unwrap();
    assert_eq!(shipped["supplies"][0]["status"], "SHIPPED");
    let again = admin.run(SHIP, with(json!({ "serials": ["TNB1", "TNB2", "TNA00002"] }))).await.unwrap();
    assert_eq!(again.error_field(), Some("serials[2]"), "a serial is shipped once");

    // Lyon's printer: TNA00001 in from the start, replaced by TNA00002 after 3,000 pages;
    // Paris' printer gets TNA00003 (shipped to Lyon).
    // (Two different printers: the same recording would be the same device, by its serial.)
    let deliver = async |key: &str, name: &str, file: &str, address: &str, steps: &[(String, i64, &str)]| {
        let (agent_id, credential) = agent_socket::enrolled(&app, key, name).await.unwrap();
        let (mut socket, _) = agent_socket::connect(&app, &agent_id, &credential).await.unwrap();
        let agent: uuid::Uuid = agent_id.parse().unwrap();
        for (i, (at, life, serial)) in steps.iter().enumerate() {
            let walk = with_varbind(&recording(file), LIFE, 65, &life.to_string());
            let walk = with_varbind(&walk, TONER, 4, &format!("Toner;SN{serial}"));
            let at = chrono::DateTime::parse_from_rfc3339(at).unwrap().to_utc();
            let reading = RawReading::snmp(address, Cycle::Discovery, at, walk);
            assert_eq!(agent_socket::deliver(&app, &mut socket, agent, i as u64 + 1, vec![reading]).await, None);
        }
    };
    deliver(
        &lyon_key,
        "pc-lyon",
        "librenms/brother_hl5370dw.snmprec",
        "10.9.0.12",
        &[
            (noon(35), 1000, "TNA00001"),
            (noon(25), 3000, "TNA00001"),
            (noon(15), 4000, "TNA00002"),
            (noon(5), 4500, "TNA00002"),
        ],
    )
    .await;
    let paris_walk_serial = "TNA00003";
    deliver(
        &paris_key,
        "pc-paris",
        "librenms/konica_c250i.snmprec",
        "10.8.0.5",
        &[(noon(30), 40_000, paris_walk_serial)],
    )
    .await;

    let list = admin
        .data(
            "{ shipments { quantity model { partNumber ratedYield } supplies { serial status installedAt removedAt pagesPrinted yieldRatio } } }",
            json!({}),
            "shipments",
        )
        .await
        .unwrap();
    let supplies = list[0]["supplies"].as_array().unwrap();
    let brief: Vec<(String, String, serde_json::Value, serde_json::Value)> = supplies
        .iter()
        .map(|s| {
            (
                s["serial"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
                s["pagesPrinted"].clone(),
                s["yieldRatio"].clone(),
            )
        })
        .collect();
    // By hand: TNA00001 was in from 1,000 to 4,000 (3,000 pages, 3/8 of its rated 8,000);
    // TNA00002 from 4,000 to 4,500 so far.
    assert_eq!(
        brief,
        vec![
            ("TNA00001".into(), "INSTALLED".into(), json!(3000), json!(0.375)),
            ("TNA00002".into(), "INSTALLED".into(), json!(500), json!(0.0625)),
            ("TNA00003".into(), "INSTALLED_ELSEWHERE".into(), json!(0), json!(0.0)),
        ]
    );
    assert_eq!(supplies[0]["removedAt"].as_str().unwrap(), noon(15).replace('Z', "+00:00"));
    assert!(supplies[1]["removedAt"].is_null(), "still in");

    // The month's bill counts the cartridges installed in it at their unit cost: the cost
    // per page and the margin of the contract.
    let pool = cartouche_schema::db::pool(app.db.url(), 2).unwrap();
    cartouche_jobs::accounting::count_due(&pool).await.unwrap();
    admin
        .data(
            "mutation { createPricePlan(input: { name: \"All\", monoPrice: \"0.01\", colorPrice: \"0.08\", validFrom: \"2020-01-01\" }) { id } }",
            json!({}),
            "createPricePlan",
        )
        .await
        .unwrap();
    let month = (today - chrono::Duration::days(15)).format("%Y-%m").to_string();
    let installs = [35, 15, 30].iter().filter(|d| day(**d).starts_with(&month)).count();
    let bill = admin
        .data(
            "query($m: String!) { bill(month: $m) { plans { total supplyCost costPerPage margin } } }",
            json!({ "m": month }),
            "bill",
        )
        .await
        .unwrap();
    let plan = &bill["plans"][0];
    let cents = |v: &serde_json::Value| (v.as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64;
    assert_eq!(cents(&plan["supplyCost"]), 4250 * installs as i64, "{plan}");
    assert_eq!(cents(&plan["margin"]), cents(&plan["total"]) - cents(&plan["supplyCost"]));

    // A shipment months old that nothing reported: never installed.
    admin
        .data(
            SHIP,
            json!({ "input": { "siteId": lyon, "partNumber": "tn-3280", "quantity": 1, "serials": ["TNOLD01"], "shippedOn": day(200) } }),
            "recordShipment",
        )
        .await
        .unwrap();
    let list = admin.data("{ shipments { supplies { serial status } } }", json!({}), "shipments").await.unwrap();
    let old = list
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["supplies"].as_array().unwrap().clone())
        .find(|s| s["serial"] == "TNOLD01")
        .unwrap();
    assert_eq!(old["status"], "NEVER_INSTALLED");
}

/// A drum falling with the pages: days to empty from its own fall, P90 before P50, the order-by
/// date the site's lead time before the P90 date, and the re-order suggestions it joins.
#[tokio::test(flavor = "multi_thread")]
async fn a_falling_drum_is_forecast_and_suggested_for_reorder() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "Lyon").await.unwrap();
    // Lyon is a week from the warehouse (a lead time out of range is refused).
    let lead = "mutation($id: ID!, $d: Int!) { updateSite(id: $id, input: { leadTimeDays: $d }) { leadTimeDays } }";
    assert_eq!(admin.run(lead, json!({ "id": site, "d": 365 })).await.unwrap().error_field(), Some("leadTimeDays"));
    admin.data(lead, json!({ "id": site, "d": 7 }), "updateSite").await.unwrap();
    admin
        .data(
            "mutation { createSupplyModel(input: { partNumber: \"DR-3200\", name: \"Drum\", kind: \"drum\", ratedYield: 25000 }) { id } }",
            json!({}),
            "createSupplyModel",
        )
        .await
        .unwrap();
    let (mut socket, agent) = agent_socket::linked(&app, &key, "pc-lyon").await.unwrap();
    let today = chrono::Utc::now().date_naive();
    // 5,000 pages over 19 days while the drum falls from 80 % to 60 % of its 25,000.
    for (i, (days_ago, life, drum)) in
        [(20, 10_000, 20_000), (10, 12_500, 17_500), (1, 15_000, 15_000)].into_iter().enumerate()
    {
        let at = (today - chrono::Duration::days(days_ago)).and_hms_opt(12, 0, 0).unwrap().and_utc();
        let walk = with_varbind(&recording("librenms/brother_hl5370dw.snmprec"), LIFE, 65, &life.to_string());
        let walk = with_varbind(&walk, "1.3.6.1.2.1.43.11.1.1.6.1.3", 4, "Drum Unit PN DR-3200");
        let walk = with_varbind(&walk, "1.3.6.1.2.1.43.11.1.1.9.1.3", 2, &drum.to_string());
        let reading = RawReading::snmp("10.9.0.12", Cycle::Discovery, at, walk);
        assert_eq!(agent_socket::deliver(&app, &mut socket, agent, i as u64 + 1, vec![reading]).await, None);
    }
    let pool = cartouche_schema::db::pool(app.db.url(), 2).unwrap();
    cartouche_jobs::accounting::count_due(&pool).await.unwrap();
    // Each level the drum reported is kept with the page counter of its reading.
    let mut conn = app.db.conn().await.unwrap();
    let levels: Vec<(i64, f64)> = {
        use cartouche_schema::db::schema::supply_levels as l;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        l::table
            .filter(l::supply_index.eq(3))
            .order_by(l::at)
            .select((l::total_pages.assume_not_null(), l::percent))
            .load(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(levels, vec![(10_000, 80.0), (12_500, 70.0), (15_000, 60.0)]);

    const FORECASTS: &str = "query($w: Int) { supplyForecasts(orderWithinDays: $w) {
        kind partNumber level p50Days p90Days emptyOnP50 emptyOnP90 orderBy basis } }";
    let all = admin.data(FORECASTS, json!({ "w": null }), "supplyForecasts").await.unwrap();
    let drum =
        all.as_array().unwrap().iter().find(|f| f["partNumber"] == "DR-3200").expect("the drum is forecast").clone();
    assert_eq!((drum["basis"].as_str(), drum["level"].as_f64()), (Some("measured"), Some(60.0)));
    // 20 % over 5,000 pages is 0.004 % a page; about 260 pages a day: some 55 to 60 days.
    let (p50, p90) = (drum["p50Days"].as_f64().unwrap(), drum["p90Days"].as_f64().unwrap());
    assert!((45.0..75.0).contains(&p50) && p90 <= p50, "{drum}");
    let date = |v: &serde_json::Value| chrono::NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert_eq!(date(&drum["orderBy"]), date(&drum["emptyOnP90"]) - chrono::Duration::days(7), "the site's lead time");
    // Re-order suggestions: not within a week, within a quarter.
    let soon = admin.data(FORECASTS, json!({ "w": 7 }), "supplyForecasts").await.unwrap();
    assert!(!soon.as_array().unwrap().iter().any(|f| f["partNumber"] == "DR-3200"), "{soon}");
    let quarter = admin.data(FORECASTS, json!({ "w": 90 }), "supplyForecasts").await.unwrap();
    assert!(quarter.as_array().unwrap().iter().any(|f| f["partNumber"] == "DR-3200"), "{quarter}");
    let bad = admin.run(FORECASTS, json!({ "w": -1 })).await.unwrap();
    assert_eq!(bad.error_field(), Some("orderWithinDays"));
}
