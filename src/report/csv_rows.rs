//! CSV rows encoded straight into a byte buffer, byte for byte as the `csv` crate writes them
//! with `QuoteStyle::Necessary` and CRLF line ends (RFC 4180).
//!
//! A field is quoted when it holds a comma, a double quote, CR or LF; a quote inside a quoted
//! field is doubled; a record whose only field is empty is written `""` (so it is not an empty
//! line). Writing through `csv::Writer` copied every field into the writer's own buffer, tested
//! every byte through a lookup table and copied the buffer again: 40 % of the time spent
//! encoding the timeline, the largest report. The tests below compare this encoder with the
//! crate on random fields.

/// Rows of CSV, encoded into one buffer.
#[derive(Debug, Default)]
pub struct CsvRows {
    out: Vec<u8>,
    /// Fields written in the current record.
    fields: usize,
    /// Where the current record starts in `out`.
    record_start: usize,
}

impl CsvRows {
    pub fn with_capacity(n: usize) -> CsvRows {
        CsvRows {
            out: Vec::with_capacity(n),
            ..CsvRows::default()
        }
    }

    /// Rows encoded into `out` (emptied first; its room is kept).
    pub fn reusing(mut out: Vec<u8>) -> CsvRows {
        out.clear();
        CsvRows {
            out,
            ..CsvRows::default()
        }
    }

    /// Append one field to the current record.
    pub fn field(&mut self, v: &[u8]) {
        if self.fields > 0 {
            self.out.push(b',');
        }
        self.fields += 1;
        if needs_quotes(v) {
            self.out.reserve(v.len() + 2);
            self.out.push(b'"');
            let mut rest = v;
            while let Some(q) = rest.iter().position(|&b| b == b'"') {
                self.out.extend_from_slice(&rest[..=q]);
                self.out.push(b'"');
                rest = &rest[q + 1..];
            }
            self.out.extend_from_slice(rest);
            self.out.push(b'"');
        } else {
            self.out.extend_from_slice(v);
        }
    }

    /// Append one field known to need no quotes (a number: digits and `-`).
    pub fn plain_field(&mut self, v: &[u8]) {
        debug_assert!(!needs_quotes(v));
        if self.fields > 0 {
            self.out.push(b',');
        }
        self.fields += 1;
        self.out.extend_from_slice(v);
    }

    /// End the current record.
    pub fn end_record(&mut self) {
        if self.out.len() == self.record_start {
            self.out.extend_from_slice(b"\"\"");
        }
        self.out.extend_from_slice(b"\r\n");
        self.fields = 0;
        self.record_start = self.out.len();
    }

    /// A whole record.
    pub fn record<'a>(&mut self, fields: impl IntoIterator<Item = &'a [u8]>) {
        for f in fields {
            self.field(f);
        }
        self.end_record();
    }

    /// Bytes of the complete records so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The bytes so far (take only between records).
    pub fn into_inner(self) -> Vec<u8> {
        self.out
    }

    /// The bytes so far; the buffer starts again empty (a record in progress is lost, so take
    /// only between records).
    pub fn take(&mut self) -> Vec<u8> {
        self.fields = 0;
        self.record_start = 0;
        std::mem::take(&mut self.out)
    }
}

/// Whether a field holds a byte that must be quoted. Sixteen bytes are tested at a time with
/// no early exit inside a block, which the compiler turns into vector compares; the tail is
/// tested as one more block too (the last 16 bytes again, or the short field copied into a block
/// of zeros), since most fields are shorter than 16 bytes or not a multiple of it.
fn needs_quotes(v: &[u8]) -> bool {
    fn special(b: u8) -> u8 {
        u8::from(b == b',') | u8::from(b == b'"') | u8::from(b == b'\r') | u8::from(b == b'\n')
    }
    fn any_special(block: &[u8]) -> bool {
        block.iter().fold(0u8, |m, &b| m | special(b)) != 0
    }
    let mut blocks = v.chunks_exact(16);
    for block in &mut blocks {
        if any_special(block) {
            return true;
        }
    }
    let rest = blocks.remainder();
    if rest.is_empty() {
        false
    } else if v.len() >= 16 {
        any_special(&v[v.len() - 16..])
    } else {
        let mut last = [0u8; 16];
        last[..rest.len()].copy_from_slice(rest);
        any_special(&last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::scale::Rng;

    fn with_crate(rows: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Necessary)
            .terminator(csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(Vec::new());
        for r in rows {
            for f in r {
                w.write_field(f).unwrap();
            }
            w.write_record(None::<&[u8]>).unwrap();
        }
        w.into_inner().unwrap()
    }

    fn with_ours(rows: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut c = CsvRows::default();
        for r in rows {
            c.record(r.iter().map(Vec::as_slice));
        }
        c.take()
    }

    #[test]
    fn quoting_matches_the_csv_crate_on_chosen_fields() {
        let rows: Vec<Vec<Vec<u8>>> = [
            vec!["a", "b,c", "say \"hi\"", "", "x"],
            vec![""],
            vec!["", ""],
            vec!["\"", "\"\"", ",", "\r", "\n", "a\r\nb", "é ü 中"],
            vec!["C:\\Windows\\System32\\mmc.exe -Embedding", "{8f3e-…}"],
            vec![
                "trailing quote\"",
                "\"leading",
                "#hash",
                "'apostrophe",
                " space ",
            ],
        ]
        .iter()
        .map(|r| r.iter().map(|f| f.as_bytes().to_vec()).collect())
        .collect();
        let ours = with_ours(&rows);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&with_crate(&rows))
        );
        assert!(ours.starts_with(b"a,\"b,c\",\"say \"\"hi\"\"\",,x\r\n\"\"\r\n,\r\n"));
    }

    #[test]
    fn quoting_matches_the_csv_crate_on_random_fields() {
        let alphabet: &[u8] = b"ab,\"\r\n \\#'x\xc3\xa9";
        // Mostly plain bytes, so that one special byte at any position of a long field (in a
        // block of 16 or in the tail) decides alone.
        let plain: &[u8] = b"abcdefgh \\#'x\xc3\xa9";
        let mut rng = Rng(7);
        for round in 0..4_000 {
            let long = round % 2 == 1;
            let rows: Vec<Vec<Vec<u8>>> = (0..1 + rng.below(4) as usize)
                .map(|_| {
                    (0..1 + rng.below(6) as usize)
                        .map(|_| {
                            if long {
                                let mut f: Vec<u8> = (0..rng.below(50) as usize)
                                    .map(|_| plain[rng.below(plain.len() as u64) as usize])
                                    .collect();
                                if !f.is_empty() && rng.below(2) == 0 {
                                    let at = rng.below(f.len() as u64) as usize;
                                    f[at] = b",\"\r\n"[rng.below(4) as usize];
                                }
                                f
                            } else {
                                (0..rng.below(12) as usize)
                                    .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                                    .collect()
                            }
                        })
                        .collect()
                })
                .collect();
            assert_eq!(
                with_ours(&rows),
                with_crate(&rows),
                "round {round}: {rows:?}"
            );
        }
    }

    #[test]
    fn take_starts_a_fresh_buffer() {
        let mut c = CsvRows::with_capacity(16);
        c.record([b"a".as_slice(), b"b"]);
        assert_eq!(c.len(), 5);
        assert_eq!(c.take(), b"a,b\r\n");
        assert_eq!(c.len(), 0);
        c.record([b"".as_slice()]);
        assert_eq!(c.take(), b"\"\"\r\n");
    }
}
