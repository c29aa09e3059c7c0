//! The event store against its oracle: the events as normalization makes them, with every
//! inbound side decided again with all inputs' host addresses, in the total order — what the
//! pipeline held as a `Vec<Event>` before the store existed — less the copies of a record read
//! twice.

mod common;

use dcomhunt::discover::discover;
use dcomhunt::event::Event;
use dcomhunt::ingest;
use dcomhunt::normalize::{HostAddresses, normalize_with, redecide_local_side};
use dcomhunt::pipeline::{load, set_spill_mib, sort_events};
use std::path::PathBuf;

/// Every input read whole, normalized, sided again and sorted, in one list.
fn oracle(dir: &PathBuf) -> Vec<Event> {
    let d = discover(std::slice::from_ref(dir)).unwrap();
    let mut events = Vec::new();
    for i in &d.inputs {
        let (records, _) = ingest::read(&i.path, &i.display, i.format).unwrap();
        events.extend(normalize_with(&records, &HostAddresses::default()));
    }
    let addrs = HostAddresses::learn_events(&events);
    redecide_local_side(&mut events, &addrs);
    sort_events(&mut events);
    // A record read twice (same host, channel, record id and content) is kept once: the first
    // copy in the total order.
    let mut seen: std::collections::HashMap<_, Vec<Event>> = std::collections::HashMap::new();
    events.retain(|e| {
        if e.record_id == 0 {
            return true;
        }
        let mut bare = e.clone();
        bare.prov = dcomhunt::record::Provenance {
            file: "".into(),
            chunk: None,
            offset: None,
            line: None,
        };
        let copies = seen
            .entry((e.host.clone(), e.channel.clone(), e.record_id))
            .or_default();
        if copies.contains(&bare) {
            return false;
        }
        copies.push(bare);
        true
    });
    events
}

fn check(dir: PathBuf) {
    let expected = oracle(&dir);
    let l = load(std::slice::from_ref(&dir)).unwrap();
    let s = &l.events;
    assert_eq!(s.len(), expected.len(), "{}", dir.display());
    assert!(!expected.is_empty());
    let got: Vec<Event> = s.iter().collect();
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "{}: event {i}", dir.display());
        assert_eq!(s.host(i).map(|h| &**h), Some(&*e.host));
        assert_eq!(s.get(i).as_ref(), Some(e));
    }
    assert_eq!(s.get(s.len()), None);
    assert_eq!(s.host(s.len()), None);
}

#[test]
fn store_equals_normalized_sorted_events_on_every_fixture() {
    check(common::testdata());
}

/// The same with every batch written to the spill file and read back (the setting is
/// process-wide; the other tests here give the same results either way).
#[test]
fn spilled_store_equals_normalized_sorted_events_on_every_fixture() {
    set_spill_mib(0);
    check(common::testdata());
    assert_eq!(dcomhunt::store::read_back_error(), None);
}

#[test]
fn store_equals_normalized_sorted_events_on_the_corpus() {
    let Some(c) = common::corpus("store_equals_normalized_sorted_events_on_the_corpus") else {
        return;
    };
    check(c);
}
