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

fn compare(dir: &Path) -> (usize, u64, u64, u64) {
    let mut files = Vec::new();
    evtx_files(dir, &mut files);
    let (mut records, mut direct, mut json_direct_mode) = (0u64, 0u64, 0u64);
    for f in &files {
        let display: Arc<str> = Arc::from(f.display().to_string());
        let (a, sa, pa) = read_with(f, &display, Mode::Direct).unwrap();
        let (b, sb, pb) = read_with(f, &display, Mode::Json).unwrap();
        assert_eq!(pb.direct, 0);
        assert_eq!(sa, sb, "{}: stats differ", f.display());
        assert_eq!(a.len(), b.len(), "{}: record counts differ", f.display());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{}: record differs", f.display());
        }
        records += a.len() as u64;
        direct += pa.direct;
        json_direct_mode += pa.json;
    }
    (files.len(), records, direct, json_direct_mode)
}

fn report(what: &str, (files, records, direct, json): (usize, u64, u64, u64)) {
    let share = if direct + json == 0 {
        0.0
    } else {
        100.0 * json as f64 / (direct + json) as f64
    };
    eprintln!(
        "{what}: {files} EVTX files, {records} records kept, identical both ways; \
         {direct} read directly, {json} fell back to JSON ({share:.1} %)"
    );
}

#[test]
fn direct_path_equals_json_path_on_testdata() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let r = compare(&dir);
    assert!(r.0 > 0, "no EVTX under testdata/");
    report("testdata", r);
}

#[test]
fn direct_path_equals_json_path_on_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    report("corpus", compare(&dir));
}
