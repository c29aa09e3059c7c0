//! `cargo +nightly fuzz run rule_toml`: the rule file loader (TOML, then EQL) never panics.
#![no_main]

use dcomhunt::eql::rulefile::parse_rule;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_rule(Path::new("fuzz.toml"), text);
    }
});
