//! One report table written as CSV and/or JSON lines from the same rows.

use super::atomic::{AtomicFile, Staged};
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

/// The writers of one table.
pub struct TableOut {
    name: &'static str,
    dir: PathBuf,
    columns: &'static [&'static str],
    csv: Option<(csv::Writer<AtomicFile>, CsvMode)>,
    jsonl: Option<BufWriter<AtomicFile>>,
    jsonl_name: String,
    /// Cells cut in `--excel` mode.
    pub truncated: u64,
    pub rows: u64,
    buf: Vec<String>,
}

impl TableOut {
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
        let csv = match csv {
            Some(mode) => {
                let mut f = AtomicFile::create(dir, &csv_name)?;
                if mode == CsvMode::Excel {
                    f.write_all("\u{feff}".as_bytes())
                        .map_err(|e| ReportError::io(&dir.join(&csv_name), e))?;
                }
                let mut w = csv::WriterBuilder::new()
                    .quote_style(csv::QuoteStyle::Necessary)
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(f);
                w.write_record(columns)
                    .map_err(|e| ReportError::csv(&dir.join(&csv_name), e))?;
                Some((w, mode))
            }
            None => None,
        };
        let jsonl_name = format!("{name}.jsonl");
        let jsonl = if jsonl {
            Some(BufWriter::with_capacity(
                1 << 16,
                AtomicFile::create(dir, &jsonl_name)?,
            ))
        } else {
            None
        };
        Ok(TableOut {
            name,
            dir: dir.to_path_buf(),
            columns,
            csv,
            jsonl,
            jsonl_name,
            truncated: 0,
            rows: 0,
            buf: Vec::with_capacity(columns.len()),
        })
    }

    /// Write one row (as many cells as columns).
    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ReportError> {
        if cells.len() != self.columns.len() {
            return Err(ReportError::Internal(format!(
                "{}: row of {} cells for {} columns",
                self.name,
                cells.len(),
                self.columns.len()
            )));
        }
        self.rows += 1;
        if let Some((w, mode)) = self.csv.as_mut() {
            self.buf.clear();
            for c in cells {
                let s = match c {
                    Cell::Null => String::new(),
                    Cell::UInt(v) => v.to_string(),
                    Cell::Int(v) => v.to_string(),
                    Cell::Str(s) => match mode {
                        CsvMode::Exact => s.to_string(),
                        CsvMode::Excel => {
                            let (v, cut) = excel::cell(s, &self.jsonl_name);
                            if cut {
                                self.truncated += 1;
                            }
                            v.into_owned()
                        }
                    },
                };
                self.buf.push(s);
            }
            w.write_record(&self.buf)
                .map_err(|e| ReportError::csv(&self.dir.join(format!("{}.csv", self.name)), e))?;
        }
        if let Some(j) = self.jsonl.as_mut() {
            let mut line = String::with_capacity(256);
            line.push('{');
            for (i, (k, c)) in self.columns.iter().zip(cells).enumerate() {
                if i > 0 {
                    line.push(',');
                }
                line.push_str(&json_str(k)?);
                line.push(':');
                match c {
                    Cell::Null => line.push_str("null"),
                    Cell::UInt(v) => line.push_str(&v.to_string()),
                    Cell::Int(v) => line.push_str(&v.to_string()),
                    Cell::Str(s) => line.push_str(&json_str(s)?),
                }
            }
            line.push_str("}\n");
            j.write_all(line.as_bytes())
                .map_err(|e| ReportError::io(&self.dir.join(&self.jsonl_name), e))?;
        }
        Ok(())
    }

    /// Finish every file of the table (still under temporary names).
    pub fn finish(self) -> Result<Vec<Staged>, ReportError> {
        let mut out = Vec::new();
        let csv_path = self.dir.join(format!("{}.csv", self.name));
        let jsonl_path = self.dir.join(&self.jsonl_name);
        if let Some((w, _)) = self.csv {
            let f = w
                .into_inner()
                .map_err(|e| ReportError::io(&csv_path, std::io::Error::other(e.to_string())))?;
            out.push(f.finish()?);
        }
        if let Some(j) = self.jsonl {
            let f = j
                .into_inner()
                .map_err(|e| ReportError::io(&jsonl_path, std::io::Error::other(e.to_string())))?;
            out.push(f.finish()?);
        }
        Ok(out)
    }
}

fn json_str(s: &str) -> Result<String, ReportError> {
    serde_json::to_string(s).map_err(|e| ReportError::Internal(format!("JSON string: {e}")))
}
