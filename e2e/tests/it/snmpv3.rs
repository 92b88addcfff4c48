//! SNMPv3 against net-snmp's snmpd: every authentication and privacy protocol it offers, and
//! wrong secrets refused with a clear error.

use std::net::SocketAddr;
use std::time::Duration;

use cartouche_agent::snmp::{Credential, EngineConfig, Session, Snmp, SnmpError, Target, V3Credential, walk};
use cartouche_e2e::snmpd::{AUTH_PASSWORD, PRIV_PASSWORD, SYS_DESCR, Snmpd, USERS};
use cartouche_schema::profiles::Value;
use secrecy::SecretString;

fn v3(user: &str, auth: &str, privacy: Option<&str>, auth_password: &str, priv_password: &str) -> Credential {
    Credential::V3(V3Credential {
        user: user.to_owned(),
        auth: Some((auth.parse().unwrap(), SecretString::from(auth_password.to_owned()))),
        privacy: privacy.map(|p| (p.parse().unwrap(), SecretString::from(priv_password.to_owned()))),
        context: None,
    })
}

fn config() -> EngineConfig {
    EngineConfig { first_timeout: Duration::from_millis(800), retries: 1, ..EngineConfig::default() }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_v3_protocol_snmpd_offers_reads_and_walks() {
    let snmpd = Snmpd::start().await.unwrap();
    let address = SocketAddr::from(([127, 0, 0, 1], snmpd.port));
    for (user, auth, privacy) in USERS {
        let target = Target { address, credential: v3(user, auth, *privacy, AUTH_PASSWORD, PRIV_PASSWORD) };
        let mut session = Session::new(target, config());
        let got = session.get(&["1.3.6.1.2.1.1.1.0".parse().unwrap()]).await.unwrap_or_else(|e| panic!("{user}: {e}"));
        assert_eq!(got[0].1, Value::OctetString(SYS_DESCR.as_bytes().to_vec()), "{user}");
        let system = walk(&mut session, &"1.3.6.1.2.1.1".parse().unwrap(), 1_000, 10).await;
        assert!(system.error.is_none(), "{user}: {:?}", system.error);
        assert!(system.varbinds.len() >= 7, "{user}: the system group has sysDescr to sysServices");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_engine_is_discovered_once_and_re_synchronised_after_a_reboot() {
    let mut snmpd = Snmpd::start().await.unwrap();
    let address = SocketAddr::from(([127, 0, 0, 1], snmpd.port));
    // snmpEngineID, read over v2c, is what v3 discovery must find.
    let mut v2c = Session::new(Target::v2c_public(address), config());
    let engine = v2c.get(&["1.3.6.1.6.3.10.2.1.1.0".parse().unwrap()]).await.unwrap();
    let Value::OctetString(engine) = &engine[0].1 else { panic!("snmpEngineID: {engine:?}") };
    let engine_hex: String = engine.iter().map(|b| format!("{b:02x}")).collect();

    let credential = v3("sha256aes256", "SHA-256", Some("AES-256"), AUTH_PASSWORD, PRIV_PASSWORD);
    let mut session = Session::new(Target { address, credential }, config());
    let oid = "1.3.6.1.2.1.1.1.0".parse().unwrap();
    session.get(std::slice::from_ref(&oid)).await.unwrap();
    assert_eq!(session.engine_id().as_deref(), Some(engine_hex.as_str()));
    let before = session.requests;
    session.get(std::slice::from_ref(&oid)).await.unwrap();
    assert_eq!(session.requests, before + 1, "no second discovery");

    snmpd.restart().await.unwrap();
    let got = session.get(std::slice::from_ref(&oid)).await.expect("re-synchronised after the reboot");
    assert_eq!(got[0].1, Value::OctetString(SYS_DESCR.as_bytes().to_vec()));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_v3_secrets_are_refused_clearly() {
    let snmpd = Snmpd::start().await.unwrap();
    let address = SocketAddr::from(([127, 0, 0, 1], snmpd.port));
    let cases = [
        ("wrong auth password", v3("sha256aes256", "SHA-256", Some("AES-256"), "not the password", PRIV_PASSWORD)),
        ("wrong auth protocol", v3("sha256aes256", "SHA-512", Some("AES-256"), AUTH_PASSWORD, PRIV_PASSWORD)),
        ("unknown user", v3("nobody", "SHA-256", Some("AES-256"), AUTH_PASSWORD, PRIV_PASSWORD)),
    ];
    for (what, credential) in cases {
        let mut session = Session::new(Target { address, credential }, config());
        let err = session.get(&["1.3.6.1.2.1.1.1.0".parse().unwrap()]).await.unwrap_err();
        assert!(
            matches!(err, SnmpError::Auth(_) | SnmpError::Protocol(_) | SnmpError::Timeout { .. }),
            "{what}: {err:?}"
        );
        assert!(!err.to_string().contains(AUTH_PASSWORD), "secrets never appear in errors");
    }
    // A wrong privacy password decrypts to garbage: refused, never read as data.
    let credential = v3("sha256aes256", "SHA-256", Some("AES-256"), AUTH_PASSWORD, "not the privacy");
    let mut session = Session::new(Target { address, credential }, config());
    assert!(session.get(&["1.3.6.1.2.1.1.1.0".parse().unwrap()]).await.is_err(), "wrong privacy password");
    // v2c with the right community still works on the same agent.
    let mut v2c = Session::new(Target::v2c_public(address), config());
    assert!(v2c.get(&["1.3.6.1.2.1.1.1.0".parse().unwrap()]).await.is_ok());
}
