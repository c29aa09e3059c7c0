//! The EVTX writer, checked with the evtx crate (checksums validated): every fixture reads
//! without error and renders exactly the scenario's fields; files spill into chunks; scale
//! mode's sidecar lists records that exist.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dcomhunt::writer::binxml::{Value, format_filetime, parse_guid};
use dcomhunt::writer::scale::{ScaleOptions, ScaleSummary, generate};
use dcomhunt::writer::scenario::{build, check_fixtures, load_dir};
use dcomhunt::writer::schema::find_layout;
use dcomhunt::writer::{EventRecord, Log, SysmonGen, write_to_vec};
use evtx::{EvtxParser, ParserSettings};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn settings() -> ParserSettings {
    ParserSettings::default().validate_checksums(true)
}

/// Every record of `bytes` as (record id, JSON); panics on any parse error.
fn read_records(bytes: Vec<u8>, what: &str) -> Vec<(u64, serde_json::Value)> {
    let mut parser = EvtxParser::from_buffer(bytes)
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .with_configuration(settings());
    assert!(parser.header().validate_checksum(), "{what}: header CRC32");
    parser
        .records_json_value()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("{what}: {e}"));
            (r.event_record_id, r.data)
        })
        .collect()
}

#[test]
fn every_fixture_reads_cleanly_and_renders_the_scenario_fields() {
    let scenarios = load_dir(&testdata().join("scenarios")).unwrap();
    assert!(scenarios.len() >= 25, "{} scenarios", scenarios.len());
    let mut files = 0;
    let mut records = 0;
    for (name, scenario) in &scenarios {
        let logs = build(name, scenario).unwrap();
        assert!(!logs.is_empty(), "{name}: no events");
        for log in logs {
            let path = testdata().join(log.path(name));
            let what = path.display().to_string();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
            let rendered = read_records(bytes, &what);
            assert_eq!(rendered.len(), log.events.len(), "{what}: record count");
            let host = scenario.hosts.iter().find(|h| h.name == log.host).unwrap();
            for (i, ((header_id, json), event)) in rendered.iter().zip(&log.events).enumerate() {
                let id = log.first_record_id + i as u64;
                let at = format!("{what} record {id}");
                let system = &json["Event"]["System"];
                assert_eq!(*header_id, id, "{at}: header record id");
                assert_eq!(system["EventRecordID"], id, "{at}");
                let event_id = &system["EventID"];
                let event_id = event_id.get("#text").unwrap_or(event_id);
                assert_eq!(*event_id, event.layout.event_id, "{at}");
                assert_eq!(
                    system["TimeCreated"]["#attributes"]["SystemTime"],
                    format_filetime(event.filetime).as_str(),
                    "{at}"
                );
                assert_eq!(system["Computer"], log.host.as_str(), "{at}");
                assert_eq!(system["Channel"], log.log.channel(), "{at}");
                assert_eq!(
                    system["Provider"]["#attributes"]["Name"], event.layout.provider,
                    "{at}"
                );
                let spec = &host.events[log.sources[i]];
                let data = &json["Event"]["EventData"];
                for ((field, _), value) in event.layout.fields.iter().zip(&event.values) {
                    let got = &data[*field];
                    assert_eq!(*got, value.to_json(), "{at}: {field}");
                    // What the scenario wrote, byte for byte.
                    match spec.fields.get(*field) {
                        Some(toml::Value::String(s)) if !matches!(value, Value::FileTime(_)) => {
                            assert_eq!(got.as_str(), Some(s.as_str()), "{at}: {field}")
                        }
                        Some(toml::Value::Integer(n)) => {
                            assert_eq!(got.as_i64(), Some(*n), "{at}: {field}")
                        }
                        Some(toml::Value::Boolean(b)) => {
                            assert_eq!(got.as_bool(), Some(*b), "{at}: {field}")
                        }
                        _ => {}
                    }
                }
                records += 1;
            }
            files += 1;
        }
    }
    assert!(
        files >= 50 && records >= 300,
        "{files} files, {records} records"
    );
}

#[test]
fn fixtures_are_up_to_date() {
    let problems = check_fixtures(&testdata()).unwrap();
    assert!(
        problems.is_empty(),
        "run `dcomhunt dev fixtures`:\n{}",
        problems.join("\n")
    );
}

#[test]
fn system_substitutions_follow_the_windows_order() {
    // The fast ingest path reads substitutions 3, 6 and 10.
    let path = testdata().join("example/FS01.corp.example/Security.evtx");
    let mut parser = EvtxParser::from_path(&path)
        .unwrap()
        .with_configuration(settings());
    let mut seen = 0;
    for chunk in parser.chunks() {
        let mut chunk = chunk.unwrap();
        let mut chunk = chunk.parse(std::sync::Arc::new(settings())).unwrap();
        for record in chunk.iter() {
            let record = record.unwrap();
            let instances = record.template_instances().unwrap();
            assert_eq!(instances.len(), 1);
            let v = &instances[0].values;
            assert_eq!(v.len(), 18);
            assert!(
                matches!(
                    v[3],
                    evtx::binxml::value_variant::BinXmlValue::UInt16Type(4608 | 4688 | 4689 | 5156)
                ),
                "{:?}",
                v[3]
            );
            assert!(matches!(
                v[6],
                evtx::binxml::value_variant::BinXmlValue::FileTimeType(_)
            ));
            assert!(
                matches!(v[10], evtx::binxml::value_variant::BinXmlValue::UInt64Type(id) if id == record.event_record_id)
            );
            assert!(matches!(
                v[17],
                evtx::binxml::value_variant::BinXmlValue::BinXmlType(_)
            ));
            seen += 1;
        }
    }
    assert!(seen > 20, "{seen}");
}

fn sysmon1(i: u32) -> EventRecord {
    let layout = find_layout(Log::Sysmon, 1, SysmonGen::Recent).unwrap();
    let mut values: Vec<Value> = layout
        .fields
        .iter()
        .map(|(name, _)| Value::Str(format!("{name} of process {i}")))
        .collect();
    for (idx, (_, field_type)) in layout.fields.iter().enumerate() {
        use dcomhunt::writer::binxml::FieldType as F;
        values[idx] = match field_type {
            F::Str => values[idx].clone(),
            F::Guid => Value::Guid(
                parse_guid(&format!("{{{i:08x}-0000-0000-0000-000000000001}}")).unwrap(),
            ),
            F::U32 => Value::U32(i),
            F::HexInt64 => Value::HexInt64(u64::from(i) << 8),
            other => panic!("unexpected {other:?}"),
        };
    }
    EventRecord {
        layout,
        filetime: 134_000_000_000_000_000 + u64::from(i) * 10_000,
        process_id: 1964,
        thread_id: 1664,
        values,
    }
}

#[test]
fn files_spill_into_new_chunks_with_continuous_record_ids() {
    let events: Vec<EventRecord> = (0..400).map(sysmon1).collect();
    let bytes = write_to_vec("SPILL01", 5000, &events).unwrap();
    assert_eq!(bytes.len() % 65536, 4096);
    let chunks = (bytes.len() - 4096) / 65536;
    assert!(chunks >= 3, "{chunks} chunks");
    let parser = EvtxParser::from_buffer(bytes.clone()).unwrap();
    assert_eq!(usize::from(parser.header().chunk_count), chunks);
    assert_eq!(parser.header().next_record_id, 5400);
    let rendered = read_records(bytes.clone(), "spill");
    let ids: Vec<u64> = rendered.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, (5000..5400).collect::<Vec<_>>());
    for (i, (_, json)) in rendered.iter().enumerate() {
        let data = &json["Event"]["EventData"];
        assert_eq!(data["ProcessId"], i as u64);
        assert_eq!(
            data["CommandLine"],
            format!("CommandLine of process {i}").as_str()
        );
    }
    // Each chunk defines its templates and names again: chunk 2 must read on its own.
    let second = bytes[4096 + 65536..4096 + 2 * 65536].to_vec();
    let mut chunk = evtx::EvtxChunkData::new(second, true).unwrap();
    let mut chunk = chunk.parse(std::sync::Arc::new(settings())).unwrap();
    let first = chunk.iter().next().unwrap().unwrap();
    assert!(first.event_record_id > 5000);
    assert!(first.into_json().is_ok());
}

#[test]
fn a_flipped_byte_fails_the_checksums() {
    let events: Vec<EventRecord> = (0..5).map(sysmon1).collect();
    let bytes = write_to_vec("H", 1, &events).unwrap();
    assert_eq!(read_records(bytes.clone(), "intact").len(), 5);
    for offset in [4096 + 600, 4096 + 50] {
        let mut bad = bytes.clone();
        bad[offset] ^= 0x20;
        let mut parser = EvtxParser::from_buffer(bad)
            .unwrap()
            .with_configuration(settings());
        let results: Vec<_> = parser.records_json().collect();
        assert!(
            results.iter().any(|r| r.is_err()),
            "offset {offset} not detected"
        );
    }
    let mut bad_header = bytes;
    bad_header[24] ^= 1;
    let parser = EvtxParser::from_buffer(bad_header).unwrap();
    assert!(!parser.header().validate_checksum());
}

#[test]
fn output_is_deterministic() {
    let events: Vec<EventRecord> = (0..50).map(sysmon1).collect();
    assert_eq!(
        write_to_vec("H", 1, &events).unwrap(),
        write_to_vec("H", 1, &events).unwrap()
    );
}

#[test]
fn scale_mode_sidecar_lists_records_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ScaleOptions {
        hosts: 4,
        events: 600,
        attacks: 7,
        seed: 42,
    };
    let summary = generate(&opts, dir.path()).unwrap();
    let sidecar: ScaleSummary =
        serde_json::from_slice(&std::fs::read(dir.path().join("planted.json")).unwrap()).unwrap();
    assert_eq!(sidecar, summary);
    assert_eq!(summary.attacks.len(), 7);
    // Host 4 logs with Security auditing only.
    assert_eq!(summary.files.len(), 3 * 3 + 2);
    assert!(summary.attacks.iter().any(|a| a.logging == "security"));
    for chain in ["mmc", "mshta", "rpc_dcomlaunch"] {
        assert!(summary.attacks.iter().any(|a| a.chain == chain), "{chain}");
    }
    let mut by_file: BTreeMap<String, BTreeMap<u64, serde_json::Value>> = BTreeMap::new();
    let mut total = 0u64;
    let mut bytes = 0u64;
    for file in &summary.files {
        let data = std::fs::read(dir.path().join(file)).unwrap();
        bytes += data.len() as u64;
        let records = read_records(data, file);
        total += records.len() as u64;
        by_file.insert(file.clone(), records.into_iter().collect());
    }
    assert_eq!(total, summary.events);
    assert_eq!(bytes, summary.bytes);
    for attack in &summary.attacks {
        assert!(attack.records.len() >= 3, "{attack:?}");
        assert_eq!(attack.first_time, attack.records[0].time);
        for r in &attack.records {
            let json = &by_file[&r.file][&r.record_id];
            let system = &json["Event"]["System"];
            assert_eq!(system["Computer"], attack.host.as_str());
            assert_eq!(system["EventID"], r.event_id);
            assert_eq!(
                system["TimeCreated"]["#attributes"]["SystemTime"],
                r.time.as_str()
            );
        }
    }
    // The same seed writes the same bytes.
    let again = tempfile::tempdir().unwrap();
    assert_eq!(generate(&opts, again.path()).unwrap(), summary);
    for file in &summary.files {
        assert_eq!(
            std::fs::read(dir.path().join(file)).unwrap(),
            std::fs::read(again.path().join(file)).unwrap(),
            "{file}"
        );
    }
}
