//! A thousand agents (each the agent's own link code with its own spool) connected to one api
//! at once; the api restarts; all come back with their jittered backoff, and every reading
//! spooled before, during and after the outage is stored once.

use std::time::{Duration, Instant};

use cartouche_agent::link::{self, LinkOptions};
use cartouche_agent::spool::{FullPolicy, Spool};
use cartouche_e2e::app::TestApp;
use cartouche_e2e::eventually;
use cartouche_e2e::relay::Relay;
use cartouche_schema::db::schema::raw_batches;
use cartouche_schema::wire::{Cycle, RawReading};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::StreamExt as _;
use serde_json::json;

use super::Link;

const AGENTS: usize = 1_000;

/// A small printer's walk (system group, a printer in the Host Resources MIB, a page counter).
fn walk(pages: u64) -> String {
    [
        "1.3.6.1.2.1.1.1.0|4|Drill printer".to_owned(),
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1".to_owned(),
        "1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5".to_owned(),
        format!("1.3.6.1.2.1.43.10.2.1.4.1.1|65|{pages}"),
    ]
    .join("\n")
        + "\n"
}

fn batch(agent: usize, pages: u64, range: &str) -> Vec<u8> {
    let mut reading = RawReading::snmp(
        format!("10.{}.{}.{}", 20 + agent / 65_536, (agent / 256) % 256, agent % 256),
        Cycle::Discovery,
        chrono::Utc::now(),
        walk(pages),
    );
    reading.range_id = Some(range.to_owned());
    serde_json::to_vec(&[reading]).unwrap()
}

fn connected(agents: &[Link]) -> usize {
    agents.iter().filter(|a| *a.connected.borrow()).count()
}

/// Milliseconds from `since` until each agent was connected again (watching every link).
async fn reconnect_times(agents: &[Link], since: Instant) -> Vec<u64> {
    let mut times: Vec<u64> = futures_util::stream::iter(agents.iter().map(|a| a.connected.clone()))
        .map(|mut connected| async move {
            tokio::time::timeout(Duration::from_secs(120), connected.wait_for(|up| *up))
                .await
                .expect("an agent stayed disconnected for two minutes")
                .expect("the link ended");
            u64::try_from(since.elapsed().as_millis()).unwrap()
        })
        .buffer_unordered(AGENTS)
        .collect()
        .await;
    times.sort_unstable();
    times
}

#[tokio::test(flavor = "multi_thread")]
async fn drill_a_thousand_agents_come_back_after_an_api_restart_with_nothing_lost() {
    let mut app = TestApp::start().await.unwrap();
    let relay = Relay::start(app.base_url.trim_start_matches("http://").parse().unwrap()).await.unwrap();
    let (_, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let site = admin
        .data(
            "mutation { createSite(input: { name: \"HQ\", timeZone: \"Europe/Paris\" }) { id } }",
            json!({}),
            "createSite",
        )
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = admin
        .data(
            "mutation($site: ID!) { createEnrollmentKey(input: { name: \"fleet\", siteId: $site, uses: 1000 }) { secret } }",
            json!({ "site": site }),
            "createEnrollmentKey",
        )
        .await
        .unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let range = TestApp::discovery_range(&admin, &site, "10.20.0.0/16").await.unwrap();

    // A thousand enrollments (as many hosts), then a thousand links started at once.
    let server = format!("http://{}", relay.address);
    let enrollments: Vec<link::Enrollment> = futures_util::stream::iter(0..AGENTS)
        .map(|i| {
            let (server, key) = (server.clone(), key.clone());
            async move { link::enroll(&server, &key, &format!("host-{i}"), None).await.unwrap() }
        })
        .buffered(32)
        .collect()
        .await;
    let dir =
        std::env::temp_dir().join(format!("cartouche-drill-1000-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let options = LinkOptions {
        heartbeat: Duration::from_secs(5),
        backoff_min: Duration::from_millis(250),
        backoff_max: Duration::from_secs(4),
        ..LinkOptions::default()
    };
    println!("drill: {AGENTS} agents on one api, then an api restart");
    let started = Instant::now();
    let agents: Vec<Link> = enrollments
        .into_iter()
        .enumerate()
        .map(|(i, enrollment)| {
            let spool = Spool::open(&dir.join(format!("spool-{i}.db")), 1 << 20, FullPolicy::RefuseNew).unwrap();
            Link::start(enrollment, spool, options.clone())
        })
        .collect();
    let first = reconnect_times(&agents, started).await;
    println!(
        "  connected at once: all {AGENTS} up {} ms after starting (median {} ms)",
        first[AGENTS - 1],
        first[AGENTS / 2]
    );
    for (i, agent) in agents.iter().enumerate() {
        agent.push(&batch(i, 1_000, &range));
    }
    let mut conn = app.db.conn().await.unwrap();
    let stored = async |conn: &mut diesel_async::AsyncPgConnection| {
        raw_batches::table.count().get_result::<i64>(conn).await.unwrap() as usize
    };
    eventually("a batch from each agent stored", async || stored(&mut conn).await == AGENTS).await;

    // The api goes away: every link breaks, each agent spools a reading meanwhile.
    relay.cut();
    app.stop().await.unwrap();
    eventually("every agent saw its link go down", async || connected(&agents) == 0).await;
    for (i, agent) in agents.iter().enumerate() {
        agent.push(&batch(i, 1_001, &range));
    }
    let down = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    app.start_again().await.unwrap();
    relay.point_to(app.base_url.trim_start_matches("http://").parse().unwrap());
    let restarted = Instant::now();
    relay.restore();
    let back = reconnect_times(&agents, restarted).await;
    let percentile = |p: usize| back[(AGENTS - 1) * p / 100];
    // Jitter spreads the reconnections: count the busiest 100 ms.
    let mut busiest = 0;
    for (i, t) in back.iter().enumerate() {
        let within = back[i..].iter().take_while(|u| **u < t + 100).count();
        busiest = busiest.max(within);
    }
    println!(
        "  api down {} ms; after it was back: p50 {} ms, p90 {} ms, all {AGENTS} {} ms; at most {busiest} reconnections in any 100 ms",
        u64::try_from((restarted - down).as_millis()).unwrap(),
        percentile(50),
        percentile(90),
        back[AGENTS - 1],
    );
    eventually("the readings spooled during the outage stored", async || stored(&mut conn).await == 2 * AGENTS).await;

    // Once each: every agent has exactly sequences 1 and 2.
    let per_agent: Vec<(uuid::Uuid, i64, i64, i64)> = raw_batches::table
        .group_by(raw_batches::agent_id)
        .select((
            raw_batches::agent_id,
            diesel::dsl::count_star(),
            diesel::dsl::min(raw_batches::sequence).assume_not_null(),
            diesel::dsl::max(raw_batches::sequence).assume_not_null(),
        ))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(per_agent.len(), AGENTS, "every agent's readings arrived");
    let wrong: Vec<_> = per_agent.iter().filter(|(_, n, lo, hi)| (*n, *lo, *hi) != (2, 1, 2)).collect();
    assert!(wrong.is_empty(), "agents whose batches are not exactly 1 and 2: {wrong:?}");
    assert!(busiest < AGENTS, "the reconnections are spread out, not all at one instant");
    println!(
        "drill passed: {AGENTS} agents back, {} batches stored (1 and 2 of each agent, none lost, none twice)",
        2 * AGENTS
    );

    for agent in agents {
        agent.stop().await;
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
