//! The discover stage: turn the PATH arguments (files, directories, globs) into a sorted,
//! de-duplicated list of inputs, each recognized by content and hashed (SHA-256, streamed).

use crate::display;
use crate::error::{Error, Result};
use crate::ingest::{Format, sniff_path};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One input file.
#[derive(Debug, Clone, Serialize)]
pub struct Input {
    /// The path as the run names it everywhere (given, or found under a given directory),
    /// escaped as [`crate::display::path_text`] writes it: two different paths never show alike.
    pub display: Arc<str>,
    #[serde(skip)]
    pub path: PathBuf,
    /// The path's bytes in hex, when `display` does not show them as plain text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    /// The file or a directory it was found in has a name starting with `.`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    pub format: Format,
    pub size: u64,
    pub sha256: String,
}

/// Why a path that was found is not read.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// A readable file that is no event log (no EVTX signature, XML or JSON event export).
    NotEventLog,
    /// A FIFO, socket, device, or a symbolic link to a directory: never opened.
    NotRegularFile,
    /// A symbolic link whose target does not exist.
    BrokenLink,
    /// Named like an event log (`.evtx`) but not readable as one. Makes the run incomplete.
    UnrecognizedEventLog,
    /// A file that could not be opened or read (permissions, I/O error). Makes the run
    /// incomplete.
    UnreadableFile,
    /// A directory that could not be listed (permissions, I/O error): nothing under it was
    /// read. Makes the run incomplete.
    UnreadableDirectory,
}

impl SkipKind {
    /// Evidence may be in it and was not read: the run is incomplete.
    pub fn unread(self) -> bool {
        matches!(
            self,
            SkipKind::UnrecognizedEventLog
                | SkipKind::UnreadableFile
                | SkipKind::UnreadableDirectory
        )
    }
}

/// A path that was found but is not read, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skipped {
    /// As [`Input::display`].
    pub path: String,
    /// As [`Input::path_hex`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    pub kind: SkipKind,
    /// Evidence may be in it and was not read (the run is incomplete); see [`SkipKind::unread`].
    pub unread: bool,
    pub reason: String,
}

impl Skipped {
    fn new(path: &Path, kind: SkipKind, reason: String) -> Skipped {
        Skipped {
            path: display::path_text(path),
            path_hex: display::path_hex(path),
            kind,
            unread: kind.unread(),
            reason,
        }
    }
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub inputs: Vec<Input>,
    /// In path order.
    pub skipped: Vec<Skipped>,
    /// macOS resource forks (AppleDouble `._*` files, as archives unpacked on a Mac hold under
    /// `__MACOSX/`): counted, not listed and not read.
    pub resource_forks: u64,
}

/// What examining one file found.
enum Examined {
    Input(Input),
    Skipped(Skipped),
    ResourceFork,
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expand the arguments. A missing path, a bad glob, or a glob matching nothing is an error
/// naming it; so is finding no event log at all. Everything else that is found and not read
/// is listed as skipped, with its kind: a file that is no event log, a FIFO or device, and —
/// making the run incomplete — a file or directory that could not be read.
pub fn discover(args: &[PathBuf]) -> Result<Discovery> {
    discover_with(args, true)
}

/// [`discover`] without hashing: each input's `sha256` is left empty and `size` is the file
/// system's. [`crate::pipeline::load_inputs`] fills both from the bytes it parses, so a file is
/// read from disk once, and the hash is that of exactly what was analyzed.
pub fn discover_unhashed(args: &[PathBuf]) -> Result<Discovery> {
    discover_with(args, false)
}

/// What walking the arguments found: files by (shown path, path), in that order — the path
/// itself decides between two that show alike, so no two files ever become one — and what
/// could not be walked.
#[derive(Default)]
struct Found {
    files: BTreeSet<(String, PathBuf)>,
    skipped: Vec<Skipped>,
}

fn discover_with(args: &[PathBuf], hash: bool) -> Result<Discovery> {
    let mut found = Found::default();
    for arg in args {
        match arg.to_str() {
            Some(s) if !arg.exists() && has_glob_chars(s) => {
                let paths = glob::glob(s).map_err(|e| Error::BadGlob {
                    pattern: s.to_string(),
                    reason: e.to_string(),
                })?;
                let mut any = false;
                for p in paths {
                    any = true;
                    match p {
                        Ok(p) => collect(&p, &mut found)?,
                        Err(e) => found.skipped.push(Skipped::new(
                            e.path(),
                            SkipKind::UnreadableDirectory,
                            format!("cannot read: {}", e.error()),
                        )),
                    }
                }
                if !any {
                    return Err(Error::GlobNoMatch {
                        pattern: s.to_string(),
                    });
                }
            }
            _ => collect(arg, &mut found)?,
        }
    }
    let results: Vec<Examined> = found
        .files
        .into_par_iter()
        .map(|(display, path)| {
            if is_resource_fork(&path) {
                return Examined::ResourceFork;
            }
            match examine(display, path, hash) {
                Ok(i) => Examined::Input(i),
                Err(s) => Examined::Skipped(s),
            }
        })
        .collect();
    let mut d = Discovery {
        skipped: found.skipped,
        ..Discovery::default()
    };
    for r in results {
        match r {
            Examined::Input(i) => d.inputs.push(i),
            Examined::Skipped(s) => d.skipped.push(s),
            Examined::ResourceFork => d.resource_forks += 1,
        }
    }
    d.skipped
        .sort_by(|a, b| (&a.path, &a.path_hex).cmp(&(&b.path, &b.path_hex)));
    d.skipped.dedup();
    // The same file named twice (e.g. `dir` and `dir/x.evtx`) is read once: keep the first
    // display name of each distinct canonical path (compared as the bytes the OS gives).
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
                .map(|p| display::path_text(p))
                .collect::<Vec<_>>()
                .join(", "),
            detail,
        });
    }
    Ok(d)
}

/// One argument: a missing path is an error; one that cannot be looked at is listed as
/// unreadable and the rest is read.
fn collect(p: &Path, found: &mut Found) -> Result<()> {
    match std::fs::metadata(p) {
        Ok(meta) if meta.is_dir() => walk(p, found),
        Ok(_) => {
            found.files.insert((display::path_text(p), p.to_path_buf()));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && p.symlink_metadata().is_err() => {
            return Err(Error::NotFound {
                path: p.to_path_buf(),
            });
        }
        // A broken symbolic link, or no permission to look: `examine` says which.
        Err(_) => {
            found.files.insert((display::path_text(p), p.to_path_buf()));
        }
    }
    Ok(())
}

fn walk(dir: &Path, found: &mut Found) {
    let unreadable = |found: &mut Found, e: std::io::Error| {
        found.skipped.push(Skipped::new(
            dir,
            SkipKind::UnreadableDirectory,
            format!("cannot read directory: {e}"),
        ));
    };
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => return unreadable(found, e),
    };
    // The kind of each entry as the listing gives it (no lookup by path, which can fail where
    // the listing did not: a path longer than the system allows).
    let mut entries: Vec<(PathBuf, std::io::Result<std::fs::FileType>)> = Vec::new();
    for e in rd {
        match e {
            Ok(e) => entries.push((e.path(), e.file_type())),
            // The listing broke off: what was listed is read, the directory is incomplete.
            Err(e) => {
                unreadable(found, e);
                break;
            }
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, t) in entries {
        // Symlinked directories are not followed (no cycles, nothing outside the evidence).
        match t {
            Ok(t) if t.is_dir() => walk(&p, found),
            Ok(t) if t.is_file() || t.is_symlink() => {
                found.files.insert((display::path_text(&p), p));
            }
            Ok(_) => found.skipped.push(Skipped::new(
                &p,
                SkipKind::NotRegularFile,
                "not a regular file (FIFO, socket or device): not opened".into(),
            )),
            Err(e) => found.skipped.push(Skipped::new(
                &p,
                SkipKind::UnreadableFile,
                format!("cannot read: {e}"),
            )),
        }
    }
}

/// Named like an EVTX file.
fn named_evtx(p: &Path) -> bool {
    p.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
}

/// A name (the file's or a directory's on the way) starting with `.`.
fn is_hidden(p: &Path) -> bool {
    p.components().any(|c| match c {
        std::path::Component::Normal(n) => n.as_encoded_bytes().first() == Some(&b'.'),
        _ => false,
    })
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
    crate::open::open_input(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == APPLE_DOUBLE_MAGIC)
}

fn examine(display: String, path: PathBuf, hash: bool) -> std::result::Result<Input, Skipped> {
    let skip = |kind: SkipKind, reason: String| Skipped {
        path: display.clone(),
        path_hex: display::path_hex(&path),
        kind,
        unread: kind.unread(),
        reason,
    };
    // Only regular files are opened: a FIFO would block the run, a device could be endless.
    let meta = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => m,
        Ok(m) if m.is_dir() => {
            return Err(skip(
                SkipKind::NotRegularFile,
                "symbolic link to a directory: not followed".into(),
            ));
        }
        Ok(_) => {
            return Err(skip(
                SkipKind::NotRegularFile,
                "not a regular file (FIFO, socket or device): not opened".into(),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(skip(
                SkipKind::BrokenLink,
                "symbolic link to a missing file".into(),
            ));
        }
        Err(e) => return Err(skip(SkipKind::UnreadableFile, format!("cannot read: {e}"))),
    };
    let format = match sniff_path(&path) {
        Ok(Some(f)) => f,
        Ok(None) if meta.len() > 0 && named_evtx(&path) => {
            return Err(skip(
                SkipKind::UnrecognizedEventLog,
                "named like an event log but not readable as one (no EVTX signature): not read"
                    .into(),
            ));
        }
        Ok(None) => {
            return Err(skip(
                SkipKind::NotEventLog,
                "not an event log (no EVTX signature, XML or JSON event export)".into(),
            ));
        }
        Err(e) => return Err(skip(SkipKind::UnreadableFile, format!("cannot read: {e}"))),
    };
    let (size, sha256) = if hash {
        hash_file(&path)
    } else {
        Ok((meta.len(), String::new()))
    }
    .map_err(|e| skip(SkipKind::UnreadableFile, format!("cannot read: {e}")))?;
    Ok(Input {
        display: Arc::from(display.as_str()),
        path_hex: display::path_hex(&path),
        hidden: is_hidden(&path),
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
    let mut f = crate::open::open_input(path)?;
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
