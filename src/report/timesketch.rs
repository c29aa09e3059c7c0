//! `--timesketch`: a timeline Timesketch imports as is (CSV or JSON lines with `message`,
//! `datetime`, `timestamp`, `timestamp_desc`, then the event's fields). Never modified for
//! spreadsheets, whatever `--excel` says.

use super::csv_out::{Fields, finding_marks, timeline_rows};
use super::table::{Cell, CsvMode, TableOut};
use super::{ReportError, ReportInput, TableDone};
use crate::display::or_unknown;
use crate::event::{Event, Kind};
use std::path::Path;

pub const TIMESKETCH_COLUMNS: &[&str] = &[
    "message",
    "datetime",
    "timestamp",
    "timestamp_desc",
    "data_type",
    "hostname",
    "channel",
    "event_id",
    "record_id",
    "file",
    "entity_id",
    "pid",
    "image",
    "command_line",
    "parent_entity_id",
    "parent_pid",
    "parent_image",
    "user",
    "direction",
    "transport",
    "source_ip",
    "source_port",
    "destination_ip",
    "destination_port",
    "finding_ids",
];

/// What the event's time means, in Timesketch's terms.
pub fn timestamp_desc(e: &Event) -> &'static str {
    match e.kind {
        Kind::ProcessStart(_) => "Process Start",
        Kind::ProcessEnd(_) => "Process End",
        Kind::Network(_) => "Network Connection",
        Kind::Boot(_) => "Boot",
    }
}

/// A one-line description (values as recorded; Timesketch escapes them itself).
pub fn message(e: &Event) -> String {
    let what = match &e.kind {
        Kind::ProcessStart(p) => format!(
            "Process start [{}] {} (parent [{}] {})",
            or_unknown(p.pid),
            p.command_line.as_deref().unwrap_or(&p.image),
            or_unknown(p.parent_pid),
            p.parent_image.as_deref().unwrap_or("?")
        ),
        Kind::ProcessEnd(p) => format!("Process end [{}] {}", or_unknown(p.pid), p.image),
        Kind::Network(n) => {
            let (s, sp) = n.source();
            let (d, dp) = n.destination();
            format!(
                "Network {} {} {s}:{} -> {d}:{} [{}] {}",
                n.direction.as_str(),
                n.transport,
                or_unknown(sp),
                or_unknown(dp),
                or_unknown(n.pid),
                n.image
            )
        }
        Kind::Boot(b) => format!("Boot marker {}", b.marker),
    };
    format!("{} {}: {what}", e.channel, e.event_id)
}

pub fn write(
    dir: &Path,
    r: &ReportInput<'_>,
    csv: bool,
    jsonl: bool,
) -> Result<TableDone, ReportError> {
    let marks = finding_marks(r);
    let mut t = TableOut::create(
        dir,
        "timesketch",
        TIMESKETCH_COLUMNS,
        csv.then_some(CsvMode::Exact),
        jsonl,
    )?;
    // Blocks of rows encoded on the thread pool, as the timeline's.
    timeline_rows(&mut t, r, |i, e, graph_ids, sink| {
        let x = Fields::of(e);
        let ids: Vec<&str> = marks
            .get(&i)
            .map(|(s, c)| {
                let mut v: Vec<&str> = s.iter().chain(c.iter()).copied().collect();
                v.sort_unstable();
                v.dedup();
                v
            })
            .unwrap_or_default();
        let time = e.time.iso_text();
        sink.row(&[
            Cell::owned(message(e)),
            Cell::str(time.as_str()),
            Cell::Int(e.time.unix_micros()),
            Cell::str(timestamp_desc(e)),
            Cell::owned(format!("dcomhunt:{}", e.kind_name())),
            Cell::str(&e.host),
            Cell::str(&e.channel),
            Cell::UInt(e.event_id.into()),
            Cell::UInt(e.record_id),
            Cell::str(&e.prov.file),
            Cell::opt_str(x.entity_id.or_else(|| graph_ids.of(&e.host, i))),
            Cell::opt_uint(x.pid),
            Cell::opt_str(x.image),
            Cell::opt_str(x.command_line),
            Cell::opt_str(x.parent_entity_id),
            Cell::opt_uint(x.parent_pid),
            Cell::opt_str(x.parent_image),
            Cell::opt_str(x.user),
            Cell::opt_str(x.direction),
            Cell::opt_str(x.transport),
            Cell::opt_str(x.source_ip),
            Cell::opt_uint(x.source_port),
            Cell::opt_str(x.destination_ip),
            Cell::opt_uint(x.destination_port),
            if ids.is_empty() {
                Cell::Null
            } else {
                Cell::owned(ids.join(";"))
            },
        ])
    })?;
    let rows = t.rows();
    Ok(TableDone {
        name: "timesketch",
        rows,
        truncated: 0,
        staged: t.finish()?,
    })
}
