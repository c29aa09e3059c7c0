//! A folder laid out like a KAPE triage collection: hundreds of files that are not event logs
//! are counted by kind in one line (listed with --list-skipped), the standard log folder is
//! named, and damage and incomplete evidence stay on stderr even with -q.

mod common;

use assert_cmd::Command;
use std::path::Path;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("dcomhunt")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `root/C/Windows/System32/winevt/Logs` with the example's logs (Security.evtx cut short),
/// a zeroed `Broken.evtx` there, and 502 other artefacts elsewhere.
fn kape(root: &Path) {
    let logs = root.join("C/Windows/System32/winevt/Logs");
    std::fs::create_dir_all(&logs).unwrap();
    let ex = common::testdata().join("example/FS01.corp.example");
    for e in std::fs::read_dir(&ex).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_owned();
        let mut bytes = std::fs::read(&p).unwrap();
        if name == "Security.evtx" {
            // Truncated: the header announces more chunks than the file holds.
            bytes.truncate(4096 + 65536 / 2);
        }
        std::fs::write(logs.join(name), bytes).unwrap();
    }
    std::fs::write(logs.join("Broken.evtx"), vec![0u8; 4096]).unwrap();
    let pf = root.join("C/Windows/Prefetch");
    let lnk = root.join("C/Users/x/AppData/Roaming/Microsoft/Windows/Recent");
    let reg = root.join("C/Windows/System32/config");
    for d in [&pf, &lnk, &reg] {
        std::fs::create_dir_all(d).unwrap();
    }
    for k in 0..300 {
        std::fs::write(pf.join(format!("APP{k}.EXE-0000{k:04}.pf")), b"MAM\x04data").unwrap();
    }
    for k in 0..200 {
        std::fs::write(lnk.join(format!("doc{k}.lnk")), b"L\0\0\0link").unwrap();
    }
    std::fs::write(reg.join("SYSTEM"), b"regfhive").unwrap();
    std::fs::write(reg.join("SOFTWARE"), b"regfhive").unwrap();
}

#[test]
fn a_triage_folder_is_summarized_and_damage_stays_prominent() {
    let d = tempfile::tempdir().unwrap();
    kape(d.path());
    let root = d.path().to_str().unwrap();
    let (code, err) = run(&["scan", root]);
    assert_eq!(code, 5, "findings and incomplete input:\n{err}");
    assert!(
        err.contains(
            "skipped 502 file(s) that are not event logs: 300 .pf, 200 .lnk, 2 (no extension) (--list-skipped lists them)"
        ),
        "{err}"
    );
    // Not one line per artefact: a handful of lines in all.
    assert_eq!(
        err.lines().filter(|l| l.contains(".pf")).count(),
        1,
        "{err}"
    );
    assert!(err.lines().count() < 30, "{err}");
    assert!(
        err.contains(&format!(
            "event logs: 3 file(s) in {root}/C/Windows/System32/winevt/Logs (a copy of a system's log folder)"
        )),
        "{err}"
    );
    // A file named .evtx in the log folder that is no event log is named, as is the damage.
    assert!(
        err.lines()
            .any(|l| l.starts_with("NOT READ ") && l.contains("winevt/Logs/Broken.evtx: ")),
        "{err}"
    );
    assert!(err.contains("Security.evtx: TRUNCATED"), "{err}");
    assert!(err.contains("INPUT INCOMPLETE: 1 file(s)"), "{err}");

    // -q drops the overview and the counts, never the damage.
    let (code, quiet) = run(&["-q", "scan", root]);
    assert_eq!(code, 5);
    assert!(
        !quiet.lines().any(|l| l.starts_with("read ")) && !quiet.contains("502"),
        "{quiet}"
    );
    assert!(quiet.contains("Security.evtx: TRUNCATED"), "{quiet}");
    assert!(
        quiet
            .lines()
            .any(|l| l.starts_with("NOT READ ") && l.contains("Broken.evtx")),
        "{quiet}"
    );
    assert!(quiet.contains("INPUT INCOMPLETE"), "{quiet}");

    // --list-skipped names every one.
    let (_, listed) = run(&["-q", "events", "--list-skipped", root]);
    let names = listed
        .lines()
        .filter(|l| {
            l.starts_with("skipped ")
                && l.ends_with("not an event log (no EVTX signature, XML or JSON event export)")
        })
        .count();
    // The 502 non-log files; Broken.evtx, named like a log, is listed as not read instead.
    assert_eq!(names, 502, "{listed}");
}
