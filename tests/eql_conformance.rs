//! Conformance of the EQL engine with Elasticsearch's semantics (docs/design.md, "EQL semantics"):
//! one test per semantic point, on hand-built documents, through the public API.

use dcomhunt::eql::{EngineError, MapDocument, OwnedValue, compile};

const S: i64 = 10_000_000; // 100 ns ticks per second

fn holds(query: &str, doc: &MapDocument) -> bool {
    let q = compile(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    let mut m = q.matcher();
    !m.feed(doc, 0, 0).expect("feed").is_empty()
}

/// Feed `(doc, time)` at positions 0, 1, 2…; return each match's positions.
fn run(query: &str, events: &[(MapDocument, i64)]) -> Vec<Vec<u64>> {
    let q = compile(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    let mut m = q.matcher();
    let mut out = Vec::new();
    for (i, (d, t)) in events.iter().enumerate() {
        for hit in m.feed(d, i as u64, *t).expect("ordered feed") {
            out.push(hit.positions);
        }
    }
    out
}

fn proc_(name: &str) -> MapDocument {
    MapDocument::new("process")
        .with("process.name", name)
        .with("event.type", vec!["start"])
}

fn ev(cat: &str, pairs: &[(&str, OwnedValue)]) -> MapDocument {
    let mut d = MapDocument::new(cat);
    for (k, v) in pairs {
        d = d.with(k, v.clone());
    }
    d
}

fn s(v: &str) -> OwnedValue {
    OwnedValue::Str(v.into())
}

// --- conditions -------------------------------------------------------------------------

#[test]
fn colon_is_case_insensitive_but_eq_ne_are_case_sensitive() {
    let d = proc_("MMC.exe");
    assert!(holds(r#"process where process.name : "mmc.exe""#, &d));
    assert!(!holds(r#"process where process.name == "mmc.exe""#, &d));
    assert!(holds(r#"process where process.name == "MMC.exe""#, &d));
    assert!(holds(r#"process where process.name != "mmc.exe""#, &d));
    assert!(!holds(r#"process where process.name != "MMC.exe""#, &d));
}

#[test]
fn wildcards_star_and_question_mark() {
    let d = proc_("C:\\Windows\\System32\\MMC.exe").with("x", "mmc.exe");
    assert!(holds(
        r#"process where process.name : "*\\system32\\mmc.EXE""#,
        &d
    ));
    assert!(holds(r#"process where x : "mm?.exe""#, &d));
    assert!(!holds(r#"process where x : "m?.exe""#, &d));
    assert!(!holds(r#"process where x : "mm??.exe""#, &d));
    // `==` has no wildcards.
    assert!(!holds(r#"process where x == "mm*""#, &d));
    // like is case-sensitive, like~ is not.
    assert!(holds(r#"process where x like "mm*""#, &d));
    assert!(!holds(r#"process where x like "MM*""#, &d));
    assert!(holds(r#"process where x like~ "MM*""#, &d));
    assert!(holds(r#"process where x like~ ("zz", "M?C.*")"#, &d));
}

#[test]
fn colon_list_means_any() {
    let d = ev("network", &[("network.direction", s("ingress"))]);
    assert!(holds(
        r#"network where network.direction : ("incoming", "INGRESS")"#,
        &d
    ));
    assert!(!holds(
        r#"network where network.direction : ("incoming", "egress")"#,
        &d
    ));
}

#[test]
fn in_is_case_sensitive_in_tilde_is_not() {
    let d = proc_("WmiPrvSE.exe");
    assert!(!holds(
        r#"process where process.name in ("wmiprvse.exe", "x")"#,
        &d
    ));
    assert!(holds(
        r#"process where process.name in ("WmiPrvSE.exe", "x")"#,
        &d
    ));
    assert!(holds(
        r#"process where process.name in~ ("wmiprvse.exe", "x")"#,
        &d
    ));
    assert!(holds(
        r#"process where process.name not in ("wmiprvse.exe")"#,
        &d
    ));
    assert!(!holds(
        r#"process where process.name not in~ ("wmiprvse.exe")"#,
        &d
    ));
    // `in` takes no wildcards.
    assert!(!holds(r#"process where process.name in ("Wmi*")"#, &d));
}

#[test]
fn array_field_holds_if_any_element_matches() {
    let d = MapDocument::new("network")
        .with("event.type", vec!["start", "connection"])
        .with(
            "process.args",
            vec!["C:\\Windows\\System32\\mshta.exe", "-Embedding"],
        );
    assert!(holds(r#"network where event.type == "start""#, &d));
    assert!(holds(r#"network where event.type == "connection""#, &d));
    assert!(holds(r#"network where process.args : "-embedding""#, &d));
    assert!(holds(
        r#"network where event.type in ("end", "connection")"#,
        &d
    ));
    // `!=` is the negation of `==`: false as soon as one element equals.
    assert!(!holds(r#"network where event.type != "start""#, &d));
    assert!(holds(r#"network where event.type != "end""#, &d));
}

#[test]
fn missing_field_only_negations_hold() {
    let d = proc_("cmd.exe");
    for q in [
        r#"process where nope == "a""#,
        r#"process where nope : "*""#,
        r#"process where nope like "*""#,
        r#"process where nope < 5"#,
        r#"process where nope >= 0"#,
        r#"process where nope in ("a")"#,
        r#"process where nope != null"#,
    ] {
        assert!(!holds(q, &d), "{q}");
    }
    for q in [
        r#"process where nope != "a""#,
        r#"process where nope not in ("a", "b")"#,
        r#"process where nope == null"#,
        r#"process where not nope : "a""#,
        r#"process where ?nope != "a""#,
    ] {
        assert!(holds(q, &d), "{q}");
    }
    // An explicit null (or an empty array) is the same as missing.
    let n = proc_("cmd.exe")
        .with("nul", OwnedValue::Null)
        .with("empty", OwnedValue::Array(vec![]));
    assert!(holds("process where nul == null and empty == null", &n));
    assert!(holds(r#"process where nul != "a" and empty != "a""#, &n));
    assert!(!holds(r#"process where nul : "*" or empty : "*""#, &n));
    // Present: `!= null` holds.
    assert!(holds("process where process.name != null", &n));
}

#[test]
fn numbers_compare_numerically() {
    let d = ev(
        "network",
        &[
            ("source.port", OwnedValue::Int(33474)),
            ("destination.port", OwnedValue::Int(49163)),
        ],
    );
    assert!(!holds("network where source.port >= 49152", &d));
    assert!(holds(
        "network where destination.port >= 49152 and destination.port > 49151",
        &d
    ));
    assert!(holds(
        "network where destination.port < 49164 and 49164 > destination.port",
        &d
    ));
    assert!(holds("network where source.port == 33474.0", &d));
}

#[test]
fn category_and_any() {
    let d = proc_("a.exe");
    assert!(holds("process where true", &d));
    assert!(!holds("network where true", &d));
    assert!(holds("any where true", &d));
    assert!(!holds("any where false", &d));
}

// --- sequences ------------------------------------------------------------------------------

const TWO: &str = r#"sequence by host.id with maxspan=1m
  [process where process.name : "a.exe"] by process.entity_id
  [process where process.name : "b.exe"] by process.parent.entity_id"#;

fn a(host: &str, id: &str) -> MapDocument {
    proc_("a.exe")
        .with("host.id", host)
        .with("process.entity_id", id)
}

fn b(host: &str, parent: &str) -> MapDocument {
    proc_("b.exe")
        .with("host.id", host)
        .with("process.parent.entity_id", parent)
}

#[test]
fn join_keys_are_sequence_keys_then_stage_keys() {
    assert_eq!(
        run(TWO, &[(a("h", "p1"), 0), (b("h", "p1"), S)]),
        vec![vec![0, 1]]
    );
    // Different stage key.
    assert!(run(TWO, &[(a("h", "p1"), 0), (b("h", "p2"), S)]).is_empty());
    // Different sequence key.
    assert!(run(TWO, &[(a("h1", "p1"), 0), (b("h2", "p1"), S)]).is_empty());
}

#[test]
fn keys_are_compared_exactly() {
    assert!(run(TWO, &[(a("h", "ABC"), 0), (b("h", "abc"), S)]).is_empty());
    assert!(run(TWO, &[(a("H", "abc"), 0), (b("h", "abc"), S)]).is_empty());
    // Numbers join numbers.
    let q = r#"sequence [process where process.name : "a.exe"] by process.pid
                        [process where process.name : "b.exe"] by process.parent.pid"#;
    let e1 = proc_("a.exe").with("process.pid", 42i64);
    let e2 = proc_("b.exe").with("process.parent.pid", 42i64);
    let e3 = proc_("b.exe").with("process.parent.pid", "42");
    assert_eq!(run(q, &[(e1.clone(), 0), (e2, 1)]), vec![vec![0, 1]]);
    assert!(run(q, &[(e1, 0), (e3, 1)]).is_empty());
}

#[test]
fn null_or_missing_key_never_joins() {
    let no_id = proc_("a.exe").with("host.id", "h");
    let b_no_parent = proc_("b.exe").with("host.id", "h");
    assert!(run(TWO, &[(no_id, 0), (b_no_parent, S)]).is_empty());
    let null_id = a("h", "x").with("process.entity_id", OwnedValue::Null);
    let b_null = b("h", "x").with("process.parent.entity_id", OwnedValue::Null);
    assert!(run(TWO, &[(null_id, 0), (b_null, S)]).is_empty());
    // Missing sequence key, too.
    let q = r#"sequence by user.name [process where true] [process where true]"#;
    assert!(run(q, &[(proc_("x"), 0), (proc_("y"), 1)]).is_empty());
    let u = proc_("x").with("user.name", "bob");
    assert_eq!(run(q, &[(u.clone(), 0), (u, 1)]), vec![vec![0, 1]]);
}

#[test]
fn maxspan_is_inclusive() {
    assert_eq!(
        run(TWO, &[(a("h", "p"), 0), (b("h", "p"), 60 * S)]),
        vec![vec![0, 1]]
    );
    assert!(run(TWO, &[(a("h", "p"), 0), (b("h", "p"), 60 * S + 1)]).is_empty());
}

#[test]
fn maxspan_runs_from_first_to_last_event() {
    let q = r#"sequence by host.id with maxspan=1m
      [process where process.name : "a.exe"] [process where process.name : "b.exe"]
      [process where process.name : "c.exe"]"#;
    let h = |n: &str| proc_(n).with("host.id", "h");
    // Each gap is under a minute, but first to last is over.
    assert!(
        run(
            q,
            &[(h("a.exe"), 0), (h("b.exe"), 50 * S), (h("c.exe"), 61 * S)]
        )
        .is_empty()
    );
    assert_eq!(
        run(
            q,
            &[(h("a.exe"), 0), (h("b.exe"), 50 * S), (h("c.exe"), 60 * S)]
        ),
        vec![vec![0, 1, 2]]
    );
}

#[test]
fn newer_match_replaces_pending_sequence() {
    // Two stage-1 events with one key: the second replaces the first.
    assert_eq!(
        run(
            TWO,
            &[(a("h", "p"), 0), (a("h", "p"), S), (b("h", "p"), 2 * S)]
        ),
        vec![vec![1, 2]]
    );
    // At a later state too.
    let q = r#"sequence by host.id
      [process where process.name : "a.exe"] [process where process.name : "b.exe"]
      [process where process.name : "c.exe"]"#;
    let h = |n: &str| proc_(n).with("host.id", "h");
    let evs = [
        (h("a.exe"), 0),
        (h("b.exe"), 1),
        (h("a.exe"), 2),
        (h("b.exe"), 3),
        (h("c.exe"), 4),
    ];
    assert_eq!(run(q, &evs), vec![vec![2, 3, 4]]);
}

#[test]
fn completed_sequence_is_consumed() {
    assert_eq!(
        run(
            TWO,
            &[(a("h", "p"), 0), (b("h", "p"), S), (b("h", "p"), 2 * S)]
        ),
        vec![vec![0, 1]]
    );
    // A pending sequence moves on: the stage-1 event is not reused either.
    assert_eq!(
        run(
            TWO,
            &[
                (a("h", "p"), 0),
                (b("h", "p"), S),
                (a("h", "p"), 2 * S),
                (b("h", "p"), 3 * S)
            ]
        ),
        vec![vec![0, 1], vec![2, 3]]
    );
}

#[test]
fn ties_in_time_are_ordered_by_position_and_later_stage_needs_later_position() {
    // Same timestamp: the order given (time, file, record id) decides.
    assert_eq!(
        run(TWO, &[(a("h", "p"), 5), (b("h", "p"), 5)]),
        vec![vec![0, 1]]
    );
    assert!(run(TWO, &[(b("h", "p"), 5), (a("h", "p"), 5)]).is_empty());
    // One event cannot fill two stages.
    let q = "sequence [process where true] [process where true]";
    assert!(run(q, &[(proc_("x"), 0)]).is_empty());
    assert_eq!(
        run(q, &[(proc_("x"), 0), (proc_("y"), 0)]),
        vec![vec![0, 1]]
    );
}

#[test]
fn events_must_be_fed_in_order() {
    let q = compile(TWO).unwrap();
    let mut m = q.matcher();
    m.feed(&a("h", "p"), 5, 100).unwrap();
    assert!(matches!(
        m.feed(&b("h", "p"), 5, 100),
        Err(EngineError::OutOfOrder { .. })
    ));
    assert!(m.feed(&b("h", "p"), 6, 99).is_err());
    assert_eq!(m.feed(&b("h", "p"), 6, 100).unwrap().len(), 1);
}

#[test]
fn until_drops_pending_sequences_of_its_key() {
    let q = r#"sequence by host.id
      [process where process.name : "a.exe"] by process.entity_id
      [process where process.name : "b.exe"] by process.parent.entity_id
      until [process where event.type == "end"] by process.entity_id"#;
    let end = |id: &str| {
        MapDocument::new("process")
            .with("host.id", "h")
            .with("event.type", vec!["end"])
            .with("process.entity_id", id)
    };
    assert!(run(q, &[(a("h", "p"), 0), (end("p"), 1), (b("h", "p"), 2)]).is_empty());
    assert_eq!(
        run(q, &[(a("h", "p"), 0), (end("other"), 1), (b("h", "p"), 2)]),
        vec![vec![0, 2]]
    );
    // A sequence started after the until event is not affected.
    assert_eq!(
        run(q, &[(end("p"), 0), (a("h", "p"), 1), (b("h", "p"), 2)]),
        vec![vec![1, 2]]
    );
}

#[test]
fn single_event_query_reports_every_match() {
    let hits = run(
        r#"process where process.name : "a.exe""#,
        &[
            (proc_("a.exe"), 0),
            (proc_("b.exe"), 1),
            (proc_("A.EXE"), 2),
        ],
    );
    assert_eq!(hits, vec![vec![0], vec![2]]);
}

#[test]
fn pending_sequences_expire_and_are_capped() {
    let q = compile(TWO).unwrap();
    let mut m = q.matcher();
    for i in 0..100u64 {
        m.feed(&a("h", &format!("p{i}")), i, 0).unwrap();
    }
    assert_eq!(m.pending(), 100);
    // Past maxspan, the next event sweeps them away.
    m.feed(&proc_("z.exe"), 1000, 61 * S + 1).unwrap();
    assert_eq!(m.pending(), 0);

    let unbounded = compile(
        r#"sequence [process where process.name : "a.exe"] by process.entity_id
                    [process where process.name : "b.exe"] by process.parent.entity_id"#,
    )
    .unwrap();
    let mut m = unbounded.matcher().with_pending_cap(8);
    for i in 0..20u64 {
        m.feed(&a("h", &format!("p{i}")), i, 0).unwrap();
    }
    assert!(m.pending() <= 8);
    assert!(m.evicted() >= 12);
    // The oldest were dropped, the newest kept.
    assert!(m.feed(&b("h", "p0"), 100, 0).unwrap().is_empty());
    assert_eq!(
        m.feed(&b("h", "p19"), 101, 0).unwrap()[0].positions,
        vec![19, 101]
    );
}

// --- dcomhunt extensions ---------------------------------------------------------------------

const RPC_LIKE: &str = r#"sequence by host.id with maxspan=1h
  [network where destination.port == 135]
  [process where process.parent.name : "svchost.exe"] by process.entity_id with maxgap=2s
  [process where true] by process.parent.entity_id"#;

fn conn(host: &str) -> MapDocument {
    MapDocument::new("network")
        .with("host.id", host)
        .with("destination.port", 135i64)
}
fn dcom(host: &str, id: &str) -> MapDocument {
    proc_("mmc.exe")
        .with("host.id", host)
        .with("process.entity_id", id)
        .with("process.parent.name", "svchost.exe")
}
fn child(host: &str, parent: &str) -> MapDocument {
    proc_("cmd.exe")
        .with("host.id", host)
        .with("process.parent.entity_id", parent)
}

#[test]
fn extension_leading_stage_without_by_joins_on_sequence_keys() {
    assert_eq!(
        run(
            RPC_LIKE,
            &[
                (conn("h"), 0),
                (dcom("h", "d"), S),
                (child("h", "d"), 3 * S)
            ]
        ),
        vec![vec![0, 1, 2]]
    );
    // Other host: no join.
    assert!(
        run(
            RPC_LIKE,
            &[
                (conn("h2"), 0),
                (dcom("h", "d"), S),
                (child("h", "d"), 3 * S)
            ]
        )
        .is_empty()
    );
    // The keys after the first keyed stage still bind: a child of another process fails.
    assert!(
        run(
            RPC_LIKE,
            &[
                (conn("h"), 0),
                (dcom("h", "d"), S),
                (child("h", "x"), 3 * S)
            ]
        )
        .is_empty()
    );
    // Standard EQL's rule still holds elsewhere: a keyless stage after a keyed one, or unequal
    // key counts, are errors.
    assert!(compile("sequence [a where true] by x [b where true]").is_err());
    assert!(compile("sequence [a where true] by x [b where true] by x, y").is_err());
}

#[test]
fn extension_maxgap_bounds_time_since_previous_stage_inclusively() {
    assert_eq!(
        run(
            RPC_LIKE,
            &[
                (conn("h"), 0),
                (dcom("h", "d"), 2 * S),
                (child("h", "d"), 50 * S)
            ]
        ),
        vec![vec![0, 1, 2]]
    );
    assert!(
        run(
            RPC_LIKE,
            &[
                (conn("h"), 0),
                (dcom("h", "d"), 2 * S + 1),
                (child("h", "d"), 3 * S)
            ]
        )
        .is_empty()
    );
    // The gap is per stage: the third stage, without maxgap, may come much later.
    assert_eq!(
        run(
            RPC_LIKE,
            &[
                (conn("h"), 0),
                (dcom("h", "d"), S),
                (child("h", "d"), 3000 * S)
            ]
        ),
        vec![vec![0, 1, 2]]
    );
    assert!(compile("sequence [a where true] with maxgap=1s [b where true]").is_err());
}

#[test]
fn extension_host_uptime_is_an_ordinary_field() {
    let q = r#"process where host.uptime > 300"#;
    assert!(holds(q, &proc_("x").with("host.uptime", 301i64)));
    assert!(!holds(q, &proc_("x").with("host.uptime", 300i64)));
    assert!(!holds(q, &proc_("x")));
}
