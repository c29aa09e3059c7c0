//! `report.html`: the run and its findings in one self-contained page — inline style sheet and
//! SVG, no script, nothing fetched (a Content-Security-Policy forbids every request) — to open
//! from a case file on an air-gapped machine, print on A4 in black and white, or attach to a
//! report. Each finding's chain is drawn (`chain.rs`); every evidence value is written as text
//! (`esc.rs`). Like the other report files it depends only on the inputs and options: the run's
//! start time and command line are in `manifest.json`, not here.

mod chain;
pub mod esc;
mod run;
mod style;

use super::atomic::{AtomicFile, Staged};
use super::{ReportError, ReportInput, ReportOptions};
use crate::detect::Finding;
use crate::event::{Direction, Event, Kind};
use crate::graph::HostGraph;
use crate::time::Ts;
use chain::{Chain, endpoint, rel};
use esc::{attr, html, text};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

pub use chain::{EDGES_SHOWN, SIBLINGS_SHOWN};

/// The report file's name.
pub const FILE: &str = "report.html";

/// Context records (beside the matched ones) listed per finding: the nearest in time to a
/// matched event; `evidence.csv` lists every one.
pub const CONTEXT_ROWS: usize = 24;

/// Write `report.html` into `dir` (staged; committed with the other report files).
pub fn write(dir: &Path, r: &ReportInput<'_>, opts: &ReportOptions) -> Result<Staged, ReportError> {
    let page = render(r, opts);
    let mut f = AtomicFile::create(dir, FILE)?;
    f.write_all(page.as_bytes())
        .map_err(|e| ReportError::io(&dir.join(FILE), e))?;
    f.finish()
}

/// The whole page.
pub fn render(r: &ReportInput<'_>, opts: &ReportOptions) -> String {
    let mut out = String::with_capacity(64 * 1024 + r.findings.len() * 8 * 1024);
    let version = env!("CARGO_PKG_VERSION");
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"dcomhunt {version}\">\
         <title>dcomhunt report: {} finding(s)</title><style>{}</style></head><body>\n",
        style::CSP,
        r.findings.len(),
        style::CSS
    );
    header(&mut out, r);
    overview(&mut out, r);
    // Each finding's section on the thread pool, joined in the findings' order.
    let sections: Vec<String> = r
        .findings
        .par_iter()
        .enumerate()
        .map(|(k, f)| {
            let mut s = String::new();
            finding(&mut s, r, k, f);
            s
        })
        .collect();
    for s in sections {
        out.push_str(&s);
    }
    run::section(&mut out, r, opts);
    let _ = write!(
        out,
        "<footer>Written by dcomhunt {version}. Every value is shown exactly as read; a \
         character that would not show as itself (a control character, a bidirectional or \
         invisible formatting character) appears as <span class=\"ctl\">⟨U+XXXX⟩</span>. \
         Times are UTC (TimeCreated). The run's start time, command line and the SHA-256 of \
         this file are in manifest.json beside it; evidence.csv lists every evidence record.\
         </footer>\n</body></html>\n"
    );
    out
}

fn header(out: &mut String, r: &ReportInput<'_>) {
    let l = r.loaded;
    out.push_str("<header><h1>DCOM lateral movement: dcomhunt report</h1>");
    let mut c = l.events.cursor();
    let span = match (c.event(0).map(|e| e.time), l.events.len().checked_sub(1)) {
        (Some(a), Some(last)) => c
            .event(last)
            .map(|e| format!("Evidence from {} to {}", a.iso(), e.time.iso())),
        _ => None,
    };
    let _ = write!(
        out,
        "<p class=\"sub\">{} · dcomhunt {}</p>",
        span.unwrap_or_else(|| "No events read".to_owned()),
        env!("CARGO_PKG_VERSION")
    );
    let hosts: BTreeSet<&str> = r.findings.iter().map(|f| &*f.host).collect();
    let incomplete = l.inputs.iter().filter(|i| i.stats.incomplete()).count();
    let _ = write!(
        out,
        "<div class=\"summary\"><div><b>{}</b>finding(s)</div><div><b>{}</b>host(s) with findings</div>\
         <div><b>{}</b>input file(s)</div><div><b>{}</b>events kept</div><div><b>{}</b>rule(s) run</div>\
         <div><b>{}</b>input(s) incomplete</div></div>",
        r.findings.len(),
        hosts.len(),
        l.inputs.len(),
        l.events.len(),
        r.rules.len(),
        incomplete
    );
    if incomplete > 0 {
        let _ = write!(
            out,
            "<p class=\"warn\"><b>Incomplete evidence:</b> {incomplete} input file(s) could not be \
             read completely (see <a href=\"#inputs\">Inputs</a>). Events in the damaged parts \
             are missing, and with them possibly findings.</p>"
        );
    }
    if r.runs.iter().any(|x| x.evicted > 0) {
        out.push_str(
            "<p class=\"warn\"><b>Findings may be missing:</b> a rule dropped pending sequences \
             at its memory cap (see <a href=\"#rules\">Rules</a>).</p>",
        );
    }
    out.push_str("</header>\n");
}

fn sev(out: &mut String, s: &str) {
    let class = match s.to_ascii_lowercase().as_str() {
        "critical" => "critical",
        "high" => "high",
        "medium" => "medium",
        _ => "low",
    };
    let _ = write!(out, "<span class=\"sev sev-{class}\">");
    text(out, s);
    out.push_str("</span>");
}

fn key_proc<'a>(r: &'a ReportInput<'_>, f: &Finding) -> Option<(&'a HostGraph, usize)> {
    let g = r.graph.host(&f.host)?;
    let k = f.key_node?;
    g.get_proc(k).map(|_| (g, k))
}

fn overview(out: &mut String, r: &ReportInput<'_>) {
    out.push_str("<h2 id=\"findings\">Findings</h2>");
    if r.findings.is_empty() {
        let _ = write!(
            out,
            "<p>No findings: {} rule(s) over {} event(s).</p>",
            r.rules.len(),
            r.loaded.events.len()
        );
        return;
    }
    out.push_str(
        "<table><thead><tr><th class=\"num\">#</th><th>severity</th><th>rule</th><th>host</th>\
         <th>time (UTC)</th><th>remote</th><th>process</th></tr></thead><tbody>",
    );
    for (k, f) in r.findings.iter().enumerate() {
        out.push_str("<tr><td class=\"num\"><a href=\"#f-");
        attr(out, &f.id);
        let _ = write!(out, "\">{}</a></td><td>", k + 1);
        sev(out, &f.severity);
        out.push_str("</td><td>");
        text(out, &f.rule_name);
        out.push_str("</td><td>");
        text(out, &f.host);
        let _ = write!(
            out,
            "</td><td class=\"mono nw\">{}</td><td class=\"mono nw\">",
            f.first_time.iso()
        );
        text(out, f.remote.as_deref().unwrap_or(""));
        out.push_str("</td><td class=\"cmd\">");
        if let Some((g, n)) = key_proc(r, f) {
            let p = g.proc(n);
            let _ = write!(
                out,
                "[{}] ",
                p.pid.map_or_else(|| "?".to_owned(), |p| p.to_string())
            );
            text(out, p.command_line.unwrap_or(p.image));
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table>\n");
}

/// The time everything of a finding is drawn relative to: its first matched network event's
/// (the connection), else its first event's.
fn base_time(r: &ReportInput<'_>, f: &Finding) -> Ts {
    let mut c = r.loaded.events.cursor();
    f.events
        .iter()
        .filter_map(|&i| c.event(i))
        .find(|e| e.network().is_some())
        .map_or(f.first_time, |e| e.time)
}

/// A finding's facts: label and HTML, in order (one more list per finding is one more row).
fn facts(r: &ReportInput<'_>, f: &Finding) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("Finding id", format!("<code>{}</code>", html(&f.id))),
        (
            "Rule",
            format!("{} <code>{}</code>", html(&f.rule_name), html(&f.rule_id)),
        ),
        (
            "Severity",
            format!("{} · risk score {}", html(&f.severity), f.risk_score),
        ),
        ("ATT&amp;CK", html(&f.techniques.join(", "))),
        ("Host", html(&f.host)),
        (
            "Time (UTC)",
            format!("{} – {}", f.first_time.iso(), f.last_time.iso()),
        ),
    ];
    if let Some(remote) = &f.remote {
        v.push(("Remote", format!("<code>{}</code>", html(remote))));
    }
    if !f.gaps.is_empty() {
        // What the evidence lacks that the rule decided without (docs/rules.md).
        let items: String = f
            .gaps
            .iter()
            .map(|g| {
                format!(
                    "<li><code>{}</code> {}</li>",
                    html(&g.code),
                    html(&g.detail)
                )
            })
            .collect();
        v.push((
            "Decided under gaps",
            format!("<ul class=\"gaps\">{items}</ul>"),
        ));
    }
    if let Some((g, n)) = key_proc(r, f) {
        let p = g.proc(n);
        v.push((
            "Key process",
            format!(
                "PID {} <span class=\"cmd\">{}</span>",
                p.pid.map_or_else(|| "?".to_owned(), |p| p.to_string()),
                html(p.command_line.unwrap_or(p.image))
            ),
        ));
    }
    v
}

fn finding(out: &mut String, r: &ReportInput<'_>, k: usize, f: &Finding) {
    let _ = write!(out, "<section class=\"finding\" id=\"f-");
    attr(out, &f.id);
    out.push_str("\"><h2>");
    sev(out, &f.severity);
    let _ = write!(out, " {}. ", k + 1);
    text(out, &f.rule_name);
    out.push_str(" <span class=\"sub\">on ");
    text(out, &f.host);
    out.push_str("</span></h2><dl class=\"facts\">");
    for (label, value) in facts(r, f) {
        let _ = write!(out, "<dt>{label}</dt><dd>{value}</dd>");
    }
    out.push_str("</dl>");
    let base = base_time(r, f);
    match r.graph.host(&f.host) {
        Some(g) => {
            let ch = chain_of(r, f, g, base);
            out.push_str(
                "<h3>Chain</h3><div class=\"chain\"><div class=\"legend\"><span>lines: process \
                 launched its child</span><span>arrows: network connection (dashed box: remote \
                 end)</span><span>times relative to the connection</span></div>",
            );
            ch.draw(out);
            out.push_str("</div>");
            let mut wider = String::new();
            if ch.draw_wider(&mut wider) {
                out.push_str(
                    "<details class=\"wider\"><summary>Wider process tree of the host around \
                     this finding (other child processes of each ancestor)</summary>",
                );
                out.push_str(&wider);
                let _ = write!(
                    out,
                    "<p class=\"more\">Up to {SIBLINGS_SHOWN} other child processes per ancestor, \
                     the nearest in start time; <code>dcomhunt tree</code> draws the host's whole \
                     tree.</p></details>"
                );
            }
        }
        None => out.push_str("<p class=\"more\">The process graph of this host is not held.</p>"),
    }
    evidence(out, r, k, f, base);
    out.push_str("</section>\n");
}

fn chain_of<'a>(r: &ReportInput<'_>, f: &Finding, g: &'a HostGraph, base: Ts) -> Chain<'a> {
    let mut stages: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut matched_edges = BTreeSet::new();
    for (&s, &i) in f.stages.iter().zip(&f.events) {
        let Some(n) = r.graph.resolved(i).and_then(|x| x.node()) else {
            continue;
        };
        if g.get_proc(n).is_none() {
            continue;
        }
        let tags = stages.entry(n).or_default();
        if !tags.contains(&(s as usize + 1)) {
            tags.push(s as usize + 1);
        }
        matched_edges.extend(
            g.edges_of(n)
                .filter(|&e| g.edge_evidence(e).any(|x| x == i)),
        );
    }
    Chain {
        g,
        base,
        key: f.key_node,
        stages,
        matched_edges,
    }
}

/// The records shown with a finding: [`super::nearest_records`] of its context, at most
/// [`CONTEXT_ROWS`] beside the matched ones; and how many were left out.
fn shown_records(r: &ReportInput<'_>, k: usize, f: &Finding) -> (Vec<usize>, usize) {
    super::nearest_records(&r.loaded.events, f, r.records_of(k, f), CONTEXT_ROWS)
}

fn label(e: &Event) -> String {
    let ch: &str = if e.channel.contains("Sysmon") {
        "Sysmon"
    } else {
        &e.channel
    };
    format!("{ch} {}", e.event_id)
}

/// What an event says, as HTML.
fn details(e: &Event) -> String {
    match &e.kind {
        Kind::ProcessStart(p) => format!(
            "<span class=\"cmd\">{}</span> (parent {} PID {})",
            html(p.command_line.as_deref().unwrap_or(&p.image)),
            html(
                p.parent_image
                    .as_deref()
                    .map_or("?", crate::event::basename)
            ),
            p.parent_pid
                .map_or_else(|| "?".to_owned(), |x| x.to_string())
        ),
        Kind::ProcessEnd(p) => format!("ended <span class=\"cmd\">{}</span>", html(&p.image)),
        Kind::Network(n) => {
            let ((sip, sp), (dip, dp)) = (n.source(), n.destination());
            let dir = match n.direction {
                Direction::Ingress => "in",
                Direction::Egress => "out",
            };
            format!(
                "{dir} {} <code>{}</code> → <code>{}</code> · {}",
                html(&n.transport),
                html(&endpoint(sip, sp)),
                html(&endpoint(dip, dp)),
                html(&n.image)
            )
        }
        Kind::Boot(b) => format!("boot marker ({})", html(&b.marker)),
    }
}

fn evidence(out: &mut String, r: &ReportInput<'_>, k: usize, f: &Finding, base: Ts) {
    let (shown, left) = shown_records(r, k, f);
    out.push_str(
        "<h3>Evidence records</h3><table class=\"evidence\"><thead><tr><th>stage</th>\
         <th class=\"num\">rel</th><th>time (UTC)</th><th>event</th><th>file</th>\
         <th class=\"num\">chunk</th><th class=\"num\">EventRecordID</th><th>details</th></tr>\
         </thead><tbody>",
    );
    let mut c = r.loaded.events.cursor();
    for i in shown {
        let Some(e) = c.event(i) else { continue };
        let stages: Vec<String> = f
            .roles_of(i)
            .iter()
            .map(|s| format!("#{}", s.trim_start_matches("stage ")))
            .collect();
        let _ = write!(
            out,
            "<tr class=\"{}\"><td class=\"nw\">{}</td><td class=\"num\">{}</td><td class=\"mono nw\">{}</td><td class=\"nw\">{}</td><td class=\"path\">",
            if stages.is_empty() { "ctx" } else { "stage" },
            if stages.is_empty() {
                "context".to_owned()
            } else {
                stages.join(" ")
            },
            rel(e.time.ticks_since(base)),
            e.time.iso(),
            html(&label(&e))
        );
        text(out, &e.prov.file);
        let place = match (e.prov.chunk, e.prov.line) {
            (Some(ch), _) => ch.to_string(),
            (None, Some(l)) => format!("line {l}"),
            (None, None) => String::new(),
        };
        let _ = write!(
            out,
            "</td><td class=\"num\">{place}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            e.record_id,
            details(&e)
        );
    }
    out.push_str("</tbody></table>");
    if left > 0 {
        let _ = write!(
            out,
            "<p class=\"more\">{left} more record(s) of the processes involved, further in time \
             from the matched events, are listed in evidence.csv.</p>"
        );
    }
}
