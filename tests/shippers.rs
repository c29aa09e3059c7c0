//! Logs already shipped: Winlogbeat 6/7/8 and Elastic Agent JSON made by our writer from the
//! EVTX scenario fixtures read as the `.evtx` they came from; every shipped file's kept events
//! equal what the file itself says (per channel and event id), NXLog's too; channel names are
//! canonical; JSON is recognized whatever its first record; resource forks are counted.

mod common;

use dcomhunt::discover::discover;
use dcomhunt::ingest::{self, Format, jsonl, sniff_path};
use dcomhunt::names::canonical_channel;
use dcomhunt::pipeline::load;
use dcomhunt::record::RawRecord;
use dcomhunt::time::Ts;
use dcomhunt::writer::shipper::{self, ShipperLayout, ShipperShape};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SHAPES: [ShipperShape; 4] = [
    ShipperShape::Winlogbeat6,
    ShipperShape::Winlogbeat7Sysmon,
    ShipperShape::Winlogbeat8,
    ShipperShape::ElasticAgent,
];
const LAYOUTS: [ShipperLayout; 3] = [
    ShipperLayout::Lines,
    ShipperLayout::Array,
    ShipperLayout::PrettyArray,
];

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            evtx_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "evtx") {
            out.push(p);
        }
    }
}

fn scenario_evtx() -> Vec<PathBuf> {
    let mut found = Vec::new();
    evtx_files(&common::testdata(), &mut found);
    found.sort();
    assert!(!found.is_empty(), "testdata holds the scenario fixtures");
    found
}

fn ship(records: &[RawRecord], shape: ShipperShape, layout: ShipperLayout, to: &Path) {
    let mut f = std::fs::File::create(to).unwrap();
    shipper::write(records, shape, layout, &mut f).unwrap();
}

/// A time cut to the millisecond, as `@timestamp` holds it.
fn ms(t: Ts) -> Ts {
    Ts(t.0 - t.0.rem_euclid(10_000))
}

fn sorted(data: &[(Arc<str>, String)]) -> Vec<(Arc<str>, String)> {
    let mut d = data.to_vec();
    d.sort();
    d
}

/// What a shipped record must read back as: the EVTX record with its time cut to the
/// millisecond (Sysmon's `UtcTime` where Winlogbeat 7's Sysmon module put it in `@timestamp`).
fn check_record(what: &str, got: &RawRecord, want: &RawRecord, shape: ShipperShape) {
    assert_eq!(
        (
            &got.channel,
            &got.provider,
            got.event_id,
            got.record_id,
            &got.computer
        ),
        (
            &want.channel,
            &want.provider,
            want.event_id,
            want.record_id,
            &want.computer
        ),
        "{what}"
    );
    let sysmon_module = shape == ShipperShape::Winlogbeat7Sysmon
        && want.channel == "Microsoft-Windows-Sysmon/Operational";
    let utc = want.get("UtcTime").and_then(Ts::parse);
    let time = match (sysmon_module, utc) {
        (true, Some(u)) => Some(ms(u)),
        _ => want.time.map(ms),
    };
    assert_eq!(got.time, time, "{what}: time");
    if sysmon_module {
        // Moved to ECS fields and restored: the same fields, restored ones last.
        assert_eq!(sorted(&got.data), sorted(&want.data), "{what}: data");
    } else {
        assert_eq!(got.data, want.data, "{what}: data, in order");
    }
}

/// Every scenario fixture, in every shipper's shape and layout, reads back as the `.evtx`
/// record for record and field for field.
#[test]
fn shipped_fixtures_read_as_the_evtx() {
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for evtx in scenario_evtx() {
        let want = shipper::evtx_records(&evtx).unwrap();
        for shape in SHAPES {
            for layout in LAYOUTS {
                let path = tmp.path().join(format!("{shape:?}-{layout:?}.json"));
                ship(&want, shape, layout, &path);
                let what = format!("{} as {shape:?} {layout:?}", evtx.display());
                assert_eq!(
                    sniff_path(&path).unwrap(),
                    Some(Format::WinlogbeatJson),
                    "{what}"
                );
                let file = std::fs::File::open(&path).unwrap();
                let (got, stats) =
                    jsonl::read_from(file, &Arc::from("x"), jsonl::Flavor::Winlogbeat, &|_| true);
                assert!(stats.damage.is_empty(), "{what}: {:?}", stats.damage);
                assert!(!stats.truncated, "{what}");
                assert_eq!(stats.records_read, want.len() as u64, "{what}");
                assert_eq!(got.len(), want.len(), "{what}");
                for (g, w) in got.iter().zip(&want) {
                    check_record(&what, g, w, shape);
                    checked += 1;
                }
                if layout != ShipperLayout::Lines {
                    assert!(stats.notes.iter().any(|n| n.contains("one JSON array")));
                }
                let clock = stats.notes.join("\n");
                assert!(clock.contains("clock: @timestamp"), "{what}: {clock}");
            }
        }
    }
    assert!(checked > 1000, "{checked} records checked");
}

/// The records the tool keeps, counted from the JSON itself — independently of the readers:
/// (canonical channel, event id) → records.
fn kept_in_file(path: &Path) -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(path).unwrap();
    let docs: Vec<Value> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(a)) => a,
        _ => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    };
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let mut out = BTreeMap::new();
    for d in docs {
        let d = d.get("_source").cloned().unwrap_or(d);
        let pick = |paths: &[&[&str]]| {
            paths
                .iter()
                .find_map(|p| p.iter().try_fold(&d, |v, k| v.get(*k)).map(&s))
                .unwrap_or_default()
        };
        let channel = pick(&[&["winlog", "channel"], &["log_name"], &["Channel"]]);
        let provider = pick(&[
            &["winlog", "provider_name"],
            &["source_name"],
            &["SourceName"],
        ]);
        let id: u32 = pick(&[&["winlog", "event_id"], &["event_id"], &["EventID"]])
            .parse()
            .unwrap();
        let ch = channel.to_ascii_lowercase();
        let kept = match ch.as_str() {
            "microsoft-windows-sysmon/operational" => matches!(id, 1 | 3 | 4 | 5),
            "security" => matches!(id, 4608 | 4688 | 4689 | 5156),
            "system" => {
                id == 6005
                    || (id == 12
                        && provider.eq_ignore_ascii_case("Microsoft-Windows-Kernel-General"))
            }
            _ => false,
        };
        if kept {
            *out.entry(format!("{}:{id}", canonical_channel(&channel)))
                .or_default() += 1;
        }
    }
    out
}

fn assert_kept_as_file_says(path: &Path) {
    let l = load(&[path.to_path_buf()]).unwrap();
    assert_eq!(l.inputs.len(), 1);
    let input = &l.inputs[0];
    assert!(!input.stats.incomplete(), "{:?}", input.stats.damage);
    let want = kept_in_file(path);
    assert!(!want.is_empty(), "{}: keeps something", path.display());
    assert_eq!(input.kept, want, "{}", path.display());
}

#[test]
fn shipped_kept_events_equal_what_the_file_says() {
    let tmp = tempfile::tempdir().unwrap();
    // One shipped file per log: the scenarios reuse hosts and record ids, and one file holding
    // two different records of one id is a conflict, not complete evidence.
    for (k, evtx) in scenario_evtx().iter().enumerate() {
        let records = shipper::evtx_records(evtx).unwrap();
        for shape in SHAPES {
            for layout in [ShipperLayout::Lines, ShipperLayout::PrettyArray] {
                let path = tmp.path().join(format!("{k}-{shape:?}-{layout:?}.json"));
                ship(&records, shape, layout, &path);
                assert_kept_as_file_says(&path);
            }
        }
    }
}

#[test]
fn nxlog_corpus_kept_events_equal_what_the_file_says() {
    let Some(corpus) = common::corpus("nxlog_corpus_kept_events_equal_what_the_file_says") else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join("nxlog-json"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    for f in &files {
        assert_eq!(sniff_path(f).unwrap(), Some(Format::NxlogJsonl));
        assert_kept_as_file_says(f);
    }
}

/// Lower-case channel names (NXLog wrote `security` in some collections) are the same channel,
/// reported in its canonical case.
#[test]
fn channel_names_are_canonical() {
    let tmp = tempfile::tempdir().unwrap();
    let nx = tmp.path().join("nx.json");
    let line = |ch: &str, rec: u32| {
        format!(
            r#"{{"EventTime":"2020-09-17 17:32:14","Hostname":"WS5","EventID":5156,"SourceName":"microsoft-windows-security-auditing","RecordNumber":{rec},"Channel":"{ch}","ProcessId":"4","Application":"x","Direction":"%%14593","SourceAddress":"10.0.0.1","SourcePort":"1","DestAddress":"10.0.0.2","DestPort":"135","Protocol":"6"}}"#
        )
    };
    let text = [
        line("Security", 1),
        line("security", 2),
        line("SECURITY", 3),
    ]
    .join("\n");
    std::fs::write(&nx, text).unwrap();
    let wlb = tmp.path().join("wlb.json");
    std::fs::write(
        &wlb,
        r#"[{"@timestamp":"2020-09-17T21:32:14.123Z","winlog":{"channel":"microsoft-windows-sysmon/operational","provider_name":"microsoft-windows-sysmon","event_id":"5","record_id":"9","computer_name":"WS5","event_data":{"ProcessGuid":"{a-b}","ProcessId":"7","Image":"x.exe","UtcTime":"2020-09-17 21:32:14.120"}}}]"#,
    )
    .unwrap();
    let l = load(&[nx, wlb]).unwrap();
    let kept: BTreeMap<&str, u64> = l
        .inputs
        .iter()
        .flat_map(|i| i.kept.iter().map(|(k, v)| (k.as_str(), *v)))
        .collect();
    assert_eq!(
        kept,
        BTreeMap::from([
            ("Microsoft-Windows-Sysmon/Operational:5", 1),
            ("Security:5156", 3)
        ])
    );
    for i in 0..l.events.len() {
        let e = l.events.get(i).unwrap();
        assert!(
            ["Security", "Microsoft-Windows-Sysmon/Operational"].contains(&&*e.channel),
            "{}",
            e.channel
        );
        assert!(
            [
                "Microsoft-Windows-Security-Auditing",
                "Microsoft-Windows-Sysmon"
            ]
            .contains(&&*e.provider),
            "{}",
            e.provider
        );
    }
}

/// A first record whose `EventID` lies past the first 4 KiB is recognized; JSON that holds no
/// known event is read as damage (the run incomplete), never skipped.
#[test]
fn json_recognized_whatever_its_first_record() {
    let tmp = tempfile::tempdir().unwrap();
    let nx = tmp.path().join("long_first.json");
    let msg = "PowerShell ".repeat(1000);
    let text = format!(
        "{{\"EventTime\":\"2020-09-17 17:31:45\",\"Message\":\"{msg}\",\"Hostname\":\"WS5\",\"EventID\":4104,\"Channel\":\"Microsoft-Windows-PowerShell/Operational\"}}\n\
         {{\"EventTime\":\"2020-09-17 17:31:46\",\"Hostname\":\"WS5\",\"EventID\":4688,\"Channel\":\"Security\",\"RecordNumber\":2,\"NewProcessId\":\"0x10\",\"NewProcessName\":\"C:\\\\x.exe\",\"ProcessId\":\"0x4\"}}\n"
    );
    assert!(text.find("\"EventID\"").unwrap() > ingest::SNIFF_LEN);
    std::fs::write(&nx, &text).unwrap();
    let other = tmp.path().join("package.json");
    std::fs::write(&other, "{\"name\":\"x\",\"version\":\"1.0.0\"}\n").unwrap();
    let d = discover(&[tmp.path().to_path_buf()]).unwrap();
    let formats: Vec<(String, Format)> = d
        .inputs
        .iter()
        .map(|i| {
            let name = Path::new(&*i.display).file_name().unwrap();
            (name.to_string_lossy().into_owned(), i.format)
        })
        .collect();
    assert_eq!(
        formats,
        [
            ("long_first.json".to_string(), Format::NxlogJsonl),
            ("package.json".to_string(), Format::UnrecognizedJson)
        ]
    );
    assert!(d.skipped.is_empty());
    let l = load(&[tmp.path().to_path_buf()]).unwrap();
    assert!(l.incomplete(), "unrecognized JSON makes the run incomplete");
    let nx_in = &l.inputs[0];
    assert_eq!(nx_in.stats.records_read, 2);
    assert_eq!(nx_in.kept.get("Security:4688"), Some(&1));
    let bad = &l.inputs[1];
    assert_eq!(bad.stats.records_read, 0);
    assert!(
        bad.stats.damage[0].reason.contains("starts like JSON"),
        "{:?}",
        bad.stats.damage
    );
}

/// `__MACOSX/._*` resource forks are counted, not listed as skipped, not read.
#[test]
fn resource_forks_are_counted_not_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let evtx = scenario_evtx().into_iter().next().unwrap();
    std::fs::copy(&evtx, tmp.path().join("Security.evtx")).unwrap();
    let mac = tmp.path().join("__MACOSX");
    std::fs::create_dir(&mac).unwrap();
    let fork = [0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00];
    std::fs::write(mac.join("._Security.evtx"), fork).unwrap();
    std::fs::write(mac.join("._notes.txt"), b"anything").unwrap();
    // Beside the file (as tar writes it): recognized by its signature.
    std::fs::write(tmp.path().join("._Security.evtx"), fork).unwrap();
    let d = discover(&[tmp.path().to_path_buf()]).unwrap();
    assert_eq!(d.inputs.len(), 1);
    assert!(d.skipped.is_empty(), "{:?}", d.skipped);
    assert_eq!(d.resource_forks, 3);
    let l = load(&[tmp.path().to_path_buf()]).unwrap();
    assert_eq!(l.resource_forks, 3);
    let summary = dcomhunt::cli::summary::summary(
        &l,
        dcomhunt::cli::summary::SummaryOpts {
            quiet: false,
            list_skipped: false,
        },
    );
    assert!(
        summary.contains("3 macOS resource fork file(s)"),
        "{summary}"
    );
    assert!(!summary.contains("._Security"), "{summary}");
}

/// A shipped array cut off mid-record: the records before the cut are read, the file is marked
/// truncated and the damage names the line of the cut record.
#[test]
fn cut_array_keeps_what_was_read() {
    let tmp = tempfile::tempdir().unwrap();
    let evtx = scenario_evtx().into_iter().next().unwrap();
    let records = shipper::evtx_records(&evtx).unwrap();
    assert!(records.len() >= 3);
    let mut bytes = Vec::new();
    shipper::write(
        &records,
        ShipperShape::Winlogbeat8,
        ShipperLayout::Array,
        &mut bytes,
    )
    .unwrap();
    // Cut in the middle of the last record's line (line 1 is `[`).
    let last_line_start = bytes[..bytes.len() - 3]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap();
    bytes.truncate(last_line_start + 20);
    let path = tmp.path().join("cut.json");
    std::fs::write(&path, &bytes).unwrap();
    let display: Arc<str> = Arc::from("cut.json");
    let (got, stats) = ingest::read(&path, &display, Format::WinlogbeatJson).unwrap();
    assert!(stats.truncated);
    assert_eq!(stats.records_read, records.len() as u64 - 1);
    assert_eq!(stats.damage.len(), 1, "{:?}", stats.damage);
    assert_eq!(stats.damage[0].line, Some(records.len() as u64 + 1));
    assert!(stats.damage[0].reason.contains("cut off"));
    assert!(got.iter().all(|r| r.prov.line.is_some()));
}
