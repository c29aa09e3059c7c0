//! CLI misuse: each mistake is one line on stderr, `dcomhunt: …` naming the problem, with exit
//! code 2 (usage) or 1 (error); never a panic or backtrace.

mod common;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixture() -> PathBuf {
    common::testdata().join("mmc_sysmon_recent")
}

/// Run with `args`, assert the exit code and a single `dcomhunt: …` stderr line containing
/// `needle`; returns the line.
fn misuse(args: &[&std::ffi::OsStr], code: i32, needle: &str) -> String {
    let run = Command::cargo_bin("dcomhunt")
        .unwrap()
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: not one line: {stderr}");
    assert!(lines[0].starts_with("dcomhunt: "), "{stderr}");
    assert!(
        lines[0].contains(needle),
        "{args:?}: {stderr} lacks {needle:?}"
    );
    lines[0].to_owned()
}

fn os<'a>(v: &'a [&'a str]) -> Vec<&'a std::ffi::OsStr> {
    v.iter().map(|s| std::ffi::OsStr::new(*s)).collect()
}

fn p(path: &Path) -> &std::ffi::OsStr {
    path.as_os_str()
}

#[test]
fn missing_paths_are_errors() {
    for cmd in ["scan", "events", "tree", "timeline"] {
        misuse(
            &os(&[cmd, "/nonexistent/dcomhunt/x.evtx"]),
            1,
            "/nonexistent/dcomhunt/x.evtx",
        );
    }
}

#[test]
fn empty_directory_and_directory_without_logs_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let empty = d.path().join("empty");
    let nolog = d.path().join("nolog");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::create_dir_all(&nolog).unwrap();
    std::fs::write(nolog.join("notes.evtx"), b"not an event log").unwrap();
    std::fs::write(nolog.join("readme.txt"), b"hello").unwrap();
    for dir in [&empty, &nolog] {
        misuse(
            &[std::ffi::OsStr::new("scan"), p(dir)],
            1,
            "no event logs found",
        );
    }
}

#[test]
fn bad_output_directories() {
    let d = tempfile::tempdir().unwrap();
    let fix = fixture();
    let scan = std::ffi::OsStr::new("scan");
    let o = std::ffi::OsStr::new("-o");
    // Inside an input directory: usage.
    let copy = d.path().join("in");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(&fix).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            let to = copy.join(e.file_name());
            std::fs::create_dir_all(&to).unwrap();
            for f in std::fs::read_dir(e.path()).unwrap() {
                let f = f.unwrap();
                std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            }
        }
    }
    misuse(
        &[scan, p(&copy), o, p(&copy.join("reports"))],
        2,
        "inside the input directory",
    );
    // A file where a directory is expected: usage.
    let file = d.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    misuse(&[scan, p(&fix), o, p(&file)], 2, "not a directory");
    // Not creatable (root ignores permissions, so use /proc and a path under a file).
    misuse(
        &[scan, p(&fix), o, p(Path::new("/proc/dcomhunt-out"))],
        1,
        "/proc/dcomhunt-out",
    );
    misuse(&[scan, p(&fix), o, p(&file.join("sub"))], 1, "sub");
    // Non-empty without --force: usage.
    let full = d.path().join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("keep.txt"), b"x").unwrap();
    misuse(&[scan, p(&fix), o, p(&full)], 2, "full");
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);
}

#[test]
fn invalid_times_zones_rules_and_threads_are_usage_errors() {
    let fix = fixture();
    let f = fix.to_str().unwrap();
    misuse(&os(&["scan", f, "--from", "nonsense"]), 2, "--from");
    misuse(&os(&["scan", f, "--to", "2019-13-45"]), 2, "--to");
    misuse(&os(&["timeline", f, "--from", "yesterday"]), 2, "--from");
    misuse(
        &os(&[
            "scan",
            f,
            "--from",
            "2020-01-02T00:00:00Z",
            "--to",
            "2020-01-01T00:00:00Z",
        ]),
        2,
        "--from is later than --to",
    );
    misuse(&os(&["scan", f, "--tz", "Mars/Olympus"]), 2, "--tz");
    misuse(&os(&["timeline", f, "--tz", "+99:99"]), 2, "--tz");
    misuse(&os(&["scan", f, "--rule", "no-such-id"]), 2, "no-such-id");
    misuse(
        &os(&["scan", f, "--rule", "../../etc/passwd"]),
        2,
        "../../etc/passwd",
    );
    misuse(&os(&["--threads", "0", "scan", f]), 2, "--threads");
}

#[test]
fn missing_rules_directory_is_an_error() {
    let f = fixture();
    let line = misuse(
        &os(&["scan", f.to_str().unwrap(), "--rules", "/nonexistent/rules"]),
        1,
        "/nonexistent/rules",
    );
    // The OS error is named once, not once by the error and again as its source.
    assert_eq!(line.matches("(os error 2)").count(), 1, "{line}");
}

/// A FIFO named like an event log is not opened (opening a FIFO without a writer would block
/// forever): it is skipped as "not a regular file", and with nothing else to read the run fails.
#[cfg(unix)]
#[test]
fn fifo_input_is_refused_not_waited_on() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("pipe.evtx");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: mkfifo unavailable");
        return;
    }
    misuse(&[std::ffi::OsStr::new("scan"), p(&fifo)], 1, "pipe.evtx");
}
