//! The agent's SNMP engine against the printer simulator: a live read gives exactly what the
//! recording gives, and every fault the simulator knows is survived.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cartouche_agent::read::{ReadOptions, read_device};
use cartouche_agent::snmp::{Credential, EngineConfig, Session, SnmpError, Target};
use cartouche_e2e::simulator::{Device, Faults, Simulator};
use cartouche_schema::profiles::{ProfileSet, Walk, interpret, read_recordings};
use secrecy::SecretString;

fn recordings() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers");
    read_recordings(&root).unwrap().into_iter().map(|(path, _)| path).collect()
}

fn load(path: &Path) -> Walk {
    Walk::from_snmprec(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn fast() -> EngineConfig {
    EngineConfig { first_timeout: Duration::from_millis(400), retries: 2, ..EngineConfig::default() }
}

fn v2c(address: SocketAddr) -> Target {
    Target { address, credential: Credential::V2c { community: SecretString::from("public".to_owned()) } }
}

/// A free block of loopback addresses for one test (tests run in parallel processes).
fn block(test: u8) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(127, 60 + test, (std::process::id() % 250) as u8, 1)
}

async fn start(devices: Vec<Device>, test: u8) -> Simulator {
    let mut address = block(test);
    let mut placed = Vec::new();
    for device in devices {
        placed.push((SocketAddr::from((address, 16_161)), device));
        address = cartouche_e2e::simulator::scenario::next_address(address);
    }
    Simulator::start(placed).await.unwrap()
}

async fn read(
    address: SocketAddr,
    credential: Option<Credential>,
    config: EngineConfig,
    profiles: &ProfileSet,
) -> Result<cartouche_agent::read::Reading, SnmpError> {
    let mut target = v2c(address);
    if let Some(credential) = credential {
        target.credential = credential;
    }
    let options =
        ReadOptions { http_port: None, npap_port: None, ..ReadOptions::new(config.walk_cap, config.max_repetitions) };
    let mut session = Session::new(target, config);
    read_device(&mut session, profiles, &options).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_read_gives_what_the_recording_gives_for_every_recording() {
    let profiles = ProfileSet::builtin().unwrap();
    let files = recordings();
    let sim = start(files.iter().map(|f| Device::new(load(f), "public")).collect(), 0).await;
    for (i, file) in files.iter().enumerate() {
        let expected = serde_json::to_value(interpret(&load(file), &profiles)).unwrap();
        let reading =
            read(sim.addresses[i], None, fast(), &profiles).await.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let live = serde_json::to_value(interpret(&reading.walk, &profiles)).unwrap();
        assert_eq!(live, expected, "{}", file.display());
        assert!(reading.notes.is_empty(), "{}: {:?}", file.display(), reading.notes);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn snmp_v1_reads_the_same_with_no_such_name_ends() {
    let profiles = ProfileSet::builtin().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers/librenms/sharp.snmprec");
    let sim = start(vec![Device::new(load(&file), "public")], 1).await;
    let v1 = Credential::V1 { community: SecretString::from("public".to_owned()) };
    let reading = read(sim.addresses[0], Some(v1), fast(), &profiles).await.unwrap();
    assert_eq!(
        serde_json::to_value(interpret(&reading.walk, &profiles)).unwrap(),
        serde_json::to_value(interpret(&load(&file), &profiles)).unwrap()
    );
}

fn with_faults(faults: Faults) -> Device {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers/librenms/konica_c250i.snmprec");
    let mut device = Device::new(load(&file), "public");
    device.faults = faults;
    device
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_is_survived_and_said() {
    let profiles = ProfileSet::builtin().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers/librenms/konica_c250i.snmprec");
    let reference = serde_json::to_value(interpret(&load(&file), &profiles)).unwrap();
    let faults = [
        ("asleep", Faults { asleep: Some(Duration::from_millis(600)), ..Faults::default() }),
        ("slow", Faults { slow: Some(Duration::from_millis(150)), ..Faults::default() }),
        ("no GETBULK", Faults { no_getbulk: true, ..Faults::default() }),
        ("tooBig", Faults { too_big_over: Some(6), ..Faults::default() }),
        ("no answer", Faults { no_answer: true, ..Faults::default() }),
        ("garbage", Faults { garbage: true, ..Faults::default() }),
        ("non-increasing", Faults { non_increasing: true, ..Faults::default() }),
        ("endless", Faults { endless: true, ..Faults::default() }),
    ];
    let sim = start(faults.iter().map(|(_, f)| with_faults(f.clone())).collect(), 2).await;
    let mut config = fast();
    config.walk_cap = 500;
    let result = |i: usize| read(sim.addresses[i], None, config.clone(), &profiles);

    for (i, name) in [(0, "asleep"), (1, "slow"), (2, "no GETBULK"), (3, "tooBig")] {
        let started = std::time::Instant::now();
        let reading = result(i).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let live = serde_json::to_value(interpret(&reading.walk, &profiles)).unwrap();
        assert_eq!(live, reference, "{name}: the whole device is read despite the fault");
        eprintln!("{name} took {:?}", started.elapsed());
        if name == "no GETBULK" {
            assert!(reading.notes.iter().any(|n| n.contains("GETNEXT")), "{:?}", reading.notes);
        }
        if name == "tooBig" {
            assert!(reading.notes.iter().any(|n| n.contains("tooBig")), "{:?}", reading.notes);
        }
    }
    let started = std::time::Instant::now();
    assert!(matches!(result(4).await, Err(SnmpError::Timeout { .. })), "no answer is a timeout");
    eprintln!("no answer took {:?}", started.elapsed());
    let started = std::time::Instant::now();
    assert!(matches!(result(5).await, Err(SnmpError::Protocol(_))), "garbage is a protocol error");
    eprintln!("garbage took {:?}", started.elapsed());
    let started = std::time::Instant::now();
    let broken = result(6).await.expect("a non-increasing walk still gives what it read");
    eprintln!("non-increasing took {:?}", started.elapsed());
    assert!(broken.notes.iter().any(|n| n.contains("does not increase")), "{:?}", broken.notes);
    let started = std::time::Instant::now();
    let endless =
        tokio::time::timeout(Duration::from_secs(60), result(7)).await.expect("an endless walk ends").unwrap();
    eprintln!("endless took {:?}", started.elapsed());
    assert!(endless.notes.iter().any(|n| n.contains("cut at")), "{:?}", endless.notes);
    assert!(endless.walk.len() < 5_000, "the cap holds: {}", endless.walk.len());
}

/// A busy printer answers every request after the configured first timeout: the session
/// learns its answer time from the first answer, and no later request waits a timeout out.
#[tokio::test(flavor = "multi_thread")]
async fn a_busy_printer_costs_one_timeout_per_read_not_one_per_request() {
    let profiles = ProfileSet::builtin().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers/librenms/konica_c250i.snmprec");
    let reference = serde_json::to_value(interpret(&load(&file), &profiles)).unwrap();
    let busy = Faults { slow: Some(Duration::from_millis(200)), ..Faults::default() };
    let sim = start(vec![with_faults(busy)], 8).await;
    let config = EngineConfig { first_timeout: Duration::from_millis(100), retries: 3, ..EngineConfig::default() };
    let options =
        ReadOptions { http_port: None, npap_port: None, ..ReadOptions::new(config.walk_cap, config.max_repetitions) };
    let mut session = Session::new(v2c(sim.addresses[0]), config);
    let started = std::time::Instant::now();
    let reading = read_device(&mut session, &profiles, &options).await.unwrap();
    let took = started.elapsed();
    assert_eq!(serde_json::to_value(interpret(&reading.walk, &profiles)).unwrap(), reference, "read whole");
    eprintln!(
        "{} requests in {took:?}, {} waited out; first wait now {:?}",
        session.requests,
        session.timeouts,
        session.first_wait()
    );
    assert!(session.requests > 5, "a read of many requests: {}", session.requests);
    // 100 ms, then 200 ms (the answer comes at its edge), then 400 ms: only the first request
    // has waits to wait out (each request did before, 2 × 14 here).
    assert!(session.timeouts <= 3, "only the first request's attempts waited out: {}", session.timeouts);
    assert!(session.first_wait() >= Duration::from_millis(400), "{:?}", session.first_wait());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_with_a_tenth_misbehaving_is_otherwise_read_completely() {
    let profiles = ProfileSet::builtin().unwrap();
    let files: Vec<PathBuf> = recordings().into_iter().filter(|f| load(f).len() > 40).collect();
    let mut devices = Vec::new();
    let mut broken = Vec::new();
    for i in 0..60 {
        let mut device = Device::new(load(&files[i % files.len()]), "public");
        if i % 10 == 3 {
            device.faults = match i / 10 % 3 {
                0 => Faults { no_answer: true, ..Faults::default() },
                1 => Faults { garbage: true, ..Faults::default() },
                _ => Faults { endless: true, ..Faults::default() },
            };
            broken.push(i);
        }
        devices.push(device);
    }
    let sim = start(devices, 3).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let address = sim.addresses[i];
        let profiles = ProfileSet::builtin().unwrap();
        let mut config = fast();
        config.walk_cap = 2_000;
        tasks.spawn(
            async move { (i, read(address, None, config, &profiles).await.map(|r| interpret(&r.walk, &profiles))) },
        );
    }
    let mut complete = 0;
    while let Some(done) = tasks.join_next().await {
        let (i, result) = done.unwrap();
        if broken.contains(&i) {
            continue;
        }
        let expected = serde_json::to_value(interpret(&load(&files[i % files.len()]), &profiles)).unwrap();
        assert_eq!(serde_json::to_value(result.unwrap()).unwrap(), expected, "device {i}");
        complete += 1;
    }
    assert_eq!(complete, 54);
}

#[tokio::test(flavor = "multi_thread")]
async fn living_values_grow_and_fall_between_reads() {
    let profiles = ProfileSet::builtin().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers/librenms/ricoh_mpc3002.snmprec");
    let sim = start(vec![Device::new(load(&file), "public")], 4).await;
    let before = interpret(&read(sim.addresses[0], None, fast(), &profiles).await.unwrap().walk, &profiles);
    {
        let device = sim.device(0);
        let mut device = device.lock().await;
        device.living.toner_per_page = 0.01;
        device.print(1000);
    }
    let after = interpret(&read(sim.addresses[0], None, fast(), &profiles).await.unwrap().walk, &profiles);
    let total = |s: &cartouche_schema::profiles::DeviceSnapshot| {
        s.counters.iter().find(|c| c.kind == cartouche_schema::profiles::snapshot::CounterKind::Total).unwrap().value
    };
    assert_eq!(total(&after), total(&before) + 1000);
    let black = |s: &cartouche_schema::profiles::DeviceSnapshot| {
        s.supplies.iter().find(|x| x.index == 1).unwrap().level.unwrap()
    };
    assert_eq!(black(&after), black(&before) - 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scan_finds_every_printer_and_nothing_else() {
    use cartouche_agent::discovery::{SweepConfig, scan_report};
    let profiles = std::sync::Arc::new(ProfileSet::builtin().unwrap());
    // The Brother library's fixtures share one anonymised MAC (aa:bb:cc:dd:ee:ff) and no serial:
    // a scan would rightly take them for one printer on several addresses. Leave them out here.
    let printers: Vec<PathBuf> = recordings()
        .into_iter()
        .filter(|f| interpret(&load(f), &profiles).mac.as_deref() != Some("aa:bb:cc:dd:ee:ff"))
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/synthetic/non-printers");
    let mut others: Vec<PathBuf> = std::fs::read_dir(root).unwrap().map(|e| e.unwrap().path()).collect();
    others.sort();
    let mut devices: Vec<Device> = printers.iter().map(|f| Device::new(load(f), "public")).collect();
    devices.extend(others.iter().map(|f| Device::new(load(f), "public")));
    // The first printer answers on a second address too, and only to a second community: one
    // printer, found through the second credential, listed once.
    devices.push(Device::new(load(&printers[0]), "backoffice"));
    let sim = start(devices, 5).await;
    let expected: Vec<SocketAddr> = printers
        .iter()
        .enumerate()
        .filter(|(_, f)| interpret(&load(f), &profiles).is_printer)
        .map(|(i, _)| sim.addresses[i])
        .collect();
    let first = match sim.addresses[0].ip() {
        std::net::IpAddr::V4(v4) => v4,
        std::net::IpAddr::V6(_) => unreachable!(),
    };
    let range =
        cartouche_schema::ranges::Range::parse(&format!("{first}-{}", first.octets()[3] as usize + 120)).unwrap();
    let addresses: Vec<_> = range.addresses().collect();
    let credentials = vec![
        Credential::V2c { community: SecretString::from("public".to_owned()) },
        Credential::V2c { community: SecretString::from("backoffice".to_owned()) },
    ];
    let sweep = SweepConfig {
        port: 16_161,
        timeout: Duration::from_millis(400),
        retries: 1,
        rate: 20_000,
        concurrency: 32,
        read: ReadOptions { http_port: None, npap_port: None, ..ReadOptions::new(2_000, 25) },
        keep_raw: false,
    };
    let report = scan_report(&addresses, &credentials, &sweep, &fast(), profiles.clone(), &|_, _| {}).await.unwrap();
    let (found, not_printers) = (report.printers, report.others);
    let found_addresses: Vec<SocketAddr> = found.iter().map(|f| f.address).collect();
    assert_eq!(found_addresses, expected, "every printer, and only printers");
    assert_eq!(found[0].also_at, vec![*sim.addresses.last().unwrap()], "the same serial on another address");
    assert_eq!(not_printers, sim.len() - expected.len() - 1);
    for f in &found {
        assert!(f.snapshot.is_printer);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scenario_events_swap_supplies_and_raise_and_clear_alerts() {
    use cartouche_e2e::simulator::Scenario;
    let profiles = ProfileSet::builtin().unwrap();
    let first = block(6);
    let scenario = Scenario::parse(&format!(
        r#"
        port = 16161
        [[group]]
        recordings = ["printers/librenms/xerox.snmprec"]
        first_address = "{first}"
        events = [
          {{ kind = "raise_alert", at = 0.0, code = 8, group = 13, severity = 3, training = 3, description = "Paper jam in tray 2" }},
          {{ kind = "swap_supply", at = 0.0, supply = 1, serial = "NEWSERIAL01" }},
          {{ kind = "clear_alert", at = 0.6, index = 1 }},
        ]
        "#
    ))
    .unwrap();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let sim = Simulator::start(scenario.devices(&base).unwrap()).await.unwrap();
    let snapshot = interpret(&read(sim.addresses[0], None, fast(), &profiles).await.unwrap().walk, &profiles);
    assert_eq!(snapshot.alerts.len(), 1);
    assert_eq!(snapshot.alerts[0].fault_type, "jam");
    let black = snapshot.supplies.iter().find(|s| s.index == 1).unwrap();
    assert_eq!(black.serial.as_deref(), Some("NEWSERIAL01"));
    assert_eq!(black.percent, Some(100.0));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let later = interpret(&read(sim.addresses[0], None, fast(), &profiles).await.unwrap().walk, &profiles);
    assert!(later.alerts.is_empty(), "the jam was cleared");
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_http_pages_are_read_and_npap_presence_is_recorded() {
    use cartouche_e2e::simulator::Services;
    let profiles = ProfileSet::builtin().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    // An HP without HP's private SNMP counters: the LEDM page gives the meters.
    let mut device = Device::new(load(&root.join("printers/librenms/jetdirect_m880.snmprec")), "public");
    device.pages.insert(
        "/DevMgmt/ProductUsageDyn.xml".into(),
        std::fs::read(root.join("synthetic/hp-ledm-ProductUsageDyn.xml")).unwrap(),
    );
    device.npap = true;
    let quiet = Device::new(load(&root.join("printers/librenms/ricoh_mpc3002.snmprec")), "public");
    let first = block(7);
    let second = cartouche_e2e::simulator::scenario::next_address(first);
    let services = Services { http_port: Some(18_080), npap_port: Some(19_300) };
    let sim = Simulator::start_with(
        vec![(SocketAddr::from((first, 16_161)), device), (SocketAddr::from((second, 16_161)), quiet)],
        services,
    )
    .await
    .unwrap();
    let options = ReadOptions {
        http_port: Some(18_080),
        npap_port: Some(19_300),
        tcp_timeout: Duration::from_millis(500),
        ..ReadOptions::new(2_000, 25)
    };
    let mut session = Session::new(v2c(sim.addresses[0]), fast());
    let reading = read_device(&mut session, &profiles, &options).await.unwrap();
    assert_eq!(reading.npap, Some(true));
    let snap = interpret(&reading.walk, &profiles);
    let counter = |kind| snap.counters.iter().find(|c| c.kind == kind).map(|c| (c.value, c.source.oid.clone()));
    use cartouche_schema::profiles::snapshot::CounterKind;
    assert_eq!(counter(CounterKind::Total), Some((123_456, "http:/DevMgmt/ProductUsageDyn.xml".to_owned())));
    assert_eq!(counter(CounterKind::Mono).map(|c| c.0), Some(100_000));
    assert_eq!(counter(CounterKind::Color).map(|c| c.0), Some(23_456));

    // A device without NPAP and without the page: recorded as such, nothing invented.
    let mut session = Session::new(v2c(sim.addresses[1]), fast());
    let reading = read_device(&mut session, &profiles, &options).await.unwrap();
    assert_eq!(reading.npap, Some(false));
    assert!(reading.walk.pages().next().is_none());
}

/// The demo of `./dev up` loads: its recordings exist, its addresses are loopback, and its
/// printers are distinct (their own serials and MACs), so discovery does not fold them into one.
#[test]
fn the_demo_scenario_serves_distinct_printers() {
    use cartouche_e2e::simulator::Scenario;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/demo.toml");
    let scenario = Scenario::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let devices = scenario.devices(path.parent().unwrap()).unwrap();
    assert!(devices.len() >= 200, "{} devices", devices.len());
    assert!(devices.iter().all(|(address, _)| address.ip().is_loopback()));
    let profiles = ProfileSet::builtin().unwrap();
    let serials: Vec<String> = devices.iter().filter_map(|(_, d)| interpret(&d.walk, &profiles).serial).collect();
    let mut distinct = serials.clone();
    distinct.sort();
    distinct.dedup();
    // Many recordings carry no serial (those are told apart by MAC); none that does repeats.
    assert!(
        serials.len() > 60 && distinct.len() == serials.len(),
        "{} serials, {} distinct",
        serials.len(),
        distinct.len()
    );
}
