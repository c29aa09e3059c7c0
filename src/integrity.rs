//! What the run can say about each event's integrity: read from a chunk whose CRC32 failed,
//! found more than once (a duplicate, analysed once), or found with a different content under
//! the same (host, channel, EventRecordID) (a conflict: every copy kept).
//!
//! The reports' `integrity` column is [`Integrity::of`] an event: `ok`, or the `;`-joined
//! names of its flags (`chunk-crc-mismatch`, `duplicate`, `conflict`). Only flagged chunks and
//! records are held: nothing per event.

use crate::event::{Event, Text};
use crate::record::Provenance;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// An event's integrity flags (a bit set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    /// Read from an EVTX chunk whose header or records CRC32 failed: the values may have been
    /// altered after they were written.
    pub const CHUNK_CRC: Flags = Flags(1);
    /// The same record (same host, channel, record id and content) was found elsewhere too;
    /// this copy is the one analysed (the first in the total order), the others are listed in
    /// the manifest's `duplicates`.
    pub const DUPLICATE: Flags = Flags(2);
    /// Another record with the same host, channel and record id has a different content: both
    /// are kept and listed in the manifest's `conflicts`.
    pub const CONFLICT: Flags = Flags(4);

    pub fn contains(self, f: Flags) -> bool {
        self.0 & f.0 == f.0
    }

    pub fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// The column's value: `ok`, or the flags' names joined with `;`.
    pub fn as_str(self) -> &'static str {
        const NAMES: [&str; 8] = [
            "ok",
            "chunk-crc-mismatch",
            "duplicate",
            "chunk-crc-mismatch;duplicate",
            "conflict",
            "chunk-crc-mismatch;conflict",
            "duplicate;conflict",
            "chunk-crc-mismatch;duplicate;conflict",
        ];
        NAMES[(self.0 & 7) as usize]
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, o: Flags) -> Flags {
        Flags(self.0 | o.0)
    }
}

impl std::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, o: Flags) {
        self.0 |= o.0;
    }
}

/// Copies of one record found in two places (files, or chunks of one file): how many, and their
/// record ids. Each pair of places is listed once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateSet {
    /// Where the copies analysed are.
    pub kept_file: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_chunk: Option<u64>,
    /// Where the copies left out of the analysis are (identical content).
    pub file: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
    pub records: u64,
    /// Byte offset (EVTX) or line (exports) of the first copy left out.
    pub first_position: u64,
    pub first_record_id: u64,
    pub last_record_id: u64,
}

/// Records of one (host, channel, record id) whose contents differ: every copy is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub host: Text,
    pub channel: Text,
    pub record_id: u64,
    /// Every copy, in the total order (one per distinct content).
    pub copies: Vec<Provenance>,
}

/// The run's integrity findings, looked up per event by the reports.
#[derive(Debug, Default)]
pub struct Integrity {
    /// (file, chunk) of every chunk read whose CRC32 failed.
    chunks: HashSet<(Text, u64)>,
    /// (file, position) of every duplicate kept or conflicting copy, with its flags.
    records: HashMap<(Text, u64), Flags>,
    /// Copies left out of the analysis, per pair of places, sorted.
    pub duplicates: Vec<DuplicateSet>,
    /// Conflicting records, in the total order of their first copy.
    pub conflicts: Vec<Conflict>,
    /// Copies left out of the analysis in all.
    pub duplicates_removed: u64,
}

impl Integrity {
    /// Mark every event of chunk `chunk` of `file` as read from a chunk failing its CRC32.
    pub fn add_chunk(&mut self, file: &Text, chunk: u64) {
        self.chunks.insert((file.clone(), chunk));
    }

    /// Flag one record, named by its provenance.
    pub fn flag(&mut self, prov: &Provenance, f: Flags) {
        *self
            .records
            .entry((prov.file.clone(), prov.position()))
            .or_default() |= f;
    }

    /// Chunks read whose CRC32 failed, over all inputs.
    pub fn unverified_chunks(&self) -> usize {
        self.chunks.len()
    }

    /// The flags of an event (of this run's store).
    pub fn of(&self, e: &Event) -> Flags {
        let mut f = Flags::default();
        if self.chunks.is_empty() && self.records.is_empty() {
            return f;
        }
        if let Some(c) = e.prov.chunk
            && self.chunks.contains(&(e.prov.file.clone(), c))
        {
            f |= Flags::CHUNK_CRC;
        }
        if let Some(&g) = self.records.get(&(e.prov.file.clone(), e.prov.position())) {
            f |= g;
        }
        f
    }

    /// Record the copies left out of the analysis: `(kept, removed)` provenances, each pair in
    /// the total order. Pairs of the same places are counted together.
    pub fn add_duplicates(&mut self, pairs: &[(Provenance, Provenance, u64)]) {
        type Key = (Text, Option<u64>, Text, Option<u64>);
        let mut sets: BTreeMap<Key, (u64, u64, u64, u64)> = self
            .duplicates
            .drain(..)
            .map(|d| {
                (
                    (d.kept_file, d.kept_chunk, d.file, d.chunk),
                    (
                        d.records,
                        d.first_position,
                        d.first_record_id,
                        d.last_record_id,
                    ),
                )
            })
            .collect();
        for (kept, removed, record_id) in pairs {
            self.duplicates_removed += 1;
            let key = (
                kept.file.clone(),
                kept.chunk,
                removed.file.clone(),
                removed.chunk,
            );
            let at = removed.position();
            let e = sets.entry(key).or_insert((0, at, *record_id, *record_id));
            e.0 += 1;
            e.1 = e.1.min(at);
            e.2 = e.2.min(*record_id);
            e.3 = e.3.max(*record_id);
        }
        self.duplicates = sets
            .into_iter()
            .map(
                |((kept_file, kept_chunk, file, chunk), (records, at, first, last))| DuplicateSet {
                    kept_file,
                    kept_chunk,
                    file,
                    chunk,
                    records,
                    first_position: at,
                    first_record_id: first,
                    last_record_id: last,
                },
            )
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn prov(file: &str, chunk: u64, offset: u64) -> Provenance {
        Provenance {
            file: Arc::from(file),
            chunk: Some(chunk),
            offset: Some(offset),
            line: None,
        }
    }

    #[test]
    fn flags_name_themselves() {
        assert_eq!(Flags::default().as_str(), "ok");
        assert_eq!(Flags::CHUNK_CRC.as_str(), "chunk-crc-mismatch");
        assert_eq!(
            (Flags::DUPLICATE | Flags::CONFLICT).as_str(),
            "duplicate;conflict"
        );
        assert!((Flags::CHUNK_CRC | Flags::CONFLICT).contains(Flags::CONFLICT));
    }

    #[test]
    fn duplicates_are_counted_per_pair_of_places() {
        let mut i = Integrity::default();
        i.add_duplicates(&[
            (prov("a", 0, 600), prov("a", 2, 131_672), 7),
            (prov("a", 0, 700), prov("a", 2, 131_772), 5),
            (prov("a", 1, 70000), prov("b", 1, 70000), 9),
        ]);
        assert_eq!(i.duplicates_removed, 3);
        assert_eq!(i.duplicates.len(), 2);
        let d = &i.duplicates[0];
        assert_eq!(
            (&*d.kept_file, d.kept_chunk, &*d.file, d.chunk),
            ("a", Some(0), "a", Some(2))
        );
        assert_eq!((d.records, d.first_record_id, d.last_record_id), (2, 5, 7));
        assert_eq!(d.first_position, 131_672);
    }
}
