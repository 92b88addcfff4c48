//! Any text typed as a discovery range, a list of them or a range file: parsed or refused with
//! a reason, never a panic; a parsed range counts what it iterates.
#![no_main]

use cartouche_schema::ranges::{Range, parse_csv};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(range) = Range::parse(text) {
        let _ = range.to_string();
    }
    let _ = Range::parse_list(text);
    let _ = parse_csv(text);
});
