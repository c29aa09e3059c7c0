//! The ECS view the rules see, on real fixture events (both Sysmon generations and Security-only).

mod common;

use dcomhunt::ecs::EcsContext;
use dcomhunt::eql::{Document, Value};
use dcomhunt::graph::Graph;
use dcomhunt::pipeline::load;

fn inbound_doc_fields(scenario: &str) -> Vec<(String, String)> {
    let l = load(&[common::testdata().join(scenario)]).unwrap();
    let g = Graph::build(&l.events);
    let ctx = EcsContext::new(&g);
    let i = l
        .events
        .iter()
        .position(|e| {
            e.network().is_some_and(|n| {
                n.direction == dcomhunt::event::Direction::Ingress && n.local_port != Some(135)
            })
        })
        .expect("an inbound connection");
    let ev = l.events.get(i).unwrap();
    let d = ctx.doc(i, &ev);
    let show = |v: Option<Value>| match v {
        Some(Value::Str(s)) => s.to_string(),
        Some(Value::Int(n)) => n.to_string(),
        Some(Value::Float(f)) => format!("{f:.0}"),
        Some(Value::Array(a)) => format!("{a:?}"),
        Some(other) => format!("{other:?}"),
        None => "<missing>".into(),
    };
    [
        "event.category",
        "event.action",
        "network.direction",
        "network.transport",
        "source.ip",
        "source.port",
        "destination.port",
        "process.name",
        "host.os.type",
    ]
    .iter()
    .map(|f| (f.to_string(), show(d.get(f))))
    .collect()
}

#[test]
fn inbound_connection_fields_agree_across_logging_styles() {
    let recent = inbound_doc_fields("mshta_sysmon_recent");
    assert_eq!(recent[0].1, "network");
    assert_eq!(recent[1].1, "connection_accepted");
    assert_eq!(recent[2].1, "ingress");
    assert_eq!(recent[3].1, "tcp");
    assert_eq!(recent[7].1, "mshta.exe");
    assert_eq!(recent[8].1, "windows");
    assert!(recent[5].1.parse::<u16>().unwrap() > 49151);
    // The 2019-era Sysmon and the Security-only twin present the same connection the same way.
    assert_eq!(inbound_doc_fields("mshta_sysmon_2019"), recent);
    assert_eq!(inbound_doc_fields("mshta_security"), recent);
}

#[test]
fn security_only_connections_get_process_fields_from_the_graph() {
    let l = load(&[common::testdata().join("rpc_security")]).unwrap();
    let g = Graph::build(&l.events);
    let ctx = EcsContext::new(&g);
    let i = l
        .events
        .iter()
        .position(|e| e.network().is_some_and(|n| n.local_port == Some(135)))
        .unwrap();
    let ev = l.events.get(i).unwrap();
    let d = ctx.doc(i, &ev);
    assert!(matches!(d.get("process.entity_id"), Some(Value::Str(s)) if s.starts_with("syn:")));
    assert_eq!(
        d.get("process.command_line"),
        Some(Value::Str("C:\\Windows\\system32\\svchost.exe -k RPCSS -p"))
    );
    let Some(Value::Array(args)) = d.get("process.args") else {
        panic!("args")
    };
    assert!(args.iter().any(|a| a.as_value() == Value::Str("RPCSS")));
    assert!(matches!(d.get("host.uptime"), Some(Value::Float(u)) if u > 300.0));
}

#[test]
fn an_older_elastic_rule_file_loads_unchanged() {
    let p = common::testdata().join("../tests/data/elastic_mshta_2020.toml");
    let r = dcomhunt::eql::rulefile::load_file(&p).unwrap();
    assert_eq!(r.rule.rule_id, "622ecb68-fa81-4601-90b5-f8cd661e4520");
    assert!(r.rule.query.is_sequence());
}
