//! `cargo +nightly fuzz run xml_reader`: the XML export reader never panics, whatever the bytes
//! (any encoding, truncated, malformed).
#![no_main]

use dcomhunt::ingest::{self, xml};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let display: Arc<str> = Arc::from("fuzz.xml");
    let _ = ingest::sniff(data);
    // Every event id kept, so the record builder sees everything the parser produces.
    let (records, stats) = xml::read_from(data, &display, &|_| true);
    assert!(records.len() as u64 <= stats.records_read);
});
