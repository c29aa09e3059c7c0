//! What the run reads and what it says it could not: paths kept as the OS gives them (bytes),
//! unreadable files and directories making the run incomplete, FIFOs and hidden files listed,
//! access times left alone, finding ids independent of how a path was spelled.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn bin() -> Command {
    Command::cargo_bin("dcomhunt").unwrap()
}

/// The bundled example's Sysmon log (holds the MMC finding on its own).
fn sysmon() -> PathBuf {
    common::testdata().join("example/FS01.corp.example/Microsoft-Windows-Sysmon%4Operational.evtx")
}

/// `scan -q ARGS -o OUT`: exit code, stderr and the manifest.
fn scan(args: &[&Path], out: &Path) -> (i32, String, Value) {
    let o = bin()
        .arg("scan")
        .args(args)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let m = std::fs::read(out.join("manifest.json"))
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(Value::Null);
    (code, err, m)
}

fn skipped_of_kind<'a>(m: &'a Value, kind: &str) -> Vec<&'a Value> {
    m["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == kind)
        .collect()
}

#[cfg(unix)]
#[test]
fn names_differing_only_in_non_utf8_bytes_stay_two_files() {
    use std::os::unix::ffi::OsStrExt;
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a");
    std::fs::create_dir(&a).unwrap();
    let fe = a.join(std::ffi::OsStr::from_bytes(b"\xfe.evtx"));
    let ff = a.join(std::ffi::OsStr::from_bytes(b"\xff.evtx"));
    std::fs::copy(sysmon(), &fe).unwrap();
    std::fs::copy(sysmon(), &ff).unwrap();
    for (n, args) in [vec![a.as_path()], vec![fe.as_path(), ff.as_path()]]
        .into_iter()
        .enumerate()
    {
        let out = d.path().join(format!("out{n}"));
        let (code, err, m) = scan(&args, &out);
        assert_eq!(code, 3, "{err}");
        assert!(err.contains("read 2 file(s)"), "{err}");
        let inputs = m["inputs"].as_array().unwrap();
        assert_eq!(inputs.len(), 2);
        let paths: Vec<&str> = inputs.iter().map(|i| i["path"].as_str().unwrap()).collect();
        assert!(paths[0].ends_with("a/\\xfe.evtx"), "{paths:?}");
        assert!(paths[1].ends_with("a/\\xff.evtx"), "{paths:?}");
        // The lossless form: the path's bytes.
        let hex = inputs[0]["path_hex"].as_str().unwrap();
        assert_eq!(
            hex::decode(hex).unwrap(),
            fe.as_os_str().as_bytes(),
            "path_hex holds the bytes"
        );
        assert!(
            inputs[1]["path_hex"]
                .as_str()
                .unwrap()
                .ends_with("ff2e65767478")
        );
        // The terminal shows them escaped, never as U+FFFD.
        assert!(!err.contains('\u{fffd}'), "{err}");
    }
}

#[cfg(unix)]
#[test]
fn fifos_and_hidden_files_are_reported_not_dropped() {
    let d = tempfile::tempdir().unwrap();
    let ev = d.path().join("ev");
    std::fs::create_dir_all(ev.join(".snap")).unwrap();
    std::fs::copy(sysmon(), ev.join(".snap/Sysmon.evtx")).unwrap();
    std::fs::write(ev.join("notes.txt"), "not a log").unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(ev.join("pipe"))
        .status()
        .unwrap();
    assert!(st.success());
    let (code, err, m) = scan(&[&ev], &d.path().join("out"));
    // A FIFO is no evidence: listed, the run stays complete.
    assert_eq!(code, 3, "{err}");
    let fifo = skipped_of_kind(&m, "not_regular_file");
    assert_eq!(fifo.len(), 1);
    assert!(fifo[0]["path"].as_str().unwrap().ends_with("ev/pipe"));
    assert_eq!(fifo[0]["unread"], false);
    assert_eq!(skipped_of_kind(&m, "not_event_log").len(), 1);
    assert_eq!(m["inputs"][0]["hidden"], true);
    assert!(
        m["inputs"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with(".snap/Sysmon.evtx")
    );
    assert_eq!(m["totals"]["complete"], true);
    assert!(err.contains("ev/pipe: not a regular file"), "{err}");
}

/// A directory the run cannot list: `chmod 000` where that stops this process, else (as root)
/// a directory whose path is longer than the system allows (`ENAMETOOLONG`).
#[cfg(unix)]
fn unreadable_dir(parent: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let locked = parent.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::copy(sysmon(), locked.join("x.evtx")).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read_dir(&locked).is_err() {
        return locked;
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    eprintln!("running as root: chmod 000 does not stop reading; using a path beyond PATH_MAX");
    // Created one level at a time from an open directory: no path is ever that long here.
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{Mode, OFlags, mkdirat, openat};
        let name = "d".repeat(250);
        let mut dir = openat(rustix::fs::CWD, &locked, OFlags::DIRECTORY, Mode::empty()).unwrap();
        for _ in 0..18 {
            mkdirat(&dir, name.as_str(), Mode::from_raw_mode(0o755)).unwrap();
            dir = openat(&dir, name.as_str(), OFlags::DIRECTORY, Mode::empty()).unwrap();
        }
    }
    locked
}

#[cfg(unix)]
#[test]
fn an_unreadable_directory_is_reported_and_the_rest_is_read() {
    let d = tempfile::tempdir().unwrap();
    let ev = d.path().join("ev");
    std::fs::create_dir(&ev).unwrap();
    std::fs::copy(sysmon(), ev.join("Sysmon.evtx")).unwrap();
    let locked = unreadable_dir(&ev);
    let (code, err, m) = scan(&[&ev], &d.path().join("out"));
    // Findings, and evidence left unread: 5.
    assert_eq!(code, 5, "{err}");
    let dirs = skipped_of_kind(&m, "unreadable_directory");
    assert_eq!(dirs.len(), 1, "{:?}", m["skipped"]);
    assert_eq!(dirs[0]["unread"], true);
    assert_eq!(m["totals"]["complete"], false);
    assert_eq!(m["totals"]["unread"], 1);
    assert!(m["findings"].is_null());
    // The example's two findings (the MMC sequence and the network-only MMC rule).
    assert_eq!(m["totals"]["findings"], 2);
    assert!(err.contains("INPUT INCOMPLETE"), "{err}");
    assert!(err.contains("NOT READ"), "{err}");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[test]
fn files_that_cannot_be_read_make_the_run_incomplete() {
    let d = tempfile::tempdir().unwrap();
    let ev = d.path().join("ev");
    std::fs::create_dir(&ev).unwrap();
    std::fs::copy(sysmon(), ev.join("Sysmon.evtx")).unwrap();
    // Unreadable even for root: a symbolic link to itself (ELOOP).
    std::os::unix::fs::symlink("Security.evtx", ev.join("Security.evtx")).unwrap();
    // Named like an event log but not one.
    std::fs::write(ev.join("System.evtx"), "this is not an event log").unwrap();
    // A broken link is listed, but holds nothing to read.
    std::os::unix::fs::symlink("missing.evtx", ev.join("gone.evtx")).unwrap();
    let (code, err, m) = scan(&[&ev], &d.path().join("out"));
    assert_eq!(code, 5, "{err}");
    let unreadable = skipped_of_kind(&m, "unreadable_file");
    assert_eq!(unreadable.len(), 1, "{:?}", m["skipped"]);
    assert!(
        unreadable[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("Security.evtx")
    );
    let named = skipped_of_kind(&m, "unrecognized_event_log");
    assert_eq!(named.len(), 1);
    assert!(named[0]["path"].as_str().unwrap().ends_with("System.evtx"));
    assert_eq!(skipped_of_kind(&m, "broken_link")[0]["unread"], false);
    assert_eq!(m["totals"]["unread"], 2);
    assert_eq!(m["totals"]["complete"], false);

    // Without read permission (where that stops this process).
    use std::os::unix::fs::PermissionsExt;
    let ev2 = d.path().join("ev2");
    std::fs::create_dir(&ev2).unwrap();
    std::fs::copy(sysmon(), ev2.join("a.evtx")).unwrap();
    std::fs::copy(sysmon(), ev2.join("b.evtx")).unwrap();
    std::fs::set_permissions(ev2.join("b.evtx"), std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(ev2.join("b.evtx")).is_ok() {
        eprintln!("SKIPPED the chmod 000 part: running as root, which reads it anyway");
        return;
    }
    let (code, err, m) = scan(&[&ev2], &d.path().join("out2"));
    assert_eq!(code, 5, "{err}");
    assert_eq!(skipped_of_kind(&m, "unreadable_file").len(), 1);
}

#[test]
fn finding_ids_do_not_depend_on_how_a_path_was_spelled() {
    let abs = common::testdata().join("example");
    let id = |dir: &Path, arg: &str| -> String {
        let o = bin()
            .current_dir(dir)
            .args(["scan", "-q", "--format", "jsonl", arg])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(3));
        // Every finding's id, in order.
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                v["finding_id"].as_str().unwrap().to_string()
            })
            .collect::<Vec<_>>()
            .join(";")
    };
    let a = id(&common::testdata(), "example");
    let b = id(Path::new("/"), abs.to_str().unwrap());
    let c = id(&abs, ".");
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[cfg(target_os = "linux")]
#[test]
fn reading_leaves_access_times_alone() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("Sysmon.evtx");
    std::fs::copy(sysmon(), &f).unwrap();
    // An access time older than a day: `relatime` mounts update it on the next plain read.
    let st = std::process::Command::new("touch")
        .args(["-d", "2020-01-02T03:04:05Z"])
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success());
    let before = std::fs::metadata(&f).unwrap().accessed().unwrap();
    let (code, err, _) = scan(&[&f], &d.path().join("out"));
    assert_eq!(code, 3, "{err}");
    let after = std::fs::metadata(&f).unwrap().accessed().unwrap();
    assert_eq!(before, after, "the input's access time changed");
}
