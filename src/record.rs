//! The parse stage's output: one raw event record with its provenance, in a shape every input
//! format (EVTX, XML exports, JSON lines) produces the same way. Normalization reads only this.

use crate::time::Ts;
use serde::Serialize;
use std::sync::Arc;

/// Where a record came from: enough to find it again in the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Provenance {
    /// The input file as the run names it (the path given or found while walking a directory).
    pub file: Arc<str>,
    /// EVTX chunk number (0-based) within the file; `None` for text formats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
    /// Byte offset of the record in the file (EVTX) ; `None` for text formats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// 1-based line number (JSON lines) or line of the `<Event>` start tag (XML); `None` for EVTX.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

impl Provenance {
    /// A tiebreaker within one file: EVTX byte offset or text line.
    pub fn position(&self) -> u64 {
        self.offset.or(self.line).unwrap_or(0)
    }
}

/// One event record as read, before normalization.
///
/// `data` holds the `EventData` (or `UserData`) fields in document order, every value rendered as
/// text the way Event Viewer's XML shows it (numbers in decimal, `HexInt` values as `0x…`, GUIDs
/// in braces, SIDs as `S-1-…`). Unnamed `<Data>` elements get the names `Data1`, `Data2`, ….
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawRecord {
    pub channel: String,
    pub provider: String,
    pub event_id: u32,
    /// `System/EventRecordID` (what Event Viewer shows), when the format carries one.
    pub record_id: Option<u64>,
    /// `System/TimeCreated/@SystemTime`, the clock the tool orders by.
    pub time: Option<Ts>,
    /// `System/Computer`.
    pub computer: String,
    pub data: Vec<(Arc<str>, String)>,
    pub prov: Provenance,
}

impl RawRecord {
    /// The value of an EventData field, by exact name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Event ids the tool keeps, whatever the channel; a cheap first filter applied before a
/// record is rendered. The exact (channel, id) decision is made by [`crate::normalize`].
pub const WANTED_EVENT_IDS: &[u32] = &[1, 3, 4, 5, 12, 4608, 4688, 4689, 5156, 6005];

pub fn wanted_event_id(id: u32) -> bool {
    WANTED_EVENT_IDS.contains(&id)
}

/// Something in one input that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// Chunk number for EVTX, if the damage is inside a chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
    /// Byte offset in the file (EVTX) of the chunk or record; or line number (text formats).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Records lost to this damage, when known (a whole chunk's header says how many it held).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_lost: Option<u64>,
    pub reason: String,
}

/// What reading one input produced, besides its records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReadStats {
    /// Every record read, wanted or not.
    pub records_read: u64,
    /// Records kept by the parse stage's filter (before normalization).
    pub records_wanted: u64,
    /// Damage found, in file order.
    pub damage: Vec<Damage>,
    /// The file ends before what its header announces (or holds only a header).
    pub truncated: bool,
    /// The EVTX header's dirty flag was set (the log was not closed cleanly).
    pub dirty: bool,
    /// Free-form observations for the summary (e.g. "header names 3 chunks, file holds 1").
    pub notes: Vec<String>,
    /// EVTX chunks read whose header or records failed their CRC32, in file order: their
    /// records may have been altered (each of their events is marked, see
    /// [`crate::integrity`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unverified_chunks: Vec<u64>,
    /// The EVTX file header failed its CRC32.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub header_unverified: bool,
    /// Resolution of the clock the records' times come from, in 100 ns ticks; 0 (or 1) for
    /// `System/TimeCreated` itself (100 ns), `10_000_000` for NXLog's whole-second `EventTime`.
    #[serde(skip_serializing_if = "is_precise")]
    pub clock_resolution_ticks: u64,
}

fn is_precise(t: &u64) -> bool {
    *t <= 1
}

impl ReadStats {
    /// The input was not read completely.
    pub fn incomplete(&self) -> bool {
        self.truncated || !self.damage.is_empty()
    }
}
