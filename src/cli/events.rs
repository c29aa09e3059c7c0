//! `dcomhunt events`: the normalized events, as a table or JSON lines, plus a read summary.

use super::{Inputs, exit};
use crate::display::{clip, or_unknown, term};
use crate::event::{Event, Kind, basename};
use crate::pipeline::{Loaded, load};
use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use std::collections::BTreeMap;
use std::io::Write;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventsFormat {
    Table,
    Jsonl,
}

#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: EventsFormat,
}

pub fn run(a: EventsArgs, quiet: bool) -> Result<i32> {
    let loaded = load(&a.inputs.paths)?;
    if !quiet {
        eprint!("{}", summary(&loaded));
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match a.format {
        EventsFormat::Jsonl => {
            for e in loaded.events.iter() {
                let mut v = event_json(&e);
                if let Some(m) = v.as_object_mut() {
                    let flags = loaded.integrity.of(&e);
                    m.insert("integrity".into(), flags.as_str().into());
                }
                let line = serde_json::to_string(&v)?;
                out.write_all(crate::display::json_term(&line).as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        EventsFormat::Table => {
            writeln!(out, "{}", table(loaded.events.iter()))?;
        }
    }
    out.flush()?;
    Ok(exit::of(false, loaded.incomplete()))
}

/// One event as the JSON object `events --format jsonl` prints (keys sorted).
pub fn event_json(e: &Event) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    if let (Some(m), Some(n)) = (v.as_object_mut(), e.network()) {
        let (sip, sp) = n.source();
        let (dip, dp) = n.destination();
        m.insert("source_ip".into(), sip.into());
        m.insert("source_port".into(), sp.into());
        m.insert("destination_ip".into(), dip.into());
        m.insert("destination_port".into(), dp.into());
    }
    v
}

/// Short label for the event's source: `Sysmon 1`, `Security 5156`, `System 6005`.
pub fn source_label(e: &Event) -> String {
    let ch = if e.channel.contains("Sysmon") {
        "Sysmon"
    } else {
        &e.channel
    };
    format!("{ch} {}", e.event_id)
}

/// What the event says, in one line.
pub fn details(e: &Event) -> String {
    match &e.kind {
        Kind::ProcessStart(p) => format!(
            "{}  (parent {} [{}])",
            p.command_line.as_deref().unwrap_or(&p.image),
            p.parent_image.as_deref().map(basename).unwrap_or("?"),
            or_unknown(p.parent_pid)
        ),
        Kind::ProcessEnd(p) => format!("ended {}", p.image),
        Kind::Network(n) => {
            // Initiator first: the remote side for an inbound connection.
            let ((sip, sp), (dip, dp)) = (n.source(), n.destination());
            let dir = match n.direction {
                crate::event::Direction::Ingress => "in",
                crate::event::Direction::Egress => "out",
            };
            format!(
                "{dir} {} {sip}:{} → {dip}:{}",
                n.transport,
                or_unknown(sp),
                or_unknown(dp)
            )
        }
        Kind::Boot(b) => format!("boot marker ({})", b.marker),
    }
}

fn pid_and_name(e: &Event) -> (String, String) {
    let (pid, img) = match &e.kind {
        Kind::ProcessStart(p) => (p.pid, p.image.as_ref()),
        Kind::ProcessEnd(p) => (p.pid, p.image.as_ref()),
        Kind::Network(n) => (n.pid, n.image.as_ref()),
        Kind::Boot(_) => (None, ""),
    };
    (
        pid.map(|p| p.to_string()).unwrap_or_default(),
        basename(img).to_string(),
    )
}

pub fn table(events: impl IntoIterator<Item = Event>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            "time (UTC)",
            "host",
            "event",
            "record",
            "pid",
            "process",
            "details",
        ]);
    for e in events {
        let e = &e;
        let (pid, name) = pid_and_name(e);
        t.add_row(vec![
            e.time.iso(),
            term(&e.host),
            source_label(e),
            e.record_id.to_string(),
            pid,
            term(&name),
            term(&clip(&details(e), 400)),
        ]);
    }
    t
}

/// The stderr summary: files, records, kept events per (channel, id), damage.
pub fn summary(l: &Loaded) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let records: u64 = l.inputs.iter().map(|i| i.stats.records_read).sum();
    let mut kept: BTreeMap<&str, u64> = BTreeMap::new();
    for i in &l.inputs {
        for (k, v) in &i.kept {
            *kept.entry(k.as_str()).or_default() += v;
        }
    }
    let bytes: u64 = l.inputs.iter().map(|i| i.input.size).sum();
    let _ = writeln!(
        s,
        "read {} file(s), {} bytes, {} records; kept {} events{}",
        l.inputs.len(),
        bytes,
        records,
        l.events.len(),
        match l.integrity.duplicates_removed {
            0 => String::new(),
            n => format!(" ({n} duplicate copies left out; counts below include them)"),
        }
    );
    for (k, v) in &kept {
        let _ = writeln!(s, "  {v:>8}  {}", term(k));
    }
    if l.spilled > 0 {
        let _ = writeln!(
            s,
            "kept events beyond --spill-mib: {:.1} MiB in a temporary file",
            l.spilled as f64 / (1 << 20) as f64
        );
    }
    if let Some(f) = &l.spill_failure {
        let _ = writeln!(s, "warning: {} (those events were kept in memory)", term(f));
    }
    for sk in &l.skipped {
        let _ = writeln!(s, "skipped {}: {}", term(&sk.path), term(&sk.reason));
    }
    for i in &l.inputs {
        let st = &i.stats;
        if !st.incomplete() && !st.dirty && st.notes.is_empty() {
            continue;
        }
        let mut flags = Vec::new();
        if st.truncated {
            flags.push("TRUNCATED");
        }
        if st.dirty {
            flags.push("dirty (not closed cleanly)");
        }
        if !st.damage.is_empty() {
            flags.push("DAMAGED");
        }
        if st.header_unverified || !st.unverified_chunks.is_empty() {
            flags.push("UNVERIFIED (CRC32 mismatch)");
        }
        let _ = writeln!(
            s,
            "{}: {} ({} records read)",
            term(&i.input.display),
            if flags.is_empty() {
                "note".to_string()
            } else {
                flags.join(", ")
            },
            st.records_read
        );
        for n in &st.notes {
            let _ = writeln!(s, "    {}", term(n));
        }
        for d in &st.damage {
            let mut at = Vec::new();
            if let Some(c) = d.chunk {
                at.push(format!("chunk {c}"));
            }
            if let Some(o) = d.offset {
                at.push(format!("offset {o:#x}"));
            }
            if let Some(l) = d.line {
                at.push(format!("line {l}"));
            }
            let _ = writeln!(s, "    {}: {}", at.join(", "), term(&d.reason));
        }
    }
    let integ = &l.integrity;
    if integ.duplicates_removed > 0 {
        let _ = writeln!(
            s,
            "duplicates: {} record copies found more than once, analysed once (flagged duplicate; \
             manifest: integrity.duplicates)",
            integ.duplicates_removed
        );
        for d in integ.duplicates.iter().take(10) {
            let chunk = |c: Option<u64>| c.map_or(String::new(), |c| format!(" chunk {c}"));
            let _ = writeln!(
                s,
                "    {} record(s) {}..={} of {}{} repeated in {}{}",
                d.records,
                d.first_record_id,
                d.last_record_id,
                term(&d.kept_file),
                chunk(d.kept_chunk),
                term(&d.file),
                chunk(d.chunk)
            );
        }
        if integ.duplicates.len() > 10 {
            let _ = writeln!(s, "    and {} more", integ.duplicates.len() - 10);
        }
    }
    if !integ.conflicts.is_empty() {
        let _ = writeln!(
            s,
            "CONFLICTS: {} record id(s) found with different contents: every copy kept, flagged \
             conflict (manifest: integrity.conflicts)",
            integ.conflicts.len()
        );
    }
    if l.incomplete() {
        let n = l.inputs.iter().filter(|i| i.stats.incomplete()).count();
        let _ = writeln!(
            s,
            "INPUT INCOMPLETE: {n} file(s) could not be read completely or failed an integrity \
             check (see above)"
        );
    }
    s
}
