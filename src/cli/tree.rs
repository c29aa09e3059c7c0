//! `dcomhunt tree`: each host's process tree with its network connections.

use super::{Inputs, UsageError, exit};
use crate::graph::render::{TreeOpts, json, text};
use crate::graph::{Graph, HostGraph};
use crate::pipeline::load;
use anyhow::Result;
use std::io::Write;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct TreeArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Only this host (case-insensitive).
    #[arg(long)]
    pub host: Option<String>,
    /// Only the subtree around processes matching this ProcessGuid, PID or image name, with
    /// their ancestors.
    #[arg(long, value_name = "GUID|PID|NAME")]
    pub process: Option<String>,
    /// Levels to show below each shown root (or below the chosen process).
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
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

pub fn run(a: TreeArgs, quiet: bool) -> Result<i32> {
    let loaded = load(&a.inputs.paths)?;
    if !quiet {
        eprint!("{}", super::events::summary(&loaded));
    }
    let graph = Graph::build(&loaded.events);
    let hosts: Vec<&HostGraph> = graph
        .hosts
        .values()
        .filter(|h| {
            a.host
                .as_deref()
                .is_none_or(|w| h.host.eq_ignore_ascii_case(w))
        })
        .collect();
    if let Some(h) = &a.host
        && hosts.is_empty()
    {
        let known: Vec<&str> = graph.hosts.keys().map(|k| &**k).collect();
        return Err(UsageError(format!(
            "no host named {h:?} in the input (hosts: {})",
            known.join(", ")
        ))
        .into());
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut any_match = a.process.is_none();
    let mut json_hosts = Vec::new();
    for h in hosts {
        let focus = match &a.process {
            Some(sel) => {
                let f = select(h, sel);
                if f.is_empty() {
                    continue;
                }
                any_match = true;
                f
            }
            None => Vec::new(),
        };
        let opts = TreeOpts {
            focus: focus.clone(),
            depth: a.depth,
        };
        match a.format {
            TreeFormat::Text => write!(out, "{}", text(h, &opts))?,
            TreeFormat::Json => {
                let keep = if focus.is_empty() {
                    None
                } else {
                    let mut k = vec![false; h.proc_count()];
                    for &f in &focus {
                        k[f] = true;
                        h.ancestors(f).into_iter().for_each(|x| k[x] = true);
                        h.descendants(f).into_iter().for_each(|x| k[x] = true);
                    }
                    Some(k)
                };
                json_hosts.push(serde_json::to_value(json(
                    h,
                    &loaded.events,
                    keep.as_deref(),
                ))?);
            }
        }
    }
    if a.format == TreeFormat::Json {
        serde_json::to_writer_pretty(&mut out, &json_hosts)?;
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
