//! The NXLog rendering of the scenarios (`dcomhunt::writer::nxlog`), read back by the NXLog
//! reader: the same records as the EVTX fixtures read by the EVTX reader (channel, provider,
//! event id, record id, host, every EventData field in order), with the time NXLog keeps —
//! the precise time plus the record's lag, in the collector's zone, truncated to the second.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use dcomhunt::ingest::jsonl::{Flavor, read_from};
use dcomhunt::ingest::{Format, read};
use dcomhunt::record::RawRecord;
use dcomhunt::time::Ts;
use dcomhunt::writer::nxlog::{NxlogSpec, parse_utc_offset, path, render};
use dcomhunt::writer::scenario::{
    Scenario, build, check_fixtures, load_dir, parse_offset, write_fixtures,
};

const TICKS: i64 = 10_000_000;

/// EventData fields whose name NXLog uses for a field of its own: NXLog writes the event's
/// value in that field's place and the reader takes it for NXLog's (docs/formats.md).
const CLASHES: &[(&str, u32, &str)] = &[("Microsoft-Windows-Sysmon/Operational", 4, "Version")];

/// The lag of one event: its own `nxlog_lag`, else its log's `[nxlog] lag`, else 0.
fn lag_of(sc: &Scenario, spec: &NxlogSpec, host: &str, log_key: &str, source: usize) -> i64 {
    let h = sc.hosts.iter().find(|h| h.name == host).unwrap();
    let text = h.events[source]
        .nxlog_lag
        .as_deref()
        .or(spec.lag.get(log_key).map(String::as_str));
    text.map_or(0, |t| parse_offset(t).unwrap())
}

fn key(r: &RawRecord) -> (String, String, u64) {
    (r.computer.clone(), r.channel.clone(), r.record_id.unwrap())
}

#[test]
fn nxlog_rendering_reads_back_as_the_evtx_events() {
    let td = common::testdata();
    let scenarios = load_dir(&td.join("scenarios")).unwrap();
    // Scenarios without an [nxlog] table are rendered too, at another zone: every layout.
    let other = NxlogSpec {
        utc_offset: "+05:30".into(),
        lag: BTreeMap::from([("security".into(), "0.6s".into())]),
    };
    let (mut records, mut clashes, mut lagged, mut with_table) = (0, 0, 0, 0);
    for (name, sc) in &scenarios {
        let spec = sc.nxlog.as_ref().unwrap_or(&other);
        with_table += usize::from(sc.nxlog.is_some());
        let offset = parse_utc_offset(&spec.utc_offset).unwrap() * TICKS;
        let logs = build(name, sc).unwrap();
        let bytes = render(name, sc, spec, &logs).unwrap();
        if sc.nxlog.is_some() {
            let on_disk = std::fs::read(td.join(path(name))).unwrap();
            assert!(on_disk == bytes, "{name}: NXLog fixture out of date");
        }
        let display: Arc<str> = Arc::from(format!("{name}.json"));
        let (nx, stats) = read_from(&bytes[..], &display, Flavor::Nxlog, &|_| true);
        assert!(stats.damage.is_empty(), "{name}: {:?}", stats.damage);
        // The reader's clock notes find the collector's zone from Sysmon's UtcTime.
        if nx.iter().any(|r| r.get("UtcTime").is_some()) {
            let zone = format!("collector clock at UTC{}", spec.utc_offset);
            assert!(
                stats.notes.iter().any(|n| n.contains(&zone)),
                "{name}: {:?}",
                stats.notes
            );
        }
        let nx: BTreeMap<_, _> = nx.iter().map(|r| (key(r), r)).collect();
        let mut evtx_count = 0;
        for log in &logs {
            let file = td.join(log.path(name));
            let (ev, _) = read(&file, &Arc::from("x"), Format::Evtx).unwrap();
            let log_key = format!("{:?}", log.log).to_lowercase();
            for e in &ev {
                let at = format!("{name} {} record {}", log.host, e.record_id.unwrap());
                let n = nx
                    .get(&key(e))
                    .unwrap_or_else(|| panic!("{at}: not in NXLog"));
                assert_eq!(
                    (&n.provider, n.event_id, &n.computer),
                    (&e.provider, e.event_id, &e.computer),
                    "{at}"
                );
                let mut want = e.data.clone();
                want.retain(|(k, _)| {
                    let clash = CLASHES.contains(&(e.channel.as_str(), e.event_id, &**k));
                    clashes += usize::from(clash);
                    !clash
                });
                assert_eq!(n.data, want, "{at}: EventData");
                let id = e.record_id.unwrap() - log.first_record_id;
                let source = log.sources[usize::try_from(id).unwrap()];
                let lag = lag_of(sc, spec, &log.host, &log_key, source);
                lagged += usize::from(lag != 0);
                let precise = e.time.unwrap().0;
                let whole = (precise + lag).div_euclid(TICKS) * TICKS;
                assert_eq!(n.time, Some(Ts(whole + offset)), "{at}: EventTime");
                evtx_count += 1;
            }
        }
        assert_eq!(nx.len(), evtx_count, "{name}: record count");
        records += evtx_count;
    }
    assert!(with_table >= 9, "{with_table} scenarios with [nxlog]");
    assert!(records > 1200, "{records} records compared");
    assert!(lagged > 400, "{lagged} lagged records");
    assert!(clashes > 0, "Sysmon 4's Version clash is exercised");
}

#[test]
fn realistic_scenarios_are_partial_like_real_collections() {
    let td = common::testdata();
    let mut seen = 0;
    for (name, sc) in load_dir(&td.join("scenarios")).unwrap() {
        if !(name.starts_with("real_") || name.starts_with("near_real_")) {
            continue;
        }
        seen += 1;
        let spec = sc
            .nxlog
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no [nxlog]"));
        assert_ne!(
            parse_utc_offset(&spec.utc_offset),
            Some(0),
            "{name}: local time"
        );
        for host in &sc.hosts {
            let ids: Vec<(&str, u16)> = host.events.iter().map(|e| (&*e.log, e.id)).collect();
            for boot in [
                ("system", 12),
                ("system", 6005),
                ("sysmon", 4),
                ("security", 4608),
            ] {
                assert!(!ids.contains(&boot), "{name}: boot marker {boot:?}");
            }
            for both in [
                ("sysmon", 1),
                ("sysmon", 3),
                ("security", 4688),
                ("security", 5156),
            ] {
                assert!(ids.contains(&both), "{name}: no {both:?}");
            }
            for e in &host.events {
                let cmd = e.fields.get("CommandLine").and_then(|v| v.as_str());
                let cmd = cmd.unwrap_or_default().to_lowercase();
                assert!(
                    !(cmd.contains("-k rpcss") || cmd.contains("-k dcomlaunch")),
                    "{name}: an RpcSs or DcomLaunch start is logged"
                );
            }
        }
    }
    assert_eq!(seen, 9);
}

#[test]
fn fixtures_write_and_check_the_nxlog_rendering() {
    let d = tempfile::tempdir().unwrap();
    let td = d.path();
    std::fs::create_dir(td.join("scenarios")).unwrap();
    let text =
        std::fs::read_to_string(common::testdata().join("scenarios/near_real_wmi.toml")).unwrap();
    std::fs::write(td.join("scenarios/s.toml"), &text).unwrap();
    let written = write_fixtures(td).unwrap();
    let json = td.join("s.nxlog/s.json");
    assert!(written.contains(&json), "{written:?}");
    assert!(td.join("s/WS06.corp.example/Security.evtx").is_file());
    assert_eq!(check_fixtures(td).unwrap(), Vec::<String>::new());
    // A changed rendering, and a file no scenario writes, are reported.
    std::fs::write(&json, b"{}\n").unwrap();
    std::fs::create_dir(td.join("gone.nxlog")).unwrap();
    std::fs::write(td.join("gone.nxlog/gone.json"), b"{}\n").unwrap();
    let problems = check_fixtures(td).unwrap().join("\n");
    assert!(problems.contains("s.json: out of date"), "{problems}");
    assert!(
        problems.contains("gone.json: no scenario writes it"),
        "{problems}"
    );
    // Without its [nxlog] table the scenario writes no rendering: the old one is stale.
    let start = text.find("\n[nxlog]\n").unwrap() + 1;
    let end = start + text[start..].find("\n\n").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]);
    std::fs::write(td.join("scenarios/s.toml"), &without).unwrap();
    let e = write_fixtures(td).unwrap_err().to_string();
    assert!(
        e.contains("s.toml") && e.contains("nxlog_lag without an [nxlog] table"),
        "{e}"
    );
    let without: String = without
        .lines()
        .filter(|l| !l.starts_with("nxlog_lag"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(td.join("scenarios/s.toml"), without).unwrap();
    write_fixtures(td).unwrap();
    assert!(!json.exists() && !td.join("gone.nxlog/gone.json").exists());
    assert_eq!(check_fixtures(td).unwrap(), Vec::<String>::new());
}
