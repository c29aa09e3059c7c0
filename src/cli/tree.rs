//! `dcomhunt tree`: each host's process tree with its network connections.

use super::{Inputs, Ui, UsageError, exit};
use crate::graph::render::{TreeOpts, focus_keep, json, text};
use crate::graph::{Graph, HostGraph, Keep};
use crate::pipeline::load_with;
use anyhow::Result;
use std::io::Write;
use std::sync::Arc;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct TreeArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Only this host: its full name or, when unambiguous, its short name (FS01 for
    /// FS01.corp.example), ignoring case. A name matching no host is an error listing the hosts.
    #[arg(long)]
    pub host: Option<String>,
    /// Only the subtree around processes matching this ProcessGuid, PID or image name, with
    /// their ancestors.
    #[arg(long, value_name = "GUID|PID|NAME")]
    pub process: Option<String>,
    /// Levels to show below each shown root (or below the chosen process).
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    /// Output format: an indented tree, or JSON (every process with its connections and the
    /// records behind them).
    #[arg(long, value_enum, default_value = "text")]
    pub format: TreeFormat,
}

/// Nodes matching a `--process` selector: a GUID / entity id, a PID, or an image basename.
pub fn select(g: &HostGraph, sel: &str) -> Vec<usize> {
    let s = sel.trim();
    let lower = s.to_ascii_lowercase();
    let braced = if lower.starts_with('{') {
        lower.clone()
    } else {
        format!("{{{lower}}}")
    };
    (0..g.proc_count())
        .filter(|&i| {
            let p = g.proc(i);
            *p.entity_id == *lower
                || *p.entity_id == *braced
                || s.parse::<u64>().ok().is_some_and(|pid| p.pid == Some(pid))
                || p.name().eq_ignore_ascii_case(s)
        })
        .collect()
}

/// One host's tree as `run` prints it.
enum Drawn {
    Text(String),
    Json(serde_json::Value),
}

/// One host drawn: its tree (none when `--process` matches none of its processes).
struct HostTree {
    host: Arc<str>,
    tree: Option<Drawn>,
}

/// Draw one host's tree; `None` when `--process` matches none of its processes.
fn draw(h: &HostGraph, a: &TreeArgs, events: &crate::store::EventStore) -> Result<Option<Drawn>> {
    let focus = match &a.process {
        Some(sel) => {
            let f = select(h, sel);
            if f.is_empty() {
                return Ok(None);
            }
            f
        }
        None => Vec::new(),
    };
    let opts = TreeOpts {
        focus: focus.clone(),
        depth: a.depth,
    };
    Ok(Some(match a.format {
        TreeFormat::Text => Drawn::Text(text(h, &opts)),
        TreeFormat::Json => {
            let keep = (!focus.is_empty()).then(|| focus_keep(h, &focus));
            Drawn::Json(serde_json::to_value(json(h, events, keep.as_deref()))?)
        }
    }))
}

pub fn run(a: TreeArgs, ui: &Ui) -> Result<i32> {
    let bar = super::progress::Bar::new(ui);
    let loaded = load_with(&a.inputs.paths, &bar)?;
    bar.stage("process graphs");
    // Each host is drawn as soon as its graph is built, and its graph let go: one host's
    // graph per worker is held at a time, not every host's. With --host, only that host's
    // graph is built.
    let hosts: Option<Vec<&str>> = match &a.host {
        Some(h) => {
            let known: Vec<&str> = loaded.events.hosts().iter().map(|k| &**k).collect();
            Some(super::hosts::match_host(h, &known)?)
        }
        None => None,
    };
    let wanted = |h: &str| hosts.as_ref().is_none_or(|v| v.contains(&h));
    let (_, drawn) = Graph::build_hosts_with(&loaded.events, wanted, |g, _| {
        let out = g.single().map(|h| {
            Ok(HostTree {
                host: h.host.clone(),
                tree: draw(h, &a, &loaded.events)?,
            })
        });
        (out, Keep::Nothing)
    });
    bar.clear();
    eprint!("{}", a.inputs.summary(&loaded, ui));
    let mut drawn: Vec<HostTree> = drawn.into_iter().flatten().collect::<Result<_>>()?;
    // In host name order, as the hosts of a built graph.
    drawn.sort_by(|x, y| x.host.cmp(&y.host));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut any_match = a.process.is_none();
    let mut json_hosts = Vec::new();
    for t in drawn {
        match t.tree {
            None => {}
            Some(Drawn::Text(t)) => {
                any_match = true;
                for line in t.lines() {
                    writeln!(out, "{}", super::grid::tree_line(line, ui.width))?;
                }
            }
            Some(Drawn::Json(v)) => {
                any_match = true;
                json_hosts.push(v);
            }
        }
    }
    if a.format == TreeFormat::Json {
        // Control and bidi characters of the evidence as `\uXXXX`: the same JSON value.
        let text = serde_json::to_string_pretty(&json_hosts)?;
        out.write_all(crate::display::json_term(&text).as_bytes())?;
        writeln!(out)?;
    }
    out.flush()?;
    if !any_match {
        return Err(UsageError(format!(
            "no process matches {:?}",
            a.process.unwrap_or_default()
        ))
        .into());
    }
    Ok(exit::of(false, loaded.incomplete()))
}
