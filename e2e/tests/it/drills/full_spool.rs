//! The agent's spool fills during an outage: the stated policy holds (refuse new readings and
//! keep the old ones, or drop the oldest to keep the newest), nothing the policy keeps is lost
//! when the server comes back, and the agent says what it lost: in its log, in `status` (the
//! spool's counts), and in the cycle reports the console shows.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cartouche_agent::link::{self, LinkHandles, LinkOptions, RunNow};
use cartouche_agent::service::{Driver, run_agent};
use cartouche_agent::spool::{FullPolicy, Spool};
use cartouche_e2e::app::TestApp;
use cartouche_e2e::eventually;
use cartouche_e2e::relay::Relay;
use cartouche_e2e::simulator::{Device, Simulator};
use cartouche_schema::db::agents::Agent;
use cartouche_schema::profiles::{ProfileSet, Walk};
use cartouche_schema::schedule::Schedule;
use cartouche_schema::wire::{AgentConfig, Cycle};
use serde_json::json;
use tokio::sync::{Notify, mpsc, watch};

const PORT: u16 = 16_193;
const PRINTERS: [&str; 3] =
    ["librenms/konica_c250i.snmprec", "librenms/brother_hl5370dw.snmprec", "librenms/canonprinter_mf.snmprec"];
/// The spool during the outage: room for a few counters readings only.
const LIMIT: u64 = 8 * 1024;
const ORDERS: usize = 8;

#[tokio::test(flavor = "multi_thread")]
async fn drill_a_full_spool_that_refuses_new_readings_keeps_the_old_and_says_so() {
    full_spool(FullPolicy::RefuseNew, 61).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn drill_a_full_spool_that_drops_the_oldest_keeps_the_newest_and_says_so() {
    full_spool(FullPolicy::DropOldest, 71).await;
}

async fn full_spool(policy: FullPolicy, second: u8) {
    let block = (std::process::id() % 250) as u8;
    let address = |i: u8| Ipv4Addr::new(127, 94, block, second + i);
    let devices = PRINTERS
        .iter()
        .zip(0u8..)
        .map(|(file, i)| {
            let walk = Walk::from_snmprec(&cartouche_e2e::recording(file)).unwrap();
            (SocketAddr::from((address(i), PORT)), Device::new(walk, "public"))
        })
        .collect();
    let _fleet = Simulator::start(devices).await.unwrap();
    let app = TestApp::start().await.unwrap();
    let relay = Relay::start(app.base_url.trim_start_matches("http://").parse().unwrap()).await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await.unwrap();
    let enrollment = link::enroll(&format!("http://{}", relay.address), &key, "pc-hq", None).await.unwrap();
    let agent_id: uuid::Uuid = enrollment.agent_id.parse().unwrap();
    let dir =
        std::env::temp_dir().join(format!("cartouche-drill-spool-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("spool.db");
    let link_options = LinkOptions {
        heartbeat: Duration::from_millis(300),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(300),
        ..LinkOptions::default()
    };
    let profiles = Arc::new(ProfileSet::builtin().unwrap());
    let options = cartouche_e2e::simulator::cycle_options(PORT);

    // The agent learns its fleet: discovery (due at once), the devices come back with plans.
    cartouche_e2e::running_agent::hourly_discovery_range(&admin, &site, "HQ floor", address(0), address(2))
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let first = tokio::spawn(run_agent(
        enrollment.clone(),
        profiles.clone(),
        Spool::open(&path, 64 << 20, policy).unwrap(),
        options.clone(),
        link_options.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let stored_config = || -> Option<AgentConfig> {
        let spool = Spool::inspect(&path).unwrap();
        spool.load_config().unwrap().and_then(|(json, _)| serde_json::from_slice(&json).ok())
    };
    eventually("the agent knows its three printers", async || {
        stored_config().is_some_and(|c| c.devices.len() == PRINTERS.len())
    })
    .await;
    eventually("the discovery uploaded", async || Spool::inspect(&path).unwrap().depth().unwrap().0 == 0).await;
    stop.send(()).unwrap();
    first.await.unwrap().unwrap();

    // The agent restarts with a small spool (as `--spool-size` sets it), runs its cycles
    // from the stored configuration (discovery switched off: only counters are ordered),
    // and the server goes away.
    let mut config = stored_config().unwrap();
    for range in &mut config.ranges {
        range.schedules = range.schedules.keys().map(|cycle| (*cycle, Schedule::Disabled)).collect();
    }
    let range_id = config.ranges[0].id.clone();
    let spool = Arc::new(Mutex::new(Spool::open(&path, LIMIT, policy).unwrap()));
    let pushed = Arc::new(Notify::new());
    let (link_config, _) = watch::channel(None);
    let (connected_tx, mut connected) = watch::channel(false);
    let (run_now, run_now_rx) = mpsc::unbounded_channel();
    let (reports_tx, reports_rx) = mpsc::unbounded_channel();
    let (shutdown_tx, shutdown) = watch::channel(false);
    let handles = LinkHandles {
        spool: spool.clone(),
        pushed: pushed.clone(),
        config: link_config,
        connected: connected_tx,
        run_now: run_now.clone(),
    };
    let link = {
        let (enrollment, shutdown) = (enrollment.clone(), shutdown.clone());
        tokio::spawn(async move { link::run(&enrollment, vec![], handles, reports_rx, link_options, shutdown).await })
    };
    let driver = Driver { spool: spool.clone(), pushed, reports: reports_tx, profiles, options, batch_size: 1 };
    let (_driver_config, driver_config_rx) = watch::channel(Some(config));
    let driving = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { driver.drive(driver_config_rx, run_now_rx, shutdown).await })
    };
    connected.wait_for(|up| *up).await.unwrap();
    relay.cut();
    connected.wait_for(|up| !*up).await.unwrap();
    let spool_state = || {
        let spool = spool.lock().unwrap();
        let pending: Vec<u64> = spool.pending(10_000).unwrap().iter().map(|(s, _)| *s).collect();
        (pending, spool.depth().unwrap().1, spool.dropped().unwrap(), spool.refused().unwrap())
    };
    let (before, ..) = spool_state();
    assert!(before.is_empty(), "the spool starts empty: {before:?}");
    let mut conn = app.db.conn().await.unwrap();
    let stored_before = Agent::stored_sequences(&mut conn, agent_id).await.unwrap();

    // Counters cycles, one reading a batch, while the server is away: the spool fills.
    println!(
        "drill: a spool of {LIMIT} bytes, policy {policy:?}, {ORDERS} counters cycles of {} printers during an outage",
        PRINTERS.len()
    );
    let pushed_first = u64::try_from(stored_before.len()).unwrap() + 1;
    for order in 1..=ORDERS {
        let (_, _, dropped_before, refused_before) = spool_state();
        run_now.send(RunNow { cycle: Cycle::Counters, range_id: Some(range_id.clone()) }).unwrap();
        // A cycle's readings are all either spooled, dropped or refused when it is done.
        eventually("the cycle's readings handled", async || {
            let spool = spool.lock().unwrap();
            // No acknowledgement comes while the server is away: the last sequence waiting is
            // the last one given; refused batches get none.
            let last = spool.pending(10_000).unwrap().last().map_or(pushed_first - 1, |(s, _)| *s);
            last + 1 - pushed_first + spool.refused().unwrap() >= u64::try_from(order * PRINTERS.len()).unwrap()
        })
        .await;
        let (pending, bytes, dropped, refused) = spool_state();
        println!(
            "  cycle {order}: {:>2} batches waiting ({bytes:>5} bytes), {:>2} dropped, {:>2} refused",
            pending.len(),
            dropped - dropped_before,
            refused - refused_before
        );
    }
    let (waiting, bytes, dropped, refused) = spool_state();
    assert!(bytes <= LIMIT, "the spool keeps to its size: {bytes} of {LIMIT}");
    let total = u64::try_from(ORDERS * PRINTERS.len()).unwrap();
    match policy {
        FullPolicy::RefuseNew => {
            assert_eq!(dropped, 0, "refusing new readings never drops old ones");
            assert!(refused > 0, "the spool filled up");
            // The oldest readings are the ones kept: the first sequences, without a gap.
            let expected: Vec<u64> = (pushed_first..pushed_first + (total - refused)).collect();
            assert_eq!(waiting, expected, "the readings kept are the first ones");
        }
        FullPolicy::DropOldest => {
            assert_eq!(refused, 0, "dropping the oldest never refuses the new");
            assert!(dropped > 0, "the spool filled up");
            // The newest readings are kept: the last sequences, without a gap.
            let last = pushed_first + total - 1;
            let expected: Vec<u64> = (last + 1 - u64::try_from(waiting.len()).unwrap()..=last).collect();
            assert_eq!(waiting, expected, "the readings kept are the latest ones");
            assert_eq!(u64::try_from(waiting.len()).unwrap() + dropped, total, "each batch kept or dropped");
        }
    }

    // The server is back: what the policy kept arrives, once; the cycle reports say what was lost.
    relay.restore();
    eventually("the kept readings stored", async || {
        Agent::stored_sequences(&mut conn, agent_id).await.unwrap().len() == stored_before.len() + waiting.len()
    })
    .await;
    let stored = Agent::stored_sequences(&mut conn, agent_id).await.unwrap();
    let new: Vec<u64> = stored[stored_before.len()..].iter().map(|s| u64::try_from(*s).unwrap()).collect();
    assert_eq!(new, waiting, "the batches kept are the batches stored, once each");
    let lost_in_reports = async || -> i64 {
        let agents = admin
            .data(
                "query { agents { nodes { cycleReports(first: 50) { cycle batchesNotKept } } } }",
                json!({}),
                "agents",
            )
            .await
            .unwrap();
        agents["nodes"][0]["cycleReports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["batchesNotKept"].as_i64().unwrap())
            .sum()
    };
    eventually("the cycle reports reached the console", async || {
        lost_in_reports().await == i64::try_from(dropped + refused).unwrap()
    })
    .await;
    println!(
        "drill passed: {} batches kept and stored once, {dropped} dropped and {refused} refused, as the spool counts (status) and the console's cycle reports say",
        waiting.len()
    );

    shutdown_tx.send_replace(true);
    link.await.unwrap().unwrap();
    driving.await.unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
