//! The SHA-256 and size `load` takes while parsing (each file read once, hashed as the parser
//! reads it, whatever it skipped hashed afterwards) equal a plain read of the whole file, for
//! multi-chunk files, damaged ones and logs that wrapped around (the parser starts at the
//! oldest chunk, not the first).

mod common;

use dcomhunt::discover::discover;
use dcomhunt::pipeline::load;
use dcomhunt::writer::scale::{ScaleOptions, generate};
use std::path::PathBuf;

fn same_hashes(dir: PathBuf) -> usize {
    let hashed = discover(std::slice::from_ref(&dir)).unwrap();
    let loaded = load(&[dir]).unwrap();
    assert_eq!(loaded.inputs.len(), hashed.inputs.len());
    for (a, b) in loaded.inputs.iter().zip(&hashed.inputs) {
        assert_eq!(a.input.display, b.display);
        assert_eq!(
            (a.input.size, &a.input.sha256),
            (b.size, &b.sha256),
            "{}",
            b.display
        );
        assert_eq!(b.sha256.len(), 64);
    }
    loaded.inputs.len()
}

#[test]
fn testdata_files_hash_as_a_plain_read() {
    assert!(same_hashes(common::testdata()) > 0);
}

#[test]
fn multi_chunk_files_hash_as_a_plain_read() {
    let d = tempfile::tempdir().unwrap();
    generate(
        &ScaleOptions {
            hosts: 2,
            events: 4_000,
            attacks: 1,
            seed: 11,
        },
        d.path(),
    )
    .unwrap();
    assert!(same_hashes(d.path().to_path_buf()) >= 2);
}

#[test]
fn corpus_files_hash_as_a_plain_read() {
    let Some(c) = common::corpus("corpus_files_hash_as_a_plain_read") else {
        return;
    };
    assert!(same_hashes(c) > 300);
}
