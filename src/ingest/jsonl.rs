//! JSON records → [`RawRecord`]s: `evtx_dump -o jsonl` output (the evtx crate's
//! `{"Event":{"System":…,"EventData":…}}` shape, one record a line), NXLog `im_msvistalog`
//! JSON (flat keys: `EventID`, `Channel`, `Hostname`, `EventTime`, the EventData fields at top
//! level, …) and Winlogbeat / Elastic Agent JSON ([`super::winlogbeat`]).
//!
//! Records (JSON lines, or the elements of one JSON array) are read one at a time
//! ([`super::json_records`]), never more than [`MAX_LINE_BYTES`] of one held; a record that
//! cannot be read is damage (its line number and why) and the rest of the file is still read.
//! The text may be UTF-8 or UTF-16 (Windows PowerShell 5 writes `>` redirections as UTF-16 LE).

use super::json_event::{record_from_event_json_bytes, value_text};
use super::json_records::{JsonRecords, Layout, Next};
use super::winlogbeat;
use crate::record::{Damage, Provenance, RawRecord, ReadStats, wanted_event_id};
use crate::time::Ts;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

/// Records longer than this are damage, not read.
pub const MAX_LINE_BYTES: usize = super::json_records::MAX_RECORD_BYTES;

/// Which JSON shape a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `evtx_dump -o jsonl`.
    EvtxDump,
    /// NXLog `im_msvistalog` records written with `to_json()`.
    Nxlog,
    /// Winlogbeat 6.x/7.x/8.x or Elastic Agent events.
    Winlogbeat,
}

/// Read one JSON lines file.
pub fn read(
    path: &Path,
    display: &Arc<str>,
    flavor: Flavor,
) -> io::Result<(Vec<RawRecord>, ReadStats)> {
    let file = crate::open::open_input(path)?;
    Ok(read_from(file, display, flavor, &wanted_event_id))
}

/// Read JSON lines from any reader, keeping the records whose event id `keep` accepts.
/// Never fails: unreadable lines (and a read error, which ends the input) are damage.
pub fn read_from<R: Read>(
    input: R,
    display: &Arc<str>,
    flavor: Flavor,
    keep: &dyn Fn(u32) -> bool,
) -> (Vec<RawRecord>, ReadStats) {
    let (batches, stats) = read_batches(input, display, flavor, keep, &mut |b| b);
    (batches.into_iter().flatten().collect(), stats)
}

/// Kept records handed to the callback this many at a time by [`read_batches`].
pub const BATCH_RECORDS: usize = 4096;

/// Read one JSON file, handing its kept records to `batch` [`BATCH_RECORDS`] at a time (in
/// file order), so that a large file's records are never all held at once.
pub fn read_path_batches<T>(
    path: &Path,
    display: &Arc<str>,
    flavor: Flavor,
    batch: &mut dyn FnMut(Vec<RawRecord>) -> T,
) -> io::Result<(Vec<T>, ReadStats)> {
    let file = crate::open::open_input(path)?;
    Ok(read_batches(file, display, flavor, &wanted_event_id, batch))
}

/// [`read_from`], handing the kept records to `batch` [`BATCH_RECORDS`] at a time.
pub fn read_batches<R: Read, T>(
    input: R,
    display: &Arc<str>,
    flavor: Flavor,
    keep: &dyn Fn(u32) -> bool,
    batch: &mut dyn FnMut(Vec<RawRecord>) -> T,
) -> (Vec<T>, ReadStats) {
    let mut src = JsonRecords::new(input);
    let mut stats = ReadStats::default();
    let mut records = Vec::new();
    let mut out = Vec::new();
    let mut clock = NxlogClock::default();
    let mut beats = winlogbeat::Reader::default();
    while let Some(next) = src.next_record() {
        let (line_no, text) = match next {
            Next::Record { line, bytes } => (line, bytes),
            Next::Damage { line, reason } => {
                let lost = reason.starts_with("record").then_some(1);
                stats.damage.push(damage(line, lost, reason));
                continue;
            }
        };
        let prov = Provenance {
            file: display.clone(),
            chunk: None,
            offset: None,
            line: Some(line_no),
        };
        let object = |what: &str| match serde_json::from_slice::<Value>(text) {
            Err(e) => Err(format!("not valid JSON: {e}")),
            Ok(Value::Object(obj)) => Ok(obj),
            Ok(_) => Err(format!("not {what} record: not a JSON object")),
        };
        let rec = match flavor {
            Flavor::EvtxDump => match record_from_event_json_bytes(text, prov) {
                Ok(r) => {
                    r.ok_or_else(|| "not an evtx_dump record: no Event.System object".to_string())
                }
                Err(e) => Err(format!("not valid JSON: {e}")),
            },
            Flavor::Nxlog => object("an NXLog").and_then(|obj| {
                let r = record_from_nxlog(&obj, prov);
                if r.is_ok() {
                    clock.observe(&obj);
                }
                r
            }),
            Flavor::Winlogbeat => object("a Winlogbeat").and_then(|obj| beats.record(&obj, prov)),
        };
        match rec {
            Ok(r) => {
                stats.records_read += 1;
                if keep(r.event_id) {
                    records.push(r);
                    stats.records_wanted += 1;
                    if records.len() == BATCH_RECORDS {
                        out.push(batch(std::mem::take(&mut records)));
                    }
                }
            }
            Err(reason) => stats.damage.push(damage(line_no, Some(1), reason)),
        }
    }
    stats.truncated = src.truncated;
    if src.layout() == Some(Layout::Array) {
        stats
            .notes
            .push("one JSON array, read record by record".to_string());
    } else if src.layout() == Some(Layout::Concatenated) {
        stats
            .notes
            .push("pretty-printed JSON records, read one after another".to_string());
    }
    if src.encoding() != super::xml::TextEncoding::Utf8 {
        stats
            .notes
            .push("UTF-16 text, decoded to UTF-8".to_string());
    }
    if src.replaced() > 0 {
        stats.notes.push(format!(
            "{} invalid UTF-16 code unit(s) replaced by U+FFFD",
            src.replaced()
        ));
    }
    match flavor {
        Flavor::Nxlog => {
            stats.notes.extend(clock.notes());
            stats.clock_resolution_ticks = clock.resolution_ticks();
        }
        Flavor::Winlogbeat => {
            stats.notes.extend(beats.notes());
            stats.clock_resolution_ticks = super::winlogbeat::CLOCK_RESOLUTION_TICKS as u64;
        }
        Flavor::EvtxDump => {}
    }
    if !records.is_empty() {
        out.push(batch(records));
    }
    (out, stats)
}

fn damage(line: u64, lost: Option<u64>, reason: String) -> Damage {
    Damage {
        chunk: None,
        offset: None,
        line: Some(line),
        records_lost: lost,
        reason,
    }
}

/// NXLog's own fields (and those a Logstash pipeline adds), which are not EventData.
///
/// `ProcessID`/`ProcessId` is not here: NXLog writes the System `ProcessID` (the logging
/// process) as `ExecutionProcessID`, so a `ProcessId` key is the event's own EventData field.
/// `EventType` is NXLog's severity class unless the event has an EventData field of that name
/// (Sysmon 12–14), in which case NXLog moves its own value to `EventTypeOrignal` \[sic\].
const NXLOG_META: &[&str] = &[
    "EventTime",
    "EventReceivedTime",
    "Hostname",
    "EventID",
    "Channel",
    "SourceName",
    "ProviderGuid",
    "RecordNumber",
    "Keywords",
    "SeverityValue",
    "Severity",
    "Task",
    "OpcodeValue",
    "Opcode",
    "Version",
    "ActivityID",
    "RelatedActivityID",
    "ExecutionProcessID",
    "ExecutionThreadID",
    "ThreadID",
    "AccountName",
    "AccountType",
    "Domain",
    "UserID",
    "Category",
    "Message",
    "SourceModuleName",
    "SourceModuleType",
    "EventTypeOrignal",
    "ERROR_EVT_UNRESOLVED",
    // Logstash (the Security-Datasets / Mordor pipeline adds these, plus `@…` keys).
    "host",
    "port",
    "tags",
];

/// Whether a top-level key of this NXLog record is NXLog (or shipper) metadata.
fn is_nxlog_meta(key: &str, obj: &Map<String, Value>) -> bool {
    if key.starts_with('@') || NXLOG_META.contains(&key) {
        return true;
    }
    key == "EventType" && !obj.contains_key("EventTypeOrignal")
}

/// Security events whose EventData field is spelled `ProcessID` in the event's manifest, which
/// NXLog (its field names are case-insensitive) writes as `ProcessId`.
const PROCESS_ID_UPPER: &[u32] = &[5156, 5157];

/// One NXLog record → a raw record. The error says why the line is not a record.
pub fn record_from_nxlog(obj: &Map<String, Value>, prov: Provenance) -> Result<RawRecord, String> {
    let event_id = match obj.get("EventID") {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| "not an NXLog record: no numeric EventID".to_string())?;
    let text = |k: &str| obj.get(k).map(value_text).unwrap_or_default();
    let channel = text("Channel");
    let provider = match obj.get("SourceName") {
        Some(v) => value_text(v),
        None => text("ProviderGuid"),
    };
    let record_id = obj
        .get("RecordNumber")
        .map(value_text)
        .and_then(|s| s.trim().parse().ok());
    let time = obj
        .get("EventTime")
        .and_then(Value::as_str)
        .and_then(Ts::parse);
    let rename_pid =
        channel.eq_ignore_ascii_case("Security") && PROCESS_ID_UPPER.contains(&event_id);
    let data = obj
        .iter()
        .filter(|(k, _)| !is_nxlog_meta(k, obj))
        .map(|(k, v)| {
            let k: Arc<str> = if rename_pid && k == "ProcessId" {
                Arc::from("ProcessID")
            } else {
                Arc::from(k.as_str())
            };
            (k, value_text(v))
        })
        .collect();
    Ok(RawRecord {
        channel,
        provider,
        event_id,
        record_id,
        time,
        computer: text("Hostname"),
        data,
        prov,
    })
}

/// What the NXLog `EventTime` values say about the clock they come from.
#[derive(Debug, Default)]
struct NxlogClock {
    records: u64,
    zoneless: u64,
    zoned: u64,
    fractional: u64,
    unreadable: u64,
    no_execution_pid: u64,
    /// EventTime − Sysmon UtcTime, in milliseconds → how many records.
    utc_offsets: BTreeMap<i64, u64>,
}

impl NxlogClock {
    fn observe(&mut self, obj: &Map<String, Value>) {
        self.records += 1;
        if !obj.contains_key("ExecutionProcessID")
            && obj.keys().any(|k| k.eq_ignore_ascii_case("ProcessID"))
        {
            self.no_execution_pid += 1;
        }
        let Some(s) = obj.get("EventTime").and_then(Value::as_str) else {
            self.unreadable += 1;
            return;
        };
        let Some(t) = Ts::parse(s) else {
            self.unreadable += 1;
            return;
        };
        let tail = s.trim().get(19..).unwrap_or("");
        let zone = tail.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
        if zone.is_empty() {
            self.zoneless += 1;
        } else {
            self.zoned += 1;
        }
        if tail.starts_with('.') {
            self.fractional += 1;
        }
        if let Some(u) = obj
            .get("UtcTime")
            .and_then(Value::as_str)
            .and_then(Ts::parse)
        {
            let ms = t.ticks_since(u).div_euclid(10_000);
            *self.utc_offsets.entry(ms).or_default() += 1;
        }
    }

    /// The coarsest resolution of the `EventTime`s read: whole seconds when any record has no
    /// fraction, else milliseconds (NXLog writes at most that); 100 ns when none was read.
    fn resolution_ticks(&self) -> u64 {
        let read = self.zoneless + self.zoned;
        if read == 0 {
            1
        } else if self.fractional < read {
            10_000_000
        } else {
            10_000
        }
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.records == 0 {
            return notes;
        }
        let precision = if self.fractional == 0 {
            "whole-second precision"
        } else {
            "sub-second precision in some records"
        };
        if self.zoneless > 0 {
            notes.push(format!(
                "clock: EventTime (NXLog) of {} record(s) is the collector's local time with no time zone, {precision}; read as if it were UTC, not converted: event times are off by the collector's UTC offset and only good to the second",
                self.zoneless
            ));
        }
        if self.zoned > 0 {
            notes.push(format!(
                "clock: EventTime (NXLog) of {} record(s) carries a UTC offset and was converted to UTC, {precision}",
                self.zoned
            ));
        }
        if self.unreadable > 0 {
            notes.push(format!(
                "clock: {} record(s) have no readable EventTime: no time",
                self.unreadable
            ));
        }
        let n: u64 = self.utc_offsets.values().sum();
        if n > 0 {
            let median = nth(&self.utc_offsets, (n - 1) / 2);
            let min = self.utc_offsets.keys().next().copied().unwrap_or(0);
            let max = self.utc_offsets.keys().next_back().copied().unwrap_or(0);
            let zone_hint = {
                // Nearest quarter hour: time zones are whole quarter hours from UTC.
                let q = (median as f64 / 900_000.0).round() as i64 * 900;
                if (median - q * 1000).abs() <= 60_000 {
                    let sign = if q < 0 { '-' } else { '+' };
                    let a = q.abs();
                    format!(
                        "; consistent with a collector clock at UTC{sign}{:02}:{:02}",
                        a / 3600,
                        a % 3600 / 60
                    )
                } else {
                    String::new()
                }
            };
            notes.push(format!(
                "clock: EventTime - Sysmon UtcTime over {n} record(s): median {}, from {} to {}{zone_hint}",
                fmt_ms(median),
                fmt_ms(min),
                fmt_ms(max)
            ));
        }
        if self.no_execution_pid > 0 {
            notes.push(format!(
                "{} record(s) have no ExecutionProcessID: an older NXLog may have written the logging process's System ProcessID under ProcessID, where it collides with the EventData field of that name; such ProcessID values are kept as EventData but may be the logging process",
                self.no_execution_pid
            ));
        }
        notes
    }
}

/// The value at sorted position `k` of a histogram.
fn nth(h: &BTreeMap<i64, u64>, k: u64) -> i64 {
    let mut seen = 0;
    for (&v, &c) in h {
        seen += c;
        if seen > k {
            return v;
        }
    }
    h.keys().next_back().copied().unwrap_or(0)
}

/// Milliseconds as signed seconds: `-14400.323 s`.
fn fmt_ms(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "+" };
    let a = ms.unsigned_abs();
    format!("{sign}{}.{:03} s", a / 1000, a % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(s: &[u8], flavor: Flavor) -> (Vec<RawRecord>, ReadStats) {
        read_from(s, &Arc::from("t.jsonl"), flavor, &|_| true)
    }

    const NX: &str = r#"{"EventTime":"2020-09-17 17:32:14","Hostname":"WS5","Keywords":-9214364837600034816,"EventType":"AUDIT_SUCCESS","EventID":5156,"SourceName":"Microsoft-Windows-Security-Auditing","ProviderGuid":"{54849625-5478-4994-A5BA-3E3B0328C30D}","Version":1,"Task":12810,"RecordNumber":239147,"ExecutionProcessID":4,"ThreadID":316,"Channel":"Security","Message":"m","Category":"Filtering Platform Connection","Opcode":"Info","ProcessId":"3596","Application":"\\device\\x.exe","Direction":"%%14593","SourcePort":"56374","EventReceivedTime":"2020-09-17 17:32:15","SourceModuleName":"eventlog","SourceModuleType":"im_msvistalog","@timestamp":"2020-09-17T21:31:48.061Z","tags":["x"]}
{"EventTime":"2020-09-17 17:32:13","Hostname":"WS5","EventTypeOrignal":"INFO","EventType":"SetValue","EventID":13,"SourceName":"Microsoft-Windows-Sysmon","RecordNumber":7,"ExecutionProcessID":3336,"Channel":"Microsoft-Windows-Sysmon/Operational","UserID":"S-1-5-18","AccountName":"SYSTEM","Domain":"NT AUTHORITY","AccountType":"User","UtcTime":"2020-09-17 21:32:13.500","ProcessId":"2660","Details":"  x","Num":5,"Null":null}
"#;

    #[test]
    fn nxlog_fields_and_clashes() {
        let (r, st) = read_str(NX.as_bytes(), Flavor::Nxlog);
        assert!(st.damage.is_empty(), "{:?}", st.damage);
        assert_eq!(st.records_read, 2);
        let a = &r[0];
        assert_eq!(a.event_id, 5156);
        assert_eq!(a.channel, "Security");
        assert_eq!(a.provider, "Microsoft-Windows-Security-Auditing");
        assert_eq!(a.computer, "WS5");
        assert_eq!(a.record_id, Some(239147));
        assert_eq!(a.time.unwrap().iso(), "2020-09-17T17:32:14.0000000Z");
        assert_eq!(a.prov.line, Some(1));
        assert_eq!(
            a.data,
            vec![
                ("ProcessID".into(), "3596".into()),
                ("Application".into(), "\\device\\x.exe".into()),
                ("Direction".into(), "%%14593".into()),
                ("SourcePort".into(), "56374".into()),
            ]
        );
        let b = &r[1];
        assert_eq!(
            b.data,
            vec![
                ("EventType".into(), "SetValue".into()),
                ("UtcTime".into(), "2020-09-17 21:32:13.500".into()),
                ("ProcessId".into(), "2660".into()),
                ("Details".into(), "  x".into()),
                ("Num".into(), "5".into()),
                ("Null".into(), String::new()),
            ]
        );
        assert_eq!(b.prov.line, Some(2));
        let notes = st.notes.join("\n");
        assert!(
            notes.contains("local time with no time zone, whole-second precision"),
            "{notes}"
        );
        assert!(notes.contains("median -14400.500 s"), "{notes}");
        assert!(notes.contains("UTC-04:00"), "{notes}");
        assert!(!notes.contains("ExecutionProcessID"), "{notes}");
    }

    #[test]
    fn bad_lines_are_damage_and_the_rest_is_read() {
        let mut s = String::from("\u{feff}");
        s.push_str(NX.lines().next().unwrap());
        s.push_str("\r\n{not json\n\n   \n[1,2]\n{\"EventID\":\"x\"}\n");
        s.push_str(NX.lines().nth(1).unwrap());
        let (r, st) = read_str(s.as_bytes(), Flavor::Nxlog);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].prov.line, Some(7));
        assert_eq!(st.records_read, 2);
        let lines: Vec<_> = st.damage.iter().map(|d| d.line.unwrap()).collect();
        assert_eq!(lines, vec![2, 5, 6]);
        // A line past the bound, then a good one.
        let mut big = vec![b'{'; MAX_LINE_BYTES + 10];
        big.push(b'\n');
        big.extend_from_slice(NX.lines().next().unwrap().as_bytes());
        let (r, st) = read_str(&big, Flavor::Nxlog);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].prov.line, Some(2));
        assert_eq!(st.damage.len(), 1);
        assert!(st.damage[0].reason.contains("longer than 16 MiB"));
    }

    #[test]
    fn evtx_dump_lines() {
        let s = r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":3,"TimeCreated":{"#attributes":{"SystemTime":"2019-05-14T01:29:04.3068859Z"}},"EventRecordID":42,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"H"},"EventData":{"Initiated":"true","DestinationPort":135}}}
{"Event":{"System":{"EventID":7}}}
{"NotEvent":1}
"##;
        let (r, st) = read_from(
            s.as_bytes(),
            &Arc::from("t"),
            Flavor::EvtxDump,
            &wanted_event_id,
        );
        assert_eq!(st.records_read, 2);
        assert_eq!(st.records_wanted, 1);
        assert_eq!(r[0].record_id, Some(42));
        assert_eq!(r[0].time.unwrap().iso(), "2019-05-14T01:29:04.3068859Z");
        assert_eq!(r[0].get("DestinationPort"), Some("135"));
        assert_eq!(st.damage.len(), 1);
        assert_eq!(st.damage[0].line, Some(3));
    }

    #[test]
    fn utf16_jsonl() {
        let line = NX.lines().next().unwrap();
        let mut b = vec![0xFF, 0xFE];
        for u in format!("{line}\r\n").encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        let (r, st) = read_str(&b, Flavor::Nxlog);
        assert_eq!(r.len(), 1);
        assert!(st.damage.is_empty());
        assert!(st.notes.iter().any(|n| n.contains("UTF-16")));
    }

    #[test]
    fn older_nxlog_process_id_is_flagged() {
        let (r, st) = read_str(
            br#"{"EventTime":"2020-09-17T17:32:14.5+02:00","EventID":1,"ProcessID":812,"Channel":"c"}"#,
            Flavor::Nxlog,
        );
        assert_eq!(r[0].time.unwrap().iso(), "2020-09-17T15:32:14.5000000Z");
        assert_eq!(r[0].get("ProcessID"), Some("812"));
        let notes = st.notes.join("\n");
        assert!(notes.contains("carries a UTC offset"), "{notes}");
        assert!(notes.contains("no ExecutionProcessID"), "{notes}");
    }
}
