//! One JSON record at a time from a text file, whatever its layout: JSON lines (one object a
//! line), one JSON array of objects (`[{…},{…}]`, on one line or pretty-printed), or objects
//! pretty-printed one after another. The file is streamed: at most one record (bounded by
//! [`MAX_RECORD_BYTES`]) is held, never the whole array.
//!
//! The layout is decided from the first bytes: `[` is an array; `{` alone on its line is
//! pretty-printed objects; any other `{` is JSON lines, read line by line so that one bad line
//! costs only that line.

use super::xml::{TextEncoding, TextSource};
use std::io::{self, BufRead, Read};

/// Records (lines, array elements) longer than this are damage, not read.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// How the records of a file are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One record a line.
    Lines,
    /// One JSON array whose elements are the records.
    Array,
    /// Records one after another, each over several lines.
    Concatenated,
}

/// What [`JsonRecords::next_record`] found.
#[derive(Debug)]
pub enum Next<'a> {
    /// One record's bytes; `line` is the 1-based line it starts on.
    Record { line: u64, bytes: &'a [u8] },
    /// A place that is not a record: its line and why (the rest is still read).
    Damage { line: u64, reason: String },
}

/// Streams the records of one text file.
pub struct JsonRecords<R> {
    src: TextSource<R>,
    layout: Option<Layout>,
    buf: Vec<u8>,
    /// The array's `[` was read.
    opened: bool,
    done: bool,
    /// The input ends inside a record or before the array's `]`.
    pub truncated: bool,
}

impl<R: Read> JsonRecords<R> {
    pub fn new(input: R) -> Self {
        JsonRecords {
            // The source's own limit is only a backstop: records are bounded here.
            src: TextSource::new(input, u64::MAX),
            layout: None,
            buf: Vec::new(),
            opened: false,
            done: false,
            truncated: false,
        }
    }

    /// The layout, once the first record was asked for.
    pub fn layout(&self) -> Option<Layout> {
        self.layout
    }

    pub fn encoding(&self) -> TextEncoding {
        self.src.encoding()
    }

    /// Invalid UTF-16 code units replaced by U+FFFD.
    pub fn replaced(&self) -> u64 {
        self.src.replaced
    }

    /// The next record, or damage; `None` at the end of input. A read error ends the input
    /// (reported once as damage).
    pub fn next_record(&mut self) -> Option<Next<'_>> {
        if self.done {
            return None;
        }
        let layout = match self.layout {
            Some(l) => l,
            None => match self.decide() {
                Ok(l) => {
                    self.layout = Some(l);
                    l
                }
                Err(e) => return Some(self.read_error(e)),
            },
        };
        let got = match layout {
            Layout::Lines => self.next_line(),
            Layout::Array | Layout::Concatenated => self.next_value(layout),
        };
        match got {
            Ok(Some(Step::Record(line))) => Some(Next::Record {
                line,
                bytes: &self.buf,
            }),
            Ok(Some(Step::Damage(line, reason))) => Some(Next::Damage { line, reason }),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => Some(self.read_error(e)),
        }
    }

    fn read_error(&mut self, e: io::Error) -> Next<'static> {
        self.done = true;
        Next::Damage {
            line: self.src.newlines() + 1,
            reason: format!("read error, rest of file not read: {e}"),
        }
    }

    /// Peek at the first bytes (nothing is consumed) to choose the layout.
    fn decide(&mut self) -> io::Result<Layout> {
        let head = self.src.fill_buf()?;
        let mut it = head.iter().skip_while(|b| b.is_ascii_whitespace());
        Ok(match it.next() {
            Some(b'[') => Layout::Array,
            Some(b'{') => match it.find(|b| !matches!(b, b' ' | b'\t')) {
                Some(b'\r' | b'\n') => Layout::Concatenated,
                _ => Layout::Lines,
            },
            _ => Layout::Lines,
        })
    }

    /// JSON lines: the next non-blank line (without `\r\n`).
    fn next_line(&mut self) -> io::Result<Option<Step>> {
        loop {
            let line = self.src.newlines() + 1;
            let Some(len) = read_line(&mut self.src, &mut self.buf)? else {
                return Ok(None);
            };
            if len > MAX_RECORD_BYTES {
                return Ok(Some(too_long(line, len)));
            }
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
            if !self.buf.iter().all(u8::is_ascii_whitespace) {
                return Ok(Some(Step::Record(line)));
            }
        }
    }

    /// An array element or a top-level value: scanned for its end (strings and nesting
    /// followed), so that a pretty-printed record is one record.
    fn next_value(&mut self, layout: Layout) -> io::Result<Option<Step>> {
        // Skip to the start of the next value (and the array's opening bracket).
        loop {
            let avail = self.src.fill_buf()?;
            let Some(&b) = avail.first() else {
                if layout == Layout::Array {
                    self.truncated = true;
                    self.done = true;
                    return Ok(Some(Step::Damage(
                        self.src.newlines() + 1,
                        "the file ends before the JSON array is closed (no `]`)".into(),
                    )));
                }
                return Ok(None);
            };
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.src.consume(1),
                b'[' if layout == Layout::Array && !self.opened => {
                    self.opened = true;
                    self.src.consume(1);
                }
                b',' if layout == Layout::Array => self.src.consume(1),
                b']' if layout == Layout::Array => {
                    self.src.consume(1);
                    return self.after_array();
                }
                _ => break,
            }
        }
        let line = self.src.newlines() + 1;
        self.buf.clear();
        let mut scan = Scan::default();
        let mut total = 0usize;
        loop {
            let avail = self.src.fill_buf()?;
            if avail.is_empty() {
                self.truncated = true;
                self.done = true;
                return Ok(Some(Step::Damage(
                    line,
                    "record cut off at the end of the file".into(),
                )));
            }
            let (used, end) = scan.feed(avail);
            let room = (MAX_RECORD_BYTES + 1).saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&avail[..used.min(room)]);
            total = total.saturating_add(used);
            self.src.consume(used);
            if end {
                break;
            }
        }
        if total > MAX_RECORD_BYTES {
            return Ok(Some(too_long(line, total)));
        }
        Ok(Some(Step::Record(line)))
    }

    /// After the array's `]`: only white space may follow.
    fn after_array(&mut self) -> io::Result<Option<Step>> {
        loop {
            let avail = self.src.fill_buf()?;
            match avail.iter().position(|b| !b.is_ascii_whitespace()) {
                None if avail.is_empty() => return Ok(None),
                None => {
                    let n = avail.len();
                    self.src.consume(n);
                }
                Some(i) => {
                    self.src.consume(i);
                    self.done = true;
                    return Ok(Some(Step::Damage(
                        self.src.newlines() + 1,
                        "text after the end of the JSON array: not read".into(),
                    )));
                }
            }
        }
    }
}

enum Step {
    Record(u64),
    Damage(u64, String),
}

fn too_long(line: u64, len: usize) -> Step {
    Step::Damage(
        line,
        format!(
            "record of {len} bytes is longer than {} MiB: not read",
            MAX_RECORD_BYTES >> 20
        ),
    )
}

/// Where the scanner is inside one value.
#[derive(Default)]
struct Scan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    started: bool,
}

impl Scan {
    /// Feed bytes; returns how many belong to the value and whether it ended there.
    fn feed(&mut self, bytes: &[u8]) -> (usize, bool) {
        for (i, &b) in bytes.iter().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                // The end of a bare scalar (a number, `true`, `null`).
                b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n' if self.depth == 0 => {
                    if self.started {
                        return (i, true);
                    }
                    // A stray closing bracket or comma: one byte of damage.
                    return (i + 1, true);
                }
                _ => {}
            }
            self.started = true;
        }
        (bytes.len(), false)
    }
}

/// The next line (without its `\n`) into `buf`; `Some(length)` of the whole line, of which only
/// the first [`MAX_RECORD_BYTES`] + 1 bytes are kept; `None` at the end of input.
fn read_line(src: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
    buf.clear();
    let mut total = 0usize;
    let mut any = false;
    loop {
        let avail = src.fill_buf()?;
        if avail.is_empty() {
            return Ok(any.then_some(total));
        }
        any = true;
        let (take, used, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (i, i + 1, true),
            None => (avail.len(), avail.len(), false),
        };
        let room = (MAX_RECORD_BYTES + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&avail[..take.min(room)]);
        total = total.saturating_add(take);
        src.consume(used);
        if done {
            return Ok(Some(total));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, record text or "!" + damage reason) for every item.
    fn items(text: &str) -> (Vec<(u64, String)>, Option<Layout>, bool) {
        let mut r = JsonRecords::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(n) = r.next_record() {
            out.push(match n {
                Next::Record { line, bytes } => (line, String::from_utf8_lossy(bytes).into()),
                Next::Damage { line, reason } => (line, format!("!{reason}")),
            });
        }
        (out, r.layout(), r.truncated)
    }

    #[test]
    fn lines_array_and_pretty_records() {
        let (it, layout, cut) = items("\n{\"a\":1}\r\n\n{\"b\":\"}\"}\n");
        assert_eq!(layout, Some(Layout::Lines));
        assert!(!cut);
        assert_eq!(it, [(2, "{\"a\":1}".into()), (4, "{\"b\":\"}\"}".into())]);

        let (it, layout, cut) = items("[\n  {\"a\":\"x]\\\"\"},\n  {\"b\":[1,{}]}\n]\n");
        assert_eq!(layout, Some(Layout::Array));
        assert!(!cut);
        assert_eq!(
            it,
            [
                (2, "{\"a\":\"x]\\\"\"}".into()),
                (3, "{\"b\":[1,{}]}".into())
            ]
        );

        let (it, layout, _) = items("{\n  \"a\": 1\n}\n{\n  \"b\": 2\n}");
        assert_eq!(layout, Some(Layout::Concatenated));
        assert_eq!(
            it,
            [
                (1, "{\n  \"a\": 1\n}".into()),
                (4, "{\n  \"b\": 2\n}".into())
            ]
        );
        let (it, _, _) = items("[]");
        assert!(it.is_empty());
    }

    #[test]
    fn broken_arrays_are_damage() {
        // Cut inside the second element.
        let (it, _, cut) = items("[{\"a\":1},\n{\"b\":");
        assert!(cut);
        assert_eq!(it[0], (1, "{\"a\":1}".into()));
        assert_eq!(it[1].0, 2);
        assert!(it[1].1.contains("cut off"), "{it:?}");
        // No closing bracket.
        let (it, _, cut) = items("[{\"a\":1}\n");
        assert!(cut);
        assert!(it[1].1.contains("no `]`"), "{it:?}");
        // Something after the array.
        let (it, _, cut) = items("[{\"a\":1}]\n\nxyz");
        assert!(!cut);
        assert_eq!(it.len(), 2);
        assert_eq!(it[1].0, 3);
        assert!(it[1].1.contains("after the end"), "{it:?}");
        // A bare scalar element is a record (the reader says it is not an object).
        let (it, _, _) = items("[1, {\"a\":2}]");
        assert_eq!(it, [(1, "1".into()), (1, "{\"a\":2}".into())]);
    }
}
