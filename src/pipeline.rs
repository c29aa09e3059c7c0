//! Runs the first stages in order: discover → ingest (parallel over files and chunks) →
//! normalize → sort. Nothing downstream re-reads a file.

use crate::discover::{Discovery, Input, Skipped, discover_unhashed, hash_file};
use crate::error::Result;
use crate::event::Event;
use crate::ingest;
use crate::normalize::{is_kept, normalize};
use crate::record::{Damage, RawRecord, ReadStats};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// All kept events, in the total order (time, file, record id, position).
    pub events: Vec<Event>,
}

impl Loaded {
    /// Some input was not read completely.
    pub fn incomplete(&self) -> bool {
        self.inputs.iter().any(|i| i.stats.incomplete())
    }
}

/// Discover, read and normalize the given paths.
pub fn load(paths: &[PathBuf]) -> Result<Loaded> {
    // Hashed while parsing (see `load_inputs`): each file is read from disk once.
    let Discovery { inputs, skipped } = discover_unhashed(paths)?;
    Ok(load_inputs(inputs, skipped))
}

/// Read and normalize already discovered inputs. An input whose `sha256` is empty (see
/// [`crate::discover::discover_unhashed`]) gets its size and hash here, from the bytes parsed.
pub fn load_inputs(inputs: Vec<Input>, skipped: Vec<Skipped>) -> Loaded {
    let read: Vec<(Input, Vec<RawRecord>, ReadStats)> = inputs
        .into_par_iter()
        .map(|mut input| {
            let result = if !input.sha256.is_empty() {
                ingest::read(&input.path, &input.display, input.format)
            } else if input.format == ingest::Format::Evtx {
                ingest::evtx::read_hashed(&input.path, &input.display).map(|(r, s, (size, sha))| {
                    (input.size, input.sha256) = (size, sha);
                    (r, s)
                })
            } else {
                hash_file(&input.path).and_then(|(size, sha)| {
                    (input.size, input.sha256) = (size, sha);
                    ingest::read(&input.path, &input.display, input.format)
                })
            };
            let (records, stats) = match result {
                Ok(x) => x,
                Err(e) => (
                    Vec::new(),
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
            (input, records, stats)
        })
        .collect();
    let mut all = Vec::new();
    let mut reports = Vec::with_capacity(read.len());
    for (input, records, stats) in read {
        let mut kept = BTreeMap::new();
        for r in records.iter().filter(|r| is_kept(r)) {
            *kept
                .entry(format!("{}:{}", r.channel, r.event_id))
                .or_insert(0) += 1;
        }
        all.extend(records);
        reports.push(InputReport { input, stats, kept });
    }
    let mut events = normalize(&all);
    drop(all);
    sort_events(&mut events);
    Loaded {
        inputs: reports,
        skipped,
        events,
    }
}

/// Sort into the total order every stage uses.
pub fn sort_events(events: &mut [Event]) {
    events.par_sort_unstable_by(|a, b| a.order_key().cmp(&b.order_key()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::discover;

    /// `load` hashes while parsing; the sizes and hashes equal `discover`'s streamed ones.
    #[test]
    fn hashes_while_parsing_equal_discover_hashes() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let hashed = discover(std::slice::from_ref(&dir)).unwrap();
        let loaded = load(&[dir]).unwrap();
        assert!(!loaded.inputs.is_empty());
        assert_eq!(loaded.inputs.len(), hashed.inputs.len());
        for (a, b) in loaded.inputs.iter().zip(&hashed.inputs) {
            assert_eq!(a.input.display, b.display);
            assert_eq!(
                (a.input.size, &a.input.sha256),
                (b.size, &b.sha256),
                "{}",
                b.display
            );
            assert_eq!(b.sha256.len(), 64);
        }
    }
}
