//! Cycles as the server configures them, against the printer simulator: discovery sweeps a
//! range with the range's credentials in order and uploads the printers' raw readings (which
//! the server can interpret exactly as the agent would); counters and alerts read only the
//! known devices of the range, only their cycle's part of the plan; sleepy and silent devices
//! are counted in the report; a configuration naming a missing credential is refused by name.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cartouche_agent::cycles::{self, CycleError, CycleOptions};
use cartouche_e2e::simulator::{Device, Faults, Simulator};
use cartouche_e2e::testdata;
use cartouche_schema::profiles::{ProfileSet, Walk, interpret, read_plan_for};
use cartouche_schema::wire::{AgentConfig, CredentialConfig, Cycle, KnownDevice, RangeConfig};

const PORT: u16 = 16_161;

fn load(path: &Path) -> Walk {
    Walk::from_snmprec(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The recordings (under testdata/printers) on consecutive addresses, community "public".
fn placed(files: &[&str], address: impl Fn(u8) -> std::net::Ipv4Addr) -> Vec<(SocketAddr, Device)> {
    files
        .iter()
        .zip(0u8..)
        .map(|(f, i)| {
            (SocketAddr::from((address(i), PORT)), Device::new(load(&testdata(&format!("printers/{f}"))), "public"))
        })
        .collect()
}

fn options() -> CycleOptions {
    cartouche_e2e::simulator::cycle_options(PORT)
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_then_counters_and_alerts_as_configured() {
    let profiles = Arc::new(ProfileSet::builtin().unwrap());
    let printers =
        ["librenms/konica_c250i.snmprec", "librenms/brother_hl5370dw.snmprec", "librenms/dell-laser.snmprec"];
    let first = std::net::Ipv4Addr::new(127, 90, (std::process::id() % 250) as u8, 1);
    let address = |i: u8| std::net::Ipv4Addr::new(127, 90, first.octets()[2], 1 + i);
    let mut devices = placed(&printers, address);
    // A UPS (not a printer) and a printer that only knows the second community.
    devices.push((
        SocketAddr::from((address(3), PORT)),
        Device::new(load(&testdata("synthetic/non-printers/ups.snmprec")), "public"),
    ));
    devices.push((
        SocketAddr::from((address(4), PORT)),
        Device::new(load(&testdata("printers/librenms/canonprinter_mf.snmprec")), "backoffice"),
    ));
    let _sim = Simulator::start(devices).await.unwrap();
    let sleepy_file = testdata("printers/librenms/epson.snmprec");

    let mut config = AgentConfig {
        ranges: vec![RangeConfig {
            id: "hq".into(),
            ranges: format!("{}-{}", address(0), address(9).octets()[3]),
            site_time_zone: "Europe/Paris".into(),
            credentials: vec!["main".into(), "back".into()],
            schedules: Default::default(),
        }],
        credentials: [
            ("main".to_owned(), CredentialConfig::V2c { community: "public".into() }),
            ("back".to_owned(), CredentialConfig::V2c { community: "backoffice".into() }),
        ]
        .into_iter()
        .collect(),
        ..AgentConfig::default()
    };

    let started = chrono::Utc::now();
    let outcome = cycles::run(&config, "hq", Cycle::Discovery, &options(), profiles.clone(), started).await.unwrap();
    let found: Vec<&str> = outcome.readings.iter().map(|r| r.address.as_str()).collect();
    let expected: Vec<String> = [0u8, 1, 2, 4].iter().map(|i| address(*i).to_string()).collect();
    assert_eq!(found, expected, "the four printers, the one on the second community included; not the UPS");
    assert_eq!(outcome.report.devices_read, 4);
    assert_eq!(outcome.report.range_id.as_deref(), Some("hq"));
    // What travels is enough for the server to see what the agent saw.
    let files = [printers[0], printers[1], printers[2], "librenms/canonprinter_mf.snmprec"];
    for (reading, file) in outcome.readings.iter().zip(files) {
        let uploaded = interpret(&Walk::from_snmprec(&reading.snmprec).unwrap(), &profiles);
        let recorded = interpret(&load(&testdata(&format!("printers/{file}"))), &profiles);
        assert!(uploaded.is_printer, "{file}");
        assert_eq!((uploaded.serial, uploaded.model), (recorded.serial, recorded.model), "{file}");
        assert_eq!(uploaded.counters, recorded.counters, "{file}");
    }

    // The server now knows these devices (with their plans), and the sleepy one, and one that
    // went away.
    let mut known: Vec<KnownDevice> = outcome
        .readings
        .iter()
        .map(|r| {
            let walk = Walk::from_snmprec(&r.snmprec).unwrap();
            KnownDevice {
                id: format!("dev-{}", r.address),
                range_id: "hq".into(),
                address: r.address.clone(),
                port: PORT,
                credential: if r.address == address(4).to_string() { "back".into() } else { "main".into() },
                plan: read_plan_for(&walk, &profiles),
                serial: None,
                mac: None,
            }
        })
        .collect();
    let sleepy_walk = load(&sleepy_file);
    for (id, i, plan) in [("sleepy", 20u8, read_plan_for(&sleepy_walk, &profiles)), ("gone", 30, known[0].plan.clone())]
    {
        known.push(KnownDevice {
            id: id.into(),
            range_id: "hq".into(),
            address: address(i).to_string(),
            port: PORT,
            credential: "main".into(),
            plan,
            serial: None,
            mac: None,
        });
    }
    // A device of another range is not read by this one.
    let mut elsewhere = known[0].clone();
    elsewhere.range_id = "branch".into();
    elsewhere.address = address(40).to_string();
    known.push(elsewhere);
    config.devices = known;

    // Outside the swept addresses, a printer that sleeps through the first second of the
    // counters cycle: its first requests time out, a retry wakes it.
    let mut sleepy = Device::new(load(&sleepy_file), "public");
    sleepy.faults = Faults { asleep: Some(Duration::from_secs(1)), ..Faults::default() };
    let _sleepy_sim = Simulator::start(vec![(SocketAddr::from((address(20), PORT)), sleepy)]).await.unwrap();
    let counters = cycles::run(&config, "hq", Cycle::Counters, &options(), profiles.clone(), started).await.unwrap();
    assert_eq!(counters.report.devices_read, 5, "four printers and the sleepy one");
    assert_eq!(counters.report.devices_failed, 1, "the device that went away");
    assert_eq!(counters.report.devices_asleep, 1, "the sleepy one answered after a retry");
    let late: Vec<&str> =
        counters.readings.iter().filter(|r| r.answered_late).map(|r| r.device_id.as_deref().unwrap_or("")).collect();
    assert_eq!(late, vec!["sleepy"], "its reading says so, for the server to count it asleep");
    let konica = &counters.readings[0];
    assert_eq!(konica.cycle, Cycle::Counters);
    let counters_walk = Walk::from_snmprec(&konica.snmprec).unwrap();
    let full_walk = Walk::from_snmprec(&outcome.readings[0].snmprec).unwrap();
    let plan = &config.devices[0].plan.counters;
    let outside: Vec<String> = counters_walk
        .iter()
        .map(|(oid, _)| oid)
        .filter(|oid| !plan.get.contains(oid) && !plan.walk.iter().any(|root| oid.starts_with(root)))
        .map(ToString::to_string)
        .collect();
    assert!(outside.is_empty(), "only the counters part of the plan is read, not {outside:?}");
    assert!(counters_walk.len() < full_walk.len(), "{} of {}", counters_walk.len(), full_walk.len());
    let life: cartouche_schema::profiles::Oid = "1.3.6.1.2.1.43.10.2.1.4.1.1".parse().unwrap();
    assert_eq!(counters_walk.get(&life), full_walk.get(&life), "the page counter is in it");

    let alerts = cycles::run(&config, "hq", Cycle::Alerts, &options(), profiles.clone(), started).await.unwrap();
    assert!(alerts.readings.iter().all(|r| r.cycle == Cycle::Alerts));

    // A configuration naming a credential it does not hold is refused by name.
    config.ranges[0].credentials.push("vault".into());
    let err = cycles::run(&config, "hq", Cycle::Discovery, &options(), profiles.clone(), started).await.unwrap_err();
    assert!(matches!(err, CycleError::UnknownCredential { .. }), "{err}");
    assert!(err.to_string().contains("\"vault\""), "{err}");
    let err = cycles::run(&config, "nowhere", Cycle::Counters, &options(), profiles, started).await.unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_runs_due_cycles_and_run_now_into_the_spool_and_remembers_across_restarts() {
    use cartouche_agent::link::RunNow;
    use cartouche_agent::service::Driver;
    use cartouche_agent::spool::{FullPolicy, Spool};
    use cartouche_schema::schedule::Schedule;
    use cartouche_schema::wire::RawReading;
    use std::sync::Mutex;
    use tokio::sync::{Notify, mpsc, watch};

    let profiles = Arc::new(ProfileSet::builtin().unwrap());
    let address = |i: u8| std::net::Ipv4Addr::new(127, 91, (std::process::id() % 250) as u8, 1 + i);
    let files = ["librenms/konica_c250i.snmprec", "librenms/dell-laser.snmprec"];
    let devices = placed(&files, address);
    let _sim = Simulator::start(devices).await.unwrap();
    let config = AgentConfig {
        ranges: vec![RangeConfig {
            id: "hq".into(),
            ranges: format!("{}-{}", address(0), address(3).octets()[3]),
            site_time_zone: "Pacific/Auckland".into(),
            credentials: vec![],
            schedules: [(Cycle::Discovery, Schedule::always()), (Cycle::Counters, Schedule::Disabled)]
                .into_iter()
                .collect(),
        }],
        ..AgentConfig::default()
    };

    let dir = std::env::temp_dir().join(format!("cartouche-service-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let open = || Arc::new(Mutex::new(Spool::open(&dir.join("spool.db"), 64 << 20, FullPolicy::DropOldest).unwrap()));
    let spool = open();
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let driver = Arc::new(Driver {
        spool: spool.clone(),
        pushed: Arc::new(Notify::new()),
        reports: reports_tx.clone(),
        profiles: profiles.clone(),
        options: options(),
        batch_size: 1,
    });
    let (config_tx, config_rx) = watch::channel(Some(config.clone()));
    let (run_now_tx, run_now_rx) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let running = tokio::spawn({
        let driver = driver.clone();
        async move { driver.drive(config_rx, run_now_rx, stop_rx).await }
    });

    // Never ran: discovery is due at once; its two printers land in the spool, one per batch.
    let report = tokio::time::timeout(Duration::from_secs(30), reports.recv()).await.unwrap().unwrap();
    assert_eq!((report.cycle, report.devices_read), (Cycle::Discovery, 2));
    let batches = spool.lock().unwrap().pending(10).unwrap();
    assert_eq!(batches.len(), 2, "batch_size 1: one batch per reading");
    let first: Vec<RawReading> = serde_json::from_slice(&batches[0].1).unwrap();
    assert_eq!(first[0].address, address(0).to_string());

    // The server learns the devices and asks for counters now (the schedule has them off).
    let mut with_devices = config.clone();
    with_devices.devices = first
        .iter()
        .map(|r| KnownDevice {
            id: "konica".into(),
            range_id: "hq".into(),
            address: r.address.clone(),
            port: PORT,
            credential: "main".into(),
            plan: read_plan_for(&Walk::from_snmprec(&r.snmprec).unwrap(), &profiles),
            serial: None,
            mac: None,
        })
        .collect();
    with_devices.credentials = [("main".to_owned(), CredentialConfig::V2c { community: "public".into() })].into();
    config_tx.send_replace(Some(with_devices));
    run_now_tx.send(RunNow { cycle: Cycle::Counters, range_id: Some("hq".into()) }).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), reports.recv()).await.unwrap().unwrap();
    assert_eq!((report.cycle, report.devices_read, report.devices_failed), (Cycle::Counters, 1, 0));
    assert_eq!(spool.lock().unwrap().depth().unwrap().0, 3);

    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(10), running).await.unwrap().unwrap().unwrap();

    // Restarted within the hour: discovery already ran this hour, so it does not run again.
    let runs = spool.lock().unwrap().last_runs().unwrap();
    assert!(runs.iter().any(|(r, c, _)| r == "hq" && c == "discovery"), "{runs:?}");
    assert!(runs.iter().any(|(r, c, _)| r == "hq" && c == "counters"), "{runs:?}");
    drop(driver);
    let again = Driver {
        spool: open(),
        pushed: Arc::new(Notify::new()),
        reports: reports_tx,
        profiles,
        options: options(),
        batch_size: 1,
    };
    let (_config_tx, config_rx) = watch::channel(Some(config));
    let (_run_now_tx, run_now_rx) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let restarted = tokio::spawn(async move { again.drive(config_rx, run_now_rx, stop_rx).await });
    // Unless the test straddles the top of an hour, nothing runs.
    let minute = chrono::Utc::now().format("%M").to_string();
    let quiet = tokio::time::timeout(Duration::from_millis(1500), reports.recv()).await;
    if minute != "59" && minute != "00" {
        assert!(quiet.is_err(), "a restart does not re-run a cycle that already ran: {quiet:?}");
    }
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(10), restarted).await.unwrap().unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
