//! Where batches beyond the memory budget go: one anonymous temporary file, written by appends
//! and read back with positioned reads ([`Spill`], [`SpillFile`]).

use super::order::{BatchKey, DiskKeys, KEY_BYTES};
use super::{Batch, Data, Loaded};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

impl Loaded {
    /// The spill file's form: text count, each text's length and bytes, the events' length and
    /// bytes (lengths as little-endian `u32`/`u64`).
    pub(super) fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.texts.len() as u32).to_le_bytes());
        for t in self.texts.iter() {
            out.extend_from_slice(&(t.len() as u32).to_le_bytes());
            out.extend_from_slice(t.as_bytes());
        }
        out.extend_from_slice(&(self.bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.bytes);
    }

    pub(super) fn read_from(b: &[u8]) -> Option<Loaded> {
        fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            let (h, t) = b.split_at_checked(n)?;
            *b = t;
            Some(h)
        }
        let mut b = b;
        let n = u32::from_le_bytes(take(&mut b, 4)?.try_into().ok()?) as usize;
        let mut texts = Vec::with_capacity(n);
        for _ in 0..n {
            let len = u32::from_le_bytes(take(&mut b, 4)?.try_into().ok()?) as usize;
            texts.push(Arc::from(std::str::from_utf8(take(&mut b, len)?).ok()?));
        }
        let len = u64::from_le_bytes(take(&mut b, 8)?.try_into().ok()?) as usize;
        let bytes = take(&mut b, len)?.into();
        b.is_empty().then(|| Loaded {
            texts: texts.into_boxed_slice(),
            bytes,
        })
    }
}

/// The temporary file batches beyond the memory budget are written to (see [`Spill`]).
#[derive(Debug)]
pub(super) struct SpillFile {
    /// For writing (appends are serialized) and, where positioned reads are not available,
    /// for reading.
    file: Mutex<File>,
    /// A second handle of the same file for positioned reads, which need no lock: every
    /// stage's threads read batches back at once.
    #[cfg(unix)]
    reader: File,
}

impl SpillFile {
    fn new(f: File) -> std::io::Result<SpillFile> {
        Ok(SpillFile {
            #[cfg(unix)]
            reader: f.try_clone()?,
            file: Mutex::new(f),
        })
    }

    /// Fill `buf` from byte `at` of the file.
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_exact_at(&self.reader, buf, at)
        }
        #[cfg(not(unix))]
        {
            self.read_exact_at_locked(buf, at)
        }
    }

    /// [`Self::read_exact_at`] by seeking under the file's lock (where positioned reads are
    /// not available; tested everywhere).
    #[cfg_attr(unix, allow(dead_code))]
    fn read_exact_at_locked(&self, buf: &mut [u8], at: u64) -> std::io::Result<()> {
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        f.seek(SeekFrom::Start(at))?;
        std::io::Read::read_exact(&mut *f, buf)
    }

    pub(super) fn read_keys(&self, at: u64, n: usize) -> std::io::Result<Vec<BatchKey>> {
        let mut buf = vec![0u8; n * KEY_BYTES];
        self.read_exact_at(&mut buf, at)?;
        Ok(buf
            .chunks_exact(KEY_BYTES)
            .filter_map(|c| c.try_into().ok().map(BatchKey::read_from))
            .collect())
    }

    pub(super) fn read(&self, at: u64, len: u64) -> std::io::Result<Loaded> {
        let mut buf = vec![0u8; len as usize];
        self.read_exact_at(&mut buf, at)?;
        Loaded::read_from(&buf).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("spilled batch at byte {at} is not as written"),
            )
        })
    }
}

/// Where batches go as they are made: kept in memory while the batches held stay within
/// `budget` bytes, written to an anonymous temporary file (in `TMPDIR`, removed when the run
/// ends however it ends) beyond it. A batch that cannot be written stays in memory.
#[derive(Debug)]
pub struct Spill {
    budget: usize,
    held: AtomicUsize,
    file: OnceLock<Option<Arc<SpillFile>>>,
    /// End of the file (under its own lock: appends are serialized).
    end: Mutex<u64>,
    written: AtomicUsize,
    /// The first reason a batch could not be written (it was then kept in memory).
    failed: OnceLock<String>,
}

/// Default memory budget for encoded events (`--spill-mib`), in MiB: enough to keep a
/// collection of the size of `../shared/corpus` (0.7 MiB encoded) off the disk; larger runs
/// spill early, which measured no slower (scale set, 1 GB: 8.3 s with nothing kept in memory,
/// 8.5 s with 32 MiB) and keeps memory to the graph's.
pub const DEFAULT_SPILL_MIB: usize = 4;

impl Spill {
    /// A spill that keeps up to `budget` bytes of batches in memory.
    pub fn new(budget: usize) -> Spill {
        Spill {
            budget,
            held: AtomicUsize::new(0),
            file: OnceLock::new(),
            end: Mutex::new(0),
            written: AtomicUsize::new(0),
            failed: OnceLock::new(),
        }
    }

    /// Keep `b` in memory or write it out.
    pub fn place(&self, mut b: Batch) -> Batch {
        let size = b.heap_bytes();
        let held = self.held.fetch_add(size, Ordering::Relaxed) + size;
        if held <= self.budget {
            return b;
        }
        let Some(file) = self.file() else {
            return b;
        };
        // A batch of one file (every chunk) goes with its keys, sorted, after its events.
        let with_keys = matches!(b.data, Data::Mem(_)) && b.sort_own_keys();
        let Data::Mem(l) = &b.data else {
            return b;
        };
        let mut buf = Vec::with_capacity(size + 16 + if with_keys { b.len * KEY_BYTES } else { 0 });
        l.write_to(&mut buf);
        let data_len = buf.len() as u64;
        if with_keys {
            for k in &b.keys {
                k.write_to(&mut buf);
            }
        }
        let at = {
            let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
            let mut f = file.file.lock().unwrap_or_else(|e| e.into_inner());
            let at = *end;
            if let Err(e) = f.seek(SeekFrom::Start(at)).and_then(|_| f.write_all(&buf)) {
                let _ = self
                    .failed
                    .set(format!("cannot write the event spill file: {e}"));
                return b;
            }
            *end += buf.len() as u64;
            at
        };
        self.held.fetch_sub(size, Ordering::Relaxed);
        self.written.fetch_add(buf.len(), Ordering::Relaxed);
        b.data = Data::Disk { at, len: data_len };
        if let (true, Some(&first), Some(&last)) = (with_keys, b.keys.first(), b.keys.last()) {
            b.disk_keys = Some(DiskKeys {
                at: at + data_len,
                first,
                last,
            });
            b.keys = Vec::new();
        }
        b
    }

    /// The spill file, if one was made (this never makes one).
    pub(super) fn made(&self) -> Option<Arc<SpillFile>> {
        self.file.get().cloned().flatten()
    }

    fn file(&self) -> Option<&Arc<SpillFile>> {
        self.file
            .get_or_init(|| match tempfile::tempfile().and_then(SpillFile::new) {
                Ok(f) => Some(Arc::new(f)),
                Err(e) => {
                    let _ = self
                        .failed
                        .set(format!("cannot create the event spill file: {e}"));
                    None
                }
            })
            .as_ref()
    }

    /// Bytes written to the spill file so far.
    pub fn written(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }

    /// Why some batch could not be spilled (it was kept in memory instead).
    pub fn failure(&self) -> Option<&str> {
        self.failed.get().map(String::as_str)
    }
}

impl Default for Spill {
    /// Everything in memory.
    fn default() -> Self {
        Spill::new(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of reading the spill file back give the bytes written, from several threads
    /// at once; a read past the end fails.
    #[test]
    fn spill_file_reads_back_what_was_written() {
        let f = SpillFile::new(tempfile::tempfile().unwrap()).unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        f.file.lock().unwrap().write_all(&data).unwrap();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (f, data) = (&f, &data);
                s.spawn(move || {
                    for k in 0..200u64 {
                        let at = (k * 397 + t * 1009) % 90_000;
                        let mut a = vec![0u8; 1000];
                        let mut b = vec![0u8; 1000];
                        f.read_exact_at(&mut a, at).unwrap();
                        f.read_exact_at_locked(&mut b, at).unwrap();
                        assert_eq!(a, &data[at as usize..at as usize + 1000]);
                        assert_eq!(a, b);
                    }
                });
            }
        });
        let mut past = vec![0u8; 10];
        assert!(f.read_exact_at(&mut past, 99_995).is_err());
        assert!(f.read_exact_at_locked(&mut past, 99_995).is_err());
    }
}
