//! `--host` as a usage error when it names no host (every command), the filters of `events`,
//! the report set swapped in whole, values kept as recorded and control characters escaped in
//! every JSON output.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn bin() -> Command {
    Command::cargo_bin("dcomhunt").unwrap()
}

fn example() -> String {
    common::testdata()
        .join("example")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_host_matching_nothing_is_a_usage_error_in_every_command() {
    for cmd in ["scan", "timeline", "events", "tree"] {
        let o = bin()
            .args([cmd, "-q", "--host", "FS02", &example()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains("no host named \"FS02\" in the input (hosts: FS01.corp.example)"),
            "{cmd}: {err}"
        );
        assert!(o.stdout.is_empty(), "{cmd} printed a result");
    }
}

#[test]
fn a_short_name_or_another_case_selects_the_host() {
    for host in ["FS01", "fs01.CORP.example"] {
        let o = bin()
            .args([
                "scan",
                "-q",
                "--format",
                "jsonl",
                "--host",
                host,
                &example(),
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(3), "--host {host}");
        // The example's findings, one JSON line each.
        for line in String::from_utf8(o.stdout).unwrap().lines() {
            let f: Value = serde_json::from_str(line).unwrap();
            assert_eq!(f["host"], "FS01.corp.example");
        }
    }
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    bin()
        .args(["scan", "-q", "--host", "fs01", &example(), "-o"])
        .arg(&out)
        .assert()
        .code(3);
    let m: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["options"]["host"], "fs01");
    assert_eq!(m["options"]["host_matches"][0], "FS01.corp.example");
}

#[test]
fn events_takes_host_time_and_zone() {
    let all = bin()
        .args(["events", "-q", "--format", "jsonl", &example()])
        .output()
        .unwrap();
    let all = String::from_utf8(all.stdout).unwrap().lines().count();
    let o = bin()
        .args([
            "events",
            "-q",
            "--format",
            "jsonl",
            "--host",
            "FS01",
            "--from",
            "2026-03-10T14:00:01Z",
            "--to",
            "2026-03-10T14:00:01.6Z",
            &example(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let lines: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(all > 100);
    // Sysmon 3 + Security 5156 of the connection, Sysmon 1 + 4688 of the first cmd.exe after it.
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|e| e["host"] == "FS01.corp.example"));
    let table = bin()
        .args([
            "events",
            "-q",
            "--tz",
            "+02:00",
            "--from",
            "2026-03-10T14:00:01.3Z",
            "--to",
            "2026-03-10T14:00:01.4Z",
            &example(),
        ])
        .output()
        .unwrap();
    let t = String::from_utf8(table.stdout).unwrap();
    assert!(t.contains("2026-03-10T16:00:01.3125000+02:00"), "{t}");
    assert!(!t.contains("14:00:01.3125000Z"), "{t}");
    bin()
        .args(["events", "-q", "--tz", "Mars/Olympus", &example()])
        .assert()
        .code(2);
}

fn files(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_failed_forced_run_leaves_the_old_report_set_untouched() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    bin()
        .args(["scan", "-q", &example(), "--timesketch", "-o"])
        .arg(&out)
        .assert()
        .code(3);
    let before: Vec<(String, Vec<u8>)> = files(&out)
        .into_iter()
        .map(|n| (n.clone(), std::fs::read(out.join(&n)).unwrap()))
        .collect();
    // Something of the examiner's in the way of one report file: the run fails at the end.
    std::fs::create_dir(out.join("timeline.jsonl")).unwrap();
    std::fs::write(out.join("timeline.jsonl/keep.txt"), "mine").unwrap();
    let o = bin()
        .args([
            "scan",
            "-q",
            &example(),
            "--report-format",
            "both",
            "--force",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (n, bytes) in &before {
        assert_eq!(&std::fs::read(out.join(n)).unwrap(), bytes, "{n} changed");
    }
    assert_eq!(files(&out).len(), before.len() + 1);
    assert_eq!(
        files(d.path()),
        ["out"],
        "a temporary directory outlived the run"
    );

    // Without the obstacle: the new set, whole, the examiner's other files kept.
    std::fs::remove_dir_all(out.join("timeline.jsonl")).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    bin()
        .args([
            "scan",
            "-q",
            &example(),
            "--report-format",
            "both",
            "--force",
            "-o",
        ])
        .arg(&out)
        .assert()
        .code(3);
    assert_eq!(
        files(&out),
        [
            "evidence.csv",
            "evidence.jsonl",
            "findings.csv",
            "findings.jsonl",
            "manifest.json",
            "notes.txt",
            "report.html",
            "timeline.csv",
            "timeline.jsonl"
        ]
    );
    assert_eq!(files(d.path()), ["out"]);
}

#[test]
fn the_current_directory_is_written_in_place_with_a_note() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("notes.txt"), "mine").unwrap();
    let o = bin()
        .current_dir(d.path())
        .args(["scan", "-q", &example(), "--force", "-o", "."])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not swapped in as one set"), "{err}");
    assert!(err.contains("current directory"), "{err}");
    // Still the directory the shell stands in.
    assert_eq!(
        files(d.path()),
        [
            "evidence.csv",
            "findings.csv",
            "manifest.json",
            "notes.txt",
            "report.html",
            "timeline.csv"
        ]
    );
    consistent(d.path()).unwrap_or_else(|e| {
        if !e.starts_with("notes.txt") {
            panic!("{e}")
        }
    });
}

/// Every file the manifest lists is there with its hash, and no other report file is.
fn consistent(out: &Path) -> Result<(), String> {
    use sha2::{Digest, Sha256};
    let m: Value = serde_json::from_slice(
        &std::fs::read(out.join("manifest.json")).map_err(|e| format!("no manifest: {e}"))?,
    )
    .map_err(|e| e.to_string())?;
    let listed: Vec<String> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let name = o["file"].as_str().unwrap().to_string();
            let bytes = std::fs::read(out.join(&name)).unwrap_or_default();
            assert_eq!(
                hex::encode(Sha256::digest(&bytes)),
                o["sha256"].as_str().unwrap(),
                "{name} is not the file the manifest describes"
            );
            name
        })
        .collect();
    for f in files(out) {
        if f != "manifest.json" && !listed.contains(&f) {
            return Err(format!("{f} is not in the manifest ({listed:?})"));
        }
    }
    Ok(())
}

#[cfg(unix)]
#[test]
fn a_killed_forced_run_leaves_one_whole_set_and_the_next_run_cleans_up() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    bin()
        .args(["scan", "-q", &example(), "--timesketch", "-o"])
        .arg(&out)
        .assert()
        .code(3);
    for k in 0..12u64 {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dcomhunt"))
            .args([
                "scan",
                "-q",
                &example(),
                "--report-format",
                "both",
                "--force",
                "-o",
            ])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(k * 30));
        let _ = child.kill();
        let _ = child.wait();
        consistent(&out).unwrap_or_else(|e| panic!("killed after {} ms: {e}", k * 30));
    }
    let o = bin()
        .args(["scan", &example(), "--force", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    consistent(&out).unwrap();
    assert_eq!(
        files(d.path()),
        ["out"],
        "leftovers of killed runs are removed"
    );
}

/// A Sysmon process start whose parent Sysmon did not know (`ParentImage` `?`), with control
/// and bidi characters in its command line.
const XML: &str = "<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID><TimeCreated SystemTime='2019-05-14T01:29:04.3068859Z'/><EventRecordID>7</EventRecordID><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WS1</Computer></System><EventData><Data Name='ProcessGuid'>{365ABB72-1A20-5CDA-0000-0010E6FC2E00}</Data><Data Name='ProcessId'>3364</Data><Data Name='Image'>C:\\x\\evil.exe</Data><Data Name='CommandLine'>evil \u{9b}2J \u{202e}fdp.exe\u{2028}x</Data><Data Name='ParentProcessGuid'>{00000000-0000-0000-0000-000000000000}</Data><Data Name='ParentProcessId'>624</Data><Data Name='ParentImage'>?</Data></EventData></Event></Events>";

#[test]
fn values_kept_as_recorded_and_escaped_in_every_json_output() {
    let d = tempfile::tempdir().unwrap();
    let ev = d.path().join("ev");
    std::fs::create_dir(&ev).unwrap();
    std::fs::write(ev.join("export.xml"), XML).unwrap();
    let out = d.path().join("out");
    bin()
        .args(["scan", "-q", "--report-format", "both", "-o"])
        .arg(&out)
        .arg(&ev)
        .assert()
        .code(0);
    let mut rd = csv::Reader::from_path(out.join("timeline.csv")).unwrap();
    let head = rd.headers().unwrap().clone();
    let row = rd.records().next().unwrap().unwrap();
    let col = |n: &str| {
        row.get(head.iter().position(|h| h == n).unwrap())
            .unwrap()
            .to_string()
    };
    assert_eq!(col("parent_pid"), "624");
    assert_eq!(col("parent_image"), "");
    // CSV: the value exactly as recorded.
    assert_eq!(
        col("command_line"),
        "evil \u{9b}2J \u{202e}fdp.exe\u{2028}x"
    );
    let raw = ['\u{9b}', '\u{202e}', '\u{2028}'];
    let jsonl = std::fs::read_to_string(out.join("timeline.jsonl")).unwrap();
    assert!(
        !jsonl.contains(raw),
        "raw control characters in timeline.jsonl"
    );
    assert!(
        jsonl.contains("evil \\u009b2J \\u202efdp.exe\\u2028x"),
        "{jsonl}"
    );
    let v: Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(v["command_line"], "evil \u{9b}2J \u{202e}fdp.exe\u{2028}x");
    assert_eq!(v["parent_pid"], 624);
    for args in [
        vec!["tree", "--format", "json"],
        vec!["events", "--format", "jsonl"],
    ] {
        let o = bin().args(&args).arg("-q").arg(&ev).output().unwrap();
        let s = String::from_utf8(o.stdout).unwrap();
        assert!(s.contains("\\u202e"), "{args:?}: {s}");
        assert!(!s.contains(raw), "{args:?}: raw control characters");
    }
    let o = bin().args(["events", "-q"]).arg(&ev).output().unwrap();
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(!s.contains(raw) && s.contains("\\u{202e}"), "{s}");
}

#[cfg(unix)]
#[test]
fn a_file_name_with_control_characters_is_escaped_in_the_manifest() {
    use std::os::unix::ffi::OsStrExt;
    let d = tempfile::tempdir().unwrap();
    let ev = d.path().join("ev");
    std::fs::create_dir(&ev).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"a\x1b[2J\xe2\x80\xae.xml");
    std::fs::write(ev.join(name), XML).unwrap();
    let out = d.path().join("out");
    let o = bin()
        .arg("scan")
        .arg(&ev)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(!err.contains('\x1b'), "{err}");
    let text = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(!text.contains(['\x1b', '\u{202e}']));
    let m: Value = serde_json::from_str(&text).unwrap();
    let p = m["inputs"][0]["path"].as_str().unwrap();
    assert!(p.ends_with("ev/a\\x1b[2J\\u{202e}.xml"), "{p}");
    assert_eq!(
        hex::decode(m["inputs"][0]["path_hex"].as_str().unwrap()).unwrap(),
        ev.join(name).as_os_str().as_bytes()
    );
}
