//! EVTX writer and scenario fixtures (see docs/testing.md).
//!
//! [`file::EvtxWriter`] writes valid EVTX the way Windows does: a file header and 64 KiB
//! chunks with their CRC32s, string and template tables, and each record a template instance
//! (a System template per host, an EventData template per event layout, nested as its last
//! substitution). [`scenario`] turns the TOML scenarios of `testdata/scenarios/` into fixture
//! files, and [`nxlog`] renders those with an `[nxlog]` table as NXLog JSON lines too; [`scale`]
//! writes large synthetic corpora with planted attacks; [`shipper`] renders records as
//! Winlogbeat and Elastic Agent JSON.

pub mod binxml;
pub mod chunk;
pub mod file;
pub mod nxlog;
pub mod scale;
pub mod scenario;
pub mod schema;
pub mod shipper;

pub use file::{EventRecord, EvtxWriter, write_to_vec};
pub use schema::{Log, SysmonGen};

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WriterError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("a value of {size} bytes is larger than a substitution can hold (65535)")]
    ValueTooLarge { size: usize },
    #[error("record {record_id} does not fit in an empty 64 KiB chunk")]
    RecordTooLarge { record_id: u64 },
    #[error("event {event_id}: {found} values for {expected} fields")]
    FieldCount {
        event_id: u16,
        expected: usize,
        found: usize,
    },
    #[error("{0} chunks: more than a file header can count")]
    TooManyChunks(u64),
    #[error("{file}: {message}")]
    Scenario { file: String, message: String },
}
