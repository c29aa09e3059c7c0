//! Building the graph: each host's process tree and connections from its events in the total
//! order ([`Graph::build_with`]), one host at a time on the thread pool.

use super::*;

/// A host's graph as [`Graph::build_with`] keeps it: whole, or its nodes' entity ids and the
/// graph pruned (when some nodes are kept).
enum Held {
    Nothing,
    Graph(HostGraph),
    Ids(EntityIds, Option<HostGraph>, Arc<str>),
}

impl Graph {
    /// Build from events sorted in the total order, every host's graph held whole.
    pub fn build(events: &EventStore) -> Graph {
        Graph::build_inner(events, |_| true, true, |_, _| ((), Keep::Graph)).0
    }

    /// Build from events sorted in the total order and, as soon as a host's graph is built,
    /// call `then` with it (as a [`GraphRef`] that knows only that host) and the host's events
    /// (indexes, in order). `then` says whether the host's graph is kept whole or pruned to
    /// some nodes, with every node's entity id kept apart ([`Keep`]); its results come back
    /// in host order. Once built, the graph knows each event's node only
    /// ([`Graph::resolved`]); `then` sees the whole resolution (parent, connection).
    ///
    /// Hosts are independent: each host's graph is built from its own events (in the total
    /// order) on the thread pool; the result does not depend on the number of threads. Besides
    /// those kept whole, at most one host graph per pool thread is held whole at a time.
    pub fn build_with<R, F>(events: &EventStore, then: F) -> (Graph, Vec<R>)
    where
        R: Send,
        F: Fn(GraphRef<'_>, &[u32]) -> (R, Keep) + Sync,
    {
        Graph::build_hosts_with(events, |_| true, then)
    }

    /// [`Graph::build_with`] for the hosts `wanted` accepts (by name) only: the others' graphs
    /// are not built.
    pub fn build_hosts_with<R, F, W>(events: &EventStore, wanted: W, then: F) -> (Graph, Vec<R>)
    where
        R: Send,
        F: Fn(GraphRef<'_>, &[u32]) -> (R, Keep) + Sync,
        W: Fn(&str) -> bool + Sync,
    {
        Graph::build_inner(events, wanted, false, then)
    }

    /// The build; with `full`, every event's whole resolution is kept for the run (4 more
    /// bytes an event), else only while its host's callback runs.
    fn build_inner<R, F, W>(events: &EventStore, wanted: W, full: bool, then: F) -> (Graph, Vec<R>)
    where
        R: Send,
        F: Fn(GraphRef<'_>, &[u32]) -> (R, Keep) + Sync,
        W: Fn(&str) -> bool + Sync,
    {
        // Each host's events, in event order (as `u32`: a store holds fewer than 4 billion
        // events, see `Resolved`).
        // Made on the pool, where they are dropped (see `crate::pool`).
        let (per_host, nodes, seconds) = crate::pool::on_pool(|| {
            let none = || (0..events.len()).map(|_| AtomicU32::new(NONE)).collect();
            let nodes: Vec<AtomicU32> = none();
            let seconds: Vec<AtomicU32> = if full { none() } else { Vec::new() };
            (events.per_host(), nodes, seconds)
        });
        let built: Vec<(Held, R)> = per_host
            .into_par_iter()
            .enumerate()
            .filter(|(k, idx)| !idx.is_empty() && wanted(&events.hosts()[*k]))
            .map(|(k, idx)| {
                let mut hg = HostGraph {
                    host: events.hosts()[k].clone(),
                    ..HostGraph::default()
                };
                let mut c = events.cursor();
                // Without `full`: the second halves of this host's resolutions, by position.
                let mut local: Vec<u32> = Vec::with_capacity(if full { 0 } else { idx.len() });
                for &i in &idx {
                    let i = i as usize;
                    let r = c.event(i).map(|e| hg.add(i, &e)).unwrap_or_default();
                    let packed = r.pack_pair();
                    nodes[i].store(packed as u32, Ordering::Relaxed);
                    let second = (packed >> 32) as u32;
                    if full {
                        seconds[i].store(second, Ordering::Relaxed);
                    } else {
                        local.push(second);
                    }
                }
                hg.shrink();
                let rest = if full {
                    Seconds::Run(&seconds)
                } else {
                    Seconds::Host {
                        idx: &idx,
                        local: &local,
                    }
                };
                let (out, keep) = then(GraphRef::one(&nodes, rest, &hg), &idx);
                drop(local);
                drop(idx);
                let held = match keep {
                    Keep::Nothing => Held::Nothing,
                    Keep::Graph => Held::Graph(hg),
                    Keep::Nodes(nodes) => Held::Ids(
                        EntityIds::of(&hg),
                        (!nodes.is_empty()).then(|| hg.pruned(nodes)),
                        hg.host.clone(),
                    ),
                };
                (held, out)
            })
            .collect();
        let mut graph = Graph {
            hosts: BTreeMap::new(),
            ids_only: BTreeMap::new(),
            nodes,
            seconds,
        };
        let mut outs = Vec::with_capacity(built.len());
        for (held, out) in built {
            match held {
                Held::Nothing => {}
                Held::Graph(hg) => {
                    graph.hosts.insert(hg.host.clone(), hg);
                }
                Held::Ids(ids, pruned, host) => {
                    if let Some(hg) = pruned {
                        graph.hosts.insert(host.clone(), hg);
                    }
                    graph.ids_only.insert(host, ids);
                }
            }
            outs.push(out);
        }
        (graph, outs)
    }
}

impl HostGraph {
    /// Give back the room the lists grew into: a graph kept is held to the end of the run.
    /// Nodes and edges grow by blocks (only the last is cut); the other lists are packed.
    pub(super) fn shrink(&mut self) {
        self.procs.finish();
        self.edges.finish();
        self.children.pack();
        self.node_edges.pack();
        self.node_evidence.pack();
        self.edge_evidence.pack();
        let (strings, by_entity) = (&self.strings, &mut self.by_entity);
        by_entity.shrink_to_fit(|&(k, _)| strings.hash_of(k));
        let mut by_pid: Vec<(u64, Vec<u32>)> =
            std::mem::take(&mut self.by_pid).into_iter().collect();
        by_pid.sort_unstable_by_key(|p| p.0);
        self.pids = by_pid.iter().map(|p| p.0).collect();
        self.pid_nodes = Lists::from_lists(by_pid.into_iter().map(|p| p.1));
        self.strings.finish();
    }

    /// The number of a text in the host's `strings`.
    fn share(&mut self, s: &str) -> Str {
        self.strings.intern(s)
    }

    fn share_opt(&mut self, s: &Option<impl AsRef<str>>) -> Str {
        match s {
            Some(s) => self.strings.intern(s.as_ref()),
            None => Str::NONE,
        }
    }

    /// Let entity id `k` (a text in `strings`) name node `n` (in place of any node it named
    /// before).
    pub(super) fn set_entity(&mut self, k: Str, n: usize) {
        let strings = &self.strings;
        let hash = strings.hash_of(k);
        match self.by_entity.find_mut(hash, |&(j, _)| j == k) {
            Some(slot) => slot.1 = n as u32,
            None => {
                self.by_entity
                    .insert_unique(hash, (k, n as u32), |&(j, _)| strings.hash_of(j));
            }
        }
    }

    fn new_node(&mut self, node: Node) -> usize {
        let i = self.procs.len();
        self.set_entity(node.entity_id, i);
        if let Some(pid) = node.pid() {
            self.by_pid.entry(pid).or_default().push(i as u32);
        }
        self.procs.push(node);
        self.children.add_owner();
        self.node_edges.add_owner();
        self.node_evidence.add_owner();
        i
    }

    /// A new node known only by its id, PID and image (empty when unknown), first seen at `t`.
    fn add_node(
        &mut self,
        entity_id: &str,
        pid: Option<u64>,
        image: Option<&str>,
        t: Ts,
        origin: Origin,
    ) -> usize {
        let image = image.map_or(Str::EMPTY, |s| self.share(s));
        let entity_id = self.share(entity_id);
        self.new_node(Node::new(entity_id, pid, image, t, origin))
    }

    /// A placeholder for the parent a process start names but that was not logged, filled
    /// from the child's `Parent*` fields.
    fn placeholder_parent(&mut self, id: &str, pid: Option<u64>, p: &Process, t: Ts) -> usize {
        let n = self.add_node(id, pid, p.parent_image.as_deref(), t, Origin::Placeholder);
        self.procs[n].command_line = self.share_opt(&p.parent_command_line);
        n
    }

    /// A logged process start of the same process from the other source (Sysmon 1 vs 4688):
    /// same PID and image basename, starts at most [`PROCESS_MERGE_TICKS`] apart, and exactly
    /// one of the two ids synthetic (two ProcessGuids are always two processes).
    fn same_process(&self, pid: Option<u64>, image: &str, t: Ts, eid: &str) -> Option<usize> {
        let new_syn = eid.starts_with("syn:");
        for c in self.pid_list(pid?).iter().rev().map(widen) {
            let n = &self.procs[c];
            let Some(s) = n.start() else { continue };
            // Known starts are in order: everything further back started earlier still.
            if t.ticks_since(s) > PROCESS_MERGE_TICKS {
                break;
            }
            if n.origin == Origin::Logged
                && self.strings.text(n.entity_id).starts_with("syn:") != new_syn
                && s.ticks_since(t) <= PROCESS_MERGE_TICKS
                && self.name_of(n).eq_ignore_ascii_case(basename(image))
            {
                return Some(c);
            }
        }
        None
    }

    fn link(&mut self, child: usize, parent: usize) {
        if child == parent || self.procs[child].parent != NONE {
            return;
        }
        self.procs[child].parent = pack(parent);
        self.procs[child].parent_entity_id = self.procs[parent].entity_id;
        self.children.push(parent, child);
    }

    fn add(&mut self, i: usize, e: &Event) -> Resolved {
        let mut r = Resolved::default();
        match &e.kind {
            Kind::ProcessStart(p) => {
                let syn;
                let eid: &str = match &p.entity_id {
                    Some(id) => id,
                    None => {
                        syn = synthetic_id(&e.host, p.pid.unwrap_or(0), e.time);
                        &syn
                    }
                };
                let n = match self.entity(eid) {
                    Some(n) => n,
                    None => match self.same_process(p.pid, &p.image, e.time, eid) {
                        // The same process logged by both Sysmon 1 and 4688: one node, the
                        // ProcessGuid as its id, both ids resolving to it.
                        Some(n) => {
                            let k = self.share(eid);
                            self.set_entity(k, n);
                            if !eid.starts_with("syn:") {
                                self.procs[n].entity_id = k;
                            }
                            n
                        }
                        None => self.add_node(eid, p.pid, Some(&p.image), e.time, Origin::Logged),
                    },
                };
                let (had_start, had_pid) = (self.procs[n].start().is_some(), self.procs[n].pid());
                {
                    let image = self.share(&p.image);
                    let command_line = self.share_opt(&p.command_line);
                    let user = self.share_opt(&p.user);
                    let hashes = self.share_opt(&p.hashes);
                    let node = &mut self.procs[n];
                    node.origin = Origin::Logged;
                    node.image = image;
                    node.command_line = command_line.or(node.command_line);
                    node.user = user.or(node.user);
                    node.hashes = hashes;
                    if node.start().is_none() {
                        node.set_start(e.time);
                    }
                    if node.pid().is_none()
                        && let Some(pid) = p.pid
                    {
                        node.set_pid(pid);
                    }
                    self.node_evidence.push(n, i);
                }
                match (had_pid, self.procs[n].pid()) {
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
                    Some(match self.entity(peid) {
                        Some(pn) => pn,
                        None => self.placeholder_parent(peid, p.parent_pid, p, e.time),
                    })
                } else if p
                    .entity_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with("syn:"))
                    && let Some(ppid) = p.parent_pid
                    // Sysmon says `?` when it did not know the parent: its PID alone is no link.
                    && (p.parent_image.is_some() || !e.channel.contains("Sysmon"))
                {
                    // 4688: the creator PID alive now (its image must match when logged).
                    let pname = p.parent_image.as_deref().map(basename);
                    match self.alive_pid(ppid, e.time, pname).or_else(|| {
                        self.alive_pid(ppid, e.time, None)
                            .filter(|_| pname.is_none())
                    }) {
                        Some(pn) => Some(pn),
                        None => Some(self.placeholder_parent(
                            &synthetic_id(&e.host, ppid, e.time),
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
                        if self.procs[pn].image == Str::EMPTY
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
                    Some(eid) => self.entity(eid),
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
                    if node.end().is_none() {
                        node.set_end(e.time);
                    }
                    self.node_evidence.push(n, i);
                    r.node = pack(n);
                }
            }
            Kind::Network(net) => {
                let n = match &net.entity_id {
                    Some(eid) => match self.entity(eid) {
                        Some(n) => n,
                        None => self.add_node(
                            eid,
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
                                        && self.name_of(n).eq_ignore_ascii_case(name)
                                });
                                match syn {
                                    Some(s) => s,
                                    None => self.add_node(
                                        &synthetic_id(&e.host, pid, e.time),
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
        for ei in self.node_edges.rev_open(n) {
            let ed = &self.edges[ei];
            if e.time.ticks_since(ed.time) > MERGE_WINDOW_TICKS {
                break;
            }
            if ed.direction == net.direction
                && self.strings.text(ed.transport) == &*net.transport
                && ed.local_port == net.local_port
                && ed.remote_port == net.remote_port
                && norm_ip(self.strings.text(ed.local_ip)) == lip
                && norm_ip(self.strings.text(ed.remote_ip)) == rip
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
        self.edges.push(Edge {
            proc: pack(n),
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
