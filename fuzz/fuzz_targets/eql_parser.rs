//! `cargo +nightly fuzz run eql_parser`: the EQL parser and compiled matcher never panic.
#![no_main]

use dcomhunt::eql::{MapDocument, compile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(q) = compile(text)
    {
        let doc = MapDocument::new("process").with("process.name", "mmc.exe");
        let mut m = q.matcher();
        let _ = m.feed(&doc, 0, 0);
        let _ = m.feed(&doc, 1, 1);
    }
});
