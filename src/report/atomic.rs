//! Output files written to a temporary name in the destination directory, then renamed.
//!
//! A file only appears under its final name once it is complete and synced; an interrupted run
//! leaves at most a hidden `.NAME.tmp-PID` file, never a half-written report.
//!
//! A large file is synced in the background while it is written (every [`SYNC_EVERY`] bytes,
//! one sync at a time, on its own thread), so that the final sync, which the run waits for,
//! only has the last part left to write to disk.

use super::ReportError;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// Bytes written between two background syncs of a report file.
pub const SYNC_EVERY: u64 = 32 << 20;

/// A report file being written: bytes go to a temporary file and into a SHA-256.
pub struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
    hasher: Sha256,
    bytes: u64,
    /// Bytes written when the last background sync started.
    sync_started_at: u64,
    /// Bytes between background syncs ([`SYNC_EVERY`]; smaller in tests).
    sync_every: u64,
    /// The background sync in progress, if any.
    syncing: Option<JoinHandle<io::Result<()>>>,
}

/// The temporary name of `name` for this process.
pub fn tmp_name(name: &str) -> String {
    format!(".{name}.tmp-{}", std::process::id())
}

impl AtomicFile {
    /// Start `dir/name` (written to `dir/.name.tmp-PID` until [`Staged::commit`]).
    pub fn create(dir: &Path, name: &str) -> Result<AtomicFile, ReportError> {
        let tmp = dir.join(tmp_name(name));
        // A stale temporary file of an earlier process with the same id: never append to it.
        if tmp.symlink_metadata().is_ok() {
            std::fs::remove_file(&tmp).map_err(|e| ReportError::io(&tmp, e))?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| ReportError::io(&tmp, e))?;
        Ok(AtomicFile {
            file: Some(file),
            tmp,
            dest: dir.join(name),
            hasher: Sha256::new(),
            bytes: 0,
            sync_started_at: 0,
            sync_every: SYNC_EVERY,
            syncing: None,
        })
    }

    /// Wait for the background sync in progress, if any, and give its error.
    fn join_sync(&mut self) -> io::Result<()> {
        match self.syncing.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the sync thread panicked"))),
            None => Ok(()),
        }
    }

    /// Start syncing what was written so far on another thread, unless a sync is still
    /// running; a failed sync is reported here, at the next write after it.
    fn sync_in_background(&mut self) -> io::Result<()> {
        if self.syncing.as_ref().is_some_and(|h| !h.is_finished()) {
            return Ok(());
        }
        self.join_sync()?;
        let Some(f) = self.file.as_ref() else {
            return Ok(());
        };
        let f = f.try_clone()?;
        self.sync_started_at = self.bytes;
        // No thread to be had: the final sync does it all.
        self.syncing = std::thread::Builder::new()
            .name("report-sync".into())
            .spawn(move || f.sync_data())
            .ok();
        Ok(())
    }

    /// Flush and sync; the file is complete but still under its temporary name.
    pub fn finish(mut self) -> Result<Staged, ReportError> {
        let Some(mut f) = self.file.take() else {
            return Err(ReportError::io(
                &self.tmp,
                io::Error::other("already finished"),
            ));
        };
        f.flush()
            .and_then(|()| self.join_sync())
            .and_then(|()| f.sync_all())
            .map_err(|e| ReportError::io(&self.tmp, e))?;
        drop(f);
        let hasher = std::mem::take(&mut self.hasher);
        Ok(Staged {
            tmp: Some(std::mem::take(&mut self.tmp)),
            dest: std::mem::take(&mut self.dest),
            sha256: hex::encode(hasher.finalize()),
            bytes: self.bytes,
        })
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("write after finish"))?;
        let n = f.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        if self.bytes - self.sync_started_at >= self.sync_every {
            self.sync_in_background()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Not finished (an error on the way): the temporary file is removed.
        let _ = self.join_sync();
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A complete file under its temporary name, with its digest.
pub struct Staged {
    tmp: Option<PathBuf>,
    pub dest: PathBuf,
    pub sha256: String,
    pub bytes: u64,
}

impl Staged {
    /// Rename into place (atomic within one directory).
    pub fn commit(mut self) -> Result<(), ReportError> {
        let Some(tmp) = self.tmp.take() else {
            return Ok(());
        };
        std::fs::rename(&tmp, &self.dest).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            ReportError::io(&self.dest, e)
        })
    }

    /// The final file name (no directory).
    pub fn name(&self) -> String {
        self.dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_syncs_leave_the_bytes_and_digest_as_written() {
        let d = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create(d.path(), "big.csv").unwrap();
        f.sync_every = 1000;
        let mut all = Vec::new();
        for k in 0..500u32 {
            let line = format!("{k},{}\r\n", "x".repeat((k % 97) as usize));
            f.write_all(line.as_bytes()).unwrap();
            all.extend_from_slice(line.as_bytes());
        }
        assert!(f.sync_started_at > 0, "a background sync ran");
        let s = f.finish().unwrap();
        assert_eq!(s.bytes, all.len() as u64);
        assert_eq!(s.sha256, hex::encode(Sha256::digest(&all)));
        s.commit().unwrap();
        assert_eq!(std::fs::read(d.path().join("big.csv")).unwrap(), all);
    }

    #[test]
    fn nothing_under_the_final_name_until_commit() {
        let d = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create(d.path(), "x.csv").unwrap();
        f.write_all(b"a,b\r\n").unwrap();
        assert!(!d.path().join("x.csv").exists());
        let s = f.finish().unwrap();
        assert!(!d.path().join("x.csv").exists());
        assert_eq!(s.bytes, 5);
        assert_eq!(s.sha256, hex::encode(Sha256::digest(b"a,b\r\n")));
        s.commit().unwrap();
        assert_eq!(std::fs::read(d.path().join("x.csv")).unwrap(), b"a,b\r\n");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn abandoned_files_leave_nothing() {
        let d = tempfile::tempdir().unwrap();
        {
            let mut f = AtomicFile::create(d.path(), "a.csv").unwrap();
            f.write_all(b"half").unwrap();
        }
        {
            let f = AtomicFile::create(d.path(), "b.csv").unwrap();
            let _staged = f.finish().unwrap();
        }
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
