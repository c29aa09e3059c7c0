//! The shipped rules and the rule-file loader.

use dcomhunt::eql::rulefile::{self, LoadedRule, RuleError};
use dcomhunt::eql::{MapDocument, OwnedValue, split_command_line};
use sha2::{Digest, Sha256};
use std::path::Path;

const S: i64 = 10_000_000;

fn rules() -> Vec<LoadedRule> {
    rulefile::load_dir(Path::new("rules")).unwrap_or_else(|e| panic!("{e}"))
}

fn rule(id: &str) -> LoadedRule {
    rules()
        .into_iter()
        .find(|r| r.rule.rule_id == id)
        .unwrap_or_else(|| panic!("no rule {id}"))
}

fn run(r: &LoadedRule, events: &[(MapDocument, i64)]) -> Vec<Vec<u64>> {
    let mut m = r.rule.query.matcher();
    let mut out = Vec::new();
    for (i, (d, t)) in events.iter().enumerate() {
        out.extend(
            m.feed(d, i as u64, *t)
                .unwrap()
                .into_iter()
                .map(|h| h.positions),
        );
    }
    out.extend(m.finish().into_iter().map(|h| h.positions));
    out
}

const MMC: &str = "51ce96fb-9e52-4dad-b0ba-99b54440fc9a";
const MMC_ANY: &str = "8e3a2f1c-5b7d-4c2e-9a61-0d4f7b9c3e21";
const MSHTA: &str = "622ecb68-fa81-4601-90b5-f8cd661e4520";
const RPC: &str = "d58035ff-0bac-4c61-a7f4-f58939ff9764";

/// Elastic's published query for 622ecb68-… (rules/windows/lateral_movement_dcom_hta.toml,
/// updated 2025/03/20), verbatim.
const ELASTIC_MSHTA_QUERY: &str = r#"sequence with maxspan=1m
  [process where host.os.type == "windows" and event.type == "start" and
     process.name : "mshta.exe" and process.args : "-Embedding"
  ] by host.id, process.entity_id
  [network where host.os.type == "windows" and event.type == "start" and process.name : "mshta.exe" and
     network.direction : ("incoming", "ingress") and network.transport == "tcp" and
     source.port > 49151 and destination.port > 49151 and source.ip != "127.0.0.1" and source.ip != "::1"
  ] by host.id, process.entity_id
"#;

fn base(cat: &str, host: &str) -> MapDocument {
    MapDocument::new(cat)
        .with("host.id", host)
        .with("host.name", host)
        .with("host.os.type", "windows")
}

fn proc_start(host: &str, id: &str, cmd: &str, parent_id: &str, parent_cmd: &str) -> MapDocument {
    let args = split_command_line(cmd);
    let pargs = split_command_line(parent_cmd);
    let name = |a: &[String]| {
        a.first()
            .map(|p| p.rsplit('\\').next().unwrap_or(p).to_owned())
            .unwrap_or_default()
    };
    base("process", host)
        .with("event.category", "process")
        .with("event.type", vec!["start"])
        .with("process.entity_id", id)
        .with("process.name", name(&args))
        .with("process.command_line", cmd)
        .with("process.args", args)
        .with("process.parent.entity_id", parent_id)
        .with("process.parent.name", name(&pargs))
        .with("process.parent.args", pargs)
        .with("host.uptime", 86_400i64)
}

fn inbound(
    host: &str,
    id: &str,
    image: &str,
    local: (&str, i64),
    remote: (&str, i64),
) -> MapDocument {
    let args = split_command_line(image);
    base("network", host)
        .with("event.category", "network")
        .with("event.type", vec!["start", "connection"])
        .with("network.direction", "ingress")
        .with("network.transport", "tcp")
        .with("process.entity_id", id)
        .with(
            "process.name",
            image
                .rsplit('\\')
                .next()
                .unwrap_or(image)
                .split(' ')
                .next()
                .unwrap_or(""),
        )
        .with("process.args", args)
        .with("source.ip", remote.0)
        .with("source.port", remote.1)
        .with("destination.ip", local.0)
        .with("destination.port", local.1)
}

#[test]
fn loads_all_shipped_rules_sorted_with_hashes() {
    let rs = rules();
    let names: Vec<_> = rs
        .iter()
        .map(|r| r.path.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "dcom_mmc_incoming.toml",
            "dcom_mmc_incoming_any_client.toml",
            "dcom_mmc_network_only.toml",
            "dcom_mshta_incoming.toml",
            "dcom_remote_activation.toml",
            "dcom_rpc_dcomlaunch.toml",
            "dcom_shellwindows_incoming.toml"
        ]
    );
    for r in &rs {
        let bytes = std::fs::read(&r.path).unwrap();
        assert_eq!(r.sha256, hex::encode(Sha256::digest(&bytes)));
        assert!(!r.rule.description.is_empty() && !r.rule.references.is_empty());
        assert!(
            r.rule.technique_ids().contains(&"T1021.003"),
            "{}",
            r.rule.name
        );
    }
    let mmc = rule(MMC);
    assert_eq!(
        (mmc.rule.severity.as_str(), mmc.rule.risk_score),
        ("high", 73)
    );
    assert_eq!(mmc.rule.technique_ids(), ["T1021.003", "T1218.014"]);
    assert_eq!(rule(MSHTA).rule.technique_ids(), ["T1021.003", "T1218.005"]);
    assert_eq!(
        rule(MMC_ANY).rule.technique_ids(),
        ["T1021.003", "T1218.014"]
    );
}

#[test]
fn elastic_logic_is_reproduced_exactly() {
    let verbatim = rulefile::load_file(Path::new("tests/data/elastic_mmc_verbatim.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verbatim.rule.rule_id, MMC);
    assert_eq!(
        verbatim.rule.technique_ids(),
        ["T1021.003", "T1218.014", "T1559.001"]
    );
    assert_eq!(rule(MMC).rule.query_text, verbatim.rule.query_text);
    assert_eq!(rule(MMC).rule.query.ast(), verbatim.rule.query.ast());
    assert_eq!(rule(MSHTA).rule.query_text, ELASTIC_MSHTA_QUERY);
}

/// The impacket dcomexec (MMC20) sample, as the ECS view will present it.
fn impacket_mmc() -> Vec<(MapDocument, i64)> {
    let h = "IEWIN7";
    let mmc = "{365abb72-b17f-5cc8-0000-001082a51e00}";
    let svc = "C:\\Windows\\system32\\svchost.exe -k DcomLaunch";
    let mmc_cmd = "C:\\Windows\\system32\\mmc.exe -Embedding";
    vec![
        (proc_start(h, mmc, mmc_cmd, "{svc}", svc), 0),
        (
            proc_start(
                h,
                "{c1}",
                "cmd.exe /Q /c cd \\ 1> \\\\127.0.0.1\\ADMIN$\\__1556656511.61 2>&1",
                mmc,
                mmc_cmd,
            ),
            5 * S,
        ),
        (
            inbound(
                h,
                mmc,
                "C:\\Windows\\system32\\mmc.exe",
                ("10.0.2.18", 49163),
                ("10.0.2.19", 33474),
            ),
            5 * S + 7 * S / 10,
        ),
        (
            proc_start(
                h,
                "{c2}",
                "cmd.exe /Q /c cd 1> \\\\127.0.0.1\\ADMIN$\\__1556656511.61 2>&1",
                mmc,
                mmc_cmd,
            ),
            6 * S,
        ),
        (
            proc_start(
                h,
                "{c3}",
                "cmd.exe /Q /c whoami /all 1> \\\\127.0.0.1\\ADMIN$\\__1556656511.61 2>&1",
                mmc,
                mmc_cmd,
            ),
            6 * S + 1,
        ),
    ]
}

#[test]
fn impacket_from_linux_caught_by_variant_only() {
    let ev = impacket_mmc();
    assert!(
        run(&rule(MMC), &ev).is_empty(),
        "Elastic's logic needs source.port >= 49152"
    );
    assert_eq!(run(&rule(MMC_ANY), &ev), vec![vec![2, 3]]);
    assert!(run(&rule(RPC), &ev).is_empty(), "no connection to port 135");
    // From a Windows client (dynamic source port) both fire.
    let mut win = ev.clone();
    win[2].0 = win[2].0.clone().with("source.port", 50123i64);
    assert_eq!(run(&rule(MMC), &win), vec![vec![2, 3]]);
    // Loopback does not count.
    let mut lo = ev;
    lo[2].0 = lo[2].0.clone().with("source.ip", "127.0.0.1");
    assert!(run(&rule(MMC_ANY), &lo).is_empty());
}

#[test]
fn lethalhta_caught_by_mshta_rule() {
    let h = "IEWIN7";
    let id = "{365abb72-19e0-5cda-0000-001006711000}";
    let svc = "C:\\Windows\\system32\\svchost.exe -k DcomLaunch";
    let ev = vec![
        (
            proc_start(
                h,
                id,
                "C:\\Windows\\System32\\mshta.exe -Embedding",
                "{svc}",
                svc,
            ),
            0,
        ),
        (
            inbound(
                h,
                id,
                "C:\\Windows\\System32\\mshta.exe",
                ("10.0.2.16", 49168),
                ("10.0.2.17", 55683),
            ),
            12_276_360,
        ),
    ];
    assert_eq!(run(&rule(MSHTA), &ev), vec![vec![0, 1]]);
    // Without -Embedding (mshta started by a user), nothing.
    let mut user = ev.clone();
    user[0].0 = proc_start(
        h,
        id,
        "mshta.exe http://x/a.hta",
        "{explorer}",
        "C:\\Windows\\explorer.exe",
    );
    assert!(run(&rule(MSHTA), &user).is_empty());
    // Ordered the other way round (as Sysmon's UtcTime would), nothing.
    let rev = vec![(ev[1].0.clone(), 0), (ev[0].0.clone(), 1)];
    assert!(run(&rule(MSHTA), &rev).is_empty());
    // An outbound connection is not the DCOM callback.
    let mut out = ev;
    out[1].0 = out[1].0.clone().with("network.direction", "egress");
    assert!(run(&rule(MSHTA), &out).is_empty());
}

fn rpc_chain(gap: i64, uptime: i64, name: &str) -> Vec<(MapDocument, i64)> {
    let h = "WS01";
    let rpcss = "C:\\Windows\\system32\\svchost.exe -k RPCSS -p";
    let svc = "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p";
    let dcom_cmd = format!("C:\\Windows\\system32\\{name} -Embedding");
    vec![
        (
            inbound(h, "{rpcss}", rpcss, ("10.0.0.5", 135), ("10.0.0.9", 50001)),
            0,
        ),
        (
            proc_start(h, "{dcom}", &dcom_cmd, "{launch}", svc).with("host.uptime", uptime),
            gap,
        ),
        (
            proc_start(h, "{child}", "cmd.exe /c whoami", "{dcom}", &dcom_cmd),
            gap + S,
        ),
    ]
}

#[test]
fn rpc_dcomlaunch_rule() {
    let r = rule(RPC);
    assert_eq!(run(&r, &rpc_chain(S, 3600, "mmc.exe")), vec![vec![0, 1, 2]]);
    assert_eq!(
        run(&r, &rpc_chain(2 * S, 3600, "mmc.exe")),
        vec![vec![0, 1, 2]]
    );
    assert!(
        run(&r, &rpc_chain(2 * S + 1, 3600, "mmc.exe")).is_empty(),
        "gap over 2 s"
    );
    assert!(
        run(&r, &rpc_chain(S, 300, "mmc.exe")).is_empty(),
        "within 5 min of boot"
    );
    assert!(
        run(&r, &rpc_chain(S, 3600, "WmiPrvSE.exe")).is_empty(),
        "excluded"
    );
    assert!(
        run(&r, &rpc_chain(S, 3600, "dllhost.exe")).is_empty(),
        "excluded"
    );
    // A csc.exe child does not complete it.
    let mut csc = rpc_chain(S, 3600, "mmc.exe");
    csc[2].0 = csc[2].0.clone().with("process.name", "csc.exe");
    assert!(run(&r, &csc).is_empty());
    // The RpcSs host is known by accepting port 135: its command line (almost never in the
    // evidence) is not needed.
    let mut no_args = rpc_chain(S, 3600, "mmc.exe");
    no_args[0].0.fields.remove("process.args");
    no_args[0].0.fields.remove("process.command_line");
    assert_eq!(run(&r, &no_args), vec![vec![0, 1, 2]]);
    // Port 135 accepted by something other than svchost.exe is not the endpoint mapper.
    let mut other = rpc_chain(S, 3600, "mmc.exe");
    other[0].0 = other[0].0.clone().with("process.name", "python.exe");
    assert!(run(&r, &other).is_empty());
    // No boot in the evidence: the uptime is unknown, and the rule still applies.
    let mut no_boot = rpc_chain(S, 3600, "mmc.exe");
    no_boot[1].0.fields.remove("host.uptime");
    assert_eq!(run(&r, &no_boot), vec![vec![0, 1, 2]]);
    // The launcher's command line unknown (a Security-only host): a child started with
    // -Embedding by a svchost.exe counts; without -Embedding it does not.
    let mut no_launcher = rpc_chain(S, 3600, "mmc.exe");
    no_launcher[1].0.fields.remove("process.parent.args");
    assert_eq!(run(&r, &no_launcher), vec![vec![0, 1, 2]]);
    let mut plain = no_launcher.clone();
    plain[1].0 = plain[1]
        .0
        .clone()
        .with("process.args", OwnedValue::from(vec!["mmc.exe"]));
    assert!(run(&r, &plain).is_empty());
    // PowerShell remoting's host is not DCOM.
    assert!(run(&r, &rpc_chain(S, 3600, "wsmprovhost.exe")).is_empty());
}

/// Join semantics: benign COM servers the launcher starts in the same second as the
/// attacker's do not take the connection away from it, and every connection and child of
/// the attacker's server is in the one finding.
#[test]
fn rpc_dcomlaunch_rule_joins_every_pair() {
    let r = rule(RPC);
    let h = "WS01";
    let rpcss = "C:\\Windows\\system32\\svchost.exe -k RPCSS -p";
    let svc = "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p";
    let benign = |id: &str, name: &str| {
        proc_start(h, id, &format!("C:\\x\\{name} -Embedding"), "{launch}", svc)
    };
    let excel = "\"C:\\Office16\\EXCEL.EXE\" /automation -Embedding";
    let events = vec![
        (
            inbound(h, "{rpcss}", rpcss, ("10.0.0.5", 135), ("10.0.0.9", 50001)),
            0,
        ),
        (
            inbound(h, "{rpcss}", rpcss, ("10.0.0.5", 135), ("10.0.0.9", 50002)),
            S / 10,
        ),
        (benign("{b1}", "ielowutil.exe"), S / 5),
        (proc_start(h, "{excel}", excel, "{launch}", svc), S / 4),
        (benign("{b2}", "ielowutil.exe"), S / 3),
        (benign("{b3}", "ielowutil.exe"), S / 2),
        (
            proc_start(h, "{c1}", "cmd.exe /c whoami", "{excel}", excel),
            3 * S,
        ),
        (
            proc_start(h, "{c2}", "cmd.exe /c ipconfig", "{excel}", excel),
            4 * S,
        ),
        // A child of a benign server with no child of its own... and one with a child.
        (
            proc_start(
                h,
                "{c3}",
                "werfault.exe",
                "{b3}",
                "ielowutil.exe -Embedding",
            ),
            5 * S,
        ),
    ];
    let got = run(&r, &events);
    // One finding for EXCEL.EXE (both connections, its start, both children); one for the
    // server that had a child (ielowutil.exe is not allow-listed). Matches come in the order
    // of their first event, then of their key ({b3} before {excel}).
    assert_eq!(got, vec![vec![0, 1, 5, 8], vec![0, 1, 3, 6, 7]]);
}

#[test]
fn unsupported_syntax_names_file_rule_and_position() {
    let p = Path::new("tests/data/eql_unsupported_function.toml");
    let e = rulefile::load_file(p).unwrap_err();
    match &e {
        RuleError::Query { error, in_file, .. } => {
            assert!(in_file);
            assert_eq!((error.line, error.column), (15, 3));
            assert!(error.line_text.contains("length(process.command_line)"));
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("eql_unsupported_function.toml"), "{msg}");
    assert!(msg.contains("\"Uses a function\""), "{msg}");
    assert!(msg.contains("line 15, column 3"), "{msg}");
    assert!(msg.contains("\n      ^"), "{msg}");
}

fn rule_text(id: &str, language: &str, query: &str) -> String {
    format!(
        "[metadata]\nx = 1\n[rule]\nrule_id = \"{id}\"\nname = \"n {id}\"\ndescription = \"d\"\nseverity = \"low\"\nrisk_score = 21\nlanguage = \"{language}\"\nunknown_key = [1, 2]\nquery = '''\n{query}\n'''\n"
    )
}

#[test]
fn rule_file_errors() {
    let p = Path::new("x.toml");
    assert!(rulefile::parse_rule(p, &rule_text("a", "eql", "process where true")).is_ok());
    let e = rulefile::parse_rule(p, &rule_text("a", "kuery", "process.name : x")).unwrap_err();
    assert!(e.to_string().contains("only \"eql\""), "{e}");
    let e = rulefile::parse_rule(p, "[rule]\nname = \"only a name\"\n").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("x.toml") && msg.contains("only a name") && msg.contains("missing field"),
        "{msg}"
    );
    let e = rulefile::parse_rule(p, &rule_text("a", "eql", "process where x ==")).unwrap_err();
    assert!(e.to_string().contains("line 12, column 19"), "{e}");
    // Basic strings with escapes: position reported within the query.
    let t = "[rule]\nrule_id = \"a\"\nname = \"n\"\ndescription = \"d\"\nseverity = \"low\"\nrisk_score = 1\nlanguage = \"eql\"\nquery = \"process where x : \\\"a\\\" and\"\n";
    let e = rulefile::parse_rule(p, t).unwrap_err();
    assert!(e.to_string().contains("query line 1, column 26"), "{e}");
}

#[test]
fn directory_loader_is_confined() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("b.toml"),
        rule_text("id-b", "eql", "process where true"),
    )
    .unwrap();
    std::fs::write(d.join("a.toml"), rule_text("id-a", "eql", "any where true")).unwrap();
    std::fs::write(d.join("notes.txt"), "not a rule").unwrap();
    std::fs::write(d.join(".hidden.toml"), "garbage").unwrap();
    std::fs::create_dir(d.join("sub.toml")).unwrap();
    std::fs::write(d.join("sub.toml").join("c.toml"), "garbage").unwrap();
    let ids: Vec<_> = rulefile::load_dir(d)
        .unwrap()
        .into_iter()
        .map(|r| r.rule.rule_id)
        .collect();
    assert_eq!(ids, ["id-a", "id-b"]);

    #[cfg(unix)]
    {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("t.toml");
        std::fs::write(&target, rule_text("id-t", "eql", "any where true")).unwrap();
        std::os::unix::fs::symlink(&target, d.join("link.toml")).unwrap();
        let e = rulefile::load_dir(d).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        std::fs::remove_file(d.join("link.toml")).unwrap();
    }

    std::fs::write(d.join("c.toml"), rule_text("id-a", "eql", "any where true")).unwrap();
    let results = rulefile::check_dir(d).unwrap();
    assert_eq!(results.len(), 3);
    assert!(matches!(results[2], Err(RuleError::DuplicateId { .. })));
    assert!(rulefile::load_dir(&d.join("missing")).is_err());
}
