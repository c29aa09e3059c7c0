//! Event Viewer "Save as XML" and `wevtutil qe /f:xml` exports → [`RawRecord`]s.
//!
//! Streaming with quick-xml: only the `<Event>` being read is held in memory, never the whole
//! document. Both an `<Events>` wrapper and a bare sequence of `<Event>` elements without a root
//! (what `wevtutil qe` prints, often without an XML declaration) are read; any text between
//! events (`evtx_dump -o xml` prints `Record N` lines) is ignored. `RenderingInfo` is ignored.
//!
//! Input may be UTF-8 (with or without BOM) or UTF-16 LE/BE (with BOM, or without one when the
//! file starts with an ASCII character): UTF-16 is decoded to UTF-8 chunk by chunk before the
//! XML parser sees it ([`TextSource`]), so line numbers are the same whatever the encoding.

use crate::record::{Damage, Provenance, RawRecord, ReadStats, wanted_event_id};
use crate::time::Ts;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use std::borrow::Cow;
use std::io::{self, BufRead, Read};
use std::path::Path;
use std::sync::Arc;

/// The most bytes one XML token (a tag, a run of text) or one `<Event>` may take. Larger ones
/// are damage, never an out-of-memory.
pub const MAX_EVENT_BYTES: u64 = 16 << 20;
/// Damage entries recorded per file before reading stops (a file of garbage is one problem).
const MAX_DAMAGE: usize = 10_000;
const READ_CHUNK: usize = 64 * 1024;

/// Text encoding of an input, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

/// The encoding of a text file and the length of its byte order mark. Without a BOM, a file
/// whose first two bytes are `X 0` (`0 X`) with X non-zero is UTF-16 LE (BE): a UTF-8 text never
/// holds a NUL byte that early.
pub fn detect_encoding(head: &[u8]) -> (TextEncoding, usize) {
    match head {
        [0xEF, 0xBB, 0xBF, ..] => (TextEncoding::Utf8, 3),
        [0xFF, 0xFE, ..] => (TextEncoding::Utf16Le, 2),
        [0xFE, 0xFF, ..] => (TextEncoding::Utf16Be, 2),
        [a, 0, ..] if *a != 0 => (TextEncoding::Utf16Le, 0),
        [0, b, ..] if *b != 0 => (TextEncoding::Utf16Be, 0),
        _ => (TextEncoding::Utf8, 0),
    }
}

/// Decode a UTF-16 byte slice (no BOM) lossily; a trailing odd byte or a cut surrogate pair
/// (the end of a sniffed head) is dropped.
pub fn decode_utf16_lossy(bytes: &[u8], enc: TextEncoding) -> String {
    let mut units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| unit(enc, p[0], p[1]))
        .collect();
    if units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
        units.pop();
    }
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

fn unit(enc: TextEncoding, a: u8, b: u8) -> u16 {
    match enc {
        TextEncoding::Utf16Be => u16::from_be_bytes([a, b]),
        _ => u16::from_le_bytes([a, b]),
    }
}

/// A [`BufRead`] giving UTF-8 text from a UTF-8 or UTF-16 input, decoded in chunks, that counts
/// the lines consumed and refuses to let one token grow past a limit.
///
/// The limit is counted from the last [`TextSource::mark`]: the XML reader marks after every
/// token, so a single tag or text run larger than the limit ends the read with an error instead
/// of filling memory.
pub struct TextSource<R> {
    inner: R,
    enc: TextEncoding,
    /// Undecoded UTF-16 bytes carried to the next chunk (an odd byte, a high surrogate).
    carry: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    eof: bool,
    started: bool,
    newlines: u64,
    consumed: u64,
    mark: u64,
    limit: u64,
    /// Invalid UTF-16 code units replaced by U+FFFD.
    pub replaced: u64,
}

impl<R: Read> TextSource<R> {
    /// Wrap `inner`; the encoding is detected from the first bytes and the BOM dropped.
    pub fn new(inner: R, limit: u64) -> TextSource<R> {
        TextSource {
            inner,
            enc: TextEncoding::Utf8,
            carry: Vec::new(),
            out: Vec::new(),
            pos: 0,
            eof: false,
            started: false,
            newlines: 0,
            consumed: 0,
            mark: 0,
            limit,
            replaced: 0,
        }
    }

    pub fn encoding(&self) -> TextEncoding {
        self.enc
    }

    /// Newlines consumed so far: the current line is this plus one.
    pub fn newlines(&self) -> u64 {
        self.newlines
    }

    /// Bytes (of UTF-8 output) consumed so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Restart the token size limit from here.
    pub fn mark(&mut self) {
        self.mark = self.consumed;
    }

    fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }

    /// Refill `out` with the next decoded chunk; leaves it empty at the end of input.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.pos = 0;
        let mut raw = vec![0u8; READ_CHUNK];
        while self.out.is_empty() && !self.eof {
            let n = self.read_raw(&mut raw)?;
            let mut bytes = &raw[..n];
            if !self.started {
                // Detect the encoding from the first bytes (at least 3 when the input has them).
                self.carry.extend_from_slice(bytes);
                if self.carry.len() < 3 && n > 0 {
                    continue;
                }
                self.started = true;
                let first = std::mem::take(&mut self.carry);
                let (enc, bom) = detect_encoding(&first);
                self.enc = enc;
                self.decode(&first[bom..], n == 0);
                if n == 0 {
                    self.eof = true;
                }
                continue;
            }
            if n == 0 {
                self.eof = true;
                bytes = &[];
            }
            let eof = self.eof;
            self.decode(bytes, eof);
        }
        Ok(())
    }

    fn decode(&mut self, bytes: &[u8], last: bool) {
        if self.enc == TextEncoding::Utf8 {
            self.out.extend_from_slice(bytes);
            return;
        }
        self.carry.extend_from_slice(bytes);
        let whole = self.carry.len() / 2 * 2;
        let mut units: Vec<u16> = self.carry[..whole]
            .chunks_exact(2)
            .map(|p| unit(self.enc, p[0], p[1]))
            .collect();
        let mut keep = self.carry.split_off(whole);
        // A high surrogate at the end waits for its pair in the next chunk.
        if !last && units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
            let u = units.pop().unwrap_or_default();
            let b = match self.enc {
                TextEncoding::Utf16Be => u.to_be_bytes(),
                _ => u.to_le_bytes(),
            };
            let mut k = b.to_vec();
            k.extend_from_slice(&keep);
            keep = k;
        }
        self.carry = keep;
        let mut s = String::with_capacity(units.len());
        for c in char::decode_utf16(units) {
            match c {
                Ok(c) => s.push(c),
                Err(_) => {
                    self.replaced += 1;
                    s.push(char::REPLACEMENT_CHARACTER);
                }
            }
        }
        if last && !self.carry.is_empty() {
            // An odd byte at the very end.
            self.replaced += 1;
            s.push(char::REPLACEMENT_CHARACTER);
            self.carry.clear();
        }
        self.out.extend_from_slice(s.as_bytes());
    }
}

impl<R: Read> Read for TextSource<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for TextSource<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.consumed - self.mark > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a single element or text is larger than {} MiB",
                    self.limit >> 20
                ),
            ));
        }
        if self.pos >= self.out.len() {
            self.refill()?;
        }
        Ok(&self.out[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        let end = (self.pos + amt).min(self.out.len());
        self.newlines += self.out[self.pos..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.consumed += (end - self.pos) as u64;
        self.pos = end;
    }
}

/// Read one XML export file.
pub fn read(path: &Path, display: &Arc<str>) -> io::Result<(Vec<RawRecord>, ReadStats)> {
    let file = crate::open::open_input(path)?;
    Ok(read_from(file, display, &wanted_event_id))
}

/// Read an XML export from any reader, keeping the records whose event id `keep` accepts.
/// Never fails: what cannot be read is reported as damage in the stats.
pub fn read_from<R: Read>(
    input: R,
    display: &Arc<str>,
    keep: &dyn Fn(u32) -> bool,
) -> (Vec<RawRecord>, ReadStats) {
    let mut st = XmlState {
        display: display.clone(),
        keep,
        records: Vec::new(),
        stats: ReadStats::default(),
        pending: None,
        bad_text: 0,
        bad_time: 0,
    };
    let mut reader = Reader::from_reader(TextSource::new(input, MAX_EVENT_BYTES));
    {
        let c = reader.config_mut();
        c.trim_text(false);
        c.check_end_names = false;
        c.allow_unmatched_ends = true;
        c.expand_empty_elements = false;
        c.check_comments = false;
    }
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let before = reader.buffer_position();
        let ev = reader.read_event_into(&mut buf);
        let src = reader.get_ref();
        let newlines = src.newlines();
        let consumed = src.consumed();
        match ev {
            Ok(Event::Eof) => {
                if let Some(p) = st.pending.take() {
                    st.stats.truncated = true;
                    st.damage(
                        p.line,
                        Some(1),
                        format!(
                            "the file ends inside the <Event> that starts on line {}",
                            p.line
                        ),
                    );
                }
                break;
            }
            Ok(Event::Start(e)) => st.open(&e, false, newlines, consumed),
            Ok(Event::Empty(e)) => st.open(&e, true, newlines, consumed),
            Ok(Event::End(e)) => {
                let name = e.local_name();
                st.close(name.as_ref(), newlines + 1);
            }
            Ok(Event::Text(t)) => {
                if st.capturing() {
                    let s = unescape_text(&t, &mut st.bad_text);
                    st.text(&s);
                }
            }
            Ok(Event::CData(t)) => {
                if st.capturing() {
                    let s = lossy(&t, &mut st.bad_text);
                    st.text(&s);
                }
            }
            Ok(_) => {}
            Err(e) => {
                let line = newlines + 1;
                let lost = st.pending.take().map(|_| 1);
                let fatal = matches!(e, quick_xml::Error::Io(_));
                st.damage(
                    line,
                    lost,
                    format!(
                        "XML error{}: {e}",
                        if fatal { ", rest of file not read" } else { "" }
                    ),
                );
                if fatal || reader.buffer_position() == before {
                    break;
                }
            }
        }
        if let Some(p) = &mut st.pending
            && !p.oversize
            && consumed - p.start_consumed > MAX_EVENT_BYTES
        {
            p.oversize = true;
            let line = p.line;
            st.damage(
                line,
                Some(1),
                format!(
                    "<Event> on line {line} is larger than {} MiB: skipped",
                    MAX_EVENT_BYTES >> 20
                ),
            );
        }
        if st.stats.damage.len() >= MAX_DAMAGE {
            st.stats
                .notes
                .push(format!("reading stopped after {MAX_DAMAGE} damaged places"));
            break;
        }
        reader.get_mut().mark();
    }
    let replaced = reader.get_ref().replaced;
    let enc = reader.get_ref().encoding();
    let mut stats = st.stats;
    if enc != TextEncoding::Utf8 {
        stats.notes.push(format!(
            "{} text, decoded to UTF-8",
            if enc == TextEncoding::Utf16Le {
                "UTF-16 LE"
            } else {
                "UTF-16 BE"
            }
        ));
    }
    if replaced > 0 {
        stats.notes.push(format!(
            "{replaced} invalid UTF-16 code unit(s) replaced by U+FFFD"
        ));
    }
    if st.bad_text > 0 {
        stats.notes.push(format!(
            "{} text value(s) held invalid UTF-8 (replaced by U+FFFD) or an unknown entity (kept as written)",
            st.bad_text
        ));
    }
    if st.bad_time > 0 {
        stats.notes.push(format!(
            "{} record(s) have a TimeCreated/@SystemTime that cannot be read: no time",
            st.bad_time
        ));
    }
    stats.records_wanted = st.records.len() as u64;
    (st.records, stats)
}

fn lossy<'a>(raw: &'a [u8], bad: &mut u64) -> Cow<'a, str> {
    let s = String::from_utf8_lossy(raw);
    if matches!(s, Cow::Owned(_)) {
        *bad += 1;
    }
    s
}

/// Raw (escaped) text → its value: entities and character references decoded.
fn unescape_text(raw: &[u8], bad: &mut u64) -> String {
    let s = lossy(raw, bad);
    match quick_xml::escape::unescape(&s) {
        Ok(v) => v.into_owned(),
        Err(_) => {
            *bad += 1;
            s.into_owned()
        }
    }
}

/// An attribute's value, by local name.
fn attr(e: &BytesStart<'_>, name: &[u8], bad: &mut u64) -> Option<String> {
    let mut attrs = e.attributes();
    attrs.with_checks(false);
    for a in attrs.flatten() {
        if a.key.local_name().as_ref() == name {
            return Some(unescape_text(&a.value, bad));
        }
    }
    None
}

/// Where a new element opens, relative to `<Event>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    System,
    EventData,
    /// The one element inside UserData.
    UserWrapper,
    UserData,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SysField {
    EventId,
    RecordId,
    Channel,
    Computer,
}

#[derive(Debug)]
enum Target {
    System(SysField),
    /// A field of EventData (`true`) or UserData (`false`); `None` name: an unnamed `<Data>`.
    Field(Option<String>, bool),
}

#[derive(Debug)]
struct Capture {
    target: Target,
    /// Stack depth of the captured element (its text is the text at exactly this depth).
    depth: usize,
    text: String,
    had_child: bool,
}

/// The `<Event>` being read.
#[derive(Debug, Default)]
struct Pending {
    line: u64,
    start_consumed: u64,
    /// Local names of the open elements below `<Event>`.
    stack: Vec<Vec<u8>>,
    has_system: bool,
    channel: String,
    provider: String,
    event_id: Option<u32>,
    record_id: Option<u64>,
    time: Option<String>,
    computer: String,
    event_data: Option<Vec<(Arc<str>, String)>>,
    user_data: Option<Vec<(Arc<str>, String)>>,
    capture: Option<Capture>,
    /// Field names seen in the current container (EventData, or one UserData element), with how
    /// many times: a repeated name gets `_1`, `_2`, … as the evtx crate's JSON numbers it.
    names: Vec<(String, u32)>,
    oversize: bool,
}

impl Pending {
    /// Whether fields need collecting: not when the event id is known to be unwanted.
    fn wants_data(&self, keep: &dyn Fn(u32) -> bool) -> bool {
        !self.oversize && self.event_id.is_none_or(keep)
    }

    fn in_data(&self) -> bool {
        matches!(
            self.stack.first().map(Vec::as_slice),
            Some(b"EventData" | b"UserData")
        )
    }
}

struct XmlState<'k> {
    display: Arc<str>,
    keep: &'k dyn Fn(u32) -> bool,
    records: Vec<RawRecord>,
    stats: ReadStats,
    pending: Option<Pending>,
    bad_text: u64,
    bad_time: u64,
}

impl XmlState<'_> {
    fn damage(&mut self, line: u64, lost: Option<u64>, reason: String) {
        self.stats.damage.push(Damage {
            chunk: None,
            offset: None,
            line: Some(line),
            records_lost: lost,
            reason,
        });
    }

    fn capturing(&self) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|p| p.capture.as_ref().is_some_and(|c| c.depth == p.stack.len()))
    }

    fn text(&mut self, s: &str) {
        if let Some(c) = self.pending.as_mut().and_then(|p| p.capture.as_mut()) {
            c.text.push_str(s);
        }
    }

    /// A start (or empty) tag. `newlines`/`consumed`: counts up to the end of the tag.
    fn open(&mut self, e: &BytesStart<'_>, empty: bool, newlines: u64, consumed: u64) {
        let local = e.local_name().as_ref().to_vec();
        let starts_event = local == b"Event" && self.pending.as_ref().is_none_or(|p| !p.in_data());
        if starts_event {
            // The tag's own line breaks (attributes on several lines) are already counted.
            let raw: &[u8] = e;
            let inside = raw.iter().filter(|&&b| b == b'\n').count() as u64;
            let line = newlines - inside.min(newlines) + 1;
            let tag_len = raw.len() as u64 + 2;
            if let Some(p) = self.pending.take() {
                self.damage(
                    p.line,
                    Some(1),
                    format!(
                        "the <Event> that starts on line {} is not closed before the next one on line {line}",
                        p.line
                    ),
                );
            }
            self.pending = Some(Pending {
                line,
                start_consumed: consumed.saturating_sub(tag_len),
                ..Pending::default()
            });
            if empty {
                self.finish();
            }
            return;
        }
        let keep = self.keep;
        let Some(p) = self.pending.as_mut() else {
            // Outside any event: `<Events>`, or anything else; ignored.
            return;
        };
        let mut bad = 0;
        let depth = p.stack.len() + 1;
        if let Some(c) = &mut p.capture {
            c.had_child = true;
        }
        let ctx = match p.stack.as_slice() {
            [] => Ctx::Top,
            [a] if a.as_slice() == b"System" => Ctx::System,
            [a] if a.as_slice() == b"EventData" => Ctx::EventData,
            [a] if a.as_slice() == b"UserData" => Ctx::UserWrapper,
            [a, _] if a.as_slice() == b"UserData" => Ctx::UserData,
            _ => Ctx::Other,
        };
        let target = match ctx {
            Ctx::Top => {
                match local.as_slice() {
                    b"System" => p.has_system = true,
                    b"EventData" => {
                        p.event_data.get_or_insert_with(Vec::new);
                        p.names.clear();
                    }
                    b"UserData" => {
                        p.user_data.get_or_insert_with(Vec::new);
                    }
                    _ => {}
                }
                None
            }
            Ctx::System => match local.as_slice() {
                b"Provider" => {
                    if let Some(v) = attr(e, b"Name", &mut bad) {
                        p.provider = v;
                    }
                    None
                }
                b"TimeCreated" => {
                    p.time = attr(e, b"SystemTime", &mut bad);
                    None
                }
                b"EventID" => Some(Target::System(SysField::EventId)),
                b"EventRecordID" => Some(Target::System(SysField::RecordId)),
                b"Channel" => Some(Target::System(SysField::Channel)),
                b"Computer" => Some(Target::System(SysField::Computer)),
                _ => None,
            },
            Ctx::EventData if p.wants_data(keep) => Some(field_target(e, &local, true, &mut bad)),
            Ctx::UserWrapper => {
                p.names.clear();
                None
            }
            Ctx::UserData if p.wants_data(keep) => Some(field_target(e, &local, false, &mut bad)),
            _ => None,
        };
        self.bad_text += bad;
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        if let Some(target) = target {
            let c = Capture {
                target,
                depth,
                text: String::new(),
                had_child: false,
            };
            if empty {
                self.apply(c);
                return;
            }
            p.capture = Some(c);
        }
        if !empty {
            p.stack.push(local);
        }
    }

    fn close(&mut self, local: &[u8], line: u64) {
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        let Some(top) = p.stack.last() else {
            if local == b"Event" {
                self.finish();
            } else {
                let start = p.line;
                self.pending = None;
                self.damage(
                    line,
                    Some(1),
                    format!(
                        "</{}> closes the <Event> that starts on line {start}",
                        String::from_utf8_lossy(local)
                    ),
                );
            }
            return;
        };
        if top.as_slice() != local {
            let msg = format!(
                "</{}> where </{}> was expected, in the <Event> that starts on line {}",
                String::from_utf8_lossy(local),
                String::from_utf8_lossy(top),
                p.line
            );
            self.pending = None;
            self.damage(line, Some(1), msg);
            return;
        }
        let depth = p.stack.len();
        p.stack.pop();
        if p.capture.as_ref().is_some_and(|c| c.depth == depth)
            && let Some(c) = p.capture.take()
        {
            self.apply(c);
        }
    }

    /// A captured element is complete: store its value.
    fn apply(&mut self, c: Capture) {
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        let value = if c.had_child {
            c.text.trim().to_string()
        } else {
            c.text
        };
        match c.target {
            Target::System(SysField::EventId) => {
                p.event_id = Some(value.trim().parse().unwrap_or(0))
            }
            Target::System(SysField::RecordId) => p.record_id = value.trim().parse().ok(),
            Target::System(SysField::Channel) => p.channel = value,
            Target::System(SysField::Computer) => p.computer = value,
            Target::Field(name, event_data) => {
                let list = if event_data {
                    p.event_data.get_or_insert_with(Vec::new)
                } else {
                    p.user_data.get_or_insert_with(Vec::new)
                };
                let name = match name {
                    Some(n) => {
                        let seen = match p.names.iter_mut().find(|(k, _)| *k == n) {
                            Some((_, c)) => {
                                *c += 1;
                                *c - 1
                            }
                            None => {
                                p.names.push((n.clone(), 1));
                                0
                            }
                        };
                        if seen == 0 { n } else { format!("{n}_{seen}") }
                    }
                    None => format!("Data{}", list.len() + 1),
                };
                list.push((name.into(), value));
            }
        }
    }

    /// `</Event>`: the record is complete.
    fn finish(&mut self) {
        let Some(p) = self.pending.take() else {
            return;
        };
        self.stats.records_read += 1;
        if p.oversize {
            return;
        }
        if !p.has_system {
            self.damage(
                p.line,
                Some(1),
                format!("the <Event> on line {} has no <System>", p.line),
            );
            return;
        }
        let event_id = p.event_id.unwrap_or(0);
        if !(self.keep)(event_id) {
            return;
        }
        let time = match p.time.as_deref() {
            Some(t) => {
                let ts = Ts::parse(t);
                if ts.is_none() {
                    self.bad_time += 1;
                }
                ts
            }
            None => None,
        };
        let data = match (p.event_data, p.user_data) {
            (Some(d), _) => d,
            (None, Some(u)) => u,
            (None, None) => Vec::new(),
        };
        self.records.push(RawRecord {
            channel: p.channel,
            provider: p.provider,
            event_id,
            record_id: p.record_id,
            time,
            computer: p.computer,
            data,
            prov: Provenance {
                file: self.display.clone(),
                chunk: None,
                offset: None,
                line: Some(p.line),
            },
        });
    }
}

/// A field element of EventData (or of UserData's one child): `<Data Name="x">`, an unnamed
/// `<Data>`, or any other element named by its tag (`<Binary>`, UserData's fields).
fn field_target(e: &BytesStart<'_>, local: &[u8], event_data: bool, bad: &mut u64) -> Target {
    let name = if local == b"Data" {
        attr(e, b"Name", bad)
    } else {
        Some(lossy(e.name().as_ref(), bad).into_owned())
    };
    Target::Field(name, event_data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(s: &[u8]) -> (Vec<RawRecord>, ReadStats) {
        read_from(s, &Arc::from("t.xml"), &|_| true)
    }

    const TWO: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'/><EventID>1</EventID><TimeCreated SystemTime='2019-04-30T20:35:11.8560890Z'/><EventRecordID>9832</EventRecordID><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>IEWIN7</Computer></System><EventData><Data Name='CommandLine'>\"a &amp; b\" &lt;x&gt; &#x41;</Data><Data Name='Empty'/><Data Name='Spaces'>  two  </Data></EventData><RenderingInfo Culture='en-US'><Message>m</Message></RenderingInfo></Event>\n<Event\n  xmlns='x'><System><Provider Name='EventLog'/><EventID Qualifiers='32768'>6005</EventID><Channel>System</Channel><Computer>H</Computer></System><EventData><Data>a</Data><Data>b</Data><Binary>00</Binary></EventData></Event>";

    #[test]
    fn reads_bare_events_with_lines_and_entities() {
        let (r, st) = read_str(TWO.as_bytes());
        assert_eq!(st.records_read, 2);
        assert!(st.damage.is_empty(), "{:?}", st.damage);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].prov.line, Some(1));
        assert_eq!(r[0].event_id, 1);
        assert_eq!(r[0].record_id, Some(9832));
        assert_eq!(r[0].provider, "Microsoft-Windows-Sysmon");
        assert_eq!(r[0].time.unwrap().iso(), "2019-04-30T20:35:11.8560890Z");
        assert_eq!(
            r[0].data,
            vec![
                ("CommandLine".into(), "\"a & b\" <x> A".into()),
                ("Empty".into(), String::new()),
                ("Spaces".into(), "  two  ".into())
            ]
        );
        assert_eq!(r[1].prov.line, Some(2));
        assert_eq!(r[1].event_id, 6005);
        assert_eq!(r[1].record_id, None);
        assert_eq!(r[1].time, None);
        assert_eq!(r[1].get("Data1"), Some("a"));
        assert_eq!(r[1].get("Data2"), Some("b"));
        assert_eq!(r[1].get("Binary"), Some("00"));
    }

    #[test]
    fn repeated_names_are_numbered_like_the_evtx_json() {
        let doc = "<Event><System><EventID>26</EventID></System><EventData><Data Name='C'>1</Data><Data Name='C'>2</Data><Data Name='D'/><Data Name='C'>3</Data></EventData></Event>";
        let (r, _) = read_str(doc.as_bytes());
        let names: Vec<&str> = r[0].data.iter().map(|(k, _)| &**k).collect();
        assert_eq!(names, ["C", "C_1", "D", "C_2"]);
    }

    #[test]
    fn filters_but_counts() {
        let (r, st) = read_from(TWO.as_bytes(), &Arc::from("t.xml"), &|id| id == 6005);
        assert_eq!(st.records_read, 2);
        assert_eq!(st.records_wanted, 1);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].event_id, 6005);
    }

    #[test]
    fn user_data_and_events_wrapper() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<Events>\r\n<Event xmlns=\"e\">\r\n <System><EventID>1102</EventID><Channel>Security</Channel></System>\r\n <UserData><LogFileCleared xmlns=\"m\"><SubjectUserName>admin01</SubjectUserName><SubjectLogonId>0xaf855</SubjectLogonId></LogFileCleared></UserData>\r\n</Event>\r\n</Events>\r\n";
        let (r, st) = read_str(doc.as_bytes());
        assert!(st.damage.is_empty());
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].prov.line, Some(3));
        assert_eq!(
            r[0].data,
            vec![
                ("SubjectUserName".into(), "admin01".into()),
                ("SubjectLogonId".into(), "0xaf855".into())
            ]
        );
    }

    fn utf16(s: &str, be: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if be { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] });
        }
        for u in s.encode_utf16() {
            out.extend_from_slice(&if be { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        out
    }

    /// A reader handing out one byte at a time: every chunk boundary falls everywhere.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    #[test]
    fn utf16_in_any_chunking() {
        let doc = TWO.replace("a &amp; b", "a 😀 é b");
        let (want, _) = read_str(doc.as_bytes());
        for (be, bom) in [(false, true), (true, true), (false, false)] {
            let bytes = utf16(&doc, be, bom);
            let (r, st) = read_from(Trickle(&bytes), &Arc::from("t.xml"), &|_| true);
            assert!(st.damage.is_empty());
            assert_eq!(r, want);
            assert_eq!(r[0].get("CommandLine"), Some("\"a 😀 é b\" <x> A"));
            assert!(st.notes.iter().any(|n| n.contains("UTF-16")));
            let (r2, _) = read_from(&bytes[..], &Arc::from("t.xml"), &|_| true);
            assert_eq!(r2, want);
        }
        // UTF-8 with a BOM, trickled.
        let mut b = vec![0xEF, 0xBB, 0xBF];
        b.extend_from_slice(doc.as_bytes());
        assert_eq!(
            read_from(Trickle(&b), &Arc::from("t.xml"), &|_| true).0,
            want
        );
    }

    #[test]
    fn lone_surrogates_are_replaced() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(utf16(
            "<Event><System><EventID>1</EventID><Computer>",
            false,
            false,
        ));
        bytes.extend_from_slice(&0xD800u16.to_le_bytes());
        bytes.extend(utf16("x</Computer></System></Event>", false, false));
        let (r, st) = read_str(&bytes);
        assert_eq!(r[0].computer, "\u{FFFD}x");
        assert!(st.notes.iter().any(|n| n.contains("1 invalid UTF-16")));
    }

    #[test]
    fn truncated_and_broken_input_is_damage() {
        let cut = &TWO[..TWO.len() - 30];
        let (r, st) = read_str(cut.as_bytes());
        assert_eq!(r.len(), 1);
        assert!(st.truncated);
        assert_eq!(st.damage.len(), 1);
        assert_eq!(st.damage[0].line, Some(2));

        let bad = "<Event><System><EventID>1</EventID></Sys></Event>\n<Event><System><EventID>5</EventID></System></Event>";
        let (r, st) = read_str(bad.as_bytes());
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].event_id, 5);
        assert_eq!(r[0].prov.line, Some(2));
        assert_eq!(st.damage.len(), 1);
        assert!(st.damage[0].reason.contains("</Sys>"), "{:?}", st.damage);

        let (r, st) = read_str(b"<Event><System><EventID>1</EventID>\xff\xfe</System><EventData><Data Name='a'>\xc3(</Data></EventData></Event>");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].get("a"), Some("\u{FFFD}("));
        assert!(st.damage.is_empty());
        assert!(st.notes.iter().any(|n| n.contains("invalid UTF-8")));

        let (r, st) = read_str(b"<Event><EventData/></Event><Event><System><EventID>4");
        assert!(r.is_empty());
        assert_eq!(st.damage.len(), 2, "{:?}", st.damage);
        assert!(st.damage[0].reason.contains("no <System>"));

        let (r, st) = read_str(b"garbage < that is & not xml <<<>>> \0\0");
        assert!(r.is_empty());
        assert_eq!(st.records_read, 0);
    }

    #[test]
    fn oversized_text_stops_without_eating_memory() {
        let mut doc =
            b"<Event><System><EventID>1</EventID></System><EventData><Data Name='x'>".to_vec();
        doc.resize(doc.len() + (MAX_EVENT_BYTES as usize) + 300_000, b'a');
        doc.extend_from_slice(b"</Data></EventData></Event>");
        let (r, st) = read_str(&doc);
        assert!(r.is_empty());
        assert!(!st.damage.is_empty());
        assert!(
            st.damage.iter().any(|d| d.reason.contains("MiB")),
            "{:?}",
            st.damage
        );
    }

    #[test]
    fn encodings_detected() {
        assert_eq!(detect_encoding(b"\xFF\xFE<\0"), (TextEncoding::Utf16Le, 2));
        assert_eq!(detect_encoding(b"<\0E\0"), (TextEncoding::Utf16Le, 0));
        assert_eq!(detect_encoding(b"\0<\0E"), (TextEncoding::Utf16Be, 0));
        assert_eq!(detect_encoding(b"\xEF\xBB\xBF<"), (TextEncoding::Utf8, 3));
        assert_eq!(detect_encoding(b"<E"), (TextEncoding::Utf8, 0));
        assert_eq!(
            decode_utf16_lossy(&utf16("<Ev😀", false, false)[..9], TextEncoding::Utf16Le),
            "<Ev"
        );
    }
}
