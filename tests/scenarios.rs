//! Every scenario fixture in testdata/ through the real `.evtx` path: the findings its
//! `[expect]` names (and no other), and its process-tree facts.

mod common;

use dcomhunt::cli::scan::{ScanResult, Window, scan_paths};
use dcomhunt::detect::builtin_rules;
use dcomhunt::graph::{Graph, HostGraph};
use dcomhunt::time::Ts;
use dcomhunt::writer::scenario::{Scenario, TreeFact, load_dir};
use std::collections::BTreeMap;

fn rel_seconds(s: &str) -> f64 {
    s.trim()
        .trim_end_matches('s')
        .parse()
        .expect("relative time like +1.5s")
}

fn find_node(h: &HostGraph, sc: &Scenario, process: &str) -> Option<usize> {
    if let Some(rest) = process.strip_prefix("pid:") {
        let (pid, t) = rest.split_once('@').unwrap();
        let base = Ts::parse(&sc.base).unwrap();
        let t = base.plus_ticks((rel_seconds(t) * 1e7).round() as i64);
        h.alive_pid(pid.parse().unwrap(), t, None)
    } else {
        h.node(process)
    }
}

fn check_tree(name: &str, h: &HostGraph, sc: &Scenario, f: &TreeFact, errs: &mut Vec<String>) {
    let Some(n) = find_node(h, sc, &f.process) else {
        errs.push(format!("{name}: no process {} on {}", f.process, f.host));
        return;
    };
    let p = h.proc(n);
    let mut bad = |what: &str, got: String, want: String| {
        if got != want {
            errs.push(format!(
                "{name}: {} {what}: got {got}, want {want}",
                f.process
            ));
        }
    };
    if let Some(img) = &f.parent_image {
        bad(
            "parent image",
            p.parent
                .map(|x| h.proc(x).image.to_lowercase())
                .unwrap_or_default(),
            img.to_lowercase(),
        );
    }
    if let Some(ph) = f.parent_placeholder {
        let got = p
            .parent
            .is_some_and(|x| h.proc(x).origin == dcomhunt::graph::Origin::Placeholder);
        bad("parent placeholder", got.to_string(), ph.to_string());
    }
    if let Some(c) = f.children {
        bad("children", h.children(n).len().to_string(), c.to_string());
    }
    if let Some(c) = f.connections {
        bad(
            "connections",
            h.edges_of(n).len().to_string(),
            c.to_string(),
        );
    }
    let edge_ix = h.edges_of(n).next();
    let edge = edge_ix.map(|e| h.edge(e));
    let port = |x: Option<u16>| x.map(|v| v.to_string()).unwrap_or_default();
    if let Some(c) = f.edge_evidence {
        bad(
            "edge evidence",
            edge_ix
                .map(|e| h.edge_evidence(e).len())
                .unwrap_or(0)
                .to_string(),
            c.to_string(),
        );
    }
    if let Some(r) = &f.remote {
        bad(
            "remote",
            edge.map(|e| format!("{}:{}", e.remote_ip, port(e.remote_port)))
                .unwrap_or_default(),
            r.clone(),
        );
    }
    if let Some(l) = &f.local {
        bad(
            "local",
            edge.map(|e| format!("{}:{}", e.local_ip, port(e.local_port)))
                .unwrap_or_default(),
            l.clone(),
        );
    }
}

/// Scan `dir` with the built-in rules and compare its findings with the scenario's `[expect]`:
/// every expected (rule, host) exactly `count` times, nothing else but tolerated rules. The
/// differences, one line each.
fn finding_errors(name: &str, sc: &Scenario, r: &ScanResult) -> Vec<String> {
    let mut errs = Vec::new();
    let mut got: BTreeMap<(String, String), Vec<Vec<u64>>> = BTreeMap::new();
    for f in &r.findings {
        let recs = f
            .events
            .iter()
            .map(|&i| r.loaded.events.get(i).unwrap().record_id)
            .collect();
        got.entry((f.rule_id.clone(), f.host.to_string()))
            .or_default()
            .push(recs);
    }
    for want in &sc.expect.findings {
        let k = (want.rule_id.clone(), want.host.clone());
        let g = got.remove(&k).unwrap_or_default();
        if g.len() != want.count as usize {
            errs.push(format!(
                "{name}: rule {} on {}: {} finding(s), want {}",
                want.rule_id,
                want.host,
                g.len(),
                want.count
            ));
        } else if !want.records.is_empty() && g[0] != want.records {
            errs.push(format!(
                "{name}: rule {} records {:?}, want {:?}",
                want.rule_id, g[0], want.records
            ));
        }
    }
    for ((rule, host), v) in got {
        if !sc.expect.tolerate.contains(&rule) {
            errs.push(format!(
                "{name}: unexpected finding(s) of {rule} on {host}: {v:?}"
            ));
        }
    }
    errs
}

/// Finding errors (labelled `label`) go to `errs`.
fn check_findings(_name: &str, label: &str, sc: &Scenario, r: &ScanResult, errs: &mut Vec<String>) {
    errs.extend(finding_errors(label, sc, r));
}

#[test]
fn every_scenario_gives_exactly_its_expected_findings_and_tree() {
    let td = common::testdata();
    let scenarios = load_dir(&td.join("scenarios")).unwrap();
    assert!(scenarios.len() >= 20, "scenario list too short");
    let rules = builtin_rules().unwrap();
    let mut errs = Vec::new();
    for (name, sc) in &scenarios {
        let dir = td.join(name);
        let r = scan_paths(&[dir], rules.clone(), &Window::default()).unwrap();
        assert!(!r.loaded.incomplete(), "{name}: fixture read incompletely");
        check_findings(name, name, sc, &r, &mut errs);
        // Tree facts may name any process: the scan keeps only what its findings read of a
        // host's graph (tests/graph_prune.rs), `tree` draws the whole one.
        let whole = Graph::build(&r.loaded.events);
        for fact in &sc.expect.tree {
            match whole.host(&fact.host) {
                Some(h) => check_tree(name, h, sc, fact, &mut errs),
                None => errs.push(format!("{name}: no host {}", fact.host)),
            }
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

/// The NXLog rendering (`testdata/NAME.nxlog/`) of every scenario with an `[nxlog]` table gives
/// the same findings as its EVTX fixtures, the scenario's expected ones, and the same tree
/// facts for processes named by GUID (`pid:N@T` facts name scenario times, which NXLog's local
/// `EventTime` shifts by the collector's zone).
#[test]
fn every_nxlog_rendering_gives_exactly_its_expected_findings_and_tree() {
    let td = common::testdata();
    let scenarios = load_dir(&td.join("scenarios")).unwrap();
    let rules = builtin_rules().unwrap();
    let mut errs = Vec::new();
    let mut rendered = 0;
    for (name, sc) in scenarios.iter().filter(|(_, sc)| sc.nxlog.is_some()) {
        let dir = td.join(format!("{name}.nxlog"));
        let r = scan_paths(&[dir], rules.clone(), &Window::default()).unwrap();
        assert!(
            !r.loaded.incomplete(),
            "{name}: NXLog rendering read incompletely"
        );
        assert!(
            r.loaded.inputs.len() == 1 && !r.loaded.events.is_empty(),
            "{name}: one NXLog file with events"
        );
        let label = format!("{name} (NXLog)");
        check_findings(name, &label, sc, &r, &mut errs);
        let whole = Graph::build(&r.loaded.events);
        for fact in sc.expect.tree.iter().filter(|f| f.process.starts_with('{')) {
            match whole.host(&fact.host) {
                Some(h) => check_tree(&label, h, sc, fact, &mut errs),
                None => errs.push(format!("{label}: no host {}", fact.host)),
            }
        }
        rendered += 1;
    }
    assert!(
        rendered >= 9,
        "{rendered} scenarios with an NXLog rendering"
    );
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

#[test]
fn security_only_host_gets_the_same_tree_shape_as_its_sysmon_twin() {
    let td = common::testdata();
    let shape = |dir: &str| {
        let r = scan_paths(
            &[td.join(dir)],
            builtin_rules().unwrap(),
            &Window::default(),
        )
        .unwrap();
        let f = r
            .findings
            .first()
            .unwrap_or_else(|| panic!("{dir}: no finding"));
        let h = r.graph.host(&f.host).unwrap();
        let k = f.key_node.unwrap();
        let mut names: Vec<String> = h
            .descendants(k)
            .iter()
            .map(|&d| h.proc(d).name().to_lowercase())
            .collect();
        names.insert(0, h.proc(k).name().to_lowercase());
        let parent = h.parent(k).map(|p| h.proc(p).name().to_lowercase());
        (parent, names, h.edges_of(k).len())
    };
    for chain in ["mmc", "mshta", "rpc"] {
        let sysmon = shape(&format!("{chain}_sysmon_recent"));
        assert_eq!(shape(&format!("{chain}_security")), sysmon, "{chain}");
        assert_eq!(shape(&format!("{chain}_sysmon_2019")), sysmon, "{chain}");
    }
}
