//! NXLog JSON lines from a scenario: what NXLog's `im_msvistalog` input with `to_json()` writes
//! for the scenario's events, as a collector forwarding several hosts' logs would keep them.
//!
//! The EVTX fixtures keep Windows' precise clocks; this rendering keeps what such a collection
//! keeps instead: `EventTime` in the collector's local time (`[nxlog] utc_offset`), whole
//! seconds, truncated, and no zone; a record reaches the log `lag` after the event it records
//! (Sysmon's records arrive 1–2 s after the Security records of the same facts in real
//! collections). Everything else is the event's: `RecordNumber` is its EventRecordID, the
//! EventData fields are flattened at the top level as text, Sysmon's `UtcTime` keeps its
//! milliseconds. Format: docs/testing.md, "NXLog rendering".

mod message;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value as J;

use super::WriterError;
use super::binxml::{UNIX_EPOCH_FILETIME, Value, format_filetime, format_guid, format_sid};
use super::file::EventRecord;
use super::scenario::{HostLog, Scenario, parse_offset};
use super::schema::Log;

/// A scenario's `[nxlog]` table: render it as NXLog JSON lines too.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NxlogSpec {
    /// The collector's offset from UTC, `"-04:00"`: `EventTime` is local time there.
    pub utc_offset: String,
    /// Per log (`sysmon`, `security`, `system`): how long after the event its record reaches
    /// the log (`"1.5s"`); an event's own `nxlog_lag` overrides it. Default 0.
    #[serde(default)]
    pub lag: BTreeMap<String, String>,
}

/// `EventReceivedTime` is the logged time plus this: the collector's delivery delay.
pub const RECEIVE_DELAY_TICKS: i64 = 20_000_000;

/// Where the rendering of scenario `name` goes, relative to `testdata/`: beside the EVTX
/// fixtures' folder, not inside it, so that scanning `testdata/NAME` reads each event once.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(format!("{name}.nxlog")).join(format!("{name}.json"))
}

fn err(file: &str, message: impl Into<String>) -> WriterError {
    WriterError::Scenario {
        file: file.to_owned(),
        message: message.into(),
    }
}

/// `"+HH:MM"` / `"-HH:MM"` (or `"Z"`) as seconds east of UTC.
pub fn parse_utc_offset(text: &str) -> Option<i64> {
    if text == "Z" {
        return Some(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = text[1..].split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// A FILETIME as NXLog writes `EventTime`: local time at `offset_secs`, `YYYY-MM-DD HH:MM:SS`,
/// the fraction dropped (truncated toward the past).
pub fn event_time(filetime: u64, offset_secs: i64) -> String {
    let ticks = i128::from(filetime) - i128::from(UNIX_EPOCH_FILETIME);
    let secs = ticks.div_euclid(10_000_000) as i64 + offset_secs;
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The event's value as NXLog writes EventData: text, rendered as Windows renders the type
/// (the same text the EVTX reader gives).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Str(s) => s.clone(),
        Value::U8(n) => n.to_string(),
        Value::U16(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Guid(g) => format_guid(g),
        Value::FileTime(ft) => format_filetime(*ft),
        Value::Sid(s) => format_sid(s),
        Value::HexInt32(n) => format!("0x{n:x}"),
        Value::HexInt64(n) => format!("0x{n:x}"),
    }
}

/// The time each event of `log` reaches the log: its time plus the event's `nxlog_lag`, else
/// the `[nxlog] lag` of its log, else 0. One FILETIME per event, in `log.events` order.
pub fn logged_times(
    file: &str,
    scenario: &Scenario,
    spec: &NxlogSpec,
    log: &HostLog,
) -> Result<Vec<u64>, WriterError> {
    let mut default = 0;
    for (key, text) in &spec.lag {
        let l = Log::parse(key)
            .ok_or_else(|| err(file, format!("[nxlog] lag: unknown log {key:?}")))?;
        let ticks = parse_offset(text)
            .ok_or_else(|| err(file, format!("[nxlog] lag.{key}: not a duration: {text:?}")))?;
        if l == log.log {
            default = ticks;
        }
    }
    let host = scenario.hosts.iter().find(|h| h.name == log.host);
    log.events
        .iter()
        .zip(&log.sources)
        .map(|(event, &source)| {
            let own = host.and_then(|h| h.events.get(source)?.nxlog_lag.as_deref());
            let lag = match own {
                Some(text) => parse_offset(text).ok_or_else(|| {
                    err(
                        file,
                        format!(
                            "host {} event {}: nxlog_lag: not a duration: {text:?}",
                            log.host,
                            source + 1
                        ),
                    )
                })?,
                None => default,
            };
            u64::try_from(i128::from(event.filetime) + i128::from(lag))
                .map_err(|_| err(file, format!("host {}: nxlog lag before 1601", log.host)))
        })
        .collect()
}

/// An `nxlog_lag` on an event of a scenario without an `[nxlog]` table is an error.
pub fn check_unused(file: &str, scenario: &Scenario) -> Result<(), WriterError> {
    if scenario.nxlog.is_some() {
        return Ok(());
    }
    for host in &scenario.hosts {
        if let Some(i) = host.events.iter().position(|e| e.nxlog_lag.is_some()) {
            return Err(err(
                file,
                format!(
                    "host {} event {}: nxlog_lag without an [nxlog] table",
                    host.name,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// The NXLog JSON lines of a scenario's logs (from [`super::scenario::build`]): one line per
/// record, in the order the records reach their logs (ties: host, log, record number).
pub fn render(
    file: &str,
    scenario: &Scenario,
    spec: &NxlogSpec,
    logs: &[HostLog],
) -> Result<Vec<u8>, WriterError> {
    let offset = parse_utc_offset(&spec.utc_offset).ok_or_else(|| {
        err(
            file,
            format!(
                "[nxlog] utc_offset: expected \"+HH:MM\" or \"-HH:MM\", found {:?}",
                spec.utc_offset
            ),
        )
    })?;
    let mut lines = Vec::new();
    for (log_index, log) in logs.iter().enumerate() {
        let logged = logged_times(file, scenario, spec, log)?;
        for (i, (event, at)) in log.events.iter().zip(logged).enumerate() {
            lines.push((at, log_index, i, event));
        }
    }
    lines.sort_by_key(|&(at, log_index, i, _)| (at, log_index, i));
    let mut out = Vec::new();
    for (at, log_index, i, event) in lines {
        let log = &logs[log_index];
        let record_id = log.first_record_id + i as u64;
        out.extend_from_slice(line(&log.host, record_id, event, at, offset).as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

/// One record as NXLog writes it: its own fields in NXLog's order, the EventData fields, then
/// the reception fields. Name clashes as NXLog resolves them (docs/formats.md): Security 5156's
/// `ProcessID` is written `ProcessId`; an EventData `EventType` moves NXLog's own to
/// `EventTypeOrignal`; any other EventData field named like one of NXLog's (Sysmon 4's
/// `Version`) takes that field's place.
pub fn line(host: &str, record_id: u64, event: &EventRecord, logged: u64, offset: i64) -> String {
    let layout = event.layout;
    let security = layout.log == Log::Security;
    let received =
        u64::try_from(i128::from(logged) + i128::from(RECEIVE_DELAY_TICKS)).unwrap_or(logged);
    let data: Vec<(&str, String)> = layout
        .fields
        .iter()
        .zip(&event.values)
        .map(|((name, _), v)| (*name, value_text(v)))
        .collect();
    let mut fields: Vec<(String, J)> = vec![
        ("EventTime".into(), J::from(event_time(logged, offset))),
        ("Hostname".into(), J::from(host)),
        ("Keywords".into(), J::from(layout.keywords as i64)),
        (
            "EventType".into(),
            J::from(if security { "AUDIT_SUCCESS" } else { "INFO" }),
        ),
        ("SeverityValue".into(), J::from(2)),
        ("Severity".into(), J::from("INFO")),
        ("EventID".into(), J::from(layout.event_id)),
        ("SourceName".into(), J::from(layout.provider)),
    ];
    if let Some(guid) = layout.provider_guid {
        fields.push(("ProviderGuid".into(), J::from(guid.to_uppercase())));
    }
    fields.extend([
        ("Version".into(), J::from(layout.version)),
        ("Task".into(), J::from(layout.task)),
        ("OpcodeValue".into(), J::from(layout.opcode)),
        ("RecordNumber".into(), J::from(record_id)),
        ("ExecutionProcessID".into(), J::from(event.process_id)),
        ("ThreadID".into(), J::from(event.thread_id)),
        ("Channel".into(), J::from(layout.log.channel())),
    ]);
    if let Some(sid) = layout.user_sid {
        let (domain, account) = message::account_of(sid);
        fields.extend([
            ("Domain".into(), J::from(domain)),
            ("AccountName".into(), J::from(account)),
            ("UserID".into(), J::from(sid)),
            ("AccountType".into(), J::from("User")),
        ]);
    }
    fields.extend([
        (
            "Message".into(),
            J::from(message::message(layout.log, layout.event_id, &data)),
        ),
        (
            "Category".into(),
            J::from(message::category(layout.log, layout.event_id)),
        ),
        ("Opcode".into(), J::from("Info")),
    ]);
    for (name, text) in data {
        let name = if security && matches!(layout.event_id, 5156 | 5157) && name == "ProcessID" {
            "ProcessId"
        } else {
            name
        };
        if name == "EventType" {
            if let Some(own) = fields.iter_mut().find(|(k, _)| k == "EventType") {
                own.0 = "EventTypeOrignal".into();
            }
        } else if let Some(own) = fields.iter_mut().find(|(k, _)| k == name) {
            own.1 = J::from(text);
            continue;
        }
        fields.push((name.to_owned(), J::from(text)));
    }
    fields.extend([
        (
            "EventReceivedTime".into(),
            J::from(event_time(received, offset)),
        ),
        ("SourceModuleName".into(), J::from("eventlog")),
        ("SourceModuleType".into(), J::from("im_msvistalog")),
    ]);
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&J::from(k.as_str()).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::scenario::{build, parse};

    #[test]
    fn offsets_and_event_times() {
        assert_eq!(parse_utc_offset("-04:00"), Some(-14_400));
        assert_eq!(parse_utc_offset("+05:30"), Some(19_800));
        assert_eq!(parse_utc_offset("Z"), Some(0));
        for bad in ["-4:00", "04:00", "+15:00", "+01:60", "", "-04:00:00"] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
        // 2020-09-17T21:46:05.9999999Z at UTC-4, truncated, not rounded.
        let ft = crate::writer::scenario::parse_base("2020-09-17T21:46:05.9999999Z").unwrap();
        assert_eq!(event_time(ft, -14_400), "2020-09-17 17:46:05");
        // Truncation crosses the day boundary with the zone.
        let ft = crate::writer::scenario::parse_base("2020-09-18T02:00:00.5Z").unwrap();
        assert_eq!(event_time(ft, -14_400), "2020-09-17 22:00:00");
    }

    const TEXT: &str = r#"
description = "x"
base = "2020-09-17T21:46:05.4Z"
[nxlog]
utc_offset = "-04:00"
lag = { sysmon = "1.2s" }
[[host]]
name = "WS6.corp.example"
[[host.event]]
t = "+0"
log = "security"
id = 5156
ProcessID = 996
Direction = "%%14592"
SourceAddress = "10.0.0.6"
SourcePort = "135"
[[host.event]]
t = "+0.011s"
log = "sysmon"
id = 3
ProcessId = 996
Image = "C:\\Windows\\System32\\svchost.exe"
[[host.event]]
t = "+0.2s"
log = "sysmon"
id = 4
nxlog_lag = "0s"
Version = "15.15"
"#;

    #[test]
    fn lines_have_nxlog_shape_and_order() {
        let sc = parse("x.toml", TEXT).unwrap();
        let logs = build("x.toml", &sc).unwrap();
        let bytes = render("x.toml", &sc, sc.nxlog.as_ref().unwrap(), &logs).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<serde_json::Map<String, J>> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        // Security at .4 → 17:46:05; Sysmon 4 with no lag at .6 → :05; Sysmon 3 lagged to
        // 06.611 → :06.
        let order: Vec<_> = lines
            .iter()
            .map(|l| l["EventID"].as_u64().unwrap())
            .collect();
        assert_eq!(order, vec![5156, 4, 3]);
        let a = &lines[0];
        assert_eq!(a["EventTime"], "2020-09-17 17:46:05");
        assert_eq!(a["EventReceivedTime"], "2020-09-17 17:46:07");
        assert_eq!(a["ProcessId"], "996");
        assert!(!a.contains_key("ProcessID"));
        assert_eq!(a["ExecutionProcessID"], 4);
        assert_eq!(a["Keywords"], -9_214_364_837_600_034_816_i64);
        assert_eq!(a["EventType"], "AUDIT_SUCCESS");
        assert_eq!(a["ProviderGuid"], "{54849625-5478-4994-A5BA-3E3B0328C30D}");
        assert_eq!(a["Protocol"], "6");
        assert!(
            a["Message"]
                .as_str()
                .unwrap()
                .contains("Direction:\t\tInbound"),
            "{}",
            a["Message"]
        );
        let keys: Vec<&str> = a.keys().map(String::as_str).collect();
        assert_eq!(keys.first(), Some(&"EventTime"));
        assert_eq!(keys.last(), Some(&"SourceModuleType"));
        let c = &lines[2];
        assert_eq!(c["EventTime"], "2020-09-17 17:46:06");
        assert_eq!(c["UtcTime"], "2020-09-17 21:46:05.411");
        assert_eq!(c["Initiated"], "false");
        assert_eq!(c["UserID"], "S-1-5-18");
        assert_eq!(c["RecordNumber"], 1);
        // Sysmon 4's EventData Version takes NXLog's Version field's place.
        assert_eq!(lines[1]["Version"], "15.15");
        assert_eq!(text.matches("\"Version\"").count(), 3);
    }

    #[test]
    fn bad_nxlog_tables_are_errors() {
        let bad = TEXT.replace("\"-04:00\"", "\"EDT\"");
        let sc = parse("x.toml", &bad).unwrap();
        let logs = build("x.toml", &sc).unwrap();
        let e = render("x.toml", &sc, sc.nxlog.as_ref().unwrap(), &logs).unwrap_err();
        assert!(e.to_string().contains("utc_offset"), "{e}");
        let bad = TEXT.replace("lag = { sysmon", "lag = { sysmom");
        let sc = parse("x.toml", &bad).unwrap();
        let e = render("x.toml", &sc, sc.nxlog.as_ref().unwrap(), &logs).unwrap_err();
        assert!(e.to_string().contains("sysmom"), "{e}");
        let bad = TEXT.replace(
            "[nxlog]\nutc_offset = \"-04:00\"\nlag = { sysmon = \"1.2s\" }\n",
            "",
        );
        let sc = parse("x.toml", &bad).unwrap();
        let e = check_unused("x.toml", &sc).unwrap_err();
        assert!(
            e.to_string().contains("event 3") && e.to_string().contains("nxlog_lag"),
            "{e}"
        );
    }
}
