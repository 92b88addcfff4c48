//! Any text on the agent link, either way: parsed as a message, and a parsed message written
//! and read back to itself.
#![no_main]

use cartouche_schema::wire::{AgentMessage, ServerMessage};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(message) = serde_json::from_str::<AgentMessage>(text) {
        let again: AgentMessage = serde_json::from_str(&serde_json::to_string(&message).unwrap()).unwrap();
        assert_eq!(again, message);
    }
    if let Ok(message) = serde_json::from_str::<ServerMessage>(text) {
        let again: ServerMessage = serde_json::from_str(&serde_json::to_string(&message).unwrap()).unwrap();
        assert_eq!(again, message);
    }
});
