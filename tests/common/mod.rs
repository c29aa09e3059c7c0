#![allow(dead_code)]
//! Shared helpers for integration tests.

use std::path::PathBuf;

/// `../shared/corpus` beside the crate, or `None` (and a message) when it is absent.
pub fn corpus(test: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if p.join("MANIFEST.tsv").is_file() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED {test}: ../shared/corpus is absent (clone it beside the crate to run this test)"
        );
        None
    }
}

pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}
