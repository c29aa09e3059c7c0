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

mod blocks;
mod build;
mod lists;
mod prune;
pub mod render;
pub mod strings;
mod view;

use crate::event::{Direction, Event, Kind, LocalSide, Process, basename, synthetic_id};
use crate::normalize::norm_ip;
use crate::store::EventStore;
use crate::time::Ts;
use blocks::Blocks;
use hashbrown::HashTable;
pub use lists::Indexes;
use lists::{Lists, widen};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use strings::{Str, Strings};
use view::Seconds;
pub use view::{EntityIds, GraphRef, HostIds, IdBuf, Keep};

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

/// A process as the graph stores it, in 64 bytes: texts as numbers in the host's [`Strings`],
/// the parent as a `u32`, and which of PID, start and end are known as bits of `known` (see
/// [`ProcNode`] for the fields).
#[derive(Debug, Clone)]
struct Node {
    pid: u64,
    start: Ts,
    end: Ts,
    first_seen: Ts,
    entity_id: Str,
    image: Str,
    command_line: Str,
    user: Str,
    hashes: Str,
    parent: u32,
    parent_entity_id: Str,
    origin: Origin,
    known: u8,
}

const KNOWN_PID: u8 = 1;
const KNOWN_START: u8 = 2;
const KNOWN_END: u8 = 4;

/// One process of a host graph, as read through [`HostGraph::proc`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ProcNode<'a> {
    pub entity_id: &'a str,
    pub pid: Option<u64>,
    pub image: &'a str,
    pub command_line: Option<&'a str>,
    pub user: Option<&'a str>,
    pub hashes: Option<&'a str>,
    pub start: Option<Ts>,
    pub end: Option<Ts>,
    pub origin: Origin,
    #[serde(skip)]
    pub parent: Option<usize>,
    pub parent_entity_id: Option<&'a str>,
    /// First time the node was seen at all (its start, or the first event that named it).
    pub first_seen: Ts,
}

impl ProcNode<'_> {
    pub fn name(&self) -> &str {
        basename(self.image)
    }
}

/// One process of a host graph, read field by field through [`HostGraph::proc_ref`]: cheaper
/// than a whole [`ProcNode`] where a few fields are read per event (rules, the timeline).
#[derive(Debug, Clone, Copy)]
pub struct ProcRef<'a> {
    g: &'a HostGraph,
    n: &'a Node,
}

impl<'a> ProcRef<'a> {
    pub fn entity_id(self) -> &'a str {
        self.g.strings.text(self.n.entity_id)
    }

    pub fn image(self) -> &'a str {
        self.g.strings.text(self.n.image)
    }

    pub fn command_line(self) -> Option<&'a str> {
        self.g.strings.opt(self.n.command_line)
    }

    pub fn user(self) -> Option<&'a str> {
        self.g.strings.opt(self.n.user)
    }

    pub fn pid(self) -> Option<u64> {
        self.n.pid()
    }

    pub fn parent(self) -> Option<usize> {
        unpack(self.n.parent)
    }

    /// Every field at once.
    pub fn node(self) -> ProcNode<'a> {
        let s = &self.g.strings;
        ProcNode {
            entity_id: self.entity_id(),
            pid: self.pid(),
            image: self.image(),
            command_line: self.command_line(),
            user: self.user(),
            hashes: s.opt(self.n.hashes),
            start: self.n.start(),
            end: self.n.end(),
            origin: self.n.origin,
            parent: self.parent(),
            parent_entity_id: s.opt(self.n.parent_entity_id),
            first_seen: self.n.first_seen,
        }
    }
}

impl Node {
    fn new(entity_id: Str, pid: Option<u64>, image: Str, first_seen: Ts, origin: Origin) -> Node {
        let mut n = Node {
            pid: 0,
            start: Ts(0),
            end: Ts(0),
            first_seen,
            entity_id,
            image,
            command_line: Str::NONE,
            user: Str::NONE,
            hashes: Str::NONE,
            parent: NONE,
            parent_entity_id: Str::NONE,
            origin,
            known: 0,
        };
        if let Some(pid) = pid {
            n.set_pid(pid);
        }
        n
    }

    fn pid(&self) -> Option<u64> {
        (self.known & KNOWN_PID != 0).then_some(self.pid)
    }

    fn start(&self) -> Option<Ts> {
        (self.known & KNOWN_START != 0).then_some(self.start)
    }

    fn end(&self) -> Option<Ts> {
        (self.known & KNOWN_END != 0).then_some(self.end)
    }

    fn set_pid(&mut self, pid: u64) {
        self.pid = pid;
        self.known |= KNOWN_PID;
    }

    fn set_start(&mut self, t: Ts) {
        self.start = t;
        self.known |= KNOWN_START;
    }

    fn set_end(&mut self, t: Ts) {
        self.end = t;
        self.known |= KNOWN_END;
    }

    /// Alive at `t`: started at or before (or start unknown) and not ended before.
    fn alive_at(&self, t: Ts) -> bool {
        self.start().is_none_or(|s| s <= t) && self.end().is_none_or(|e| e >= t)
    }
}

/// A connection as the graph stores it (see [`NetEdge`] for the fields).
#[derive(Debug, Clone)]
struct Edge {
    proc: u32,
    direction: Direction,
    local_side: LocalSide,
    transport: Str,
    local_ip: Str,
    local_port: Option<u16>,
    remote_ip: Str,
    remote_port: Option<u16>,
    time: Ts,
}

/// One connection of a host graph, as read through [`HostGraph::edge`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct NetEdge<'a> {
    #[serde(skip)]
    pub proc: usize,
    pub direction: Direction,
    pub transport: &'a str,
    pub local_ip: &'a str,
    pub local_port: Option<u16>,
    pub remote_ip: &'a str,
    pub remote_port: Option<u16>,
    pub local_side: LocalSide,
    /// The earliest record's time.
    pub time: Ts,
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
    procs: Blocks<Node>,
    edges: Blocks<Edge>,
    /// Boot markers in time order.
    pub boots: Vec<BootMark>,
    /// Per node: its children, its connections (edge indexes), the events behind it (start,
    /// end, …; indexes in the run's event list).
    children: Lists,
    node_edges: Lists,
    node_evidence: Lists,
    /// Per edge: the events behind it.
    edge_evidence: Lists,
    /// Every text the nodes and edges hold (images, command lines, users, addresses…), once.
    strings: Strings,
    /// Entity id (a text in `strings`) → node. A node merged from Sysmon 1 and 4688 is found
    /// by both ids.
    by_entity: HashTable<(Str, u32)>,
    /// PID → nodes with that PID, in creation order.
    /// While building; then packed into `pids` and `pid_nodes`.
    by_pid: HashMap<u64, Vec<u32>, foldhash::fast::RandomState>,
    /// Built: the PIDs in order, and per PID its nodes (as in `by_pid`).
    pids: Vec<u64>,
    pid_nodes: Lists,
    /// Set when the graph was pruned to some nodes (see [`HostGraph::pruned`]): the node and
    /// edge indexes it kept, of the whole graph, by which it is still read.
    kept: Option<Box<prune::Kept>>,
}

/// What the graph resolved for one event: node, parent and edge indexes as `u32` with
/// `u32::MAX` for none (a host graph never holds 4 billion nodes). Packed into 8 bytes (see
/// `Resolved::pack_pair`): the node, kept for every event, and the parent or edge.
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

/// Marks the second half of a packed [`Resolved`] as an edge (else a parent).
const EDGE_TAG: u32 = 1 << 31;

impl Resolved {
    /// Packed into 8 bytes: the node, then the parent or the edge (an event has one or the
    /// other: process starts a parent, network events an edge), the edge marked by
    /// [`EDGE_TAG`]. Parents and edges from 2^31 - 1 on (never in a host graph, which would
    /// need billions of events of one host) read back as none.
    fn pack_pair(self) -> u64 {
        let second = if self.edge != NONE {
            if self.edge < EDGE_TAG - 1 {
                self.edge | EDGE_TAG
            } else {
                NONE
            }
        } else if self.parent < EDGE_TAG {
            self.parent
        } else {
            NONE
        };
        u64::from(self.node) | (u64::from(second) << 32)
    }

    fn unpack_pair(p: u64) -> Resolved {
        let (node, second) = (p as u32, (p >> 32) as u32);
        let (parent, edge) = if second == NONE {
            (NONE, NONE)
        } else if second & EDGE_TAG != 0 {
            (NONE, second & !EDGE_TAG)
        } else {
            (second, NONE)
        };
        Resolved { node, parent, edge }
    }

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
    /// Host graphs: whole (all of them from [`Graph::build`]), or pruned to the nodes some
    /// findings need (see [`Graph::build_with`]).
    pub hosts: BTreeMap<Arc<str>, HostGraph>,
    /// Each node's entity id of the hosts not held whole (see [`Graph::build_with`]).
    ids_only: BTreeMap<Arc<str>, EntityIds>,
    /// Per event (same index as the event list): the node it resolved to (`NONE`: none).
    /// Atomic only so that each host's build, running on the thread pool, writes its own
    /// events' entries in place (no per-host copy gathered and scattered afterwards); once
    /// built it is only read.
    nodes: Vec<AtomicU32>,
    /// Per event: the rest of what it resolved to (parent or connection: the upper half of
    /// [`Resolved::pack_pair`]). Kept for the run by [`Graph::build`] only; empty after
    /// [`Graph::build_with`], which keeps it per host while that host's callback runs.
    seconds: Vec<AtomicU32>,
}

impl Graph {
    /// What event `i` resolved to (`None` past the last event): after [`Graph::build`] all
    /// of it, after [`Graph::build_with`] its node only.
    pub fn resolved(&self, i: usize) -> Option<Resolved> {
        GraphRef::from(self).resolved(i)
    }

    /// A host's graph, when it is held (whole, or pruned to the nodes its findings need).
    pub fn host(&self, host: &str) -> Option<&HostGraph> {
        self.hosts.get(host)
    }

    /// Every host the graph was built for (held whole, pruned, or only its nodes' entity
    /// ids), in name order.
    pub fn host_names(&self) -> Vec<&str> {
        let names: std::collections::BTreeSet<&str> = self
            .hosts
            .keys()
            .chain(self.ids_only.keys())
            .map(|h| &**h)
            .collect();
        names.into_iter().collect()
    }

    /// A host's nodes' entity ids, whether its graph is held whole or not.
    pub fn ids(&self, host: &str) -> Option<HostIds<'_>> {
        match self.ids_only.get(host) {
            Some(ids) => Some(HostIds::Ids(ids)),
            None => self.hosts.get(host).map(HostIds::Graph),
        }
    }

    /// The node an event resolved to (`None` as well when its host's graph is not held, or
    /// was pruned without it).
    pub fn node_of(&self, events: &EventStore, i: usize) -> Option<ProcNode<'_>> {
        let n = self.resolved(i)?.node()?;
        self.hosts.get(&**events.host(i)?)?.get_proc(n)
    }

    /// The parent an event resolved to (`None` as for [`Graph::node_of`]).
    pub fn parent_of(&self, events: &EventStore, i: usize) -> Option<ProcNode<'_>> {
        let n = self.resolved(i)?.parent()?;
        self.hosts.get(&**events.host(i)?)?.get_proc(n)
    }
}

impl HostGraph {
    /// The node an entity id names.
    fn entity(&self, id: &str) -> Option<usize> {
        let strings = &self.strings;
        self.by_entity
            .find(strings.hash(id), |&(k, _)| strings.text(k) == id)
            .map(|&(_, n)| n as usize)
    }

    /// The number of processes (nodes).
    ///
    /// Of a pruned graph: the number of the whole graph, whose node indexes it keeps (only the
    /// kept nodes are there to read).
    pub fn proc_count(&self) -> usize {
        self.kept
            .as_ref()
            .map_or(self.procs.len(), |k| k.nodes_total)
    }

    /// Node `n`, or `None` past the last (or not kept by pruning).
    pub fn get_proc(&self, n: usize) -> Option<ProcNode<'_>> {
        self.proc_ref(n).map(ProcRef::node)
    }

    /// Node `n` to read field by field, or `None` past the last (or not kept by pruning).
    pub fn proc_ref(&self, n: usize) -> Option<ProcRef<'_>> {
        Some(ProcRef {
            g: self,
            n: self.procs.get(self.node_at(n)?)?,
        })
    }

    /// Node `n` (an index from this graph: a node's parent or child, an event's resolution).
    ///
    /// # Panics
    /// When `n` is not one of this graph's nodes.
    pub fn proc(&self, n: usize) -> ProcNode<'_> {
        self.get_proc(n).expect("node index from this host graph")
    }

    /// Connection `e` (an index from this graph).
    ///
    /// # Panics
    /// When `e` is not one of this graph's edges.
    pub fn edge(&self, e: usize) -> NetEdge<'_> {
        let ed = self
            .edge_at(e)
            .and_then(|k| self.edges.get(k))
            .expect("edge index from this host graph");
        let s = &self.strings;
        NetEdge {
            proc: ed.proc as usize,
            direction: ed.direction,
            transport: s.text(ed.transport),
            local_ip: s.text(ed.local_ip),
            local_port: ed.local_port,
            remote_ip: s.text(ed.remote_ip),
            remote_port: ed.remote_port,
            local_side: ed.local_side,
            time: ed.time,
        }
    }

    /// A node's parent.
    pub fn parent(&self, n: usize) -> Option<usize> {
        self.proc_ref(n)?.parent()
    }

    /// Image basename of a stored node.
    fn name_of(&self, p: &Node) -> &str {
        basename(self.strings.text(p.image))
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
        self.children.get(self.node_at(n).unwrap_or(usize::MAX))
    }

    /// A node's connections (indexes into `edges`), in time order.
    pub fn edges_of(&self, n: usize) -> Indexes<'_> {
        self.node_edges.get(self.node_at(n).unwrap_or(usize::MAX))
    }

    /// The events behind a node (its start, end, …): indexes in the run's event list.
    pub fn evidence(&self, n: usize) -> Indexes<'_> {
        self.node_evidence
            .get(self.node_at(n).unwrap_or(usize::MAX))
    }

    /// The events behind a connection (Sysmon 3 and 5156 records of it).
    pub fn edge_evidence(&self, e: usize) -> Indexes<'_> {
        self.edge_evidence
            .get(self.edge_at(e).unwrap_or(usize::MAX))
    }

    pub fn node(&self, entity_id: &str) -> Option<usize> {
        self.entity(&entity_id.to_ascii_lowercase())
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
            .filter(|&k| self.procs[k].parent == NONE)
            .collect();
        r.sort_by_key(|&k| (self.procs[k].start().unwrap_or(self.procs[k].first_seen), k));
        r.into_iter().map(|k| self.node_index(k)).collect()
    }

    /// Ancestors of a node, nearest first.
    /// Stops at a cycle (linear time: a visited set, not a scan of the list so far).
    pub fn ancestors(&self, mut n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut seen: HashSet<usize> = HashSet::new();
        seen.insert(n);
        while let Some(p) = self.parent(n) {
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
            n.start().unwrap_or(n.first_seen) <= t
        });
        let b = best?;
        let n = &self.procs[b];
        if !n.alive_at(t) {
            return None;
        }
        if let Some(name) = name
            && !self.name_of(n).eq_ignore_ascii_case(name)
        {
            return None;
        }
        Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shape `HostGraph::add` gives reads back the same after packing.
    #[test]
    fn resolved_packs_into_eight_bytes_and_back() {
        let shapes = [
            Resolved::default(),
            Resolved {
                node: 0,
                parent: NONE,
                edge: NONE,
            },
            Resolved {
                node: 7,
                parent: 3,
                edge: NONE,
            },
            Resolved {
                node: 7,
                parent: NONE,
                edge: 0,
            },
            Resolved {
                node: 9,
                parent: NONE,
                edge: 123_456,
            },
            Resolved {
                node: NONE - 1,
                parent: EDGE_TAG - 1,
                edge: NONE,
            },
            Resolved {
                node: 1,
                parent: NONE,
                edge: EDGE_TAG - 2,
            },
        ];
        for r in shapes {
            assert_eq!(Resolved::unpack_pair(r.pack_pair()), r, "{r:?}");
        }
        // Out of the packed range: none, never another index.
        let far = Resolved {
            node: 1,
            parent: NONE,
            edge: EDGE_TAG,
        };
        assert_eq!(Resolved::unpack_pair(far.pack_pair()).edge(), None);
        let far = Resolved {
            node: 1,
            parent: EDGE_TAG,
            edge: NONE,
        };
        assert_eq!(Resolved::unpack_pair(far.pack_pair()).parent(), None);
    }
}
