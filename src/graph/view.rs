//! Reading a graph: the view the rules read while a host's graph is built ([`GraphRef`]), and
//! what is left of a host whose graph was let go once its rules had run ([`EntityIds`]).

use super::{Graph, HostGraph, Resolved};
use std::sync::atomic::{AtomicU32, Ordering};

/// What [`Graph::build_with`] keeps of a host once its callback has seen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// The whole graph: nodes, edges, lists and texts (what [`Graph::build`] keeps).
    Graph,
    /// Each node's entity id (what the timeline's `graph_entity_id` column reads), and the
    /// graph pruned to these nodes and their ancestors (see [`HostGraph::pruned`]; none: no
    /// graph at all).
    Nodes(Vec<usize>),
    /// Nothing: the callback took what it needed (`tree` draws each host as it is built).
    Nothing,
}

/// Each node's entity id of one host, in node order: a ProcessGuid in its 16 bytes, a
/// synthetic id (Security 4688's, see [`crate::event::synthetic_id`]) as its PID and time, any
/// other id as text end to end in one buffer. About 20 bytes a process (its id as text took
/// 38 to 60, plus an 8-byte offset).
#[derive(Debug, Default)]
pub struct EntityIds {
    /// Per node: `GUID | k` for `guids[k]`, `SYN | k` for `syns[k]`, else `k` for text `k`.
    /// Empty when the host has 2^30 nodes or more: then node `n`'s id is text `n`.
    slots: Vec<u32>,
    guids: Vec<[u8; 16]>,
    /// This host's [`crate::event::synthetic_prefix`].
    syn_prefix: String,
    syns: Vec<(u64, i64)>,
    /// Text `k` is `buf[ends[k - 1]..ends[k]]` (text 0 starts at 0).
    buf: String,
    ends: Vec<usize>,
}

/// Slot tags of [`EntityIds`].
const GUID: u32 = 1 << 31;
const SYN: u32 = 1 << 30;
const INDEX: u32 = SYN - 1;

/// Room for an entity id that [`EntityIds`] keeps in a compact form, written out to be read.
pub type IdBuf = String;

/// Where a GUID's text has its dashes.
const DASHES: [usize; 4] = [9, 14, 19, 24];

/// The 16 bytes of a lower-case braced GUID `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` (the form
/// the graph keys Sysmon processes by), or `None` for any other text.
fn parse_guid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 38 || b[0] != b'{' || b[37] != b'}' || DASHES.iter().any(|&d| b[d] != b'-') {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 16];
    let mut digits = b[1..37].iter().filter(|&&c| c != b'-');
    for o in &mut out {
        *o = (nibble(*digits.next()?)? << 4) | nibble(*digits.next()?)?;
    }
    Some(out)
}

/// The text of a GUID read by [`parse_guid`], written into `buf`.
fn format_guid<'b>(g: &[u8; 16], buf: &'b mut IdBuf) -> &'b str {
    buf.clear();
    buf.push_str(std::str::from_utf8(&crate::event::guid_text(g)).unwrap_or_default());
    buf
}

/// The PID and time of a synthetic id with this host's `prefix` (`syn:{host}:`), or `None`.
fn parse_syn(s: &str, prefix: &str) -> Option<(u64, i64)> {
    let (pid, time) = s.strip_prefix(prefix)?.split_once(':')?;
    Some((pid.parse().ok()?, time.parse().ok()?))
}

/// The text of a synthetic id read by [`parse_syn`], written into `buf`.
fn format_syn<'b>(prefix: &str, (pid, time): (u64, i64), buf: &'b mut IdBuf) -> &'b str {
    crate::event::write_synthetic_id(buf, prefix, pid, time);
    buf
}

/// How [`EntityIds`] keeps one id.
enum Form {
    Guid([u8; 16]),
    Syn((u64, i64)),
    Text,
}

impl EntityIds {
    /// The entity ids of a host graph's nodes.
    pub fn of(hg: &HostGraph) -> EntityIds {
        let nodes = || (0..hg.proc_count()).filter_map(|k| hg.proc_ref(k));
        let syn_prefix = crate::event::synthetic_prefix(&hg.host);
        let mut scratch = IdBuf::new();
        let compact = hg.proc_count() < INDEX as usize;
        // A compact form only when it reads back exactly as the text; anything else is text.
        let mut form = |id: &str| {
            if !compact {
                Form::Text
            } else if let Some(g) = parse_guid(id).filter(|g| format_guid(g, &mut scratch) == id) {
                Form::Guid(g)
            } else if let Some(x) = parse_syn(id, &syn_prefix)
                .filter(|&x| format_syn(&syn_prefix, x, &mut scratch) == id)
            {
                Form::Syn(x)
            } else {
                Form::Text
            }
        };
        // Counted first, so that every part is allocated once at its size (the ids of every
        // host are held to the end of the run).
        let (mut guids, mut syns, mut texts, mut bytes) = (0usize, 0usize, 0usize, 0usize);
        for p in nodes() {
            match form(p.entity_id()) {
                Form::Guid(_) => guids += 1,
                Form::Syn(_) => syns += 1,
                Form::Text => {
                    texts += 1;
                    bytes += p.entity_id().len();
                }
            }
        }
        let mut ids = EntityIds {
            slots: Vec::with_capacity(if compact { hg.proc_count() } else { 0 }),
            guids: Vec::with_capacity(guids),
            syn_prefix: String::new(),
            syns: Vec::with_capacity(syns),
            buf: String::with_capacity(bytes),
            ends: Vec::with_capacity(texts),
        };
        for p in nodes() {
            let id = p.entity_id();
            let slot = match form(id) {
                Form::Guid(g) => {
                    ids.guids.push(g);
                    GUID | (ids.guids.len() - 1) as u32
                }
                Form::Syn(x) => {
                    ids.syns.push(x);
                    SYN | (ids.syns.len() - 1) as u32
                }
                Form::Text => {
                    ids.buf.push_str(id);
                    ids.ends.push(ids.buf.len());
                    (ids.ends.len() - 1) as u32
                }
            };
            if compact {
                ids.slots.push(slot);
            }
        }
        if syns > 0 {
            ids.syn_prefix = syn_prefix;
        }
        ids
    }

    /// Node `n`'s entity id (written into `buf` when it is kept in a compact form), or `None`
    /// past the last node.
    pub fn get<'b>(&'b self, n: usize, buf: &'b mut IdBuf) -> Option<&'b str> {
        if self.slots.is_empty() {
            return self.text(n);
        }
        let slot = *self.slots.get(n)?;
        let k = (slot & INDEX) as usize;
        if slot & GUID != 0 {
            Some(format_guid(self.guids.get(k)?, buf))
        } else if slot & SYN != 0 {
            Some(format_syn(&self.syn_prefix, *self.syns.get(k)?, buf))
        } else {
            self.text(k)
        }
    }

    /// Text `k`.
    fn text(&self, k: usize) -> Option<&str> {
        let end = *self.ends.get(k)?;
        let start = k.checked_sub(1).map_or(0, |p| self.ends[p]);
        self.buf.get(start..end)
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        if self.slots.is_empty() {
            self.ends.len()
        } else {
            self.slots.len()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A host's nodes' entity ids, read from its whole graph or from what was kept of it.
#[derive(Debug, Clone, Copy)]
pub enum HostIds<'a> {
    Graph(&'a HostGraph),
    Ids(&'a EntityIds),
}

impl<'a> HostIds<'a> {
    /// Node `n`'s entity id (written into `buf` when it has to be), or `None` past the last
    /// node.
    pub fn entity_id<'b>(self, n: usize, buf: &'b mut IdBuf) -> Option<&'b str>
    where
        'a: 'b,
    {
        match self {
            HostIds::Graph(hg) => hg.proc_ref(n).map(|p| p.entity_id()),
            HostIds::Ids(ids) => ids.get(n, buf),
        }
    }
}

/// What the rules read of the graph: each event's resolution and the host graphs held.
/// From a built [`Graph`] (every host it holds), or, while [`Graph::build_with`] runs, the one
/// host just built.
#[derive(Clone, Copy)]
pub struct GraphRef<'a> {
    /// Per event, the node it resolved to.
    nodes: &'a [AtomicU32],
    seconds: Seconds<'a>,
    hosts: Hosts<'a>,
}

/// Where the second halves of the events' resolutions (parent or connection) are.
#[derive(Clone, Copy)]
pub(super) enum Seconds<'a> {
    /// For every event of the run (none when empty).
    Run(&'a [AtomicU32]),
    /// For the events of one host (`idx`, ascending), by position.
    Host { idx: &'a [u32], local: &'a [u32] },
}

#[derive(Clone, Copy)]
enum Hosts<'a> {
    All(&'a Graph),
    One(&'a HostGraph),
}

impl<'a> GraphRef<'a> {
    /// One host's graph (the others are unknown to this view).
    pub(super) fn one(
        nodes: &'a [AtomicU32],
        seconds: Seconds<'a>,
        hg: &'a HostGraph,
    ) -> GraphRef<'a> {
        GraphRef {
            nodes,
            seconds,
            hosts: Hosts::One(hg),
        }
    }

    /// What event `i` resolved to (`None` past the last event). From a graph built by
    /// [`Graph::build_with`]: its node only (the rest is there while its host's callback runs).
    pub fn resolved(self, i: usize) -> Option<Resolved> {
        let node = self.nodes.get(i)?.load(Ordering::Relaxed);
        let second = match self.seconds {
            Seconds::Run(s) => s.get(i).map(|x| x.load(Ordering::Relaxed)),
            Seconds::Host { idx, local } => u32::try_from(i)
                .ok()
                .and_then(|x| idx.binary_search(&x).ok())
                .and_then(|p| local.get(p).copied()),
        };
        let second = second.unwrap_or(u32::MAX);
        Some(Resolved::unpack_pair(
            u64::from(node) | (u64::from(second) << 32),
        ))
    }

    /// The one host graph of a view of one host (as [`Graph::build_with`] hands each host
    /// to its callback); `None` for a view of a built graph.
    pub fn single(self) -> Option<&'a HostGraph> {
        match self.hosts {
            Hosts::All(_) => None,
            Hosts::One(hg) => Some(hg),
        }
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
            nodes: &g.nodes,
            seconds: Seconds::Run(&g.seconds),
            hosts: Hosts::All(g),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GUIDs in the graph's form read back from their 16 bytes; every other text (upper case,
    /// no braces, a letter past `f`, synthetic ids, empty) as it was.
    #[test]
    fn guids_read_back_exactly() {
        let texts = [
            "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
            "{00000000-0000-0000-0000-000000000000}",
            "{ffffffff-ffff-ffff-ffff-ffffffffffff}",
            "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
            "5770385f-c22a-43e0-bf4c-06f5698ffbd9",
            "{5770385f-c22a-43e0-bf4c-06f5698ffbg9}",
            "{5770385f-c22a-43e0+bf4c-06f5698ffbd9}",
            "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}x",
            "syn:WS01.corp.example:4242:133000000000000000",
            "",
        ];
        let mut buf = IdBuf::new();
        for (k, t) in texts.iter().enumerate() {
            let g = parse_guid(t);
            assert_eq!(g.is_some(), k < 3, "{t}");
            if let Some(g) = g {
                assert_eq!(format_guid(&g, &mut buf), *t);
            }
        }
    }

    /// Synthetic ids of the host read back from their PID and time, exactly as
    /// `event::synthetic_id` writes them; look-alikes (another host, leading zeros, a sign,
    /// out of range) do not parse or do not read back, and stay text.
    #[test]
    fn synthetic_ids_read_back_exactly() {
        use crate::event::synthetic_id;
        use crate::time::Ts;
        let prefix = "syn:ws01.corp.example:";
        let mut buf = IdBuf::new();
        for (pid, t) in [
            (0, 0),
            (4242, 133_000_000_000_000_000),
            (u64::MAX, i64::MIN),
        ] {
            let id = synthetic_id("WS01.corp.EXAMPLE", pid, Ts(t));
            assert_eq!(parse_syn(&id, prefix), Some((pid, t)));
            assert_eq!(format_syn(prefix, (pid, t), &mut buf), id);
        }
        let reads_back = |s: &str| {
            let mut b = IdBuf::new();
            parse_syn(s, prefix).is_some_and(|x| format_syn(prefix, x, &mut b) == s)
        };
        for s in [
            "syn:ws02.corp.example:1:2",
            "syn:ws01.corp.example:01:2",
            "syn:ws01.corp.example:+1:2",
            "syn:ws01.corp.example:1:-0",
            "syn:ws01.corp.example:1:2:3",
            "syn:ws01.corp.example:18446744073709551616:2",
            "syn:ws01.corp.example:1",
        ] {
            assert!(!reads_back(s), "{s}");
        }
    }
}
