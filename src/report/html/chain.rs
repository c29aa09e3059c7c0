//! A finding's chain drawn as a process tree: launch edges as the tree's lines, connections as
//! arrows between the process and the remote end's box, times relative to the connection.
//! Plain HTML boxes and inline SVG arrows; the lines are drawn by the style sheet.

use super::esc::{html, text};
use crate::event::Direction;
use crate::graph::render::MAX_TREE_DEPTH;
use crate::graph::{HostGraph, NetEdge, Origin};
use crate::time::Ts;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Connections drawn per process (the matched ones always; then the nearest in time to the
/// connection); the rest are counted.
pub const EDGES_SHOWN: usize = 6;
/// Other child processes drawn per ancestor in the wider tree (the nearest in start time to
/// the chain's process; as many as the scan keeps).
pub const SIBLINGS_SHOWN: usize = crate::detect::TREE_SIBLINGS;

/// What one finding's drawing needs to know.
pub struct Chain<'a> {
    pub g: &'a HostGraph,
    /// The connection's time: every time drawn is relative to it.
    pub base: Ts,
    /// The process the finding is about.
    pub key: Option<usize>,
    /// Node → the stages (1-based) whose event is about it.
    pub stages: BTreeMap<usize, Vec<usize>>,
    /// The connections (edge indexes) of the matched network events.
    pub matched_edges: BTreeSet<usize>,
}

/// A time difference for a person: `+0.281 s`, `−12 min 05 s`, `−2 h 00 min`, `+3 d 04 h`.
pub fn rel(ticks: i64) -> String {
    let sign = if ticks < 0 { '−' } else { '+' };
    let a = ticks.unsigned_abs();
    let s = a / 10_000_000;
    if s < 60 {
        format!("{sign}{}.{:03} s", s, (a % 10_000_000) / 10_000)
    } else if s < 3600 {
        format!("{sign}{} min {:02} s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{sign}{} h {:02} min", s / 3600, (s % 3600) / 60)
    } else {
        format!("{sign}{} d {:02} h", s / 86_400, (s % 86_400) / 3600)
    }
}

/// `ip:port` (IPv6 in brackets), `?` for an unknown port.
pub fn endpoint(ip: &str, port: Option<u16>) -> String {
    let p = port.map_or_else(|| "?".to_owned(), |p| p.to_string());
    if ip.contains(':') {
        format!("[{ip}]:{p}")
    } else {
        format!("{ip}:{p}")
    }
}

const ARROW_LEFT: &str = "<svg class=\"arrow\" viewBox=\"0 0 48 12\" aria-hidden=\"true\">\
<line x1=\"10\" y1=\"6\" x2=\"48\" y2=\"6\" stroke=\"currentColor\" stroke-width=\"2\"/>\
<path d=\"M0 6 12 0.5v11z\" fill=\"currentColor\"/></svg>";
const ARROW_RIGHT: &str = "<svg class=\"arrow\" viewBox=\"0 0 48 12\" aria-hidden=\"true\">\
<line x1=\"0\" y1=\"6\" x2=\"38\" y2=\"6\" stroke=\"currentColor\" stroke-width=\"2\"/>\
<path d=\"M48 6 36 0.5v11z\" fill=\"currentColor\"/></svg>";

impl Chain<'_> {
    /// The chain: the key process and the processes of the matched events with their
    /// ancestors, and the key process's descendants, with connections.
    pub fn draw(&self, out: &mut String) {
        let g = self.g;
        let mut shown: BTreeSet<usize> = BTreeSet::new();
        let mut focus: Vec<usize> = self.key.into_iter().collect();
        focus.extend(self.stages.keys().copied());
        for &f in &focus {
            if g.get_proc(f).is_some() {
                shown.insert(f);
                shown.extend(g.ancestors(f));
            }
        }
        if let Some(k) = self.key.filter(|&k| g.get_proc(k).is_some()) {
            shown.extend(g.descendants(k));
        }
        if shown.is_empty() {
            out.push_str(
                "<p class=\"more\">The process graph holds no process of this finding.</p>",
            );
            return;
        }
        let below_key: BTreeSet<usize> = self
            .key
            .filter(|&k| g.get_proc(k).is_some())
            .map(|k| g.descendants(k).into_iter().collect())
            .unwrap_or_default();
        out.push_str("<ul class=\"tree\">");
        for r in roots(g, &shown) {
            self.walk(out, r, &shown, &below_key, 0, true, &mut BTreeSet::new());
        }
        out.push_str("</ul>");
    }

    /// The host's wider tree around the finding: the chain's ancestors with up to
    /// [`SIBLINGS_SHOWN`] of each one's other child processes, and the key process's subtree;
    /// false (nothing drawn) when no ancestor has another child.
    pub fn draw_wider(&self, out: &mut String) -> bool {
        let g = self.g;
        let Some(k) = self.key.filter(|&k| g.get_proc(k).is_some()) else {
            return false;
        };
        let others = g.around(k, SIBLINGS_SHOWN);
        if others.is_empty() {
            return false;
        }
        let below_key: BTreeSet<usize> = g.descendants(k).into_iter().collect();
        let mut shown: BTreeSet<usize> = others.into_iter().collect();
        shown.insert(k);
        shown.extend(g.ancestors(k));
        shown.extend(below_key.iter().copied());
        out.push_str("<ul class=\"tree\">");
        for r in roots(g, &shown) {
            self.walk(out, r, &shown, &below_key, 0, false, &mut BTreeSet::new());
        }
        out.push_str("</ul>");
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        out: &mut String,
        n: usize,
        shown: &BTreeSet<usize>,
        below_key: &BTreeSet<usize>,
        depth: usize,
        edges: bool,
        seen: &mut BTreeSet<usize>,
    ) {
        if !seen.insert(n) {
            return;
        }
        out.push_str("<li><div class=\"row\">");
        self.node(out, n);
        let with_edges = edges
            && (Some(n) == self.key || self.stages.contains_key(&n) || below_key.contains(&n));
        self.edges(out, n, with_edges);
        out.push_str("</div>");
        let children: Vec<usize> = self
            .g
            .children(n)
            .filter(|c| shown.contains(c) && !seen.contains(c))
            .collect();
        if !children.is_empty() {
            if depth >= MAX_TREE_DEPTH {
                let _ = write!(
                    out,
                    "<p class=\"more\">… {} child process(es) deeper than {MAX_TREE_DEPTH} levels, not drawn</p>",
                    children.len()
                );
            } else {
                out.push_str("<ul>");
                for c in children {
                    self.walk(out, c, shown, below_key, depth + 1, edges, seen);
                }
                out.push_str("</ul>");
            }
        }
        out.push_str("</li>");
    }

    /// One process's box.
    fn node(&self, out: &mut String, n: usize) {
        let p = self.g.proc(n);
        let key = Some(n) == self.key;
        let stages = self.stages.get(&n);
        let class = if key {
            "proc key"
        } else if stages.is_some() {
            "proc stage"
        } else if p.origin != Origin::Logged {
            "proc ghost"
        } else {
            "proc"
        };
        let name = if p.image.is_empty() { "?" } else { p.name() };
        let _ = write!(
            out,
            "<div class=\"{class}\"><div class=\"head\"><span class=\"name\">"
        );
        text(out, name);
        out.push_str("</span><span class=\"pid\">PID ");
        match p.pid {
            Some(pid) => {
                let _ = write!(out, "{pid}");
            }
            None => out.push('?'),
        }
        out.push_str("</span>");
        if key {
            out.push_str("<span class=\"tag key\">KEY PROCESS</span>");
        }
        for s in stages.into_iter().flatten() {
            let _ = write!(out, "<span class=\"tag stage\">STAGE {s}</span>");
        }
        match p.start {
            Some(t) => {
                let _ = write!(
                    out,
                    "<span class=\"when\" title=\"{}\">started {}</span>",
                    t.iso(),
                    rel(t.ticks_since(self.base))
                );
            }
            None => out.push_str("<span class=\"when\">start not logged</span>"),
        }
        out.push_str("</div><span class=\"cmd\">");
        text(out, p.command_line.unwrap_or(p.image));
        out.push_str("</span>");
        let mut notes: Vec<String> = Vec::new();
        if p.command_line.is_some() && !p.image.is_empty() {
            notes.push(format!("image {}", html(p.image)));
        }
        if let Some(u) = p.user {
            notes.push(format!("user {}", html(u)));
        }
        match p.origin {
            Origin::Placeholder => {
                notes.push("not logged: known from its child or connection".to_owned())
            }
            Origin::Synthetic => notes.push("known only from Security 5156".to_owned()),
            Origin::Logged => {}
        }
        if let Some(e) = p.end {
            notes.push(format!(
                "<span title=\"{}\">ended {}</span>",
                e.iso(),
                rel(e.ticks_since(self.base))
            ));
        }
        if !notes.is_empty() {
            let _ = write!(out, "<div class=\"note\">{}</div>", notes.join(" · "));
        }
        out.push_str("</div>");
    }

    /// A process's connections: the matched ones, then the nearest in time to the connection,
    /// up to [`EDGES_SHOWN`]; `all`: false shows only the matched ones and a count.
    fn edges(&self, out: &mut String, n: usize, all: bool) {
        let g = self.g;
        let list: Vec<usize> = g.edges_of(n).collect();
        if list.is_empty() {
            return;
        }
        let mut pick: Vec<usize> = list
            .iter()
            .copied()
            .filter(|e| self.matched_edges.contains(e))
            .collect();
        if all {
            let mut rest: Vec<(u64, usize)> = list
                .iter()
                .copied()
                .filter(|e| !self.matched_edges.contains(e))
                .map(|e| (g.edge(e).time.ticks_since(self.base).unsigned_abs(), e))
                .collect();
            rest.sort_unstable();
            let room = EDGES_SHOWN.saturating_sub(pick.len());
            pick.extend(rest.into_iter().take(room).map(|(_, e)| e));
        }
        pick.sort_unstable_by_key(|&e| (g.edge(e).time, e));
        out.push_str("<div class=\"nets\">");
        for &e in &pick {
            self.edge(out, e, g.edge(e));
        }
        let left = list.len() - pick.len();
        if left > 0 {
            let _ = write!(
                out,
                "<div class=\"more\">{left} {} connection(s) of this process not drawn</div>",
                if pick.is_empty() { "" } else { "other" }
            );
        }
        out.push_str("</div>");
    }

    fn edge(&self, out: &mut String, e: usize, ed: NetEdge<'_>) {
        let matched = self.matched_edges.contains(&e);
        let records = self.g.edge_evidence(e).len();
        let (arrow, dir, port) = match ed.direction {
            Direction::Ingress => (ARROW_LEFT, "inbound", "to"),
            Direction::Egress => (ARROW_RIGHT, "outbound", "from"),
        };
        let _ = write!(
            out,
            "<div class=\"net {dir}{}\">{arrow}<div><span class=\"remote mono\">",
            if matched { " matched" } else { "" }
        );
        text(out, &endpoint(ed.remote_ip, ed.remote_port));
        out.push_str("</span><div class=\"t\">");
        text(out, dir);
        out.push(' ');
        text(out, ed.transport);
        let _ = write!(
            out,
            " {port} :{} · <span title=\"{}\">{}</span>",
            ed.local_port
                .map_or_else(|| "?".to_owned(), |p| p.to_string()),
            ed.time.iso(),
            rel(ed.time.ticks_since(self.base))
        );
        if records > 1 {
            let _ = write!(out, " · {records} records");
        }
        if matched {
            out.push_str(" · matched");
        }
        out.push_str("</div></div></div>");
    }
}

/// The shown nodes whose parent is not shown, in start order.
fn roots(g: &HostGraph, shown: &BTreeSet<usize>) -> Vec<usize> {
    let mut r: Vec<usize> = shown
        .iter()
        .copied()
        .filter(|&n| g.parent(n).is_none_or(|p| !shown.contains(&p)))
        .collect();
    r.sort_by_key(|&n| {
        let p = g.proc(n);
        (p.start.unwrap_or(p.first_seen), n)
    });
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(rel(2_810_000), "+0.281 s");
        assert_eq!(rel(-13_120_000), "−1.312 s");
        assert_eq!(rel(0), "+0.000 s");
        assert_eq!(rel(-(12 * 60 + 5) * 10_000_000), "−12 min 05 s");
        assert_eq!(rel(-7_199_998 * 10_000), "−1 h 59 min");
        assert_eq!(rel((3 * 86_400 + 4 * 3600) * 10_000_000), "+3 d 04 h");
        assert_eq!(endpoint("10.0.2.19", Some(33474)), "10.0.2.19:33474");
        assert_eq!(endpoint("fe80::1", None), "[fe80::1]:?");
    }
}
