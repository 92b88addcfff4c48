//! Any datagram the agent may receive: decoded as a response (the sweep, the sessions), and as
//! the SNMPv3 discovery report and version probe it reads itself.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = cartouche_agent::snmp::decode(data);
    let _ = cartouche_agent::snmp::ber::v3_engine(data);
    let _ = cartouche_agent::snmp::ber::version_of(data);
});
