//! One report table written as CSV and/or JSON lines from the same rows.

use super::atomic::{AtomicFile, Staged};
use super::csv_rows::CsvRows;
use super::{ReportError, excel};
use rayon::prelude::*;
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
        Encoder {
            columns: self.columns,
            keys: self.keys.clone(),
            csv: self.csv.as_ref().map(|(_, m)| (csv_writer(), *m)),
            jsonl: self.jsonl.as_ref().map(|_| Vec::new()),
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
            for c in cells {
                match c {
                    Cell::Null => w.field(b""),
                    Cell::UInt(v) => w.field(self.num.format(*v).as_bytes()),
                    Cell::Int(v) => w.field(self.num.format(*v).as_bytes()),
                    Cell::Str(s) => match mode {
                        CsvMode::Exact => w.field(s.as_bytes()),
                        CsvMode::Excel => {
                            let (v, cut) = excel::cell(s, &self.jsonl_name);
                            if cut {
                                self.truncated += 1;
                            }
                            w.field(v.as_bytes())
                        }
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
                    Cell::Str(s) => serde_json::to_writer(&mut *line, s.as_ref())
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
    /// sink (none, one or more per index), in that order, encoding blocks of them on the thread pool
    /// while one more thread hashes and writes the blocks already encoded, in order (so a disk
    /// that throttles writes does not stall encoding). The file is the same as from calling
    /// [`Self::row`] for each; memory holds a few blocks of encoded rows at a time.
    pub fn rows_par<F>(&mut self, n: usize, rows: F) -> Result<(), ReportError>
    where
        F: Fn(std::ops::Range<usize>, &mut RowSink<'_>) -> Result<(), ReportError> + Sync,
    {
        self.drain()?;
        let proto = self.enc.fork();
        let name = self.name;
        let wave = BLOCK_ROWS * 2 * rayon::current_num_threads().max(1);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Bytes>(4);
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> Result<(), ReportError> {
                for b in rx {
                    self.write(b)?;
                }
                Ok(())
            });
            let mut encoded = Ok(());
            let mut start = 0;
            'waves: while start < n {
                let end = (start + wave).min(n);
                let blocks: Vec<Result<Bytes, ReportError>> = (start..end)
                    .step_by(BLOCK_ROWS)
                    .collect::<Vec<_>>()
                    .into_par_iter()
                    .map(|b| {
                        let mut enc = proto.fork();
                        let mut sink = RowSink {
                            enc: &mut enc,
                            name,
                        };
                        rows(b..(b + BLOCK_ROWS).min(end), &mut sink)?;
                        Ok(enc.take())
                    })
                    .collect();
                for b in blocks {
                    match b {
                        // A closed channel: the writer stopped on an error, reported below.
                        Ok(b) => {
                            if tx.send(b).is_err() {
                                break 'waves;
                            }
                        }
                        Err(e) => {
                            encoded = Err(e);
                            break 'waves;
                        }
                    }
                }
                start = end;
            }
            drop(tx);
            let written = writer.join().unwrap_or_else(|_| {
                Err(ReportError::Internal(format!(
                    "{name}: the writer thread panicked"
                )))
            });
            written.and(encoded)
        })
    }

    fn drain(&mut self) -> Result<(), ReportError> {
        let b = self.enc.take();
        self.write(b)
    }

    fn write(&mut self, b: Bytes) -> Result<(), ReportError> {
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
