//! Join sequences (`with join=true`), open key slots (`by _, f`) and clock resolution.

use dcomhunt::eql::{At, MapDocument, compile, parse};

const S: i64 = 10_000_000;

fn ev(cat: &str, fields: &[(&str, &str)]) -> MapDocument {
    let mut d = MapDocument::new(cat).with("event.category", cat);
    for (k, v) in fields {
        d = d.with(k, *v);
    }
    d
}

/// Feed (doc, time, tick) in order; every match's positions, including those `finish` gives.
fn run(q: &str, events: &[(MapDocument, i64, i64)]) -> Vec<(Vec<u64>, Vec<u32>)> {
    let q = compile(q).unwrap_or_else(|e| panic!("{e}"));
    let mut m = q.matcher();
    let mut out = Vec::new();
    for (i, (d, time, tick)) in events.iter().enumerate() {
        let at = At {
            pos: i as u64,
            time: *time,
            tick: *tick,
        };
        out.extend(
            m.feed_at(d, at)
                .unwrap()
                .into_iter()
                .map(|x| (x.positions, x.stages)),
        );
    }
    out.extend(m.finish().into_iter().map(|x| (x.positions, x.stages)));
    out
}

const PAIR: &str = r#"sequence by h with maxspan=1m, join=true
  [a where true] by k
  [b where true] by k with maxgap=2s"#;

fn a(k: &str) -> MapDocument {
    ev("a", &[("h", "H"), ("k", k)])
}

fn b(k: &str) -> MapDocument {
    ev("b", &[("h", "H"), ("k", k)])
}

#[test]
fn join_reports_every_pair_of_a_key_once() {
    // Sequence semantics would keep one pending `a`; the join keeps both, and both `b`s.
    let got = run(
        PAIR,
        &[
            (a("x"), 0, 1),
            (a("x"), S, 1),
            (b("x"), 2 * S, 1),
            (b("x"), 3 * S, 1),
        ],
    );
    // a@0 pairs with b@2s only (b@3s is 3 s after it); a@1s with both.
    assert_eq!(got, vec![(vec![0, 1, 2, 3], vec![0, 0, 1, 1])]);
}

#[test]
fn join_keys_apart_make_separate_matches() {
    let got = run(
        PAIR,
        &[
            (a("x"), 0, 1),
            (a("y"), 0, 1),
            (b("y"), S, 1),
            (b("x"), S, 1),
        ],
    );
    assert_eq!(
        got,
        vec![(vec![0, 3], vec![0, 1]), (vec![1, 2], vec![0, 1])]
    );
}

#[test]
fn precise_clocks_keep_strict_order_and_windows() {
    // b before a: no match, even 100 ns before.
    assert!(run(PAIR, &[(b("x"), 0, 1), (a("x"), 1, 1)]).is_empty());
    // The same time: the feed order decides, as in a sequence.
    assert!(run(PAIR, &[(b("x"), 5, 1), (a("x"), 5, 1)]).is_empty());
    assert_eq!(run(PAIR, &[(a("x"), 5, 1), (b("x"), 5, 1)]).len(), 1);
    // The gap is inclusive, and exact.
    assert_eq!(run(PAIR, &[(a("x"), 0, 1), (b("x"), 2 * S, 1)]).len(), 1);
    assert!(run(PAIR, &[(a("x"), 0, 1), (b("x"), 2 * S + 1, 1)]).is_empty());
}

#[test]
fn whole_second_clocks_allow_either_order_within_a_tick() {
    // Both at the same whole second: b fed first still pairs with a.
    assert_eq!(
        run(PAIR, &[(b("x"), 5 * S, S), (a("x"), 5 * S, S)]),
        vec![(vec![0, 1], vec![1, 0])]
    );
    // A whole second earlier is before: not simultaneous.
    assert!(run(PAIR, &[(b("x"), 4 * S, S), (a("x"), 5 * S, S)]).is_empty());
    // The coarser clock decides: a precise a, a whole-second b in the same second.
    assert_eq!(
        run(PAIR, &[(b("x"), 5 * S, S), (a("x"), 5 * S + 3, 1)]).len(),
        1
    );
    // Windows widen by a tick less 100 ns: 2 s gap reads as up to 3 s.
    assert_eq!(run(PAIR, &[(a("x"), 0, S), (b("x"), 2 * S, S)]).len(), 1);
    assert!(run(PAIR, &[(a("x"), 0, S), (b("x"), 3 * S, S)]).is_empty());
}

#[test]
fn sequences_widen_windows_by_the_coarser_clock() {
    let q = r#"sequence by h with maxspan=2s
  [a where true] by k
  [b where true] by k"#;
    // 3 s apart on whole-second clocks may be 2.0000001 s: out; 2 s apart may be 1 s..3 s: in.
    assert_eq!(run(q, &[(a("x"), 0, S), (b("x"), 2 * S, S)]).len(), 1);
    assert!(run(q, &[(a("x"), 0, 1), (b("x"), 2 * S + 1, 1)]).is_empty());
    assert_eq!(run(q, &[(a("x"), 0, 1), (b("x"), 2 * S + 1, S)]).len(), 1);
    assert!(run(q, &[(a("x"), 0, S), (b("x"), 3 * S, S)]).is_empty());
}

/// `_` leaves a slot open at a stage: the first and third stages must agree on the address,
/// the second and third on the process.
const CONTINUITY: &str = r#"sequence by h with maxspan=2m, join=true
  [net where port == "135"] by ip, _
  [proc where true] by _, id with maxgap=2s
  [net where port != "135"] by ip, id with maxgap=1m"#;

fn net(ip: &str, port: &str, id: &str) -> MapDocument {
    ev("net", &[("h", "H"), ("ip", ip), ("port", port), ("id", id)])
}

fn proc_(id: &str) -> MapDocument {
    ev("proc", &[("h", "H"), ("id", id)])
}

#[test]
fn open_slots_carry_a_key_across_a_stage() {
    let got = run(
        CONTINUITY,
        &[
            (net("10.0.0.9", "135", "{rpcss}"), 0, 1),
            (proc_("{excel}"), S, 1),
            (net("10.0.0.9", "49603", "{excel}"), 8 * S, 1),
        ],
    );
    assert_eq!(got, vec![(vec![0, 1, 2], vec![0, 1, 2])]);
    // Another address reaching the server: not the caller that activated it.
    assert!(
        run(
            CONTINUITY,
            &[
                (net("10.0.0.9", "135", "{rpcss}"), 0, 1),
                (proc_("{excel}"), S, 1),
                (net("10.0.0.7", "49603", "{excel}"), 8 * S, 1),
            ],
        )
        .is_empty()
    );
    // Too late after the server's start.
    assert!(
        run(
            CONTINUITY,
            &[
                (net("10.0.0.9", "135", "{rpcss}"), 0, 1),
                (proc_("{excel}"), S, 1),
                (net("10.0.0.9", "49603", "{excel}"), 62 * S, 1),
            ],
        )
        .is_empty()
    );
}

#[test]
fn join_syntax_is_checked() {
    for (q, want) in [
        (
            "sequence by h with join=true [a where true] by k [b where true] by k",
            "needs a 'maxspan'",
        ),
        (
            "sequence by h [a where true] by _ [b where true] by k",
            "needs 'with join=true'",
        ),
        (
            "sequence by h with maxspan=1m, join=true [a where true] by _ [b where true] by _",
            "'_' in every stage",
        ),
        (
            "sequence by h with maxspan=1m, join=true [a where true] by k [b where true] by k until [c where true] by k",
            "'until' is not supported",
        ),
        (
            "sequence by h with maxspan=1m, join=yes [a where true] [b where true]",
            "true or false",
        ),
        (
            "sequence by h with maxspan=1m, maxspan=2m [a where true] [b where true]",
            "given twice",
        ),
    ] {
        let e = parse(q).expect_err(q);
        assert!(e.to_string().contains(want), "{q}: {e}");
    }
    // A verbatim Elastic sequence keeps its meaning: no join.
    let q =
        compile("sequence by h with maxspan=1m [a where true] by k [b where true] by k").unwrap();
    assert!(!q.is_join());
    let q = compile(PAIR).unwrap();
    assert!(q.is_join());
}

#[test]
fn sequences_allow_either_order_within_a_tick() {
    let q = r#"sequence by h with maxspan=1m
  [a where true] by k
  [b where true] by k"#;
    // Both stamped the same whole second, b fed first: it completes the sequence a starts.
    assert_eq!(
        run(q, &[(b("x"), 5 * S, S), (a("x"), 5 * S, S)]),
        vec![(vec![1, 0], vec![0, 1])]
    );
    // A whole second earlier is before.
    assert!(run(q, &[(b("x"), 4 * S, S), (a("x"), 5 * S, S)]).is_empty());
    // Another key does not join.
    assert!(run(q, &[(b("y"), 5 * S, S), (a("x"), 5 * S, S)]).is_empty());
    // 100 ns clocks: the feed order decides, as in Elasticsearch.
    assert!(run(q, &[(b("x"), 5 * S, 1), (a("x"), 5 * S, 1)]).is_empty());
    // Three stages, all in one whole second, fed last stage first.
    let q3 = r#"sequence by h with maxspan=1m
  [a where true] by k
  [b where true] by k
  [c where true] by k"#;
    let c = ev("c", &[("h", "H"), ("k", "x")]);
    assert_eq!(
        run(q3, &[(c, 5 * S, S), (b("x"), 5 * S, S), (a("x"), 5 * S, S)]),
        vec![(vec![2, 1, 0], vec![0, 1, 2])]
    );
}
