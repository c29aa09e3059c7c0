//! `dcomhunt scan`, `timeline` and `rules`: run the rules and show what they found.

use super::grid::{Col, Grid, tree_line, wrap};
use super::{Inputs, Ui, UsageError, exit};
use crate::detect::{self, Finding};
use crate::display::{clip, term};
use crate::eql::rulefile::{LoadedRule, load_file};
use crate::event::Event;
use crate::graph::Graph;
use crate::graph::render::{TreeOpts, text};
use crate::pipeline::{Loaded, Progress, load_with};
use crate::report::{self, ReportFormat, ReportInput, ReportOptions, RunInfo, Selection};
use crate::store::EventStore;
use crate::time::{Ts, fmt_rel};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanFormat {
    Table,
    Jsonl,
}

/// Filters shared by `scan`, `timeline` and `events`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Filters {
    /// Only this host: its full name or, when unambiguous, its short name (FS01 for
    /// FS01.corp.example), ignoring case. A name matching no host is an error listing the hosts.
    #[arg(long)]
    pub host: Option<String>,
    /// Only from this time on (ISO-8601; a time without zone is UTC).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only up to this time (inclusive).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Display times in this zone (IANA name such as Europe/Berlin, or +02:00). CSV stays UTC.
    #[arg(long, value_name = "TZ")]
    pub tz: Option<String>,
}

/// Parsed filters.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// `--host` as given.
    pub host: Option<String>,
    /// The host names `--host` selects (see [`Window::select_hosts`]).
    pub hosts: Option<Vec<String>>,
    pub from: Option<Ts>,
    pub to: Option<Ts>,
    pub tz: Option<Zone>,
}

/// A display zone.
#[derive(Debug, Clone, Copy)]
pub enum Zone {
    Iana(chrono_tz::Tz),
    Fixed(chrono::FixedOffset),
}

impl Window {
    pub fn parse(f: &Filters) -> Result<Window> {
        let t = |s: &Option<String>, what: &str| -> Result<Option<Ts>> {
            match s {
                None => Ok(None),
                Some(v) => Ts::parse(v)
                    .or_else(|| Ts::parse(&format!("{v}T00:00:00Z")))
                    .map(Some)
                    .ok_or_else(|| {
                        UsageError(format!(
                            "--{what} {v:?}: not a time (use e.g. 2019-05-14T01:29:04Z)"
                        ))
                        .into()
                    }),
            }
        };
        let from = t(&f.from, "from")?;
        let to = t(&f.to, "to")?;
        if let (Some(a), Some(b)) = (from, to)
            && a > b
        {
            return Err(UsageError("--from is later than --to".into()).into());
        }
        let tz = match &f.tz {
            None => None,
            Some(z) => Some(parse_zone(z).ok_or_else(|| {
                UsageError(format!(
                    "--tz {z:?}: not an IANA zone name or ±HH:MM offset"
                ))
            })?),
        };
        Ok(Window {
            host: f.host.clone(),
            hosts: None,
            from,
            to,
            tz,
        })
    }

    /// Decide which of the hosts in the evidence `--host` names (see [`super::hosts`]); a name
    /// matching none is a usage error listing them.
    pub fn select_hosts(&mut self, known: &[crate::event::Text]) -> Result<()> {
        if let Some(h) = &self.host {
            let known: Vec<&str> = known.iter().map(|k| &**k).collect();
            let m = super::hosts::match_host(h, &known)?;
            self.hosts = Some(m.into_iter().map(str::to_string).collect());
        }
        Ok(())
    }

    pub fn host_ok(&self, h: &str) -> bool {
        match (&self.hosts, &self.host) {
            (Some(v), _) => v.iter().any(|x| x == h),
            (None, w) => w.as_deref().is_none_or(|w| h.eq_ignore_ascii_case(w)),
        }
    }

    pub fn time_ok(&self, t: Ts) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|x| t <= x)
    }

    /// Render a time for display (UTC unless --tz).
    pub fn show(&self, t: Ts) -> String {
        let Some(z) = self.tz else { return t.iso() };
        let Some(dt) = t.to_datetime() else {
            return t.iso();
        };
        let frac = t.unix_parts().1;
        match z {
            Zone::Iana(tz) => {
                let l = dt.with_timezone(&tz);
                format!(
                    "{}.{frac:07}{}",
                    l.format("%Y-%m-%dT%H:%M:%S"),
                    l.format("%:z")
                )
            }
            Zone::Fixed(o) => {
                let l = dt.with_timezone(&o);
                format!(
                    "{}.{frac:07}{}",
                    l.format("%Y-%m-%dT%H:%M:%S"),
                    l.format("%:z")
                )
            }
        }
    }
}

fn parse_zone(z: &str) -> Option<Zone> {
    if let Ok(tz) = z.parse::<chrono_tz::Tz>() {
        return Some(Zone::Iana(tz));
    }
    let z = z.trim();
    if z.eq_ignore_ascii_case("utc") || z == "Z" {
        return chrono::FixedOffset::east_opt(0).map(Zone::Fixed);
    }
    let sign = match z.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body: String = z[1..].chars().filter(|c| *c != ':').collect();
    if body.len() != 4 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = body[..2].parse().ok()?;
    let m: i32 = body[2..].parse().ok()?;
    chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60)).map(Zone::Fixed)
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Rules directory (default: the rules built into this binary, same as rules/ in the source).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Run only these rule ids (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    pub rule_ids: Vec<String>,
    #[command(flatten)]
    pub filters: Filters,
    /// Terminal output format: a table with each finding's timeline and tree, or one JSON
    /// finding a line.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ScanFormat,
    /// Write the reports (findings, evidence, timeline, manifest.json) into DIR. DIR must be
    /// empty or new, and outside every input directory (see docs/csv.md).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Write into a non-empty output directory (report files of the same names are replaced).
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Report file format: NAME.csv, NAME.jsonl, or both (same rows and columns).
    #[arg(
        long,
        value_enum,
        default_value = "csv",
        requires = "output",
        value_name = "FORMAT"
    )]
    pub report_format: ReportFormat,
    /// Spreadsheet-safe CSV: UTF-8 BOM, cells starting with = + - @ TAB CR prefixed with ',
    /// cells over 32,767 characters cut with a marker; the .jsonl files are written too, with
    /// every value in full.
    #[arg(long, requires = "output")]
    pub excel: bool,
    /// Also write timesketch.csv (or .jsonl) for import into Timesketch.
    #[arg(long, requires = "output")]
    pub timesketch: bool,
}

#[derive(clap::Args, Debug)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Rules directory whose findings are marked in the timeline (default: the built-in
    /// rules).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub filters: Filters,
}

#[derive(clap::Subcommand, Debug)]
pub enum RulesCmd {
    /// List the rules that would run.
    List {
        /// Rules directory to list (default: the rules built into this binary).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Parse and validate rule files (default: the rules that would run); exit 1 on any error.
    Check {
        /// Rule files (TOML, Elastic's layout) to check; none: the rules that would run.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Check every rule file in this directory (when no FILE is given).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
}

/// Load rules and apply `--rule` selections (an unknown id is a usage error).
pub fn select_rules(dir: Option<&std::path::Path>, ids: &[String]) -> Result<Vec<LoadedRule>> {
    let all = detect::load_rules(dir)?;
    if ids.is_empty() {
        return Ok(all);
    }
    for id in ids {
        if !all.iter().any(|r| r.rule.rule_id.eq_ignore_ascii_case(id)) {
            let known: Vec<&str> = all.iter().map(|r| r.rule.rule_id.as_str()).collect();
            return Err(UsageError(format!(
                "--rule {id}: no such rule id (known: {})",
                known.join(", ")
            ))
            .into());
        }
    }
    Ok(all
        .into_iter()
        .filter(|r| ids.iter().any(|i| r.rule.rule_id.eq_ignore_ascii_case(i)))
        .collect())
}

/// Everything one scan computed.
pub struct ScanResult {
    pub loaded: Loaded,
    pub graph: Graph,
    pub rules: Vec<LoadedRule>,
    pub findings: Vec<Finding>,
    pub runs: Vec<detect::RuleRun>,
}

/// Run the whole pipeline; findings filtered by host and time window.
pub fn scan_paths(paths: &[PathBuf], rules: Vec<LoadedRule>, w: &Window) -> Result<ScanResult> {
    scan_paths_with(
        paths,
        rules,
        &mut w.clone(),
        &crate::pipeline::NoProgress,
        |_| {},
    )
}

/// [`scan_paths`], deciding which hosts `--host` names in `w` (a name matching none is a
/// usage error).
pub fn scan_paths_in(
    paths: &[PathBuf],
    rules: Vec<LoadedRule>,
    w: &mut Window,
) -> Result<ScanResult> {
    scan_paths_with(paths, rules, w, &crate::pipeline::NoProgress, |_| {})
}

/// [`scan_paths_in`], telling `progress` how reading goes and `stage` when the graph and rules
/// stage starts.
pub fn scan_paths_with(
    paths: &[PathBuf],
    rules: Vec<LoadedRule>,
    w: &mut Window,
    progress: &dyn Progress,
    stage: impl Fn(&str),
) -> Result<ScanResult> {
    let loaded = load_with(paths, progress)?;
    w.select_hosts(loaded.events.hosts())?;
    stage("process graphs and rules");
    let (graph, mut findings, runs) = detect::build_and_run(&rules, &loaded.events);
    findings.retain(|f| w.host_ok(&f.host) && w.time_ok(f.first_time) && w.time_ok(f.last_time));
    Ok(ScanResult {
        loaded,
        graph,
        rules,
        findings,
        runs,
    })
}

pub fn run(a: ScanArgs, ui: &Ui, _threads: Option<usize>) -> Result<i32> {
    let started = report::manifest::now();
    let mut w = Window::parse(&a.filters)?;
    let rules = select_rules(a.rules.as_deref(), &a.rule_ids)?;
    // The output directory is checked and created before the evidence is read; one this run
    // created is removed again (if still empty) when the scan fails.
    let created = a
        .output
        .as_ref()
        .is_some_and(|d| d.symlink_metadata().is_err());
    if let Some(dir) = &a.output {
        let notes =
            report::prepare_output_dir(dir, &a.inputs.paths, a.force).map_err(report_error)?;
        print_notes(dir, &notes);
    }
    let bar = super::progress::Bar::new(ui);
    let r = match scan_paths_with(&a.inputs.paths, rules, &mut w, &bar, |s| bar.stage(s)) {
        Ok(r) => r,
        Err(e) => {
            if let (true, Some(dir)) = (created, &a.output) {
                let _ = std::fs::remove_dir(dir);
            }
            return Err(e);
        }
    };
    bar.clear();
    eprint!("{}", a.inputs.summary(&r.loaded, ui));
    // Printed even with -q: findings may have been missed.
    for run in r.runs.iter().filter(|x| x.evicted > 0) {
        eprintln!(
            "dcomhunt: warning: rule {} dropped {} pending sequence(s) at its memory cap ({}); findings may be missing (see \"evicted\" in the manifest)",
            term(&run.rule_id),
            run.evicted,
            crate::eql::DEFAULT_PENDING_CAP
        );
    }
    if let Some(dir) = &a.output {
        bar.stage("reports");
        let written = write_reports(dir, &a, &w, &r, started)?;
        print_notes(dir, &written.notes);
        bar.clear();
        if !ui.quiet {
            eprintln!(
                "wrote {} report file(s) to {}",
                written.files.len(),
                term(&dir.display().to_string())
            );
            if written.truncated_cells > 0 {
                eprintln!(
                    "--excel: {} cell(s) over 32,767 characters were cut in the CSV files; the .jsonl files hold them in full",
                    written.truncated_cells
                );
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match a.format {
        ScanFormat::Jsonl => {
            for f in &r.findings {
                let line = serde_json::to_string(&finding_json(f, &r))?;
                out.write_all(crate::display::json_term(&line).as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        ScanFormat::Table => write!(out, "{}", findings_text(&r, &w, ui.width))?,
    }
    out.flush()?;
    let code = exit::of(!r.findings.is_empty(), r.loaded.incomplete());
    // Freeing a large scan (millions of small allocations) takes a noticeable part of a second
    // and nothing waits for it: the binary exits next. Freed on another thread, so a caller that
    // goes on still gets the memory back.
    std::thread::spawn(move || drop(r));
    Ok(code)
}

/// Notes about the output directory, printed even with -q (a report set not swapped in whole,
/// leftovers of interrupted runs).
fn print_notes(dir: &std::path::Path, notes: &[String]) {
    for n in notes {
        eprintln!(
            "dcomhunt: note: output {}: {}",
            crate::display::path_text(dir),
            term(n)
        );
    }
}

fn report_error(e: report::ReportError) -> anyhow::Error {
    if e.is_usage() {
        UsageError(e.to_string()).into()
    } else {
        e.into()
    }
}

/// Write the `-o DIR` reports of a finished scan.
fn write_reports(
    dir: &std::path::Path,
    a: &ScanArgs,
    w: &Window,
    r: &ScanResult,
    started: Ts,
) -> Result<report::Written> {
    let mut rule_ids: Vec<String> = a.rule_ids.iter().map(|s| s.to_lowercase()).collect();
    rule_ids.sort();
    rule_ids.dedup();
    let opts = ReportOptions {
        report_format: a.report_format,
        excel: a.excel,
        timesketch: a.timesketch,
        host: w.host.clone(),
        host_matches: w.hosts.clone(),
        from: w.from,
        to: w.to,
        rules_dir: a.rules.as_ref().map(|p| p.to_string_lossy().into_owned()),
        rule_ids,
    };
    let run = RunInfo {
        command_line: std::env::args_os()
            .map(|s| s.to_string_lossy().into_owned())
            .collect(),
        started,
        threads: rayon::current_num_threads(),
    };
    let input = report_input(r, w, run);
    report::write_reports(dir, &input, &opts).map_err(report_error)
}

/// What the `-o DIR` reports of a finished scan are made of: its results, each finding's
/// context events and the window's timeline.
pub fn report_input<'a>(r: &'a ScanResult, w: &Window, run: RunInfo) -> ReportInput<'a> {
    ReportInput {
        loaded: &r.loaded,
        graph: &r.graph,
        rules: &r.rules,
        findings: &r.findings,
        runs: &r.runs,
        context: r.findings.iter().map(|f| context_events(f, r)).collect(),
        timeline: in_window(&r.loaded.events, w),
        run,
    }
}

/// The events in the window's hosts and times: all of them without a window (nothing held per
/// event), else their indexes (events are decoded only when a time window is set).
fn in_window(ev: &EventStore, w: &Window) -> Selection {
    let timed = w.from.is_some() || w.to.is_some();
    if !timed && w.host.is_none() {
        return Selection::All(ev.len());
    }
    let mut c = ev.cursor();
    Selection::Only(
        (0..ev.len())
            .filter(|&i| {
                ev.host(i).is_some_and(|h| w.host_ok(h))
                    && (!timed || c.event(i).is_some_and(|e| w.time_ok(e.time)))
            })
            .map(|i| i as u32)
            .collect(),
    )
}

/// One finding as a JSON object: the rule, host, times and evidence records.
pub fn finding_json(f: &Finding, r: &ScanResult) -> serde_json::Value {
    let ev = &r.loaded.events;
    let evidence: Vec<serde_json::Value> = f
        .events
        .iter()
        .zip(&f.stages)
        .filter_map(|(&i, &k)| Some((k, ev.get(i)?)))
        .map(|(k, e)| {
            serde_json::json!({
                "stage": k + 1,
                "file": &*e.prov.file,
                "record_id": e.record_id,
                "chunk": e.prov.chunk,
                "event_id": e.event_id,
                "channel": &*e.channel,
                "time": e.time,
                "integrity": r.loaded.integrity.of(&e).as_str(),
            })
        })
        .collect();
    let hg = r.graph.host(&f.host);
    let key = f.key_node.and_then(|n| hg.and_then(|h| h.get_proc(n)));
    // The key process's connections, as the tree shows them.
    let connections: Vec<serde_json::Value> = match (f.key_node, hg) {
        (Some(n), Some(h)) => h
            .edges_of(n)
            .map(|e| {
                let ed = h.edge(e);
                serde_json::json!({
                    "direction": ed.direction.as_str(),
                    "transport": ed.transport,
                    "local_ip": ed.local_ip,
                    "local_port": ed.local_port,
                    "remote_ip": ed.remote_ip,
                    "remote_port": ed.remote_port,
                    "time": ed.time,
                    "records": h.edge_evidence(e).filter_map(|i| ev.get(i)).map(|e| serde_json::json!({"file": &*e.prov.file, "record_id": e.record_id})).collect::<Vec<_>>(),
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    let children: Vec<serde_json::Value> = match (f.key_node, hg) {
        (Some(n), Some(h)) => h
            .descendants(n)
            .into_iter()
            .map(|c| {
                let p = h.proc(c);
                serde_json::json!({"entity_id": p.entity_id, "pid": p.pid, "image": p.image, "command_line": p.command_line, "start": p.start})
            })
            .collect(),
        _ => Vec::new(),
    };
    serde_json::json!({
        "finding_id": f.id,
        "rule_id": f.rule_id,
        "rule_name": f.rule_name,
        "severity": f.severity,
        "risk_score": f.risk_score,
        "techniques": f.techniques,
        "host": &*f.host,
        "first_time": f.first_time,
        "last_time": f.last_time,
        "remote": f.remote,
        "process": key.map(|p| serde_json::json!({"entity_id": p.entity_id, "pid": p.pid, "image": p.image, "command_line": p.command_line})),
        "descendants": children,
        "connections": connections,
        "evidence": evidence,
        "gaps": f.gaps,
    })
}

/// The events shown around a finding: the sequence's events plus every event of the processes
/// involved (the key process, its descendants, and each sequence event's process).
pub fn context_events(f: &Finding, r: &ScanResult) -> Vec<usize> {
    let Some(h) = r.graph.host(&f.host) else {
        return f.events.clone();
    };
    let nodes: BTreeSet<usize> = f.graph_nodes((&r.graph).into()).into_iter().collect();
    let mut idx: BTreeSet<usize> = f.events.iter().copied().collect();
    for &n in &nodes {
        idx.extend(h.evidence(n));
        for e in h.edges_of(n) {
            idx.extend(h.edge_evidence(e));
        }
    }
    idx.into_iter().collect()
}

/// At most this many context records (beside the matched events) per finding in the terminal
/// view; evidence.csv keeps every one.
pub const CONTEXT_ROWS: usize = 50;

/// The records a finding's terminal view shows ([`report::nearest_records`] of its
/// [`context_events`], at most `max` beside the matched events); and how many were left out.
pub fn nearest_context(f: &Finding, r: &ScanResult, max: usize) -> (Vec<usize>, usize) {
    report::nearest_records(&r.loaded.events, f, context_events(f, r), max)
}

/// The findings as a terminal table.
pub fn findings_table(fs: &[Finding], r: &ScanResult, w: &Window) -> Grid {
    let mut t = Grid::new(&[
        Col::keep("severity"),
        Col::text("rule", 16),
        Col::moves("host"),
        Col::keep("time"),
        Col::keep("remote"),
        Col::text("process", 16),
    ]);
    for f in fs {
        let key = f
            .key_node
            .and_then(|n| r.graph.host(&f.host).and_then(|h| h.get_proc(n)))
            .map(|p| {
                format!(
                    "[{}] {}",
                    crate::display::or_unknown(p.pid),
                    p.command_line.unwrap_or(p.image)
                )
            })
            .unwrap_or_default();
        t.row(vec![
            f.severity.clone(),
            term(&f.rule_name),
            term(&f.host),
            w.show(f.first_time),
            term(f.remote.as_deref().unwrap_or("")),
            term(&clip(&key, 120)),
        ]);
    }
    t
}

/// The terminal view of a scan: the findings table, then each finding's timeline and process
/// tree; fitted to `width` columns (`None`: full lines).
pub fn findings_text(r: &ScanResult, w: &Window, width: Option<usize>) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    if r.findings.is_empty() {
        let _ = writeln!(
            s,
            "No findings ({} rules over {} events).",
            r.rules.len(),
            r.loaded.events.len()
        );
        return s;
    }
    let _ = write!(
        s,
        "{} finding(s):\n{}",
        r.findings.len(),
        findings_table(&r.findings, r, w).render(width)
    );
    let ev = &r.loaded.events;
    for (n, f) in r.findings.iter().enumerate() {
        let head = format!(
            "[{}] {} — {} on {} (finding {})",
            n + 1,
            f.severity.to_uppercase(),
            term(&f.rule_name),
            term(&f.host),
            f.id
        );
        let _ = writeln!(s, "\n{}", wrap(&head, width));
        let rule = format!("    rule {}  ATT&CK {}", f.rule_id, f.techniques.join(", "));
        let _ = writeln!(s, "{}", wrap(&rule, width));
        if !f.gaps.is_empty() {
            let _ = writeln!(s, "    decided under these gaps in the evidence:");
            for g in &f.gaps {
                let line = format!("      - {}: {}", g.code, term(&g.detail));
                let _ = writeln!(s, "{}", wrap(&line, width));
            }
        }
        let mut t = Grid::new(&[
            Col::keep(""),
            Col::keep("rel"),
            Col::keep("time"),
            Col::keep("event"),
            Col::keep("record"),
            Col::path("file", 24),
            Col::text("details", 24),
        ]);
        let base = f.first_time;
        let mut c = ev.cursor();
        let (shown, left_out) = nearest_context(f, r, CONTEXT_ROWS);
        for i in shown {
            let Some(e) = c.event(i) else { continue };
            let e = &e;
            let stage = f
                .roles_of(i)
                .iter()
                .map(|r| format!("#{}", r.trim_start_matches("stage ")))
                .collect::<Vec<_>>()
                .join(",");
            t.row(vec![
                stage,
                fmt_rel(e.time.ticks_since(base)),
                w.show(e.time),
                super::events::source_label(e),
                e.record_id.to_string(),
                term(&crate::display::clip_left(&e.prov.file, 60)),
                term(&clip(&super::events::details(e), 300)),
            ]);
        }
        s.push_str(&t.render(width));
        if left_out > 0 {
            let more = format!(
                "    … {left_out} more record(s) of the processes involved, further from the matched events, not shown here: `scan -o DIR` lists every one in evidence.csv"
            );
            let _ = writeln!(s, "{}", wrap(&more, width));
        }
        if let (Some(k), Some(h)) = (f.key_node, r.graph.host(&f.host)) {
            let tree = text(
                h,
                &TreeOpts {
                    focus: vec![k],
                    depth: None,
                },
            );
            for line in tree.lines().skip(1) {
                let _ = writeln!(s, "{}", tree_line(&format!("    {line}"), width));
            }
        }
    }
    s
}

pub fn timeline(a: TimelineArgs, ui: &Ui) -> Result<i32> {
    let mut w = Window::parse(&a.filters)?;
    let rules = select_rules(a.rules.as_deref(), &[])?;
    let bar = super::progress::Bar::new(ui);
    let r = scan_paths_with(&a.inputs.paths, rules, &mut w, &bar, |s| bar.stage(s))?;
    bar.clear();
    eprint!("{}", a.inputs.summary(&r.loaded, ui));
    let mut marks: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for f in &r.findings {
        for (&i, &k) in f.events.iter().zip(&f.stages) {
            marks
                .entry(i)
                .or_default()
                .push(format!("{} #{} {}", f.id, k + 1, f.rule_name));
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut by_host: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let ev = &r.loaded.events;
    for i in in_window(ev, &w).iter() {
        if let Some(h) = ev.host(i) {
            by_host.entry(h).or_default().push(i);
        }
    }
    if by_host.is_empty() {
        writeln!(out, "No events in the selected hosts and time window.")?;
    }
    let mut c = ev.cursor();
    for (h, idx) in by_host {
        writeln!(out, "{}", term(h))?;
        let mut t = Grid::new(&[
            Col::keep("time"),
            Col::keep("event"),
            Col::keep("record"),
            Col::text("details", 24),
            Col::text("finding", 24),
        ]);
        for i in idx {
            let Some(e) = c.event(i) else { continue };
            let e: &Event = &e;
            let m = marks.get(&i).map(|v| v.join("; ")).unwrap_or_default();
            t.row(vec![
                w.show(e.time),
                super::events::source_label(e),
                e.record_id.to_string(),
                term(&clip(&super::events::details(e), 300)),
                if m.is_empty() {
                    String::new()
                } else {
                    format!("◆ {}", term(&m))
                },
            ]);
        }
        write!(out, "{}", t.render(ui.width))?;
    }
    out.flush()?;
    Ok(exit::of(!r.findings.is_empty(), r.loaded.incomplete()))
}

pub fn rules(c: RulesCmd, ui: &Ui) -> Result<i32> {
    match c {
        RulesCmd::List { rules } => {
            let all = detect::load_rules(rules.as_deref())?;
            let mut t = Grid::new(&[
                Col::keep("rule_id"),
                Col::text("name", 16),
                Col::keep("severity"),
                Col::keep("risk"),
                Col::moves("ATT&CK"),
                Col::path("file", 12),
            ]);
            for r in &all {
                t.row(vec![
                    r.rule.rule_id.clone(),
                    r.rule.name.clone(),
                    r.rule.severity.clone(),
                    r.rule.risk_score.to_string(),
                    r.rule.technique_ids().join(", "),
                    r.path.display().to_string(),
                ]);
            }
            print!("{}", t.render(ui.width));
            Ok(exit::OK)
        }
        RulesCmd::Check { files, rules } => {
            let results: Vec<std::result::Result<LoadedRule, String>> = if !files.is_empty() {
                files
                    .iter()
                    .map(|f| load_file(f).map_err(|e| e.to_string()))
                    .collect()
            } else if let Some(d) = rules {
                crate::eql::rulefile::check_dir(&d)?
                    .into_iter()
                    .map(|r| r.map_err(|e| e.to_string()))
                    .collect()
            } else {
                detect::builtin_rules()
                    .map(|v| v.into_iter().map(Ok).collect())
                    .map_err(|e| anyhow::anyhow!("{e}"))?
            };
            let mut bad = 0;
            for r in &results {
                match r {
                    Ok(l) => println!(
                        "ok     {}  {}  ({})",
                        l.rule.rule_id,
                        l.rule.name,
                        l.path.display()
                    ),
                    Err(e) => {
                        bad += 1;
                        // The parser's message spans lines (the rule text with a caret under
                        // the error): printed as lines, each escaped for the terminal.
                        for (k, line) in e.lines().enumerate() {
                            let lead = if k == 0 { "ERROR  " } else { "       " };
                            println!("{lead}{}", term(line));
                        }
                    }
                }
            }
            if bad > 0 {
                eprintln!("dcomhunt: {bad} of {} rule file(s) failed", results.len());
                Ok(exit::ERROR)
            } else {
                Ok(exit::OK)
            }
        }
    }
}
