//! Exported logs give the same findings as the `.evtx` they came from, and the NXLog sample
//! gives none (its process creations are the attacker's side).

mod common;

use dcomhunt::cli::scan::{Window, scan_paths};
use dcomhunt::detect::builtin_rules;
use evtx::{EvtxParser, ParserSettings};
use std::io::Write;
use std::path::{Path, PathBuf};

fn export(src: &Path, dst: &Path, xml: bool) {
    let mut p = EvtxParser::from_path(src)
        .unwrap()
        .with_configuration(ParserSettings::default().indent(false));
    let mut out = std::fs::File::create(dst).unwrap();
    if xml {
        writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Events>").unwrap();
    }
    let texts: Vec<String> = if xml {
        p.records()
            .map(|r| {
                r.unwrap()
                    .data
                    .replace("<?xml version=\"1.0\" encoding=\"utf-8\"?>", "")
            })
            .collect()
    } else {
        p.records_json().map(|r| r.unwrap().data).collect()
    };
    for text in texts {
        assert_eq!(text.trim().starts_with('{'), !xml);
        writeln!(out, "{}", text.trim()).unwrap();
    }
    if xml {
        writeln!(out, "</Events>").unwrap();
    }
}

/// (rule id, host, [(channel, record id)]) per finding.
type Summary = Vec<(String, String, Vec<(String, u64)>)>;

fn summary(paths: &[PathBuf]) -> Summary {
    let r = scan_paths(paths, builtin_rules().unwrap(), &Window::default()).unwrap();
    r.findings
        .iter()
        .map(|f| {
            let ev: Vec<(String, u64)> = f
                .events
                .iter()
                .map(|&i| {
                    let e = r.loaded.events.get(i).unwrap();
                    (e.channel.to_string(), e.record_id)
                })
                .collect();
            (f.rule_id.clone(), f.host.to_string(), ev)
        })
        .collect()
}

#[test]
fn every_format_finds_the_same_in_the_attack_scenarios() {
    let td = common::testdata();
    for scen in [
        "mmc_sysmon_recent",
        "mshta_sysmon_2019",
        "rpc_security",
        "dup_sysmon3_5156",
    ] {
        let dir = td.join(scen);
        let want = summary(std::slice::from_ref(&dir));
        assert!(!want.is_empty(), "{scen} must find something");
        let tmp = tempfile::tempdir().unwrap();
        let mut xmls = Vec::new();
        let mut jsons = Vec::new();
        for host in std::fs::read_dir(&dir).unwrap() {
            for f in std::fs::read_dir(host.unwrap().path()).unwrap() {
                let f = f.unwrap().path();
                let stem = format!(
                    "{}-{}",
                    f.parent().unwrap().file_name().unwrap().to_string_lossy(),
                    f.file_stem().unwrap().to_string_lossy()
                );
                let x = tmp.path().join(format!("{stem}.xml"));
                let j = tmp.path().join(format!("{stem}.jsonl"));
                export(&f, &x, true);
                export(&f, &j, false);
                xmls.push(x);
                jsons.push(j);
            }
        }
        assert_eq!(summary(&xmls), want, "{scen}: XML export");
        assert_eq!(summary(&jsons), want, "{scen}: evtx_dump JSON lines");
    }
}

#[test]
fn nxlog_sample_reads_and_finds_nothing() {
    let Some(c) = common::corpus("nxlog_sample_reads_and_finds_nothing") else {
        return;
    };
    let blocked = "nxlog-json/covenant_dcom_executeexcel4macro_blocked_2020-09-17173147.json";
    let r = scan_paths(
        &[c.join(blocked)],
        builtin_rules().unwrap(),
        &Window::default(),
    )
    .unwrap();
    assert_eq!(r.loaded.inputs[0].stats.records_read, 1200);
    assert_eq!(r.graph.host_names().len(), 3, "{:?}", r.graph.host_names());
    // No finding: no host graph is held, every host's entity ids are.
    assert!(r.graph.hosts.is_empty());
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    let attacker = r.loaded.events.iter().find(|e| {
        e.process().is_some_and(|p| {
            p.command_line
                .as_deref()
                .is_some_and(|c| c.contains("MoveExcel4.exe 172.18.39.6"))
        })
    });
    assert!(
        attacker.is_some(),
        "the attacker-side process creation is read"
    );
}
