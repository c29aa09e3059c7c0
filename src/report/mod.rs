//! The written reports of `dcomhunt scan -o DIR`: `findings`, `evidence`, `timeline` (CSV and/or
//! JSON lines), optionally `timesketch`, `report.html` (the same findings as one
//! self-contained page, see `html/`) and `manifest.json`. Columns and formats are documented
//! in `docs/csv.md`.
//!
//! The set is written into a temporary directory beside DIR and swapped into place as a whole
//! (see [`swap`]); inside it, every file is written to a temporary name and renamed once
//! complete, `manifest.json` last, so a manifest means the set is complete. The content depends only on the
//! inputs and options (never on thread count or argument order), except the manifest's `run`
//! object (command line, start and end time, thread count).

pub mod atomic;
pub mod csv_out;
pub mod csv_rows;
pub mod excel;
pub mod html;
pub mod manifest;
pub mod outdir;
pub mod swap;
pub mod table;
pub mod timesketch;

use crate::detect::{Finding, RuleRun};
use crate::eql::rulefile::LoadedRule;
use crate::graph::Graph;
use crate::pipeline::Loaded;
use crate::time::Ts;
use atomic::Staged;
use serde::Serialize;
use std::path::{Path, PathBuf};
use table::CsvMode;

pub use outdir::{check_output_dir, prepare_output_dir};

/// Errors of the report stage.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("output directory {path}: exists and is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("output directory {path}: not empty (use --force to write into it anyway)")]
    NotEmpty { path: PathBuf },
    #[error(
        "output directory {output}: inside the input directory {input} (the reports would be read as evidence next time); choose a directory outside it"
    )]
    InsideInput { output: PathBuf, input: PathBuf },
    // The cause is part of the message (not a `source`), so that it is printed once.
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{path}: CSV: {err}")]
    Csv { path: PathBuf, err: csv::Error },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ReportError {
    pub fn io(path: &Path, source: std::io::Error) -> ReportError {
        ReportError::Io {
            path: path.to_path_buf(),
            err: source,
        }
    }
    pub fn csv(path: &Path, source: csv::Error) -> ReportError {
        ReportError::Csv {
            path: path.to_path_buf(),
            err: source,
        }
    }
    /// The error is about how the tool was called (exit code 2), not a failure while writing.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ReportError::NotADirectory { .. }
                | ReportError::NotEmpty { .. }
                | ReportError::InsideInput { .. }
        )
    }
}

/// Which files are written for each table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    /// `NAME.csv` only.
    Csv,
    /// `NAME.jsonl` only.
    Jsonl,
    /// Both.
    Both,
}

/// Output options.
#[derive(Debug, Clone, Serialize)]
pub struct ReportOptions {
    pub report_format: ReportFormat,
    /// Spreadsheet-safe CSV (BOM, formulas neutralized, long cells cut); implies `.jsonl` files.
    pub excel: bool,
    /// Also write `timesketch.csv` / `.jsonl`.
    pub timesketch: bool,
    /// Filters as parsed (UTC), recorded in the manifest: `--host` as given, and the host
    /// names it selected.
    pub host: Option<String>,
    pub host_matches: Option<Vec<String>>,
    pub from: Option<Ts>,
    pub to: Option<Ts>,
    /// `--rules DIR` as given.
    pub rules_dir: Option<String>,
    /// `--rule ID` selections, lower-cased and sorted.
    pub rule_ids: Vec<String>,
}

impl ReportOptions {
    pub fn csv_mode(&self) -> Option<CsvMode> {
        match (self.report_format, self.excel) {
            (_, true) => Some(CsvMode::Excel),
            (ReportFormat::Csv | ReportFormat::Both, false) => Some(CsvMode::Exact),
            (ReportFormat::Jsonl, false) => None,
        }
    }
    pub fn jsonl(&self) -> bool {
        self.excel || matches!(self.report_format, ReportFormat::Jsonl | ReportFormat::Both)
    }
}

/// What the run was (the only part of the output that differs between identical runs).
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub command_line: Vec<String>,
    pub started: Ts,
    pub threads: usize,
}

/// Everything the reports are made of.
pub struct ReportInput<'a> {
    pub loaded: &'a Loaded,
    pub graph: &'a Graph,
    pub rules: &'a [LoadedRule],
    pub findings: &'a [Finding],
    pub runs: &'a [RuleRun],
    /// Per finding (same order): the event indexes shown with it, sorted, stages included.
    pub context: Vec<Vec<usize>>,
    /// The events in the timeline (after `--host/--from/--to`).
    pub timeline: Selection,
    pub run: RunInfo,
}

impl ReportInput<'_> {
    /// Finding `k`'s records: its context when known, else its matched events (sorted, each
    /// once).
    pub fn records_of(&self, k: usize, f: &Finding) -> Vec<usize> {
        match self.context.get(k) {
            Some(c) => c.clone(),
            None => {
                let mut v = f.events.clone();
                v.sort_unstable();
                v.dedup();
                v
            }
        }
    }
}

/// Which events of the run a report lists, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every event, `0..n` (no window: nothing is held per event).
    All(usize),
    /// These, sorted; `u32` like every event index the run keeps per event (a store holds
    /// fewer than 4 billion events).
    Only(Vec<u32>),
}

impl Selection {
    pub fn len(&self) -> usize {
        match self {
            Selection::All(n) => *n,
            Selection::Only(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The event index at place `k` of the selection (`k < len()`).
    pub fn at(&self, k: usize) -> usize {
        match self {
            Selection::All(_) => k,
            Selection::Only(v) => v[k] as usize,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).map(|k| self.at(k))
    }
}

/// Every file name this module may write (stale ones are removed under `--force`).
pub const KNOWN_FILES: &[&str] = &[
    "findings.csv",
    "findings.jsonl",
    "evidence.csv",
    "evidence.jsonl",
    "timeline.csv",
    "timeline.jsonl",
    "timesketch.csv",
    "timesketch.jsonl",
    "report.html",
    "manifest.json",
];

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub files: Vec<PathBuf>,
    /// Cells cut in `--excel` mode.
    pub truncated_cells: u64,
    /// What the examiner should know about how the set was put in place (temporary files of
    /// interrupted runs removed, a set written in place).
    pub notes: Vec<String>,
}

/// Write all reports into `dir` (created if missing; checked beforehand with
/// [`check_output_dir`]) as one unit: the set is written beside `dir` and swapped in, so that
/// `dir` holds either the complete new set or the untouched old one. Where no directory can be
/// created beside `dir`, the files are written into it one by one (each still atomic), and a
/// note says so.
pub fn write_reports(
    dir: &Path,
    input: &ReportInput<'_>,
    opts: &ReportOptions,
) -> Result<Written, ReportError> {
    let staging = match swap::Staging::begin(dir) {
        Ok(s) => s,
        Err(e) => {
            let swept = swap::sweep_tmp_files(dir, KNOWN_FILES);
            let mut w = write_set(dir, input, opts)?;
            w.notes.extend(swept);
            w.notes.push(format!(
                "reports written into the directory file by file, not swapped in as one set: {e}"
            ));
            return Ok(w);
        }
    };
    let mut w = write_set(staging.path(), input, opts)?;
    w.files = w
        .files
        .iter()
        .filter_map(|f| f.file_name())
        .map(|n| dir.join(n))
        .collect();
    w.notes.append(&mut staging.notes.clone());
    staging.commit(|name| KNOWN_FILES.contains(&name))?;
    Ok(w)
}

/// Write all reports into `dir`, each file atomically, `manifest.json` last.
fn write_set(
    dir: &Path,
    input: &ReportInput<'_>,
    opts: &ReportOptions,
) -> Result<Written, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    let csv = opts.csv_mode();
    let jsonl = opts.jsonl();
    let mut staged: Vec<Staged> = Vec::new();
    let mut truncated = 0;
    let mut rows = Vec::new();
    for t in [
        csv_out::findings(dir, input, csv, jsonl)?,
        csv_out::evidence(dir, input, csv, jsonl)?,
        csv_out::timeline(dir, input, csv, jsonl)?,
    ] {
        truncated += t.truncated;
        rows.push((t.name, t.rows));
        staged.extend(t.staged);
    }
    if opts.timesketch {
        let t = timesketch::write(dir, input, opts.report_format != ReportFormat::Jsonl, jsonl)?;
        rows.push((t.name, t.rows));
        staged.extend(t.staged);
    }
    staged.push(html::write(dir, input, opts)?);
    let outputs: Vec<manifest::OutputFile> = staged
        .iter()
        .map(|s| manifest::OutputFile {
            file: s.name(),
            bytes: s.bytes,
            sha256: s.sha256.clone(),
        })
        .collect();
    let man = manifest::write(dir, input, opts, &outputs, &rows, truncated)?;
    // A manifest of an earlier run (under --force) goes first: it must never describe new files.
    let old = dir.join("manifest.json");
    if old.is_file() {
        std::fs::remove_file(&old).map_err(|e| ReportError::io(&old, e))?;
    }
    let mut files = Vec::new();
    for s in staged {
        files.push(s.dest.clone());
        s.commit()?;
    }
    // Under --force: files of an earlier run that this run did not write would contradict the
    // manifest; only this module's own names are ever removed.
    for name in KNOWN_FILES {
        let p = dir.join(name);
        if !files.contains(&p) && *name != "manifest.json" && p.is_file() {
            std::fs::remove_file(&p).map_err(|e| ReportError::io(&p, e))?;
        }
    }
    files.push(man.dest.clone());
    man.commit()?;
    Ok(Written {
        files,
        truncated_cells: truncated,
        notes: Vec::new(),
    })
}

/// One table's staged files and counts.
pub struct TableDone {
    pub name: &'static str,
    pub rows: u64,
    pub truncated: u64,
    pub staged: Vec<Staged>,
}

/// Of a finding's context records `all` (in the total order, its matched events among them):
/// every matched event, and of the others the `max` nearest in time to a matched event (the
/// earlier on a tie), in the total order; and how many context records were left out. The
/// terminal view and `report.html` show these; evidence.csv keeps every one.
///
/// A DCOM server process can have thousands of records over a long capture (every inbound RPC
/// connection of `svchost -k RPCSS`); drawn in full they made a finding's table thousands of
/// rows long.
pub fn nearest_records(
    events: &crate::store::EventStore,
    f: &Finding,
    all: Vec<usize>,
    max: usize,
) -> (Vec<usize>, usize) {
    let matched: std::collections::BTreeSet<usize> = f.events.iter().copied().collect();
    if all.len() <= matched.len() + max {
        return (all, 0);
    }
    let mut c = events.cursor();
    let times: Vec<Ts> = f
        .events
        .iter()
        .filter_map(|&i| c.event(i).map(|e| e.time))
        .collect();
    let mut others: Vec<(u64, usize)> = all
        .iter()
        .filter(|i| !matched.contains(i))
        .map(|&i| {
            let d = c.event(i).map_or(u64::MAX, |e| {
                times
                    .iter()
                    .map(|&t| e.time.ticks_since(t).unsigned_abs())
                    .min()
                    .unwrap_or(u64::MAX)
            });
            (d, i)
        })
        .collect();
    let left_out = others.len().saturating_sub(max);
    if max < others.len() {
        // The `max` smallest (distance, index) pairs come first, in some order.
        others.select_nth_unstable(max);
    }
    others.truncate(max);
    let mut shown: Vec<usize> = others.into_iter().map(|(_, i)| i).collect();
    shown.extend(all.iter().copied().filter(|i| matched.contains(i)));
    shown.sort_unstable();
    (shown, left_out)
}
