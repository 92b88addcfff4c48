//! The agent's own link against the real server: enrollment saved privately, readings from
//! the durable spool uploaded and forgotten only once stored, and an outage in the middle
//! (the network between agent and server cut, then restored) that loses and duplicates
//! nothing.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cartouche_agent::link::{self, Enrollment, LinkHandles, LinkOptions};
use cartouche_agent::spool::{FullPolicy, Spool};
use cartouche_e2e::app::TestApp;
use cartouche_e2e::eventually;
use cartouche_e2e::relay::Relay;
use cartouche_schema::db::agents::Agent;
use cartouche_schema::wire::{Cycle, RawReading};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};

fn batch(n: u32) -> Vec<u8> {
    let reading = RawReading::snmp(
        format!("10.0.0.{n}"),
        Cycle::Counters,
        chrono::Utc::now(),
        format!("1.3.6.1.2.1.43.10.2.1.4.1.1|65|{}\n", 1000 + n),
    );
    serde_json::to_vec(&vec![reading]).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_uploads_its_spool_and_survives_an_outage_without_loss_or_duplicates() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, key) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let key = key.as_str();

    let upstream: SocketAddr = app.base_url.trim_start_matches("http://").parse().unwrap();
    let relay = Relay::start(upstream).await.unwrap();
    let server = format!("http://{}", relay.address);

    let refused = link::enroll(&server, "cek_wrong", "pc-accueil", None).await.unwrap_err().to_string();
    assert!(refused.contains("unknown, expired or revoked enrollment key"), "{refused}");
    let dir = tempdir();
    let enrollment_path = dir.join("agent.json");
    link::enroll(&server, key, "pc-accueil", None).await.unwrap().save(&enrollment_path).unwrap();
    let enrollment = Enrollment::load(&enrollment_path).unwrap();
    let agent_id: uuid::Uuid = enrollment.agent_id.parse().unwrap();

    // Three batches read while the agent had no link yet.
    let spool = Arc::new(Mutex::new(Spool::open(&dir.join("spool.db"), 10 << 20, FullPolicy::RefuseNew).unwrap()));
    for n in 1..=3 {
        spool.lock().unwrap().push(&batch(n)).unwrap();
    }
    let (config, mut config_rx) = watch::channel(None);
    let (connected, mut connected_rx) = watch::channel(false);
    let (run_now, _run_now_rx) = mpsc::unbounded_channel();
    let pushed = Arc::new(Notify::new());
    let handles = LinkHandles { spool: spool.clone(), pushed: pushed.clone(), config, connected, run_now };
    let (_reports_tx, reports) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let options = LinkOptions {
        heartbeat: Duration::from_millis(300),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(800),
        ..LinkOptions::default()
    };
    let running = tokio::spawn(async move { link::run(&enrollment, vec![], handles, reports, options, stop_rx).await });

    connected_rx.wait_for(|up| *up).await.unwrap();
    config_rx.wait_for(Option::is_some).await.unwrap();
    let stored = async || {
        let mut conn = app.db.conn().await.unwrap();
        Agent::stored_sequences(&mut conn, agent_id).await.unwrap()
    };
    eventually("the first three batches stored and the spool emptied", async || {
        stored().await == vec![1, 2, 3] && spool.lock().unwrap().depth().unwrap().0 == 0
    })
    .await;

    // The network goes away; the agent keeps reading into its spool.
    relay.cut();
    connected_rx.wait_for(|up| !*up).await.unwrap();
    for n in 4..=9 {
        spool.lock().unwrap().push(&batch(n)).unwrap();
        pushed.notify_one();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(stored().await, vec![1, 2, 3], "nothing arrives during the outage");
    assert_eq!(spool.lock().unwrap().depth().unwrap().0, 6, "and nothing is lost: six batches wait");

    // Back: everything waiting arrives once, in order, and is forgotten by the agent.
    relay.restore();
    eventually("the waiting batches stored after the outage", async || {
        stored().await == (1..=9).collect::<Vec<i64>>() && spool.lock().unwrap().depth().unwrap().0 == 0
    })
    .await;
    // A batch pushed while connected goes straight up.
    spool.lock().unwrap().push(&batch(10)).unwrap();
    pushed.notify_one();
    eventually("a live batch stored", async || stored().await.len() == 10).await;

    // Revoked: the link ends with an error that says so, and does not retry forever.
    admin
        .data(
            "mutation($id: ID!) { revokeAgent(id: $id) { revokedAt } }",
            json!({ "id": agent_id.to_string() }),
            "revokeAgent",
        )
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(30), running).await.expect("the link stops").unwrap();
    let err = ended.unwrap_err().to_string();
    assert!(err.contains("revoked"), "{err}");
    drop(stop);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cartouche-link-e2e-{}-{}", std::process::id(), rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_agent_shows_its_link_to_status_and_stops_for_good_when_revoked() {
    use cartouche_agent::cycles::CycleOptions;
    use cartouche_agent::link::LinkError;
    use cartouche_agent::service::run_agent;

    let app = TestApp::start().await.unwrap();
    let (_, admin, key) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let enrollment = link::enroll(&app.base_url, &key, "pc-compta", None).await.unwrap();
    let agent_id = enrollment.agent_id.clone();
    let dir = tempdir();
    let spool_path = dir.join("spool.db");
    let spool = Spool::open(&spool_path, 1 << 20, FullPolicy::DropOldest).unwrap();
    // `status` reads the same database from another process while the agent runs.
    let status = Spool::inspect(&spool_path).unwrap();
    let profiles = Arc::new(cartouche_schema::profiles::ProfileSet::builtin().unwrap());
    let options = CycleOptions { engine: Default::default(), sweep: Default::default(), local: None };
    let link_options = LinkOptions { heartbeat: Duration::from_millis(300), ..LinkOptions::default() };
    let running = tokio::spawn(run_agent(enrollment, profiles, spool, options, link_options, std::future::pending()));

    eventually("status sees the link up", async || status.link_state().unwrap().is_some_and(|(up, _)| up)).await;
    admin
        .data("mutation($id: ID!) { revokeAgent(id: $id) { revokedAt } }", json!({ "id": agent_id }), "revokeAgent")
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(30), running).await.expect("the agent stops").unwrap();
    let err = ended.unwrap_err();
    assert!(matches!(err.downcast_ref::<LinkError>(), Some(LinkError::Refused(_))), "{err:#}");
    assert_eq!(status.link_state().unwrap().map(|(up, _)| up), Some(false), "status then says down");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A TLS front for the server, with a certificate for `localhost` and 127.0.0.1 from a private
/// CA made here; returns its address and the CA's PEM.
async fn tls_front(upstream: SocketAddr) -> (SocketAddr, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "Dealer private CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.subject_alt_names.push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((inbound, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to relay.
                let Ok(mut tls) = acceptor.accept(inbound).await else { return };
                let Ok(mut outbound) = TcpStream::connect(upstream).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut outbound).await;
            });
        }
    });
    (address, ca.pem())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_link_runs_over_tls_trusting_a_private_ca_only_when_told() {
    let app = TestApp::start().await.unwrap();
    let (_, _, key) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let upstream: SocketAddr = app.base_url.trim_start_matches("http://").parse().unwrap();
    let (front, ca_pem) = tls_front(upstream).await;
    let server = format!("https://localhost:{}", front.port());
    let dir = tempdir();
    let ca_file = dir.join("dealer-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();

    // Not trusted by default: the public authorities do not know this CA.
    let untrusted = link::enroll(&server, &key, "pc-accueil", None).await.unwrap_err();
    assert!(matches!(untrusted, link::LinkError::Unreachable { .. }), "{untrusted}");
    let garbage = dir.join("not-a-ca.pem");
    std::fs::write(&garbage, "hello").unwrap();
    let err = link::enroll(&server, &key, "pc-accueil", Some(&garbage)).await.unwrap_err().to_string();
    assert!(err.contains("not-a-ca.pem") && err.contains("no certificate"), "{err}");

    let enrollment = link::enroll(&server, &key, "pc-accueil", Some(&ca_file)).await.unwrap();
    assert_eq!(enrollment.ca_file.as_deref(), Some(ca_file.as_path()));
    let agent_id: uuid::Uuid = enrollment.agent_id.parse().unwrap();

    let spool = Arc::new(Mutex::new(Spool::open(&dir.join("spool.db"), 1 << 20, FullPolicy::RefuseNew).unwrap()));
    spool.lock().unwrap().push(&batch(1)).unwrap();
    let (config, _config_rx) = watch::channel(None);
    let (connected, mut connected_rx) = watch::channel(false);
    let (run_now, _run_now_rx) = mpsc::unbounded_channel();
    let handles = LinkHandles { spool: spool.clone(), pushed: Arc::new(Notify::new()), config, connected, run_now };
    let (_reports_tx, reports) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let running =
        tokio::spawn(
            async move { link::run(&enrollment, vec![], handles, reports, LinkOptions::default(), stop_rx).await },
        );
    tokio::time::timeout(Duration::from_secs(30), connected_rx.wait_for(|up| *up)).await.unwrap().unwrap();
    eventually("the batch stored over TLS", async || {
        let mut conn = app.db.conn().await.unwrap();
        Agent::stored_sequences(&mut conn, agent_id).await.unwrap() == vec![1]
    })
    .await;
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(10), running).await.unwrap().unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
