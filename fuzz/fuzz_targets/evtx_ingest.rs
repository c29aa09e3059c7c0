//! `cargo +nightly fuzz run evtx_ingest`: the EVTX reader never panics on mutated files.
//!
//! `dcomhunt::ingest::evtx::read` takes a path, so each input is written to a per-process temp
//! file first. Whatever the bytes, the reader returns records and damage (or an I/O error).
#![no_main]

use dcomhunt::ingest::{self, Format};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("dcomhunt-fuzz-evtx-{}.evtx", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    if std::fs::write(path, data).is_err() {
        return;
    }
    let display: Arc<str> = Arc::from("fuzz.evtx");
    // The sniffer and the reader both see the bytes, as `scan` does.
    let _ = ingest::sniff(data);
    if let Ok((records, stats)) = ingest::read(path, &display, Format::Evtx) {
        assert!(records.len() as u64 <= stats.records_read);
    }
});
