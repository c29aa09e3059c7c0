//! Stage benchmarks over `../shared/corpus` (set `DCOMHUNT_CORPUS` to use another directory):
//! discover (sniff + sha256), ingest (parse every file, render only wanted records),
//! normalize + sort, graph, rules, reports (every file `scan -o` writes, into a fresh
//! directory). Skips with a message when the corpus is absent.
//!
//! `cargo bench --bench ingest` (a few minutes on 2 cores). Whole-CLI timings against
//! `evtx_dump` are in `scripts/bench.sh`; results in docs/performance.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dcomhunt::cli::scan::{Window, report_input, scan_paths};
use dcomhunt::discover::{Input, discover};
use dcomhunt::graph::Graph;
use dcomhunt::ingest;
use dcomhunt::normalize::normalize;
use dcomhunt::pipeline::{load_inputs, sort_events};
use dcomhunt::record::RawRecord;
use dcomhunt::report::{ReportFormat, ReportOptions, RunInfo, write_reports};
use dcomhunt::store::EventStore;
use dcomhunt::time::Ts;
use rayon::prelude::*;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn corpus() -> Option<PathBuf> {
    let p = std::env::var_os("DCOMHUNT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "ingest bench: corpus not found at {} (set DCOMHUNT_CORPUS): skipping",
            p.display()
        );
        None
    }
}

fn read_all(inputs: &[Input]) -> Vec<RawRecord> {
    inputs
        .par_iter()
        .flat_map_iter(|i| {
            ingest::read(&i.path, &i.display, i.format)
                .map(|(r, _)| r)
                .unwrap_or_default()
        })
        .collect()
}

fn stages(c: &mut Criterion) {
    let Some(dir) = corpus() else {
        return;
    };
    let d = discover(std::slice::from_ref(&dir)).expect("discover corpus");
    let bytes: u64 = d.inputs.iter().map(|i| i.size).sum();
    let records = read_all(&d.inputs);
    let mut sorted = normalize(&records);
    sort_events(&mut sorted);
    let events = EventStore::from_events(&sorted);
    let graph = Graph::build(&events);
    let rules = dcomhunt::detect::builtin_rules().expect("built-in rules");

    let mut g = c.benchmark_group("corpus");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));

    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("discover (sniff + sha256)", |b| {
        b.iter(|| black_box(discover(std::slice::from_ref(&dir)).unwrap().inputs.len()))
    });
    g.bench_function("ingest (parse, wanted records only)", |b| {
        b.iter(|| black_box(read_all(&d.inputs).len()))
    });
    g.bench_function("load_inputs (ingest + normalize + sort)", |b| {
        b.iter(|| black_box(load_inputs(d.inputs.clone(), Vec::new()).events.len()))
    });

    g.throughput(Throughput::Elements(records.len() as u64));
    g.bench_function("normalize + sort", |b| {
        b.iter(|| {
            let mut ev = normalize(&records);
            sort_events(&mut ev);
            black_box(ev.len())
        })
    });
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("store (encode + order)", |b| {
        b.iter(|| black_box(EventStore::from_events(&sorted).len()))
    });
    g.bench_function("store (decode every event)", |b| {
        b.iter(|| black_box(events.iter().filter(|e| e.record_id % 2 == 0).count()))
    });
    g.bench_function("graph", |b| b.iter(|| black_box(Graph::build(&events))));
    g.bench_function("rules (all built-in)", |b| {
        b.iter(|| black_box(dcomhunt::detect::run(&rules, &events, &graph).0.len()))
    });

    // The reports stage as `scan -o DIR` runs it: findings, evidence, the timeline of every
    // event, the manifest (each file hashed, synced and renamed into place).
    let window = Window::default();
    let scanned = scan_paths(std::slice::from_ref(&dir), rules.clone(), &window).expect("scan");
    let opts = ReportOptions {
        report_format: ReportFormat::Csv,
        excel: false,
        timesketch: false,
        host: None,
        host_matches: None,
        from: None,
        to: None,
        rules_dir: None,
        rule_ids: Vec::new(),
    };
    g.throughput(Throughput::Elements(scanned.loaded.events.len() as u64));
    g.bench_function(
        "reports (scan -o: findings, evidence, timeline, manifest)",
        |b| {
            b.iter(|| {
                let out = tempfile::tempdir().expect("temporary directory");
                let run = RunInfo {
                    command_line: vec!["dcomhunt".into(), "scan".into()],
                    started: Ts(0),
                    threads: rayon::current_num_threads(),
                };
                let input = report_input(&scanned, &window, run);
                black_box(write_reports(&out.path().join("out"), &input, &opts).expect("reports"))
            })
        },
    );
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
