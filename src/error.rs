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
