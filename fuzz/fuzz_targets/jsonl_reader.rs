//! `cargo +nightly fuzz run jsonl_reader`: the JSON readers (evtx_dump, NXLog, Winlogbeat /
//! Elastic Agent; lines, arrays, pretty-printed) never panic and always end, whatever the bytes.
//! The first byte picks the flavor.
#![no_main]

use dcomhunt::ingest::{self, jsonl};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let flavor = match sel % 3 {
        0 => jsonl::Flavor::EvtxDump,
        1 => jsonl::Flavor::Nxlog,
        _ => jsonl::Flavor::Winlogbeat,
    };
    let display: Arc<str> = Arc::from("fuzz.jsonl");
    let _ = ingest::sniff(rest);
    let (records, stats) = jsonl::read_from(rest, &display, flavor, &|_| true);
    assert!(records.len() as u64 <= stats.records_read);
});
