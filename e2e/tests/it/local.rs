//! Local (USB) printers through the host's print system: CUPS queues and ipp-usb endpoints
//! served on loopback, read by the agent, stored as raw IPP and interpreted back; a host
//! without a print system says so; the loopback endpoint's encoding is judged by CUPS's
//! `ipptool`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use cartouche_agent::cycles::CycleOptions;
use cartouche_agent::local::{self, LocalOptions};
use cartouche_agent::service::{Driver, LOCAL_NOTE, LOCAL_RANGE};
use cartouche_agent::spool::{FullPolicy, Spool};
use cartouche_e2e::ipp_printer::{IppEndpoint, Mode, SimQueue};
use cartouche_schema::ipp::{Message, PrinterState, PrinterStatus, group};
use cartouche_schema::wire::{Cycle, RawReading};
use tokio::sync::{Notify, mpsc, watch};

fn usb_laser() -> SimQueue {
    SimQueue {
        name: "HP_LaserJet_M404".into(),
        device_uri: "usb://HP/LaserJet%20M404?serial=PHB1234567".into(),
        make_and_model: "HP LaserJet Pro M404, hpcups 3.22".into(),
        device_id: Some("MFG:HP;MDL:HP LaserJet Pro M404;CMD:PJL,PCL,PDF;SN:PHB1234567;".into()),
        state: 5,
        reasons: vec!["toner-low-warning".into(), "media-empty-error".into()],
        markers: vec![
            ("Black Cartridge".into(), "toner".into(), "#000000".into(), 8, 10, 100),
            ("Imaging Drum".into(), "opc".into(), "none".into(), -3, 5, 100),
        ],
        supplies: vec![],
    }
}

fn ipp_usb_inkjet() -> SimQueue {
    SimQueue {
        name: "EPSON ET-2850".into(),
        device_uri: "usb://EPSON/ET-2850".into(),
        make_and_model: "EPSON ET-2850 Series".into(),
        device_id: Some("MFG:EPSON;CMD:ESCPL2,URF,PWGRaster;MDL:ET-2850 Series;SN:X4E1009876;".into()),
        state: 3,
        reasons: vec![],
        markers: vec![],
        supplies: vec![
            (
                "index=1;class=supplyThatIsConsumed;type=ink;unit=percent;maxcapacity=100;level=55;colorantname=black;"
                    .into(),
                "Black ink".into(),
            ),
            (
                "index=2;class=supplyThatIsConsumed;type=ink;unit=percent;maxcapacity=100;level=12;colorantname=cyan;"
                    .into(),
                "Cyan ink".into(),
            ),
        ],
    }
}

fn network_queue() -> SimQueue {
    SimQueue {
        name: "Floor2_Konica".into(),
        device_uri: "socket://10.20.0.31:9100".into(),
        make_and_model: "KONICA MINOLTA bizhub C300i".into(),
        device_id: None,
        state: 3,
        reasons: vec![],
        markers: vec![],
        supplies: vec![],
    }
}

async fn unused_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

fn status_of(reading: &RawReading) -> PrinterStatus {
    let bytes = base64::engine::general_purpose::STANDARD.decode(reading.ipp.as_deref().unwrap()).unwrap();
    let message = Message::decode(&bytes).unwrap();
    PrinterStatus::from_attributes(message.groups(group::PRINTER).next().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn usb_printers_are_read_through_cups_and_ipp_usb_and_network_queues_are_left_to_snmp() {
    let usb = IppEndpoint::start(Mode::IppUsb, vec![ipp_usb_inkjet()]).await.unwrap();
    // CUPS has the USB laser, a network queue, and a queue in front of the ipp-usb printer.
    let mut behind_ipp_usb = ipp_usb_inkjet();
    behind_ipp_usb.name = "ET-2850".into();
    behind_ipp_usb.device_uri = usb.printer_uri();
    let cups = IppEndpoint::start(Mode::Cups, vec![usb_laser(), network_queue(), behind_ipp_usb]).await.unwrap();
    let options = LocalOptions {
        cups: Some(cups.address),
        ipp_usb: vec![usb.address, unused_port().await],
        timeout: Duration::from_secs(5),
    };

    let outcome = local::read(&options).await;
    assert_eq!(outcome.readings.len(), 2, "{:?}", outcome.sources);
    let by_address = |a: &str| outcome.readings.iter().find(|r| r.address == a).unwrap_or_else(|| panic!("no {a}"));

    let laser = by_address("cups:HP_LaserJet_M404");
    assert_eq!(laser.cycle, Cycle::Counters);
    assert!(laser.snmprec.is_empty());
    let status = status_of(laser);
    assert_eq!(status.state, Some(PrinterState::Stopped));
    assert_eq!(status.state_reasons, vec!["toner-low-warning", "media-empty-error"]);
    assert_eq!(status.serial().as_deref(), Some("PHB1234567"));
    let levels: Vec<_> = status.markers.iter().map(|m| (m.name.as_str(), m.level)).collect();
    assert_eq!(levels, vec![("Black Cartridge", Some(8)), ("Imaging Drum", None)]);

    let inkjet = by_address(&usb.printer_uri());
    let status = status_of(inkjet);
    assert_eq!(status.serial().as_deref(), Some("X4E1009876"));
    let levels: Vec<_> = status.markers.iter().map(|m| (m.name.as_str(), m.level)).collect();
    assert_eq!(levels, vec![("Black ink", Some(55)), ("Cyan ink", Some(12))]);

    let cups_report = outcome.sources.iter().find(|s| s.source == "cups").unwrap();
    assert_eq!(cups_report.printers, 1);
    assert!(cups_report.skipped.iter().any(|s| s.starts_with("Floor2_Konica: a network queue")), "{cups_report:?}");
    assert!(cups_report.skipped.iter().any(|s| s.starts_with("ET-2850: read through ipp-usb")), "{cups_report:?}");
    let usb_report = outcome.sources.iter().find(|s| s.source == "ipp-usb").unwrap();
    assert_eq!((usb_report.printers, usb_report.unavailable.as_ref()), (1, None));
    assert_eq!(outcome.capabilities(), vec!["ipp-usb", "cups"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_without_a_print_system_says_what_cannot_be_read_and_why() {
    let nothing = LocalOptions {
        cups: Some(unused_port().await),
        ipp_usb: vec![unused_port().await],
        timeout: Duration::from_secs(2),
    };
    let outcome = local::read(&nothing).await;
    assert!(outcome.readings.is_empty());
    assert!(outcome.capabilities().is_empty());
    let cups = outcome.sources.iter().find(|s| s.source == "cups").unwrap();
    assert!(cups.unavailable.as_deref().unwrap().contains("nothing listens at 127.0.0.1"), "{cups:?}");
    let usb = outcome.sources.iter().find(|s| s.source == "ipp-usb").unwrap();
    assert!(usb.unavailable.as_deref().unwrap().contains("ipp-usb not installed"), "{usb:?}");

    // Something answers on the CUPS port, but it is not IPP.
    let web = IppEndpoint::start(Mode::NotIpp, vec![]).await.unwrap();
    let outcome = local::read(&LocalOptions { cups: Some(web.address), ipp_usb: vec![web.address], ..nothing }).await;
    for source in &outcome.sources {
        let said = source.unavailable.clone().unwrap_or_default() + &source.errors.join(";");
        assert!(said.contains("not IPP"), "{source:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_polls_local_printers_on_their_own_interval_and_keeps_the_report_for_status() {
    let usb = IppEndpoint::start(Mode::IppUsb, vec![ipp_usb_inkjet()]).await.unwrap();
    let dir = std::env::temp_dir().join(format!("cartouche-local-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let spool = Arc::new(Mutex::new(Spool::open(&dir.join("spool.db"), 16 << 20, FullPolicy::RefuseNew).unwrap()));
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let driver = Driver {
        spool: spool.clone(),
        pushed: Arc::new(Notify::new()),
        reports: reports_tx,
        profiles: Arc::new(cartouche_agent::profiles::load(None).unwrap()),
        options: CycleOptions {
            engine: Default::default(),
            sweep: Default::default(),
            local: Some(LocalOptions { cups: None, ipp_usb: vec![usb.address], timeout: Duration::from_secs(5) }),
        },
        batch_size: 10,
    };
    // No configuration yet (never connected): local printers are read at once, then every 30 minutes.
    let (_config, config_rx) = watch::channel(None);
    let (_run_now, run_now_rx) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let running = tokio::spawn(async move { driver.drive(config_rx, run_now_rx, stop_rx).await });
    let report = tokio::time::timeout(Duration::from_secs(20), reports.recv()).await.unwrap().unwrap();
    assert_eq!((report.range_id.as_deref(), report.devices_read, report.devices_failed), (Some(LOCAL_RANGE), 1, 0));
    let batches = spool.lock().unwrap().pending(10).unwrap();
    let readings: Vec<RawReading> = serde_json::from_slice(&batches[0].1).unwrap();
    assert_eq!(readings[0].address, usb.printer_uri());
    let quiet = tokio::time::timeout(Duration::from_millis(1500), reports.recv()).await;
    assert!(quiet.is_err(), "polled again before its interval: {quiet:?}");
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(10), running).await.unwrap().unwrap().unwrap();
    let note = spool.lock().unwrap().note(LOCAL_NOTE).unwrap().unwrap();
    let sources: Vec<local::SourceReport> = serde_json::from_str(&note).unwrap();
    assert_eq!(
        sources.iter().find(|s| s.source == "cups").unwrap().unavailable.as_deref(),
        Some("not looked for (switched off)")
    );
    let runs = spool.lock().unwrap().last_runs().unwrap();
    assert!(runs.iter().any(|(range, _, _)| range == LOCAL_RANGE), "{runs:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// CUPS's own IPP client reads the loopback endpoint: the encoding the other tests rely on
/// is the one real IPP software speaks.
#[tokio::test(flavor = "multi_thread")]
async fn cups_ipptool_reads_the_loopback_endpoint() {
    let ipptool = ["/usr/bin/ipptool", "/usr/local/bin/ipptool"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("ipptool is not installed (./dev install brings Debian's cups-ipp-utils)");
    let usb = IppEndpoint::start(Mode::IppUsb, vec![usb_laser()]).await.unwrap();
    let cups = IppEndpoint::start(Mode::Cups, vec![usb_laser(), network_queue()]).await.unwrap();
    let dir = std::env::temp_dir().join(format!("cartouche-ipptool-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    // Runs one ipptool test (the charset and language attributes every request has are
    // added) against `uri`; its report is the failure message.
    let check = async |uri: String, name: &str, operation: &str, body: &str| {
        let file = dir.join(format!("{operation}.test"));
        let test = format!(
            "{{\n  NAME \"{name}\"\n  OPERATION {operation}\n  GROUP operation-attributes-tag\n  \
             ATTR charset attributes-charset utf-8\n  ATTR naturalLanguage attributes-natural-language en\n{body}}}\n"
        );
        std::fs::write(&file, test).unwrap();
        let out =
            tokio::process::Command::new(ipptool).args(["-T", "10", "-t", &uri]).arg(&file).output().await.unwrap();
        let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "ipptool: {report}");
    };
    check(
        usb.printer_uri(),
        "Get-Printer-Attributes gives state and supplies",
        "Get-Printer-Attributes",
        r#"  ATTR uri printer-uri $uri
  ATTR keyword requested-attributes all
  STATUS successful-ok
  EXPECT printer-state OF-TYPE enum WITH-VALUE 5
  EXPECT printer-state-reasons OF-TYPE keyword WITH-VALUE "toner-low-warning"
  EXPECT printer-device-id OF-TYPE text WITH-VALUE "/SN:PHB1234567;/"
  EXPECT marker-levels OF-TYPE integer COUNT 2 WITH-VALUE 8
  EXPECT marker-names OF-TYPE name COUNT 2
  EXPECT media-col-ready OF-TYPE collection
"#,
    )
    .await;
    check(
        format!("ipp://{}/", cups.address),
        "CUPS-Get-Printers lists the queues",
        "CUPS-Get-Printers",
        r#"  STATUS successful-ok
  EXPECT printer-name OF-TYPE name WITH-VALUE "HP_LaserJet_M404"
  EXPECT device-uri OF-TYPE uri WITH-VALUE "/^usb:/"
  EXPECT printer-state OF-TYPE enum IN-GROUP printer-attributes-tag
"#,
    )
    .await;
    std::fs::remove_dir_all(&dir).unwrap();
}
