//! Join sequences (`sequence … with maxspan=…, join=true`, a dcomhunt extension): every chain
//! of events the stages allow, grouped into one match per chain key.
//!
//! Elasticsearch keeps one pending sequence per state and key, so when several events could
//! fill a stage for one key, only one chain survives. Some analytics are joins instead —
//! Microsoft Sentinel's RPC→DCOMLaunch analytic pairs *every* inbound port-135 connection with
//! *every* process the DCOM launcher starts 0–2 s later. On a real workstation the launcher
//! starts benign COM servers in the same second as an attacker's, so sequence semantics lose
//! the attacker's chain; join semantics keep it.
//!
//! A chain is one event per stage such that:
//! - each event matches its stage's condition; all have the same sequence key;
//! - key slot by slot, every stage that names a field for the slot (not `_`, not a keyless
//!   stage) gives the same value, and none gives null;
//! - consecutive stages are in order: the later stage's event comes later in the feed, or —
//!   when the coarser of the two clocks ticks slower than 100 ns — at most one tick less
//!   100 ns before it (within one tick, either order is possible);
//! - each `maxgap` holds between consecutive stages, and `maxspan` from the earliest to the
//!   latest event, both widened by one tick of the coarsest clock less 100 ns.
//!
//! Chains of one chain key (the sequence key and every slot's value) form one match: its
//! events are every event of every such chain, each with the stage it filled. A chain is found
//! when its last event (in feed order) arrives, from the events kept so far; an event is kept
//! while `maxspan` (widened) still lets a later event join it. Matches come out at the end
//! ([`JoinState::finish`]), in the order of their first event.

use super::sequence::{At, Key, KeyValue, SeqPlan, widened};
use super::value::Document;
use crate::eql::ast::WILDCARD_KEY;
use std::collections::{BTreeMap, VecDeque};

/// Steps one arriving event may spend looking for chains; past it the search stops and is
/// counted ([`JoinState::truncated`]).
const STEP_LIMIT: u64 = 1_000_000;

/// An event kept as a candidate for one stage.
#[derive(Debug, Clone)]
struct Cand {
    at: At,
    seq: Key,
    /// Per key slot, the value this stage gives (`None`: the slot is open at this stage).
    slots: Box<[Option<KeyValue>]>,
}

/// The events of one chain key's chains.
#[derive(Debug, Default)]
struct Group {
    /// (position, stage) → time.
    events: BTreeMap<(u64, u32), i64>,
}

/// The state of one join sequence over one host's events.
#[derive(Debug)]
pub(super) struct JoinState {
    /// Per stage, its candidates in feed order.
    cands: Vec<VecDeque<Cand>>,
    groups: BTreeMap<Key, Group>,
    max_tick: i64,
    truncated: u64,
}

/// A chain being put together: per stage, the candidate chosen (stage index, list index).
struct Search<'a> {
    plan: &'a SeqPlan,
    cands: &'a [VecDeque<Cand>],
    /// The stages in the order they are filled: the arriving event's stage, then backwards,
    /// then forwards.
    order: Vec<usize>,
    chosen: Vec<Option<&'a Cand>>,
    steps: u64,
    found: Vec<Vec<&'a Cand>>,
}

impl JoinState {
    pub(super) fn new(plan: &SeqPlan) -> Self {
        JoinState {
            cands: plan.stages.iter().map(|_| VecDeque::new()).collect(),
            groups: BTreeMap::new(),
            max_tick: 1,
            truncated: 0,
        }
    }

    pub(super) fn truncated(&self) -> u64 {
        self.truncated
    }

    pub(super) fn held(&self) -> usize {
        self.cands.iter().map(VecDeque::len).sum()
    }

    pub(super) fn feed<D: Document + ?Sized>(&mut self, plan: &SeqPlan, doc: &D, at: At) {
        self.max_tick = self.max_tick.max(at.tick);
        self.expire(plan, at.time);
        let slots = plan.stages.iter().map(|s| s.keys.len()).max().unwrap_or(0);
        let mut arrived = Vec::new();
        let mut seq: Option<Option<Key>> = None;
        for (i, st) in plan.stages.iter().enumerate() {
            // With 100 ns clocks only, a chain's events come in stage order: while an earlier
            // stage has no candidate, this event can be in no chain (most events, most rules).
            if self.max_tick <= 1 && self.cands[..i].iter().any(VecDeque::is_empty) {
                break;
            }
            if !st.filter.matches(doc) {
                continue;
            }
            // The sequence key, read once for all the stages this event matches.
            let seq = seq.get_or_insert_with(|| {
                plan.keys
                    .iter()
                    .map(|f| KeyValue::from_value(doc.get(f)))
                    .collect::<Option<Key>>()
            });
            let Some(seq) = seq.clone() else {
                continue;
            };
            let mut vals = Vec::with_capacity(slots);
            let mut ok = true;
            for slot in 0..slots {
                match st.keys.get(slot).map(|f| &**f) {
                    None | Some(WILDCARD_KEY) => vals.push(None),
                    Some(f) => match KeyValue::from_value(doc.get(f)) {
                        Some(v) => vals.push(Some(v)),
                        None => {
                            ok = false;
                            break;
                        }
                    },
                }
            }
            if ok {
                self.cands[i].push_back(Cand {
                    at,
                    seq,
                    slots: vals.into(),
                });
                arrived.push(i);
            }
        }
        for i in arrived {
            let idx = self.cands[i].len() - 1;
            let mut s = Search::new(plan, &self.cands, i);
            s.chosen[i] = Some(&self.cands[i][idx]);
            s.fill(1);
            if s.steps > STEP_LIMIT {
                self.truncated += 1;
            }
            let found = std::mem::take(&mut s.found);
            for chain in found {
                let key: Key = chain[0]
                    .seq
                    .iter()
                    .cloned()
                    .chain((0..slots).map(|k| {
                        chain
                            .iter()
                            .find_map(|c| c.slots[k].clone())
                            .expect("every slot is bound by some stage (checked by the parser)")
                    }))
                    .collect();
                let g = self.groups.entry(key).or_default();
                for (stage, c) in chain.iter().enumerate() {
                    g.events.insert((c.at.pos, stage as u32), c.at.time);
                }
            }
        }
    }

    /// Drop candidates no later event can join: older than `maxspan` (widened by the
    /// coarsest clock seen) before `now`.
    fn expire(&mut self, plan: &SeqPlan, now: i64) {
        let span = widened(plan.maxspan.unwrap_or(i64::MAX), self.max_tick);
        for list in &mut self.cands {
            while list
                .front()
                .is_some_and(|c| now.saturating_sub(c.at.time) > span)
            {
                list.pop_front();
            }
        }
    }

    /// Every chain key's match, in the order of its first event.
    pub(super) fn finish(&mut self) -> Vec<super::sequence::Match> {
        let mut out: Vec<super::sequence::Match> = std::mem::take(&mut self.groups)
            .into_iter()
            .map(|(key, g)| {
                let times = g.events.values();
                super::sequence::Match {
                    first_time: times.clone().copied().min().unwrap_or(0),
                    last_time: times.copied().max().unwrap_or(0),
                    positions: g.events.keys().map(|&(p, _)| p).collect(),
                    stages: g.events.keys().map(|&(_, s)| s).collect(),
                    key: key.into_vec(),
                }
            })
            .collect();
        out.sort_by(|a, b| (a.positions.first(), &a.key).cmp(&(b.positions.first(), &b.key)));
        self.cands.iter_mut().for_each(VecDeque::clear);
        out
    }
}

impl<'a> Search<'a> {
    fn new(plan: &'a SeqPlan, cands: &'a [VecDeque<Cand>], fixed: usize) -> Self {
        let n = plan.stages.len();
        let order = std::iter::once(fixed)
            .chain((0..fixed).rev())
            .chain(fixed + 1..n)
            .collect();
        Search {
            plan,
            cands,
            order,
            chosen: vec![None; n],
            steps: 0,
            found: Vec::new(),
        }
    }

    /// Fill the stage `order[k]` and those after it in `order`; record every complete chain.
    fn fill(&mut self, k: usize) {
        if self.steps > STEP_LIMIT {
            return;
        }
        let Some(&stage) = self.order.get(k) else {
            self.found
                .push(self.chosen.iter().map(|c| c.expect("all filled")).collect());
            return;
        };
        let cands = self.cands;
        for c in &cands[stage] {
            self.steps += 1;
            if self.steps > STEP_LIMIT {
                return;
            }
            if self.fits(stage, c) {
                self.chosen[stage] = Some(c);
                self.fill(k + 1);
                self.chosen[stage] = None;
            }
        }
    }

    /// Can `c` fill `stage` beside the events chosen so far?
    fn fits(&self, stage: usize, c: &Cand) -> bool {
        let (mut lo, mut hi, mut tick) = (c.at.time, c.at.time, c.at.tick);
        for o in self.chosen.iter().flatten() {
            if o.at.pos == c.at.pos || o.seq != c.seq {
                return false;
            }
            // Every slot both name must agree.
            let clash = o
                .slots
                .iter()
                .zip(c.slots.iter())
                .any(|(a, b)| matches!((a, b), (Some(a), Some(b)) if a != b));
            if clash {
                return false;
            }
            lo = lo.min(o.at.time);
            hi = hi.max(o.at.time);
            tick = tick.max(o.at.tick);
        }
        let plan = self.plan;
        if stage > 0
            && let Some(prev) = self.chosen[stage - 1]
            && !follows(prev.at, c.at, plan.stages[stage].maxgap)
        {
            return false;
        }
        if let Some(next) = self.chosen.get(stage + 1).copied().flatten()
            && !follows(c.at, next.at, plan.stages[stage + 1].maxgap)
        {
            return false;
        }
        plan.maxspan
            .is_none_or(|m| hi.saturating_sub(lo) <= widened(m, tick))
    }
}

/// `b` may come after `a` (see the module docs), at most `maxgap` (widened) later.
fn follows(a: At, b: At, maxgap: Option<i64>) -> bool {
    let tick = a.tick.max(b.tick);
    let ordered = b.pos > a.pos || (tick > 1 && a.time.saturating_sub(b.time) < tick);
    ordered && maxgap.is_none_or(|g| b.time.saturating_sub(a.time) <= widened(g, tick))
}
