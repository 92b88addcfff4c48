//! Recognising a known device that moved: one printer seen on several addresses, or a new
//! address over DHCP. The serial decides first, then the MAC address, then the SNMPv3 engine id.

/// What identifies a device across addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fingerprint {
    pub serial: Option<String>,
    pub mac: Option<String>,
    pub engine_id: Option<String>,
}

/// How a device was recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchedBy {
    Serial,
    Mac,
    EngineId,
}

fn normalise_serial(s: &str) -> String {
    // Stray padding and case differ between firmware readings of one serial.
    s.trim().trim_matches('\0').to_ascii_uppercase()
}

fn normalise_mac(s: &str) -> String {
    s.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase()
}

/// The position in `known` of the device `seen` is, and by what; serial first, then MAC,
/// then engine id. A serial that contradicts (both known, different) rules a candidate out,
/// so two printers sharing a MAC (a print server) are not merged.
pub fn recognise(seen: &Fingerprint, known: &[Fingerprint]) -> Option<(usize, MatchedBy)> {
    let serial = seen.serial.as_deref().map(normalise_serial).filter(|s| !s.is_empty());
    if let Some(serial) = &serial
        && let Some(i) = known.iter().position(|k| k.serial.as_deref().map(normalise_serial).as_ref() == Some(serial))
    {
        return Some((i, MatchedBy::Serial));
    }
    let compatible = |k: &Fingerprint| match (&serial, k.serial.as_deref().map(normalise_serial)) {
        (Some(a), Some(b)) => *a == b,
        _ => true,
    };
    if let Some(mac) = seen.mac.as_deref().map(normalise_mac).filter(|m| m.len() == 12)
        && let Some(i) =
            known.iter().position(|k| compatible(k) && k.mac.as_deref().map(normalise_mac).as_ref() == Some(&mac))
    {
        return Some((i, MatchedBy::Mac));
    }
    if let Some(engine) = seen.engine_id.as_deref().filter(|e| !e.is_empty())
        && let Some(i) = known.iter().position(|k| compatible(k) && k.engine_id.as_deref() == Some(engine))
    {
        return Some((i, MatchedBy::EngineId));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(serial: Option<&str>, mac: Option<&str>, engine: Option<&str>) -> Fingerprint {
        Fingerprint {
            serial: serial.map(str::to_owned),
            mac: mac.map(str::to_owned),
            engine_id: engine.map(str::to_owned),
        }
    }

    #[test]
    fn serial_then_mac_then_engine_id() {
        let known = vec![
            fp(Some("VNCRC48198"), Some("00:11:22:33:44:55"), None),
            fp(None, Some("aa:bb:cc:dd:ee:ff"), Some("80001f88")),
            fp(None, None, Some("80003a8c04")),
        ];
        assert_eq!(recognise(&fp(Some(" vncrc48198\0"), None, None), &known), Some((0, MatchedBy::Serial)));
        assert_eq!(recognise(&fp(None, Some("AA-BB-CC-DD-EE-FF"), None), &known), Some((1, MatchedBy::Mac)));
        assert_eq!(recognise(&fp(None, None, Some("80003a8c04")), &known), Some((2, MatchedBy::EngineId)));
        assert_eq!(recognise(&fp(Some("OTHER"), None, None), &known), None);
    }

    #[test]
    fn a_contradicting_serial_is_never_merged_by_mac() {
        // Two printers behind one print server share its MAC.
        let known = vec![fp(Some("A1"), Some("00:11:22:33:44:55"), None)];
        assert_eq!(recognise(&fp(Some("B2"), Some("00:11:22:33:44:55"), None), &known), None);
        assert_eq!(recognise(&fp(None, Some("00:11:22:33:44:55"), None), &known), Some((0, MatchedBy::Mac)));
    }
}
