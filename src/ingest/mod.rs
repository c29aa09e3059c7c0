//! The parse stage: one input file → its raw records (only those whose event id we keep) and
//! what reading it found. Formats are recognized by content, never by extension.

pub mod evtx;
pub mod evtx_check;
pub mod json_event;
pub mod json_records;
pub mod jsonl;
pub mod recognize;
pub mod template;
pub mod winlogbeat;
pub mod xml;

use crate::record::{RawRecord, ReadStats};
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Input formats, recognized by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Windows EVTX (`ElfFile\0` signature).
    Evtx,
    /// Event Viewer "Save as XML" / `wevtutil qe /f:xml` export.
    Xml,
    /// `evtx_dump -o jsonl` output: one `{"Event":…}` object a line.
    EvtxDumpJsonl,
    /// NXLog `im_msvistalog` JSON lines: flat keys (`EventID`, `Hostname`, `EventTime`, …).
    NxlogJsonl,
    /// Winlogbeat 6.x/7.x/8.x or Elastic Agent events, JSON lines or one JSON array.
    WinlogbeatJson,
    /// Starts like JSON but holds no event of a known shape: reported as unreadable.
    UnrecognizedJson,
}

impl Format {
    /// A JSON format (recognized from parsed records).
    pub fn is_json(self) -> bool {
        matches!(
            self,
            Format::EvtxDumpJsonl
                | Format::NxlogJsonl
                | Format::WinlogbeatJson
                | Format::UnrecognizedJson
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Evtx => "evtx",
            Format::Xml => "xml",
            Format::EvtxDumpJsonl => "evtx_dump_jsonl",
            Format::NxlogJsonl => "nxlog_jsonl",
            Format::WinlogbeatJson => "winlogbeat_json",
            Format::UnrecognizedJson => "unrecognized_json",
        }
    }
}

/// How many leading bytes [`sniff`] looks at: the EVTX file header and the first chunk's
/// signature.
pub const SNIFF_LEN: usize = 4104;

/// Recognize a format from a file's first bytes; `None` for anything else.
///
/// Text may be UTF-8 (with or without BOM) or UTF-16 LE/BE (with BOM, or starting with an ASCII
/// character): Event Viewer saves XML as UTF-16 LE, Windows PowerShell redirects as UTF-16 LE.
pub fn sniff(head: &[u8]) -> Option<Format> {
    // A damaged file signature with a chunk where the first belongs is still EVTX evidence:
    // it is read from its chunks (see `evtx_check`).
    if head.starts_with(b"ElfFile\0") || evtx_check::chunks_without_signature(head) {
        return Some(Format::Evtx);
    }
    // Text formats are recognized from the first 4096 bytes.
    let head = &head[..head.len().min(4096)];
    let (enc, bom) = xml::detect_encoding(head);
    let decoded;
    let text: &[u8] = match enc {
        xml::TextEncoding::Utf8 => &head[bom..],
        _ => {
            decoded = xml::decode_utf16_lossy(&head[bom..], enc);
            decoded.as_bytes()
        }
    };
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    // `evtx_dump -o xml` prints a `Record N` line before each record's XML.
    let xml_start = text.starts_with(b"<?xml")
        || text.starts_with(b"<Events")
        || text.starts_with(b"<Event")
        || (text.starts_with(b"Record ") && text.get(7).is_some_and(u8::is_ascii_digit));
    if xml_start {
        let s = String::from_utf8_lossy(text);
        if s.contains("<Event") && (s.contains("<System") || s.contains("<Events")) {
            return Some(Format::Xml);
        }
        return None;
    }
    if recognize::starts_like_json(text) {
        return Some(match recognize::recognize(text) {
            recognize::Verdict::Known(f) => f,
            // The head ends inside the first record: the keys seen so far decide.
            recognize::Verdict::Undecided => sniff_keys(text),
            recognize::Verdict::Unknown => Format::UnrecognizedJson,
        });
    }
    None
}

/// A JSON head cut inside its first record: recognized by the keys it shows.
fn sniff_keys(text: &[u8]) -> Format {
    let s = String::from_utf8_lossy(text);
    let has = |k: &str| s.contains(&format!("\"{k}\""));
    if has("Event") && has("System") {
        Format::EvtxDumpJsonl
    } else if has("winlog") || (has("event_data") && has("log_name")) {
        Format::WinlogbeatJson
    } else if has("EventID") && (has("Hostname") || has("EventTime") || has("Channel")) {
        Format::NxlogJsonl
    } else {
        Format::UnrecognizedJson
    }
}

/// Sniff a file on disk.
pub fn sniff_path(path: &Path) -> std::io::Result<Option<Format>> {
    let mut f = crate::open::open_input(path)?;
    let mut head = vec![0u8; SNIFF_LEN];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    head.truncate(n);
    let format = sniff(&head);
    if n == SNIFF_LEN && format.is_some_and(Format::is_json) {
        // The head may end inside the first record: parse the first records whole.
        let file = crate::open::open_input(path)?;
        return Ok(Some(match recognize::recognize(file) {
            recognize::Verdict::Known(f) => f,
            recognize::Verdict::Unknown => Format::UnrecognizedJson,
            recognize::Verdict::Undecided => sniff_keys(&head),
        }));
    }
    Ok(format)
}

/// Read one input of a known format.
pub fn read(
    path: &Path,
    display: &Arc<str>,
    format: Format,
) -> std::io::Result<(Vec<RawRecord>, ReadStats)> {
    match format {
        Format::Evtx => evtx::read(path, display),
        Format::Xml => xml::read(path, display),
        Format::EvtxDumpJsonl => jsonl::read(path, display, jsonl::Flavor::EvtxDump),
        Format::NxlogJsonl => jsonl::read(path, display, jsonl::Flavor::Nxlog),
        Format::WinlogbeatJson => jsonl::read(path, display, jsonl::Flavor::Winlogbeat),
        Format::UnrecognizedJson => Ok((Vec::new(), unrecognized_json())),
    }
}

/// The JSON reader's flavor of a format read as JSON records.
pub fn json_flavor(format: Format) -> Option<jsonl::Flavor> {
    match format {
        Format::EvtxDumpJsonl => Some(jsonl::Flavor::EvtxDump),
        Format::NxlogJsonl => Some(jsonl::Flavor::Nxlog),
        Format::WinlogbeatJson => Some(jsonl::Flavor::Winlogbeat),
        _ => None,
    }
}

/// What reading an unrecognized JSON file gives: nothing, and damage that says why.
fn unrecognized_json() -> ReadStats {
    ReadStats {
        damage: vec![crate::record::Damage {
            chunk: None,
            offset: None,
            line: None,
            records_lost: None,
            reason: format!(
                "starts like JSON, but none of its first {} records is an event of a known shape (evtx_dump, NXLog, Winlogbeat, Elastic Agent): not read",
                recognize::RECORDS
            ),
        }],
        ..ReadStats::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"ElfFile\0rest"), Some(Format::Evtx));
        assert_eq!(
            sniff(b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<Events><Event><System>"),
            Some(Format::Xml)
        );
        assert_eq!(
            sniff(b"{\"Event\":{\"System\":{}}}\n"),
            Some(Format::EvtxDumpJsonl)
        );
        assert_eq!(
            sniff(b"{\"EventTime\":\"2020-09-17 13:31:47\",\"Hostname\":\"h\",\"EventID\":1}\n"),
            Some(Format::NxlogJsonl)
        );
        let utf16: Vec<u8> = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Events><Event xmlns='e'><System>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(sniff(&utf16), Some(Format::Xml));
        assert_eq!(sniff(&utf16[..utf16.len() - 1]), Some(Format::Xml));
        assert_eq!(sniff(&utf16[2..]), Some(Format::Xml));
        let be: Vec<u8> = "\u{feff}<Event xmlns='e'><System>"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(sniff(&be), Some(Format::Xml));
        assert_eq!(
            sniff(b"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"),
            Some(Format::Xml)
        );
        assert_eq!(
            sniff(b"Record 1\n<?xml version=\"1.0\"?>\n<Event xmlns=\"x\">\n  <System>"),
            Some(Format::Xml)
        );
        let nx16: Vec<u8> =
            "\u{feff}{\"EventTime\":\"2020-09-17 13:31:47\",\"Hostname\":\"h\",\"EventID\":1}\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect();
        assert_eq!(sniff(&nx16), Some(Format::NxlogJsonl));
        assert_eq!(sniff(b"<html><body>"), None);
        assert_eq!(sniff(b"Record of things"), None);
        assert_eq!(sniff(b"MZ\x90\0"), None);
        assert_eq!(sniff(b"{\"a\":1}"), Some(Format::UnrecognizedJson));
        assert_eq!(sniff(b""), None);
    }
}
