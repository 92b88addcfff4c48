//! `cartouche-fleet-bench`: the fleet API's figures, printed, never asserted. The real api runs
//! in this process on a fresh database of the private PostgreSQL (`DATABASE_URL` names the
//! server, as for the tests).
//!
//! 1. Ingestion: an agent uploads discovery readings of distinct printers (copies of the real
//!    recordings with their own serial and MAC), then counters cycles of all of them (the
//!    varbinds of each printer's read plan for that cycle, as the agent sends them); the
//!    time from the first upload to the last batch interpreted gives rows per second
//!    (counter readings + supply rows written).
//! 2. The device list page (50 devices with latest counters and supplies) with 100,000 devices
//!    in the database: latency of one client in sequence, then throughput of concurrent ones.
//! 3. Time from a reading's upload to the `deviceUpdated` event at 1,000 and 10,000 open
//!    subscriptions (100 subscriptions per websocket).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cartouche_e2e::agent_socket::{self, upload};
use cartouche_e2e::app::TestApp;
use cartouche_e2e::simulator::Device;
use cartouche_e2e::ws::Subscriber;
use cartouche_schema::profiles::{Oid, ProfileSet, interpret, read_plan_for, read_recordings};
use cartouche_schema::wire::{AgentMessage, Cycle, RawReading, ServerMessage};
use clap::Parser;
use diesel_async::RunQueryDsl;
use serde_json::json;

#[derive(Parser)]
struct Cli {
    /// Printers uploaded for the ingestion figure.
    #[arg(long, default_value_t = 2000)]
    printers: usize,
    /// Counters cycles of all of them after discovery.
    #[arg(long, default_value_t = 3)]
    cycles: usize,
    /// Devices in the database for the list page.
    #[arg(long, default_value_t = 100_000)]
    devices: i64,
    /// Seconds of concurrent load on the list page.
    #[arg(long, default_value_t = 10)]
    load_seconds: u64,
    /// Concurrent clients of the list page.
    #[arg(long, default_value_t = 32)]
    clients: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The machine's CPU time so far (busy, all), from /proc/stat: how busy a phase kept the cores.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    let all: u64 = fields.iter().take(8).sum();
    (all - idle, all)
}

fn busy_since(before: (u64, u64)) -> String {
    let (busy, all) = cpu_ticks();
    let share = (busy - before.0) as f64 / (all - before.1).max(1) as f64;
    format!("machine CPU {:.0}% busy", share * 100.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn count(app: &TestApp, table: &str) -> anyhow::Result<i64> {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db.conn().await?;
    Ok(diesel::sql_query(format!("SELECT count(*) AS n FROM {table}")).get_result::<N>(&mut conn).await?.n)
}

async fn pending_batches(app: &TestApp) -> anyhow::Result<i64> {
    count(app, "raw_batches WHERE interpreted_at IS NULL").await
}

/// Reads what the server sends back (acknowledgements, configurations) so the socket stays
/// open, and returns once batches 1 to `sequence` are all stored and interpreted.
async fn all_interpreted(
    app: &TestApp,
    mut socket: agent_socket::Socket,
    sequence: u64,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let drain = tokio::spawn(async move {
        while let Some(message) = agent_socket::next(&mut socket, Duration::from_secs(120)).await {
            if matches!(message, ServerMessage::Refused { .. }) {
                break;
            }
        }
    });
    while pending_batches(app).await? > 0 || count(app, "raw_batches").await? < i64::try_from(sequence)? {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(drain)
}

/// The upload messages of readings in batches of 50 (the agent's batch size), numbered on from
/// `sequence`: encoded before the clock starts, as the agent encodes them on its own machine.
fn encode_all(readings: Vec<RawReading>, sequence: &mut u64) -> Vec<String> {
    readings
        .chunks(50)
        .map(|chunk| {
            *sequence += 1;
            let message = AgentMessage::Readings { sequence: *sequence, readings: chunk.to_vec() };
            serde_json::to_string(&message).expect("readings serialise")
        })
        .collect()
}

async fn send_all(messages: Vec<String>, socket: &mut agent_socket::Socket) -> anyhow::Result<()> {
    use futures_util::SinkExt as _;
    for message in messages {
        socket.send(tokio_tungstenite::tungstenite::Message::text(message)).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    std::env::var("DATABASE_URL").context("DATABASE_URL names the PostgreSQL server (./dev bench sets it)")?;
    let app = TestApp::start().await?;
    let (_, admin, _) = app.tenant_with_enrollment_key("Bench").await?;
    let (_site, key) = TestApp::site_with_enrollment_key(&admin, "HQ").await?;
    let (agent_id, credential) = agent_socket::enrolled(&app, &key, "bench").await?;
    let agent: uuid::Uuid = agent_id.parse()?;

    // The figures depend on whether the server waits for the disk: say which.
    {
        #[derive(diesel::QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Text)]
            setting: String,
        }
        let mut conn = app.db.conn().await?;
        let mut settings = Vec::new();
        for name in ["fsync", "synchronous_commit", "full_page_writes"] {
            let found: Setting = diesel::sql_query("SELECT setting FROM pg_settings WHERE name = $1")
                .bind::<diesel::sql_types::Text, _>(name)
                .get_result(&mut conn)
                .await?;
            settings.push(format!("{name}={}", found.setting));
        }
        println!("PostgreSQL: {}", settings.join(", "));
    }

    // ---- 1. ingestion
    let profiles = ProfileSet::builtin()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers");
    let walks: Vec<_> = read_recordings(&root)
        .map_err(anyhow::Error::msg)?
        .into_iter()
        .map(|(_, w)| w)
        .filter(|w| {
            let s = interpret(w, &profiles);
            s.is_printer && s.serial.is_some() && !s.counters.is_empty()
        })
        .collect();
    // Each printer's full walk (discovery), and what its counters cycle reads: the read
    // plan's GETs and walks for that cycle, as the agent sends it.
    let (fleet, counted): (Vec<String>, Vec<String>) = (0..cli.printers)
        .map(|i| {
            let mut device = Device::new(walks[i % walks.len()].clone(), "public");
            device.personalise(u32::try_from(i).unwrap_or(0), &profiles);
            let plan = read_plan_for(&device.walk, &profiles).counters;
            let full = device.walk.to_snmprec();
            let counters: String = full
                .lines()
                .filter(|line| {
                    let oid = line.split('|').next().and_then(|o| o.parse::<Oid>().ok());
                    oid.is_some_and(|oid| plan.get.contains(&oid) || plan.walk.iter().any(|w| oid.starts_with(w)))
                })
                .map(|line| format!("{line}\n"))
                .collect();
            (full, counters)
        })
        .unzip();
    let (mut socket, _) = agent_socket::connect(&app, &agent_id, &credential).await?;
    let address = |i: usize| format!("10.{}.{}.{}", 100 + i / 62_500, (i / 250) % 250, i % 250 + 1);
    let t0 = chrono::Utc::now() - chrono::Duration::days(10);
    let mut sequence = 0u64;
    let rows_before = count(&app, "counter_readings").await? + count(&app, "supplies").await?;
    let discovery: Vec<RawReading> = fleet
        .iter()
        .enumerate()
        .map(|(i, text)| RawReading::snmp(address(i), Cycle::Discovery, t0, text.clone()))
        .collect();
    let messages = encode_all(discovery, &mut sequence);
    let started = Instant::now();
    send_all(messages, &mut socket).await?;
    let drain = all_interpreted(&app, socket, sequence).await?;
    let discovery_time = started.elapsed();
    let devices_made = count(&app, "devices").await?;
    let rows_discovery = count(&app, "counter_readings").await? + count(&app, "supplies").await? - rows_before;
    println!(
        "ingestion, discovery: {devices_made} devices from {} readings in {:.2} s: {:.0} readings/s, {:.0} counter+supply rows/s",
        cli.printers,
        discovery_time.as_secs_f64(),
        cli.printers as f64 / discovery_time.as_secs_f64(),
        rows_discovery as f64 / discovery_time.as_secs_f64()
    );
    drain.abort();
    let ids: Vec<(uuid::Uuid, String)> = {
        use cartouche_schema::db::schema::devices;
        use diesel::QueryDsl as _;
        let mut conn = app.db.conn().await?;
        devices::table.select((devices::id, devices::address)).load(&mut conn).await?
    };
    let (mut socket, _) = agent_socket::connect(&app, &agent_id, &credential).await?;
    let counters_before = count(&app, "counter_readings").await?;
    let events_before = count(&app, "supply_events").await?;
    let by_address: std::collections::HashMap<String, uuid::Uuid> = ids.into_iter().map(|(id, a)| (a, id)).collect();
    let mut readings = Vec::new();
    for round in 1..=cli.cycles {
        for (i, text) in counted.iter().enumerate() {
            let Some(id) = by_address.get(&address(i)) else { continue };
            let mut reading =
                RawReading::snmp(address(i), Cycle::Counters, t0 + chrono::Duration::hours(round as i64), text.clone());
            reading.device_id = Some(id.to_string());
            readings.push(reading);
        }
    }
    let counter_readings = readings.len();
    let messages = encode_all(readings, &mut sequence);
    let ticks = cpu_ticks();
    let started = Instant::now();
    send_all(messages, &mut socket).await?;
    let drain = all_interpreted(&app, socket, sequence).await?;
    let counters_time = started.elapsed();
    let busy = busy_since(ticks);
    let counter_rows = count(&app, "counter_readings").await? - counters_before;
    let supply_events = count(&app, "supply_events").await? - events_before;
    let supply_rows = i64::try_from(counter_readings)? * (count(&app, "supplies").await? / devices_made.max(1));
    println!(
        "ingestion, counters cycles: {counter_readings} readings in {:.2} s: {:.0} readings/s; {counter_rows} counter rows + ~{supply_rows} supply upserts ({supply_events} supply events): {:.0} rows/s (target ≥ 50,000); {busy}",
        counters_time.as_secs_f64(),
        counter_readings as f64 / counters_time.as_secs_f64(),
        (counter_rows + supply_rows) as f64 / counters_time.as_secs_f64()
    );
    drain.abort();

    // ---- 2. the device list at 100,000 devices
    let tenant_id: uuid::Uuid = {
        use cartouche_schema::db::schema::agents;
        use diesel::QueryDsl as _;
        let mut conn = app.db.conn().await?;
        agents::table.find(agent).select(agents::tenant_id).first(&mut conn).await?
    };
    let extra = cli.devices - devices_made;
    if extra > 0 {
        let started = Instant::now();
        let mut conn = app.db.conn().await?;
        cartouche_e2e::synthetic::fleet(&mut conn, tenant_id, agent, extra).await?;
        diesel::sql_query("ANALYZE").execute(&mut conn).await?;
        println!(
            "device list: {} devices in the database ({} synthetic with 9 counter readings and 4 supplies each, made in {:.1} s)",
            count(&app, "devices").await?,
            extra,
            started.elapsed().as_secs_f64()
        );
    }
    let page = "query($after: String) { devices(first: 50, after: $after) { edges { node { id serial model vendor status address \
                latestCounters { kind value readAt } supplies { kind color percent state } } } pageInfo { endCursor hasNextPage } } }";
    let http = reqwest::Client::builder().pool_max_idle_per_host(cli.clients).build()?;
    let endpoint = format!("{}/graphql", app.base_url);
    let bearer = admin.bearer().context("the admin is signed in")?.to_owned();
    // One page: how long it took, the cursor of the next (from the start again at the end).
    // `fresh`: asks for an answer computed now (Cache-Control: no-cache), not one kept.
    let one = async move |http: reqwest::Client,
                          endpoint: String,
                          bearer: String,
                          after: Option<String>,
                          fresh: bool|
                -> anyhow::Result<(Duration, Option<String>)> {
        let started = Instant::now();
        let mut request = http.post(&endpoint).bearer_auth(&bearer);
        if fresh {
            request = request.header("cache-control", "no-cache");
        }
        let response = request.json(&json!({ "query": page, "variables": { "after": after } })).send().await?;
        anyhow::ensure!(response.status().is_success(), "HTTP {}", response.status());
        let body = response.bytes().await?;
        let took = started.elapsed();
        // Checked without parsing the whole page (the load generator shares the machine).
        let text = std::str::from_utf8(&body)?;
        anyhow::ensure!(text.contains("\"edges\":[{") && !text.contains("\"errors\""), "not a page: {text:.300}");
        let next = text
            .split_once("\"endCursor\":\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(cursor, _)| cursor.to_owned())
            .filter(|_| text.contains("\"hasNextPage\":true"));
        Ok((took, next))
    };
    // Warm up, then 300 pages in sequence, walking forward through the list, each computed.
    let mut cursor = None;
    for _ in 0..20 {
        cursor = one(http.clone(), endpoint.clone(), bearer.clone(), cursor, true).await?.1;
    }
    let mut latencies = Vec::new();
    for _ in 0..300 {
        let (took, next) = one(http.clone(), endpoint.clone(), bearer.clone(), cursor, true).await?;
        latencies.push(took);
        cursor = next;
    }
    latencies.sort();
    println!(
        "device list page (50 devices, latest counters and supplies), one client walking the list, each page computed: p50 {} p99 {} (target p99 ≤ 20 ms)",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0))
    );
    // Concurrent clients: all on the first page (a wall of consoles and dashboards: answers
    // kept between changes), then each walking the list with every page computed.
    for (what, fresh) in
        [("all on the first page (kept answers)", false), ("each walking the list, every page computed", true)]
    {
        let deadline = Instant::now() + Duration::from_secs(cli.load_seconds);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..cli.clients {
            let (http, endpoint, bearer) = (http.clone(), endpoint.clone(), bearer.clone());
            tasks.spawn(async move {
                let (mut done, mut failed, mut cursor) = (Vec::new(), 0usize, None);
                while Instant::now() < deadline {
                    match one(http.clone(), endpoint.clone(), bearer.clone(), cursor.clone(), fresh).await {
                        Ok((took, next)) => {
                            done.push(took);
                            if fresh {
                                cursor = next;
                            }
                        }
                        Err(_) => failed += 1,
                    }
                }
                (done, failed)
            });
        }
        let (mut all, mut failed) = (Vec::new(), 0);
        while let Some(result) = tasks.join_next().await {
            let (done, f) = result?;
            all.extend(done);
            failed += f;
        }
        all.sort();
        println!(
            "device list page, {} concurrent clients {what} for {} s: {:.0} requests/s, p50 {} p99 {}, {failed} failed (target ≥ 3,000 requests/s)",
            cli.clients,
            cli.load_seconds,
            all.len() as f64 / cli.load_seconds as f64,
            ms(percentile(&all, 50.0)),
            ms(percentile(&all, 99.0))
        );
    }

    // ---- 3. reading → subscription event
    for subscriptions in [1_000usize, 10_000] {
        let per_socket = 100;
        let mut sockets = Vec::new();
        for s in 0..subscriptions.div_ceil(per_socket) {
            let mut subscriber = Subscriber::authenticated(&app.ws_url(), &bearer).await?;
            for k in 0..per_socket.min(subscriptions - s * per_socket) {
                subscriber
                    .subscribe(&format!("s{k}"), "subscription { deviceUpdated { deviceId } }", json!({}))
                    .await?;
            }
            sockets.push(subscriber);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (mut socket, _) = agent_socket::connect(&app, &agent_id, &credential).await?;
        let (first_id, first_address) = by_address.iter().map(|(a, id)| (*id, a.clone())).next().context("a device")?;
        let i = (0..cli.printers).find(|i| address(*i) == first_address).context("its recording")?;
        let mut reading = RawReading::snmp(first_address, Cycle::Counters, chrono::Utc::now(), fleet[i].clone());
        reading.device_id = Some(first_id.to_string());
        sequence += 1;
        let sent = Instant::now();
        upload(&mut socket, sequence, vec![reading]).await;
        let mut waits = tokio::task::JoinSet::new();
        for (s, mut subscriber) in sockets.into_iter().enumerate() {
            let expected = per_socket.min(subscriptions - s * per_socket);
            waits.spawn(async move {
                let mut arrivals = Vec::new();
                while arrivals.len() < expected {
                    match subscriber.next_message(Duration::from_secs(30)).await {
                        Ok(Some(m)) if m["type"] == "next" => arrivals.push(sent.elapsed()),
                        Ok(Some(_)) => {}
                        _ => break,
                    }
                }
                arrivals
            });
        }
        let mut arrivals = Vec::new();
        while let Some(done) = waits.join_next().await {
            arrivals.extend(done?);
        }
        arrivals.sort();
        println!(
            "reading uploaded → deviceUpdated at {subscriptions} subscriptions: {} of {subscriptions} arrived, p50 {} p99 {} (target p99 ≤ 200 ms)",
            arrivals.len(),
            ms(percentile(&arrivals, 50.0)),
            ms(percentile(&arrivals, 99.0))
        );
    }
    Ok(())
}
