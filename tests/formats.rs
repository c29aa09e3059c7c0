//! Exported logs read into the same raw records as EVTX: XML exports (Event Viewer, wevtutil),
//! `evtx_dump -o jsonl`, and NXLog `im_msvistalog` JSON.

mod common;

use dcomhunt::ingest::json_event::record_from_event_json_bytes;
use dcomhunt::ingest::{self, Format, jsonl, sniff_path, xml};
use dcomhunt::normalize::is_kept;
use dcomhunt::record::{Provenance, RawRecord, ReadStats};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

fn read(path: &Path) -> (Format, Vec<RawRecord>, ReadStats) {
    let format = sniff_path(path)
        .unwrap()
        .unwrap_or_else(|| panic!("{}: format not recognized", path.display()));
    let display: Arc<str> = Arc::from(path.display().to_string());
    let (records, stats) = ingest::read(path, &display, format).unwrap();
    (format, records, stats)
}

/// Everything but provenance, which differs between formats by design.
fn content(r: &RawRecord) -> impl PartialEq + std::fmt::Debug + '_ {
    (
        &r.channel,
        &r.provider,
        r.event_id,
        r.record_id,
        r.time,
        &r.computer,
        &r.data,
    )
}

fn assert_same(what: &str, got: &[RawRecord], want: &[RawRecord]) {
    assert_eq!(got.len(), want.len(), "{what}: record count");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(content(g), content(w), "{what}: record {:?}", w.record_id);
    }
}

// ---------------------------------------------------------------------------------------------
// NXLog sample (OTRF Security-Datasets, covenant DCOM ExecuteExcel4Macro, blocked).

const NXLOG: &str = "nxlog-json/covenant_dcom_executeexcel4macro_blocked_2020-09-17173147.json";

#[test]
fn nxlog_sample_reads_completely() {
    let Some(corpus) = common::corpus("nxlog_sample_reads_completely") else {
        return;
    };
    let path = corpus.join(NXLOG);
    let (format, records, stats) = read(&path);
    assert_eq!(format, Format::NxlogJsonl);
    assert!(stats.damage.is_empty(), "{:?}", stats.damage);
    assert!(!stats.truncated);
    assert_eq!(stats.records_read, 1200);
    assert_eq!(stats.records_wanted, records.len() as u64);

    let mut kept: BTreeMap<(String, u32), u64> = BTreeMap::new();
    for r in records.iter().filter(|r| is_kept(r)) {
        *kept.entry((r.channel.clone(), r.event_id)).or_default() += 1;
    }
    let sysmon = "Microsoft-Windows-Sysmon/Operational".to_string();
    let sec = "Security".to_string();
    let want: BTreeMap<(String, u32), u64> = [
        ((sec.clone(), 5156), 59),
        ((sysmon.clone(), 3), 12),
        ((sysmon.clone(), 1), 3),
        ((sec.clone(), 4688), 3),
        ((sec.clone(), 4689), 1),
        ((sysmon.clone(), 5), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(kept, want);

    // Every record, wanted or not: three hosts.
    let file = std::fs::File::open(&path).unwrap();
    let (all, st) = jsonl::read_from(file, &Arc::from("n"), jsonl::Flavor::Nxlog, &|_| true);
    assert_eq!(all.len(), 1200);
    assert_eq!(st.records_read, 1200);
    let hosts: BTreeSet<&str> = all.iter().map(|r| r.computer.as_str()).collect();
    assert_eq!(
        hosts,
        BTreeSet::from([
            "MORDORDC.theshire.local",
            "WORKSTATION5.theshire.local",
            "WORKSTATION6.theshire.local"
        ])
    );
    // Line numbers are the provenance; record numbers are NXLog's RecordNumber.
    assert_eq!(all[1].prov.line, Some(2));
    assert_eq!(all[1].record_id, Some(239147));

    // 5156: the EventData ProcessID (NXLog writes it `ProcessId`; the logging process is
    // `ExecutionProcessID`) under the name the EVTX has, and no NXLog metadata as data.
    let c = records.iter().find(|r| r.event_id == 5156).unwrap();
    assert_eq!(c.prov.line, Some(2));
    assert_eq!(c.get("ProcessID"), Some("3596"));
    assert_eq!(c.get("ProcessId"), None);
    assert_eq!(c.get("Direction"), Some("%%14593"));
    assert_eq!(c.get("DestAddress"), Some("168.63.129.16"));
    assert_eq!(c.computer, "MORDORDC.theshire.local");
    assert_eq!(c.provider, "Microsoft-Windows-Security-Auditing");
    assert_eq!(c.time.unwrap().iso(), "2020-09-17T17:31:45.0000000Z");
    for meta in [
        "ExecutionProcessID",
        "ThreadID",
        "Message",
        "Keywords",
        "EventType",
        "EventTime",
        "EventReceivedTime",
        "Hostname",
        "SourceModuleType",
        "@timestamp",
        "tags",
        "host",
        "Task",
    ] {
        assert_eq!(c.get(meta), None, "{meta} is NXLog's, not EventData");
    }
    // The attacker's side: WORKSTATION5 runs MoveExcel4.exe against the target.
    let p = records
        .iter()
        .find(|r| {
            r.event_id == 1
                && r.get("CommandLine")
                    .is_some_and(|c| c.contains("MoveExcel4.exe 172.18.39.6"))
        })
        .expect("the Sysmon 1 of MoveExcel4.exe");
    assert_eq!(p.computer, "WORKSTATION5.theshire.local");
    assert_eq!(p.get("UtcTime"), Some("2020-09-17 21:32:14.268"));
    assert_eq!(p.time.unwrap().iso(), "2020-09-17T17:32:14.0000000Z");
    assert_eq!(p.get("User"), Some("THESHIRE\\pgustavo"));
    assert_eq!(p.get("AccountName"), None);
    let sysmon13 = all.iter().find(|r| r.event_id == 13).unwrap();
    assert_eq!(sysmon13.get("EventType"), Some("SetValue"));
    assert_eq!(sysmon13.get("EventTypeOrignal"), None);

    // The clock: local collector time, whole seconds, four hours behind Sysmon's UtcTime.
    let notes = stats.notes.join("\n");
    assert!(
        notes.contains(
            "1200 record(s) is the collector's local time with no time zone, whole-second precision"
        ),
        "{notes}"
    );
    assert!(
        notes.contains("EventTime - Sysmon UtcTime over 822 record(s): median -14400.323 s, from -14400.978 s to -14398.334 s; consistent with a collector clock at UTC-04:00"),
        "{notes}"
    );
}

// ---------------------------------------------------------------------------------------------
// Equivalence: the same records exported as XML and evtx_dump JSON lines read as the `.evtx`.

const EQUIVALENCE: &[&str] = &[
    "EVTX-ATTACK-SAMPLES/Lateral Movement/LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx",
    "EVTX-ATTACK-SAMPLES/Lateral Movement/LM_impacket_docmexec_mmc_sysmon_01.evtx",
    "EVTX-ATTACK-SAMPLES/Command and Control/DE_RDP_Tunnel_5156.evtx",
    "EVTX-ATTACK-SAMPLES/Defense Evasion/DE_1102_security_log_cleared.evtx",
    "python-evtx/tests/data/system.evtx",
];

/// The evtx crate's renderings of every record, as `evtx_dump -o xml` and `-o jsonl` print them.
fn renderings(evtx: &Path) -> (Vec<String>, Vec<String>) {
    let mut p = evtx::EvtxParser::from_path(evtx).unwrap();
    let xml: Vec<String> = p.records().filter_map(Result::ok).map(|r| r.data).collect();
    let mut p = evtx::EvtxParser::from_path(evtx)
        .unwrap()
        .with_configuration(evtx::ParserSettings::default().indent(false));
    let json: Vec<String> = p
        .records_json()
        .filter_map(Result::ok)
        .map(|r| r.data)
        .collect();
    assert_eq!(xml.len(), json.len());
    (xml, json)
}

fn strip_decl(x: &str) -> &str {
    match x.find("?>") {
        Some(i) if x.starts_with("<?xml") => x[i + 2..].trim_start(),
        _ => x,
    }
}

/// CRLF line ends between elements, as Windows writes them; data values are left alone.
fn crlf_between_tags(x: &str) -> String {
    let parts: Vec<&str> = x.split('\n').collect();
    let mut out = String::from(parts[0]);
    for w in parts.windows(2) {
        // The crate's indentation (or the final `</Event>`), never a value's own line break.
        let indented = w[1].starts_with(' ') || w[1] == "</Event>";
        let between = w[0].ends_with('>') && indented && w[1].trim_start().starts_with('<');
        out.push_str(if between { "\r\n" } else { "\n" });
        out.push_str(w[1]);
    }
    out
}

fn utf16le_bom(s: &str) -> Vec<u8> {
    let mut b = vec![0xFF, 0xFE];
    b.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
    b
}

/// Write each export of `evtx` to `dir`; return (file, expected format) pairs.
fn write_exports(evtx: &Path, dir: &Path) -> Vec<(std::path::PathBuf, Format)> {
    let (xmls, jsons) = renderings(evtx);
    let mut out = Vec::new();
    // Event Viewer: declaration, <Events> wrapper, CRLF, the crate's indented rendering.
    let mut viewer = String::from("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Events>\r\n");
    for x in &xmls {
        viewer.push_str(&crlf_between_tags(strip_decl(x)));
        viewer.push_str("\r\n");
    }
    viewer.push_str("</Events>\r\n");
    let p = dir.join("viewer_utf8.xml");
    std::fs::write(&p, &viewer).unwrap();
    out.push((p, Format::Xml));
    let p = dir.join("viewer_utf16le.xml");
    std::fs::write(&p, utf16le_bom(&viewer)).unwrap();
    out.push((p, Format::Xml));
    // wevtutil: bare <Event> elements one after another, no declaration, no root.
    let bare: String = xmls.iter().map(|x| strip_decl(x).trim_end()).collect();
    let p = dir.join("wevtutil.xml");
    std::fs::write(&p, bare).unwrap();
    out.push((p, Format::Xml));
    // evtx_dump -o xml: "Record N" lines, a declaration per record.
    let mut dump = String::new();
    for (i, x) in xmls.iter().enumerate() {
        dump.push_str(&format!("Record {}\n{}\n", i + 1, x));
    }
    let p = dir.join("evtx_dump.xml");
    std::fs::write(&p, dump).unwrap();
    out.push((p, Format::Xml));
    // evtx_dump -o jsonl.
    let p = dir.join("evtx_dump.jsonl");
    std::fs::write(&p, jsons.join("\n") + "\n").unwrap();
    out.push((p, Format::EvtxDumpJsonl));
    out
}

/// Every record (wanted or not) as the EVTX reader turns the crate's JSON into records.
fn all_records_from_json(evtx: &Path) -> Vec<RawRecord> {
    let (_, jsons) = renderings(evtx);
    jsons
        .iter()
        .filter_map(|j| {
            let prov = Provenance {
                file: Arc::from("x"),
                chunk: None,
                offset: None,
                line: None,
            };
            record_from_event_json_bytes(j.as_bytes(), prov).unwrap()
        })
        .collect()
}

/// What an XML rendering can carry. XML 1.0 cannot hold U+0000–U+001F other than tab, LF and
/// CR, nor U+FFFE/U+FFFF, and the evtx crate's XML writer puts `_` in their place (Security 4661
/// `PrivilegeList` holds U+0002 in the corpus); it does the same for an unpaired UTF-16
/// surrogate, which its JSON writer shows as U+FFFD (python-evtx `issue_43.evtx`, record 508).
fn xml_safe(records: &[RawRecord]) -> Vec<RawRecord> {
    let fix = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if (c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
                    || matches!(c, '\u{FFFD}' | '\u{FFFE}' | '\u{FFFF}')
                {
                    '_'
                } else {
                    c
                }
            })
            .collect()
    };
    records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.data = r.data.iter().map(|(k, v)| (k.clone(), fix(v))).collect();
            r
        })
        .collect()
}

fn check_equivalence(evtx: &Path) {
    let what = evtx.display().to_string();
    let (f, want, want_stats) = read(evtx);
    assert_eq!(f, Format::Evtx);
    assert!(
        want_stats.damage.is_empty(),
        "{what}: {:?}",
        want_stats.damage
    );
    let all = all_records_from_json(evtx);
    let dir = tempfile::tempdir().unwrap();
    for (path, format) in write_exports(evtx, dir.path()) {
        let what = format!("{what} as {}", path.file_name().unwrap().to_string_lossy());
        let (f, got, stats) = read(&path);
        assert_eq!(f, format, "{what}: sniffed format");
        assert!(stats.damage.is_empty(), "{what}: {:?}", stats.damage);
        assert_eq!(
            stats.records_read, want_stats.records_read,
            "{what}: records read"
        );
        assert_eq!(
            stats.records_wanted, want_stats.records_wanted,
            "{what}: records kept"
        );
        let (want, all) = match format {
            Format::Xml => (xml_safe(&want), xml_safe(&all)),
            _ => (want.clone(), all.clone()),
        };
        assert_same(&what, &got, &want);
        assert!(
            got.iter()
                .all(|r| r.prov.line.is_some() && r.prov.offset.is_none())
        );
        // Every record, including those the filter drops (UserData, unnamed Data, Qualifiers).
        let file = std::fs::File::open(&path).unwrap();
        let every = match format {
            Format::Xml => xml::read_from(file, &Arc::from("x"), &|_| true).0,
            _ => jsonl::read_from(file, &Arc::from("x"), jsonl::Flavor::EvtxDump, &|_| true).0,
        };
        assert_same(&format!("{what} (all records)"), &every, &all);
    }
}

#[test]
fn exports_read_as_the_evtx() {
    let Some(corpus) = common::corpus("exports_read_as_the_evtx") else {
        return;
    };
    for rel in EQUIVALENCE {
        check_equivalence(&corpus.join(rel));
    }
    // The sample files hold what the comparison is meant to cover.
    let lethal = all_records_from_json(&corpus.join(EQUIVALENCE[0]));
    assert!(lethal.iter().any(|r| r.event_id == 3) && lethal.iter().any(|r| r.event_id == 1));
    let tunnel = all_records_from_json(&corpus.join(EQUIVALENCE[2]));
    assert!(
        tunnel
            .iter()
            .any(|r| r.event_id == 5156 && r.get("ProcessID").is_some())
    );
    let cleared = all_records_from_json(&corpus.join(EQUIVALENCE[3]));
    assert!(
        cleared
            .iter()
            .any(|r| r.event_id == 1102 && r.get("SubjectUserName") == Some("user01"))
    );
    let system = all_records_from_json(&corpus.join(EQUIVALENCE[4]));
    assert!(system.iter().any(|r| r.get("Data1").is_some()));
}

/// Every `.evtx` below `dir`.
fn evtx_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            evtx_files(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
        {
            out.push(p);
        }
    }
}

/// The scenario fixtures the project's EVTX writer made (testdata/<scenario>/<host>/*.evtx),
/// exported each way, read as the `.evtx`.
#[test]
fn scenario_fixtures_read_the_same_in_every_format() {
    let mut found = Vec::new();
    evtx_files(&common::testdata(), &mut found);
    found.sort();
    if found.is_empty() {
        eprintln!("SKIPPED scenario_fixtures_read_the_same_in_every_format: no testdata/**/*.evtx");
        return;
    }
    let mut kept = 0;
    for p in &found {
        check_equivalence(p);
        kept += read(p).1.len();
    }
    assert!(kept > 0, "the scenarios hold events the tool keeps");
}

// ---------------------------------------------------------------------------------------------
// Checked-in fixtures, written by hand.

fn export(name: &str) -> std::path::PathBuf {
    common::testdata().join("exports").join(name)
}

#[test]
fn wevtutil_fixture() {
    let (format, r, st) = read(&export("wevtutil_sample.xml"));
    assert_eq!(format, Format::Xml);
    assert!(st.damage.is_empty(), "{:?}", st.damage);
    assert_eq!(st.records_read, 4);
    assert_eq!(r.len(), 3, "the 4624 is not kept");

    let p = &r[0];
    assert_eq!(p.prov.line, Some(1));
    assert_eq!(p.prov.chunk, None);
    assert_eq!(p.channel, "Microsoft-Windows-Sysmon/Operational");
    assert_eq!(p.provider, "Microsoft-Windows-Sysmon");
    assert_eq!((p.event_id, p.record_id), (1, Some(10941)));
    assert_eq!(p.computer, "IEWIN7");
    assert_eq!(p.time.unwrap().iso(), "2019-05-14T01:29:04.3068859Z");
    assert_eq!(p.data.len(), 10, "RenderingInfo is not data");
    assert_eq!(p.data[0], (Arc::from("RuleName"), String::new()));
    assert_eq!(
        p.get("CommandLine"),
        Some("C:\\Windows\\System32\\mshta.exe -Embedding & \"x\" <y>")
    );
    assert_eq!(
        p.get("ParentCommandLine"),
        Some("C:\\Windows\\system32\\svchost.exe -k DcomLaunch")
    );
    assert_eq!(p.get("Message"), None);

    let c = &r[1];
    assert_eq!(c.prov.line, Some(2));
    assert_eq!(
        (c.channel.as_str(), c.event_id, c.record_id),
        ("Security", 5156, Some(88211))
    );
    assert_eq!(c.time.unwrap().iso(), "2019-05-14T01:29:03.1234567Z");
    let names: Vec<&str> = c.data.iter().map(|(k, _)| &**k).collect();
    assert_eq!(
        names,
        [
            "ProcessID",
            "Application",
            "Direction",
            "SourceAddress",
            "SourcePort",
            "DestAddress",
            "DestPort",
            "Protocol",
            "FilterRTID",
            "LayerName",
            "LayerRTID",
            "RemoteUserID",
            "RemoteMachineID"
        ]
    );
    assert_eq!(c.get("ProcessID"), Some("640"));
    assert_eq!(c.get("Direction"), Some("%%14592"));
    assert_eq!(
        c.get("Application"),
        Some("\\device\\harddiskvolume1\\windows\\system32\\svchost.exe")
    );

    let b = &r[2];
    assert_eq!(b.prov.line, Some(4));
    assert_eq!(
        (b.channel.as_str(), b.provider.as_str(), b.event_id),
        ("System", "EventLog", 6005)
    );
    assert_eq!(b.time.unwrap().iso(), "2019-05-13T23:58:11.0000000Z");
    assert_eq!(
        b.data,
        vec![
            (Arc::from("Data1"), String::new()),
            (Arc::from("Data2"), "A & B".to_string()),
            (Arc::from("Binary"), "D9070500".to_string())
        ]
    );
}

#[test]
fn event_viewer_utf16_fixture() {
    let (format, r, st) = read(&export("eventviewer_utf16le.xml"));
    assert_eq!(format, Format::Xml);
    assert!(st.damage.is_empty(), "{:?}", st.damage);
    assert_eq!(st.records_read, 2);
    assert_eq!(r.len(), 1, "the 1102 is not kept");
    let t = &r[0];
    assert_eq!(t.prov.line, Some(3));
    assert_eq!((t.event_id, t.record_id), (5, Some(10950)));
    assert_eq!(t.time.unwrap().iso(), "2019-05-14T01:29:09.9990001Z");
    assert_eq!(
        t.get("Image"),
        Some("C:\\Users\\IEUser\\Desktop\\Écran – 画面.exe")
    );
    assert!(
        st.notes.iter().any(|n| n.contains("UTF-16 LE")),
        "{:?}",
        st.notes
    );
    // Unfiltered, the UserData event's fields are the children of its one element.
    let file = std::fs::File::open(export("eventviewer_utf16le.xml")).unwrap();
    let (all, _) = xml::read_from(file, &Arc::from("x"), &|_| true);
    assert_eq!(all[1].prov.line, Some(8));
    assert_eq!(
        all[1].data,
        vec![
            (Arc::from("SubjectUserSid"), "S-1-5-21-1".to_string()),
            (Arc::from("SubjectUserName"), "IEUser".to_string())
        ]
    );
}

#[test]
fn evtx_dump_fixture() {
    let (format, r, st) = read(&export("evtx_dump_sample.jsonl"));
    assert_eq!(format, Format::EvtxDumpJsonl);
    assert!(st.damage.is_empty(), "{:?}", st.damage);
    assert_eq!(st.records_read, 3);
    assert_eq!(r.len(), 2, "the 4624 is not kept");
    let n = &r[0];
    assert_eq!(n.prov.line, Some(1));
    assert_eq!((n.event_id, n.record_id), (3, Some(10942)));
    assert_eq!(n.time.unwrap().iso(), "2019-05-14T01:29:05.1580000Z");
    assert_eq!(n.get("Initiated"), Some("false"));
    assert_eq!(n.get("DestinationPort"), Some("135"));
    assert_eq!(n.get("SourcePort"), Some("49402"));
    assert_eq!(n.get("User"), Some("NT AUTHORITY\\NETWORK SERVICE"));
    let p = &r[1];
    assert_eq!(p.prov.line, Some(4), "blank lines count");
    assert_eq!(
        (p.channel.as_str(), p.event_id, p.record_id),
        ("Security", 4688, Some(88212))
    );
    assert_eq!(p.get("NewProcessId"), Some("0xd24"));
    assert_eq!(p.get("ProcessId"), Some("0x240"));
    assert_eq!(p.data.len(), 15);
}

#[test]
fn damaged_exports_read_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    // A JSON lines file with a broken line in the middle and a cut last line.
    let good = std::fs::read_to_string(export("evtx_dump_sample.jsonl")).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let text = format!(
        "{}\n{{\"Event\": tru\n{}\n{}",
        lines[0],
        lines[3],
        &lines[0][..100]
    );
    let p = dir.path().join("broken.jsonl");
    std::fs::write(&p, text).unwrap();
    let (_, r, st) = read(&p);
    assert_eq!(r.len(), 2);
    assert_eq!(st.records_read, 2);
    let bad: Vec<u64> = st.damage.iter().map(|d| d.line.unwrap()).collect();
    assert_eq!(bad, [2, 4]);
    assert!(st.incomplete());
    // An XML export cut inside its third event.
    let x = std::fs::read_to_string(export("wevtutil_sample.xml")).unwrap();
    let cut = &x[..x.find("4624").unwrap()];
    let p = dir.path().join("cut.xml");
    std::fs::write(&p, cut).unwrap();
    let (_, r, st) = read(&p);
    assert_eq!(r.len(), 2);
    assert!(st.truncated);
    assert_eq!(st.damage.len(), 1);
    assert_eq!(st.damage[0].line, Some(3));
}

/// Every EVTX file of the corpus, exported each way, reads as the `.evtx` (slow in a debug
/// build: `cargo test --release --test formats -- --ignored`).
#[test]
#[ignore]
fn whole_corpus_exports_read_as_the_evtx() {
    let Some(corpus) = common::corpus("whole_corpus_exports_read_as_the_evtx") else {
        return;
    };
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let mut checked = 0;
    for line in manifest.lines().skip(1) {
        let rel = line.split('\t').next().unwrap();
        let path = corpus.join(rel);
        let (format, _, stats) = read(&path);
        // Damaged files have no clean rendering to compare against.
        if format != Format::Evtx || stats.incomplete() {
            continue;
        }
        check_equivalence(&path);
        checked += 1;
    }
    assert!(checked > 250, "only {checked} files compared");
}
