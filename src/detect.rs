//! The rules stage: run every compiled rule over the ECS view of the sorted events and turn
//! each completed sequence into a [`Finding`] with its evidence and graph context.

use crate::ecs::EcsContext;
use crate::eql::Matcher;
use crate::eql::rulefile::{LoadedRule, Rule, RuleError, parse_rule};
use crate::event::Event;
use crate::graph::{Graph, GraphRef, Keep};
use crate::store::EventStore;
use crate::time::Ts;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The rules shipped inside the binary (the same files as `rules/` in the source tree).
pub const BUILTIN_RULES: &[(&str, &str)] = &[
    (
        "dcom_mmc_incoming.toml",
        include_str!("../rules/dcom_mmc_incoming.toml"),
    ),
    (
        "dcom_mmc_incoming_any_client.toml",
        include_str!("../rules/dcom_mmc_incoming_any_client.toml"),
    ),
    (
        "dcom_mshta_incoming.toml",
        include_str!("../rules/dcom_mshta_incoming.toml"),
    ),
    (
        "dcom_rpc_dcomlaunch.toml",
        include_str!("../rules/dcom_rpc_dcomlaunch.toml"),
    ),
];

/// Load the built-in rules (never fails for a released binary; a test proves they parse).
pub fn builtin_rules() -> Result<Vec<LoadedRule>, RuleError> {
    BUILTIN_RULES
        .iter()
        .map(|(name, text)| {
            let path = PathBuf::from(format!("builtin:rules/{name}"));
            let rule = parse_rule(&path, text)?;
            Ok(LoadedRule {
                path,
                sha256: hex::encode(Sha256::digest(text.as_bytes())),
                rule,
            })
        })
        .collect()
}

/// Load from `--rules DIR`, or the built-in set.
pub fn load_rules(dir: Option<&Path>) -> Result<Vec<LoadedRule>, RuleError> {
    match dir {
        Some(d) => crate::eql::rulefile::load_dir(d),
        None => builtin_rules(),
    }
}

/// One completed sequence (or single-event match).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable id: derived from the rule id, host and evidence records (never a counter).
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: String,
    pub risk_score: u32,
    pub techniques: Vec<String>,
    pub host: Arc<str>,
    pub first_time: Ts,
    pub last_time: Ts,
    /// Indexes into the run's event list, one per stage, in order.
    #[serde(skip)]
    pub events: Vec<usize>,
    /// The process the finding is about (the DCOM server), a node of the host's graph.
    #[serde(skip)]
    pub key_node: Option<usize>,
    /// Remote end of the first network event in the sequence, `ip:port`.
    pub remote: Option<String>,
}

impl Finding {
    /// The graph nodes this finding's reports read, besides their ancestors (the tree draws
    /// those too): the key process, its descendants and each matched event's process. Their
    /// connections and evidence records are the finding's context (`cli::scan::context_events`).
    pub fn graph_nodes(&self, graph: GraphRef<'_>) -> Vec<usize> {
        let mut nodes = Vec::new();
        if let Some(k) = self.key_node {
            nodes.push(k);
            if let Some(h) = graph.host(&self.host) {
                nodes.extend(h.descendants(k));
            }
        }
        nodes.extend(
            self.events
                .iter()
                .filter_map(|&i| graph.resolved(i).and_then(|r| r.node())),
        );
        nodes
    }
}

/// Other child processes of each ancestor of the key process kept for `report.html`'s wider
/// tree (the nearest in start time).
pub const TREE_SIBLINGS: usize = 8;

impl Finding {
    /// The nodes `report.html` draws besides [`Finding::graph_nodes`] (and their ancestors):
    /// the host's wider tree around the key process ([`crate::graph::HostGraph::around`]).
    /// Drawn only: they add no evidence record to any report.
    pub fn tree_nodes(&self, graph: GraphRef<'_>) -> Vec<usize> {
        match (self.key_node, graph.host(&self.host)) {
            (Some(k), Some(h)) => h.around(k, TREE_SIBLINGS),
            _ => Vec::new(),
        }
    }
}

/// Counters for the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRun {
    pub rule_id: String,
    pub findings: u64,
    /// Pending sequences dropped by the engine's memory cap (0 in a normal run).
    pub evicted: u64,
}

/// Events decoded and fed to the rules at a time.
const BLOCK: usize = 4096;

/// Run the rules over a built graph. Findings come back in a fixed order: first time, host,
/// rule id, id.
///
/// Each host is matched separately (docs/rules.md): every rule gets a fresh matcher per host,
/// so a sequence never joins events of two hosts and the pending-sequence cap holds per host.
/// Hosts run in parallel on the thread pool; within a host, one pass over its events: each
/// block is decoded once (while the rules run over the block before it) and every rule is fed
/// the block on the thread pool.
pub fn run(
    rules: &[LoadedRule],
    events: &EventStore,
    graph: &Graph,
) -> (Vec<Finding>, Vec<RuleRun>) {
    let per_host: Vec<Vec<(Vec<Finding>, u64)>> = events
        .per_host()
        .into_par_iter()
        .filter(|idx| !idx.is_empty())
        .map(|idx| run_host(rules, events, graph.into(), &idx))
        .collect();
    gather(rules, per_host)
}

/// Build the graph and run the rules host by host, with the findings and counters [`run`]
/// over [`Graph::build`] gives, in less memory: as soon as a host's graph is built its rules
/// run, and the host's graph is pruned to the nodes its findings' reports read
/// ([`Finding::graph_nodes`] and [`Finding::tree_nodes`]; none when it has no finding), every node's entity id kept apart
/// for the timeline's `graph_entity_id` column (see [`Graph::build_with`]).
pub fn build_and_run(
    rules: &[LoadedRule],
    events: &EventStore,
) -> (Graph, Vec<Finding>, Vec<RuleRun>) {
    let (graph, per_host) = Graph::build_with(events, |g, idx| {
        let found = run_host(rules, events, g, idx);
        let nodes = found
            .iter()
            .flat_map(|(f, _)| f)
            .flat_map(|f| f.graph_nodes(g).into_iter().chain(f.tree_nodes(g)))
            .collect();
        (found, Keep::Nodes(nodes))
    });
    let (findings, runs) = gather(rules, per_host);
    (graph, findings, runs)
}

/// Every host's findings and evictions (per rule, in rule order) into the run's findings, in
/// their fixed order, and the per-rule counters.
fn gather(
    rules: &[LoadedRule],
    per_host: Vec<Vec<(Vec<Finding>, u64)>>,
) -> (Vec<Finding>, Vec<RuleRun>) {
    let mut runs: Vec<RuleRun> = rules
        .iter()
        .map(|lr| RuleRun {
            rule_id: lr.rule.rule_id.clone(),
            findings: 0,
            evicted: 0,
        })
        .collect();
    let mut findings = Vec::new();
    for host in per_host {
        for (run, (f, evicted)) in runs.iter_mut().zip(host) {
            run.findings += f.len() as u64;
            run.evicted += evicted;
            findings.extend(f);
        }
    }
    findings.sort_by(|a, b| {
        (a.first_time, &a.host, &a.rule_id, &a.id).cmp(&(b.first_time, &b.host, &b.rule_id, &b.id))
    });
    (findings, runs)
}

/// Every rule over one host's events (`idx`, in order): per rule, its findings and the pending
/// sequences its matcher evicted.
fn run_host(
    rules: &[LoadedRule],
    events: &EventStore,
    graph: GraphRef<'_>,
    idx: &[u32],
) -> Vec<(Vec<Finding>, u64)> {
    let ctx = EcsContext::new(graph);
    let mut states: Vec<(&Rule, Matcher<'_>, Vec<Finding>)> = rules
        .iter()
        .map(|lr| (&lr.rule, lr.rule.query.matcher(), Vec::new()))
        .collect();
    let mut cursor = events.cursor();
    let mut decode = |from: usize| -> Vec<(usize, Event)> {
        idx[from..(from + BLOCK).min(idx.len())]
            .iter()
            .map_while(|&i| Some((i as usize, cursor.event(i as usize)?)))
            .collect()
    };
    let mut start = 0;
    let mut block = decode(0);
    while !block.is_empty() {
        let next = start + block.len();
        let (following, ()) = rayon::join(
            || decode(next),
            || {
                states.par_iter_mut().for_each(|(rule, m, out)| {
                    for (i, ev) in &block {
                        let doc = ctx.doc(*i, ev);
                        // Positions and times come from the sorted store, so the order is
                        // always valid.
                        let Ok(matches) = m.feed(&doc, *i as u64, ev.time.0) else {
                            continue;
                        };
                        for mt in matches {
                            let idx: Vec<usize> =
                                mt.positions.iter().map(|&p| p as usize).collect();
                            out.push(finding(rule, events, graph, idx));
                        }
                    }
                })
            },
        );
        start = next;
        block = following;
    }
    states
        .into_iter()
        .map(|(_, m, f)| (f, m.evicted()))
        .collect()
}

fn finding(rule: &Rule, events: &EventStore, graph: GraphRef<'_>, idx: Vec<usize>) -> Finding {
    // The few events of a match, decoded once more.
    let evs: Vec<Event> = idx.iter().filter_map(|&i| events.get(i)).collect();
    let host = evs
        .last()
        .map(|e| e.host.clone())
        .unwrap_or_else(|| Arc::from(""));
    let mut h = Sha256::new();
    h.update(rule.rule_id.as_bytes());
    h.update([0]);
    h.update(host.as_bytes());
    for e in &evs {
        h.update([0]);
        h.update(e.prov.file.as_bytes());
        h.update(format!("#{}@{}", e.record_id, e.prov.position()).as_bytes());
    }
    let id = hex::encode(&h.finalize()[..8]);
    let remote = evs.iter().find_map(|e| {
        e.network().map(|n| match n.remote_port {
            Some(p) if n.remote_ip.contains(':') => format!("[{}]:{p}", n.remote_ip),
            Some(p) => format!("{}:{p}", n.remote_ip),
            None => n.remote_ip.to_string(),
        })
    });
    Finding {
        id,
        rule_id: rule.rule_id.clone(),
        rule_name: rule.name.clone(),
        severity: rule.severity.clone(),
        risk_score: rule.risk_score,
        techniques: rule
            .technique_ids()
            .into_iter()
            .map(str::to_string)
            .collect(),
        first_time: evs.iter().map(|e| e.time).min().unwrap_or_default(),
        last_time: evs.iter().map(|e| e.time).max().unwrap_or_default(),
        key_node: key_node(&host, graph, &idx),
        host,
        remote,
        events: idx,
    }
}

/// The process a finding is about: the parent of the last event's process when that parent is
/// itself in the sequence (MMC → child, DCOM server → child); else the last event's process.
fn key_node(host: &str, graph: GraphRef<'_>, idx: &[usize]) -> Option<usize> {
    let last = *idx.last()?;
    let hg = graph.host(host)?;
    let nodes: Vec<usize> = idx
        .iter()
        .filter_map(|&i| graph.resolved(i).and_then(|r| r.node()))
        .collect();
    let last_node = graph.resolved(last)?.node()?;
    match hg.parent(last_node) {
        Some(p) if nodes.contains(&p) => Some(p),
        _ => Some(last_node),
    }
}
