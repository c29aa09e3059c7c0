//! Winlogbeat and Elastic Agent JSON → [`RawRecord`]s.
//!
//! Two shapes, told apart per record:
//!
//! - **Winlogbeat 6.x**: `log_name`, `source_name`, `event_id`, `record_number`,
//!   `computer_name`, `event_data.*` (or `user_data.*`), `@timestamp`.
//! - **Winlogbeat 7.x/8.x and Elastic Agent**: `winlog.channel`, `winlog.provider_name`,
//!   `winlog.event_id` (a number or a string), `winlog.record_id`, `winlog.computer_name`,
//!   `winlog.event_data.*` (or `winlog.user_data.*`), beside ECS fields (`event.code`,
//!   `event.provider`, `host.name`, …), which are used only when the `winlog.*` field is absent.
//!
//! A document exported from Elasticsearch (`{"_index":…,"_source":{…}}`) is read from its
//! `_source`. Dotted keys (`"winlog.channel": …`) are read as the nested field of that path.
//!
//! Elastic's Sysmon processing (Winlogbeat 7's `sysmon` module, Elastic Agent's Sysmon
//! pipeline) renames Sysmon's EventData fields to ECS fields (`UtcTime` → `@timestamp`,
//! `ProcessGuid` → `process.entity_id`, `Image` → `process.executable`, …). For the Sysmon events
//! the tool reads (1, 3, 5), a field missing from the EventData is restored from its ECS field,
//! and the file's notes say how many records were rebuilt so.
//!
//! The clock is decided per record from what it holds: `winlog.time_created` (the record's
//! `TimeCreated`) when present, else `@timestamp` (milliseconds). `@timestamp` is `TimeCreated`
//! as Winlogbeat wrote it, except where Elastic's Sysmon processing replaced it with Sysmon's
//! `UtcTime`: a Sysmon record whose EventData lacks `UtcTime` is counted as such, and where
//! both are present the notes give how far `@timestamp` is from `UtcTime`.

use super::json_event::value_text;
use crate::record::{Provenance, RawRecord};
use crate::time::Ts;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The clock a Winlogbeat or Elastic Agent file is ordered by, when its records carry no
/// `winlog.time_created`: `@timestamp`.
pub const CLOCK: &str = "@timestamp";

/// The resolution of [`CLOCK`], in 100 ns ticks: Beats write `@timestamp` in milliseconds.
pub const CLOCK_RESOLUTION_TICKS: i64 = 10_000;

/// Which Winlogbeat shape a record has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Winlogbeat 6.x: `event_data`, `log_name`, `record_number`, … at top level.
    Legacy,
    /// Winlogbeat 7.x/8.x, Elastic Agent: `winlog.*` beside ECS fields.
    Winlog,
}

/// The document itself: an Elasticsearch export's `_source`, else the object.
pub fn document(obj: &Map<String, Value>) -> &Map<String, Value> {
    match obj.get("_source") {
        Some(Value::Object(src)) => src,
        _ => obj,
    }
}

/// The shape of one record, or `None` when it is not a Winlogbeat / Elastic Agent event.
pub fn shape(obj: &Map<String, Value>) -> Option<Shape> {
    let doc = document(obj);
    let has = |k: &str| get(doc, k).is_some();
    if has("winlog.channel")
        || has("winlog.event_id")
        || has("winlog.event_data")
        || has("winlog.record_id")
    {
        return Some(Shape::Winlog);
    }
    let legacy_event = (has("event_id") || has("record_number"))
        && (has("log_name") || has("source_name") || has("computer_name"));
    if legacy_event || doc.get("event_data").is_some_and(Value::is_object) && has("log_name") {
        return Some(Shape::Legacy);
    }
    None
}

/// A field by its dotted path: nested objects, or one dotted key at any level.
pub fn get<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = obj.get(path) {
        return Some(v);
    }
    let (head, rest) = path.split_once('.')?;
    match obj.get(head)? {
        Value::Object(inner) => get(inner, rest),
        _ => None,
    }
    .or_else(|| {
        // A partly dotted key: `{"winlog.event_data": {...}}`.
        let mut split = path.len();
        while let Some(i) = path[..split].rfind('.') {
            if let Some(Value::Object(inner)) = obj.get(&path[..i]) {
                return get(inner, &path[i + 1..]);
            }
            split = i;
        }
        None
    })
}

fn text(obj: &Map<String, Value>, path: &str) -> Option<String> {
    get(obj, path).map(value_text).filter(|s| !s.is_empty())
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The EventData (or UserData) fields of a record under `prefix` (`event_data` or
/// `winlog.event_data`), nested or as dotted keys, in the document's order.
fn data_fields(doc: &Map<String, Value>, prefix: &str) -> Option<Vec<(Arc<str>, String)>> {
    let field = |(k, v): (&String, &Value)| (Arc::from(k.as_str()), value_text(v));
    if let Some(Value::Object(m)) = get(doc, prefix) {
        return Some(m.iter().map(field).collect());
    }
    let dotted = format!("{prefix}.");
    let flat: Vec<_> = doc
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(&dotted)?, v)))
        .filter(|(k, _)| !k.ends_with(".keyword"))
        .map(|(k, v)| (Arc::from(k), value_text(v)))
        .collect();
    (!flat.is_empty()).then_some(flat)
}

/// Sysmon EventData fields Elastic's Sysmon processing moves to ECS fields, for the Sysmon
/// events the tool reads: (event ids, EventData name, ECS field).
const SYSMON_ECS: &[(&[u32], &str, &str)] = &[
    (&[1, 3, 5], "ProcessGuid", "process.entity_id"),
    (&[1, 3, 5], "ProcessId", "process.pid"),
    (&[1, 3, 5], "Image", "process.executable"),
    (&[1], "CommandLine", "process.command_line"),
    (&[1], "CurrentDirectory", "process.working_directory"),
    (&[1], "ParentProcessGuid", "process.parent.entity_id"),
    (&[1], "ParentProcessId", "process.parent.pid"),
    (&[1], "ParentImage", "process.parent.executable"),
    (&[1], "ParentCommandLine", "process.parent.command_line"),
    (&[3], "Protocol", "network.transport"),
    (&[3], "SourceIp", "source.ip"),
    (&[3], "SourceHostname", "source.domain"),
    (&[3], "SourcePort", "source.port"),
    (&[3], "DestinationIp", "destination.ip"),
    (&[3], "DestinationHostname", "destination.domain"),
    (&[3], "DestinationPort", "destination.port"),
    (&[3], "DestinationPortName", "network.protocol"),
];

/// Reads the records of one file and keeps what they say about the clock.
#[derive(Debug, Default)]
pub struct Reader {
    legacy: u64,
    winlog: u64,
    time_created: u64,
    timestamp: u64,
    no_time: u64,
    /// Sysmon records whose `UtcTime` was moved to `@timestamp`.
    utc_moved: u64,
    /// `@timestamp` − Sysmon `UtcTime`, in milliseconds → how many records.
    utc_offsets: BTreeMap<i64, u64>,
    /// Records with EventData fields restored from ECS fields.
    restored: u64,
    /// Command lines rebuilt from `process.args` (quoting may differ from the original).
    from_args: u64,
}

impl Reader {
    /// One record → a raw record. The error says why the record is not an event.
    pub fn record(
        &mut self,
        obj: &Map<String, Value>,
        prov: Provenance,
    ) -> Result<RawRecord, String> {
        let doc = document(obj);
        let shape = shape(obj).ok_or_else(|| {
            "not a Winlogbeat or Elastic Agent event: no winlog.*, event_data or log_name"
                .to_string()
        })?;
        let (channel, provider, id, record_id, computer, data) = match shape {
            Shape::Legacy => {
                self.legacy += 1;
                (
                    text(doc, "log_name"),
                    text(doc, "source_name"),
                    get(doc, "event_id").and_then(number),
                    get(doc, "record_number").and_then(number),
                    text(doc, "computer_name").or_else(|| text(doc, "host.name")),
                    data_fields(doc, "event_data").or_else(|| data_fields(doc, "user_data")),
                )
            }
            Shape::Winlog => {
                self.winlog += 1;
                (
                    text(doc, "winlog.channel"),
                    text(doc, "winlog.provider_name").or_else(|| text(doc, "event.provider")),
                    get(doc, "winlog.event_id")
                        .or_else(|| get(doc, "event.code"))
                        .and_then(number),
                    get(doc, "winlog.record_id").and_then(number),
                    text(doc, "winlog.computer_name")
                        .or_else(|| text(doc, "host.hostname"))
                        .or_else(|| text(doc, "host.name")),
                    data_fields(doc, "winlog.event_data")
                        .or_else(|| data_fields(doc, "winlog.user_data")),
                )
            }
        };
        let event_id = id.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
            "no numeric event id (winlog.event_id, event_id, event.code)".to_string()
        })?;
        let mut data = data.unwrap_or_default();
        // UserData's element name is not a field.
        data.retain(|(k, _)| &**k != "xml_name");
        let channel = channel.unwrap_or_default();
        let stamp = get(doc, "@timestamp")
            .and_then(Value::as_str)
            .and_then(Ts::parse);
        let created = get(doc, "winlog.time_created")
            .and_then(Value::as_str)
            .and_then(Ts::parse);
        let sysmon = channel.eq_ignore_ascii_case(crate::normalize::SYSMON_CHANNEL);
        if sysmon {
            self.sysmon_fields(doc, event_id, stamp, &mut data);
        }
        let time = match (created, stamp) {
            (Some(t), _) => {
                self.time_created += 1;
                Some(t)
            }
            (None, Some(t)) => {
                self.timestamp += 1;
                Some(t)
            }
            (None, None) => {
                self.no_time += 1;
                None
            }
        };
        Ok(RawRecord {
            channel,
            provider: provider.unwrap_or_default(),
            event_id,
            record_id,
            time,
            computer: computer.unwrap_or_default(),
            data,
            prov,
        })
    }

    /// Sysmon: compare `@timestamp` with `UtcTime`, or restore what Elastic's Sysmon processing
    /// moved out of the EventData.
    fn sysmon_fields(
        &mut self,
        doc: &Map<String, Value>,
        event_id: u32,
        stamp: Option<Ts>,
        data: &mut Vec<(Arc<str>, String)>,
    ) {
        let has = |data: &[(Arc<str>, String)], k: &str| data.iter().any(|(n, _)| &**n == k);
        let mut restored = false;
        match (data.iter().find(|(k, _)| &**k == "UtcTime"), stamp) {
            (Some((_, utc)), Some(t)) => {
                if let Some(u) = Ts::parse(utc) {
                    let ms = t.ticks_since(u).div_euclid(10_000);
                    *self.utc_offsets.entry(ms).or_default() += 1;
                }
            }
            (None, Some(t)) => {
                self.utc_moved += 1;
                let iso = t.iso();
                data.push((Arc::from("UtcTime"), iso[..23].replacen('T', " ", 1)));
                restored = true;
            }
            _ => {}
        }
        for (ids, name, ecs) in SYSMON_ECS {
            if !ids.contains(&event_id) || has(data, name) {
                continue;
            }
            // An empty value moved is empty, not absent.
            let value = match get(doc, ecs).map(value_text) {
                Some(v) => Some(v),
                None if name.ends_with("CommandLine") => {
                    let args = ecs.replace("command_line", "args");
                    let joined = match get(doc, &args) {
                        Some(Value::Array(a)) => {
                            Some(a.iter().map(value_text).collect::<Vec<_>>().join(" "))
                        }
                        _ => None,
                    };
                    if joined.is_some() {
                        self.from_args += 1;
                    }
                    joined
                }
                None => None,
            };
            if let Some(v) = value {
                data.push((Arc::from(*name), v));
                restored = true;
            }
        }
        if matches!(event_id, 1 | 3)
            && !has(data, "User")
            && let (Some(d), Some(n)) = (text(doc, "user.domain"), text(doc, "user.name"))
        {
            data.push((Arc::from("User"), format!("{d}\\{n}")));
            restored = true;
        }
        if event_id == 3 && !has(data, "Initiated") {
            let v = match text(doc, "network.direction").as_deref() {
                Some("outbound" | "egress") => Some("true"),
                Some("inbound" | "ingress") => Some("false"),
                _ => None,
            };
            if let Some(v) = v {
                data.push((Arc::from("Initiated"), v.to_string()));
                restored = true;
            }
        }
        if restored {
            self.restored += 1;
        }
    }

    /// The clock and shape observations, for the file's summary.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.legacy + self.winlog == 0 {
            return notes;
        }
        notes.push(format!(
            "shape: {} record(s) as Winlogbeat 6.x (event_data, log_name), {} as Winlogbeat 7.x/8.x or Elastic Agent (winlog.*)",
            self.legacy, self.winlog
        ));
        if self.timestamp > 0 {
            notes.push(format!(
                "clock: @timestamp (UTC, millisecond resolution) of {} record(s): the record's TimeCreated as Winlogbeat wrote it, cut to the millisecond",
                self.timestamp
            ));
        }
        if self.time_created > 0 {
            notes.push(format!(
                "clock: winlog.time_created (the record's TimeCreated) of {} record(s)",
                self.time_created
            ));
        }
        if self.no_time > 0 {
            notes.push(format!(
                "clock: {} record(s) have no readable @timestamp or winlog.time_created: no time",
                self.no_time
            ));
        }
        if self.utc_moved > 0 {
            notes.push(format!(
                "clock: {} Sysmon record(s) have no UtcTime in their EventData: Elastic's Sysmon processing moved it to @timestamp, so their time is Sysmon's UtcTime, not TimeCreated (usually a few milliseconds earlier, sometimes seconds)",
                self.utc_moved
            ));
        }
        let n: u64 = self.utc_offsets.values().sum();
        if n > 0 {
            let min = self.utc_offsets.keys().next().copied().unwrap_or(0);
            let max = self.utc_offsets.keys().next_back().copied().unwrap_or(0);
            let same = self.utc_offsets.get(&0).copied().unwrap_or(0);
            notes.push(format!(
                "clock: @timestamp - Sysmon UtcTime over {n} record(s): from {min} ms to {max} ms; {same} equal to the millisecond{}",
                if same == n {
                    " (this file's @timestamp may be UtcTime, set by a pipeline)"
                } else {
                    ""
                }
            ));
        }
        if self.restored > 0 {
            notes.push(format!(
                "{} Sysmon record(s) had EventData fields restored from the ECS fields Elastic's Sysmon processing moved them to (process.*, source.*, destination.*, user.*, @timestamp)",
                self.restored
            ));
        }
        if self.from_args > 0 {
            notes.push(format!(
                "{} command line(s) rebuilt by joining process.args with spaces: the original quoting is lost",
                self.from_args
            ));
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> (Result<RawRecord, String>, Reader) {
        let mut r = Reader::default();
        let obj: Map<String, Value> = serde_json::from_str(json).unwrap();
        let prov = Provenance {
            file: Arc::from("t.json"),
            chunk: None,
            offset: None,
            line: Some(1),
        };
        (r.record(&obj, prov), r)
    }

    #[test]
    fn winlogbeat6_fields() {
        let (r, st) = read(
            r#"{"@timestamp":"2019-05-14T01:29:04.306Z","beat":{"name":"h"},"computer_name":"IEWIN7","event_data":{"ProcessId":"3572","Image":"C:\\x.exe","UtcTime":"2019-05-14 01:29:04.304"},"event_id":1,"log_name":"Microsoft-Windows-Sysmon/Operational","record_number":"10941","source_name":"Microsoft-Windows-Sysmon","message":"m","user":{"name":"SYSTEM"}}"#,
        );
        let r = r.unwrap();
        assert_eq!(r.channel, "Microsoft-Windows-Sysmon/Operational");
        assert_eq!(r.provider, "Microsoft-Windows-Sysmon");
        assert_eq!((r.event_id, r.record_id), (1, Some(10941)));
        assert_eq!(r.computer, "IEWIN7");
        assert_eq!(r.time.unwrap().iso(), "2019-05-14T01:29:04.3060000Z");
        let names: Vec<&str> = r.data.iter().map(|(k, _)| &**k).collect();
        assert_eq!(names, ["ProcessId", "Image", "UtcTime"]);
        let notes = st.notes().join("\n");
        assert!(notes.contains("1 record(s) as Winlogbeat 6.x"), "{notes}");
        assert!(notes.contains("from 2 ms to 2 ms"), "{notes}");
    }

    #[test]
    fn winlog_fields_ids_as_text_or_numbers() {
        let doc = r#"{"_index":"i","_source":{"@timestamp":"2020-01-01T00:00:00.500Z","event":{"code":"4688","provider":"x"},"host":{"name":"ws"},"winlog":{"channel":"Security","provider_name":"Microsoft-Windows-Security-Auditing","event_id":"4688","record_id":"77","computer_name":"WS.corp","time_created":"2020-01-01T00:00:00.4991234Z","event_data":{"NewProcessId":"0x10","NewProcessName":"C:\\a.exe"}}}}"#;
        let (r, st) = read(doc);
        let r = r.unwrap();
        assert_eq!((r.event_id, r.record_id), (4688, Some(77)));
        assert_eq!(r.computer, "WS.corp");
        assert_eq!(r.provider, "Microsoft-Windows-Security-Auditing");
        assert_eq!(r.time.unwrap().iso(), "2020-01-01T00:00:00.4991234Z");
        assert!(st.notes().join("\n").contains("winlog.time_created"));
        // Numbers, dotted keys, and only ECS ids.
        let (r, _) = read(
            r#"{"@timestamp":"2020-01-01T00:00:00.5Z","winlog.channel":"System","event.code":"6005","host.name":"ws","winlog.record_id":3,"winlog.event_data.Data1":"a"}"#,
        );
        let r = r.unwrap();
        assert_eq!(
            (r.channel.as_str(), r.event_id, r.record_id),
            ("System", 6005, Some(3))
        );
        assert_eq!(r.computer, "ws");
        assert_eq!(r.get("Data1"), Some("a"));
        let (r, _) = read(r#"{"winlog":{"channel":"Security"}}"#);
        assert!(r.unwrap_err().contains("no numeric event id"));
        let (r, _) = read(r#"{"message":"x"}"#);
        assert!(r.unwrap_err().contains("not a Winlogbeat"));
    }

    #[test]
    fn sysmon_fields_moved_to_ecs_are_restored() {
        let (r, st) = read(
            r#"{"@timestamp":"2019-05-14T01:29:04.304Z","process":{"entity_id":"{a-b}","pid":3572,"executable":"C:\\m.exe","args":["C:\\m.exe","-Embedding"]},"user":{"domain":"NT AUTHORITY","name":"SYSTEM"},"source":{"ip":"10.0.0.1","port":135,"domain":""},"network":{"direction":"inbound"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":3,"record_id":5,"computer_name":"H","event_data":{"RuleName":""}}}"#,
        );
        let r = r.unwrap();
        assert_eq!(r.get("UtcTime"), Some("2019-05-14 01:29:04.304"));
        assert_eq!(r.get("ProcessGuid"), Some("{a-b}"));
        assert_eq!(r.get("ProcessId"), Some("3572"));
        assert_eq!(r.get("SourcePort"), Some("135"));
        assert_eq!(r.get("SourceHostname"), Some(""));
        assert_eq!(r.get("Initiated"), Some("false"));
        assert_eq!(r.get("User"), Some("NT AUTHORITY\\SYSTEM"));
        assert_eq!(r.get("CommandLine"), None, "not a field of event 3");
        let notes = st.notes().join("\n");
        assert!(notes.contains("their time is Sysmon's UtcTime"), "{notes}");
        assert!(
            notes.contains("1 Sysmon record(s) had EventData fields restored"),
            "{notes}"
        );
        // Event 1: the command line from process.args when command_line is absent.
        let (r, st) = read(
            r#"{"@timestamp":"2019-05-14T01:29:04.304Z","process":{"args":["C:\\m.exe","-Embedding"]},"winlog":{"channel":"microsoft-windows-sysmon/operational","event_id":1,"event_data":{"UtcTime":"2019-05-14 01:29:04.300"}}}"#,
        );
        assert_eq!(r.unwrap().get("CommandLine"), Some("C:\\m.exe -Embedding"));
        assert!(st.notes().join("\n").contains("original quoting is lost"));
    }
}
