//! Runs the first stages in order: discover → ingest (parallel over files and chunks) →
//! normalize → sort. Nothing downstream re-reads a file.

use crate::discover::{Discovery, Input, Skipped, discover_unhashed, hash_file};
use crate::error::Result;
use crate::event::{Event, Text};
use crate::ingest;
use crate::integrity::{Conflict, Flags, Integrity};
use crate::normalize::{HostAddresses, normalize_with};
use crate::record::{Damage, ReadStats};
use crate::store::{Batch, DEFAULT_SPILL_MIB, EventStore, Spill};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// One input and what reading it gave.
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    #[serde(flatten)]
    pub input: Input,
    #[serde(flatten)]
    pub stats: ReadStats,
    /// Events kept after normalization, per `channel:event_id`.
    pub kept: BTreeMap<String, u64>,
}

impl InputReport {
    pub fn kept_total(&self) -> u64 {
        self.kept.values().sum()
    }
}

/// Everything the later stages need.
#[derive(Debug, Default)]
pub struct Loaded {
    pub inputs: Vec<InputReport>,
    pub skipped: Vec<Skipped>,
    /// macOS resource forks found and not read (see [`Discovery::resource_forks`]).
    pub resource_forks: u64,
    /// All kept events, in the total order (time, file, record id, position).
    pub events: EventStore,
    /// Bytes of encoded events written to the temporary spill file (see [`set_spill_mib`]).
    pub spilled: usize,
    /// Why some events could not be spilled (they were kept in memory instead).
    pub spill_failure: Option<String>,
    /// Chunks failing their CRC32, duplicated and conflicting records (see
    /// [`crate::integrity`]); each event's flags are [`Integrity::of`] it.
    pub integrity: Integrity,
}

impl Loaded {
    /// Some input was not read completely, or a file or directory that may hold evidence
    /// could not be read at all.
    pub fn incomplete(&self) -> bool {
        self.inputs.iter().any(|i| i.stats.incomplete()) || self.unread().next().is_some()
    }

    /// The paths found but not read that may hold evidence (see [`Skipped::unread`]).
    pub fn unread(&self) -> impl Iterator<Item = &Skipped> {
        self.skipped.iter().filter(|s| s.unread)
    }
}

/// Encoded events kept in memory before the rest go to a temporary file, in MiB.
static SPILL_MIB: AtomicUsize = AtomicUsize::new(DEFAULT_SPILL_MIB);

/// Set how many MiB of encoded events [`load`] keeps in memory (the CLI's `--spill-mib`);
/// beyond it they go to an anonymous temporary file in `TMPDIR`. 0: all go to the file.
pub fn set_spill_mib(mib: usize) {
    SPILL_MIB.store(mib, Ordering::Relaxed);
}

/// Told how reading goes, from the worker threads (the CLI draws a progress bar with it).
/// Every method does nothing unless implemented.
pub trait Progress: Sync {
    /// Reading starts: `files` inputs of `bytes` in all.
    fn start(&self, _files: usize, _bytes: u64) {}
    /// `bytes` more of the inputs were read.
    fn read(&self, _bytes: u64) {}
    /// One more input is read completely.
    fn file_done(&self) {}
}

/// No progress report.
pub struct NoProgress;

impl Progress for NoProgress {}

/// Discover, read and normalize the given paths.
pub fn load(paths: &[PathBuf]) -> Result<Loaded> {
    load_with(paths, &NoProgress)
}

/// [`load`], telling `progress` how reading goes.
pub fn load_with(paths: &[PathBuf], progress: &dyn Progress) -> Result<Loaded> {
    // Hashed while parsing (see `load_inputs`): each file is read from disk once.
    let Discovery {
        inputs,
        skipped,
        resource_forks,
    } = discover_unhashed(paths)?;
    let mut loaded = load_inputs_with(inputs, skipped, progress);
    loaded.resource_forks = resource_forks;
    Ok(loaded)
}

/// Read and normalize already discovered inputs. An input whose `sha256` is empty (see
/// [`crate::discover::discover_unhashed`]) gets its size and hash here, from the bytes parsed.
pub fn load_inputs(inputs: Vec<Input>, skipped: Vec<Skipped>) -> Loaded {
    load_inputs_with(inputs, skipped, &NoProgress)
}

/// [`load_inputs`], telling `progress` how reading goes: bytes as each EVTX chunk is read
/// (and the rest of a file when it is done), files as they are done.
pub fn load_inputs_with(
    inputs: Vec<Input>,
    skipped: Vec<Skipped>,
    progress: &dyn Progress,
) -> Loaded {
    progress.start(inputs.len(), inputs.iter().map(|i| i.size).sum());
    let spill = Spill::new(SPILL_MIB.load(Ordering::Relaxed).saturating_mul(1 << 20));
    let normalize_batch = |r: &[crate::record::RawRecord]| normalize_batch(r, &spill);
    // Each chunk's events are encoded on the worker that normalized them (see
    // `crate::store`); only the encoded batches are held until every input is read.
    let read: Vec<(InputReport, Part)> = inputs
        .into_par_iter()
        .map(|mut input| {
            // Bytes told to `progress` so far for this file.
            let told = AtomicU64::new(0);
            let size_known = input.size;
            let result = if !input.sha256.is_empty() {
                ingest::read(&input.path, &input.display, input.format)
                    .map(|(r, s)| (normalize_batch(&r), s))
            } else if input.format == ingest::Format::Evtx {
                // Streamed: each chunk's records are normalized on the worker that parsed the
                // chunk and dropped there, so no file's raw records are ever all in memory.
                ingest::evtx::read_hashed_with(&input.path, &input.display, &|r| {
                    let before = told.fetch_add(ingest::evtx::CHUNK_SIZE, Ordering::Relaxed);
                    let n = ingest::evtx::CHUNK_SIZE.min(size_known.saturating_sub(before));
                    progress.read(n);
                    normalize_batch(&r)
                })
                .map(|(parts, s, (size, sha))| {
                    (input.size, input.sha256) = (size, sha);
                    (Part::join(parts), s)
                })
            } else {
                hash_file(&input.path).and_then(|(size, sha)| {
                    (input.size, input.sha256) = (size, sha);
                    match ingest::json_flavor(input.format) {
                        // Normalized a batch at a time: a large file's records are never all
                        // held at once.
                        Some(flavor) => ingest::jsonl::read_path_batches(
                            &input.path,
                            &input.display,
                            flavor,
                            &mut |r| normalize_batch(&r),
                        )
                        .map(|(parts, s)| (Part::join(parts), s)),
                        None => ingest::read(&input.path, &input.display, input.format)
                            .map(|(r, s)| (normalize_batch(&r), s)),
                    }
                })
            };
            let (part, stats) = match result {
                Ok(x) => x,
                Err(e) => (
                    Part::default(),
                    ReadStats {
                        damage: vec![Damage {
                            chunk: None,
                            offset: None,
                            line: None,
                            records_lost: None,
                            reason: format!("cannot read: {e}"),
                        }],
                        ..ReadStats::default()
                    },
                ),
            };
            let kept = part
                .kept
                .iter()
                .map(|((ch, id), n)| (format!("{ch}:{id}"), *n))
                .collect();
            let told = told.load(Ordering::Relaxed).min(size_known);
            progress.read(size_known.saturating_sub(told));
            progress.file_done();
            (InputReport { input, stats, kept }, part)
        })
        .collect();
    let mut reports = Vec::with_capacity(read.len());
    let mut batches = Vec::new();
    // The host's own addresses are learned across all its files (a Sysmon log's outbound
    // connections can decide a Security log's inbound ones): the store decides again, as it
    // decodes each event, what one file alone could not.
    let mut addrs = HostAddresses::default();
    for (report, part) in read {
        reports.push(report);
        batches.extend(part.batches);
        addrs.merge(part.addrs);
    }
    let mut events = EventStore::build(batches, addrs, &spill);
    for r in &reports {
        events.set_clock_resolution(&r.input.display, r.stats.clock_resolution_ticks as i64);
    }
    events.set_file_keys(file_keys(&reports));
    let integrity = check_integrity(&mut events, &mut reports);
    Loaded {
        inputs: reports,
        skipped,
        resource_forks: 0,
        events,
        spilled: spill.written(),
        spill_failure: spill.failure().map(str::to_string),
        integrity,
    }
}

/// Take duplicate copies out of the store and gather what the run knows of its events'
/// integrity. A record copied within one file (a duplicated chunk) and every conflicting copy
/// are damage of their file: the run is then incomplete. Copies in different files (a live log
/// and its shadow copy) are not: they are listed, and analysed once.
fn check_integrity(events: &mut EventStore, reports: &mut [InputReport]) -> Integrity {
    let mut integrity = Integrity::default();
    for r in reports.iter() {
        for &c in &r.stats.unverified_chunks {
            integrity.add_chunk(&r.input.display, c);
        }
    }
    let dedup = events.remove_duplicates();
    integrity.add_duplicates(&dedup.removed);
    for p in &dedup.kept_duplicates {
        integrity.flag(p, Flags::DUPLICATE);
    }
    let index: HashMap<Text, usize> = reports
        .iter()
        .enumerate()
        .map(|(k, r)| (r.input.display.clone(), k))
        .collect();
    // Copies within one EVTX file are reported by the reader, from the chunks' record ids
    // (`ingest::evtx_check::record_gaps`), whatever their event ids; within an export, here.
    for d in &integrity.duplicates {
        if d.kept_file != d.file || d.chunk.is_some() {
            continue;
        }
        let Some(&k) = index.get(&d.file) else {
            continue;
        };
        let place = |c: Option<u64>| c.map_or(String::new(), |c| format!(" in chunk {c}"));
        reports[k].stats.damage.push(Damage {
            chunk: d.chunk,
            offset: Some(d.first_position).filter(|_| d.chunk.is_some()),
            line: Some(d.first_position).filter(|_| d.chunk.is_none()),
            records_lost: Some(0),
            reason: format!(
                "{} record(s){} (record ids {}..={}) are copies of the same records{}: \
                 analysed once, flagged duplicate",
                d.records,
                place(d.chunk),
                d.first_record_id,
                d.last_record_id,
                place(d.kept_chunk),
            ),
        });
    }
    for copies in &dedup.conflicts {
        for (n, e) in copies.iter().enumerate() {
            integrity.flag(&e.prov, Flags::CONFLICT);
            let others: Vec<String> = copies
                .iter()
                .enumerate()
                .filter(|&(m, _)| m != n)
                .map(|(_, o)| at_text(&o.prov))
                .collect();
            if let Some(&k) = index.get(&e.prov.file) {
                reports[k].stats.damage.push(Damage {
                    chunk: e.prov.chunk,
                    offset: e.prov.offset,
                    line: e.prov.line,
                    records_lost: Some(0),
                    reason: format!(
                        "record {} ({}, {}) conflicts with a copy of different content at {}: \
                         every copy kept, flagged conflict",
                        e.record_id,
                        e.channel,
                        e.host,
                        others.join(", ")
                    ),
                });
            }
        }
        integrity.conflicts.push(Conflict {
            host: copies[0].host.clone(),
            channel: copies[0].channel.clone(),
            record_id: copies[0].record_id,
            copies: copies.iter().map(|e| e.prov.clone()).collect(),
        });
    }
    integrity
}

/// Where a record is, as text: `FILE offset 0x…` or `FILE line N`.
fn at_text(p: &crate::record::Provenance) -> String {
    match (p.offset, p.line) {
        (Some(o), _) => format!("{} offset {o:#x}", p.file),
        (None, Some(l)) => format!("{} line {l}", p.file),
        _ => p.file.to_string(),
    }
}

/// Each input's identity by content: its SHA-256, and for the second and later of several files
/// of the same content (in path order) `SHA-256#k` — so that what is derived from it (finding
/// ids) is the same however the paths were spelled (relative, absolute, through a link).
fn file_keys(reports: &[InputReport]) -> HashMap<Text, Text> {
    let mut order: Vec<&InputReport> = reports.iter().collect();
    order.sort_by(|a, b| a.input.display.cmp(&b.input.display));
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut keys = HashMap::new();
    for r in order {
        if r.input.sha256.is_empty() {
            continue;
        }
        let k = seen.entry(r.input.sha256.as_str()).or_insert(0);
        let key = match *k {
            0 => r.input.sha256.clone(),
            n => format!("{}#{n}", r.input.sha256),
        };
        *k += 1;
        keys.insert(r.input.display.clone(), Text::from(key.as_str()));
    }
    keys
}

/// One batch's or one file's normalized events, encoded, with what they tell beside.
#[derive(Default)]
struct Part {
    batches: Vec<Batch>,
    /// Host addresses the events show.
    addrs: HostAddresses,
    /// Events kept per (channel, event id).
    kept: HashMap<(Text, u32), u64>,
}

impl Part {
    fn join(parts: Vec<Part>) -> Part {
        let mut all = Part::default();
        for p in parts {
            all.batches.extend(p.batches);
            all.addrs.merge(p.addrs);
            for (k, n) in p.kept {
                *all.kept.entry(k).or_insert(0) += n;
            }
        }
        all
    }
}

/// Normalize one batch (a chunk's or a text file's records) without deciding inbound sides
/// with host addresses: the store decides every one again with the addresses of all inputs.
fn normalize_batch(records: &[crate::record::RawRecord], spill: &Spill) -> Part {
    let events = normalize_with(records, &HostAddresses::default());
    let mut kept = HashMap::new();
    for e in &events {
        *kept.entry((e.channel.clone(), e.event_id)).or_insert(0) += 1;
    }
    Part {
        batches: Batch::encode(&events)
            .into_iter()
            .map(|b| spill.place(b))
            .collect(),
        addrs: HostAddresses::learn_events(&events),
        kept,
    }
}

/// Sort into the total order every stage uses.
pub fn sort_events(events: &mut [Event]) {
    events.par_sort_unstable_by(|a, b| a.order_key().cmp(&b.order_key()));
}
