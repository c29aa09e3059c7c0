//! Runs the first stages in order: discover → ingest (parallel over files and chunks) →
//! normalize → sort. Nothing downstream re-reads a file.

use crate::discover::{Discovery, Input, Skipped, discover};
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
    let Discovery { inputs, skipped } = discover(paths)?;
    Ok(load_inputs(inputs, skipped))
}

/// Read and normalize already discovered inputs.
pub fn load_inputs(inputs: Vec<Input>, skipped: Vec<Skipped>) -> Loaded {
    let read: Vec<(Input, Vec<RawRecord>, ReadStats)> = inputs
        .into_par_iter()
        .map(|input| {
            let (records, stats) = match ingest::read(&input.path, &input.display, input.format) {
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
            *kept.entry(format!("{}:{}", r.channel, r.event_id)).or_insert(0) += 1;
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
