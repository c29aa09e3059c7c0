//! The ECS view: each normalized event as the Elastic Common Schema fields rules see, enriched
//! from the process graph (entity ids for 5156 and 4688 processes, parents, `host.uptime`).
//!
//! Field names follow Elastic's Sysmon and Security ingest mappings. Extensions of ours:
//! `host.uptime` (seconds since the boot preceding the event, from the graph) and
//! `event.provenance.*` (file, record id, chunk). See docs/rules.md for the full list.

use crate::eql::split_command_line;
use crate::eql::{Document, OwnedValue, Value};
use crate::event::{Direction, Event, Kind, basename};
use crate::graph::{GraphRef, ProcRef};
use std::cell::OnceCell;
use std::sync::LazyLock;

static TYPE_START: LazyLock<Vec<OwnedValue>> = LazyLock::new(|| vec![OwnedValue::from("start")]);
static TYPE_CONNECTION: LazyLock<Vec<OwnedValue>> =
    LazyLock::new(|| vec![OwnedValue::from("start"), OwnedValue::from("connection")]);
static TYPE_END: LazyLock<Vec<OwnedValue>> = LazyLock::new(|| vec![OwnedValue::from("end")]);
static TYPE_INFO: LazyLock<Vec<OwnedValue>> = LazyLock::new(|| vec![OwnedValue::from("info")]);

/// Shared context: the graph (a built [`crate::graph::Graph`], or the host just built).
pub struct EcsContext<'a> {
    pub graph: GraphRef<'a>,
}

impl<'a> EcsContext<'a> {
    pub fn new(graph: impl Into<GraphRef<'a>>) -> Self {
        EcsContext {
            graph: graph.into(),
        }
    }

    /// The document for `ev`, event `i` of the run's store. The graph is consulted only when a
    /// rule asks for a field that needs it (most events are rejected on fields of their own).
    pub fn doc<'e>(&'e self, i: usize, ev: &'e Event) -> EcsDoc<'e> {
        EcsDoc {
            ev,
            graph: self.graph,
            i,
            graph_view: OnceCell::new(),
            args: OnceCell::new(),
            parent_args: OnceCell::new(),
        }
    }
}

/// What a document takes from the graph: its node, its parent node, `host.uptime`.
type GraphView<'a> = (Option<ProcRef<'a>>, Option<ProcRef<'a>>, Option<f64>);

/// One event as ECS fields.
pub struct EcsDoc<'a> {
    pub ev: &'a Event,
    graph: GraphRef<'a>,
    i: usize,
    graph_view: OnceCell<GraphView<'a>>,
    /// `process.args` and `process.parent.args`: the nodes' command lines split, only when a
    /// rule asks for them.
    args: OnceCell<Vec<OwnedValue>>,
    parent_args: OnceCell<Vec<OwnedValue>>,
}

fn split_args<'c>(
    cell: &'c OnceCell<Vec<OwnedValue>>,
    node: Option<ProcRef<'_>>,
) -> &'c [OwnedValue] {
    cell.get_or_init(|| {
        node.and_then(|p| p.command_line())
            .map(|c| {
                split_command_line(c)
                    .into_iter()
                    .map(OwnedValue::Str)
                    .collect()
            })
            .unwrap_or_default()
    })
}

fn s(v: &str) -> Option<Value<'_>> {
    Some(Value::Str(v))
}

fn os(v: Option<&str>) -> Option<Value<'_>> {
    v.map(Value::Str)
}

fn int(v: Option<u64>) -> Option<Value<'static>> {
    v.and_then(|x| i64::try_from(x).ok()).map(Value::Int)
}

fn split_user(u: &str) -> (Option<&str>, &str) {
    match u.split_once('\\') {
        Some((d, n)) => (Some(d), n),
        None => (None, u),
    }
}

impl<'a> EcsDoc<'a> {
    fn graph_view(&self) -> &GraphView<'a> {
        self.graph_view.get_or_init(|| {
            let (ev, graph) = (self.ev, self.graph);
            let r = graph.resolved(self.i).unwrap_or_default();
            let hg = graph.host(&ev.host);
            let node = r.node().and_then(|n| hg.and_then(|h| h.proc_ref(n)));
            let parent = r
                .parent()
                .or_else(|| node.and_then(|p| p.parent()))
                .and_then(|n| hg.and_then(|h| h.proc_ref(n)));
            (node, parent, hg.and_then(|h| h.uptime(ev.time)))
        })
    }

    fn node(&self) -> Option<ProcRef<'a>> {
        self.graph_view().0
    }

    fn parent(&self) -> Option<ProcRef<'a>> {
        self.graph_view().1
    }

    fn uptime(&self) -> Option<f64> {
        self.graph_view().2
    }

    fn executable(&self) -> Option<&'a str> {
        match &self.ev.kind {
            Kind::ProcessStart(p) => Some(p.image.as_ref()),
            Kind::ProcessEnd(p) if !p.image.is_empty() => Some(p.image.as_ref()),
            Kind::Network(n) if !n.image.is_empty() => Some(n.image.as_ref()),
            _ => self.node().map(|n| n.image()).filter(|s| !s.is_empty()),
        }
    }

    fn command_line(&self) -> Option<&'a str> {
        match &self.ev.kind {
            Kind::ProcessStart(p) => p.command_line.as_deref(),
            _ => self.node().and_then(|n| n.command_line()),
        }
    }

    fn parent_executable(&self) -> Option<&'a str> {
        match &self.ev.kind {
            Kind::ProcessStart(p) if p.parent_image.is_some() => p.parent_image.as_deref(),
            _ => self.parent().map(|n| n.image()).filter(|s| !s.is_empty()),
        }
    }

    fn parent_command_line(&self) -> Option<&'a str> {
        match &self.ev.kind {
            Kind::ProcessStart(p) if p.parent_command_line.is_some() => {
                p.parent_command_line.as_deref()
            }
            _ => self.parent().and_then(|n| n.command_line()),
        }
    }

    fn user(&self) -> Option<&'a str> {
        match &self.ev.kind {
            Kind::ProcessStart(p) => p.user.as_deref(),
            Kind::Network(n) => n.user.as_deref().or(self.node().and_then(|n| n.user())),
            _ => self.node().and_then(|n| n.user()),
        }
    }
}

impl Document for EcsDoc<'_> {
    fn category(&self) -> &str {
        match self.ev.kind {
            Kind::ProcessStart(_) | Kind::ProcessEnd(_) => "process",
            Kind::Network(_) => "network",
            Kind::Boot(_) => "host",
        }
    }

    fn get(&self, field: &str) -> Option<Value<'_>> {
        let ev = self.ev;
        let net = ev.network();
        match field {
            "event.category" => s(self.category()),
            "event.type" => Some(Value::Array(match ev.kind {
                Kind::ProcessStart(_) => &TYPE_START,
                Kind::Network(_) => &TYPE_CONNECTION,
                Kind::ProcessEnd(_) => &TYPE_END,
                Kind::Boot(_) => &TYPE_INFO,
            })),
            "event.action" => s(match &ev.kind {
                Kind::ProcessStart(_) => "start",
                Kind::ProcessEnd(_) => "end",
                Kind::Network(n) if n.direction == Direction::Ingress => "connection_accepted",
                Kind::Network(_) => "connection_attempted",
                Kind::Boot(_) => "boot",
            }),
            "event.code" | "winlog.event_id" => Some(Value::Int(i64::from(ev.event_id))),
            "event.provider" | "winlog.provider_name" => s(&ev.provider),
            "winlog.channel" => s(&ev.channel),
            "winlog.record_id" | "event.provenance.record_id" => int(Some(ev.record_id)),
            "event.provenance.file" => s(&ev.prov.file),
            "event.provenance.chunk" => int(ev.prov.chunk),
            "host.id" | "host.name" | "winlog.computer_name" => s(&ev.host),
            "host.os.type" => s("windows"),
            "host.os.family" => s("windows"),
            "host.uptime" => self.uptime().map(Value::Float),
            "process.entity_id" => match (&ev.kind, self.node()) {
                (_, Some(n)) => s(n.entity_id()),
                (Kind::ProcessStart(p), None) => os(p.entity_id.as_deref()),
                _ => None,
            },
            "process.pid" => match &ev.kind {
                Kind::ProcessStart(p) => int(p.pid),
                Kind::ProcessEnd(p) => int(p.pid),
                Kind::Network(n) => int(n.pid),
                Kind::Boot(_) => None,
            },
            "process.executable" => os(self.executable()),
            "process.name" => os(self.executable().map(basename)),
            "process.command_line" => os(self.command_line()),
            "process.args" => Some(split_args(&self.args, self.node()))
                .filter(|a| !a.is_empty())
                .map(Value::Array),
            "process.args_count" => Some(split_args(&self.args, self.node()))
                .filter(|a| !a.is_empty())
                .map(|a| Value::Int(a.len() as i64)),
            "process.parent.entity_id" => match &ev.kind {
                Kind::ProcessStart(p) => os(self
                    .parent()
                    .map(|n| n.entity_id())
                    .or(p.parent_entity_id.as_deref())),
                _ => os(self.parent().map(|n| n.entity_id())),
            },
            "process.parent.pid" => match &ev.kind {
                Kind::ProcessStart(p) => int(p.parent_pid.or(self.parent().and_then(|n| n.pid()))),
                _ => int(self.parent().and_then(|n| n.pid())),
            },
            "process.parent.executable" => os(self.parent_executable()),
            "process.parent.name" => os(self.parent_executable().map(basename)),
            "process.parent.command_line" => os(self.parent_command_line()),
            "process.parent.args" => Some(split_args(&self.parent_args, self.parent()))
                .filter(|a| !a.is_empty())
                .map(Value::Array),
            "process.hash.sha256" | "process.hash.md5" | "process.hash.sha1" => {
                let hashes = ev.process().and_then(|p| p.hashes.as_deref())?;
                let want = match field {
                    "process.hash.sha256" => "SHA256=",
                    "process.hash.md5" => "MD5=",
                    _ => "SHA1=",
                };
                hashes
                    .split(',')
                    .find_map(|h| h.strip_prefix(want))
                    .map(Value::Str)
            }
            "user.name" => self.user().map(|u| Value::Str(split_user(u).1)),
            "user.domain" => self.user().and_then(|u| split_user(u).0).map(Value::Str),
            "network.direction" => net.map(|n| Value::Str(n.direction.as_str())),
            "network.transport" => net.map(|n| Value::Str(n.transport.as_ref())),
            "source.ip" | "source.address" => net
                .map(|n| Value::Str(n.source().0))
                .filter(|v| *v != Value::Str("")),
            "source.port" => net
                .and_then(|n| n.source().1)
                .map(|p| Value::Int(i64::from(p))),
            "destination.ip" | "destination.address" => net
                .map(|n| Value::Str(n.destination().0))
                .filter(|v| *v != Value::Str("")),
            "destination.port" => net
                .and_then(|n| n.destination().1)
                .map(|p| Value::Int(i64::from(p))),
            "network.local_side" => net.map(|n| Value::Str(n.local_side.as_str())),
            _ => None,
        }
    }
}

/// Whether an event is inbound (convenience for reports).
pub fn is_ingress(e: &Event) -> bool {
    e.network()
        .is_some_and(|n| n.direction == Direction::Ingress)
}
