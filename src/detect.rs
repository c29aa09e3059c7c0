//! The rules stage: run every compiled rule over the ECS view of the sorted events and turn
//! each completed sequence into a [`Finding`] with its evidence and graph context.

use crate::ecs::EcsContext;
use crate::eql::rulefile::{LoadedRule, Rule, RuleError, parse_rule};
use crate::eql::{At, Document, Match, Matcher};
use crate::event::{Event, Kind};
use crate::graph::{Graph, GraphRef, Keep, Origin};
use crate::store::EventStore;
use crate::time::Ts;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
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
        "dcom_mmc_network_only.toml",
        include_str!("../rules/dcom_mmc_network_only.toml"),
    ),
    (
        "dcom_remote_activation.toml",
        include_str!("../rules/dcom_remote_activation.toml"),
    ),
    (
        "dcom_rpc_dcomlaunch.toml",
        include_str!("../rules/dcom_rpc_dcomlaunch.toml"),
    ),
    (
        "dcom_shellwindows_incoming.toml",
        include_str!("../rules/dcom_shellwindows_incoming.toml"),
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
    /// Indexes into the run's event list: one per stage, in stage order, for a sequence; every
    /// event of every chain, in the total order, for a join sequence.
    #[serde(skip)]
    pub events: Vec<usize>,
    /// The stage (0-based) each of `events` filled.
    #[serde(skip)]
    pub stages: Vec<u32>,
    /// What the evidence lacks that the finding was decided without (docs/rules.md, "Gaps").
    pub gaps: Vec<Gap>,
    /// The process the finding is about (the DCOM server), a node of the host's graph.
    #[serde(skip)]
    pub key_node: Option<usize>,
    /// Remote end of the first network event in the sequence, `ip:port`.
    pub remote: Option<String>,
}

/// A fact missing from the evidence that a finding was decided without: the rule treated it
/// as unknown, not as false. `code` is stable and short (it goes into `findings.csv`'s `gaps`
/// column); `detail` says it in words for the terminal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Gap {
    pub code: String,
    pub detail: String,
}

impl Finding {
    /// The stages (1-based) event `i` filled in this finding, e.g. `["stage 1"]`; empty when
    /// it is only context.
    pub fn roles_of(&self, i: usize) -> Vec<String> {
        let mut v: Vec<u32> = self
            .events
            .iter()
            .zip(&self.stages)
            .filter(|(x, _)| **x == i)
            .map(|(_, s)| *s + 1)
            .collect();
        v.sort_unstable();
        v.dedup();
        v.into_iter().map(|s| format!("stage {s}")).collect()
    }

    /// The gaps' codes, `;`-joined (the `gaps` column).
    pub fn gap_codes(&self) -> String {
        self.gaps
            .iter()
            .map(|g| g.code.as_str())
            .collect::<Vec<_>>()
            .join(";")
    }

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
    let mut states: Vec<RuleState<'_>> = rules
        .iter()
        .map(|lr| RuleState {
            rule: &lr.rule,
            m: lr.rule.query.matcher(),
            by_fact: BTreeMap::new(),
        })
        .collect();
    let mut cursor = events.cursor();
    let mut decode = |from: usize| -> Vec<(usize, Event, i64)> {
        idx[from..(from + BLOCK).min(idx.len())]
            .iter()
            .map_while(|&i| {
                let ev = cursor.event(i as usize)?;
                let tick = events.clock_resolution(&ev.prov.file);
                Some((i as usize, ev, tick))
            })
            .collect()
    };
    let mut start = 0;
    let mut block = decode(0);
    while !block.is_empty() {
        let next = start + block.len();
        let (following, ()) = rayon::join(
            || decode(next),
            || {
                states.par_iter_mut().for_each(|st| {
                    let m = &mut st.m;
                    for (i, ev, tick) in &block {
                        let doc = ctx.doc(*i, ev);
                        let at = At {
                            pos: *i as u64,
                            time: ev.time.0,
                            tick: *tick,
                        };
                        // Positions and times come from the sorted store, so the order is
                        // always valid.
                        let Ok(matches) = m.feed_at(&doc, at) else {
                            continue;
                        };
                        for mt in matches {
                            add_match(&mut st.by_fact, graph, mt);
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
        .map(|mut st| {
            for mt in st.m.finish() {
                add_match(&mut st.by_fact, graph, mt);
            }
            let out = std::mem::take(&mut st.by_fact)
                .into_values()
                .map(|mt| finding(st.rule, events, &ctx, mt))
                .collect();
            (out, st.m.evicted())
        })
        .collect()
}

/// What an event of a match is evidence of: the connection (a graph edge: its Sysmon 3 and
/// 5156 records are one), the process (a node: its Sysmon 1 and 4688 are one), or itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fact {
    Edge(usize),
    Node(usize),
    Event(usize),
}

/// A match's facts, stage by stage, sorted.
type Facts = Vec<(u32, Fact)>;

/// Add a match to a rule's matches on one host. Two matches of the same facts, stage by stage,
/// are one finding with the records of both: the same connection or process start logged by
/// Sysmon and by Security (seconds apart in exports, so each starts its own sequence) is
/// reported once.
fn add_match(by_fact: &mut BTreeMap<Facts, Match>, graph: GraphRef<'_>, mt: Match) {
    let mut facts: Facts = mt
        .positions
        .iter()
        .zip(&mt.stages)
        .map(|(&p, &s)| {
            let i = p as usize;
            let r = graph.resolved(i).unwrap_or_default();
            let f = match (r.edge(), r.node()) {
                (Some(e), _) => Fact::Edge(e),
                (None, Some(n)) => Fact::Node(n),
                (None, None) => Fact::Event(i),
            };
            (s, f)
        })
        .collect();
    facts.sort_unstable();
    facts.dedup();
    match by_fact.entry(facts) {
        Entry::Vacant(v) => {
            v.insert(mt);
        }
        Entry::Occupied(mut o) => {
            let m = o.get_mut();
            let mut all: Vec<(u64, u32)> = m
                .positions
                .iter()
                .copied()
                .zip(m.stages.iter().copied())
                .chain(mt.positions.into_iter().zip(mt.stages))
                .collect();
            all.sort_unstable();
            all.dedup();
            (m.positions, m.stages) = all.into_iter().unzip();
            m.first_time = m.first_time.min(mt.first_time);
            m.last_time = m.last_time.max(mt.last_time);
        }
    }
}

/// One rule's matcher over one host and its matches so far, by the facts they are about.
struct RuleState<'r> {
    rule: &'r Rule,
    m: Matcher<'r>,
    by_fact: BTreeMap<Facts, Match>,
}

fn finding(rule: &Rule, events: &EventStore, ctx: &EcsContext<'_>, mt: Match) -> Finding {
    let graph = ctx.graph;
    let idx: Vec<usize> = mt.positions.iter().map(|&p| p as usize).collect();
    // The few events of a match, decoded once more.
    let decoded: Vec<(usize, Event)> = idx
        .iter()
        .filter_map(|&i| Some((i, events.get(i)?)))
        .collect();
    let evs: Vec<&Event> = decoded.iter().map(|(_, e)| e).collect();
    // The event of the last stage (the latest of them in a join match).
    let last = idx
        .iter()
        .zip(&mt.stages)
        .max_by_key(|(i, s)| (**s, **i))
        .map(|(i, _)| *i);
    let host = evs
        .last()
        .map(|e| e.host.clone())
        .unwrap_or_else(|| Arc::from(""));
    let mut h = Sha256::new();
    h.update(rule.rule_id.as_bytes());
    h.update([0]);
    h.update(host.as_bytes());
    for e in evs.iter().copied() {
        h.update([0]);
        // The file by its content, not by how its path was spelled.
        h.update(events.file_key(&e.prov.file).as_bytes());
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
        key_node: last.and_then(|l| key_node(&host, graph, &idx, l)),
        gaps: gaps(rule, events, ctx, &decoded),
        host,
        remote,
        events: idx,
        stages: mt.stages,
    }
}

/// What the evidence behind a match lacks that the rule reads (docs/rules.md, "Gaps").
fn gaps(
    rule: &Rule,
    events: &EventStore,
    ctx: &EcsContext<'_>,
    decoded: &[(usize, Event)],
) -> Vec<Gap> {
    let fields = rule.query.fields();
    let reads_uptime = fields.contains(&"host.uptime");
    let reads_parent = fields.iter().any(|f| f.starts_with("process.parent."));
    let mut out: Vec<Gap> = Vec::new();
    // Clock resolution (coarser than 100 ns) → how many of the records have it.
    let mut clocks: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, ev) in decoded {
        let i = *i;
        let doc = ctx.doc(i, ev);
        if reads_uptime && doc.get("host.uptime").is_none() {
            out.push(Gap {
                code: "no-boot".into(),
                detail: format!(
                    "no boot of {} in the evidence before {}: its uptime is unknown, and the rule was applied",
                    ev.host,
                    ev.time.iso()
                ),
            });
        }
        let hg = ctx.graph.host(&ev.host);
        let r = ctx.graph.resolved(i).unwrap_or_default();
        let (who, role) = match &ev.kind {
            Kind::ProcessStart(_) if reads_parent => (
                r.parent()
                    .or_else(|| r.node().and_then(|n| hg.and_then(|h| h.parent(n)))),
                "parent",
            ),
            Kind::ProcessStart(_) | Kind::Boot(_) => (None, ""),
            Kind::Network(_) | Kind::ProcessEnd(_) => (r.node(), "process"),
        };
        if let Some(p) = who.and_then(|n| hg.and_then(|h| h.get_proc(n)))
            && p.origin != Origin::Logged
        {
            let pid = p.pid.map_or_else(|| "?".to_string(), |p| p.to_string());
            let cmd = match p.command_line {
                Some(_) => "its command line is known from a child's record",
                None => "its command line is unknown",
            };
            out.push(Gap {
                code: format!("start-not-logged:{}[{pid}]", p.name()),
                detail: format!(
                    "start of the {role} {} [{pid}] is not in the evidence (known from its {}); {cmd}",
                    p.image,
                    if role == "parent" {
                        "children"
                    } else {
                        "connections or end"
                    },
                ),
            });
        }
        let tick = events.clock_resolution(&ev.prov.file);
        if tick > 1 {
            *clocks.entry(tick).or_default() += 1;
        }
    }
    for (tick, n) in clocks {
        let res = crate::time::resolution_text(tick);
        out.push(Gap {
            code: format!("clock-{res}"),
            detail: format!(
                "{n} evidence record(s) have a clock of {res} resolution: events less than {res} apart were taken as possibly simultaneous, in either order, and windows widened by up to {res}"
            ),
        });
    }
    out.sort();
    out.dedup_by(|a, b| a.code == b.code);
    out
}

/// The process a finding is about: the parent of the last event's process when that parent is
/// itself in the sequence (MMC → child, DCOM server → child); else the last event's process.
fn key_node(host: &str, graph: GraphRef<'_>, idx: &[usize], last: usize) -> Option<usize> {
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
