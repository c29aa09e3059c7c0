//! The binary as a user runs it: events, tree, rules, timeline, dev, exit codes.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;

fn bin() -> Command {
    Command::cargo_bin("dcomhunt").unwrap()
}

fn td(p: &str) -> String {
    common::testdata().join(p).to_string_lossy().into_owned()
}

#[test]
fn scan_of_the_bundled_example_finds_the_mmc_attack() {
    bin()
        .args(["scan", &td("example")])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "Incoming DCOM Lateral Movement with MMC (any client port)",
        ))
        .stdout(predicate::str::contains("10.0.2.19:33474"))
        .stdout(predicate::str::contains("whoami  /all"))
        .stderr(predicate::str::contains("read 3 file(s)"));
}

#[test]
fn events_jsonl_has_the_documented_keys() {
    let out = bin()
        .args(["events", "--format", "jsonl", "-q", &td("mmc_sysmon_2019")])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 5);
    for k in [
        "host",
        "time",
        "channel",
        "provider",
        "event_id",
        "record_id",
        "file",
        "chunk",
        "kind",
    ] {
        assert!(lines.iter().all(|l| l.get(k).is_some()), "key {k}");
    }
    let net = lines
        .iter()
        .find(|l| l["kind"] == "network" && l["direction"] == "ingress")
        .expect("an inbound connection");
    for k in [
        "transport",
        "local_ip",
        "local_port",
        "remote_ip",
        "remote_port",
        "source_ip",
        "source_port",
        "destination_ip",
        "destination_port",
        "local_side",
    ] {
        assert!(net.get(k).is_some(), "network key {k}");
    }
    // 2019-era Sysmon: local side in Source*, decided by SourceHostname.
    assert_eq!(net["local_side"], "hostname");
    assert_eq!(net["destination_ip"], net["local_ip"]);
    let t = net["time"].as_str().unwrap();
    assert!(t.ends_with('Z') && t.len() == 28, "{t}");
    let p = lines.iter().find(|l| l["kind"] == "process_start").unwrap();
    for k in [
        "entity_id",
        "pid",
        "image",
        "command_line",
        "parent_entity_id",
        "parent_pid",
        "parent_image",
        "parent_command_line",
        "user",
    ] {
        assert!(p.get(k).is_some(), "process key {k}");
    }
}

#[test]
fn events_output_is_the_same_for_any_thread_count_and_path_order() {
    let a = bin()
        .args([
            "events",
            "--format",
            "jsonl",
            "-q",
            "--threads",
            "1",
            &td("mmc_security"),
            &td("mshta_sysmon_recent"),
        ])
        .output()
        .unwrap();
    let b = bin()
        .args([
            "events",
            "--format",
            "jsonl",
            "-q",
            "--threads",
            "2",
            &td("mshta_sysmon_recent"),
            &td("mmc_security"),
        ])
        .output()
        .unwrap();
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn tree_focus_depth_and_json() {
    let out = bin()
        .args(["tree", "-q", "--process", "mmc.exe", &td("example")])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let s = String::from_utf8(out).unwrap();
    assert!(s.contains("[3572] mmc.exe"), "{s}");
    assert!(s.contains("← 10.0.2.19:33474 → :49163 tcp"), "{s}");
    assert!(
        s.contains("svchost.exe  C:\\Windows\\system32\\svchost.exe -k DcomLaunch"),
        "ancestors shown: {s}"
    );
    assert!(!s.contains("chrome.exe"), "unrelated processes hidden: {s}");
    let shallow = bin()
        .args([
            "tree",
            "-q",
            "--process",
            "mmc.exe",
            "--depth",
            "0",
            &td("example"),
        ])
        .output()
        .unwrap();
    let shallow = String::from_utf8(shallow.stdout).unwrap();
    assert!(!shallow.contains("whoami"), "{shallow}");
    assert!(
        shallow.contains("child process(es) below --depth"),
        "{shallow}"
    );
    let js = bin()
        .args([
            "tree",
            "-q",
            "--format",
            "json",
            "--process",
            "3572",
            &td("example"),
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&js.stdout).unwrap();
    let procs = v[0]["processes"].as_array().unwrap();
    let mmc = procs.iter().find(|p| p["pid"] == 3572).unwrap();
    assert_eq!(mmc["connections"][0]["direction"], "ingress");
    assert_eq!(mmc["connections"][0]["remote_port"], 33474);
    assert_eq!(mmc["children"].as_array().unwrap().len(), 3);
    bin()
        .args(["tree", "-q", "--process", "nosuch.exe", &td("example")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no process matches"));
    bin()
        .args(["tree", "-q", "--host", "NOPE", &td("example")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no host named"));
}

#[test]
fn pid_reuse_resolves_each_5156_to_the_right_process() {
    let out = bin()
        .args(["tree", "-q", "--format", "json", &td("pid_reuse")])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let procs = v[0]["processes"].as_array().unwrap();
    // Every connection sits on a logged process whose image matches the 5156's Application.
    let mut n = 0;
    for p in procs {
        let conns = p["connections"].as_array().unwrap().len();
        if conns > 0 {
            n += conns;
            assert_eq!(
                p["origin"], "logged",
                "a 5156 fell back to a synthetic node: {p}"
            );
        }
    }
    assert!(n >= 2, "the scenario has connections");
    let pids: Vec<&serde_json::Value> = procs.iter().map(|p| &p["pid"]).collect();
    let reused = pids
        .iter()
        .filter(|p| pids.iter().filter(|q| q == p).count() > 1)
        .count();
    assert!(reused >= 2, "a PID is used by two processes");
}

#[test]
fn rules_list_and_check() {
    bin()
        .args(["rules", "list"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "51ce96fb-9e52-4dad-b0ba-99b54440fc9a",
        ))
        .stdout(predicate::str::contains(
            "d58035ff-0bac-4c61-a7f4-f58939ff9764",
        ));
    let rules = common::testdata().join("../rules");
    bin()
        .args(["rules", "check", "--rules", &rules.to_string_lossy()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ok ").count(7));
    let bad = common::testdata().join("../tests/data/eql_unsupported_function.toml");
    bin()
        .args(["rules", "check", &bad.to_string_lossy()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("ERROR"));
}

#[test]
fn timeline_marks_findings_and_filters() {
    let out = bin()
        .args(["timeline", "-q", &td("mshta_sysmon_recent")])
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let s = String::from_utf8(out).unwrap();
    assert_eq!(s.matches("◆").count(), 2, "{s}");
    bin()
        .args([
            "timeline",
            "-q",
            "--from",
            "2100-01-01",
            &td("mshta_sysmon_recent"),
        ])
        .assert()
        .stdout(predicate::str::contains("No events"));
    bin()
        .args([
            "timeline",
            "-q",
            "--from",
            "yesterday",
            &td("mshta_sysmon_recent"),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--from"));
    let tz = bin()
        .args([
            "timeline",
            "-q",
            "--tz",
            "+02:00",
            &td("mshta_sysmon_recent"),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8(tz.stdout).unwrap().contains("+02:00"));
}

#[test]
fn rule_filter_and_unknown_rule() {
    bin()
        .args([
            "scan",
            "-q",
            "--rule",
            "51ce96fb-9e52-4dad-b0ba-99b54440fc9a",
            &td("example"),
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No findings"));
    bin()
        .args(["scan", "-q", "--rule", "nope", &td("example")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such rule id"));
}

#[test]
fn dev_fixtures_are_current() {
    bin()
        .args([
            "dev",
            "fixtures",
            "--check",
            "--testdata",
            &common::testdata().to_string_lossy(),
        ])
        .assert()
        .code(0);
}

#[test]
fn scan_jsonl_finding_carries_evidence_subtree_and_connections() {
    let out = bin()
        .args(["scan", "-q", "--format", "jsonl", &td("example")])
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let s = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = s
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The MMC sequence and, on the same connection, the network-only MMC rule: one finding
    // for the connection, with both records that logged it (Sysmon 3 and 5156).
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["rule_id"], "138af9b6-9b5f-435d-88ad-8219db3b774a");
    let net: Vec<u64> = lines[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_u64().unwrap())
        .collect();
    assert_eq!(net.len(), 2, "{net:?}");
    assert!(net.contains(&3) && net.contains(&5156), "{net:?}");
    assert_eq!(lines[0]["gaps"], serde_json::json!([]));
    let f = &lines[1];
    for k in ["rule_id", "rule_name", "host", "first_time", "last_time"] {
        assert!(f.get(k).is_some(), "{k}");
    }
    assert_eq!(f["rule_id"], "8e3a2f1c-5b7d-4c2e-9a61-0d4f7b9c3e21");
    let ev = f["evidence"].as_array().unwrap();
    assert_eq!(ev.len(), 2);
    assert!(
        ev.iter()
            .all(|e| e["file"].as_str().unwrap().ends_with(".evtx")
                && e["record_id"].as_u64().unwrap() > 0)
    );
    let cmds: Vec<&str> = f["descendants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["command_line"].as_str().unwrap())
        .collect();
    assert_eq!(
        cmds.len(),
        4,
        "three cmd children and the whoami grandchild: {cmds:?}"
    );
    let c = &f["connections"][0];
    assert_eq!(
        (
            c["direction"].as_str(),
            c["remote_port"].as_u64(),
            c["local_port"].as_u64()
        ),
        (Some("ingress"), Some(33474), Some(49163))
    );
    assert_eq!(
        c["records"].as_array().unwrap().len(),
        2,
        "Sysmon 3 and 5156 of one connection: one edge"
    );
}

/// Events kept in a temporary file (`--spill-mib 0`: all of them) give the same events,
/// findings, terminal output and report files as events kept in memory; the summary says how
/// much was spilled, and only when something was.
#[test]
fn spilled_events_give_the_same_output() {
    let dir = td("");
    let run = |spill: &str, args: &[&str]| {
        let mut a = vec!["--spill-mib", spill];
        a.extend_from_slice(args);
        bin().args(&a).output().unwrap()
    };
    for args in [
        vec!["-q", "events", "--format", "jsonl", &dir],
        vec!["-q", "scan", "--format", "jsonl", &dir],
        vec!["-q", "scan", &dir],
        vec!["-q", "timeline", &dir],
        vec!["-q", "tree", "--format", "json", &dir],
    ] {
        let (mem, disk) = (run("100000", &args), run("0", &args));
        assert!(!mem.stdout.is_empty(), "{args:?}");
        assert_eq!(mem.status.code(), disk.status.code(), "{args:?}");
        assert_eq!(mem.stdout, disk.stdout, "{args:?}");
    }
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (spill, out) in [("100000", &a), ("0", &b)] {
        let o = run(spill, &["scan", &dir, "-o", &out.path().to_string_lossy()]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            stderr.contains("in a temporary file"),
            spill == "0",
            "{stderr}"
        );
    }
    for f in ["timeline.csv", "findings.csv", "evidence.csv"] {
        let x = std::fs::read(a.path().join(f)).unwrap();
        assert!(!x.is_empty());
        assert_eq!(x, std::fs::read(b.path().join(f)).unwrap(), "{f}");
    }
}
