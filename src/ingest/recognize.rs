//! Which JSON event format a file holds, decided from its first records parsed whole — never
//! from where a key happens to fall in the first bytes.
//!
//! Up to [`RECORDS`] records are parsed (each as long as it is, up to the record limit); the
//! first one that is an event of a known shape decides. A file that starts like JSON but whose
//! first records are none of them is [`Format::UnrecognizedJson`]: reported as evidence that
//! could not be read, never skipped silently.

use super::Format;
use super::json_records::{JsonRecords, Next};
use super::winlogbeat;
use serde_json::{Map, Value};
use std::io::Read;

/// How many records recognition parses at most.
pub const RECORDS: usize = 8;

/// The format of one parsed record, if it is an event of a known shape.
pub fn record_format(obj: &Map<String, Value>) -> Option<Format> {
    if obj
        .get("Event")
        .and_then(Value::as_object)
        .is_some_and(|e| e.get("System").is_some_and(Value::is_object))
    {
        return Some(Format::EvtxDumpJsonl);
    }
    if winlogbeat::shape(obj).is_some() {
        return Some(Format::WinlogbeatJson);
    }
    let nxlog_key = ["Hostname", "EventTime", "Channel", "SourceName"]
        .iter()
        .any(|k| obj.contains_key(*k));
    if obj.contains_key("EventID") && nxlog_key {
        return Some(Format::NxlogJsonl);
    }
    None
}

/// What the first records of a JSON input are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A known format.
    Known(Format),
    /// Records were read and none is an event of a known shape.
    Unknown,
    /// No complete record in the input (e.g. a head cut inside the first record).
    Undecided,
}

/// Parse up to [`RECORDS`] records of `input` and say which format they are.
pub fn recognize<R: Read>(input: R) -> Verdict {
    let mut records = JsonRecords::new(input);
    let mut complete = 0;
    while complete < RECORDS {
        let Some(next) = records.next_record() else {
            break;
        };
        let Next::Record { bytes, .. } = next else {
            continue;
        };
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(obj)) => {
                if let Some(f) = record_format(&obj) {
                    return Verdict::Known(f);
                }
            }
            // Cut off (the end of a head): says nothing.
            Err(e) if e.is_eof() => continue,
            _ => {}
        }
        complete += 1;
    }
    if complete > 0 {
        Verdict::Unknown
    } else {
        Verdict::Undecided
    }
}

/// Whether text (after any BOM and white space) starts like JSON: `{` or `[`.
pub fn starts_like_json(text: &[u8]) -> bool {
    matches!(
        text.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_whatever_the_key_position() {
        let long = "x".repeat(10_000);
        let nx = format!(
            "{{\"Message\":\"{long}\",\"EventID\":4104,\"Hostname\":\"h\",\"EventTime\":\"2020-09-17 17:31:45\"}}\n"
        );
        assert_eq!(recognize(nx.as_bytes()), Verdict::Known(Format::NxlogJsonl));
        let wlb8 = format!(
            "[{{\"message\":\"{long}\",\"winlog\":{{\"channel\":\"Security\",\"event_id\":\"4688\"}}}}]"
        );
        assert_eq!(
            recognize(wlb8.as_bytes()),
            Verdict::Known(Format::WinlogbeatJson)
        );
        let wlb6 = "{\"@timestamp\":\"2019-01-01T00:00:00.000Z\",\"event_data\":{},\"log_name\":\"Security\",\"event_id\":4688}\n";
        assert_eq!(
            recognize(wlb6.as_bytes()),
            Verdict::Known(Format::WinlogbeatJson)
        );
        // A first record of another kind, then events.
        let mixed = format!("{{\"note\":1}}\n{nx}");
        assert_eq!(
            recognize(mixed.as_bytes()),
            Verdict::Known(Format::NxlogJsonl)
        );
        assert_eq!(recognize(&b"{\"a\":1}\n[1]\n"[..]), Verdict::Unknown);
        assert_eq!(recognize(&nx.as_bytes()[..4096]), Verdict::Undecided);
    }
}
