//! A host graph pruned to the processes some findings need, read by the same node indexes as
//! the whole graph it came from.
//!
//! A finding's reports read its key process, that process's ancestors and descendants, the
//! processes of its matched events, and their connections and evidence: a few nodes of a host
//! that may hold hundreds of thousands. Once a host's rules have run, the rest is let go (see
//! [`super::Graph::build_with`]); every node's entity id is kept apart, for the timeline.

use super::{HostGraph, Str, unpack};

/// Which nodes and edges of the whole graph a pruned one holds, by their indexes in it.
#[derive(Debug, Default)]
pub(super) struct Kept {
    /// The whole graph's number of nodes (node indexes stay those of the whole graph).
    pub nodes_total: usize,
    /// The kept nodes' indexes in the whole graph, ascending: node `nodes[k]` is held at `k`.
    nodes: Vec<u32>,
    /// The kept edges' indexes in the whole graph, ascending, likewise.
    edges: Vec<u32>,
}

fn position(kept: &[u32], i: usize) -> Option<usize> {
    let i = u32::try_from(i).ok()?;
    kept.binary_search(&i).ok()
}

impl HostGraph {
    /// Where node `n` (an index of the whole graph) is held, or `None` when it is not.
    pub(super) fn node_at(&self, n: usize) -> Option<usize> {
        match &self.kept {
            None => Some(n),
            Some(k) => position(&k.nodes, n),
        }
    }

    /// Where edge `e` (an index of the whole graph) is held, or `None` when it is not.
    pub(super) fn edge_at(&self, e: usize) -> Option<usize> {
        match &self.kept {
            None => Some(e),
            Some(k) => position(&k.edges, e),
        }
    }

    /// The node index (of the whole graph) of the node held at `k`.
    pub(super) fn node_index(&self, k: usize) -> usize {
        match &self.kept {
            None => k,
            Some(kept) => kept.nodes[k] as usize,
        }
    }

    /// The host's wider tree around node `n`: for each of its ancestors, up to `per_parent` of
    /// that ancestor's other children, the nearest in start time (or first sight) to the child
    /// on the way to `n` (the earlier node on a tie). Neither `n` nor its ancestors are listed.
    pub fn around(&self, n: usize, per_parent: usize) -> Vec<usize> {
        let at = |m: usize| self.get_proc(m).map(|p| p.start.unwrap_or(p.first_seen));
        let mut out = Vec::new();
        let mut child = n;
        for parent in self.ancestors(n) {
            if let Some(t) = at(child) {
                let mut sib: Vec<(u64, usize)> = self
                    .children(parent)
                    .filter(|&c| c != child)
                    .filter_map(|c| Some((at(c)?.ticks_since(t).unsigned_abs(), c)))
                    .collect();
                if per_parent < sib.len() {
                    sib.select_nth_unstable(per_parent);
                    sib.truncate(per_parent);
                }
                sib.sort_unstable();
                out.extend(sib.into_iter().map(|(_, c)| c));
            }
            child = parent;
        }
        out
    }

    /// Whether this graph was pruned (see [`HostGraph::pruned`]).
    pub fn is_pruned(&self) -> bool {
        self.kept.is_some()
    }

    /// This (whole, built) graph pruned to the nodes `keep` and their ancestors, with every
    /// connection and evidence record of theirs and the host's boots; read by the same node and
    /// edge indexes as this graph. A node's children are the kept ones. Not kept: every other
    /// node and edge, and the lookups only building needs (by PID; by entity id only each kept
    /// node's own id).
    pub fn pruned(&self, keep: impl IntoIterator<Item = usize>) -> HostGraph {
        let total = self.procs.len();
        let mut wanted = vec![false; total];
        let mut nodes: Vec<u32> = Vec::new();
        for n in keep {
            // A node and its ancestors, up to one already wanted (a cycle stops there too).
            let mut at = Some(n);
            while let Some(m) = at.filter(|&m| m < total && !wanted[m]) {
                wanted[m] = true;
                nodes.push(m as u32);
                at = unpack(self.procs[m].parent);
            }
        }
        drop(wanted);
        nodes.sort_unstable();
        let mut edges: Vec<u32> = nodes
            .iter()
            .flat_map(|&n| self.node_edges.slice(n as usize).iter().copied())
            .collect();
        edges.sort_unstable();
        edges.dedup();
        let mut g = HostGraph {
            host: self.host.clone(),
            boots: self.boots.clone(),
            ..HostGraph::default()
        };
        let text = |g: &mut HostGraph, s: Str| {
            if s.is_none() {
                Str::NONE
            } else {
                g.strings.intern(self.strings.text(s))
            }
        };
        for &n in &nodes {
            let n = n as usize;
            let mut p = self.procs[n].clone();
            p.entity_id = text(&mut g, p.entity_id);
            p.image = text(&mut g, p.image);
            p.command_line = text(&mut g, p.command_line);
            p.user = text(&mut g, p.user);
            p.hashes = text(&mut g, p.hashes);
            p.parent_entity_id = text(&mut g, p.parent_entity_id);
            g.set_entity(p.entity_id, n);
            g.procs.push(p);
            let kept_children = self
                .children
                .get(n)
                .filter(|&c| position(&nodes, c).is_some());
            g.children.add_list(kept_children);
            g.node_edges.add_list(self.node_edges.get(n));
            g.node_evidence.add_list(self.node_evidence.get(n));
        }
        for &e in &edges {
            let e = e as usize;
            let mut ed = self.edges[e].clone();
            ed.transport = text(&mut g, ed.transport);
            ed.local_ip = text(&mut g, ed.local_ip);
            ed.remote_ip = text(&mut g, ed.remote_ip);
            g.edges.push(ed);
            g.edge_evidence.add_list(self.edge_evidence.get(e));
        }
        g.shrink();
        g.kept = Some(Box::new(Kept {
            nodes_total: total,
            nodes,
            edges,
        }));
        g
    }
}
