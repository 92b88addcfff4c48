//! The whole chain through an outage: the agent (as `cartouche-agent run` runs it) gets its
//! range from the server, the api stops while a discovery cycle is under way, the agent is
//! restarted during the outage (and reads its local printers then), and the api comes back:
//! every reading reaches the database exactly once, the sequence numbers without a gap or a
//! repeat.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cartouche_agent::cycles::CycleOptions;
use cartouche_agent::link::{self, LinkOptions};
use cartouche_agent::local::LocalOptions;
use cartouche_agent::service::run_agent;
use cartouche_agent::spool::{FullPolicy, Spool};
use cartouche_e2e::app::TestApp;
use cartouche_e2e::eventually;
use cartouche_e2e::ipp_printer::{IppEndpoint, Mode, SimQueue};
use cartouche_e2e::relay::Relay;
use cartouche_e2e::simulator::{Device, Simulator};
use cartouche_schema::db::agents::Agent;
use cartouche_schema::profiles::{ProfileSet, Walk};
use cartouche_schema::wire::RawReading;
use serde_json::json;
use tokio::sync::oneshot;

const PORT: u16 = 16_163;
const PRINTERS: [&str; 5] = [
    "librenms/konica_c250i.snmprec",
    "librenms/brother_hl5370dw.snmprec",
    "librenms/dell-laser.snmprec",
    "librenms/canonprinter_mf.snmprec",
    "librenms/epson.snmprec",
];

fn options(local: Option<LocalOptions>) -> CycleOptions {
    CycleOptions { local, ..cartouche_e2e::simulator::cycle_options(PORT) }
}

/// Runs the agent until the returned sender is used (or dropped).
fn start_agent(
    enrollment: &link::Enrollment,
    spool_path: &Path,
    local: Option<LocalOptions>,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let spool = Spool::open(spool_path, 64 << 20, FullPolicy::RefuseNew).unwrap();
    let profiles = Arc::new(ProfileSet::builtin().unwrap());
    let link_options = LinkOptions {
        heartbeat: Duration::from_millis(300),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(500),
        ..LinkOptions::default()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(run_agent(enrollment.clone(), profiles, spool, options(local), link_options, async {
        let _ = stopped.await;
    }));
    (stop, running)
}

/// Five printers (`PRINTERS`) on 127.`second`.x.1 + 7i, the first answering `slow_first`
/// late; returns the simulator and the address of host `i` of the block.
async fn fleet(second: u8, slow_first: Option<Duration>) -> (Simulator, impl Fn(u8) -> Ipv4Addr + Clone) {
    let block = (std::process::id() % 250) as u8;
    let address = move |i: u8| Ipv4Addr::new(127, second, block, 1 + i);
    let devices = PRINTERS
        .iter()
        .zip(0u8..)
        .map(|(file, i)| {
            let walk = Walk::from_snmprec(&cartouche_e2e::recording(file)).unwrap();
            let mut device = Device::new(walk, "public");
            if i == 0 {
                device.faults.slow = slow_first;
            }
            (SocketAddr::from((address(i * 7), PORT)), device)
        })
        .collect();
    (Simulator::start(devices).await.unwrap(), address)
}

/// A range from `first` to `last` with discovery due every hour (so at once: it never ran)
/// and the other cycles off (run on request with runCycle).
async fn create_range(
    admin: &cartouche_e2e::graphql::GraphqlClient,
    site: &str,
    first: Ipv4Addr,
    last: Ipv4Addr,
) -> String {
    cartouche_e2e::running_agent::hourly_discovery_range(admin, site, "HQ floor", first, last).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_outage_with_an_agent_restart_in_it_loses_and_repeats_nothing() {
    // The fleet: five printers on loopback addresses among 40 that a discovery sweeps (the
    // silent ones make the sweep last a few seconds).
    // The first printer answers each request 300 ms late: reading it takes seconds, so the
    // discovery is surely still running when the api is stopped.
    let (_fleet, address) = fleet(88, Some(Duration::from_millis(300))).await;
    let usb = IppEndpoint::start(
        Mode::IppUsb,
        vec![SimQueue {
            name: "USB laser".into(),
            device_uri: "usb://HP/LaserJet".into(),
            make_and_model: "HP LaserJet M110we".into(),
            device_id: Some("MFG:HP;MDL:LaserJet M110we;SN:VNB3K12345;".into()),
            state: 3,
            reasons: vec![],
            markers: vec![("Black Cartridge".into(), "toner".into(), "#000000".into(), 71, 10, 100)],
            supplies: vec![],
        }],
    )
    .await
    .unwrap();

    let mut app = TestApp::start().await.unwrap();
    let relay = Relay::start(app.base_url.trim_start_matches("http://").parse().unwrap()).await.unwrap();
    let server = format!("http://{}", relay.address);
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await.unwrap();
    let enrollment = link::enroll(&server, &key, "pc-hq", None).await.unwrap();
    let agent_id: uuid::Uuid = enrollment.agent_id.parse().unwrap();
    let dir = std::env::temp_dir().join(format!("cartouche-outage-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let spool_path = dir.join("spool.db");
    let watch_spool = || Spool::inspect(&spool_path).unwrap();

    // The agent runs, without local printers at first, and gets an empty configuration.
    let (stop, running) = start_agent(&enrollment, &spool_path, None);
    eventually("the agent connected and configured", async || watch_spool().load_config().unwrap().is_some()).await;

    // The range arrives: discovery is due at once (every hour, never run), the rest is off.
    create_range(&admin, &site, address(0), address(39)).await;
    eventually("the range reached the agent", async || {
        let range = format!("{}-{}", address(0), address(39));
        watch_spool().load_config().unwrap().is_some_and(|(json, _)| String::from_utf8_lossy(&json).contains(&range))
    })
    .await;

    // The api goes down while the sweep runs.
    relay.cut();
    app.stop().await.unwrap();
    eventually("the discovery readings spooled during the outage", async || {
        let runs = watch_spool().last_runs().unwrap();
        runs.iter().any(|(_, cycle, _)| cycle == "discovery") && watch_spool().depth().unwrap().0 >= 1
    })
    .await;
    // Wait for the whole cycle: five printers spooled.
    let spooled_printers = || {
        watch_spool()
            .pending(1000)
            .unwrap()
            .iter()
            .flat_map(|(_, payload)| serde_json::from_slice::<Vec<RawReading>>(payload).unwrap())
            .count()
    };
    eventually("all five printers spooled", async || spooled_printers() == PRINTERS.len()).await;
    let mut conn = app.db.conn().await.unwrap();
    let before_restart = Agent::stored_sequences(&mut conn, agent_id).await.unwrap();
    assert!(before_restart.is_empty(), "nothing reached the database: {before_restart:?}");

    // The agent restarts during the outage, this time with its local printers.
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), running).await.unwrap().unwrap().unwrap();
    let (stop, running) = start_agent(
        &enrollment,
        &spool_path,
        Some(LocalOptions { cups: None, ipp_usb: vec![usb.address], timeout: Duration::from_secs(5) }),
    );
    eventually("the local printer spooled after the restart", async || spooled_printers() == PRINTERS.len() + 1).await;
    let waiting: Vec<u64> = watch_spool().pending(1000).unwrap().iter().map(|(s, _)| *s).collect();

    // The api is back: everything arrives, once.
    app.start_again().await.unwrap();
    relay.point_to(app.base_url.trim_start_matches("http://").parse().unwrap());
    relay.restore();
    eventually("the spool drained into the database", async || {
        let stored = Agent::stored_sequences(&mut conn, agent_id).await.unwrap();
        stored.len() == waiting.len() && watch_spool().depth().unwrap().0 == 0
    })
    .await;
    let stored = Agent::stored_sequences(&mut conn, agent_id).await.unwrap();
    let expected: Vec<i64> = waiting.iter().map(|s| i64::try_from(*s).unwrap()).collect();
    assert_eq!(stored, expected, "the batches spooled are the batches stored");
    assert_eq!(
        stored,
        (1..=i64::try_from(stored.len()).unwrap()).collect::<Vec<_>>(),
        "no gap, no repeat across the restart"
    );

    // Each printer once, and the USB one, in the raw readings.
    let batches: Vec<serde_json::Value> = {
        use cartouche_schema::db::schema::raw_batches;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        raw_batches::table
            .filter(raw_batches::agent_id.eq(agent_id))
            .select(raw_batches::readings)
            .load(&mut conn)
            .await
            .unwrap()
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for batch in batches {
        for reading in serde_json::from_value::<Vec<RawReading>>(batch).unwrap() {
            *seen.entry(reading.address).or_default() += 1;
        }
    }
    let mut expected: BTreeMap<String, usize> =
        (0..PRINTERS.len()).map(|i| (address(u8::try_from(i).unwrap() * 7).to_string(), 1)).collect();
    expected.insert(usb.printer_uri(), 1);
    assert_eq!(seen, expected);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), running).await.unwrap().unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The loop the product is made of: the agent discovers the fleet, the server learns the
/// devices and sends them back with their read plans, and a counters cycle asked for in
/// GraphQL reads exactly those devices, whose counters land in the database.
#[tokio::test(flavor = "multi_thread")]
async fn the_server_learns_the_fleet_and_the_agent_reads_its_counters_when_asked() {
    use cartouche_schema::db::schema::{counter_readings, devices, raw_batches};
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    let (_fleet, address) = fleet(89, None).await;
    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await.unwrap();
    let enrollment = link::enroll(&app.base_url, &key, "pc-hq", None).await.unwrap();
    let agent_id: uuid::Uuid = enrollment.agent_id.parse().unwrap();
    let dir = std::env::temp_dir().join(format!("cartouche-loop-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let spool_path = dir.join("spool.db");
    let (stop, running) = start_agent(&enrollment, &spool_path, None);
    create_range(&admin, &site, address(0), address(39)).await;

    let mut conn = app.db.conn().await.unwrap();
    eventually("the five printers known to the server", async || {
        devices::table.count().get_result::<i64>(&mut conn).await.unwrap() == 5
    })
    .await;
    eventually("the agent configured with the five devices and their plans", async || {
        Spool::inspect(&spool_path)
            .unwrap()
            .load_config()
            .unwrap()
            .and_then(|(json, _)| serde_json::from_slice::<cartouche_schema::wire::AgentConfig>(&json).ok())
            .is_some_and(|c| c.devices.len() == 5)
    })
    .await;

    admin
        .data(
            "mutation($id: ID!) { runCycle(agentId: $id, cycle: COUNTERS) { id } }",
            json!({ "id": agent_id.to_string() }),
            "runCycle",
        )
        .await
        .unwrap();
    // The counters cycle's readings name their devices; each device gets counters from it.
    let counted = async |conn: &mut diesel_async::AsyncPgConnection| -> Vec<(uuid::Uuid, bool)> {
        let batches: Vec<(i64, serde_json::Value)> = raw_batches::table
            .filter(raw_batches::agent_id.eq(agent_id))
            .filter(raw_batches::interpreted_at.is_not_null())
            .select((raw_batches::sequence, raw_batches::readings))
            .load(conn)
            .await
            .unwrap();
        let mut read = Vec::new();
        for (sequence, readings) in batches {
            for reading in serde_json::from_value::<Vec<RawReading>>(readings).unwrap() {
                if reading.cycle != cartouche_schema::wire::Cycle::Counters {
                    continue;
                }
                let device: uuid::Uuid =
                    reading.device_id.expect("a counters reading names its device").parse().unwrap();
                let rows: i64 = counter_readings::table
                    .filter(counter_readings::device_id.eq(device))
                    .filter(counter_readings::sequence.eq(sequence))
                    .count()
                    .get_result(conn)
                    .await
                    .unwrap();
                read.push((device, rows > 0));
            }
        }
        read.sort();
        read
    };
    eventually("the counters cycle of the five devices ingested", async || counted(&mut conn).await.len() == 5).await;
    // Exactly the devices the server knows were read; those whose MIBs have counters (not
    // every recording does) have them stored from this cycle.
    let known: Vec<(uuid::Uuid, String)> =
        devices::table.select((devices::id, devices::address)).order_by(devices::id).load(&mut conn).await.unwrap();
    let profiles = cartouche_schema::profiles::ProfileSet::builtin().unwrap();
    let expected: Vec<(uuid::Uuid, bool)> = known
        .iter()
        .map(|(id, at)| {
            let i = (0u8..5).find(|i| address(i * 7).to_string() == *at).expect("a fleet address");
            let walk = Walk::from_snmprec(&cartouche_e2e::recording(PRINTERS[usize::from(i)])).unwrap();
            (*id, !cartouche_schema::profiles::interpret(&walk, &profiles).counters.is_empty())
        })
        .collect();
    assert!(expected.iter().filter(|(_, has)| *has).count() >= 2, "the fleet has printers with counters");
    assert_eq!(counted(&mut conn).await, expected);
    let reports = admin
        .data(
            "query { agents { nodes { cycleReports(first: 10) { cycle devicesRead devicesFailed } } } }",
            json!({}),
            "agents",
        )
        .await
        .unwrap();
    let reports = reports["nodes"][0]["cycleReports"].as_array().unwrap().clone();
    assert!(
        reports.iter().any(|r| r["cycle"] == "counters" && r["devicesRead"] == 5 && r["devicesFailed"] == 0),
        "{reports:?}"
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), running).await.unwrap().unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
