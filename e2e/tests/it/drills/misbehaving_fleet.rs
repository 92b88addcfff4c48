//! A fleet where a tenth of the printers misbehave in every way the simulator knows, polled
//! for an hour of simulated time (counters every minute, alerts every five): no cycle stalls,
//! every well-behaved printer is read every minute, and the misbehaving ones cost their own
//! readings only.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cartouche_agent::cycles::{self, CycleOptions};
use cartouche_agent::link::{self, LinkOptions};
use cartouche_agent::snmp::EngineConfig;
use cartouche_agent::spool::{FullPolicy, Spool};
use cartouche_e2e::app::TestApp;
use cartouche_e2e::eventually;
use cartouche_e2e::simulator::Simulator;
use cartouche_e2e::simulator::device::Faults;
use cartouche_e2e::simulator::scenario::Scenario;
use cartouche_schema::db::schema::{counter_readings, raw_batches};
use cartouche_schema::profiles::{ProfileSet, interpret};
use cartouche_schema::wire::{Cycle, RawReading};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Link;

const PORT: u16 = 16_191;
const MINUTES: i64 = 60;
const PAGES_PER_MINUTE: u64 = 3;

/// The misbehaviours, one printer each, and how many of the hour's sixty counter readings
/// that printer should still give (`None`: whatever it gives, it must not hold up the others).
fn misbehaviours() -> Vec<(&'static str, Faults, Option<usize>)> {
    let ms = Duration::from_millis;
    vec![
        ("never answers", Faults { no_answer: true, ..Faults::default() }, Some(0)),
        ("answers after the first timeout (busy)", Faults { slow: Some(ms(250)), ..Faults::default() }, Some(60)),
        ("answers far too late", Faults { slow: Some(ms(5_000)), ..Faults::default() }, Some(0)),
        ("ignores GETBULK", Faults { no_getbulk: true, ..Faults::default() }, Some(60)),
        ("answers tooBig past 2 varbinds", Faults { too_big_over: Some(2), ..Faults::default() }, Some(60)),
        ("GETNEXT goes backwards", Faults { non_increasing: true, ..Faults::default() }, None),
        ("answers random bytes", Faults { garbage: true, ..Faults::default() }, Some(0)),
        ("walks never end", Faults { endless: true, ..Faults::default() }, None),
        // Switched on and off by the drill as the hour goes:
        ("flaps: silent every other minute", Faults::default(), Some(30)),
        ("off the network from minute 20 to 39", Faults::default(), Some(40)),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn drill_a_misbehaving_tenth_of_the_fleet_polled_for_an_hour_stalls_nothing() {
    // A hundred printers from the real recordings, each made distinct.
    let block = (std::process::id() % 200) as u8 + 20;
    let scenario = Scenario::parse(&format!(
        "port = {PORT}\n[[group]]\nrecordings = [\"printers/librenms/*.snmprec\", \"printers/bieniu-brother/*.snmprec\"]\n\
         count = 100\nfirst_address = \"127.93.{block}.1\"\npersonalise = true\n"
    ))
    .unwrap();
    let fleet = scenario.devices(&cartouche_e2e::testdata("")).unwrap();
    let addresses: Vec<SocketAddr> = fleet.iter().map(|(a, _)| *a).collect();
    let walks: Vec<_> = fleet.iter().map(|(_, d)| d.walk.clone()).collect();
    let simulator = Simulator::start(fleet).await.unwrap();

    let app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await.unwrap();
    let first = addresses[0].ip();
    let last = addresses[addresses.len() - 1].ip();
    let range_id = cartouche_e2e::running_agent::hourly_discovery_range(
        &admin,
        &site,
        "HQ floor",
        first.to_string().parse().unwrap(),
        last.to_string().parse().unwrap(),
    )
    .await
    .unwrap();
    let enrollment = link::enroll(&app.base_url, &key, "pc-hq", None).await.unwrap();
    let agent_id: uuid::Uuid = enrollment.agent_id.parse().unwrap();
    let dir =
        std::env::temp_dir().join(format!("cartouche-drill-hour-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let spool = Spool::open(&dir.join("spool.db"), 256 << 20, FullPolicy::RefuseNew).unwrap();
    let link_options = LinkOptions {
        heartbeat: Duration::from_millis(500),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(500),
        ..LinkOptions::default()
    };
    let agent = Link::start(enrollment, spool, link_options);
    let mut config = agent.config.clone();
    config.wait_for(|c| c.as_ref().is_some_and(|c| c.ranges.iter().any(|r| r.id == range_id))).await.unwrap();

    // The agent's cycles, on a simulated clock: short timeouts, as on a quick LAN.
    // Three tries (150, 300, 600 ms): a busy printer answering after 250 ms is read on the
    // second or third whatever the load on the machine.
    let engine = EngineConfig { first_timeout: Duration::from_millis(150), retries: 2, ..EngineConfig::default() };
    let mut options = CycleOptions { engine, ..cartouche_e2e::simulator::cycle_options(PORT) };
    // The agent's own default: 64 devices read at once.
    options.sweep.concurrency = 64;
    let profiles = Arc::new(ProfileSet::builtin().unwrap());
    let now = config.borrow().clone().unwrap();
    let discovery =
        cycles::run(&now, &range_id, Cycle::Discovery, &options, profiles.clone(), chrono::Utc::now()).await.unwrap();
    let discovered = discovery.readings.len();
    agent.push_readings(&discovery.readings);
    config.wait_for(|c| c.as_ref().is_some_and(|c| c.devices.len() == discovered)).await.unwrap();
    let config_now = config.borrow().clone().unwrap();

    // A tenth of the known printers start misbehaving, one way each.
    let mut known: Vec<(SocketAddr, String)> = config_now
        .devices
        .iter()
        .map(|d| (SocketAddr::new(d.address.parse().unwrap(), d.port), d.id.clone()))
        .collect();
    known.sort();
    let index_of = |address: &SocketAddr| addresses.iter().position(|a| a == address).unwrap();
    let chosen: Vec<(usize, String, &'static str, Option<usize>)> = misbehaviours()
        .into_iter()
        .zip(known.iter().step_by(known.len() / 10))
        .map(|((what, faults, expected), (address, id))| (index_of(address), id.clone(), what, expected, faults))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(i, id, what, expected, faults)| {
            simulator.device(i).try_lock().expect("the simulator is idle between cycles").faults = faults;
            (i, id, what, expected)
        })
        .collect();
    let flapping = chosen[8].0;
    let outage = chosen[9].0;
    println!(
        "drill: {} printers ({discovered} discovered), {} misbehaving, polled for {MINUTES} simulated minutes",
        addresses.len(),
        chosen.len()
    );

    // The hour: each simulated minute every printer prints, then the counters cycle runs;
    // every fifth minute the alerts cycle too. Readings carry the simulated time.
    let t0 = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now() - chrono::Duration::hours(2), 0);
    let mut durations: Vec<Duration> = Vec::new();
    let mut reports = Vec::new();
    for minute in 0..MINUTES {
        for i in 0..simulator.len() {
            simulator.device(i).lock().await.print(PAGES_PER_MINUTE);
        }
        simulator.device(flapping).lock().await.faults.no_answer = minute % 2 == 1;
        simulator.device(outage).lock().await.faults.no_answer = (20..40).contains(&minute);
        let at = t0 + chrono::Duration::minutes(minute);
        let mut cycles_now = vec![Cycle::Counters];
        if minute % 5 == 0 {
            cycles_now.push(Cycle::Alerts);
        }
        for cycle in cycles_now {
            let started = Instant::now();
            // A cycle must end within its minute, or the schedule stalls.
            let outcome = tokio::time::timeout(
                Duration::from_secs(60),
                cycles::run(&config_now, &range_id, cycle, &options, profiles.clone(), at),
            )
            .await
            .unwrap_or_else(|_| panic!("the {cycle:?} cycle of minute {minute} ran past its minute"))
            .unwrap();
            durations.push(started.elapsed());
            let mut readings: Vec<RawReading> = outcome.readings;
            for reading in &mut readings {
                reading.read_at = at;
            }
            agent.push_readings(&readings);
            reports.push((cycle, outcome.report));
        }
    }

    // Everything reaches the server.
    let mut conn = app.db.conn().await.unwrap();
    eventually("the hour's readings uploaded and interpreted", async || {
        let waiting = raw_batches::table
            .filter(raw_batches::agent_id.eq(agent_id))
            .filter(raw_batches::interpreted_at.is_null())
            .count()
            .get_result::<i64>(&mut conn)
            .await
            .unwrap();
        agent.lock().depth().unwrap().0 == 0 && waiting == 0
    })
    .await;

    // The minutes each device was read in (its counters readings of the hour, as uploaded),
    // and the minutes its counters were stored for.
    let hour = t0..t0 + chrono::Duration::minutes(MINUTES);
    let mut minutes_read: BTreeMap<String, BTreeSet<chrono::DateTime<chrono::Utc>>> = BTreeMap::new();
    let batches: Vec<serde_json::Value> = raw_batches::table
        .filter(raw_batches::agent_id.eq(agent_id))
        .select(raw_batches::readings)
        .load(&mut conn)
        .await
        .unwrap();
    for batch in batches {
        for reading in serde_json::from_value::<Vec<RawReading>>(batch).unwrap() {
            if reading.cycle == Cycle::Counters && hour.contains(&reading.read_at) {
                minutes_read.entry(reading.device_id.unwrap()).or_default().insert(reading.read_at);
            }
        }
    }
    let mut minutes_stored: BTreeMap<String, BTreeSet<chrono::DateTime<chrono::Utc>>> = BTreeMap::new();
    let rows: Vec<(uuid::Uuid, chrono::DateTime<chrono::Utc>)> = counter_readings::table
        .filter(counter_readings::read_at.ge(hour.start))
        .filter(counter_readings::read_at.lt(hour.end))
        .select((counter_readings::device_id, counter_readings::read_at))
        .load(&mut conn)
        .await
        .unwrap();
    for (device, at) in rows {
        minutes_stored.entry(device.to_string()).or_default().insert(at);
    }
    let count = |map: &BTreeMap<String, BTreeSet<_>>, id: &str| map.get(id).map_or(0, BTreeSet::len);

    durations.sort();
    let counters_reports: Vec<_> = reports.iter().filter(|(c, _)| *c == Cycle::Counters).map(|(_, r)| r).collect();
    println!(
        "  {} cycles ran: median {} ms, longest {} ms (each must end within its minute)",
        durations.len(),
        durations[durations.len() / 2].as_millis(),
        durations[durations.len() - 1].as_millis()
    );
    let mut failures = Vec::new();
    for (_, id, what, expected) in &chosen {
        let got = count(&minutes_read, id);
        println!("  {:<40} {got:>2} of {MINUTES} minutes read", what);
        if let Some(expected) = expected
            && got != *expected
        {
            failures.push(format!("{what}: {got} minutes read, expected {expected}"));
        }
    }
    // Every well-behaved printer was read every minute, and those whose profile reads
    // counters had them stored every minute.
    let misbehaving: Vec<usize> = chosen.iter().map(|(i, ..)| *i).collect();
    let minutes = usize::try_from(MINUTES).unwrap();
    let (mut well, mut with_counters) = (0, 0);
    for (address, id) in &known {
        let i = index_of(address);
        if misbehaving.contains(&i) {
            continue;
        }
        well += 1;
        if count(&minutes_read, id) != minutes {
            failures.push(format!("well-behaved {address}: read {} minutes", count(&minutes_read, id)));
        }
        if !interpret(&walks[i], &profiles).counters.is_empty() {
            with_counters += 1;
            if count(&minutes_stored, id) != minutes {
                failures
                    .push(format!("well-behaved {address}: counters stored {} minutes", count(&minutes_stored, id)));
            }
        }
    }
    let failed_per_cycle: Vec<u32> = counters_reports.iter().map(|r| r.devices_failed).collect();
    println!(
        "  {well} well-behaved printers read every minute ({with_counters} with page counters, stored every minute); devices failed per counters cycle: {}..={}",
        failed_per_cycle.iter().min().unwrap(),
        failed_per_cycle.iter().max().unwrap()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    println!("drill passed");

    agent.stop().await;
    drop(simulator);
    std::fs::remove_dir_all(&dir).unwrap();
}
