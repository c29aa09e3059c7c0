//! `dcomhunt events`: the normalized events, as a table or JSON lines, plus a read summary.

use super::grid::{Col, Grid};
use super::scan::Window;
use super::{Inputs, Ui, exit};
use crate::display::{clip, or_unknown, term};
use crate::event::{Event, Kind, basename};
use crate::pipeline::load_with;
use anyhow::Result;
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
    #[command(flatten)]
    pub filters: super::scan::Filters,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: EventsFormat,
}

pub fn run(a: EventsArgs, ui: &Ui) -> Result<i32> {
    let mut w = Window::parse(&a.filters)?;
    let bar = super::progress::Bar::new(ui);
    let loaded = load_with(&a.inputs.paths, &bar)?;
    bar.clear();
    w.select_hosts(loaded.events.hosts())?;
    eprint!("{}", a.inputs.summary(&loaded, ui));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let ev = &loaded.events;
    let filtered = w.host.is_some() || w.from.is_some() || w.to.is_some();
    // Without a filter every event, in order; with one, those of the hosts and time window.
    let events: Box<dyn Iterator<Item = Event>> = if filtered {
        let mut c = ev.cursor();
        Box::new(
            (0..ev.len())
                .filter(|&i| ev.host(i).is_some_and(|h| w.host_ok(h)))
                .filter_map(move |i| c.event(i))
                .filter(|e| w.time_ok(e.time)),
        )
    } else {
        Box::new(ev.iter())
    };
    match a.format {
        EventsFormat::Jsonl => {
            for e in events {
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
            write!(out, "{}", table(events, &w).render(ui.width))?;
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

/// The events as a terminal table; times shown in `--tz` (UTC without it).
pub fn table(events: impl IntoIterator<Item = Event>, w: &Window) -> Grid {
    let mut t = Grid::new(&[
        Col::keep(if w.tz.is_some() { "time" } else { "time (UTC)" }),
        Col::moves("host"),
        Col::keep("event"),
        Col::keep("record"),
        Col::keep("pid"),
        Col::text("process", 12),
        Col::text("details", 24),
    ]);
    for e in events {
        let e = &e;
        let (pid, name) = pid_and_name(e);
        t.row(vec![
            w.show(e.time),
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
