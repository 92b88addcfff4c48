//! The api killed (SIGKILL) twenty times while an agent uploads: every batch the agent spooled
//! is stored once, interpreted once, and none is missing.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cartouche_agent::link::{self, LinkOptions};
use cartouche_agent::spool::{FullPolicy, Spool};
use cartouche_e2e::api_process::{ApiProcess, free_port};
use cartouche_e2e::app::TestApp;
use cartouche_e2e::eventually;
use cartouche_schema::db::agents::Agent;
use cartouche_schema::db::schema::{counter_readings, raw_batches};
use cartouche_schema::profiles::{ProfileSet, Walk, interpret};
use cartouche_schema::wire::{Cycle, RawReading};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand::Rng as _;

use super::Link;

const KILLS: usize = 20;
const LIFE_COUNT: &str = "1.3.6.1.2.1.43.10.2.1.4.1.1";
const PRINTERS: [&str; 4] = [
    "librenms/konica_c250i.snmprec",
    "librenms/brother_hl5370dw.snmprec",
    "librenms/canonprinter_mf.snmprec",
    "librenms/epson.snmprec",
];

#[tokio::test(flavor = "multi_thread")]
async fn drill_the_api_killed_twenty_times_during_uploads_loses_and_repeats_nothing() {
    let mut app = TestApp::start().await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await.unwrap();
    let range = TestApp::discovery_range(&admin, &site, "10.9.0.0/24").await.unwrap();
    let mut enrollment = link::enroll(&app.base_url, &key, "pc-hq", None).await.unwrap();
    let agent_id: uuid::Uuid = enrollment.agent_id.parse().unwrap();
    // From here on only the killable process serves: the in-process api stops, so that what
    // a kill leaves half-done is mended by the restarted process itself.
    app.stop().await.unwrap();
    let listen = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    enrollment.server = format!("http://{listen}");
    let binary = Path::new(env!("CARGO_BIN_EXE_cartouche-test-api"));

    // The agent's link, as the agent runs it, with a spool that a "cycle" fills all along:
    // one reading a batch, the four printers in turn, each page counter rising.
    let dir =
        std::env::temp_dir().join(format!("cartouche-drill-kills-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let spool = Spool::open(&dir.join("spool.db"), 256 << 20, FullPolicy::RefuseNew).unwrap();
    let options = LinkOptions {
        heartbeat: Duration::from_millis(500),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        ..LinkOptions::default()
    };
    let agent = Arc::new(Link::start(enrollment, spool, options));
    let walks: Vec<String> = PRINTERS.iter().map(|f| cartouche_e2e::recording(f)).collect();
    let t0 = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now() - chrono::Duration::hours(24), 0);
    let producing = Arc::new(AtomicBool::new(true));
    let producer = {
        let (agent, producing, range) = (agent.clone(), producing.clone(), range.clone());
        tokio::spawn(async move {
            let mut pushed: Vec<(u64, usize)> = Vec::new();
            while AtomicBool::load(&producing, Ordering::Relaxed) {
                let n = pushed.len();
                let printer = n % PRINTERS.len();
                let pages = 10_000 + n as u64;
                let walk = cartouche_e2e::with_varbind(&walks[printer], LIFE_COUNT, 65, &pages.to_string());
                let mut reading = RawReading::snmp(
                    format!("10.9.0.{}", 11 + printer),
                    Cycle::Discovery,
                    t0 + chrono::Duration::seconds(i64::try_from(n).unwrap()),
                    walk,
                );
                reading.range_id = Some(range.clone());
                let sequence = agent.push(&serde_json::to_vec(&[reading]).unwrap());
                pushed.push((sequence, printer));
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            pushed
        })
    };

    let mut conn = app.db.conn().await.unwrap();
    let stored =
        async |conn: &mut diesel_async::AsyncPgConnection| Agent::stored_sequences(conn, agent_id).await.unwrap().len();
    println!("drill: the api killed {KILLS} times while an agent uploads a batch every 15 ms");
    let mut in_flight_at_kills = Vec::new();
    for kill in 1..=KILLS {
        let api = ApiProcess::start(binary, app.db.url(), listen).await.unwrap();
        let before = stored(&mut conn).await;
        eventually("uploads resumed after the restart", async || stored(&mut conn).await >= before + 5).await;
        tokio::time::sleep(Duration::from_millis(rand::rng().random_range(0..200))).await;
        let waiting = agent.lock().depth().unwrap().0;
        api.kill().await.unwrap();
        let at_kill = stored(&mut conn).await;
        println!(
            "  kill {kill:>2}: {at_kill:>5} batches stored, {waiting:>3} waiting or in flight in the agent's spool"
        );
        in_flight_at_kills.push(waiting);
        tokio::time::sleep(Duration::from_millis(rand::rng().random_range(50..300))).await;
    }

    // The last start: the producer stops, everything drains.
    let api = ApiProcess::start(binary, app.db.url(), listen).await.unwrap();
    producing.store(false, Ordering::Relaxed);
    let pushed = producer.await.unwrap();
    eventually("the spool drained into the database", async || {
        stored(&mut conn).await == pushed.len() && agent.lock().depth().unwrap().0 == 0
    })
    .await;
    eventually("every batch interpreted", async || {
        raw_batches::table
            .filter(raw_batches::agent_id.eq(agent_id))
            .filter(raw_batches::interpreted_at.is_null())
            .count()
            .get_result::<i64>(&mut conn)
            .await
            .unwrap()
            == 0
    })
    .await;

    // Nothing lost, nothing repeated: the sequences stored are exactly those pushed.
    let sequences = Agent::stored_sequences(&mut conn, agent_id).await.unwrap();
    let expected: Vec<i64> = pushed.iter().map(|(s, _)| i64::try_from(*s).unwrap()).collect();
    assert_eq!(sequences, expected, "the batches stored are the batches spooled, once each");
    // And each was applied once: per batch, as many counter rows as its printer has counters.
    let profiles = ProfileSet::builtin().unwrap();
    let counters_of: Vec<usize> = PRINTERS
        .iter()
        .map(|f| {
            let walk = cartouche_e2e::with_varbind(&cartouche_e2e::recording(f), LIFE_COUNT, 65, "10000");
            interpret(&Walk::from_snmprec(&walk).unwrap(), &profiles).counters.len()
        })
        .collect();
    let rows: Vec<i64> = counter_readings::table
        .filter(counter_readings::agent_id.eq(agent_id))
        .select(counter_readings::sequence)
        .load(&mut conn)
        .await
        .unwrap();
    let mut per_batch: BTreeMap<i64, usize> = BTreeMap::new();
    for sequence in rows {
        *per_batch.entry(sequence).or_default() += 1;
    }
    let mut wrong = Vec::new();
    for (sequence, printer) in &pushed {
        let got = per_batch.get(&i64::try_from(*sequence).unwrap()).copied().unwrap_or(0);
        if got != counters_of[*printer] {
            wrong.push((sequence, got, counters_of[*printer]));
        }
    }
    assert!(
        wrong.is_empty(),
        "batches whose counters were not applied exactly once (sequence, rows, expected): {wrong:?}"
    );
    let with_uploads_in_flight = in_flight_at_kills.iter().filter(|w| **w > 0).count();
    assert!(with_uploads_in_flight * 2 >= KILLS, "most kills must land with uploads under way: {in_flight_at_kills:?}");
    println!(
        "drill passed: {} batches pushed, {} stored once each (sequences 1..={} without a gap), {} counter rows, each batch applied once; {with_uploads_in_flight} of {KILLS} kills with batches in flight",
        pushed.len(),
        sequences.len(),
        sequences.last().unwrap(),
        per_batch.values().sum::<usize>(),
    );

    api.kill().await.unwrap();
    Arc::into_inner(agent).expect("the producer has ended").stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
