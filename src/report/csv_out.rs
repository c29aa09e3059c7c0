//! `findings`, `evidence` and `timeline`: columns (documented in docs/csv.md, same order) and
//! rows.

use super::table::{Cell, CsvMode, RowSink, TableOut};
use super::{ReportError, ReportInput, TableDone};
use crate::event::{Event, Kind, Text};
use crate::graph::{HostIds, IdBuf};
use crate::time::Ts;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

pub const FINDINGS_COLUMNS: &[&str] = &[
    "finding_id",
    "rule_id",
    "rule_name",
    "severity",
    "risk_score",
    "techniques",
    "host",
    "first_time",
    "last_time",
    "remote",
    "process_entity_id",
    "process_pid",
    "process_image",
    "process_command_line",
    "descendants_command_lines",
    "stage_count",
    "evidence_count",
    "gaps",
];

pub const EVIDENCE_COLUMNS: &[&str] = &[
    "finding_id",
    "role",
    "file",
    "file_sha256",
    "chunk",
    "offset",
    "line",
    "record_id",
    "channel",
    "event_id",
    "time",
    "host",
    "kind",
    "entity_id",
    "graph_entity_id",
    "pid",
    "image",
    "command_line",
    "parent_entity_id",
    "parent_pid",
    "parent_image",
    "direction",
    "transport",
    "source_ip",
    "source_port",
    "destination_ip",
    "destination_port",
    "integrity",
];

pub const TIMELINE_COLUMNS: &[&str] = &[
    "time",
    "utc_time",
    "host",
    "channel",
    "provider",
    "event_id",
    "record_id",
    "kind",
    "file",
    "chunk",
    "offset",
    "line",
    "entity_id",
    "graph_entity_id",
    "pid",
    "image",
    "command_line",
    "parent_entity_id",
    "parent_pid",
    "parent_image",
    "parent_command_line",
    "user",
    "hashes",
    "current_directory",
    "integrity_level",
    "direction",
    "transport",
    "source_ip",
    "source_port",
    "destination_ip",
    "destination_port",
    "local_side",
    "boot_marker",
    "finding_ids",
    "context_finding_ids",
    "integrity",
];

/// The normalized fields of one event, whatever its kind (absent ones are `None`).
#[derive(Default)]
pub struct Fields<'a> {
    pub entity_id: Option<&'a str>,
    pub pid: Option<u64>,
    pub image: Option<&'a str>,
    pub command_line: Option<&'a str>,
    pub parent_entity_id: Option<&'a str>,
    pub parent_pid: Option<u64>,
    pub parent_image: Option<&'a str>,
    pub parent_command_line: Option<&'a str>,
    pub user: Option<&'a str>,
    pub hashes: Option<&'a str>,
    pub current_directory: Option<&'a str>,
    pub integrity_level: Option<&'a str>,
    pub direction: Option<&'static str>,
    pub transport: Option<&'a str>,
    pub source_ip: Option<&'a str>,
    pub source_port: Option<u16>,
    pub destination_ip: Option<&'a str>,
    pub destination_port: Option<u16>,
    pub local_side: Option<&'static str>,
    pub boot_marker: Option<&'a str>,
}

impl<'a> Fields<'a> {
    pub fn of(e: &'a Event) -> Fields<'a> {
        match &e.kind {
            Kind::ProcessStart(p) => Fields {
                entity_id: p.entity_id.as_deref(),
                pid: p.pid,
                image: Some(&p.image),
                command_line: p.command_line.as_deref(),
                parent_entity_id: p.parent_entity_id.as_deref(),
                parent_pid: p.parent_pid,
                parent_image: p.parent_image.as_deref(),
                parent_command_line: p.parent_command_line.as_deref(),
                user: p.user.as_deref(),
                hashes: p.hashes.as_deref(),
                current_directory: p.current_directory.as_deref(),
                integrity_level: p.integrity_level.as_deref(),
                ..Fields::default()
            },
            Kind::ProcessEnd(p) => Fields {
                entity_id: p.entity_id.as_deref(),
                pid: p.pid,
                image: Some(&p.image),
                ..Fields::default()
            },
            Kind::Network(n) => {
                let (sip, sp) = n.source();
                let (dip, dp) = n.destination();
                Fields {
                    entity_id: n.entity_id.as_deref(),
                    pid: n.pid,
                    image: Some(&n.image),
                    user: n.user.as_deref(),
                    direction: Some(n.direction.as_str()),
                    transport: Some(&n.transport),
                    source_ip: Some(sip),
                    source_port: sp,
                    destination_ip: Some(dip),
                    destination_port: dp,
                    local_side: Some(n.local_side.as_str()),
                    ..Fields::default()
                }
            }
            Kind::Boot(b) => Fields {
                boot_marker: Some(&b.marker),
                ..Fields::default()
            },
        }
    }
}

/// Rows of the timeline's events, in order: `row(event index, event, graph ids, sink)` for each
/// event of the selection, blocks of them encoded on the thread pool (see
/// [`TableOut::rows_par`]).
pub fn timeline_rows<F>(t: &mut TableOut, r: &ReportInput<'_>, row: F) -> Result<(), ReportError>
where
    F: Fn(usize, &Event, &mut GraphIds<'_>, &mut RowSink<'_>) -> Result<(), ReportError> + Sync,
{
    t.rows_par(r.timeline.len(), |ks, sink| {
        let mut c = r.loaded.events.cursor();
        let mut ids = GraphIds::new(r);
        for k in ks {
            let i = r.timeline.at(k);
            if let Some(e) = c.event(i) {
                row(i, &e, &mut ids, sink)?;
            }
        }
        Ok(())
    })
}

/// The entity id of the graph node an event resolved to (fills in 5156's process), row after
/// row: the last host's graph is remembered (a timeline's events come from one host in runs),
/// so most rows skip the lookup by name.
pub struct GraphIds<'a> {
    r: &'a ReportInput<'a>,
    last: Option<(Text, Option<HostIds<'a>>)>,
    /// Room for an id kept in its compact form (see [`crate::graph::EntityIds`]).
    buf: IdBuf,
}

impl<'a> GraphIds<'a> {
    pub fn new(r: &'a ReportInput<'a>) -> GraphIds<'a> {
        GraphIds {
            r,
            last: None,
            buf: IdBuf::new(),
        }
    }

    /// The entity id of the graph node event `i` (of host `host`) resolved to.
    pub fn of(&mut self, host: &Text, i: usize) -> Option<&str> {
        let n = self.r.graph.resolved(i)?.node()?;
        let hg = match &self.last {
            Some((h, hg)) if Arc::ptr_eq(h, host) || **h == **host => *hg,
            _ => {
                let hg = self.r.graph.ids(host);
                self.last = Some((host.clone(), hg));
                hg
            }
        };
        hg?.entity_id(n, &mut self.buf)
    }
}

fn done(t: TableOut, name: &'static str) -> Result<TableDone, ReportError> {
    let rows = t.rows();
    let truncated = t.truncated();
    Ok(TableDone {
        name,
        rows,
        truncated,
        staged: t.finish()?,
    })
}

pub fn findings(
    dir: &Path,
    r: &ReportInput<'_>,
    csv: Option<CsvMode>,
    jsonl: bool,
) -> Result<TableDone, ReportError> {
    let mut t = TableOut::create(dir, "findings", FINDINGS_COLUMNS, csv, jsonl)?;
    for (k, f) in r.findings.iter().enumerate() {
        let hg = r.graph.host(&f.host);
        let key = f.key_node.and_then(|n| hg.and_then(|h| h.get_proc(n)));
        let descendants: Vec<&str> = match (f.key_node, hg) {
            (Some(n), Some(h)) => h
                .descendants(n)
                .into_iter()
                .filter_map(|c| h.get_proc(c))
                .map(|p| p.command_line.unwrap_or(p.image))
                .collect(),
            _ => Vec::new(),
        };
        let evidence = r.context.get(k).map_or(f.events.len(), Vec::len);
        t.row(&[
            Cell::str(&f.id),
            Cell::str(&f.rule_id),
            Cell::str(&f.rule_name),
            Cell::str(&f.severity),
            Cell::UInt(f.risk_score.into()),
            Cell::owned(f.techniques.join(";")),
            Cell::str(&f.host),
            Cell::owned(f.first_time.iso()),
            Cell::owned(f.last_time.iso()),
            Cell::opt_str(f.remote.as_deref()),
            Cell::opt_str(key.map(|p| p.entity_id)),
            Cell::opt_uint(key.and_then(|p| p.pid)),
            Cell::opt_str(key.map(|p| p.image)),
            Cell::opt_str(key.and_then(|p| p.command_line)),
            if descendants.is_empty() {
                Cell::Null
            } else {
                Cell::owned(descendants.join("\n"))
            },
            Cell::UInt(f.events.len() as u64),
            Cell::UInt(evidence as u64),
            if f.gaps.is_empty() {
                Cell::Null
            } else {
                Cell::owned(f.gap_codes())
            },
        ])?;
    }
    done(t, "findings")
}

pub fn evidence(
    dir: &Path,
    r: &ReportInput<'_>,
    csv: Option<CsvMode>,
    jsonl: bool,
) -> Result<TableDone, ReportError> {
    let sha: BTreeMap<&str, &str> = r
        .loaded
        .inputs
        .iter()
        .map(|i| (&*i.input.display, i.input.sha256.as_str()))
        .collect();
    let mut t = TableOut::create(dir, "evidence", EVIDENCE_COLUMNS, csv, jsonl)?;
    let mut ids = GraphIds::new(r);
    for (k, f) in r.findings.iter().enumerate() {
        let ctx = r.records_of(k, f);
        let mut c = r.loaded.events.cursor();
        for i in ctx {
            let Some(e) = c.event(i) else {
                continue;
            };
            let e = &e;
            let stages = f.roles_of(i);
            let role = if stages.is_empty() {
                "context".to_string()
            } else {
                stages.join(";")
            };
            let x = Fields::of(e);
            t.row(&[
                Cell::str(&f.id),
                Cell::owned(role),
                Cell::str(&e.prov.file),
                Cell::opt_str(sha.get(&*e.prov.file).copied()),
                Cell::opt_uint(e.prov.chunk),
                Cell::opt_uint(e.prov.offset),
                Cell::opt_uint(e.prov.line),
                Cell::UInt(e.record_id),
                Cell::str(&e.channel),
                Cell::UInt(e.event_id.into()),
                Cell::owned(e.time.iso()),
                Cell::str(&e.host),
                Cell::str(e.kind_name()),
                Cell::opt_str(x.entity_id),
                Cell::opt_str(ids.of(&e.host, i)),
                Cell::opt_uint(x.pid),
                Cell::opt_str(x.image),
                Cell::opt_str(x.command_line),
                Cell::opt_str(x.parent_entity_id),
                Cell::opt_uint(x.parent_pid),
                Cell::opt_str(x.parent_image),
                Cell::opt_str(x.direction),
                Cell::opt_str(x.transport),
                Cell::opt_str(x.source_ip),
                Cell::opt_uint(x.source_port),
                Cell::opt_str(x.destination_ip),
                Cell::opt_uint(x.destination_port),
                Cell::str(r.loaded.integrity.of(e).as_str()),
            ])?;
        }
    }
    done(t, "evidence")
}

/// For each event index: the findings it is a stage of, and those it is only context of.
pub fn finding_marks<'a>(
    r: &'a ReportInput<'_>,
) -> BTreeMap<usize, (BTreeSet<&'a str>, BTreeSet<&'a str>)> {
    let mut m: BTreeMap<usize, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for (k, f) in r.findings.iter().enumerate() {
        for &i in &f.events {
            m.entry(i).or_default().0.insert(&f.id);
        }
        for &i in r.context.get(k).map(Vec::as_slice).unwrap_or(&[]) {
            if !f.events.contains(&i) {
                m.entry(i).or_default().1.insert(&f.id);
            }
        }
    }
    m
}

fn joined(s: Option<&BTreeSet<&str>>) -> Cell<'static> {
    match s {
        Some(s) if !s.is_empty() => Cell::owned(s.iter().copied().collect::<Vec<_>>().join(";")),
        _ => Cell::Null,
    }
}

pub fn timeline(
    dir: &Path,
    r: &ReportInput<'_>,
    csv: Option<CsvMode>,
    jsonl: bool,
) -> Result<TableDone, ReportError> {
    let marks = finding_marks(r);
    let mut t = TableOut::create(dir, "timeline", TIMELINE_COLUMNS, csv, jsonl)?;
    timeline_rows(&mut t, r, |i, e, ids, sink| {
        let x = Fields::of(e);
        let m = marks.get(&i);
        let (time, utc_time) = (e.time.iso_text(), e.utc_time.map(Ts::iso_text));
        sink.row(&[
            Cell::str(time.as_str()),
            utc_time
                .as_ref()
                .map_or(Cell::Null, |u| Cell::str(u.as_str())),
            Cell::str(&e.host),
            Cell::str(&e.channel),
            Cell::str(&e.provider),
            Cell::UInt(e.event_id.into()),
            Cell::UInt(e.record_id),
            Cell::str(e.kind_name()),
            Cell::str(&e.prov.file),
            Cell::opt_uint(e.prov.chunk),
            Cell::opt_uint(e.prov.offset),
            Cell::opt_uint(e.prov.line),
            Cell::opt_str(x.entity_id),
            Cell::opt_str(ids.of(&e.host, i)),
            Cell::opt_uint(x.pid),
            Cell::opt_str(x.image),
            Cell::opt_str(x.command_line),
            Cell::opt_str(x.parent_entity_id),
            Cell::opt_uint(x.parent_pid),
            Cell::opt_str(x.parent_image),
            Cell::opt_str(x.parent_command_line),
            Cell::opt_str(x.user),
            Cell::opt_str(x.hashes),
            Cell::opt_str(x.current_directory),
            Cell::opt_str(x.integrity_level),
            Cell::opt_str(x.direction),
            Cell::opt_str(x.transport),
            Cell::opt_str(x.source_ip),
            Cell::opt_uint(x.source_port),
            Cell::opt_str(x.destination_ip),
            Cell::opt_uint(x.destination_port),
            Cell::opt_str(x.local_side),
            Cell::opt_str(x.boot_marker),
            joined(m.map(|m| &m.0)),
            joined(m.map(|m| &m.1)),
            Cell::str(r.loaded.integrity.of(e).as_str()),
        ])
    })?;
    done(t, "timeline")
}
