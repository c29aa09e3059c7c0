//! Resource bounds: absurd headers, absurd record sizes, huge process counts on one host and
//! sequence rules with a very long maxspan all finish with bounded memory and say what happened.

use dcomhunt::detect::{self};
use dcomhunt::eql::rulefile::{LoadedRule, parse_rule};
use dcomhunt::event::{Event, Kind, Process};
use dcomhunt::graph::Graph;
use dcomhunt::pipeline::load;
use dcomhunt::record::Provenance;
use dcomhunt::store::EventStore;
use dcomhunt::time::Ts;
use dcomhunt::writer::scale::{ScaleOptions, generate};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn multi_chunk_file(dir: &Path) -> PathBuf {
    generate(
        &ScaleOptions {
            hosts: 1,
            events: 3_000,
            attacks: 1,
            seed: 3,
        },
        dir,
    )
    .unwrap();
    let mut files: Vec<PathBuf> = walk(dir);
    files.sort_by_key(|f| std::cmp::Reverse(std::fs::metadata(f).unwrap().len()));
    let f = files.remove(0);
    assert!(
        std::fs::metadata(&f).unwrap().len() > 4096 + 3 * 65536,
        "need several chunks"
    );
    f
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "evtx") {
            out.push(p);
        }
    }
    out
}

fn fix_header_crc(b: &mut [u8]) {
    let crc = crc32fast::hash(&b[..120]);
    b[124..128].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn header_claiming_65535_chunks_is_reported_truncated_not_trusted() {
    let d = tempfile::tempdir().unwrap();
    let src = multi_chunk_file(d.path());
    let good = load(std::slice::from_ref(&src)).unwrap();
    let mut b = std::fs::read(&src).unwrap();
    b[42..44].copy_from_slice(&u16::MAX.to_le_bytes());
    fix_header_crc(&mut b);
    let bad = d.path().join("absurd.evtx");
    std::fs::write(&bad, &b).unwrap();
    let t = Instant::now();
    let l = load(&[bad]).unwrap();
    assert!(t.elapsed() < Duration::from_secs(30));
    let s = &l.inputs[0].stats;
    assert!(s.truncated, "{s:?}");
    assert!(s.notes.iter().any(|n| n.contains("65535")), "{:?}", s.notes);
    assert_eq!(
        s.records_read, good.inputs[0].stats.records_read,
        "every record still read"
    );
}

#[test]
fn record_claiming_a_huge_size_costs_that_record_not_the_file() {
    let d = tempfile::tempdir().unwrap();
    let src = multi_chunk_file(d.path());
    let good = load(std::slice::from_ref(&src)).unwrap().inputs[0]
        .stats
        .records_read;
    let mut b = std::fs::read(&src).unwrap();
    // First record of chunk 1: its size field claims almost 4 GiB.
    let rec = 4096 + 65536 + 512;
    assert_eq!(&b[rec..rec + 4], b"\x2a\x2a\x00\x00");
    b[rec + 4..rec + 8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let bad = d.path().join("hugerecord.evtx");
    std::fs::write(&bad, &b).unwrap();
    let t = Instant::now();
    let l = load(&[bad]).unwrap();
    assert!(t.elapsed() < Duration::from_secs(30));
    let s = &l.inputs[0].stats;
    assert!(!s.damage.is_empty(), "the bad record is reported");
    assert!(
        s.damage.iter().all(|x| x.chunk == Some(1)),
        "{:?}",
        s.damage
    );
    assert!(
        s.records_read > 0 && s.records_read < good,
        "{} of {good}",
        s.records_read
    );
    assert!(
        good - s.records_read < 200,
        "only chunk 1 can lose records: {} of {good}",
        s.records_read
    );
    assert!(l.incomplete());
}

fn proc_event(i: u64, parent: Option<u64>, image: &str) -> Event {
    let g = |n: u64| format!("{{00000000-0000-0000-0000-{n:012x}}}");
    Event {
        host: Arc::from("BIG"),
        time: Ts(133_000_000_000_000_000 + i as i64 * 10_000),
        utc_time: None,
        channel: Arc::from("Microsoft-Windows-Sysmon/Operational"),
        provider: Arc::from("Microsoft-Windows-Sysmon"),
        event_id: 1,
        record_id: i + 1,
        prov: Provenance {
            file: Arc::from("mem"),
            chunk: Some(0),
            offset: Some(i),
            line: None,
        },
        kind: Kind::ProcessStart(Box::new(Process {
            entity_id: Some(g(i + 1).into()),
            pid: Some(4 * (i % 16_000) + 400),
            image: format!("C:\\x\\{image}").into(),
            command_line: Some(format!("{image} --n {i}").into()),
            parent_entity_id: parent.map(|p| g(p).into()),
            parent_pid: parent.map(|p| 4 * (p % 16_000) + 400),
            parent_image: parent.map(|_| "C:\\x\\p.exe".into()),
            ..Process::default()
        })),
    }
}

fn rule(text: &str) -> LoadedRule {
    let path = PathBuf::from("mem.toml");
    LoadedRule {
        path: path.clone(),
        sha256: String::new(),
        rule: parse_rule(&path, text).unwrap(),
    }
}

#[test]
fn hundreds_of_thousands_of_processes_on_one_host() {
    // A deep chain (each process the parent of the next) and a wide fan-out together.
    let n: u64 = 300_000;
    let events: Vec<Event> = (0..n)
        .map(|i| {
            // The first 5,000 form one chain (each the parent of the next); the rest fan out.
            let parent = if i == 0 {
                None
            } else if i < 5_000 {
                Some(i)
            } else {
                Some(1 + i % 5_000)
            };
            proc_event(i, parent, if i % 1000 == 0 { "a.exe" } else { "b.exe" })
        })
        .collect();
    let t = Instant::now();
    let events = EventStore::from_events(&events);
    let g = Graph::build(&events);
    let h = g.host("BIG").unwrap();
    assert_eq!(h.proc_count(), n as usize);
    let root = h.node("{00000000-0000-0000-0000-000000000001}").unwrap();
    assert!(h.descendants(root).len() > 100_000);
    let text = dcomhunt::graph::render::text(h, &Default::default());
    assert!(
        text.contains("deeper than"),
        "deep chains are cut, not recursed without bound"
    );
    let rules = vec![rule(
        r#"[rule]
rule_id = "x"
name = "x"
description = "x"
severity = "low"
risk_score = 1
language = "eql"
query = '''sequence with maxspan=1m [process where process.name : "a.exe"] by process.entity_id [process where process.name : "b.exe"] by process.parent.entity_id'''
"#,
    )];
    let (findings, runs) = detect::run(&rules, &events, &g);
    assert!(!findings.is_empty());
    assert_eq!(runs[0].evicted, 0);
    assert!(
        t.elapsed() < Duration::from_secs(120),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn a_thirty_day_maxspan_over_many_events_is_capped_and_reported() {
    let n: u64 = 250_000;
    let events: Vec<Event> = (0..n).map(|i| proc_event(i, None, "a.exe")).collect();
    let events = EventStore::from_events(&events);
    let g = Graph::build(&events);
    let rules = vec![rule(
        r#"[rule]
rule_id = "long"
name = "long"
description = "every event opens a sequence that never completes"
severity = "low"
risk_score = 1
language = "eql"
query = '''sequence with maxspan=30d [process where process.name : "a.exe"] by process.entity_id [process where process.name : "never.exe"] by process.parent.entity_id'''
"#,
    )];
    let t = Instant::now();
    let (findings, runs) = detect::run(&rules, &events, &g);
    assert!(findings.is_empty());
    assert!(
        runs[0].evicted >= n - dcomhunt::eql::DEFAULT_PENDING_CAP as u64,
        "{}",
        runs[0].evicted
    );
    assert!(
        t.elapsed() < Duration::from_secs(120),
        "took {:?}",
        t.elapsed()
    );
}
