//! `cargo +nightly fuzz run evtx_paths`: on any bytes, reading EVTX directly (chunk walk and
//! template values, `Mode::Direct`) gives exactly what the JSON oracle gives (the evtx crate's
//! record iterator, every wanted record rendered and read back, `Mode::Json`): the same
//! records and the same read statistics, damage included. Inputs on which the crate renders
//! JSON it cannot read back are skipped (the oracle fails there, not the direct path).
#![no_main]

use dcomhunt::ingest::evtx::{Mode, read_with};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("dcomhunt-fuzz-paths-{}.evtx", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    if std::fs::write(path, data).is_err() {
        return;
    }
    let display: Arc<str> = Arc::from("fuzz.evtx");
    let direct = read_with(path, &display, Mode::Direct);
    let json = read_with(path, &display, Mode::Json);
    if let (Ok((a, sa, _)), Ok((b, sb, _))) = (direct, json) {
        // Where the crate renders a record to JSON it cannot parse back (raw control characters
        // in a string), the oracle has no answer for that record: nothing to compare.
        if sb
            .damage
            .iter()
            .any(|d| d.reason.contains("rendered JSON unreadable"))
        {
            return;
        }
        assert_eq!(sa, sb, "read statistics differ");
        assert_eq!(a, b, "records differ");
    }
});
