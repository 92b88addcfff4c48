//! Ingestion against the real server and database: raw readings an agent uploads become
//! devices (identity resolved across address changes), counters (flagged when they cannot be
//! billed), supplies, alerts opened and cleared, and local printers; a reading that cannot be
//! interpreted is kept raw with its error and the others of its batch still count; the
//! devices learnt go back to the agent with their read plans.

use cartouche_e2e::agent_socket::{self, acked, config_where, interpreted, upload};
use cartouche_e2e::app::TestApp;
use cartouche_e2e::recording;
use cartouche_schema::db::fleet::Device;
use cartouche_schema::db::schema::{alerts, counter_readings, device_addresses, devices, supplies, supply_events};
use cartouche_schema::profiles::{ProfileSet, Walk, interpret};
use cartouche_schema::wire::{Cycle, RawReading};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

const LIFE_COUNT: &str = "1.3.6.1.2.1.43.10.2.1.4.1.1";

fn reading(address: &str, cycle: Cycle, snmprec: String, at: chrono::DateTime<chrono::Utc>) -> RawReading {
    RawReading::snmp(address, cycle, at, snmprec)
}

#[tokio::test(flavor = "multi_thread")]
async fn readings_become_devices_counters_supplies_and_alerts() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await.unwrap();
    let range = TestApp::discovery_range(&admin, &site, "10.9.0.0/24").await.unwrap();
    let (agent_id, credential) = agent_socket::enrolled(&app, &key, "pc-hq").await.unwrap();
    let agent: Uuid = agent_id.parse().unwrap();
    let (mut socket, _) = agent_socket::connect(&app, &agent_id, &credential).await.unwrap();
    let mut configs = Vec::new();
    let profiles = ProfileSet::builtin().unwrap();
    let t0 = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now() - chrono::Duration::hours(48), 0);

    // Discovery: two printers and a reading that is garbage.
    let konica = recording("librenms/konica_c250i.snmprec");
    let brother = recording("librenms/brother_hl5370dw.snmprec");
    let mut batch = vec![
        reading("10.9.0.11", Cycle::Discovery, konica.clone(), t0),
        reading("10.9.0.12", Cycle::Discovery, brother.clone(), t0),
        reading("10.9.0.13", Cycle::Discovery, "this is not snmprec".into(), t0),
    ];
    for r in &mut batch {
        r.range_id = Some(range.clone());
    }
    upload(&mut socket, 1, batch).await;
    acked(&mut socket, 1, &mut configs).await;
    let errors = interpreted(&app, agent, 1).await.expect("the garbage reading is reported");
    assert_eq!(errors.as_array().unwrap().len(), 1, "{errors}");
    assert_eq!(errors[0]["reading"], 2);
    assert!(errors[0]["error"].as_str().unwrap().contains("do not parse"), "{errors}");

    let mut conn = app.db.conn().await.unwrap();
    let found: Vec<Device> =
        devices::table.select(Device::as_select()).order_by(devices::address).load(&mut conn).await.unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    let expected = interpret(&Walk::from_snmprec(&konica).unwrap(), &profiles);
    let konica_id = found[0].id;
    assert_eq!((found[0].serial.clone(), found[0].model.clone()), (expected.serial.clone(), expected.model.clone()));
    assert_eq!(found[0].status, expected.status.summary);
    let stored: Vec<(String, i64, Option<String>)> = counter_readings::table
        .filter(counter_readings::device_id.eq(konica_id))
        .select((counter_readings::kind, counter_readings::value, counter_readings::flag))
        .order_by(counter_readings::kind)
        .load(&mut conn)
        .await
        .unwrap();
    assert!(!stored.is_empty());
    for counter in &expected.counters {
        let key = cartouche_schema::fleet::counter_key(counter.kind, &counter.label);
        assert!(stored.iter().any(|(k, v, f)| *k == key && *v == counter.value && f.is_none()), "{key} in {stored:?}");
    }
    let stored_supplies: i64 =
        supplies::table.filter(supplies::device_id.eq(konica_id)).count().get_result(&mut conn).await.unwrap();
    assert_eq!(stored_supplies, i64::try_from(expected.supplies.len()).unwrap());

    // Counters are partitioned by month: this month's partition exists, and holds this
    // month's readings.
    #[derive(diesel::QueryableByName)]
    struct Partition {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let month = chrono::Utc::now().format("counter_readings_%Y_%m").to_string();
    let holders: Vec<Partition> = diesel::sql_query(
        "SELECT DISTINCT tableoid::regclass::text AS name FROM counter_readings WHERE device_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(konica_id)
    .load(&mut conn)
    .await
    .unwrap();
    let expected_holder = if t0.format("%Y_%m").to_string() == chrono::Utc::now().format("%Y_%m").to_string() {
        month.clone()
    } else {
        "counter_readings_default".to_owned()
    };
    assert_eq!(holders.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), vec![expected_holder.as_str()]);

    // The devices go back to the agent with their read plans.
    let config = config_where(&mut socket, &mut configs, |c| c.devices.len() == 2).await;
    let known = config.devices.iter().find(|d| d.id == konica_id.to_string()).unwrap();
    assert_eq!((known.range_id.as_str(), known.address.as_str()), (range.as_str(), "10.9.0.11"));
    assert!(!known.plan.counters.get.is_empty() || !known.plan.counters.walk.is_empty());

    // A counters cycle a day later: more pages; then fewer (flagged, never billed).
    let life: i64 =
        konica.lines().find(|l| l.starts_with(LIFE_COUNT)).unwrap().rsplit('|').next().unwrap().parse().unwrap();
    let mut day1 = reading(
        "10.9.0.11",
        Cycle::Counters,
        cartouche_e2e::with_varbind(&konica, LIFE_COUNT, 65, &(life + 250).to_string()),
        t0 + chrono::Duration::hours(24),
    );
    day1.device_id = Some(konica_id.to_string());
    let mut day2 = reading(
        "10.9.0.11",
        Cycle::Counters,
        cartouche_e2e::with_varbind(&konica, LIFE_COUNT, 65, &(life + 100).to_string()),
        t0 + chrono::Duration::hours(25),
    );
    day2.device_id = Some(konica_id.to_string());
    upload(&mut socket, 2, vec![day1]).await;
    acked(&mut socket, 2, &mut configs).await;
    assert_eq!(interpreted(&app, agent, 2).await, None);
    upload(&mut socket, 3, vec![day2]).await;
    acked(&mut socket, 3, &mut configs).await;
    assert_eq!(interpreted(&app, agent, 3).await, None);
    let life_key = {
        let walk = Walk::from_snmprec(&konica).unwrap();
        let snapshot = interpret(&walk, &profiles);
        let counter = snapshot.counters.iter().find(|c| c.value == life).expect("the life count is a counter");
        cartouche_schema::fleet::counter_key(counter.kind, &counter.label)
    };
    let series: Vec<(i64, Option<String>)> = counter_readings::table
        .filter(counter_readings::device_id.eq(konica_id))
        .filter(counter_readings::kind.eq(&life_key))
        .order_by(counter_readings::read_at)
        .select((counter_readings::value, counter_readings::flag))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(series, vec![(life, None), (life + 250, None), (life + 100, Some("decrease".into()))]);

    // Alerts: a jam appears, then clears.
    let with_jam = cartouche_e2e::jammed(&konica);
    let mut raised = reading("10.9.0.11", Cycle::Alerts, with_jam, t0 + chrono::Duration::hours(26));
    raised.device_id = Some(konica_id.to_string());
    let mut cleared = reading("10.9.0.11", Cycle::Alerts, konica.clone(), t0 + chrono::Duration::hours(27));
    cleared.device_id = Some(konica_id.to_string());
    upload(&mut socket, 4, vec![raised]).await;
    acked(&mut socket, 4, &mut configs).await;
    interpreted(&app, agent, 4).await;
    let open: Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> = alerts::table
        .filter(alerts::device_id.eq(konica_id))
        .select((alerts::fault_type, alerts::ended_at))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].1, None);
    upload(&mut socket, 5, vec![cleared]).await;
    acked(&mut socket, 5, &mut configs).await;
    interpreted(&app, agent, 5).await;
    let ended: Option<chrono::DateTime<chrono::Utc>> =
        alerts::table.filter(alerts::device_id.eq(konica_id)).select(alerts::ended_at).first(&mut conn).await.unwrap();
    assert_eq!(ended, Some(t0 + chrono::Duration::hours(27)));

    // The Konica moves to another address (a new DHCP lease): the same device, its history kept.
    let mut moved = reading("10.9.0.99", Cycle::Discovery, konica.clone(), t0 + chrono::Duration::hours(30));
    moved.range_id = Some(range.clone());
    upload(&mut socket, 6, vec![moved]).await;
    acked(&mut socket, 6, &mut configs).await;
    interpreted(&app, agent, 6).await;
    let count: i64 = devices::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(count, 2, "same serial, same device");
    let addresses: Vec<String> = device_addresses::table
        .filter(device_addresses::device_id.eq(konica_id))
        .order_by(device_addresses::first_seen_at)
        .select(device_addresses::address)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(addresses, vec!["10.9.0.11", "10.9.0.99"]);

    // A local USB printer, read over IPP.
    let status = cartouche_schema::ipp::Group {
        tag: cartouche_schema::ipp::group::PRINTER,
        attributes: vec![
            cartouche_schema::ipp::Attribute::new(
                "printer-device-id",
                vec![cartouche_schema::ipp::Value::text(
                    cartouche_schema::ipp::tag::TEXT,
                    "MFG:HP;MDL:LaserJet M110we;SN:VNB3K12345;",
                )],
            ),
            cartouche_schema::ipp::Attribute::new(
                "printer-state-reasons",
                vec![cartouche_schema::ipp::Value::text(cartouche_schema::ipp::tag::KEYWORD, "toner-low-warning")],
            ),
            cartouche_schema::ipp::Attribute::new(
                "marker-names",
                vec![cartouche_schema::ipp::Value::text(cartouche_schema::ipp::tag::NAME, "Black")],
            ),
            cartouche_schema::ipp::Attribute::new(
                "marker-types",
                vec![cartouche_schema::ipp::Value::text(cartouche_schema::ipp::tag::KEYWORD, "toner")],
            ),
            cartouche_schema::ipp::Attribute::new(
                "marker-levels",
                vec![cartouche_schema::ipp::Value::integer(cartouche_schema::ipp::tag::INTEGER, 9)],
            ),
        ],
    };
    let message =
        cartouche_schema::ipp::Message { version: (2, 0), code: 0, request_id: 0, groups: vec![status], data: vec![] };
    use base64::Engine as _;
    let mut usb = reading("cups:HP_M110we", Cycle::Counters, String::new(), t0 + chrono::Duration::hours(30));
    usb.ipp = Some(base64::engine::general_purpose::STANDARD.encode(message.encode()));
    upload(&mut socket, 7, vec![usb]).await;
    acked(&mut socket, 7, &mut configs).await;
    assert_eq!(interpreted(&app, agent, 7).await, None);
    let (local_id, kind, serial, status): (Uuid, String, Option<String>, String) = devices::table
        .filter(devices::address.eq("cups:HP_M110we"))
        .select((devices::id, devices::kind, devices::serial, devices::status))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((kind.as_str(), serial.as_deref(), status.as_str()), ("local", Some("VNB3K12345"), "warning"));
    let level: Option<f64> = supplies::table
        .filter(supplies::device_id.eq(local_id))
        .select(supplies::percent)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(level, Some(9.0));
    let fault: String =
        alerts::table.filter(alerts::device_id.eq(local_id)).select(alerts::fault_type).first(&mut conn).await.unwrap();
    assert_eq!(fault, "toner_low");
    let events: i64 = supply_events::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(events, 0, "no supply changed in these readings");
}

const CYAN_LEVEL: &str = "1.3.6.1.2.1.43.11.1.1.9.1.1";

/// A batch is applied as a group: its readings of one device, sent out of order, are applied
/// in the order they were read (counters judged against the one before, a cartridge swap seen
/// between two of them, a jam opened and ended inside the batch); a late reading in a later
/// batch is judged against the history; and when the database refuses one reading of a batch,
/// the others are still applied and the refused one is kept raw with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn a_batch_is_applied_in_reading_order_and_one_refused_reading_loses_nothing_else() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (_, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await.unwrap();
    let (agent_id, credential) = agent_socket::enrolled(&app, &key, "pc-hq").await.unwrap();
    let agent: Uuid = agent_id.parse().unwrap();
    let (mut socket, _) = agent_socket::connect(&app, &agent_id, &credential).await.unwrap();
    let mut configs = Vec::new();
    let t0 = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now() - chrono::Duration::hours(48), 0);
    let hours = |h: i64| t0 + chrono::Duration::hours(h);
    let konica = recording("librenms/konica_c250i.snmprec");
    let life: i64 =
        konica.lines().find(|l| l.starts_with(LIFE_COUNT)).unwrap().rsplit('|').next().unwrap().parse().unwrap();

    upload(&mut socket, 1, vec![reading("10.9.0.11", Cycle::Discovery, konica.clone(), t0)]).await;
    acked(&mut socket, 1, &mut configs).await;
    assert_eq!(interpreted(&app, agent, 1).await, None);
    let mut conn = app.db.conn().await.unwrap();
    let id: Uuid = devices::table.select(devices::id).first(&mut conn).await.unwrap();
    let known = |cycle, snmprec: String, at| {
        let mut r = reading("10.9.0.11", cycle, snmprec, at);
        r.device_id = Some(id.to_string());
        r
    };
    let pages = |n: i64, cyan: &str| {
        cartouche_e2e::with_varbind(
            &cartouche_e2e::with_varbind(&konica, LIFE_COUNT, 65, &(life + n).to_string()),
            CYAN_LEVEL,
            2,
            cyan,
        )
    };
    // Sent newest first; read: jam at 1 h, 200 pages and cyan at 10 % at 2 h, fewer pages
    // and a new cyan cartridge at 3 h, jam gone at 4 h.
    let batch = vec![
        known(Cycle::Alerts, konica.clone(), hours(4)),
        known(Cycle::Counters, pages(100, "95"), hours(3)),
        known(Cycle::Counters, pages(200, "10"), hours(2)),
        known(Cycle::Alerts, cartouche_e2e::jammed(&konica), hours(1)),
    ];
    upload(&mut socket, 2, batch).await;
    acked(&mut socket, 2, &mut configs).await;
    assert_eq!(interpreted(&app, agent, 2).await, None);
    let life_key = {
        let snapshot = interpret(&Walk::from_snmprec(&konica).unwrap(), &ProfileSet::builtin().unwrap());
        let counter = snapshot.counters.iter().find(|c| c.value == life).unwrap();
        cartouche_schema::fleet::counter_key(counter.kind, &counter.label)
    };
    let series = async |conn: &mut diesel_async::AsyncPgConnection| -> Vec<(i64, Option<String>)> {
        counter_readings::table
            .filter(counter_readings::device_id.eq(id))
            .filter(counter_readings::kind.eq(&life_key))
            .order_by(counter_readings::read_at)
            .select((counter_readings::value, counter_readings::flag))
            .load(conn)
            .await
            .unwrap()
    };
    assert_eq!(series(&mut conn).await, vec![(life, None), (life + 200, None), (life + 100, Some("decrease".into()))]);
    let jams: Vec<(chrono::DateTime<chrono::Utc>, Option<chrono::DateTime<chrono::Utc>>)> = alerts::table
        .filter(alerts::device_id.eq(id))
        .select((alerts::started_at, alerts::ended_at))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(jams, vec![(hours(1), Some(hours(4)))]);
    let swaps: Vec<(i32, String, serde_json::Value)> = supply_events::table
        .filter(supply_events::device_id.eq(id))
        .select((supply_events::supply_index, supply_events::kind, supply_events::detail))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(swaps, vec![(1, "level_jumped_up".to_owned(), json!({ "from": 10, "to": 95 }))]);
    let (cyan, installed): (Option<f64>, Option<chrono::DateTime<chrono::Utc>>) = supplies::table
        .filter(supplies::device_id.eq(id))
        .filter(supplies::supply_index.eq(1))
        .select((supplies::percent, supplies::installed_at))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((cyan, installed), (Some(95.0), Some(hours(3))));
    let last_seen: chrono::DateTime<chrono::Utc> =
        devices::table.find(id).select(devices::last_seen_at).first(&mut conn).await.unwrap();
    assert_eq!(last_seen, hours(4));

    // A late reading (read at 2½ h, after the batch above): judged against the reading before
    // it in the history (200 pages more), not the latest; it changes no current state.
    upload(&mut socket, 3, vec![known(Cycle::Counters, pages(150, "50"), t0 + chrono::Duration::minutes(150))]).await;
    acked(&mut socket, 3, &mut configs).await;
    assert_eq!(interpreted(&app, agent, 3).await, None);
    assert_eq!(
        series(&mut conn).await,
        vec![
            (life, None),
            (life + 200, None),
            (life + 150, Some("decrease".into())),
            (life + 100, Some("decrease".into()))
        ]
    );
    let (cyan, last_seen): (Option<f64>, chrono::DateTime<chrono::Utc>) = supplies::table
        .inner_join(devices::table)
        .filter(supplies::device_id.eq(id))
        .filter(supplies::supply_index.eq(1))
        .select((supplies::percent, devices::last_seen_at))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((cyan, last_seen), (Some(95.0), hours(4)));

    // The database refuses one reading of a batch (a trigger stands for any failure): the
    // batch is applied reading by reading, and only that one is kept raw, with the reason.
    diesel::sql_query(
        "CREATE FUNCTION refuse_address() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.address = '10.9.0.66' THEN RAISE EXCEPTION 'address refused by the test'; END IF; RETURN NEW; END $$",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "CREATE TRIGGER refuse_address BEFORE INSERT OR UPDATE ON devices FOR EACH ROW EXECUTE FUNCTION refuse_address()",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let brother = recording("librenms/brother_hl5370dw.snmprec");
    let batch = vec![
        reading("10.9.0.12", Cycle::Discovery, brother, hours(5)),
        reading("10.9.0.66", Cycle::Discovery, konica.clone(), hours(5)),
    ];
    upload(&mut socket, 4, batch).await;
    acked(&mut socket, 4, &mut configs).await;
    let errors = interpreted(&app, agent, 4).await.expect("the refused reading is reported");
    assert_eq!(errors.as_array().unwrap().len(), 1, "{errors}");
    assert_eq!(errors[0]["reading"], 1);
    assert!(errors[0]["error"].as_str().unwrap().contains("address refused by the test"), "{errors}");
    let addresses: Vec<String> =
        devices::table.order_by(devices::address).select(devices::address).load(&mut conn).await.unwrap();
    assert_eq!(addresses, vec!["10.9.0.11", "10.9.0.12"], "the Brother is in, the Konica did not move");
    let konica_counters: i64 = counter_readings::table
        .filter(counter_readings::device_id.eq(id))
        .filter(counter_readings::read_at.eq(hours(5)))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(konica_counters, 0, "nothing half-written for the refused reading");
}
