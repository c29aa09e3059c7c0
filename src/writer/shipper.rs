//! Records rendered as log shippers write them: Winlogbeat 6.x, Winlogbeat 7.x with its Sysmon
//! module, Winlogbeat 8.x, and Elastic Agent documents exported from Elasticsearch; as JSON
//! lines or as one JSON array. Test fixtures for the Winlogbeat reader, made from the records
//! of our own EVTX fixtures, so each shipped record can be checked against the one it came from.

use crate::record::RawRecord;
use serde_json::{Map, Value, json};
use std::io::{self, Write};

/// Which shipper's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShipperShape {
    /// Winlogbeat 6.x: `event_data`, `log_name`, `record_number` (text), `event_id` (number).
    Winlogbeat6,
    /// Winlogbeat 7.x with its Sysmon module: `winlog.*`, numbers for ids; Sysmon's EventData
    /// fields moved to ECS fields (`UtcTime` to `@timestamp`, `Image` to `process.executable`, …).
    Winlogbeat7Sysmon,
    /// Winlogbeat 8.x: `winlog.*`, `winlog.event_id` as text, EventData as the event has it.
    Winlogbeat8,
    /// Elastic Agent (the Windows and System integrations) as exported from Elasticsearch:
    /// `{"_index":…,"_source":{…}}`, `data_stream.*`.
    ElasticAgent,
}

/// How the records are laid out in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShipperLayout {
    /// One record a line.
    Lines,
    /// One JSON array, one record a line.
    Array,
    /// One JSON array, pretty-printed.
    PrettyArray,
}

/// `@timestamp` as Beats write it: UTC, milliseconds.
fn stamp(t: crate::time::Ts) -> String {
    let iso = t.iso();
    format!("{}Z", &iso[..23.min(iso.len())])
}

fn is_sysmon(r: &RawRecord) -> bool {
    r.channel
        .eq_ignore_ascii_case(crate::normalize::SYSMON_CHANNEL)
}

fn data_object(r: &RawRecord) -> Map<String, Value> {
    r.data
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect()
}

/// One record in a shipper's shape.
pub fn render(r: &RawRecord, shape: ShipperShape) -> Value {
    let time = r.time.map(stamp);
    match shape {
        ShipperShape::Winlogbeat6 => json!({
            "@timestamp": time,
            "beat": {"hostname": r.computer, "name": r.computer, "version": "6.8.23"},
            "computer_name": r.computer,
            "event_data": data_object(r),
            "event_id": r.event_id,
            "level": "Information",
            "log_name": r.channel,
            "message": format!("event {} of {}", r.event_id, r.provider),
            "record_number": r.record_id.map(|n| n.to_string()),
            "source_name": r.provider,
            "type": "wineventlog",
        }),
        ShipperShape::Winlogbeat7Sysmon => {
            let mut doc = winlog_doc(
                r,
                time.as_deref(),
                ("winlogbeat", "7.17.0", "1.12.0"),
                false,
            );
            if is_sysmon(r) {
                sysmon_module(&mut doc, r.event_id);
            }
            doc
        }
        ShipperShape::Winlogbeat8 | ShipperShape::ElasticAgent => {
            let agent = if shape == ShipperShape::ElasticAgent {
                "filebeat"
            } else {
                "winlogbeat"
            };
            let mut doc = winlog_doc(r, time.as_deref(), (agent, "8.12.2", "8.0.0"), true);
            if shape == ShipperShape::ElasticAgent {
                let dataset = if is_sysmon(r) {
                    "windows.sysmon_operational"
                } else {
                    "system.security"
                };
                doc["data_stream"] =
                    json!({"type": "logs", "dataset": dataset, "namespace": "default"});
                doc["input"] = json!({"type": "winlog"});
                doc = json!({
                    "_index": format!(".ds-logs-{dataset}-default-2024.01.01-000001"),
                    "_id": format!("{}-{}", r.computer, r.record_id.unwrap_or(0)),
                    "_source": doc,
                });
            }
            doc
        }
    }
}

/// A `winlog.*` document (Winlogbeat 7/8, Elastic Agent) of `agent` = (type, version, ECS
/// version); `ids_as_text`: the event code, event id and record id as text (8.x), else numbers.
fn winlog_doc(
    r: &RawRecord,
    time: Option<&str>,
    (agent, version, ecs): (&str, &str, &str),
    ids_as_text: bool,
) -> Value {
    let id = |n: Option<u64>| -> Value {
        match n {
            Some(n) if ids_as_text => n.to_string().into(),
            Some(n) => n.into(),
            None => Value::Null,
        }
    };
    let event_id = id(Some(u64::from(r.event_id)));
    json!({
        "@timestamp": time,
        "agent": {"type": agent, "version": version},
        "ecs": {"version": ecs},
        "event": {"code": event_id, "kind": "event", "provider": r.provider},
        "host": {"name": r.computer.to_ascii_lowercase()},
        "log": {"level": "information"},
        "message": format!("event {} of {}", r.event_id, r.provider),
        "winlog": {
            "api": "wineventlog",
            "channel": r.channel,
            "computer_name": r.computer,
            "event_data": data_object(r),
            "event_id": event_id,
            "provider_name": r.provider,
            "record_id": id(r.record_id),
        },
    })
}

/// What Winlogbeat 7's Sysmon module does to the events the tool reads: EventData fields moved
/// to ECS fields (numbers for ports and PIDs), `User` split into `user.*`, `Initiated` turned
/// into `network.direction`, `UtcTime` into `@timestamp`.
fn sysmon_module(doc: &mut Value, event_id: u32) {
    const MOVES: &[(&[u32], &str, &str, bool)] = &[
        (&[1, 3, 5], "ProcessGuid", "process.entity_id", false),
        (&[1, 3, 5], "ProcessId", "process.pid", true),
        (&[1, 3, 5], "Image", "process.executable", false),
        (&[1], "CommandLine", "process.command_line", false),
        (&[1], "CurrentDirectory", "process.working_directory", false),
        (&[1], "ParentProcessGuid", "process.parent.entity_id", false),
        (&[1], "ParentProcessId", "process.parent.pid", true),
        (&[1], "ParentImage", "process.parent.executable", false),
        (
            &[1],
            "ParentCommandLine",
            "process.parent.command_line",
            false,
        ),
        (&[3], "Protocol", "network.transport", false),
        (&[3], "SourceIp", "source.ip", false),
        (&[3], "SourceHostname", "source.domain", false),
        (&[3], "SourcePort", "source.port", true),
        (&[3], "DestinationIp", "destination.ip", false),
        (&[3], "DestinationHostname", "destination.domain", false),
        (&[3], "DestinationPort", "destination.port", true),
        (&[3], "DestinationPortName", "network.protocol", false),
    ];
    let Some(Value::Object(mut data)) = doc["winlog"]
        .as_object_mut()
        .and_then(|w| w.remove("event_data"))
    else {
        return;
    };
    let put = |doc: &mut Value, path: &str, v: Value| {
        let mut at = &mut *doc;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            if !at.get(*p).is_some_and(Value::is_object) {
                at[*p] = json!({});
            }
            at = &mut at[*p];
        }
        at[parts[parts.len() - 1]] = v;
    };
    if let Some(Value::String(utc)) = data.remove("UtcTime") {
        let t = crate::time::Ts::parse(&utc).map(stamp);
        put(doc, "@timestamp", json!(t));
    }
    for (ids, name, ecs, numeric) in MOVES {
        if !ids.contains(&event_id) {
            continue;
        }
        if let Some(Value::String(v)) = data.remove(*name) {
            let value = match v.parse::<u64>() {
                Ok(n) if *numeric => json!(n),
                _ => json!(v),
            };
            put(doc, ecs, value);
        }
    }
    if matches!(event_id, 1 | 3) {
        let split = match data.get("User") {
            Some(Value::String(u)) => u
                .split_once('\\')
                .map(|(d, n)| (d.to_string(), n.to_string())),
            _ => None,
        };
        if let Some((d, n)) = split {
            data.remove("User");
            put(doc, "user.domain", json!(d));
            put(doc, "user.name", json!(n));
        }
    }
    if event_id == 3 {
        let dir = match data.remove("Initiated") {
            Some(Value::String(s)) if s == "true" => Some("outbound"),
            Some(Value::String(s)) if s == "false" => Some("inbound"),
            _ => None,
        };
        if let Some(d) = dir {
            put(doc, "network.direction", json!(d));
        }
    }
    if !data.is_empty() {
        doc["winlog"]["event_data"] = Value::Object(data);
    }
}

/// Write records in a shipper's shape and layout.
pub fn write(
    records: &[RawRecord],
    shape: ShipperShape,
    layout: ShipperLayout,
    out: &mut impl Write,
) -> io::Result<()> {
    let text = |v: &Value, pretty: bool| {
        if pretty {
            serde_json::to_string_pretty(v)
        } else {
            serde_json::to_string(v)
        }
        .map_err(io::Error::other)
    };
    match layout {
        ShipperLayout::Lines => {
            for r in records {
                writeln!(out, "{}", text(&render(r, shape), false)?)?;
            }
        }
        ShipperLayout::Array | ShipperLayout::PrettyArray => {
            let pretty = layout == ShipperLayout::PrettyArray;
            out.write_all(b"[\n")?;
            for (i, r) in records.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",\n")?;
                }
                out.write_all(text(&render(r, shape), pretty)?.as_bytes())?;
            }
            out.write_all(b"\n]\n")?;
        }
    }
    Ok(())
}

/// Every record of an EVTX file (kept or not), as the EVTX reader reads the evtx crate's JSON
/// rendering of it: what [`write`] renders.
pub fn evtx_records(path: &std::path::Path) -> Result<Vec<RawRecord>, super::WriterError> {
    use crate::ingest::json_event::record_from_event_json_bytes;
    use crate::record::Provenance;
    let file_err = |e: std::io::Error| super::WriterError::File {
        path: path.to_path_buf(),
        source: e,
    };
    let bad = |e: String| file_err(io::Error::new(io::ErrorKind::InvalidData, e));
    let mut parser = evtx::EvtxParser::from_path(path)
        .map_err(|e| bad(e.to_string()))?
        .with_configuration(evtx::ParserSettings::default().indent(false));
    let mut out = Vec::new();
    for rec in parser.records_json() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let prov = Provenance {
            file: std::sync::Arc::from(path.display().to_string()),
            chunk: None,
            offset: None,
            line: None,
        };
        if let Some(r) = record_from_event_json_bytes(rec.data.as_bytes(), prov)
            .map_err(|e| bad(e.to_string()))?
        {
            out.push(r);
        }
    }
    Ok(out)
}
