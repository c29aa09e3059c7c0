//! The graph stage: per host, which process started which, what each process connected to or
//! accepted, and when the host booted. Built in one pass over the sorted events; memory grows
//! with processes and connections, not with input size.
//!
//! - Nodes are keyed by entity id: the Sysmon ProcessGuid (lower case) or, for 4688, a
//!   synthetic id from (host, pid, start time).
//! - Parents: by `ParentProcessGuid`; for 4688 by the creator PID alive at that time. A parent
//!   never logged becomes a placeholder node filled from the child's `Parent*` fields.
//! - Network edges: Sysmon 3 by ProcessGuid; 5156 by the PID alive at that time whose image
//!   basename matches `Application`'s, else a synthetic node. Sysmon 3 and 5156 records of the
//!   same connection merge into one edge with both as evidence.
//! - Boots: boot markers, and Sysmon 1 of `services.exe`.

pub mod render;

use crate::event::{Direction, Event, Kind, LocalSide, Text, basename, synthetic_id};
use crate::normalize::norm_ip;
use crate::store::EventStore;
use crate::time::Ts;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Sysmon 3 and 5156 records of one connection are merged when they are at most this far apart.
pub const MERGE_WINDOW_TICKS: i64 = 30 * 10_000_000;
/// Sysmon 1 and 4688 records of one process start are merged when at most this far apart.
pub const PROCESS_MERGE_TICKS: i64 = 2 * 10_000_000;

/// How a node came to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A process start was logged (Sysmon 1 / 4688).
    Logged,
    /// Known only from a child's `Parent*` fields or a Sysmon 3/5 by GUID.
    Placeholder,
    /// Known only from a 5156 whose PID matched no logged process.
    Synthetic,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcNode {
    pub entity_id: Text,
    pub pid: Option<u64>,
    pub image: Text,
    pub command_line: Option<Text>,
    pub user: Option<Text>,
    pub hashes: Option<Text>,
    pub start: Option<Ts>,
    pub end: Option<Ts>,
    pub origin: Origin,
    #[serde(skip)]
    pub parent: Option<usize>,
    pub parent_entity_id: Option<Text>,
    #[serde(skip)]
    pub children: Vec<usize>,
    #[serde(skip)]
    pub edges: Vec<usize>,
    /// Indexes of the events behind this node (start, end, …) in the run's event list.
    #[serde(skip)]
    pub evidence: Vec<usize>,
    /// First time the node was seen at all (its start, or the first event that named it).
    pub first_seen: Ts,
}

impl ProcNode {
    pub fn name(&self) -> &str {
        basename(&self.image)
    }

    /// Alive at `t`: started at or before (or start unknown) and not ended before.
    fn alive_at(&self, t: Ts) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| e >= t)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NetEdge {
    #[serde(skip)]
    pub proc: usize,
    pub direction: Direction,
    pub transport: Text,
    pub local_ip: Text,
    pub local_port: Option<u16>,
    pub remote_ip: Text,
    pub remote_port: Option<u16>,
    pub local_side: LocalSide,
    /// The earliest record's time.
    pub time: Ts,
    #[serde(skip)]
    pub evidence: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BootMark {
    pub time: Ts,
    pub marker: String,
    #[serde(skip)]
    pub event: usize,
}

#[derive(Debug, Default)]
pub struct HostGraph {
    pub host: Arc<str>,
    pub procs: Vec<ProcNode>,
    pub edges: Vec<NetEdge>,
    /// Boot markers in time order.
    pub boots: Vec<BootMark>,
    by_entity: HashMap<Text, usize, foldhash::fast::RandomState>,
    /// PID → nodes with that PID, in creation order.
    by_pid: HashMap<u64, Vec<usize>, foldhash::fast::RandomState>,
}

/// What the graph resolved for one event. Kept for every event, so packed: node and edge
/// indexes as `u32` with `u32::MAX` for none (a host graph never holds 4 billion nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    node: u32,
    parent: u32,
    edge: u32,
}

impl Default for Resolved {
    fn default() -> Self {
        Resolved {
            node: NONE,
            parent: NONE,
            edge: NONE,
        }
    }
}

const NONE: u32 = u32::MAX;

fn pack(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(NONE)
}

fn unpack(i: u32) -> Option<usize> {
    (i != NONE).then_some(i as usize)
}

impl Resolved {
    /// The node the event is about (the process started, ended, or owning the connection).
    pub fn node(&self) -> Option<usize> {
        unpack(self.node)
    }

    /// The parent node (process starts).
    pub fn parent(&self) -> Option<usize> {
        unpack(self.parent)
    }

    /// The edge (network events).
    pub fn edge(&self) -> Option<usize> {
        unpack(self.edge)
    }
}

#[derive(Debug, Default)]
pub struct Graph {
    pub hosts: BTreeMap<Arc<str>, HostGraph>,
    /// Per event (same index as the event list): what it resolved to.
    pub resolved: Vec<Resolved>,
}

impl Graph {
    /// Build from events sorted in the total order.
    ///
    /// Hosts are independent: each host's graph is built from its own events (in the total
    /// order) on the thread pool; the result does not depend on the number of threads.
    pub fn build(events: &EventStore) -> Graph {
        // Events grouped by host, in event order (one hash lookup per change of host).
        let mut slot: HashMap<&str, usize, foldhash::fast::RandomState> = HashMap::default();
        let mut per_host: Vec<(Arc<str>, Vec<usize>)> = Vec::new();
        let mut last: Option<(&str, usize)> = None;
        for i in 0..events.len() {
            let Some(host) = events.host(i) else { break };
            let h: &str = host;
            let k = match last {
                Some((lh, k)) if lh == h => k,
                _ => {
                    let k = *slot.entry(h).or_insert_with(|| {
                        per_host.push((Arc::from(h), Vec::new()));
                        per_host.len() - 1
                    });
                    last = Some((h, k));
                    k
                }
            };
            per_host[k].1.push(i);
        }
        // Each host's results, in the order of its event indexes.
        let built: Vec<(HostGraph, Vec<usize>, Vec<Resolved>)> = per_host
            .into_par_iter()
            .map(|(host, idx)| {
                let mut hg = HostGraph {
                    host,
                    ..HostGraph::default()
                };
                let mut c = events.cursor();
                let res = idx
                    .iter()
                    .map(|&i| match c.event(i) {
                        Some(e) => hg.add(i, &e),
                        None => Resolved::default(),
                    })
                    .collect();
                hg.shrink();
                (hg, idx, res)
            })
            .collect();
        let mut g = Graph {
            hosts: BTreeMap::new(),
            resolved: vec![Resolved::default(); events.len()],
        };
        for (hg, idx, res) in built {
            for (i, r) in idx.into_iter().zip(res) {
                g.resolved[i] = r;
            }
            g.hosts.insert(hg.host.clone(), hg);
        }
        g
    }

    pub fn host(&self, host: &str) -> Option<&HostGraph> {
        self.hosts.get(host)
    }

    /// The node an event resolved to.
    pub fn node_of(&self, events: &EventStore, i: usize) -> Option<&ProcNode> {
        let n = self.resolved.get(i)?.node()?;
        Some(&self.hosts.get(&**events.host(i)?)?.procs[n])
    }

    pub fn parent_of(&self, events: &EventStore, i: usize) -> Option<&ProcNode> {
        let n = self.resolved.get(i)?.parent()?;
        Some(&self.hosts.get(&**events.host(i)?)?.procs[n])
    }
}

impl HostGraph {
    /// Give back the room the lists grew into: the graph is held to the end of the run, and
    /// lists grown by doubling hold up to twice what they need (a shrinking `realloc` may keep
    /// the block, so the lists are copied into blocks of their exact size).
    fn shrink(&mut self) {
        fn exact<T>(v: &mut Vec<T>) {
            if v.capacity() > v.len() {
                let mut e = Vec::with_capacity(v.len());
                e.append(v);
                *v = e;
            }
        }
        exact(&mut self.procs);
        exact(&mut self.edges);
        self.by_entity.shrink_to_fit();
        self.by_pid.shrink_to_fit();
    }

    pub fn node(&self, entity_id: &str) -> Option<usize> {
        self.by_entity
            .get(entity_id.to_ascii_lowercase().as_str())
            .copied()
    }

    /// The boot preceding `t` (latest marker at or before it).
    pub fn boot_before(&self, t: Ts) -> Option<&BootMark> {
        let idx = self.boots.partition_point(|b| b.time <= t);
        idx.checked_sub(1).map(|i| &self.boots[i])
    }

    pub fn uptime(&self, t: Ts) -> Option<f64> {
        self.boot_before(t)
            .map(|b| t.ticks_since(b.time) as f64 / 10_000_000.0)
    }

    /// Root nodes (no known parent), in start order.
    pub fn roots(&self) -> Vec<usize> {
        let mut r: Vec<usize> = (0..self.procs.len())
            .filter(|&i| self.procs[i].parent.is_none())
            .collect();
        r.sort_by_key(|&i| (self.procs[i].start.unwrap_or(self.procs[i].first_seen), i));
        r
    }

    /// Ancestors of a node, nearest first.
    /// Stops at a cycle (linear time: a visited set, not a scan of the list so far).
    pub fn ancestors(&self, mut n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut seen: HashSet<usize> = HashSet::new();
        seen.insert(n);
        while let Some(p) = self.procs[n].parent {
            if !seen.insert(p) {
                break;
            }
            out.push(p);
            n = p;
        }
        out
    }

    /// All descendants of a node, depth-first in start order.
    /// Time linear in the subtree's size (a visited set, not a scan of the list so far), so a
    /// host with millions of processes stays fast.
    pub fn descendants(&self, n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut seen: HashSet<usize> = HashSet::new();
        seen.insert(n);
        let mut stack: Vec<usize> = self.procs[n].children.iter().rev().copied().collect();
        while let Some(c) = stack.pop() {
            if !seen.insert(c) {
                continue;
            }
            out.push(c);
            stack.extend(self.procs[c].children.iter().rev().copied());
        }
        out
    }

    fn new_node(&mut self, node: ProcNode) -> usize {
        let i = self.procs.len();
        self.by_entity.insert(node.entity_id.clone(), i);
        if let Some(pid) = node.pid {
            self.by_pid.entry(pid).or_default().push(i);
        }
        self.procs.push(node);
        i
    }

    fn blank(entity_id: Text, pid: Option<u64>, image: Text, t: Ts, origin: Origin) -> ProcNode {
        ProcNode {
            entity_id,
            pid,
            image,
            command_line: None,
            user: None,
            hashes: None,
            start: None,
            end: None,
            origin,
            parent: None,
            parent_entity_id: None,
            children: Vec::new(),
            edges: Vec::new(),
            evidence: Vec::new(),
            first_seen: t,
        }
    }

    /// The process instance with this PID alive at `t`: it held the PID at or before `t` (its
    /// start, or its first evidence when the start was not logged), no later instance took the
    /// PID before `t`, and it had not ended before `t`. With `name`, its image basename must
    /// match (case-insensitive).
    pub fn alive_pid(&self, pid: u64, t: Ts, name: Option<&str>) -> Option<usize> {
        let cands = self.by_pid.get(&pid)?;
        // A node holds its PID from its start, or, when its start was not logged (placeholders,
        // 5156-only processes), from the first evidence of it. Each PID's list is in that order
        // (nodes are appended as they appear; a placeholder whose start is logged later moves to
        // the end, see `add`), so scanning from the end the first node that held the PID at or
        // before t is the one holding it at t.
        let best = cands.iter().rev().copied().find(|&c| {
            let n = &self.procs[c];
            n.start.unwrap_or(n.first_seen) <= t
        });
        let b = best?;
        let n = &self.procs[b];
        if !n.alive_at(t) {
            return None;
        }
        if let Some(name) = name
            && !n.name().eq_ignore_ascii_case(name)
        {
            return None;
        }
        Some(b)
    }

    /// A logged process start of the same process from the other source (Sysmon 1 vs 4688):
    /// same PID and image basename, starts at most [`PROCESS_MERGE_TICKS`] apart, and exactly
    /// one of the two ids synthetic (two ProcessGuids are always two processes).
    fn same_process(&self, pid: Option<u64>, image: &str, t: Ts, eid: &str) -> Option<usize> {
        let new_syn = eid.starts_with("syn:");
        for &c in self.by_pid.get(&pid?)?.iter().rev() {
            let n = &self.procs[c];
            let Some(s) = n.start else { continue };
            // Known starts are in order: everything further back started earlier still.
            if t.ticks_since(s) > PROCESS_MERGE_TICKS {
                break;
            }
            if n.origin == Origin::Logged
                && n.entity_id.starts_with("syn:") != new_syn
                && s.ticks_since(t) <= PROCESS_MERGE_TICKS
                && n.name().eq_ignore_ascii_case(basename(image))
            {
                return Some(c);
            }
        }
        None
    }

    fn link(&mut self, child: usize, parent: usize) {
        if child == parent || self.procs[child].parent.is_some() {
            return;
        }
        self.procs[child].parent = Some(parent);
        self.procs[child].parent_entity_id = Some(self.procs[parent].entity_id.clone());
        self.procs[parent].children.push(child);
    }

    fn add(&mut self, i: usize, e: &Event) -> Resolved {
        let mut r = Resolved::default();
        match &e.kind {
            Kind::ProcessStart(p) => {
                let eid = p
                    .entity_id
                    .clone()
                    .unwrap_or_else(|| synthetic_id(&e.host, p.pid.unwrap_or(0), e.time).into());
                let n = match self.by_entity.get(&*eid).copied() {
                    Some(n) => n,
                    None => match self.same_process(p.pid, &p.image, e.time, &eid) {
                        // The same process logged by both Sysmon 1 and 4688: one node, the
                        // ProcessGuid as its id, both ids resolving to it.
                        Some(n) => {
                            self.by_entity.insert(eid.clone(), n);
                            if !eid.starts_with("syn:") {
                                self.procs[n].entity_id = eid.clone();
                            }
                            n
                        }
                        None => self.new_node(Self::blank(
                            eid.clone(),
                            p.pid,
                            p.image.clone(),
                            e.time,
                            Origin::Logged,
                        )),
                    },
                };
                let (had_start, had_pid) = (self.procs[n].start.is_some(), self.procs[n].pid);
                {
                    let node = &mut self.procs[n];
                    node.origin = Origin::Logged;
                    node.image = p.image.clone();
                    node.command_line = p.command_line.clone().or(node.command_line.take());
                    node.user = p.user.clone().or(node.user.take());
                    node.hashes = p.hashes.clone();
                    if node.start.is_none() {
                        node.start = Some(e.time);
                    }
                    if node.pid.is_none() {
                        node.pid = p.pid;
                    }
                    node.evidence.push(i);
                }
                match (had_pid, self.procs[n].pid) {
                    (None, Some(pid)) => self.by_pid.entry(pid).or_default().push(n),
                    // Known before its start (a placeholder): move it to the end of its PID's
                    // list, which keeps the nodes with a known start in start order.
                    (Some(pid), _) if !had_start => {
                        if let Some(v) = self.by_pid.get_mut(&pid)
                            && v.last() != Some(&n)
                        {
                            v.retain(|&x| x != n);
                            v.push(n);
                        }
                    }
                    _ => {}
                }
                if basename(&p.image).eq_ignore_ascii_case("services.exe")
                    && e.channel.contains("Sysmon")
                {
                    self.boots.push(BootMark {
                        time: e.time,
                        marker: "sysmon-1-services".into(),
                        event: i,
                    });
                }
                r.node = pack(n);
                // Parent.
                let parent = if let Some(peid) = &p.parent_entity_id {
                    Some(match self.by_entity.get(&**peid).copied() {
                        Some(pn) => pn,
                        None => {
                            let mut b = Self::blank(
                                peid.clone(),
                                p.parent_pid,
                                p.parent_image.clone().unwrap_or_default(),
                                e.time,
                                Origin::Placeholder,
                            );
                            b.command_line = p.parent_command_line.clone();
                            self.new_node(b)
                        }
                    })
                } else if p
                    .entity_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with("syn:"))
                    && let Some(ppid) = p.parent_pid
                {
                    // 4688: the creator PID alive now (its image must match when logged).
                    let pname = p.parent_image.as_deref().map(basename);
                    match self.alive_pid(ppid, e.time, pname).or_else(|| {
                        self.alive_pid(ppid, e.time, None)
                            .filter(|_| pname.is_none())
                    }) {
                        Some(pn) => Some(pn),
                        None => {
                            let mut b = Self::blank(
                                synthetic_id(&e.host, ppid, e.time).into(),
                                Some(ppid),
                                p.parent_image.clone().unwrap_or_default(),
                                e.time,
                                Origin::Placeholder,
                            );
                            b.command_line = p.parent_command_line.clone();
                            Some(self.new_node(b))
                        }
                    }
                } else {
                    None
                };
                if let Some(pn) = parent {
                    let pnode = &mut self.procs[pn];
                    if pnode.origin == Origin::Placeholder {
                        if pnode.image.is_empty()
                            && let Some(img) = &p.parent_image
                        {
                            pnode.image = img.clone();
                        }
                        if pnode.command_line.is_none() {
                            pnode.command_line = p.parent_command_line.clone();
                        }
                    }
                    self.link(n, pn);
                    r.parent = pack(pn);
                }
            }
            Kind::ProcessEnd(p) => {
                let n = match &p.entity_id {
                    Some(eid) => self.by_entity.get(&**eid).copied(),
                    None => p.pid.and_then(|pid| {
                        self.alive_pid(
                            pid,
                            e.time,
                            Some(basename(&p.image)).filter(|s| !s.is_empty()),
                        )
                    }),
                };
                if let Some(n) = n {
                    let node = &mut self.procs[n];
                    if node.end.is_none() {
                        node.end = Some(e.time);
                    }
                    node.evidence.push(i);
                    r.node = pack(n);
                }
            }
            Kind::Network(net) => {
                let n = match &net.entity_id {
                    Some(eid) => match self.by_entity.get(&**eid).copied() {
                        Some(n) => n,
                        None => self.new_node(Self::blank(
                            eid.clone(),
                            net.pid,
                            net.image.clone(),
                            e.time,
                            Origin::Placeholder,
                        )),
                    },
                    None => {
                        let name = basename(&net.image);
                        let pid = net.pid.unwrap_or(0);
                        match self.alive_pid(pid, e.time, Some(name)) {
                            Some(n) => n,
                            None => {
                                // Reuse this PID's synthetic node if it is the latest instance.
                                let syn = self
                                    .by_pid
                                    .get(&pid)
                                    .and_then(|v| v.last().copied())
                                    .filter(|&c| {
                                        let n = &self.procs[c];
                                        n.origin == Origin::Synthetic
                                            && n.name().eq_ignore_ascii_case(name)
                                    });
                                match syn {
                                    Some(s) => s,
                                    None => self.new_node(Self::blank(
                                        synthetic_id(&e.host, pid, e.time).into(),
                                        net.pid,
                                        net.image.clone(),
                                        e.time,
                                        Origin::Synthetic,
                                    )),
                                }
                            }
                        }
                    }
                };
                r.node = pack(n);
                r.edge = pack(self.add_edge(n, i, e, net));
            }
            Kind::Boot(b) => {
                self.boots.push(BootMark {
                    time: e.time,
                    marker: b.marker.clone(),
                    event: i,
                });
            }
        }
        r
    }

    fn add_edge(&mut self, n: usize, i: usize, e: &Event, net: &crate::event::Network) -> usize {
        let (lip, rip) = (norm_ip(&net.local_ip), norm_ip(&net.remote_ip));
        // Same connection already seen from the other source?
        // Edges are appended in time order: walk back only as far as the merge window.
        for &ei in self.procs[n].edges.iter().rev() {
            let ed = &self.edges[ei];
            if e.time.ticks_since(ed.time) > MERGE_WINDOW_TICKS {
                break;
            }
            if ed.direction == net.direction
                && ed.transport == net.transport
                && ed.local_port == net.local_port
                && ed.remote_port == net.remote_port
                && norm_ip(&ed.local_ip) == lip
                && norm_ip(&ed.remote_ip) == rip
            {
                let ed = &mut self.edges[ei];
                ed.evidence.push(i);
                return ei;
            }
        }
        let ei = self.edges.len();
        self.edges.push(NetEdge {
            proc: n,
            direction: net.direction,
            transport: net.transport.clone(),
            local_ip: net.local_ip.clone(),
            local_port: net.local_port,
            remote_ip: net.remote_ip.clone(),
            remote_port: net.remote_port,
            local_side: net.local_side,
            time: e.time,
            evidence: vec![i],
        });
        self.procs[n].edges.push(ei);
        ei
    }
}
