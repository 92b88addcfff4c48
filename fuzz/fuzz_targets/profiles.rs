//! Any text as a device profile (TOML) or a fault catalogue: loaded, or refused with the file,
//! line and reason, never a panic. Alone first (fast: the shipped profiles compile dozens of
//! regexes), then beside the shipped ones when it loads alone.
#![no_main]

use cartouche_schema::profiles::ProfileSet;
use cartouche_schema::profiles::catalogue::FaultCatalogue;

const CATALOGUE: &str = include_str!("../../schema/profiles/faults.toml");

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let alone = ProfileSet::load(vec![("fuzz.toml".to_owned(), text.to_owned())], ("faults.toml", CATALOGUE));
    if alone.is_ok() {
        let _ = ProfileSet::builtin_with(vec![("fuzz.toml".to_owned(), text.to_owned())]);
    }
    let _ = FaultCatalogue::parse("faults.toml", text);
});
