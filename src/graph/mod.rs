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

use crate::event::{Direction, Event, Kind, LocalSide, Process, Text, basename, synthetic_id};
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
}

/// One list of indexes per node (or edge): children, connections, evidence. Built as one list
/// per owner, then packed into one allocation (`u32` indexes; a host graph never holds 4
/// billion nodes, nor a run 4 billion events), so that a node costs a few bytes of lists
/// instead of three growable vectors.
#[derive(Debug, Default)]
struct Lists {
    /// While building: one list per owner.
    open: Vec<Vec<u32>>,
    /// Packed: owner `k`'s items are `items[start[k]..start[k + 1]]`.
    start: Vec<u32>,
    items: Vec<u32>,
}

/// Indexes from a [`HostGraph`] list (children, connections, evidence).
pub type Indexes<'a> = std::iter::Map<std::slice::Iter<'a, u32>, fn(&u32) -> usize>;

fn widen(x: &u32) -> usize {
    *x as usize
}

impl Lists {
    fn add_owner(&mut self) {
        self.open.push(Vec::new());
    }

    fn push(&mut self, owner: usize, item: usize) {
        self.open[owner].push(item as u32);
    }

    fn slice(&self, owner: usize) -> &[u32] {
        if self.start.is_empty() {
            self.open.get(owner).map_or(&[], Vec::as_slice)
        } else {
            match (self.start.get(owner), self.start.get(owner + 1)) {
                (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
                _ => &[],
            }
        }
    }

    fn get(&self, owner: usize) -> Indexes<'_> {
        self.slice(owner).iter().map(widen as fn(&u32) -> usize)
    }

    /// Pack the lists into one allocation of their exact size.
    fn pack(&mut self) {
        let total: usize = self.open.iter().map(Vec::len).sum();
        let mut items = Vec::with_capacity(total);
        let mut start = Vec::with_capacity(self.open.len() + 1);
        start.push(0);
        for l in std::mem::take(&mut self.open) {
            items.extend_from_slice(&l);
            start.push(items.len() as u32);
        }
        self.items = items;
        self.start = start;
    }
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
    /// Per node: its children, its connections (edge indexes), the events behind it (start,
    /// end, …; indexes in the run's event list).
    children: Lists,
    node_edges: Lists,
    node_evidence: Lists,
    /// Per edge: the events behind it.
    edge_evidence: Lists,
    by_entity: HashMap<Text, usize, foldhash::fast::RandomState>,
    /// PID → nodes with that PID, in creation order.
    /// While building; then packed into `pids` and `pid_nodes`.
    by_pid: HashMap<u64, Vec<u32>, foldhash::fast::RandomState>,
    /// Built: the PIDs in order, and per PID its nodes (as in `by_pid`).
    pids: Vec<u64>,
    pid_nodes: Lists,
    /// While building: one copy of each text the nodes and edges hold (images, command lines,
    /// users, addresses…). Events decoded from different batches carry their own copies of the
    /// same text; a host's graph keeps one.
    texts: HashSet<Text, foldhash::fast::RandomState>,
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
        // Each host's events, in event order (as `u32`: a store holds fewer than 4 billion
        // events, see `Resolved`).
        let mut per_host: Vec<Vec<u32>> = vec![Vec::new(); events.hosts().len()];
        for i in 0..events.len() {
            let Some(h) = events.host_id(i) else { break };
            per_host[h as usize].push(i as u32);
        }
        // Each host's graph and what each of its events resolved to, in its events' order.
        let built: Vec<(usize, HostGraph, Vec<Resolved>)> = per_host
            .into_par_iter()
            .enumerate()
            .filter(|(_, idx)| !idx.is_empty())
            .map(|(k, idx)| {
                let mut hg = HostGraph {
                    host: events.hosts()[k].clone(),
                    ..HostGraph::default()
                };
                let mut c = events.cursor();
                let res = idx
                    .iter()
                    .map(|&i| match c.event(i as usize) {
                        Some(e) => hg.add(i as usize, &e),
                        None => Resolved::default(),
                    })
                    .collect();
                drop(idx);
                hg.shrink();
                (k, hg, res)
            })
            .collect();
        // Scattered back into the total order: each host's results are taken in turn as its
        // events come.
        let mut by_id: Vec<std::vec::IntoIter<Resolved>> = (0..events.hosts().len())
            .map(|_| Vec::new().into_iter())
            .collect();
        let mut g = Graph {
            hosts: BTreeMap::new(),
            resolved: Vec::with_capacity(events.len()),
        };
        for (k, hg, res) in built {
            by_id[k] = res.into_iter();
            g.hosts.insert(hg.host.clone(), hg);
        }
        for i in 0..events.len() {
            let r = events
                .host_id(i)
                .and_then(|h| by_id[h as usize].next())
                .unwrap_or_default();
            g.resolved.push(r);
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
        self.children.pack();
        self.node_edges.pack();
        self.node_evidence.pack();
        self.edge_evidence.pack();
        self.by_entity.shrink_to_fit();
        let mut by_pid: Vec<(u64, Vec<u32>)> =
            std::mem::take(&mut self.by_pid).into_iter().collect();
        by_pid.sort_unstable_by_key(|p| p.0);
        self.pids = by_pid.iter().map(|p| p.0).collect();
        self.pid_nodes.open = by_pid.into_iter().map(|p| p.1).collect();
        self.pid_nodes.pack();
        self.texts = HashSet::default();
    }

    /// The graph's copy of a text (see `texts`).
    fn share(&mut self, s: &Text) -> Text {
        match self.texts.get(&**s) {
            Some(t) => t.clone(),
            None => {
                self.texts.insert(s.clone());
                s.clone()
            }
        }
    }

    fn share_opt(&mut self, s: &Option<Text>) -> Option<Text> {
        s.as_ref().map(|s| self.share(s))
    }

    /// The nodes that held a PID, in the order they took it (see `alive_pid`).
    fn pid_list(&self, pid: u64) -> &[u32] {
        if self.pids.is_empty() {
            self.by_pid.get(&pid).map_or(&[], Vec::as_slice)
        } else {
            match self.pids.binary_search(&pid) {
                Ok(k) => self.pid_nodes.slice(k),
                Err(_) => &[],
            }
        }
    }

    /// A node's children, in the order they were linked.
    pub fn children(&self, n: usize) -> Indexes<'_> {
        self.children.get(n)
    }

    /// A node's connections (indexes into `edges`), in time order.
    pub fn edges_of(&self, n: usize) -> Indexes<'_> {
        self.node_edges.get(n)
    }

    /// The events behind a node (its start, end, …): indexes in the run's event list.
    pub fn evidence(&self, n: usize) -> Indexes<'_> {
        self.node_evidence.get(n)
    }

    /// The events behind a connection (Sysmon 3 and 5156 records of it).
    pub fn edge_evidence(&self, e: usize) -> Indexes<'_> {
        self.edge_evidence.get(e)
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
        let mut stack: Vec<usize> = self.children(n).rev().collect();
        while let Some(c) = stack.pop() {
            if !seen.insert(c) {
                continue;
            }
            out.push(c);
            stack.extend(self.children(c).rev());
        }
        out
    }

    fn new_node(&mut self, node: ProcNode) -> usize {
        let i = self.procs.len();
        self.by_entity.insert(node.entity_id.clone(), i);
        if let Some(pid) = node.pid {
            self.by_pid.entry(pid).or_default().push(i as u32);
        }
        self.procs.push(node);
        self.children.add_owner();
        self.node_edges.add_owner();
        self.node_evidence.add_owner();
        i
    }

    /// A new node known only by its id, PID and image (the host's copy of the text; empty when
    /// unknown), first seen at `t`.
    fn add_node(
        &mut self,
        entity_id: Text,
        pid: Option<u64>,
        image: Option<&Text>,
        t: Ts,
        origin: Origin,
    ) -> usize {
        let image = image.map(|s| self.share(s)).unwrap_or_default();
        self.new_node(ProcNode {
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
            first_seen: t,
        })
    }

    /// A placeholder for the parent a process start names but that was not logged, filled
    /// from the child's `Parent*` fields.
    fn placeholder_parent(&mut self, id: Text, pid: Option<u64>, p: &Process, t: Ts) -> usize {
        let n = self.add_node(id, pid, p.parent_image.as_ref(), t, Origin::Placeholder);
        self.procs[n].command_line = self.share_opt(&p.parent_command_line);
        n
    }

    /// The process instance with this PID alive at `t`: it held the PID at or before `t` (its
    /// start, or its first evidence when the start was not logged), no later instance took the
    /// PID before `t`, and it had not ended before `t`. With `name`, its image basename must
    /// match (case-insensitive).
    pub fn alive_pid(&self, pid: u64, t: Ts, name: Option<&str>) -> Option<usize> {
        let cands = self.pid_list(pid);
        // A node holds its PID from its start, or, when its start was not logged (placeholders,
        // 5156-only processes), from the first evidence of it. Each PID's list is in that order
        // (nodes are appended as they appear; a placeholder whose start is logged later moves to
        // the end, see `add`), so scanning from the end the first node that held the PID at or
        // before t is the one holding it at t.
        let best = cands.iter().rev().map(widen).find(|&c| {
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
        for c in self.pid_list(pid?).iter().rev().map(widen) {
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
        self.children.push(parent, child);
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
                        None => self.add_node(
                            eid.clone(),
                            p.pid,
                            Some(&p.image),
                            e.time,
                            Origin::Logged,
                        ),
                    },
                };
                let (had_start, had_pid) = (self.procs[n].start.is_some(), self.procs[n].pid);
                {
                    let image = self.share(&p.image);
                    let command_line = self.share_opt(&p.command_line);
                    let user = self.share_opt(&p.user);
                    let hashes = self.share_opt(&p.hashes);
                    let node = &mut self.procs[n];
                    node.origin = Origin::Logged;
                    node.image = image;
                    node.command_line = command_line.or(node.command_line.take());
                    node.user = user.or(node.user.take());
                    node.hashes = hashes;
                    if node.start.is_none() {
                        node.start = Some(e.time);
                    }
                    if node.pid.is_none() {
                        node.pid = p.pid;
                    }
                    self.node_evidence.push(n, i);
                }
                match (had_pid, self.procs[n].pid) {
                    (None, Some(pid)) => self.by_pid.entry(pid).or_default().push(n as u32),
                    // Known before its start (a placeholder): move it to the end of its PID's
                    // list, which keeps the nodes with a known start in start order.
                    (Some(pid), _) if !had_start => {
                        if let Some(v) = self.by_pid.get_mut(&pid)
                            && v.last() != Some(&(n as u32))
                        {
                            v.retain(|&x| x as usize != n);
                            v.push(n as u32);
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
                        None => self.placeholder_parent(peid.clone(), p.parent_pid, p, e.time),
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
                        None => Some(self.placeholder_parent(
                            synthetic_id(&e.host, ppid, e.time).into(),
                            Some(ppid),
                            p,
                            e.time,
                        )),
                    }
                } else {
                    None
                };
                if let Some(pn) = parent {
                    if self.procs[pn].origin == Origin::Placeholder {
                        if self.procs[pn].image.is_empty()
                            && let Some(img) = &p.parent_image
                        {
                            self.procs[pn].image = self.share(img);
                        }
                        if self.procs[pn].command_line.is_none() {
                            self.procs[pn].command_line = self.share_opt(&p.parent_command_line);
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
                    self.node_evidence.push(n, i);
                    r.node = pack(n);
                }
            }
            Kind::Network(net) => {
                let n = match &net.entity_id {
                    Some(eid) => match self.by_entity.get(&**eid).copied() {
                        Some(n) => n,
                        None => self.add_node(
                            eid.clone(),
                            net.pid,
                            Some(&net.image),
                            e.time,
                            Origin::Placeholder,
                        ),
                    },
                    None => {
                        let name = basename(&net.image);
                        let pid = net.pid.unwrap_or(0);
                        match self.alive_pid(pid, e.time, Some(name)) {
                            Some(n) => n,
                            None => {
                                // Reuse this PID's synthetic node if it is the latest instance.
                                let syn = self.pid_list(pid).last().map(widen).filter(|&c| {
                                    let n = &self.procs[c];
                                    n.origin == Origin::Synthetic
                                        && n.name().eq_ignore_ascii_case(name)
                                });
                                match syn {
                                    Some(s) => s,
                                    None => self.add_node(
                                        synthetic_id(&e.host, pid, e.time).into(),
                                        net.pid,
                                        Some(&net.image),
                                        e.time,
                                        Origin::Synthetic,
                                    ),
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
        for ei in self.node_edges.get(n).rev() {
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
                self.edge_evidence.push(ei, i);
                return ei;
            }
        }
        let ei = self.edges.len();
        let (transport, local_ip, remote_ip) = (
            self.share(&net.transport),
            self.share(&net.local_ip),
            self.share(&net.remote_ip),
        );
        self.edges.push(NetEdge {
            proc: n,
            direction: net.direction,
            transport,
            local_ip,
            local_port: net.local_port,
            remote_ip,
            remote_port: net.remote_port,
            local_side: net.local_side,
            time: e.time,
        });
        self.edge_evidence.add_owner();
        self.edge_evidence.push(ei, i);
        self.node_edges.push(n, ei);
        ei
    }
}
