//! Each host is matched separately (docs/rules.md): a sequence never joins events of two hosts,
//! even for a rule that does not join on `host.id`, and the pending-sequence cap holds per host.

use dcomhunt::detect;
use dcomhunt::eql::DEFAULT_PENDING_CAP;
use dcomhunt::eql::rulefile::{LoadedRule, parse_rule};
use dcomhunt::event::{Event, Kind, Process};
use dcomhunt::graph::Graph;
use dcomhunt::record::Provenance;
use dcomhunt::store::EventStore;
use dcomhunt::time::Ts;
use std::path::PathBuf;
use std::sync::Arc;

/// Process `n` of `host` starting at second `sec`, running `image`.
fn start(host: &str, n: u64, sec: i64, image: &str) -> Event {
    Event {
        host: Arc::from(host),
        time: Ts(133_000_000_000_000_000 + sec * 10_000_000 + n as i64),
        utc_time: None,
        channel: Arc::from("Microsoft-Windows-Sysmon/Operational"),
        provider: Arc::from("Microsoft-Windows-Sysmon"),
        event_id: 1,
        record_id: n + 1,
        prov: Provenance {
            file: Arc::from(format!("{host}.evtx")),
            chunk: Some(0),
            offset: Some(n),
            line: None,
        },
        kind: Kind::ProcessStart(Box::new(Process {
            entity_id: Some(format!("{{00000000-0000-0000-0000-{n:012x}}}").into()),
            pid: Some(4 * (n % 16_000) + 400),
            image: format!("C:\\x\\{image}").into(),
            command_line: Some(image.into()),
            ..Process::default()
        })),
    }
}

fn rule(query: &str) -> LoadedRule {
    let path = PathBuf::from("mem.toml");
    let text = format!(
        "[rule]\nrule_id = \"r\"\nname = \"r\"\ndescription = \"r\"\nseverity = \"low\"\n\
         risk_score = 1\nlanguage = \"eql\"\nquery = '''{query}'''\n"
    );
    LoadedRule {
        path: path.clone(),
        sha256: String::new(),
        rule: parse_rule(&path, &text).unwrap(),
    }
}

fn run(events: &[Event], rules: &[LoadedRule]) -> (Vec<detect::Finding>, Vec<detect::RuleRun>) {
    let store = EventStore::from_events(events);
    let graph = Graph::build(&store);
    detect::run(rules, &store, &graph)
}

#[test]
fn a_sequence_without_host_keys_never_joins_two_hosts() {
    // No `by` at all: within one host any a.exe then b.exe joins.
    let rules = [rule(
        r#"sequence with maxspan=1m [process where process.name : "a.exe"] [process where process.name : "b.exe"]"#,
    )];
    let across = [start("ALPHA", 1, 0, "a.exe"), start("BRAVO", 2, 1, "b.exe")];
    let (findings, runs) = run(&across, &rules);
    assert!(
        findings.is_empty(),
        "a.exe on ALPHA and b.exe on BRAVO joined: {findings:?}"
    );
    assert_eq!(runs[0].findings, 0);

    let mut within = across.to_vec();
    within.push(start("ALPHA", 3, 2, "b.exe"));
    let (findings, runs) = run(&within, &rules);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(&*findings[0].host, "ALPHA");
    assert_eq!(runs[0].findings, 1);
    // Its events are ALPHA's a.exe and b.exe (indexes into the store's total order).
    let store = EventStore::from_events(&within);
    let evs: Vec<(String, u64)> = findings[0]
        .events
        .iter()
        .map(|&i| {
            let e = store.get(i).unwrap();
            (e.host.to_string(), e.record_id)
        })
        .collect();
    assert_eq!(evs, [("ALPHA".to_string(), 2), ("ALPHA".to_string(), 4)]);
}

#[test]
fn findings_and_counts_are_summed_over_hosts() {
    let rules = [rule(
        r#"sequence by host.id with maxspan=1m [process where process.name : "a.exe"] [process where process.name : "b.exe"]"#,
    )];
    let mut events = Vec::new();
    for (k, host) in ["H1", "H2", "H3"].iter().enumerate() {
        let base = 10 * k as u64;
        events.push(start(host, base + 1, 0, "a.exe"));
        events.push(start(host, base + 2, 1, "b.exe"));
    }
    let (findings, runs) = run(&events, &rules);
    let hosts: Vec<&str> = findings.iter().map(|f| &*f.host).collect();
    // Sorted by first time, then host.
    assert_eq!(hosts, ["H1", "H2", "H3"]);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].findings, 3);
    assert_eq!(runs[0].evicted, 0);
}

#[test]
fn the_pending_sequence_cap_holds_per_host() {
    // Every event opens a sequence that never completes. Two hosts each below the cap: nothing
    // is dropped, though together they hold more than the cap.
    let per_host = (DEFAULT_PENDING_CAP as u64) * 3 / 5;
    let events: Vec<Event> = (0..2 * per_host)
        .map(|n| start(if n % 2 == 0 { "ONE" } else { "TWO" }, n, 0, "a.exe"))
        .collect();
    let rules = [rule(
        r#"sequence with maxspan=30d [process where process.name : "a.exe"] by process.entity_id [process where process.name : "never.exe"] by process.parent.entity_id"#,
    )];
    let (findings, runs) = run(&events, &rules);
    assert!(findings.is_empty());
    assert_eq!(runs[0].evicted, 0, "the cap was applied across hosts");
}
