//! The event store: every kept event, from normalization to the end of the run, in a compact
//! encoding, in the total order (time, file, record id, position).
//!
//! An [`Event`] value with its boxed payload takes 250–450 bytes; encoded it takes 25–60:
//! numbers as variable-length integers and text as an index into its batch's table of shared
//! strings. Each batch is one chunk's (or one text file's) events, encoded on the worker that
//! normalized them; the store keeps only the batches and one 8-byte locator per event in sorted
//! order. Later stages decode an event when they look at it ([`EventStore::get`],
//! [`EventStore::iter`]); the decoded value equals the normalized one, with the inbound side of
//! its connection decided again with every input's host addresses
//! ([`crate::normalize::redecide_event`]).
//!
//! Each batch holds its own copy of its strings, so threads decoding different parts of the
//! run do not share reference counts.
//!
//! Here: batches, the store and its cursor. `codec`: one event's encoding. `order`: the
//! sort keys and their merge into the total order. `spill`: the temporary file for batches
//! beyond the memory budget.

mod codec;
mod dedup;
mod order;
mod spill;

use codec::{Decoder, Encoder};
pub use dedup::Dedup;
use order::{BatchKey, DiskKeys, KeyBase, merge_batches, sort_key};
use spill::SpillFile;
pub use spill::{DEFAULT_SPILL_MIB, Spill};

use crate::event::{Event, Text};
use crate::normalize::{HostAddresses, redecide_event};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

/// Events of one chunk or text file, encoded, with the strings they use.
#[derive(Debug, Default)]
pub struct Batch {
    data: Data,
    /// The distinct (file, host) pairs of the batch's events (one for a chunk).
    sources: Vec<(Text, Text)>,
    /// Per event, for the sort: time, record id, position, source, byte offset. Empty while
    /// they are in the spill file ([`DiskKeys`]).
    keys: Vec<BatchKey>,
    /// Where the keys are when the batch was spilled with them.
    disk_keys: Option<DiskKeys>,
    /// Number of events.
    len: usize,
    /// The first event's record id and position, from which the keys' are counted.
    base: (u64, u64),
}

/// Where a batch's encoded events are.
#[derive(Debug)]
enum Data {
    Mem(Loaded),
    /// In the spill file, at this offset, this many bytes.
    Disk {
        at: u64,
        len: u64,
    },
}

impl Default for Data {
    fn default() -> Self {
        Data::Mem(Loaded::default())
    }
}

/// A batch's encoded events and their strings, in memory.
#[derive(Debug, Default)]
struct Loaded {
    texts: Box<[Text]>,
    bytes: Box<[u8]>,
}

impl Loaded {
    fn heap_bytes(&self) -> usize {
        self.bytes.len() + self.texts.iter().map(|t| t.len() + 32).sum::<usize>()
    }
}

/// Where one event is: batch number, byte offset in it. Its host is its batch's (see
/// [`EventStore::batch_host`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loc {
    batch: u32,
    offset: u32,
}

/// In [`EventStore::batch_host`]: the batch's events are of several hosts.
const MIXED: u32 = u32::MAX;

/// Every kept event of a run, in the total order.
#[derive(Debug, Default)]
pub struct EventStore {
    batches: Vec<Batch>,
    order: Vec<Loc>,
    /// Per batch, the host (an index into `hosts`) of all its events — an EVTX chunk's are of
    /// one computer — or [`MIXED`].
    batch_host: Vec<u32>,
    /// The (event, host) of every event of a [`MIXED`] batch, in event order (forwarded logs).
    mixed: Vec<(u32, u32)>,
    hosts: Vec<Text>,
    /// How many input files the events come from.
    files: usize,
    addrs: HostAddresses,
    spill: Option<Arc<SpillFile>>,
    /// Input files whose clock is coarser than 100 ns → its resolution in 100 ns ticks.
    clocks: HashMap<Text, i64, foldhash::fast::RandomState>,
    /// Each file's identity by content (see [`Self::set_file_keys`]).
    file_keys: HashMap<Text, Text>,
}

/// The first failure of this process to read the spill file back (events then missing).
static READ_BACK: OnceLock<String> = OnceLock::new();

/// Why events could not be read back from a spill file in this process, if that happened:
/// the run's results then miss those events and must not be trusted (the CLI fails the run).
pub fn read_back_error() -> Option<&'static str> {
    READ_BACK.get().map(String::as_str)
}

impl Batch {
    /// Encode a batch of normalized events (any order). A batch holds at most 4 GiB of
    /// encoded events; [`EventStore::build`] takes any number of batches.
    pub fn encode(events: &[Event]) -> Vec<Batch> {
        let mut out = Vec::new();
        let mut enc = Encoder::default();
        // The sort keys are held until every input is read: no room to spare.
        enc.keys.reserve_exact(events.len());
        for e in events {
            if enc.bytes.len() > (u32::MAX as usize) - (1 << 20) || !enc.fits(e) {
                out.push(std::mem::take(&mut enc).finish());
            }
            enc.event(e);
        }
        if !enc.keys.is_empty() {
            out.push(enc.finish());
        }
        out
    }

    /// Bytes the batch holds in memory (events, strings).
    fn heap_bytes(&self) -> usize {
        match &self.data {
            Data::Mem(l) => l.heap_bytes(),
            Data::Disk { .. } => 0,
        }
    }

    /// Number of events in the batch.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first or last of the batch's keys, wherever they are (in the order they are in:
    /// sorted once spilled).
    fn end_key(&self, last: bool) -> Option<BatchKey> {
        match (&self.disk_keys, last) {
            (Some(d), false) => Some(d.first),
            (Some(d), true) => Some(d.last),
            (None, false) => self.keys.first().copied(),
            (None, true) => self.keys.last().copied(),
        }
    }

    /// Sort the keys in the total order, when the batch's events all come from one file:
    /// within a batch, the total order's key ([`sort_key`]) then differs only in the time,
    /// record id, position and byte offset (its file rank and batch number are the same for
    /// every event, and no two events share an offset), so the order needs nothing that is
    /// known only once every input is read. `false` (not sorted) for a batch of several files.
    fn sort_own_keys(&mut self) -> bool {
        let one_file = self
            .sources
            .iter()
            .all(|(f, _)| self.sources.first().is_some_and(|(g, _)| f == g));
        if one_file {
            let base = self.base;
            self.keys.sort_unstable_by_key(|k| {
                let (record_id, position) = k.record_and_position(base);
                (k.time, record_id, position, k.offset)
            });
        }
        one_file
    }

    /// Bring a spilled batch's keys back into memory (for the merge). A failure to read them
    /// is the run's failure to read the spill back ([`read_back_error`]): the batch's events
    /// are then left out.
    fn read_keys_back(&mut self, spill: Option<&SpillFile>) {
        let Some(d) = self.disk_keys.take() else {
            return;
        };
        let read = match spill {
            Some(f) => f.read_keys(d.at, self.len),
            None => Err(std::io::Error::other("no spill file")),
        };
        match read {
            Ok(keys) => self.keys = keys,
            Err(e) => {
                let _ = READ_BACK.set(format!("cannot read events back from the spill file: {e}"));
            }
        }
    }
}

impl EventStore {
    /// Put batches in the total order. `addrs`: every input's host addresses, with which the
    /// inbound side of each connection is decided again as it is decoded. `spill`: where
    /// the batches were placed.
    pub fn build(mut batches: Vec<Batch>, addrs: HostAddresses, spill: &Spill) -> EventStore {
        // Files ranked by name, so that the sort compares numbers; hosts numbered.
        let mut rank: BTreeMap<Text, u32> = BTreeMap::new();
        let mut host_ids: HashMap<Text, u32, foldhash::fast::RandomState> = HashMap::default();
        let mut hosts: Vec<Text> = Vec::new();
        for b in &batches {
            for (file, host) in &b.sources {
                if !rank.contains_key(&**file) {
                    rank.insert(file.clone(), 0);
                }
                if !host_ids.contains_key(&**host) {
                    host_ids.insert(host.clone(), hosts.len() as u32);
                    hosts.push(host.clone());
                }
            }
        }
        for (n, v) in rank.values_mut().enumerate() {
            *v = n as u32;
        }
        let files = rank.len();
        // Each batch's keys sorted in place, then merged: the keys are never copied (they
        // were, all of them into one array to sort: the load stage's peak), and a batch's are
        // dropped as soon as the merge has passed them.
        let srcs: Vec<KeyBase> = batches
            .iter()
            .map(|b| KeyBase {
                base: b.base,
                src: b
                    .sources
                    .iter()
                    .map(|(f, h)| (rank[&**f], host_ids[&**h]))
                    .collect(),
            })
            .collect();
        drop(rank);
        drop(host_ids);
        for b in &mut batches {
            b.sources = Vec::new();
        }
        let batch_host: Vec<u32> = srcs
            .iter()
            .map(|k| match k.src.split_first() {
                Some((&(_, h), rest)) if rest.iter().all(|&(_, g)| g == h) => h,
                _ => MIXED,
            })
            .collect();
        batches
            .par_iter_mut()
            .zip(srcs.par_iter())
            .enumerate()
            .for_each(|(n, (b, src))| b.keys.sort_unstable_by_key(|k| sort_key(n, k, src)));
        // On the pool, where the keys were made (see `crate::pool`): freed there, their pages
        // are given back before the graph's arrays are made.
        let file = spill.made();
        let (order, mixed) = crate::pool::on_pool(|| {
            merge_batches(&mut batches, &srcs, &batch_host, file.as_deref())
        });
        EventStore {
            batches,
            order,
            batch_host,
            mixed,
            hosts,
            files,
            addrs,
            spill: file,
            clocks: HashMap::default(),
            file_keys: HashMap::default(),
        }
    }

    /// Record that the times of `file`'s events come from a clock of this resolution (100 ns
    /// ticks). Files not named here have 100 ns clocks.
    pub fn set_clock_resolution(&mut self, file: &Text, ticks: i64) {
        if ticks > 1 {
            self.clocks.insert(file.clone(), ticks);
        }
    }

    /// The resolution of the clock of `file`'s events, in 100 ns ticks (1: 100 ns).
    pub fn clock_resolution(&self, file: &str) -> i64 {
        self.clocks.get(file).copied().unwrap_or(1)
    }

    /// Name each input file by its content (its SHA-256), for what must not depend on how a
    /// path was spelled (finding ids). Keys by the file's shown path.
    pub fn set_file_keys(&mut self, keys: HashMap<Text, Text>) {
        self.file_keys = keys;
    }

    /// A file's identity by content when known ([`Self::set_file_keys`]), else its path.
    pub fn file_key<'a>(&'a self, file: &'a str) -> &'a str {
        self.file_keys.get(file).map_or(file, |k| &**k)
    }

    /// A store of the given events, all in memory (tests, benches, and callers that build
    /// events themselves), with the host addresses they show.
    pub fn from_events(events: &[Event]) -> EventStore {
        EventStore::from_events_with(events, &Spill::default())
    }

    /// [`Self::from_events`], with batches placed by `spill`.
    pub fn from_events_with(events: &[Event], spill: &Spill) -> EventStore {
        let addrs = HostAddresses::learn_events(events);
        let batches = events
            .chunks(4096)
            .flat_map(Batch::encode)
            .map(|b| spill.place(b))
            .collect();
        EventStore::build(batches, addrs, spill)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Event `i` of the total order. Reads its batch back when it was spilled: to look at
    /// many events, use a [`Cursor`].
    pub fn get(&self, i: usize) -> Option<Event> {
        self.cursor().event(i)
    }

    /// Event `i`'s host, without decoding the event.
    pub fn host(&self, i: usize) -> Option<&Text> {
        self.host_id(i).map(|h| &self.hosts[h as usize])
    }

    /// Event `i`'s host as a number (`0..hosts().len()`), without decoding the event.
    pub fn host_id(&self, i: usize) -> Option<u32> {
        let l = self.order.get(i)?;
        match self.batch_host.get(l.batch as usize).copied()? {
            MIXED => self
                .mixed
                .binary_search_by_key(&(i as u32), |m| m.0)
                .ok()
                .map(|k| self.mixed[k].1),
            h => Some(h),
        }
    }

    /// The hosts of the events, each once; [`Self::host_id`] indexes this list.
    pub fn hosts(&self) -> &[Text] {
        &self.hosts
    }

    /// Each host's events (indexes into the total order, as `u32`: a store holds fewer than 4
    /// billion events), in order; the list of host `h` is at `h` of [`Self::hosts`].
    pub fn per_host(&self) -> Vec<Vec<u32>> {
        let mut per_host: Vec<Vec<u32>> = vec![Vec::new(); self.hosts.len()];
        let mut mixed = self.mixed.iter().peekable();
        for (i, l) in self.order.iter().enumerate() {
            let h = match self.batch_host[l.batch as usize] {
                MIXED => match mixed.next_if(|m| m.0 == i as u32) {
                    Some(&(_, h)) => h,
                    None => continue,
                },
                h => h,
            };
            per_host[h as usize].push(i as u32);
        }
        per_host
    }

    /// A reader that keeps the last spilled batches it read.
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor {
            store: self,
            cache: Vec::new(),
            slot: HashMap::default(),
            capacity: CURSOR_BATCHES.max(2 * self.files),
            hand: 0,
            reads: 0,
        }
    }

    /// Every event, in the total order.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        let mut c = self.cursor();
        (0..self.len()).map_while(move |i| c.event(i))
    }

    /// Bytes the store holds in memory (encoded events, locators and its copies of the text),
    /// for the benchmarks.
    pub fn heap_bytes(&self) -> usize {
        self.order.capacity() * std::mem::size_of::<Loc>()
            + self.batch_host.capacity() * 4
            + self.mixed.capacity() * 8
            + self.batches.iter().map(Batch::heap_bytes).sum::<usize>()
    }
}

/// Spilled batches a cursor keeps at least. It keeps two per input file when that is more: a
/// pass in the total order reads every file's events at once (each file nearly in time order),
/// so it needs each file's current batch at hand — like the buffers of a merge — or it reads
/// batches back again and again (a run over 400 files read each spilled batch 15 times with a
/// fixed 64). A batch is one EVTX chunk's kept events: a few KiB encoded.
const CURSOR_BATCHES: usize = 64;

/// Reads events of a store, keeping the spilled batches it read last.
pub struct Cursor<'s> {
    store: &'s EventStore,
    /// (batch, used since the clock hand last passed, contents).
    cache: Vec<(u32, bool, Loaded)>,
    /// Batch number → its place in `cache`.
    slot: HashMap<u32, usize, foldhash::fast::RandomState>,
    capacity: usize,
    /// Where the search for a batch to evict goes on (the CLOCK approximation of least
    /// recently used: constant time per read, whatever the capacity).
    hand: usize,
    /// Batches read back from the spill file so far.
    reads: usize,
}

impl Cursor<'_> {
    /// How many batches this cursor has read back from the spill file.
    pub fn reads(&self) -> usize {
        self.reads
    }

    /// Event `i` of the total order; `None` past the end, or when its batch cannot be read
    /// back from the spill file (recorded for [`read_back_error`]).
    pub fn event(&mut self, i: usize) -> Option<Event> {
        let s = self.store;
        let l = *s.order.get(i)?;
        let loaded = self.batch(l)?;
        let mut e = Decoder {
            b: &loaded.bytes,
            p: l.offset as usize,
            texts: &loaded.texts,
        }
        .event();
        redecide_event(&mut e, &s.addrs);
        Some(e)
    }

    /// The encoded events of the batch of `l`, read back from the spill file when it was
    /// spilled; `None` when that fails (recorded for [`read_back_error`]).
    fn batch(&mut self, l: Loc) -> Option<&Loaded> {
        let s = self.store;
        let b = &s.batches[l.batch as usize];
        let loaded = match &b.data {
            Data::Mem(m) => m,
            &Data::Disk { at, len } => {
                let k = match self.slot.get(&l.batch) {
                    Some(&k) => k,
                    None => {
                        self.reads += 1;
                        let read = match &s.spill {
                            Some(f) => f.read(at, len),
                            None => Err(std::io::Error::other("no spill file")),
                        };
                        let loaded = match read {
                            Ok(x) => x,
                            Err(e) => {
                                let _ = READ_BACK.set(format!(
                                    "cannot read events back from the spill file: {e}"
                                ));
                                return None;
                            }
                        };
                        let k = if self.cache.len() < self.capacity {
                            self.cache.push((l.batch, true, loaded));
                            self.cache.len() - 1
                        } else {
                            // The first batch not used since the hand last passed it.
                            let n = self.cache.len();
                            while std::mem::replace(&mut self.cache[self.hand].1, false) {
                                self.hand = (self.hand + 1) % n;
                            }
                            let k = self.hand;
                            self.hand = (k + 1) % n;
                            self.slot.remove(&self.cache[k].0);
                            self.cache[k] = (l.batch, true, loaded);
                            k
                        };
                        self.slot.insert(l.batch, k);
                        k
                    }
                };
                self.cache[k].1 = true;
                &self.cache[k].2
            }
        };
        Some(loaded)
    }
}

#[cfg(test)]
mod tests {
    use super::codec::SIDES;
    use super::*;
    use crate::event::{Boot, Direction, Kind, LocalSide, Network, Process, ProcessEnd};
    use crate::record::Provenance;
    use crate::time::Ts;

    fn t(s: &str) -> Text {
        Arc::from(s)
    }

    fn base(file: &str, time: i64, record_id: u64, kind: Kind) -> Event {
        Event {
            host: t("WS1"),
            time: Ts(time),
            utc_time: None,
            channel: t("Security"),
            provider: t("Microsoft-Windows-Security-Auditing"),
            event_id: 4688,
            record_id,
            prov: Provenance {
                file: t(file),
                chunk: None,
                offset: None,
                line: None,
            },
            kind,
        }
    }

    /// Values at the edges of every encoded field: all options absent and present, extreme
    /// numbers, empty and non-ASCII text, every local side, both directions.
    fn edge_events() -> Vec<Event> {
        let full = Process {
            entity_id: Some(t("{guid}")),
            pid: Some(u64::MAX),
            image: t("C:\\Écran\\画面.exe"),
            command_line: Some(t("")),
            parent_entity_id: Some(t("{parent}")),
            parent_pid: Some(0),
            parent_image: Some(t("p.exe")),
            parent_command_line: Some(t("p \"x\"")),
            user: Some(t("D\\u")),
            hashes: Some(t("SHA256=00")),
            current_directory: Some(t("C:\\")),
            integrity_level: Some(t("High")),
        };
        let mut out = vec![
            base("b.evtx", 5, 2, Kind::ProcessStart(Box::default())),
            base("a.evtx", 5, u64::MAX, Kind::ProcessStart(Box::new(full))),
            base(
                "a.evtx",
                i64::MIN,
                0,
                Kind::ProcessEnd(Box::new(ProcessEnd {
                    entity_id: None,
                    pid: Some(7),
                    image: t(""),
                })),
            ),
            base(
                "a.evtx",
                i64::MAX,
                1,
                Kind::Boot(Boot {
                    marker: "system-6005".into(),
                }),
            ),
        ];
        for (k, side) in SIDES.into_iter().enumerate() {
            let mut e = base(
                "c.jsonl",
                10,
                0,
                Kind::Network(Box::new(Network {
                    entity_id: (k % 2 == 0).then(|| t("{n}")),
                    pid: (k % 2 == 1).then_some(4),
                    image: t("svchost.exe"),
                    direction: if k % 2 == 0 {
                        Direction::Egress
                    } else {
                        Direction::Ingress
                    },
                    transport: t("tcp"),
                    local_ip: t("10.0.0.1"),
                    local_port: (k != 2).then_some(65535),
                    remote_ip: t("::1"),
                    remote_port: (k != 3).then_some(0),
                    local_side: side,
                    source_was_local: k % 3 == 0,
                    user: (k == 4).then(|| t("NT AUTHORITY\\SYSTEM")),
                })),
            );
            e.prov.line = Some(k as u64 + 1);
            e.utc_time = Some(Ts(if k == 0 { i64::MIN } else { 10 - k as i64 }));
            e.prov.chunk = (k == 1).then_some(3);
            e.prov.offset = (k == 1).then_some(u64::MAX);
            out.push(e);
        }
        out
    }

    /// The events as the store must give them back: in the total order, inbound sides
    /// decided again (here with no host addresses known).
    fn expected(events: &[Event]) -> Vec<Event> {
        let mut events = events.to_vec();
        crate::normalize::redecide_local_side(&mut events, &HostAddresses::default());
        events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        events
    }

    /// Decoding gives back every field as encoded, in the total order.
    #[test]
    fn round_trip_of_edge_values_in_total_order() {
        let events = expected(&edge_events());
        let s = EventStore::build(
            Batch::encode(&edge_events()),
            HostAddresses::default(),
            &Spill::default(),
        );
        // The inbound loopback connection was decided again: its loopback side is local.
        let lo = events
            .iter()
            .filter_map(|e| e.network())
            .find(|n| n.local_side == LocalSide::Loopback);
        assert_eq!(lo.map(|n| &*n.local_ip), Some("::1"));
        let got: Vec<Event> = s.iter().collect();
        assert_eq!(got, events);
        assert_eq!(s.len(), events.len());
        assert_eq!(s.get(0).map(|e| e.time), Some(Ts(i64::MIN)));
    }

    /// Batches from several workers are merged into one order; the same text in several
    /// batches is each batch's own copy, equal in content.
    #[test]
    fn several_batches_merge_into_one_order() {
        let events = edge_events();
        let (a, b) = events.split_at(3);
        let mut batches = Batch::encode(b);
        batches.extend(Batch::encode(a));
        let s = EventStore::build(batches, HostAddresses::default(), &Spill::default());
        assert_eq!(s.iter().collect::<Vec<_>>(), expected(&events));
        assert!(s.heap_bytes() > 0);
        assert!(EventStore::default().is_empty());
        assert!(Batch::encode(&[]).is_empty());
    }

    /// A xorshift generator from `seed`: each call gives a number below its argument.
    fn below(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed;
        move |m| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        }
    }

    /// Batches sorted in place and merged (see `merge_batches`): runs of batches that follow
    /// each other in time, batches that do not, events out of order within a batch, and many
    /// equal times, files and record ids; the order one sort of every event gives.
    #[test]
    fn merged_batches_give_the_total_order() {
        let mut rnd = below(0x9e37_79b9_7f4a_7c15);
        let mut events = Vec::new();
        for k in 0..5000u64 {
            let mut e = edge_events()[(k % 9) as usize].clone();
            // The first half in time order, the second at random among few times.
            e.time = Ts(if k < 2500 { k as i64 } else { rnd(300) as i64 });
            e.record_id = rnd(50);
            e.prov.file = t(&format!("f{}.evtx", rnd(4)));
            e.host = t(&format!("H{}", rnd(3)));
            events.push(e);
        }
        let want = expected(&events);
        let mut batches = Vec::new();
        let mut rest = &events[..];
        while !rest.is_empty() {
            let (a, b) = rest.split_at((1 + rnd(40) as usize).min(rest.len()));
            batches.extend(Batch::encode(a));
            rest = b;
        }
        assert!(batches.len() > 200);
        let s = EventStore::build(batches, HostAddresses::default(), &Spill::default());
        assert_eq!(s.iter().collect::<Vec<_>>(), want);
    }

    /// Batches of one file each (as EVTX chunks are) are spilled with their keys, sorted, and
    /// hold none in memory until the merge reads them back: events out of order within a
    /// batch, many equal times across files, record ids near the ends of their range and
    /// batches of several files (whose keys stay in memory) give the order one sort of every
    /// event gives, whatever part is spilled.
    #[test]
    fn spilled_keys_merge_to_the_total_order() {
        let mut rnd = below(0x2545_f491_4f6c_dd1d);
        let mut batches_of: Vec<Vec<Event>> = Vec::new();
        let mut all = Vec::new();
        for k in 0..400u64 {
            let file = t(&format!("f{}.evtx", k % 6));
            let mixed = k % 37 == 0;
            let mut b = Vec::new();
            for j in 0..(1 + rnd(30)) {
                let mut e = edge_events()[((k + j) % 9) as usize].clone();
                e.time = Ts(if k % 3 == 0 {
                    rnd(200) as i64
                } else {
                    (k * 10 + rnd(12)) as i64
                });
                e.record_id = if k % 5 == 0 {
                    u64::MAX - rnd(1000)
                } else {
                    rnd(100_000)
                };
                e.prov.file = if mixed {
                    t(&format!("m{}.evtx", rnd(3)))
                } else {
                    file.clone()
                };
                // A batch's events are of one host but in the batches of several files.
                e.host = t(&format!("H{}", if mixed { rnd(4) } else { k % 4 }));
                b.push(e);
            }
            all.extend(b.iter().cloned());
            batches_of.push(b);
        }
        let want = expected(&all);
        let of_mixed = batches_of
            .iter()
            .filter(|b| b.iter().any(|e| e.host != b[0].host))
            .map(Vec::len)
            .sum::<usize>();
        assert!(of_mixed > 0);
        for budget in [0, 50_000, usize::MAX] {
            let spill = Spill::new(budget);
            let batches: Vec<Batch> = batches_of
                .iter()
                .flat_map(|b| Batch::encode(b))
                .map(|b| spill.place(b))
                .collect();
            let on_disk = batches.iter().filter(|b| b.disk_keys.is_some()).count();
            for b in &batches {
                assert_eq!(b.disk_keys.is_some(), b.keys.is_empty(), "{budget}");
                assert!(!b.is_empty());
            }
            match budget {
                0 => assert!(on_disk > 300 && on_disk < batches.len(), "{on_disk}"),
                usize::MAX => assert_eq!(on_disk, 0),
                _ => assert!(on_disk > 0),
            }
            let s = EventStore::build(batches, HostAddresses::default(), &spill);
            assert_eq!(s.iter().collect::<Vec<_>>(), want, "{budget}");
            // Only the events of batches of several hosts have their host noted apart.
            assert_eq!(s.mixed.len(), of_mixed);
            for (i, e) in want.iter().enumerate() {
                assert_eq!(s.host(i), Some(&e.host));
            }
            let per_host = s.per_host();
            assert_eq!(per_host.iter().map(Vec::len).sum::<usize>(), s.len());
            for (h, idx) in per_host.iter().enumerate() {
                assert!(idx.windows(2).all(|w| w[0] < w[1]));
                assert!(idx.iter().all(|&i| s.host_id(i as usize) == Some(h as u32)));
            }
        }
        assert_eq!(read_back_error(), None);
    }

    /// Record ids and positions too far apart for a batch's 32-bit differences cut the batch
    /// there (and only there); every value reads back and sorts as it was.
    #[test]
    fn far_apart_record_ids_cut_the_batch() {
        let far = [
            0,
            1 << 40,
            5,
            u64::MAX / 2,
            u64::MAX,
            1 << 31,
            (1 << 31) - 1,
            7,
        ];
        let mut events = Vec::new();
        for (k, &rid) in far.iter().enumerate() {
            let mut e = edge_events()[k].clone();
            e.time = Ts(1);
            e.prov.file = t("one.evtx");
            e.record_id = rid;
            e.prov.offset = Some(rid.rotate_left(17));
            events.push(e);
        }
        let batches = Batch::encode(&events);
        assert!(
            batches.len() > 1 && batches.len() < far.len(),
            "{}",
            batches.len()
        );
        assert_eq!(batches.iter().map(Batch::len).sum::<usize>(), far.len());
        let s = EventStore::build(batches, HostAddresses::default(), &Spill::default());
        assert_eq!(s.iter().collect::<Vec<_>>(), expected(&events));
        // Near ones stay in one batch, whatever their order.
        events.truncate(1);
        for rid in [3, (1 << 31) - 1, 0, 1] {
            let mut e = events[0].clone();
            e.record_id = rid;
            e.prov.offset = Some(rid);
            events.push(e);
        }
        assert_eq!(Batch::encode(&events).len(), 1);
    }

    /// Many events in many small batches: every batch written to the spill file (budget 0)
    /// or some of them (a small budget), read back through cursors whose cache is smaller than
    /// the batches visited, in order and out of order.
    #[test]
    fn spilled_batches_read_back_equal() {
        let mut events = Vec::new();
        for k in 0..3000u64 {
            let mut e = edge_events()[(k % 9) as usize].clone();
            e.time = Ts(k as i64 / 3);
            e.record_id = k;
            e.prov.file = t(&format!("f{}.evtx", k % 7));
            e.host = t(&format!("H{}", k % 5));
            events.push(e);
        }
        let want = expected(&events);
        for budget in [0, 20_000, usize::MAX] {
            let spill = Spill::new(budget);
            // Batches of 10 events: 300 batches, more than a cursor keeps.
            let batches: Vec<Batch> = events
                .chunks(10)
                .flat_map(Batch::encode)
                .map(|b| spill.place(b))
                .collect();
            let s = EventStore::build(batches, HostAddresses::default(), &spill);
            assert_eq!(spill.failure(), None);
            assert_eq!(spill.written() > 0, budget != usize::MAX, "{budget}");
            if budget == 0 {
                assert_eq!(s.batches.iter().map(Batch::heap_bytes).sum::<usize>(), 0);
            }
            // Every batch here mixes hosts: every event's host is noted apart.
            assert_eq!(s.mixed.len(), s.len());
            assert_eq!(s.iter().collect::<Vec<_>>(), want, "{budget}");
            let mut c = s.cursor();
            for i in (0..s.len()).rev().step_by(7) {
                assert_eq!(c.event(i).as_ref(), Some(&want[i]));
                assert_eq!(s.get(i).as_ref(), Some(&want[i]));
                assert_eq!(s.host(i), Some(&want[i].host));
            }
            assert_eq!(c.event(s.len()), None);
        }
        assert_eq!(read_back_error(), None);
    }

    /// A pass in the total order over many files whose events interleave in time reads each
    /// spilled batch once: the cursor keeps one batch per file at hand (with a fixed 64, this
    /// run read every batch about 10 times).
    #[test]
    fn interleaved_files_read_each_batch_once() {
        let files = 150u64;
        let mut per_file: Vec<Vec<Event>> = vec![Vec::new(); files as usize];
        for k in 0..files * 40 {
            let mut e = edge_events()[(k % 9) as usize].clone();
            e.time = Ts(k as i64);
            e.record_id = k;
            e.prov.file = t(&format!("f{}.evtx", k % files));
            per_file[(k % files) as usize].push(e);
        }
        let spill = Spill::new(0);
        // Batches of 10 events of one file each, as EVTX chunks are: 4 per file.
        let batches: Vec<Batch> = per_file
            .iter()
            .flat_map(|f| f.chunks(10))
            .flat_map(Batch::encode)
            .map(|b| spill.place(b))
            .collect();
        let n = batches.len();
        assert_eq!(n, 600);
        let s = EventStore::build(batches, HostAddresses::default(), &spill);
        let mut c = s.cursor();
        let mut last = Ts(-1);
        for i in 0..s.len() {
            let e = c.event(i).unwrap();
            assert!(e.time > last);
            last = e.time;
        }
        assert_eq!(c.reads(), n);
    }

    /// The spill file's form is checked when read back: a short or padded record is refused.
    #[test]
    fn spilled_form_is_checked() {
        let b = Batch::encode(&edge_events()).remove(0);
        let Data::Mem(l) = &b.data else {
            panic!("encoded in memory")
        };
        let mut buf = Vec::new();
        l.write_to(&mut buf);
        let back = Loaded::read_from(&buf).unwrap();
        assert_eq!(back.bytes, l.bytes);
        assert_eq!(back.texts, l.texts);
        assert!(Loaded::read_from(&buf[..buf.len() - 1]).is_none());
        buf.push(0);
        assert!(Loaded::read_from(&buf).is_none());
        assert!(Loaded::read_from(&[]).is_none());
    }
}
