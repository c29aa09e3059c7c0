//! Reading a graph: the view the rules read while a host's graph is built ([`GraphRef`]), and
//! what is left of a host whose graph was let go once its rules had run ([`EntityIds`]).

use super::{Graph, HostGraph, Resolved};
use std::sync::atomic::{AtomicU64, Ordering};

/// What [`Graph::build_with`] keeps of a host once its callback has seen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// The whole graph: nodes, edges, lists and texts (what `tree` draws).
    Graph,
    /// Each node's entity id (what the timeline's `graph_entity_id` column reads), and the
    /// graph pruned to these nodes and their ancestors (see [`HostGraph::pruned`]; none: no
    /// graph at all).
    Nodes(Vec<usize>),
}

/// Each node's entity id of one host, in node order, end to end in one buffer: about a tenth
/// of what the host's whole graph holds.
#[derive(Debug, Default)]
pub struct EntityIds {
    buf: String,
    /// Node `n`'s id is `buf[ends[n - 1]..ends[n]]` (node 0's starts at 0).
    ends: Vec<usize>,
}

impl EntityIds {
    /// The entity ids of a host graph's nodes.
    pub fn of(hg: &HostGraph) -> EntityIds {
        let nodes = || (0..hg.proc_count()).filter_map(|n| hg.proc_ref(n));
        let mut buf = String::with_capacity(nodes().map(|p| p.entity_id().len()).sum());
        let mut ends = Vec::with_capacity(hg.proc_count());
        for p in nodes() {
            buf.push_str(p.entity_id());
            ends.push(buf.len());
        }
        EntityIds { buf, ends }
    }

    /// Node `n`'s entity id, or `None` past the last node.
    pub fn get(&self, n: usize) -> Option<&str> {
        let end = *self.ends.get(n)?;
        let start = n.checked_sub(1).map_or(0, |p| self.ends[p]);
        self.buf.get(start..end)
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// A host's nodes' entity ids, read from its whole graph or from what was kept of it.
#[derive(Debug, Clone, Copy)]
pub enum HostIds<'a> {
    Graph(&'a HostGraph),
    Ids(&'a EntityIds),
}

impl<'a> HostIds<'a> {
    /// Node `n`'s entity id, or `None` past the last node.
    pub fn entity_id(self, n: usize) -> Option<&'a str> {
        match self {
            HostIds::Graph(hg) => hg.proc_ref(n).map(|p| p.entity_id()),
            HostIds::Ids(ids) => ids.get(n),
        }
    }
}

/// What the rules read of the graph: each event's resolution and the host graphs held.
/// From a built [`Graph`] (every host it holds whole), or, while [`Graph::build_with`] runs,
/// the one host just built.
#[derive(Clone, Copy)]
pub struct GraphRef<'a> {
    resolved: &'a [AtomicU64],
    hosts: Hosts<'a>,
}

#[derive(Clone, Copy)]
enum Hosts<'a> {
    All(&'a Graph),
    One(&'a HostGraph),
}

impl<'a> GraphRef<'a> {
    /// One host's graph (the others are unknown to this view).
    pub(super) fn one(resolved: &'a [AtomicU64], hg: &'a HostGraph) -> GraphRef<'a> {
        GraphRef {
            resolved,
            hosts: Hosts::One(hg),
        }
    }

    /// What event `i` resolved to (`None` past the last event).
    pub fn resolved(self, i: usize) -> Option<Resolved> {
        self.resolved
            .get(i)
            .map(|r| Resolved::unpack_pair(r.load(Ordering::Relaxed)))
    }

    /// A host's graph, when this view holds it.
    pub fn host(self, host: &str) -> Option<&'a HostGraph> {
        match self.hosts {
            Hosts::All(g) => g.host(host),
            Hosts::One(hg) => (*hg.host == *host).then_some(hg),
        }
    }
}

impl<'a> From<&'a Graph> for GraphRef<'a> {
    fn from(g: &'a Graph) -> GraphRef<'a> {
        GraphRef {
            resolved: &g.resolved,
            hosts: Hosts::All(g),
        }
    }
}
