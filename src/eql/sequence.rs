//! Compiled queries and the incremental, per-host matcher (Elasticsearch sequence semantics).
//!
//! The caller feeds one host's events in their final order — (time, file path, record id) —
//! each with a position (strictly increasing) and a time in 100 ns ticks (non-decreasing), and
//! gets completed matches back as the positions of their events.
//!
//! Semantics (Elasticsearch's `SequenceMatcher`):
//! - join keys: sequence `by` fields followed by the stage's `by` fields, compared exactly; an
//!   event whose key has a missing/null field (or a multi-valued one) joins nothing;
//! - one pending sequence per state and key: a newer match of stage *i* replaces the older one
//!   at that state; advancing moves a sequence from state *i−1* to *i*; a completed sequence is
//!   consumed;
//! - `maxspan` is inclusive, from the first event's time to the last's;
//! - a later stage needs a strictly later position: an event never fills two stages of the
//!   same sequence (stages are tried from last to first);
//! - `until` (checked before the stages) drops the pending sequences of its key.
//!
//! dcomhunt extensions (syntax standard EQL rejects; see docs/rules.md): leading stages without
//! `by` join on the sequence keys only, `with maxgap=N` bounds the time since the previous
//! stage's event (inclusive), and `with join=true` reports every chain ([`super::join`]).
//!
//! Clock resolution: each event comes with the resolution of the clock that gave its time
//! ([`At::tick`]). Windows are widened by one tick of the coarser clock less 100 ns (two events
//! whole seconds apart may be up to a tick closer than they read); with 100 ns clocks nothing
//! changes.

use super::ast::{Query, Sequence, Stage};
use super::error::{EngineError, ParseError};
use super::eval::EventFilter;
use super::join::JoinState;
use super::parser::parse;
use super::value::{Document, Value};
use std::collections::HashMap;

/// Default cap on pending sequences held by one [`Matcher`] (all states together). Sequences
/// with `maxspan`/`maxgap` expire by time long before that; the cap bounds memory for rules
/// without them. When exceeded, the oldest pending sequences (by first event) are dropped and
/// counted in [`Matcher::evicted`].
pub const DEFAULT_PENDING_CAP: usize = 100_000;

/// One join-key value, compared exactly (strings case-sensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyValue {
    Str(Box<str>),
    Int(i64),
    /// A non-integral number, by its bit pattern.
    Float(u64),
    Bool(bool),
}

impl KeyValue {
    /// `None` for null, missing, empty or multi-valued fields: such keys never join.
    pub(super) fn from_value(v: Option<Value<'_>>) -> Option<KeyValue> {
        Some(match v? {
            Value::Null => return None,
            Value::Bool(b) => KeyValue::Bool(b),
            Value::Int(i) => KeyValue::Int(i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => KeyValue::Int(f as i64),
            Value::Float(f) => KeyValue::Float(f.to_bits()),
            Value::Str(s) => KeyValue::Str(s.into()),
            Value::Array([one]) => return KeyValue::from_value(Some(one.as_value())),
            Value::Array(_) => return None,
        })
    }
}

pub(super) type Key = Box<[KeyValue]>;

/// Where a fed event stands: its position (strictly increasing), its time in 100 ns ticks
/// (non-decreasing) and the resolution of the clock that gave the time, in ticks (1 for
/// 100 ns, `10_000_000` for whole seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub pos: u64,
    pub time: i64,
    pub tick: i64,
}

impl At {
    /// An event of a 100 ns clock.
    pub fn precise(pos: u64, time: i64) -> At {
        At { pos, time, tick: 1 }
    }
}

/// What a window of `w` ticks allows between events of clocks of resolution `tick`: `w` plus
/// one tick less 100 ns (events may be that much closer than their times read).
pub(super) fn widened(w: i64, tick: i64) -> i64 {
    w.saturating_add(tick.max(1) - 1)
}

/// A sequence spanning `span` may take stage `st`'s event `gap` after its last one, between
/// events of clocks of resolution `tick` (windows widened, see [`widened`]).
fn within(plan: &SeqPlan, st: &StagePlan, span: i64, gap: i64, tick: i64) -> bool {
    plan.maxspan.is_none_or(|m| span <= widened(m, tick))
        && st.maxgap.is_none_or(|g| gap <= widened(g, tick))
}

/// A completed match: the positions (as fed) of its events and the stage (0-based) each
/// filled. A standard sequence has one event per stage, in stage order; a join match
/// (`with join=true`) every event of every chain of its key, in position order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub positions: Vec<u64>,
    pub stages: Vec<u32>,
    pub first_time: i64,
    pub last_time: i64,
    /// The join key of the last stage (sequence keys then stage keys); empty for single-event
    /// queries and sequences without keys.
    pub key: Vec<KeyValue>,
}

#[derive(Debug, Clone)]
pub(super) struct StagePlan {
    pub(super) filter: EventFilter,
    pub(super) keys: Vec<Box<str>>,
    pub(super) maxgap: Option<i64>,
}

impl StagePlan {
    fn new(s: &Stage) -> Self {
        StagePlan {
            filter: EventFilter::compile(&s.query),
            keys: s.keys.iter().map(|f| f.name.as_str().into()).collect(),
            maxgap: s.maxgap,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct SeqPlan {
    pub(super) keys: Vec<Box<str>>,
    pub(super) maxspan: Option<i64>,
    pub(super) join: bool,
    pub(super) stages: Vec<StagePlan>,
    until: Option<StagePlan>,
    /// Index of the first stage with its own `by` keys (`stages.len()` if none has).
    first_keyed: usize,
}

#[derive(Debug, Clone)]
enum Plan {
    Event(EventFilter),
    Sequence(SeqPlan),
}

/// A parsed and compiled query, ready to create [`Matcher`]s.
#[derive(Debug, Clone)]
pub struct CompiledQuery {
    plan: Plan,
    ast: Query,
}

/// Parse and compile a query.
pub fn compile(src: &str) -> Result<CompiledQuery, ParseError> {
    parse(src).map(|q| CompiledQuery::from_ast(&q))
}

impl CompiledQuery {
    /// Compile an already parsed (and therefore validated) query.
    pub fn from_ast(q: &Query) -> Self {
        let plan = match q {
            Query::Event(e) => Plan::Event(EventFilter::compile(e)),
            Query::Sequence(Sequence {
                keys,
                maxspan,
                join,
                stages,
                until,
            }) => {
                let stages: Vec<StagePlan> = stages.iter().map(StagePlan::new).collect();
                let first_keyed = stages
                    .iter()
                    .position(|s| !s.keys.is_empty())
                    .unwrap_or(stages.len());
                Plan::Sequence(SeqPlan {
                    keys: keys.iter().map(|f| f.name.as_str().into()).collect(),
                    maxspan: *maxspan,
                    join: *join,
                    stages,
                    until: until.as_ref().map(StagePlan::new),
                    first_keyed,
                })
            }
        };
        CompiledQuery {
            plan,
            ast: q.clone(),
        }
    }

    /// The syntax tree it was compiled from.
    pub fn ast(&self) -> &Query {
        &self.ast
    }

    pub fn is_sequence(&self) -> bool {
        matches!(self.plan, Plan::Sequence(_))
    }

    /// A sequence `with join=true` (dcomhunt extension).
    pub fn is_join(&self) -> bool {
        matches!(&self.plan, Plan::Sequence(s) if s.join)
    }

    /// Number of events in a match (1 for a single-event query).
    pub fn stage_count(&self) -> usize {
        match &self.plan {
            Plan::Event(_) => 1,
            Plan::Sequence(s) => s.stages.len(),
        }
    }

    /// `maxspan` in 100 ns ticks, if any.
    pub fn maxspan(&self) -> Option<i64> {
        match &self.plan {
            Plan::Event(_) => None,
            Plan::Sequence(s) => s.maxspan,
        }
    }

    /// Every field the query reads (conditions and join keys), sorted, without duplicates.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        match &self.plan {
            Plan::Event(f) => f.cond.fields(&mut out),
            Plan::Sequence(s) => {
                out.extend(s.keys.iter().map(|k| &**k));
                for st in s.stages.iter().chain(s.until.iter()) {
                    st.filter.cond.fields(&mut out);
                    out.extend(st.keys.iter().map(|k| &**k));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Does a single event satisfy stage `stage` (0-based; 0 for a single-event query)?
    /// Useful to explain a finding; the matcher does not need it.
    pub fn stage_matches<D: Document + ?Sized>(&self, stage: usize, doc: &D) -> bool {
        match &self.plan {
            Plan::Event(f) => stage == 0 && f.matches(doc),
            Plan::Sequence(s) => s.stages.get(stage).is_some_and(|st| st.filter.matches(doc)),
        }
    }

    /// A fresh matcher (one per host) with the default pending cap.
    pub fn matcher(&self) -> Matcher<'_> {
        let (states, join) = match &self.plan {
            Plan::Event(_) => (0, None),
            Plan::Sequence(s) if s.join => (0, Some(JoinState::new(s))),
            Plan::Sequence(s) => (s.stages.len() - 1, None),
        };
        Matcher {
            q: self,
            states: (0..states).map(|_| HashMap::new()).collect(),
            join,
            max_tick: 1,
            recent: Default::default(),
            pending: 0,
            last: None,
            last_sweep: i64::MIN,
            evicted: 0,
            cap: DEFAULT_PENDING_CAP,
        }
    }
}

/// An event of a coarse clock that matched stage `stage` (≥ 1) under `key` when no sequence
/// waited for it: kept one tick, for a sequence an event of the same tick may yet start.
#[derive(Debug, Clone)]
struct Recent {
    stage: usize,
    key: Key,
    at: At,
}

#[derive(Debug, Clone)]
struct Pending {
    positions: Vec<u64>,
    first_time: i64,
    last_time: i64,
    /// The coarsest clock resolution among its events.
    tick: i64,
}

/// Incremental matcher for one query over one host's ordered events.
#[derive(Debug)]
pub struct Matcher<'q> {
    q: &'q CompiledQuery,
    /// `states[i]`: pending sequences whose last filled stage is `i`.
    states: Vec<HashMap<Key, Pending>>,
    /// A join sequence's chains (`with join=true`); `states` is then empty.
    join: Option<JoinState>,
    /// The coarsest clock resolution fed so far.
    max_tick: i64,
    /// Coarse-clock events that could not advance a sequence, in feed order (see [`Recent`]).
    recent: std::collections::VecDeque<Recent>,
    pending: usize,
    last: Option<(u64, i64)>,
    last_sweep: i64,
    evicted: u64,
    cap: usize,
}

fn key_of<D: Document + ?Sized>(doc: &D, a: &[Box<str>], b: &[Box<str>]) -> Option<Key> {
    a.iter()
        .chain(b)
        .map(|f| KeyValue::from_value(doc.get(f)))
        .collect()
}

impl<'q> Matcher<'q> {
    /// Change the pending-sequence cap (at least 1).
    pub fn with_pending_cap(mut self, cap: usize) -> Self {
        self.cap = cap.max(1);
        self
    }

    /// Pending sequences dropped because the cap was reached (for a join sequence: chain
    /// searches cut short by its step limit).
    pub fn evicted(&self) -> u64 {
        self.evicted + self.join.as_ref().map_or(0, JoinState::truncated)
    }

    /// Pending sequences held now (for a join sequence: candidate events kept).
    pub fn pending(&self) -> usize {
        self.pending + self.join.as_ref().map_or(0, JoinState::held)
    }

    /// Feed the next event of a 100 ns clock. `pos` must be strictly greater than the previous
    /// event's, `time` (100 ns ticks) not smaller. Returns the matches this event completes.
    pub fn feed<D: Document + ?Sized>(
        &mut self,
        doc: &D,
        pos: u64,
        time: i64,
    ) -> Result<Vec<Match>, EngineError> {
        self.feed_at(doc, At::precise(pos, time))
    }

    /// The matches only the end of the events can complete: a join sequence's findings (each
    /// key's chains are all known only then). Empty for other queries.
    pub fn finish(&mut self) -> Vec<Match> {
        self.join
            .as_mut()
            .map(JoinState::finish)
            .unwrap_or_default()
    }

    /// Feed the next event, with the resolution of its clock (see [`At`]).
    pub fn feed_at<D: Document + ?Sized>(
        &mut self,
        doc: &D,
        at: At,
    ) -> Result<Vec<Match>, EngineError> {
        let At { pos, time, tick } = at;
        let tick = tick.max(1);
        let at = At { pos, time, tick };
        if let Some((last_pos, last_time)) = self.last
            && (pos <= last_pos || time < last_time)
        {
            return Err(EngineError::OutOfOrder {
                pos,
                time,
                last_pos,
                last_time,
            });
        }
        self.last = Some((pos, time));
        self.max_tick = self.max_tick.max(tick);
        // Events that could not advance are kept one tick of the coarsest clock.
        while self
            .recent
            .front()
            .is_some_and(|r| time.saturating_sub(r.at.time) >= self.max_tick)
        {
            self.recent.pop_front();
        }
        let plan = match &self.q.plan {
            Plan::Event(f) => {
                return Ok(if f.matches(doc) {
                    vec![Match {
                        positions: vec![pos],
                        stages: vec![0],
                        first_time: time,
                        last_time: time,
                        key: Vec::new(),
                    }]
                } else {
                    Vec::new()
                });
            }
            Plan::Sequence(s) => s,
        };
        if let Some(j) = &mut self.join {
            j.feed(plan, doc, At { pos, time, tick });
            return Ok(Vec::new());
        }
        self.maybe_sweep(plan, time);
        if let Some(u) = &plan.until
            && u.filter.matches(doc)
            && let Some(k) = key_of(doc, &plan.keys, &u.keys)
        {
            self.until(plan, &k, !u.keys.is_empty());
        }
        let mut out = Vec::new();
        let n = plan.stages.len();
        let seq_len = plan.keys.len();
        for i in (0..n).rev() {
            // With no sequence waiting at the stage before, this event cannot advance one:
            // skip its filter and keys (both without side effects), most events of most rules.
            // (Not with coarse clocks: such an event may still join a sequence that an event
            // of the same tick, fed after it, starts.)
            let coarse = self.max_tick > 1;
            if i > 0 && self.states[i - 1].is_empty() && !coarse {
                continue;
            }
            let st = &plan.stages[i];
            if !st.filter.matches(doc) {
                continue;
            }
            let Some(key) = key_of(doc, &plan.keys, &st.keys) else {
                continue;
            };
            if i == 0 {
                let p = Pending {
                    positions: vec![pos],
                    first_time: time,
                    last_time: time,
                    tick,
                };
                if self.states[0].insert(key.clone(), p).is_none() {
                    self.pending += 1;
                }
                if coarse {
                    self.take_recent(plan, 0, key, &mut out);
                }
                continue;
            }
            // The previous state is keyed by the sequence keys only while no stage so far had
            // its own keys (extension: leading stages without `by`).
            let prev_key: &[KeyValue] = if i == plan.first_keyed {
                &key[..seq_len]
            } else {
                &key
            };
            let Some(mut p) = self.states[i - 1].remove(prev_key) else {
                if coarse {
                    self.recent.push_back(Recent { stage: i, key, at });
                }
                continue;
            };
            self.pending -= 1;
            let t = p.tick.max(tick);
            let span = time.saturating_sub(p.first_time);
            if !within(plan, st, span, time.saturating_sub(p.last_time), t) {
                // Times only grow: this sequence can never complete.
                continue;
            }
            p.positions.push(pos);
            p.last_time = time;
            p.tick = t;
            if i == n - 1 {
                out.push(Match {
                    stages: (0..p.positions.len() as u32).collect(),
                    positions: p.positions,
                    first_time: p.first_time,
                    last_time: p.last_time,
                    key: key.into_vec(),
                });
            } else {
                if self.states[i].insert(key.clone(), p).is_none() {
                    self.pending += 1;
                }
                if coarse {
                    self.take_recent(plan, i, key, &mut out);
                }
            }
        }
        if self.pending > self.cap {
            self.evict();
        }
        Ok(out)
    }

    /// A sequence now waits after stage `j` under `key`: an event of stage `j + 1` fed before
    /// it, less than one tick of the coarser clock earlier than the sequence's last event,
    /// advances it (within a tick, either order is possible), and so on up the stages.
    fn take_recent(&mut self, plan: &SeqPlan, mut j: usize, mut key: Key, out: &mut Vec<Match>) {
        let n = plan.stages.len();
        let seq_len = plan.keys.len();
        while j + 1 < n {
            let Some(p) = self.states[j].get(&key) else {
                return;
            };
            let found = self.recent.iter().position(|r| {
                let joins = if j + 1 == plan.first_keyed {
                    r.key[..seq_len] == key[..]
                } else {
                    r.key == key
                };
                r.stage == j + 1
                    && joins
                    && !p.positions.contains(&r.at.pos)
                    && p.last_time.saturating_sub(r.at.time) < p.tick.max(r.at.tick)
            });
            let Some(r) = found.and_then(|k| self.recent.remove(k)) else {
                return;
            };
            let mut p = self.states[j].remove(&key).expect("looked up above");
            self.pending -= 1;
            let t = p.tick.max(r.at.tick);
            let (first, last) = (p.first_time.min(r.at.time), p.last_time.max(r.at.time));
            let gap = r.at.time.saturating_sub(p.last_time);
            if !within(
                plan,
                &plan.stages[j + 1],
                last.saturating_sub(first),
                gap,
                t,
            ) {
                return;
            }
            p.positions.push(r.at.pos);
            (p.first_time, p.last_time, p.tick) = (first, last, t);
            if j + 1 == n - 1 {
                out.push(Match {
                    stages: (0..p.positions.len() as u32).collect(),
                    positions: p.positions,
                    first_time: p.first_time,
                    last_time: p.last_time,
                    key: r.key.into_vec(),
                });
                return;
            }
            if self.states[j + 1].insert(r.key.clone(), p).is_none() {
                self.pending += 1;
            }
            (j, key) = (j + 1, r.key);
        }
    }

    fn until(&mut self, plan: &SeqPlan, key: &[KeyValue], keyed: bool) {
        let seq_len = plan.keys.len();
        for (j, state) in self.states.iter_mut().enumerate() {
            let before = state.len();
            if keyed {
                // A keyed `until` ends the sequences of exactly its key; states before the
                // first keyed stage have no stage key to compare and are left alone.
                if j >= plan.first_keyed {
                    state.remove(key);
                }
            } else {
                state.retain(|k, _| k[..seq_len] != key[..seq_len]);
            }
            self.pending -= before - state.len();
        }
    }

    /// Drop sequences that can no longer complete (past `maxspan`, or past the next stage's
    /// `maxgap`). Runs at most once per shortest window.
    fn maybe_sweep(&mut self, plan: &SeqPlan, now: i64) {
        let window = plan
            .stages
            .iter()
            .filter_map(|s| s.maxgap)
            .chain(plan.maxspan)
            .min();
        let Some(window) = window else { return };
        if self.pending == 0 || now.saturating_sub(self.last_sweep) <= window {
            return;
        }
        self.last_sweep = now;
        // A later event may come from a clock as coarse as the coarsest seen so far.
        let tick = self.max_tick;
        for (j, state) in self.states.iter_mut().enumerate() {
            let gap = plan.stages.get(j + 1).and_then(|s| s.maxgap);
            let before = state.len();
            state.retain(|_, p| {
                plan.maxspan
                    .is_none_or(|m| now.saturating_sub(p.first_time) <= widened(m, tick))
                    && gap.is_none_or(|g| now.saturating_sub(p.last_time) <= widened(g, tick))
            });
            self.pending -= before - state.len();
        }
    }

    /// Over the cap: drop the oldest pending sequences (by first event) down to 3/4 of it.
    fn evict(&mut self) {
        let mut all: Vec<(u64, usize, Key)> = Vec::with_capacity(self.pending);
        for (j, state) in self.states.iter().enumerate() {
            for (k, p) in state {
                all.push((p.positions.first().copied().unwrap_or(0), j, k.clone()));
            }
        }
        all.sort_unstable();
        let target = self.cap - self.cap / 4;
        let drop = self.pending.saturating_sub(target);
        for (_, j, k) in all.into_iter().take(drop) {
            if self.states[j].remove(&k).is_some() {
                self.pending -= 1;
                self.evicted += 1;
            }
        }
    }
}
