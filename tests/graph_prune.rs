//! `detect::build_and_run` (the scan's graph and rules stage) against `Graph::build` +
//! `detect::run`: the same findings and counters, and every host's graph either pruned to what
//! its findings' reports read, reading the same there as the whole graph, or let go with only
//! its nodes' entity ids kept.

mod common;

use dcomhunt::detect;
use dcomhunt::graph::render::{TreeOpts, text};
use dcomhunt::graph::{Graph, HostGraph, IdBuf};
use dcomhunt::pipeline::load;
use std::collections::BTreeSet;

fn same_reads(whole: &HostGraph, pruned: &HostGraph, n: usize) {
    let show = |g: &HostGraph| format!("{:?}", g.get_proc(n));
    assert_eq!(show(pruned), show(whole), "node {n}");
    assert_eq!(pruned.parent(n), whole.parent(n));
    assert_eq!(pruned.ancestors(n), whole.ancestors(n));
    assert_eq!(
        pruned.evidence(n).collect::<Vec<_>>(),
        whole.evidence(n).collect::<Vec<_>>()
    );
    let edges: Vec<usize> = whole.edges_of(n).collect();
    assert_eq!(pruned.edges_of(n).collect::<Vec<_>>(), edges);
    for e in edges {
        assert_eq!(
            format!("{:?}", pruned.edge(e)),
            format!("{:?}", whole.edge(e))
        );
        assert_eq!(
            pruned.edge_evidence(e).collect::<Vec<_>>(),
            whole.edge_evidence(e).collect::<Vec<_>>()
        );
    }
    // Children: the kept ones, in the whole graph's order.
    let kept: Vec<usize> = whole
        .children(n)
        .filter(|&c| pruned.get_proc(c).is_some())
        .collect();
    assert_eq!(pruned.children(n).collect::<Vec<_>>(), kept);
    let id = whole.proc(n).entity_id;
    assert_eq!(pruned.node(id), Some(n));
}

#[test]
fn pruned_graphs_read_as_the_whole_ones() {
    let loaded = load(&[common::testdata()]).unwrap();
    let ev = &loaded.events;
    let rules = detect::builtin_rules().unwrap();
    let whole = Graph::build(ev);
    let (want, want_runs) = detect::run(&rules, ev, &whole);
    let (graph, found, runs) = detect::build_and_run(&rules, ev);
    let json = |f: &[detect::Finding]| {
        f.iter()
            .map(|x| {
                (
                    serde_json::to_string(x).unwrap(),
                    x.events.clone(),
                    x.key_node,
                )
            })
            .collect::<Vec<_>>()
    };
    assert!(want.len() > 10, "the fixtures have findings");
    assert_eq!(json(&found), json(&want));
    assert_eq!(format!("{runs:?}"), format!("{want_runs:?}"));

    let with_findings: BTreeSet<&str> = want.iter().map(|f| &*f.host).collect();
    let mut pruned_hosts = 0;
    let mut let_go = 0;
    for (host, w) in &whole.hosts {
        // Every node's entity id is there for the timeline.
        let ids = graph.ids(host).expect("every host's entity ids");
        let mut buf = IdBuf::new();
        for n in 0..w.proc_count() {
            assert_eq!(ids.entity_id(n, &mut buf), Some(w.proc(n).entity_id));
        }
        assert_eq!(ids.entity_id(w.proc_count(), &mut buf), None);
        let Some(p) = graph.host(host) else {
            assert!(
                !with_findings.contains(&**host),
                "{host}: findings need its graph"
            );
            continue;
        };
        assert!(with_findings.contains(&**host));
        assert!(p.is_pruned());
        pruned_hosts += 1;
        assert_eq!(p.proc_count(), w.proc_count());
        assert_eq!(format!("{:?}", p.boots), format!("{:?}", w.boots));
        let mut kept = 0;
        for f in want.iter().filter(|f| f.host == *host) {
            let nodes = f.graph_nodes((&whole).into());
            assert_eq!(f.graph_nodes((&graph).into()), nodes);
            for &n in &nodes {
                same_reads(w, p, n);
                for a in w.ancestors(n) {
                    same_reads(w, p, a);
                }
            }
            if let Some(k) = f.key_node {
                assert_eq!(p.descendants(k), w.descendants(k));
                let opts = TreeOpts {
                    focus: vec![k],
                    depth: None,
                };
                assert_eq!(text(p, &opts), text(w, &opts));
            }
            kept += nodes.len();
        }
        assert!(kept > 0);
        // Held: what the findings' reports read (and report.html's wider tree draws) with their
        // ancestors; the rest is let go.
        let mut want_held: BTreeSet<usize> = BTreeSet::new();
        for f in want.iter().filter(|f| f.host == *host) {
            for n in f
                .graph_nodes((&whole).into())
                .into_iter()
                .chain(f.tree_nodes((&whole).into()))
            {
                want_held.insert(n);
                want_held.extend(w.ancestors(n));
            }
        }
        let held: BTreeSet<usize> = (0..w.proc_count())
            .filter(|&n| p.get_proc(n).is_some())
            .collect();
        assert_eq!(held, want_held, "{host}");
        if held.len() < w.proc_count() {
            let_go += 1;
        }
        assert_eq!(
            p.roots().len(),
            p.roots().iter().collect::<BTreeSet<_>>().len()
        );
    }
    assert!(pruned_hosts > 0);
    assert!(let_go > 0, "no pruned host let any process go");
    assert_eq!(
        graph.host_names(),
        whole.hosts.keys().map(|h| &**h).collect::<Vec<_>>()
    );
    assert!(whole.hosts.len() > pruned_hosts, "some host has no finding");
}

/// `tree` draws each host as soon as its graph is built and lets the graph go: its output is
/// every host's whole tree, in host name order, as drawn from `Graph::build`.
#[test]
fn tree_draws_every_whole_host_in_name_order() {
    let td = common::testdata();
    let loaded = load(std::slice::from_ref(&td)).unwrap();
    let whole = Graph::build(&loaded.events);
    let opts = TreeOpts {
        focus: Vec::new(),
        depth: None,
    };
    let want: String = whole.hosts.values().map(|h| text(h, &opts)).collect();
    assert!(whole.hosts.len() > 3);
    let out = assert_cmd::Command::cargo_bin("dcomhunt")
        .unwrap()
        .args(["-q", "tree"])
        .arg(&td)
        .output()
        .unwrap();
    // The scenarios reuse host names and record ids with other contents: read together, those
    // records conflict (every copy kept), and the run says its input is not all verified.
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
    // --host: that host's graph only (named in another case).
    let (name, h) = whole.hosts.iter().nth(2).unwrap();
    let out = assert_cmd::Command::cargo_bin("dcomhunt")
        .unwrap()
        .args(["-q", "tree", "--host", &name.to_uppercase()])
        .arg(&td)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text(h, &opts));
}
