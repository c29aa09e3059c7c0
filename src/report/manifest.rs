//! `manifest.json`: what was run over what, and what came out. Everything but the `run` object
//! depends only on the inputs and options.

use super::atomic::{AtomicFile, Staged};
use super::{ReportError, ReportInput, ReportOptions};
use crate::record::Damage;
use crate::time::Ts;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Bumped when a key changes meaning or disappears.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct Manifest<'a> {
    pub manifest_version: u32,
    pub tool: Tool,
    /// The only part that differs between two runs over the same inputs with the same options.
    pub run: Run,
    pub options: &'a ReportOptions,
    pub inputs: Vec<InputEntry<'a>>,
    pub skipped: &'a [crate::discover::Skipped],
    pub rules: Vec<RuleEntry>,
    pub totals: Totals,
    /// Records found more than once, and conflicting ones.
    pub integrity: IntegrityEntry<'a>,
    /// The report files, with their size and SHA-256 (the manifest itself excluded).
    pub outputs: &'a [OutputFile],
}

#[derive(Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Serialize)]
pub struct Run {
    pub command_line: Vec<String>,
    pub started: Ts,
    pub finished: Ts,
    pub threads: usize,
}

#[derive(Serialize)]
pub struct InputEntry<'a> {
    pub path: &'a str,
    /// The path's bytes in hex, when `path` (escaped text) does not show them plainly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<&'a str>,
    /// Found under a name starting with `.`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    pub format: &'static str,
    pub size: u64,
    pub sha256: &'a str,
    pub records_read: u64,
    pub records_wanted: u64,
    pub events_kept: u64,
    /// Kept events per `channel:event_id`.
    pub kept: &'a BTreeMap<String, u64>,
    pub complete: bool,
    /// `ok` (every CRC32 of an EVTX file matched), `mismatch` (the file header's or a chunk's
    /// did not), `none` (the format carries none).
    pub checksums: &'static str,
    /// EVTX chunks read whose CRC32 failed (their events are flagged).
    pub unverified_chunks: &'a [u64],
    pub truncated: bool,
    pub dirty: bool,
    pub damage: &'a [Damage],
    pub notes: &'a [String],
}

#[derive(Serialize)]
pub struct IntegrityEntry<'a> {
    /// Copies left out of the analysis (identical to the copy analysed).
    pub duplicates_removed: u64,
    pub duplicates: &'a [crate::integrity::DuplicateSet],
    pub conflicts: &'a [crate::integrity::Conflict],
}

#[derive(Serialize)]
pub struct RuleEntry {
    pub rule_id: String,
    pub name: String,
    pub file: String,
    pub sha256: String,
    pub findings: u64,
    /// Pending sequences the engine dropped at its memory cap (0 in a normal run).
    pub evicted: u64,
}

#[derive(Serialize)]
pub struct Totals {
    pub inputs: usize,
    pub inputs_incomplete: usize,
    pub skipped: usize,
    /// Skipped paths that may hold evidence and could not be read (`"unread": true`).
    pub unread: usize,
    /// Every input read completely and nothing that may hold evidence left unread: the run's
    /// verdict rests on all the evidence found (exit code 0 or 3, not 4 or 5).
    pub complete: bool,
    /// macOS resource fork files (`._*`) found and not read: counted, not listed.
    pub resource_forks: u64,
    pub records_read: u64,
    pub events_kept: usize,
    pub timeline_rows: u64,
    pub findings: usize,
    pub evidence_rows: u64,
    pub excel_truncated_cells: u64,
    pub unverified_chunks: usize,
    pub duplicates_removed: u64,
    pub conflicts: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputFile {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Now, as a [`Ts`].
pub fn now() -> Ts {
    Ts::from_datetime(chrono::Utc::now()).unwrap_or_default()
}

/// Write `manifest.json` (staged; the caller commits it last).
pub fn write(
    dir: &Path,
    r: &ReportInput<'_>,
    opts: &ReportOptions,
    outputs: &[OutputFile],
    rows: &[(&'static str, u64)],
    truncated: u64,
) -> Result<Staged, ReportError> {
    let l = r.loaded;
    let inputs: Vec<InputEntry<'_>> = l
        .inputs
        .iter()
        .map(|i| InputEntry {
            path: &i.input.display,
            path_hex: i.input.path_hex.as_deref(),
            hidden: i.input.hidden,
            format: i.input.format.as_str(),
            size: i.input.size,
            sha256: &i.input.sha256,
            records_read: i.stats.records_read,
            records_wanted: i.stats.records_wanted,
            events_kept: i.kept_total(),
            kept: &i.kept,
            complete: !i.stats.incomplete(),
            checksums: if i.input.format != crate::ingest::Format::Evtx {
                "none"
            } else if i.stats.header_unverified || !i.stats.unverified_chunks.is_empty() {
                "mismatch"
            } else {
                "ok"
            },
            unverified_chunks: &i.stats.unverified_chunks,
            truncated: i.stats.truncated,
            dirty: i.stats.dirty,
            damage: &i.stats.damage,
            notes: &i.stats.notes,
        })
        .collect();
    let rules: Vec<RuleEntry> = r
        .rules
        .iter()
        .map(|lr| {
            let run = r.runs.iter().find(|x| x.rule_id == lr.rule.rule_id);
            RuleEntry {
                rule_id: lr.rule.rule_id.clone(),
                name: lr.rule.name.clone(),
                file: lr.path.to_string_lossy().into_owned(),
                sha256: lr.sha256.clone(),
                findings: r
                    .findings
                    .iter()
                    .filter(|f| f.rule_id == lr.rule.rule_id)
                    .count() as u64,
                evicted: run.map_or(0, |x| x.evicted),
            }
        })
        .collect();
    let count = |n: &str| rows.iter().find(|(k, _)| *k == n).map_or(0, |(_, v)| *v);
    let m = Manifest {
        manifest_version: MANIFEST_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        run: Run {
            command_line: r.run.command_line.clone(),
            started: r.run.started,
            finished: now(),
            threads: r.run.threads,
        },
        options: opts,
        inputs,
        skipped: &l.skipped,
        rules,
        totals: Totals {
            inputs: l.inputs.len(),
            inputs_incomplete: l.inputs.iter().filter(|i| i.stats.incomplete()).count(),
            skipped: l.skipped.len(),
            unread: l.unread().count(),
            complete: !l.incomplete(),
            resource_forks: l.resource_forks,
            records_read: l.inputs.iter().map(|i| i.stats.records_read).sum(),
            events_kept: l.events.len(),
            timeline_rows: count("timeline"),
            findings: r.findings.len(),
            evidence_rows: count("evidence"),
            excel_truncated_cells: truncated,
            unverified_chunks: l.integrity.unverified_chunks(),
            duplicates_removed: l.integrity.duplicates_removed,
            conflicts: l.integrity.conflicts.len(),
        },
        integrity: IntegrityEntry {
            duplicates_removed: l.integrity.duplicates_removed,
            duplicates: &l.integrity.duplicates,
            conflicts: &l.integrity.conflicts,
        },
        outputs,
    };
    let mut f = AtomicFile::create(dir, "manifest.json")?;
    let path = dir.join("manifest.json");
    // Control and bidi characters (in paths, host names, rule names) as `\uXXXX`.
    let text = serde_json::to_string_pretty(&m)
        .map_err(|e| ReportError::io(&path, std::io::Error::other(e)))?;
    let mut bytes = crate::display::json_term(&text).into_bytes();
    bytes.push(b'\n');
    f.write_all(&bytes).map_err(|e| ReportError::io(&path, e))?;
    f.finish()
}
