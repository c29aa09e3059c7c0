//! Library error types. Every error names the file, and where known the chunk and record.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{pattern}: invalid glob pattern: {reason}")]
    BadGlob { pattern: String, reason: String },
    #[error("{pattern}: the pattern matches no file")]
    GlobNoMatch { pattern: String },
    #[error("no event logs found in {paths}{detail}")]
    NoEventLogs { paths: String, detail: String },
    #[error("{path}: {reason}")]
    BadInput { path: PathBuf, reason: String },
}

pub type Result<T> = std::result::Result<T, Error>;

/// An error and its sources joined by `: `, leaving out a source whose text the message so far
/// already holds (the evtx crate's top-level messages alone are vague; our own errors name
/// their cause in their message and expose it as the source too).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let m = src.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = src.source();
    }
    s
}
