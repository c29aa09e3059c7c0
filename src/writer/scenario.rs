//! Scenarios: TOML files describing hosts and their events, turned into EVTX fixtures.
//!
//! The format is documented key by key in docs/testing.md. Each scenario `NAME.toml` becomes
//! `testdata/NAME/HOST/<log file>.evtx`, one file per host and log, as Windows keeps them, and
//! one with an `[nxlog]` table also `testdata/NAME.nxlog/NAME.json` ([`super::nxlog`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::WriterError;
use super::binxml::{
    FieldType, UNIX_EPOCH_FILETIME, Value, format_sysmon_utc, parse_guid, parse_sid,
};
use super::file::{EventRecord, write_to_vec};
use super::schema::{Layout, Log, SysmonGen, find_layout};

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows and why.
    pub description: String,
    /// The time every event's `t` is relative to (RFC 3339, UTC).
    pub base: String,
    #[serde(default)]
    pub expect: Expect,
    #[serde(rename = "host", default)]
    pub hosts: Vec<Host>,
    /// Also render the scenario as NXLog JSON lines.
    pub nxlog: Option<super::nxlog::NxlogSpec>,
}

/// What the pipeline must find in the scenario.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Every finding the scenario must produce; any other finding is wrong.
    #[serde(default)]
    pub findings: Vec<ExpectedFinding>,
    /// Rule ids that may fire or not without being wrong (our MMC variant on an attack from
    /// a Windows client, which Elastic's MMC rule already finds).
    #[serde(default)]
    pub tolerate: Vec<String>,
    /// Facts about the process trees.
    #[serde(default)]
    pub tree: Vec<TreeFact>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFinding {
    pub rule_id: String,
    pub host: String,
    #[serde(default = "one")]
    pub count: u32,
    /// EventRecordIDs of the sequence's events, in order, when the scenario pins them.
    #[serde(default)]
    pub records: Vec<u64>,
    #[serde(default)]
    pub note: String,
}

fn one() -> u32 {
    1
}

/// A fact about one process node of a host's tree. `process` names it by ProcessGuid, or as
/// `pid:N@T` (the instance of pid N alive at scenario time T) for Security-only hosts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeFact {
    pub host: String,
    pub process: String,
    /// Image of its parent node.
    pub parent_image: Option<String>,
    /// The parent is a placeholder built from the child's Parent* fields.
    pub parent_placeholder: Option<bool>,
    /// Number of direct children.
    pub children: Option<u32>,
    /// Number of network edges on the process.
    pub connections: Option<u32>,
    /// Number of evidence records behind its (single) network edge.
    pub edge_evidence: Option<u32>,
    /// Remote side of its (single) network edge, `ip:port`.
    pub remote: Option<String>,
    /// Local side of its (single) network edge, `ip:port`.
    pub local: Option<String>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// `System/Computer`.
    pub name: String,
    /// `"recent"` (default) or `"2019"`: which Sysmon wrote the Sysmon log.
    #[serde(default)]
    pub sysmon: Option<String>,
    /// Execution ProcessID/ThreadID of Sysmon's service (default 1964 / 1664).
    pub sysmon_pid: Option<u32>,
    /// The first EventRecordID of each log (default 1).
    #[serde(default)]
    pub first_record_id: BTreeMap<String, u64>,
    #[serde(rename = "event", default)]
    pub events: Vec<EventSpec>,
}

/// One event. Keys other than the ones below are EventData fields by name.
#[derive(Debug, Clone, Deserialize)]
pub struct EventSpec {
    /// Time relative to `base`: `+1.228s`, `-5m`, `+1h2m3.5s`, `+250ms`.
    pub t: String,
    /// `sysmon`, `security` or `system`.
    pub log: String,
    pub id: u16,
    /// `System/Execution/@ProcessID` and `@ThreadID` overrides.
    pub pid: Option<u32>,
    pub tid: Option<u32>,
    /// Sysmon only: `UtcTime` is the record time shifted by this (`-4s`), as Sysmon's network
    /// events are in real logs. Ignored when `UtcTime` is given.
    pub utc_skew: Option<String>,
    /// NXLog rendering only: how long after `t` the record reaches the log (overrides the
    /// `[nxlog] lag` of its log).
    pub nxlog_lag: Option<String>,
    #[serde(flatten)]
    pub fields: BTreeMap<String, toml::Value>,
}

/// One host's log, ready to write: events in time order with their sources.
#[derive(Debug, Clone)]
pub struct HostLog {
    pub host: String,
    pub log: Log,
    pub first_record_id: u64,
    pub events: Vec<EventRecord>,
    /// For each event, its index in the host's `[[host.event]]` list.
    pub sources: Vec<usize>,
}

impl HostLog {
    /// The file's path relative to `testdata/`.
    pub fn path(&self, scenario: &str) -> PathBuf {
        Path::new(scenario)
            .join(&self.host)
            .join(self.log.file_name())
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, WriterError> {
        write_to_vec(&self.host, self.first_record_id, &self.events)
    }

    /// The EventRecordID given to the host's event `source`.
    pub fn record_id_of(&self, source: usize) -> Option<u64> {
        self.sources
            .iter()
            .position(|&s| s == source)
            .map(|i| self.first_record_id + i as u64)
    }
}

fn err(file: &str, message: impl Into<String>) -> WriterError {
    WriterError::Scenario {
        file: file.to_owned(),
        message: message.into(),
    }
}

/// Parse a scenario; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Scenario, WriterError> {
    toml::from_str(text).map_err(|e| err(file, e.to_string()))
}

/// Read and parse a scenario file.
pub fn load(path: &Path) -> Result<Scenario, WriterError> {
    let text = std::fs::read_to_string(path).map_err(|source| WriterError::File {
        path: path.to_owned(),
        source,
    })?;
    parse(&path.display().to_string(), &text)
}

/// Every `*.toml` of `dir`, by name (the file stem), sorted.
pub fn load_dir(dir: &Path) -> Result<Vec<(String, Scenario)>, WriterError> {
    let entries = std::fs::read_dir(dir).map_err(|source| WriterError::File {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| WriterError::File {
                path: dir.to_owned(),
                source,
            })?
            .path();
        if path.extension().is_some_and(|e| e == "toml") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((name, load(&p)?))
        })
        .collect()
}

/// Parse a relative time (`+1.5s`, `-2m`, `+1h30m`, `+250ms`, `+0`) into 100 ns ticks.
pub fn parse_offset(text: &str) -> Option<i64> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => (1, text),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total: i64 = 0;
    let mut s = rest;
    if s.is_empty() {
        return None;
    }
    while !s.is_empty() {
        let num_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&i| i > 0)?;
        let (number, tail) = s.split_at(num_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_end);
        let unit_ticks: i64 = match unit {
            "d" => 864_000_000_000,
            "h" => 36_000_000_000,
            "m" => 600_000_000,
            "s" => 10_000_000,
            "ms" => 10_000,
            "us" => 10,
            _ => return None,
        };
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        let int: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut ticks = int.checked_mul(unit_ticks)?;
        let mut scale = unit_ticks;
        for digit in frac.bytes() {
            if scale % 10 != 0 {
                return None; // finer than 100 ns
            }
            scale /= 10;
            ticks = ticks.checked_add(i64::from(digit - b'0') * scale)?;
        }
        total = total.checked_add(ticks)?;
        s = next;
    }
    Some(sign * total)
}

/// FILETIME of an RFC 3339 time.
pub fn parse_base(text: &str) -> Option<u64> {
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    let secs = u64::try_from(t.timestamp()).ok()?;
    Some(secs * 10_000_000 + u64::from(t.timestamp_subsec_nanos() / 100) + UNIX_EPOCH_FILETIME)
}

fn shift(ft: u64, ticks: i64) -> Option<u64> {
    u64::try_from(i128::from(ft) + i128::from(ticks)).ok()
}

/// Convert a TOML value to a field's value.
fn coerce(field_type: FieldType, v: &toml::Value, base: u64) -> Result<Value, String> {
    use toml::Value as T;
    let int = |v: &T| match v {
        T::Integer(i) => Ok(*i),
        T::String(s) => s
            .strip_prefix("0x")
            .and_then(|h| i64::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("expected an integer or 0x… hex, found {s:?}")),
        other => Err(format!("expected an integer, found {other}")),
    };
    let range = |i: i64, max: u64| {
        u64::try_from(i)
            .ok()
            .filter(|&u| u <= max)
            .ok_or_else(|| format!("{i} is out of range"))
    };
    Ok(match (field_type, v) {
        (FieldType::Str, T::String(s)) => Value::Str(s.clone()),
        (FieldType::Bool, T::Boolean(b)) => Value::Bool(*b),
        (FieldType::Guid, T::String(s)) => {
            Value::Guid(parse_guid(s).ok_or_else(|| format!("not a GUID: {s:?}"))?)
        }
        (FieldType::Sid, T::String(s)) => {
            Value::Sid(parse_sid(s).ok_or_else(|| format!("not a SID: {s:?}"))?)
        }
        (FieldType::FileTime, T::String(s)) => Value::FileTime(
            parse_offset(s)
                .and_then(|o| shift(base, o))
                .or_else(|| parse_base(s))
                .ok_or_else(|| format!("not a time: {s:?}"))?,
        ),
        (FieldType::U8, v) => Value::U8(range(int(v)?, u8::MAX.into())? as u8),
        (FieldType::U16, v) => Value::U16(range(int(v)?, u16::MAX.into())? as u16),
        (FieldType::U32, v) => Value::U32(range(int(v)?, u32::MAX.into())? as u32),
        (FieldType::U64, v) => Value::U64(range(int(v)?, u64::MAX)?),
        (FieldType::HexInt32, v) => Value::HexInt32(range(int(v)?, u32::MAX.into())? as u32),
        (FieldType::HexInt64 | FieldType::SizeT, v) => Value::HexInt64(range(int(v)?, u64::MAX)?),
        (t, v) => return Err(format!("expected a {t:?} value, found {v}")),
    })
}

/// The value of a field the scenario leaves out.
fn default_value(layout: &Layout, name: &str, field_type: FieldType, t: u64, utc: u64) -> Value {
    let ipv6 = |_: ()| Value::Bool(false);
    match (layout.log, name) {
        (Log::Sysmon, "UtcTime") => Value::Str(format_sysmon_utc(utc)),
        (Log::Sysmon, "Protocol") => Value::Str("tcp".into()),
        (Log::Sysmon, "SourceIsIpv6" | "DestinationIsIpv6") => ipv6(()),
        (Log::Security, "SubjectUserSid") => Value::Sid(vec![1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]),
        (Log::Security, "MandatoryLabel") => {
            Value::Sid(vec![1, 1, 0, 0, 0, 0, 0, 16, 0, 0x40, 0, 0])
        }
        (Log::Security, "TokenElevationType") => Value::Str("%%1936".into()),
        (Log::Security, "Protocol") => Value::U32(6),
        (Log::System, "StartTime") => Value::FileTime(t),
        _ => match field_type {
            FieldType::Str => Value::Str(String::new()),
            FieldType::U8 => Value::U8(0),
            FieldType::U16 => Value::U16(0),
            FieldType::U32 => Value::U32(0),
            FieldType::U64 => Value::U64(0),
            FieldType::Bool => Value::Bool(false),
            FieldType::Guid => Value::Guid([0; 16]),
            FieldType::FileTime => Value::FileTime(t),
            FieldType::Sid => Value::Sid(vec![1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            FieldType::HexInt32 => Value::HexInt32(0),
            FieldType::HexInt64 | FieldType::SizeT => Value::HexInt64(0),
        },
    }
}

/// Resolve a scenario into one [`HostLog`] per host and log that has events.
pub fn build(file: &str, scenario: &Scenario) -> Result<Vec<HostLog>, WriterError> {
    let base = parse_base(&scenario.base).ok_or_else(|| {
        err(
            file,
            format!("base: not an RFC 3339 time: {}", scenario.base),
        )
    })?;
    let mut out = Vec::new();
    for host in &scenario.hosts {
        let generation = match host.sysmon.as_deref() {
            None | Some("recent") => SysmonGen::Recent,
            Some("2019") => SysmonGen::V2019,
            Some(other) => {
                return Err(err(
                    file,
                    format!(
                        "host {}: sysmon = {other:?}: expected \"recent\" or \"2019\"",
                        host.name
                    ),
                ));
            }
        };
        for key in host.first_record_id.keys() {
            if Log::parse(key).is_none() {
                return Err(err(
                    file,
                    format!("host {}: first_record_id: unknown log {key:?}", host.name),
                ));
            }
        }
        let mut per_log: BTreeMap<Log, Vec<(u64, usize, EventRecord)>> = BTreeMap::new();
        for (index, spec) in host.events.iter().enumerate() {
            let at = |m: String| {
                err(
                    file,
                    format!(
                        "host {} event {} (t = {}): {m}",
                        host.name,
                        index + 1,
                        spec.t
                    ),
                )
            };
            let log =
                Log::parse(&spec.log).ok_or_else(|| at(format!("unknown log {:?}", spec.log)))?;
            let layout = find_layout(log, spec.id, generation)
                .ok_or_else(|| at(format!("no layout for {} event {}", spec.log, spec.id)))?;
            let offset = parse_offset(&spec.t)
                .ok_or_else(|| at(format!("t: not a relative time: {:?}", spec.t)))?;
            let t = shift(base, offset).ok_or_else(|| at("t: before 1601".into()))?;
            let skew = match &spec.utc_skew {
                Some(s) => parse_offset(s)
                    .ok_or_else(|| at(format!("utc_skew: not a relative time: {s:?}")))?,
                None => 0,
            };
            let utc = shift(t, skew).ok_or_else(|| at("utc_skew: before 1601".into()))?;
            for name in spec.fields.keys() {
                if layout.field_index(name).is_none() {
                    return Err(at(format!(
                        "{} event {} has no field {name:?}",
                        spec.log, spec.id
                    )));
                }
            }
            let mut values = Vec::with_capacity(layout.fields.len());
            for (name, field_type) in &layout.fields {
                let value = match spec.fields.get(*name) {
                    Some(v) => {
                        coerce(*field_type, v, base).map_err(|m| at(format!("{name}: {m}")))?
                    }
                    None => default_value(layout, name, *field_type, t, utc),
                };
                values.push(value);
            }
            // IPv6 flags follow the addresses unless given.
            for (flag, ip) in [
                ("SourceIsIpv6", "SourceIp"),
                ("DestinationIsIpv6", "DestinationIp"),
            ] {
                if let (Some(fi), Some(ii), false) = (
                    layout.field_index(flag),
                    layout.field_index(ip),
                    spec.fields.contains_key(flag),
                ) && let Value::Str(addr) = &values[ii]
                {
                    values[fi] = Value::Bool(addr.contains(':'));
                }
            }
            let (pid, tid) = match log {
                Log::Sysmon => (host.sysmon_pid.unwrap_or(1964), 1664),
                Log::Security => (4, 8),
                Log::System => (4, 8),
            };
            let record = EventRecord {
                layout,
                filetime: t,
                process_id: spec.pid.unwrap_or(pid),
                thread_id: spec.tid.unwrap_or(tid),
                values,
            };
            per_log.entry(log).or_default().push((t, index, record));
        }
        for (log, mut events) in per_log {
            // Windows writes records as they happen: in time order.
            events.sort_by_key(|(t, index, _)| (*t, *index));
            let key = format!("{log:?}").to_lowercase();
            out.push(HostLog {
                host: host.name.clone(),
                log,
                first_record_id: host.first_record_id.get(&key).copied().unwrap_or(1),
                sources: events.iter().map(|(_, i, _)| *i).collect(),
                events: events.into_iter().map(|(_, _, e)| e).collect(),
            });
        }
    }
    Ok(out)
}

/// Every fixture of the scenarios in `scenarios_dir`: path relative to `testdata/`, bytes.
pub fn fixtures(scenarios_dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, WriterError> {
    let mut out = Vec::new();
    for (name, scenario) in load_dir(scenarios_dir)? {
        let file = format!("{name}.toml");
        super::nxlog::check_unused(&file, &scenario)?;
        let logs = build(&file, &scenario)?;
        for log in &logs {
            out.push((log.path(&name), log.to_bytes()?));
        }
        if let Some(spec) = &scenario.nxlog {
            let lines = super::nxlog::render(&file, &scenario, spec, &logs)?;
            out.push((super::nxlog::path(&name), lines));
        }
    }
    Ok(out)
}

/// Write every fixture under `testdata`; return the paths written.
pub fn write_fixtures(testdata: &Path) -> Result<Vec<PathBuf>, WriterError> {
    let all = fixtures(&testdata.join("scenarios"))?;
    let mut written = Vec::new();
    for stale in stale_files(testdata, &all)? {
        std::fs::remove_file(&stale).map_err(|source| WriterError::File {
            path: stale.clone(),
            source,
        })?;
    }
    for (rel, bytes) in all {
        let path = testdata.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| WriterError::File {
                path: dir.to_owned(),
                source,
            })?;
        }
        std::fs::write(&path, bytes).map_err(|source| WriterError::File {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// What differs between the fixtures on disk and those the scenarios produce: one line per
/// missing, changed or stale file; empty when they are current.
pub fn check_fixtures(testdata: &Path) -> Result<Vec<String>, WriterError> {
    let all = fixtures(&testdata.join("scenarios"))?;
    let mut problems = Vec::new();
    for (rel, bytes) in &all {
        match std::fs::read(testdata.join(rel)) {
            Ok(on_disk) if on_disk == *bytes => {}
            Ok(_) => problems.push(format!("{}: out of date", rel.display())),
            Err(_) => problems.push(format!("{}: missing", rel.display())),
        }
    }
    for stale in stale_files(testdata, &all)? {
        problems.push(format!("{}: no scenario writes it", stale.display()));
    }
    Ok(problems)
}

/// `.evtx` files in the scenarios' output folders, and `.json` files in `testdata/*.nxlog/`,
/// that no scenario writes.
fn stale_files(testdata: &Path, all: &[(PathBuf, Vec<u8>)]) -> Result<Vec<PathBuf>, WriterError> {
    let mut roots: Vec<PathBuf> = all
        .iter()
        .filter_map(|(rel, _)| rel.components().next())
        .map(|c| testdata.join(c))
        .collect();
    if let Ok(entries) = std::fs::read_dir(testdata) {
        roots.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| is_nxlog_dir(p)),
        );
    }
    roots.sort();
    roots.dedup();
    let expected: std::collections::BTreeSet<PathBuf> =
        all.iter().map(|(rel, _)| testdata.join(rel)).collect();
    let mut stale = Vec::new();
    let mut stack = roots;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if (path.extension().is_some_and(|e| e == "evtx")
                || path.extension().is_some_and(|e| e == "json") && is_nxlog_dir(&dir))
                && !expected.contains(&path)
            {
                stale.push(path);
            }
        }
    }
    stale.sort();
    Ok(stale)
}

fn is_nxlog_dir(path: &Path) -> bool {
    path.is_dir() && path.extension().is_some_and(|e| e == "nxlog")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_exactly() {
        assert_eq!(parse_offset("+1.228s"), Some(12_280_000));
        assert_eq!(parse_offset("-5m"), Some(-3_000_000_000));
        assert_eq!(
            parse_offset("+1h2m3.5s"),
            Some(36_000_000_000 + 1_200_000_000 + 35_000_000)
        );
        assert_eq!(parse_offset("+250ms"), Some(2_500_000));
        assert_eq!(parse_offset("+0.0000001s"), Some(1));
        assert_eq!(parse_offset("+0.00000001s"), None);
        assert_eq!(parse_offset("+0"), Some(0));
        assert_eq!(parse_offset("+5x"), None);
        assert_eq!(parse_offset(""), None);
        assert_eq!(parse_offset("+"), None);
    }

    #[test]
    fn bad_scenarios_are_errors_naming_the_event() {
        let text = r#"
description = "x"
base = "2026-01-01T00:00:00Z"
[[host]]
name = "H"
[[host.event]]
t = "+1s"
log = "sysmon"
id = 1
Imagee = "C:\\x.exe"
"#;
        let s = parse("x.toml", text).unwrap();
        let e = build("x.toml", &s).unwrap_err().to_string();
        assert!(
            e.contains("x.toml") && e.contains("event 1") && e.contains("Imagee"),
            "{e}"
        );
        let bad_type = text.replace("Imagee = \"C:\\\\x.exe\"", "ProcessId = \"12\"");
        let e = build("x.toml", &parse("x.toml", &bad_type).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("ProcessId"), "{e}");
        assert!(parse("x.toml", "description = 1").is_err());
    }

    #[test]
    fn events_are_written_in_time_order_with_record_ids() {
        let text = r#"
description = "x"
base = "2026-01-01T00:00:00Z"
[[host]]
name = "H"
first_record_id = { sysmon = 100 }
[[host.event]]
t = "+2s"
log = "sysmon"
id = 5
[[host.event]]
t = "+1s"
log = "sysmon"
id = 5
[[host.event]]
t = "+0"
log = "system"
id = 6005
"#;
        let logs = build("x.toml", &parse("x.toml", text).unwrap()).unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].log, Log::Sysmon);
        assert_eq!(logs[0].sources, vec![1, 0]);
        assert_eq!(logs[0].record_id_of(0), Some(101));
        assert_eq!(logs[1].first_record_id, 1);
        assert_eq!(
            logs[0].path("s"),
            Path::new("s/H/Microsoft-Windows-Sysmon%4Operational.evtx")
        );
    }
}
