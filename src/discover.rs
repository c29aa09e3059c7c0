//! The discover stage: turn the PATH arguments (files, directories, globs) into a sorted,
//! de-duplicated list of inputs, each recognized by content and hashed (SHA-256, streamed).

use crate::error::{Error, Result};
use crate::ingest::{Format, sniff_path};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One input file.
#[derive(Debug, Clone, Serialize)]
pub struct Input {
    /// The path as the run names it everywhere (given, or found under a given directory).
    pub display: Arc<str>,
    #[serde(skip)]
    pub path: PathBuf,
    pub format: Format,
    pub size: u64,
    pub sha256: String,
}

/// A file that was found but is not read, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub inputs: Vec<Input>,
    pub skipped: Vec<Skipped>,
    /// macOS resource forks (AppleDouble `._*` files, as archives unpacked on a Mac hold under
    /// `__MACOSX/`): counted, not listed and not read.
    pub resource_forks: u64,
}

/// What examining one file found.
enum Found {
    Input(Input),
    Skipped(Skipped),
    ResourceFork,
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expand the arguments. A missing path, a bad glob, or a glob matching nothing is an error
/// naming it; a directory without any event log is an error too. Files that are not event logs
/// are listed as skipped.
pub fn discover(args: &[PathBuf]) -> Result<Discovery> {
    discover_with(args, true)
}

/// [`discover`] without hashing: each input's `sha256` is left empty and `size` is the file
/// system's. [`crate::pipeline::load_inputs`] fills both from the bytes it parses, so a file is
/// read from disk once, and the hash is that of exactly what was analyzed.
pub fn discover_unhashed(args: &[PathBuf]) -> Result<Discovery> {
    discover_with(args, false)
}

fn discover_with(args: &[PathBuf], hash: bool) -> Result<Discovery> {
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for arg in args {
        let s = arg.to_string_lossy();
        if !arg.exists() && has_glob_chars(&s) {
            let paths = glob::glob(&s).map_err(|e| Error::BadGlob {
                pattern: s.to_string(),
                reason: e.to_string(),
            })?;
            let mut any = false;
            for p in paths.flatten() {
                any = true;
                collect(&p, &mut files)?;
            }
            if !any {
                return Err(Error::GlobNoMatch {
                    pattern: s.to_string(),
                });
            }
        } else {
            collect(arg, &mut files)?;
        }
    }
    let results: Vec<Found> = files
        .into_par_iter()
        .map(|(display, path)| {
            if is_resource_fork(&path) {
                return Found::ResourceFork;
            }
            match examine(display, path, hash) {
                Ok(i) => Found::Input(i),
                Err(s) => Found::Skipped(s),
            }
        })
        .collect();
    let mut d = Discovery::default();
    for r in results {
        match r {
            Found::Input(i) => d.inputs.push(i),
            Found::Skipped(s) => d.skipped.push(s),
            Found::ResourceFork => d.resource_forks += 1,
        }
    }
    // The same file named twice (e.g. `dir` and `dir/x.evtx`) is read once: keep the first
    // display name of each distinct canonical path.
    let mut seen = std::collections::HashSet::new();
    d.inputs.retain(|i| {
        let key = std::fs::canonicalize(&i.path).unwrap_or_else(|_| i.path.clone());
        seen.insert(key)
    });
    if d.inputs.is_empty() {
        let mut detail = String::new();
        if d.resource_forks > 0 {
            detail = format!(
                " ({} macOS resource fork file(s) not read)",
                d.resource_forks
            );
        }
        if !d.skipped.is_empty() {
            let shown: Vec<String> = d
                .skipped
                .iter()
                .take(3)
                .map(|s| format!("{}: {}", s.path, s.reason))
                .collect();
            let more = d.skipped.len().saturating_sub(3);
            detail = format!(
                " (skipped {}{})",
                shown.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            );
        }
        return Err(Error::NoEventLogs {
            paths: args
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            detail,
        });
    }
    Ok(d)
}

fn collect(p: &Path, files: &mut BTreeMap<String, PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(p).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound {
                path: p.to_path_buf(),
            }
        } else {
            Error::Io {
                path: p.to_path_buf(),
                source: e,
            }
        }
    })?;
    if meta.is_dir() {
        walk(p, files)
    } else {
        files.insert(p.to_string_lossy().into_owned(), p.to_path_buf());
        Ok(())
    }
}

fn walk(dir: &Path, files: &mut BTreeMap<String, PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        // Symlinked directories are not followed (no cycles, nothing outside the evidence).
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            walk(&p, files)?;
        } else if meta.is_file() || meta.file_type().is_symlink() {
            files.insert(p.to_string_lossy().into_owned(), p);
        }
    }
    Ok(())
}

/// The AppleDouble signature that starts a macOS resource fork file.
const APPLE_DOUBLE_MAGIC: [u8; 4] = [0x00, 0x05, 0x16, 0x07];

/// A macOS resource fork: a file named `._*` inside a `__MACOSX` folder, or anywhere when it
/// starts with the AppleDouble signature (`tar` and network shares put them beside the files).
pub fn is_resource_fork(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    if !name.starts_with("._") {
        return false;
    }
    if path.components().any(|c| c.as_os_str() == "__MACOSX") {
        return true;
    }
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == APPLE_DOUBLE_MAGIC)
}

fn examine(display: String, path: PathBuf, hash: bool) -> std::result::Result<Input, Skipped> {
    let skip = |reason: String| Skipped {
        path: display.clone(),
        reason,
    };
    // Only regular files are opened: a FIFO would block the run, a device could be endless.
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(skip(
                "not a regular file (FIFO, socket or device): not opened".into(),
            ));
        }
        Err(e) => return Err(skip(format!("cannot read: {e}"))),
    }
    let format = match sniff_path(&path) {
        Ok(Some(f)) => f,
        Ok(None) => {
            return Err(skip(
                "not an event log (no EVTX signature, XML or JSON event export)".into(),
            ));
        }
        Err(e) => return Err(skip(format!("cannot read: {e}"))),
    };
    let (size, sha256) = if hash {
        hash_file(&path)
    } else {
        std::fs::metadata(&path).map(|m| (m.len(), String::new()))
    }
    .map_err(|e| skip(format!("cannot read: {e}")))?;
    Ok(Input {
        display: Arc::from(display.as_str()),
        path,
        format,
        size,
        sha256,
    })
}

/// Size and SHA-256 (lower-case hex) of a file, streamed.
pub fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    // One buffer per thread, reused: a fresh 1 MiB buffer per file (mmap'd, zeroed, faulted in)
    // cost more than hashing the corpus' many small files.
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut size = 0u64;
    BUF.with_borrow_mut(|buf| {
        if buf.is_empty() {
            buf.resize(256 << 10, 0);
        }
        loop {
            let n = f.read(buf)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            h.update(&buf[..n]);
        }
        Ok::<_, std::io::Error>(())
    })?;
    Ok((size, hex::encode(h.finalize())))
}
