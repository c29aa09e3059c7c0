//! Text (pstree-like) and JSON renderings of a host graph.

use super::{HostGraph, NetEdge, Origin};
use crate::display::{or_unknown, term};
use crate::event::Direction;
use serde::Serialize;
use std::fmt::Write;

/// What to show.
#[derive(Debug, Clone, Default)]
pub struct TreeOpts {
    /// Only the subtree around these nodes (with their ancestors); all roots when empty.
    pub focus: Vec<usize>,
    /// Maximum depth below each shown root (or below a focused node).
    pub depth: Option<usize>,
}

fn hms(t: crate::time::Ts) -> String {
    // Time of day with milliseconds, the date is in the node line.
    let iso = t.iso();
    iso.get(11..23).unwrap_or(&iso).to_string()
}

/// One connection's line; `records`: how many events are behind it.
pub fn edge_line(e: &NetEdge<'_>, records: usize) -> String {
    let ev = if records > 1 {
        format!(" ({records} records)")
    } else {
        String::new()
    };
    match e.direction {
        Direction::Ingress => format!(
            "← {}:{} → :{} {} {}{}",
            term(e.remote_ip),
            or_unknown(e.remote_port),
            or_unknown(e.local_port),
            term(e.transport),
            hms(e.time),
            ev
        ),
        Direction::Egress => format!(
            "→ {}:{} from :{} {} {}{}",
            term(e.remote_ip),
            or_unknown(e.remote_port),
            or_unknown(e.local_port),
            term(e.transport),
            hms(e.time),
            ev
        ),
    }
}

pub fn node_line(g: &HostGraph, n: usize) -> String {
    let p = g.proc(n);
    let when = match p.start {
        Some(s) => s.iso(),
        None => format!("{:<28}", "(start not logged)"),
    };
    let pid = or_unknown(p.pid);
    let name = if p.image.is_empty() { "?" } else { p.name() };
    let mut s = format!("{when} [{pid}] {}", term(name));
    if let Some(c) = p.command_line {
        let _ = write!(s, "  {}", term(c));
    }
    match p.origin {
        Origin::Placeholder => s.push_str("  (not logged: known from its child or connection)"),
        Origin::Synthetic => s.push_str("  (known only from Security 5156)"),
        Origin::Logged => {}
    }
    if let Some(e) = p.end {
        let _ = write!(s, "  (ended {})", hms(e));
    }
    s
}

/// Per node index of `g`: whether it is one of the `focus` nodes, or an ancestor or a
/// descendant of one (what a focused tree shows, as text or JSON).
pub fn focus_keep(g: &HostGraph, focus: &[usize]) -> Vec<bool> {
    let mut keep = vec![false; g.proc_count()];
    for &f in focus {
        keep[f] = true;
        g.ancestors(f).into_iter().for_each(|a| keep[a] = true);
        g.descendants(f).into_iter().for_each(|d| keep[d] = true);
    }
    keep
}

/// Render the host's tree as text.
pub fn text(g: &HostGraph, opts: &TreeOpts) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", term(&g.host));
    if !g.boots.is_empty() {
        let boots: Vec<String> = g
            .boots
            .iter()
            .map(|b| format!("{} ({})", b.time.iso(), b.marker))
            .collect();
        let _ = writeln!(out, "  boots: {}", boots.join(", "));
    }
    let (roots, keep): (Vec<usize>, Option<Vec<bool>>) = if opts.focus.is_empty() {
        (g.roots(), None)
    } else {
        let mut roots = Vec::new();
        for &f in &opts.focus {
            let root = g.ancestors(f).last().copied().unwrap_or(f);
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        (roots, Some(focus_keep(g, &opts.focus)))
    };
    let depth_base: Vec<usize> = opts.focus.iter().map(|&f| g.ancestors(f).len()).collect();
    let max_depth = opts
        .depth
        .map(|d| d + depth_base.iter().copied().max().unwrap_or(0));
    let n_roots = roots.len();
    for (k, r) in roots.into_iter().enumerate() {
        walk(
            g,
            r,
            "",
            k + 1 == n_roots,
            0,
            max_depth,
            keep.as_deref(),
            &mut out,
        );
    }
    out
}

/// The deepest tree level drawn (bounds recursion and the indentation's size).
pub const MAX_TREE_DEPTH: usize = 256;

#[allow(clippy::too_many_arguments)]
fn walk(
    g: &HostGraph,
    n: usize,
    prefix: &str,
    last: bool,
    depth: usize,
    max: Option<usize>,
    keep: Option<&[bool]>,
    out: &mut String,
) {
    let branch = if last { "└─ " } else { "├─ " };
    let _ = writeln!(out, "{prefix}{branch}{}", node_line(g, n));
    let child_prefix = format!("{prefix}{}", if last { "   " } else { "│  " });
    let children: Vec<usize> = g
        .children(n)
        .filter(|&c| keep.is_none_or(|k| k[c]))
        .collect();
    // A fabricated parent chain can be arbitrarily deep (or, with --focus, cyclic): the
    // recursion stops at MAX_TREE_DEPTH whatever --depth says, instead of overflowing the stack.
    let capped = depth >= MAX_TREE_DEPTH;
    let deeper = !capped && max.is_none_or(|m| depth < m);
    for e in g.edges_of(n) {
        let bar = if children.is_empty() || !deeper {
            "   "
        } else {
            "│  "
        };
        let _ = writeln!(
            out,
            "{child_prefix}{bar}{}",
            edge_line(&g.edge(e), g.edge_evidence(e).len())
        );
    }
    if !deeper {
        if !children.is_empty() {
            let why = if capped {
                format!("deeper than {MAX_TREE_DEPTH} levels, not drawn")
            } else {
                "below --depth".to_owned()
            };
            let _ = writeln!(
                out,
                "{child_prefix}   … {} child process(es) {why}",
                children.len()
            );
        }
        return;
    }
    let k = children.len();
    for (j, c) in children.into_iter().enumerate() {
        walk(g, c, &child_prefix, j + 1 == k, depth + 1, max, keep, out);
    }
}

/// JSON shape of one host's graph for other tools.
#[derive(Serialize)]
pub struct JsonHost<'a> {
    pub host: &'a str,
    pub boots: &'a [super::BootMark],
    pub processes: Vec<JsonProc<'a>>,
}

#[derive(Serialize)]
pub struct JsonProc<'a> {
    #[serde(flatten)]
    pub node: super::ProcNode<'a>,
    pub children: Vec<&'a str>,
    pub connections: Vec<NetEdge<'a>>,
    /// Evidence records: `file#record_id`.
    pub evidence: Vec<String>,
}

pub fn json<'a>(
    g: &'a HostGraph,
    events: &crate::store::EventStore,
    only: Option<&[bool]>,
) -> JsonHost<'a> {
    let mut cursor = events.cursor();
    let processes = (0..g.proc_count())
        .filter(|&i| only.is_none_or(|k| k[i]))
        .map(|i| {
            let p = g.proc(i);
            JsonProc {
                node: p,
                children: g.children(i).map(|c| g.proc(c).entity_id).collect(),
                connections: g.edges_of(i).map(|e| g.edge(e)).collect(),
                evidence: g
                    .evidence(i)
                    .filter_map(|ev| cursor.event(ev))
                    .map(|e| format!("{}#{}", e.prov.file, e.record_id))
                    .collect(),
            }
        })
        .collect();
    JsonHost {
        host: &g.host,
        boots: &g.boots,
        processes,
    }
}
