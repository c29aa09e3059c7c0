//! The direct EVTX path (template values, `ingest::template`) against the JSON path (the crate
//! renders each record and `json_event` reads it back): every record of every EVTX file under
//! `testdata/` and the shared corpus must read the same both ways, every field.

use dcomhunt::ingest::evtx::{Mode, read_with};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            evtx_files(&p, out);
        } else if std::fs::File::open(&p)
            .and_then(|mut f| {
                let mut head = [0u8; 8];
                std::io::Read::read_exact(&mut f, &mut head).map(|_| head)
            })
            .is_ok_and(|h| &h == b"ElfFile\0")
        {
            out.push(p);
        }
    }
}

/// Files, records kept, records read directly, records rendered to JSON in direct mode, and
/// chunks read by walking their records vs. with the crate's iterator.
struct Compared {
    files: usize,
    records: u64,
    direct: u64,
    json: u64,
    walked: u64,
    iterated: u64,
}

fn compare(dir: &Path) -> Compared {
    let mut files = Vec::new();
    evtx_files(dir, &mut files);
    let (mut records, mut direct, mut json_direct_mode) = (0u64, 0u64, 0u64);
    let (mut walked, mut iterated) = (0u64, 0u64);
    for f in &files {
        let display: Arc<str> = Arc::from(f.display().to_string());
        let (a, sa, pa) = read_with(f, &display, Mode::Direct).unwrap();
        let (b, sb, pb) = read_with(f, &display, Mode::Json).unwrap();
        assert_eq!(
            (pb.direct, pb.walked_chunks),
            (0, 0),
            "the JSON oracle never walks"
        );
        assert_eq!(sa, sb, "{}: stats differ", f.display());
        assert_eq!(a.len(), b.len(), "{}: record counts differ", f.display());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{}: record differs", f.display());
        }
        records += a.len() as u64;
        direct += pa.direct;
        json_direct_mode += pa.json;
        walked += pa.walked_chunks;
        iterated += pa.iterated_chunks;
    }
    Compared {
        files: files.len(),
        records,
        direct,
        json: json_direct_mode,
        walked,
        iterated,
    }
}

fn report(what: &str, c: &Compared) {
    let Compared {
        files,
        records,
        direct,
        json,
        walked,
        iterated,
    } = *c;
    let share = if direct + json == 0 {
        0.0
    } else {
        100.0 * json as f64 / (direct + json) as f64
    };
    eprintln!(
        "{what}: {files} EVTX files, {records} records kept, identical both ways; \
         {direct} read directly, {json} fell back to JSON ({share:.1} %); \
         {walked} chunks walked directly, {iterated} with the crate's iterator"
    );
}

#[test]
fn direct_path_equals_json_path_on_testdata() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let r = compare(&dir);
    assert!(r.files > 0, "no EVTX under testdata/");
    report("testdata", &r);
    // The project's own fixtures are clean: every chunk takes the direct walk.
    assert_eq!(r.iterated, 0);
    assert!(r.walked >= r.files as u64);
}

#[test]
fn direct_path_equals_json_path_on_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let r = compare(&dir);
    report("corpus", &r);
    // Real logs take both paths: most chunks are walked directly, and chunks with templates the
    // direct reader leaves to JSON, or with damage, go through the crate's iterator.
    assert!(r.walked > 0 && r.iterated > 0);
}
