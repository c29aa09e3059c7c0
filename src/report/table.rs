//! One report table written as CSV and/or JSON lines from the same rows.

use super::atomic::{AtomicFile, Staged};
use super::csv_rows::CsvRows;
use super::{ReportError, excel};
use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// One value. `Null` is an empty CSV field and `null` in JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Str(Cow<'a, str>),
    UInt(u64),
    Int(i64),
}

impl<'a> Cell<'a> {
    pub fn str(s: &'a str) -> Cell<'a> {
        Cell::Str(Cow::Borrowed(s))
    }
    pub fn opt_str(s: Option<&'a str>) -> Cell<'a> {
        s.map_or(Cell::Null, Cell::str)
    }
    pub fn owned(s: String) -> Cell<'a> {
        Cell::Str(Cow::Owned(s))
    }
    pub fn opt_uint<T: Into<u64>>(v: Option<T>) -> Cell<'a> {
        v.map_or(Cell::Null, |x| Cell::UInt(x.into()))
    }
}

/// How the CSV is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvMode {
    /// Values exactly as recorded.
    Exact,
    /// BOM, formula neutralization, long cells cut (see [`excel`]).
    Excel,
}

/// Encodes rows into CSV and JSON-lines bytes in memory; [`TableOut`] writes them out. Blocks of
/// rows can be encoded on several threads with one encoder each and written in order.
struct Encoder {
    columns: &'static [&'static str],
    /// Per column: it holds a time ([`excel::TIME_COLUMNS`]).
    times: Vec<bool>,
    /// The column names as JSON strings (with quotes), encoded once.
    keys: Vec<String>,
    csv: Option<(CsvRows, CsvMode)>,
    jsonl: Option<Vec<u8>>,
    jsonl_name: String,
    truncated: u64,
    rows: u64,
    num: itoa::Buffer,
}

fn csv_writer() -> CsvRows {
    CsvRows::with_capacity(1 << 16)
}

/// Encoded bytes of some rows.
#[derive(Default)]
struct Bytes {
    csv: Vec<u8>,
    jsonl: Vec<u8>,
    truncated: u64,
    rows: u64,
}

impl Encoder {
    fn new(
        columns: &'static [&'static str],
        csv: Option<CsvMode>,
        jsonl: bool,
        jsonl_name: &str,
    ) -> Result<Encoder, ReportError> {
        Ok(Encoder {
            columns,
            times: columns
                .iter()
                .map(|c| excel::TIME_COLUMNS.contains(c))
                .collect(),
            keys: columns
                .iter()
                .map(|k| json_str(k))
                .collect::<Result<_, _>>()?,
            csv: csv.map(|m| (csv_writer(), m)),
            jsonl: jsonl.then(Vec::new),
            jsonl_name: jsonl_name.to_string(),
            truncated: 0,
            rows: 0,
            num: itoa::Buffer::new(),
        })
    }

    /// A fresh encoder of the same table (for another block of rows).
    fn fork(&self) -> Encoder {
        self.fork_into(Bytes::default())
    }

    /// A fresh encoder of the same table that encodes into `reuse`'s buffers (emptied; their
    /// room is kept, so a block of rows does not grow its buffers again from nothing).
    fn fork_into(&self, reuse: Bytes) -> Encoder {
        let Bytes { csv, mut jsonl, .. } = reuse;
        jsonl.clear();
        let rows = if csv.capacity() == 0 {
            csv_writer()
        } else {
            CsvRows::reusing(csv)
        };
        Encoder {
            columns: self.columns,
            times: self.times.clone(),
            keys: self.keys.clone(),
            csv: self.csv.as_ref().map(|(_, m)| (rows, *m)),
            jsonl: self.jsonl.as_ref().map(|_| jsonl),
            jsonl_name: self.jsonl_name.clone(),
            truncated: 0,
            rows: 0,
            num: itoa::Buffer::new(),
        }
    }

    fn header(&mut self) -> Result<(), ReportError> {
        if let Some((w, _)) = self.csv.as_mut() {
            w.record(self.columns.iter().map(|c| c.as_bytes()));
        }
        Ok(())
    }

    fn row(&mut self, name: &str, cells: &[Cell<'_>]) -> Result<(), ReportError> {
        if cells.len() != self.columns.len() {
            return Err(ReportError::Internal(format!(
                "{name}: row of {} cells for {} columns",
                cells.len(),
                self.columns.len()
            )));
        }
        self.rows += 1;
        if let Some((w, mode)) = self.csv.as_mut() {
            for (i, c) in cells.iter().enumerate() {
                match c {
                    Cell::Null => w.field(b""),
                    Cell::UInt(v) => w.plain_field(self.num.format(*v).as_bytes()),
                    Cell::Int(v) => w.plain_field(self.num.format(*v).as_bytes()),
                    Cell::Str(s) => match mode {
                        CsvMode::Exact => w.field(s.as_bytes()),
                        CsvMode::Excel => match self.times[i].then(|| excel::time_cell(s)) {
                            Some(Some(t)) => w.field(t.as_bytes()),
                            _ => {
                                let (v, cut) = excel::cell(s, &self.jsonl_name);
                                if cut {
                                    self.truncated += 1;
                                }
                                w.field(v.as_bytes())
                            }
                        },
                    },
                }
            }
            w.end_record();
        }
        if let Some(line) = self.jsonl.as_mut() {
            line.push(b'{');
            for (i, (k, c)) in self.keys.iter().zip(cells).enumerate() {
                if i > 0 {
                    line.push(b',');
                }
                line.extend_from_slice(k.as_bytes());
                line.push(b':');
                match c {
                    Cell::Null => line.extend_from_slice(b"null"),
                    Cell::UInt(v) => line.extend_from_slice(self.num.format(*v).as_bytes()),
                    Cell::Int(v) => line.extend_from_slice(self.num.format(*v).as_bytes()),
                    Cell::Str(s) => crate::display::write_json_str(line, s.as_ref())
                        .map_err(|e| ReportError::Internal(format!("JSON string: {e}")))?,
                }
            }
            line.extend_from_slice(b"}\n");
        }
        Ok(())
    }

    /// Bytes encoded so far (the encoder starts again empty).
    fn take(&mut self) -> Bytes {
        let csv = match self.csv.as_mut() {
            Some((w, _)) => std::mem::replace(w, csv_writer()).take(),
            None => Vec::new(),
        };
        let jsonl = self.jsonl.as_mut().map(std::mem::take).unwrap_or_default();
        let out = Bytes {
            csv,
            jsonl,
            truncated: self.truncated,
            rows: self.rows,
        };
        (self.truncated, self.rows) = (0, 0);
        out
    }

    /// Bytes encoded, the encoder given up (no fresh buffer made for it, as [`Self::take`] does).
    fn into_bytes(self) -> Bytes {
        Bytes {
            csv: self.csv.map(|(w, _)| w.into_inner()).unwrap_or_default(),
            jsonl: self.jsonl.unwrap_or_default(),
            truncated: self.truncated,
            rows: self.rows,
        }
    }

    fn pending(&self) -> usize {
        self.csv.as_ref().map_or(0, |(w, _)| w.len()) + self.jsonl.as_ref().map_or(0, Vec::len)
    }
}

/// Where a row function of [`TableOut::rows_par`] puts its rows.
pub struct RowSink<'e> {
    enc: &'e mut Encoder,
    name: &'static str,
}

impl RowSink<'_> {
    /// Encode one row (cells borrowed for the call only).
    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ReportError> {
        self.enc.row(self.name, cells)
    }
}

/// Rows encoded per block by [`TableOut::rows_par`].
const BLOCK_ROWS: usize = 4096;

/// The blocks of [`TableOut::rows_par`] between the encoding threads and the writer: which
/// block is next to encode, the encoded ones not yet written, and buffers to encode into again.
struct Line {
    state: std::sync::Mutex<LineState>,
    /// Signalled when the writer takes a block or stops.
    taken: std::sync::Condvar,
    /// Signalled when a block is encoded.
    encoded: std::sync::Condvar,
    /// Blocks encoded ahead of the writer at most.
    ahead: usize,
}

#[derive(Default)]
struct LineState {
    /// The next block to hand to an encoder.
    next: usize,
    /// The next block the writer takes.
    writing: usize,
    /// Encoded blocks not yet taken by the writer.
    ready: std::collections::BTreeMap<usize, Result<Bytes, ReportError>>,
    /// Buffers the writer is done with: a block's encoding then neither grows a buffer from
    /// 64 KiB (each step a copy) nor touches fresh pages.
    spare: Vec<Bytes>,
    /// The writer has stopped (done, or on an error).
    stopped: bool,
}

impl Line {
    fn new(ahead: usize) -> Line {
        Line {
            state: std::sync::Mutex::new(LineState::default()),
            taken: std::sync::Condvar::new(),
            encoded: std::sync::Condvar::new(),
            ahead: ahead.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LineState> {
        // A poisoned lock only means another thread panicked while holding it; the state is
        // still consistent (each change is one assignment or map operation).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next block to encode (and a buffer to encode it into), once the writer is near
    /// enough; `None` when every block is handed out or the writer stopped.
    fn next_block(&self, blocks: usize) -> Option<(usize, Bytes)> {
        let mut st = self.lock();
        loop {
            if st.stopped || st.next >= blocks {
                return None;
            }
            if st.next < st.writing + self.ahead {
                let b = st.next;
                st.next += 1;
                let reuse = st.spare.pop().unwrap_or_default();
                return Some((b, reuse));
            }
            st = self.taken.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Block `b` is encoded.
    fn done(&self, b: usize, r: Result<Bytes, ReportError>) {
        self.lock().ready.insert(b, r);
        self.encoded.notify_all();
    }

    /// Wait for block `b` (the next to write) and take it.
    fn take(&self, b: usize) -> Result<Bytes, ReportError> {
        let mut st = self.lock();
        loop {
            if let Some(r) = st.ready.remove(&b) {
                st.writing = b + 1;
                drop(st);
                self.taken.notify_all();
                return r;
            }
            st = self.encoded.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// A buffer the writer has written out, to encode into again.
    fn give_back(&self, b: Bytes) {
        self.lock().spare.push(b);
    }
}

/// Marks the [`Line`] stopped when the writer ends, however it ends.
struct StopOnDrop<'l>(&'l Line);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.lock().stopped = true;
        self.0.taken.notify_all();
    }
}

/// The writers of one table.
pub struct TableOut {
    name: &'static str,
    dir: PathBuf,
    enc: Encoder,
    csv: Option<BufWriter<AtomicFile>>,
    jsonl: Option<BufWriter<AtomicFile>>,
    truncated: u64,
    rows: u64,
}

impl TableOut {
    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows + self.enc.rows
    }

    /// Cells cut so far in `--excel` mode.
    pub fn truncated(&self) -> u64 {
        self.truncated + self.enc.truncated
    }

    /// Start `NAME.csv` (if `csv` is given) and `NAME.jsonl` (if `jsonl`) in `dir`, and write the
    /// CSV header.
    pub fn create(
        dir: &Path,
        name: &'static str,
        columns: &'static [&'static str],
        csv: Option<CsvMode>,
        jsonl: bool,
    ) -> Result<TableOut, ReportError> {
        let csv_name = format!("{name}.csv");
        let jsonl_name = format!("{name}.jsonl");
        let csv_file = match csv {
            Some(mode) => {
                let mut f = BufWriter::with_capacity(1 << 16, AtomicFile::create(dir, &csv_name)?);
                if mode == CsvMode::Excel {
                    f.write_all("\u{feff}".as_bytes())
                        .map_err(|e| ReportError::io(&dir.join(&csv_name), e))?;
                }
                Some(f)
            }
            None => None,
        };
        let jsonl_file = if jsonl {
            Some(BufWriter::with_capacity(
                1 << 16,
                AtomicFile::create(dir, &jsonl_name)?,
            ))
        } else {
            None
        };
        let mut enc = Encoder::new(columns, csv, jsonl, &jsonl_name)?;
        enc.header()?;
        let mut t = TableOut {
            name,
            dir: dir.to_path_buf(),
            enc,
            csv: csv_file,
            jsonl: jsonl_file,
            truncated: 0,
            rows: 0,
        };
        t.drain()?;
        Ok(t)
    }

    /// Write one row (as many cells as columns).
    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ReportError> {
        self.enc.row(self.name, cells)?;
        if self.enc.pending() >= 1 << 16 {
            self.drain()?;
        }
        Ok(())
    }

    /// Write the rows that `rows(0..k, sink)`, `rows(k..2k, sink)`, … up to `n` give to their
    /// sink (none, one or more per index), in that order. Every thread of the pool encodes
    /// block after block (the next one not yet taken), while one more thread hashes and writes
    /// the encoded blocks in order, so a disk that throttles writes does not stall encoding and
    /// no thread waits for the others between blocks. The file is the same as from calling
    /// [`Self::row`] for each; memory holds a few blocks of encoded rows per thread.
    pub fn rows_par<F>(&mut self, n: usize, rows: F) -> Result<(), ReportError>
    where
        F: Fn(std::ops::Range<usize>, &mut RowSink<'_>) -> Result<(), ReportError> + Sync,
    {
        self.drain()?;
        let proto = self.enc.fork();
        let name = self.name;
        let blocks = n.div_ceil(BLOCK_ROWS);
        let threads = rayon::current_num_threads().max(1);
        let line = Line::new(2 * threads + 2);
        let line = &line;
        let encode = |b: usize, reuse: Bytes| -> Result<Bytes, ReportError> {
            let mut enc = proto.fork_into(reuse);
            let mut sink = RowSink {
                enc: &mut enc,
                name,
            };
            let start = b * BLOCK_ROWS;
            rows(start..(start + BLOCK_ROWS).min(n), &mut sink)?;
            Ok(enc.into_bytes())
        };
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> Result<(), ReportError> {
                // However the writer ends, the encoders stop waiting for it.
                let _stop = StopOnDrop(line);
                for b in 0..blocks {
                    let bytes = line.take(b)?;
                    self.write(&bytes)?;
                    line.give_back(bytes);
                }
                Ok(())
            });
            rayon::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|_| {
                        while let Some((b, reuse)) = line.next_block(blocks) {
                            // A panic in a row function becomes this block's error (the
                            // writer would otherwise wait for the block for ever).
                            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                encode(b, reuse)
                            }))
                            .unwrap_or_else(|_| {
                                Err(ReportError::Internal(format!(
                                    "{name}: encoding rows panicked"
                                )))
                            });
                            line.done(b, r);
                        }
                    });
                }
            });
            writer.join().unwrap_or_else(|_| {
                Err(ReportError::Internal(format!(
                    "{name}: the writer thread panicked"
                )))
            })
        })
    }

    fn drain(&mut self) -> Result<(), ReportError> {
        let b = self.enc.take();
        self.write(&b)
    }

    fn write(&mut self, b: &Bytes) -> Result<(), ReportError> {
        self.rows += b.rows;
        self.truncated += b.truncated;
        if let Some(f) = self.csv.as_mut() {
            f.write_all(&b.csv)
                .map_err(|e| ReportError::io(&self.dir.join(format!("{}.csv", self.name)), e))?;
        }
        if let Some(f) = self.jsonl.as_mut() {
            f.write_all(&b.jsonl)
                .map_err(|e| ReportError::io(&self.dir.join(&self.enc.jsonl_name), e))?;
        }
        Ok(())
    }

    /// Finish every file of the table (still under temporary names).
    pub fn finish(mut self) -> Result<Vec<Staged>, ReportError> {
        self.drain()?;
        let mut out = Vec::new();
        let csv_path = self.dir.join(format!("{}.csv", self.name));
        let jsonl_path = self.dir.join(&self.enc.jsonl_name);
        for (f, path) in [(self.csv, csv_path), (self.jsonl, jsonl_path)] {
            if let Some(f) = f {
                let f = f
                    .into_inner()
                    .map_err(|e| ReportError::io(&path, std::io::Error::other(e.to_string())))?;
                out.push(f.finish()?);
            }
        }
        Ok(out)
    }
}

fn json_str(s: &str) -> Result<String, ReportError> {
    serde_json::to_string(s).map_err(|e| ReportError::Internal(format!("JSON string: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[&str] = &["k", "text"];

    fn cells(k: usize) -> [Cell<'static>; 2] {
        // Some rows quoted, some long, so blocks differ in size.
        let text = match k % 5 {
            0 => Cell::owned(format!("a,\"{k}\"")),
            1 => Cell::Null,
            2 => Cell::owned("x".repeat(k % 300)),
            _ => Cell::owned(format!("row {k}")),
        };
        [Cell::UInt(k as u64), text]
    }

    /// The table's files as written row by row, and by `rows_par` on `threads` threads.
    fn both(n: usize, threads: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
        let d = tempfile::tempdir().unwrap();
        let (one, par) = (d.path().join("one"), d.path().join("par"));
        std::fs::create_dir_all(&one).unwrap();
        std::fs::create_dir_all(&par).unwrap();
        let mut t = TableOut::create(&one, "t", COLS, Some(CsvMode::Exact), true).unwrap();
        for k in 0..n {
            // Index 7 gives no row and index 11 two, as a row function may.
            if k != 7 {
                t.row(&cells(k)).unwrap();
            }
            if k == 11 {
                t.row(&cells(k)).unwrap();
            }
        }
        assert_eq!(
            t.rows(),
            (n + usize::from(n > 11) - usize::from(n > 7)) as u64
        );
        for s in t.finish().unwrap() {
            s.commit().unwrap();
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut t = TableOut::create(&par, "t", COLS, Some(CsvMode::Exact), true).unwrap();
        pool.install(|| {
            t.rows_par(n, |ks, sink| {
                for k in ks {
                    if k != 7 {
                        sink.row(&cells(k))?;
                    }
                    if k == 11 {
                        sink.row(&cells(k))?;
                    }
                }
                Ok(())
            })
        })
        .unwrap();
        for s in t.finish().unwrap() {
            s.commit().unwrap();
        }
        let read = |p: &Path| std::fs::read(p).unwrap();
        (
            read(&one.join("t.csv")),
            read(&par.join("t.csv")),
            read(&one.join("t.jsonl")),
            read(&par.join("t.jsonl")),
        )
    }

    #[test]
    fn rows_par_writes_what_row_by_row_writes() {
        for threads in [1, 2, 5] {
            for n in [
                0,
                1,
                12,
                BLOCK_ROWS,
                3 * BLOCK_ROWS + 17,
                25 * BLOCK_ROWS + 1,
            ] {
                let (csv1, csv2, j1, j2) = both(n, threads);
                assert!(csv1 == csv2, "CSV differs: {n} rows on {threads} threads");
                assert!(j1 == j2, "JSON lines differ: {n} rows on {threads} threads");
            }
        }
    }

    #[test]
    fn rows_par_stops_on_a_block_error_or_panic() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for panic in [false, true] {
            let d = tempfile::tempdir().unwrap();
            let mut t = TableOut::create(d.path(), "t", COLS, Some(CsvMode::Exact), false).unwrap();
            let r = pool.install(|| {
                t.rows_par(30 * BLOCK_ROWS, |ks, sink| {
                    for k in ks {
                        if k == 9 * BLOCK_ROWS + 3 {
                            if panic {
                                panic!("row function failed");
                            }
                            return Err(ReportError::Internal("row 3 of block 9".into()));
                        }
                        sink.row(&cells(k))?;
                    }
                    Ok(())
                })
            });
            let e = r.expect_err("the block's error is returned").to_string();
            let want = if panic {
                "panicked"
            } else {
                "row 3 of block 9"
            };
            assert!(e.contains(want), "{e}");
            // Only the blocks before the failed one were written.
            assert_eq!(t.rows(), (9 * BLOCK_ROWS) as u64);
        }
    }
}
