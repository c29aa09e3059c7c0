//! Evidence integrity through the real binary: CRC32s verified (file header, chunk header,
//! chunk records), events of a failing chunk kept and flagged, duplicated records analysed once,
//! conflicting ones kept and flagged, a file with a damaged signature read from its chunks —
//! each with the manifest's fields, the flagged rows and the "incomplete" exit code.
//! Damaged inputs are made from the writer's fixtures (testdata/) and, when present, the corpus.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SYSMON: &str = "mmc_sysmon_2019/WS01.corp.example/Microsoft-Windows-Sysmon%4Operational.evtx";
const CHUNK: usize = 65536;
const HEADER: usize = 4096;

fn fixture() -> Vec<u8> {
    std::fs::read(common::testdata().join(SYSMON)).unwrap()
}

struct Run {
    code: i32,
    stderr: String,
    manifest: Value,
    timeline: Vec<Vec<String>>,
    evidence: Vec<Vec<String>>,
    dir: PathBuf,
}

fn scan(args: &[&Path], extra: &[&str], out: &Path) -> Run {
    let dir = out.join(format!(
        "reports-{}",
        std::fs::read_dir(out).unwrap().count()
    ));
    let o = Command::cargo_bin("dcomhunt")
        .unwrap()
        .arg("scan")
        .args(args)
        .args(extra)
        .arg("-o")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let code = o.status.code().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let read = |name: &str| -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(dir.join(name))
            .unwrap()
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    };
    Run {
        code,
        manifest: serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap())
            .unwrap_or_else(|e| panic!("{e}\n{stderr}")),
        timeline: read("timeline.csv"),
        evidence: read("evidence.csv"),
        stderr,
        dir,
    }
}

/// The values of column `name` (header row excluded).
fn col<'a>(rows: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
    let k = rows[0].iter().position(|c| c == name).unwrap();
    rows[1..].iter().map(|r| r[k].as_str()).collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn input<'a>(m: &'a Value, path: &Path) -> &'a Value {
    let p = path.to_str().unwrap();
    m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == p)
        .unwrap_or_else(|| panic!("{p} not in {m}"))
}

/// Re-store a chunk's records CRC32 after its records were changed (a copy that differs but
/// checks out).
fn fix_chunk_crc(b: &mut [u8], chunk: usize) {
    let c = HEADER + chunk * CHUNK;
    let free = u32::from_le_bytes(b[c + 48..c + 52].try_into().unwrap()) as usize;
    let crc = crc32fast::hash(&b[c + 512..c + free]);
    b[c + 52..c + 56].copy_from_slice(&crc.to_le_bytes());
    fix_chunk_header_crc(b, chunk);
}

/// Re-store a chunk header's CRC32 (over bytes 0..120 and 128..512).
fn fix_chunk_header_crc(b: &mut [u8], chunk: usize) {
    let c = HEADER + chunk * CHUNK;
    let mut h = crc32fast::Hasher::new();
    h.update(&b[c..c + 120]);
    h.update(&b[c + 128..c + 512]);
    let crc = h.finalize();
    b[c + 124..c + 128].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn intact_fixture_is_verified_and_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "s.evtx", &fixture());
    let r = scan(&[&f], &[], tmp.path());
    assert_eq!(r.code, 3, "{}", r.stderr);
    let i = input(&r.manifest, &f);
    assert_eq!(i["complete"], true);
    assert_eq!(i["checksums"], "ok");
    assert!(col(&r.timeline, "integrity").iter().all(|v| *v == "ok"));
    assert!(col(&r.evidence, "integrity").iter().all(|v| *v == "ok"));
    assert_eq!(r.manifest["totals"]["duplicates_removed"], 0);
}

#[test]
fn chunk_crc_mismatches_flag_every_event_of_the_chunk() {
    let tmp = tempfile::tempdir().unwrap();
    let good = fixture();
    // The records' CRC32 and, in another copy, the chunk header's, stored wrong: the content
    // is unchanged, so every record still reads, but none can be vouched for.
    for (at, which) in [(52, "chunk data CRC32"), (124, "chunk header CRC32")] {
        let mut b = good.clone();
        b[HEADER + at] ^= 0x01;
        if at == 52 {
            // The stored records CRC32 is covered by the header's: that one made to match.
            fix_chunk_header_crc(&mut b, 0);
        }
        let f = write(tmp.path(), &format!("crc{at}.evtx"), &b);
        let r = scan(&[&f], &[], tmp.path());
        assert_eq!(r.code, 5, "findings and input unverified: {}", r.stderr);
        let i = input(&r.manifest, &f);
        assert_eq!(i["complete"], false);
        assert_eq!(i["checksums"], "mismatch");
        assert_eq!(i["unverified_chunks"], serde_json::json!([0]));
        let d = &i["damage"][0];
        assert_eq!(d["chunk"], 0);
        assert_eq!(d["records_lost"], 0);
        assert_eq!(d["offset"], if at == 52 { HEADER + 512 } else { HEADER });
        assert!(d["reason"].as_str().unwrap().contains(which), "{d}");
        let flags = col(&r.timeline, "integrity");
        assert!(!flags.is_empty());
        assert!(
            flags.iter().all(|v| *v == "chunk-crc-mismatch"),
            "{flags:?}"
        );
        let ev = col(&r.evidence, "integrity");
        assert!(!ev.is_empty() && ev.iter().all(|v| *v == "chunk-crc-mismatch"));
        assert_eq!(r.manifest["totals"]["unverified_chunks"], 1);
        assert!(
            r.stderr.contains("UNVERIFIED (CRC32 mismatch)"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("INPUT INCOMPLETE"), "{}", r.stderr);
        // The JSON outputs carry the flag too.
        let o = Command::cargo_bin("dcomhunt")
            .unwrap()
            .args(["-q", "events", "--format", "jsonl"])
            .arg(&f)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(4));
        let lines: Vec<Value> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), flags.len());
        assert!(lines.iter().all(|l| l["integrity"] == "chunk-crc-mismatch"));
        let o = Command::cargo_bin("dcomhunt")
            .unwrap()
            .args(["-q", "scan", "--format", "jsonl"])
            .arg(&f)
            .output()
            .unwrap();
        let out = String::from_utf8(o.stdout).unwrap();
        let finding: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert_eq!(finding["evidence"][0]["integrity"], "chunk-crc-mismatch");
    }
}

#[test]
fn file_header_crc_mismatch_is_damage_at_offset_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let mut b = fixture();
    b[24] ^= 0x01; // the next record id: covered by the header's CRC32
    let f = write(tmp.path(), "h.evtx", &b);
    let r = scan(&[&f], &[], tmp.path());
    assert_eq!(r.code, 5, "{}", r.stderr);
    let i = input(&r.manifest, &f);
    assert_eq!(i["checksums"], "mismatch");
    assert_eq!(i["complete"], false);
    assert_eq!(i["damage"][0]["offset"], 0);
    assert!(
        i["damage"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("file header CRC32 mismatch")
    );
    // The chunks check out: their events are verified.
    assert!(col(&r.timeline, "integrity").iter().all(|v| *v == "ok"));
}

#[test]
fn damaged_signature_is_read_from_its_chunks() {
    let tmp = tempfile::tempdir().unwrap();
    let good = fixture();
    let g = write(tmp.path(), "good.evtx", &good);
    let reference = scan(&[&g], &[], tmp.path());
    let mut b = good.clone();
    b[2] ^= 0x20; // ElfFile → ElFFile
    let f = write(tmp.path(), "sig.evtx", &b);
    let r = scan(&[&f], &[], tmp.path());
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert_eq!(r.manifest["skipped"], serde_json::json!([]));
    let i = input(&r.manifest, &f);
    assert_eq!(i["format"], "evtx");
    assert_eq!(i["complete"], false);
    assert_eq!(
        i["records_read"],
        input(&reference.manifest, &g)["records_read"]
    );
    let reasons: Vec<&str> = i["damage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].contains("signature damaged"), "{reasons:?}");
    assert_eq!(i["damage"][0]["offset"], 0);
    assert_eq!(r.timeline.len(), reference.timeline.len());
    assert_eq!(
        r.manifest["totals"]["findings"],
        reference.manifest["totals"]["findings"]
    );
    // The whole header zeroed: still found by its first chunk.
    let mut z = good.clone();
    z[..HEADER].fill(0);
    let f = write(tmp.path(), "zero.evtx", &z);
    let r = scan(&[&f], &[], tmp.path());
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert_eq!(r.timeline.len(), reference.timeline.len());
}

#[test]
fn duplicated_chunk_is_analysed_once_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let good = fixture();
    assert_eq!(good.len(), HEADER + CHUNK, "the fixture is one chunk");
    let g = write(tmp.path(), "good.evtx", &good);
    let reference = scan(&[&g], &[], tmp.path());
    let mut b = good.clone();
    b.extend_from_slice(&good[HEADER..HEADER + CHUNK]);
    let f = write(tmp.path(), "dup.evtx", &b);
    for spill in ["4", "0"] {
        let r = scan(&[&f], &["--spill-mib", spill], tmp.path());
        assert_eq!(r.code, 5, "{}", r.stderr);
        let events = reference.timeline.len() - 1;
        assert_eq!(r.timeline.len() - 1, events, "each record once");
        assert!(
            col(&r.timeline, "integrity")
                .iter()
                .all(|v| *v == "duplicate")
        );
        assert!(col(&r.timeline, "chunk").iter().all(|v| *v == "0"));
        assert_eq!(r.evidence.len(), reference.evidence.len());
        let i = input(&r.manifest, &f);
        assert_eq!(i["complete"], false);
        assert_eq!(i["checksums"], "ok");
        let d = &i["damage"][0];
        assert_eq!(d["chunk"], 1);
        assert_eq!(d["records_lost"], 0);
        assert!(d["offset"].as_u64().unwrap() >= (HEADER + CHUNK) as u64);
        assert!(d["reason"].as_str().unwrap().contains("copies"), "{d}");
        assert_eq!(r.manifest["totals"]["duplicates_removed"], events);
        assert_eq!(r.manifest["totals"]["events_kept"], events);
        let set = &r.manifest["integrity"]["duplicates"][0];
        assert_eq!(
            (set["kept_chunk"].clone(), set["chunk"].clone()),
            (0.into(), 1.into())
        );
        assert_eq!(set["records"], events);
        assert!(r.stderr.contains("analysed once"), "{}", r.stderr);
    }
}

#[test]
fn same_log_twice_is_one_log_whatever_the_order() {
    let tmp = tempfile::tempdir().unwrap();
    let good = fixture();
    let live = write(tmp.path(), "live.evtx", &good);
    let vss = write(tmp.path(), "vss.evtx", &good);
    let one = scan(&[&live], &[], tmp.path());
    let a = scan(&[&live, &vss], &[], tmp.path());
    let b = scan(&[&vss, &live], &["--threads", "1"], tmp.path());
    // Copies in two files are not damage: the run is complete, each record analysed once.
    assert_eq!(a.code, 3, "{}", a.stderr);
    assert_eq!(a.timeline.len(), one.timeline.len());
    assert_eq!(a.evidence.len(), one.evidence.len());
    assert!(
        col(&a.timeline, "file")
            .iter()
            .all(|f| f.ends_with("live.evtx"))
    );
    assert!(
        col(&a.timeline, "integrity")
            .iter()
            .all(|v| *v == "duplicate")
    );
    let set = &a.manifest["integrity"]["duplicates"][0];
    assert!(set["kept_file"].as_str().unwrap().ends_with("live.evtx"));
    assert!(set["file"].as_str().unwrap().ends_with("vss.evtx"));
    assert_eq!(set["records"], one.timeline.len() - 1);
    for name in ["timeline.csv", "evidence.csv", "findings.csv"] {
        assert_eq!(
            std::fs::read(a.dir.join(name)).unwrap(),
            std::fs::read(b.dir.join(name)).unwrap(),
            "{name} depends on the argument order"
        );
    }
}

#[test]
fn same_record_id_with_different_content_is_a_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let good = fixture();
    let a = write(tmp.path(), "a.evtx", &good);
    // One UTF-16 letter of a command line changed, CRC32s made to match: a copy that checks
    // out but says something else.
    let needle: Vec<u8> = "whoami".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut b = good.clone();
    let at = b
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("the fixture logs whoami");
    b[at] = b'W';
    fix_chunk_crc(&mut b, 0);
    let bp = write(tmp.path(), "b.evtx", &b);
    let one = scan(&[&a], &[], tmp.path());
    let r = scan(&[&a, &bp], &[], tmp.path());
    assert_eq!(r.code, 5, "{}", r.stderr);
    let conflicts = r.manifest["integrity"]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let copies = conflicts[0]["copies"].as_array().unwrap();
    assert_eq!(copies.len(), 2);
    assert_eq!(r.manifest["totals"]["conflicts"], 1);
    // Both copies kept and flagged; every other record is an identical copy, analysed once.
    let flags = col(&r.timeline, "integrity");
    assert_eq!(
        flags.iter().filter(|v| **v == "conflict").count(),
        2,
        "{flags:?}"
    );
    assert_eq!(r.timeline.len(), one.timeline.len() + 1);
    let cmd = col(&r.timeline, "command_line");
    let k = flags.iter().position(|v| *v == "conflict").unwrap();
    assert!(cmd[k].contains("whoami") || cmd[k].contains("Whoami"));
    for p in [&a, &bp] {
        let i = input(&r.manifest, p);
        assert_eq!(i["complete"], false, "{i}");
        assert_eq!(i["checksums"], "ok");
        let d = i["damage"].as_array().unwrap().last().unwrap().clone();
        assert!(d["reason"].as_str().unwrap().contains("conflicts"), "{d}");
        assert!(d["offset"].as_u64().is_some());
    }
    assert!(r.stderr.contains("CONFLICTS: 1"), "{}", r.stderr);
}

/// The reproduction: 64 bytes zeroed inside a record of a corpus file change an image
/// path, and the chunk's CRC32 says so.
#[test]
fn corpus_zeroed_bytes_are_flagged() {
    let Some(corpus) = common::corpus("corpus_zeroed_bytes_are_flagged") else {
        return;
    };
    let src = corpus.join("EVTX-ATTACK-SAMPLES/Lateral Movement/smbmap_upload_exec_sysmon.evtx");
    let mut b = std::fs::read(src).unwrap();
    b[0x58cc..0x58cc + 64].fill(0);
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "smbmap.evtx", &b);
    let r = scan(&[&f], &[], tmp.path());
    assert_eq!(r.code, 4, "{}", r.stderr);
    let i = input(&r.manifest, &f);
    assert_eq!(i["complete"], false);
    assert_eq!(i["checksums"], "mismatch");
    let ids = col(&r.timeline, "record_id");
    let flags = col(&r.timeline, "integrity");
    let k = ids.iter().position(|v| *v == "421225").unwrap();
    assert_eq!(flags[k], "chunk-crc-mismatch");
    assert!(flags.iter().all(|v| *v == "chunk-crc-mismatch"));
}

/// A Sysmon 1 record for the writer (`i`: its process id and time step).
fn sysmon1(i: u32) -> dcomhunt::writer::EventRecord {
    use dcomhunt::writer::binxml::{FieldType as F, Value, parse_guid};
    use dcomhunt::writer::schema::find_layout;
    use dcomhunt::writer::{Log, SysmonGen};
    let layout = find_layout(Log::Sysmon, 1, SysmonGen::Recent).unwrap();
    let values = layout
        .fields
        .iter()
        .map(|(name, t)| match t {
            F::Guid => Value::Guid(
                parse_guid(&format!("{{{i:08x}-0000-0000-0000-000000000001}}")).unwrap(),
            ),
            F::U32 => Value::U32(i),
            F::HexInt64 => Value::HexInt64(u64::from(i) << 8),
            _ => Value::Str(format!("{name} of process {i}")),
        })
        .collect();
    dcomhunt::writer::EventRecord {
        layout,
        filetime: 134_000_000_000_000_000 + u64::from(i) * 10_000,
        process_id: 1964,
        thread_id: 1664,
        values,
    }
}

/// A zeroed chunk (in the middle, or the last one holding records) and a chunk overwritten by a
/// copy of another lose records: each is damage with the records lost, never a complete run.
#[test]
fn zeroed_and_overwritten_chunks_lose_records_and_say_so() {
    let events: Vec<_> = (0..400).map(sysmon1).collect();
    let good = dcomhunt::writer::write_to_vec("ZERO01", 1000, &events).unwrap();
    let chunks = (good.len() - HEADER) / CHUNK;
    assert!(chunks >= 3, "{chunks} chunks");
    let ids = |b: &[u8], c: usize| {
        let at = HEADER + c * CHUNK;
        let first = u64::from_le_bytes(b[at + 24..at + 32].try_into().unwrap());
        let last = u64::from_le_bytes(b[at + 32..at + 40].try_into().unwrap());
        last - first + 1
    };
    let tmp = tempfile::tempdir().unwrap();
    let g = write(tmp.path(), "good.evtx", &good);
    let reference = scan(&[&g], &[], tmp.path());
    assert_eq!(reference.code, 0, "{}", reference.stderr);
    assert_eq!(input(&reference.manifest, &g)["records_read"], 400);
    for (name, target, copy_of) in [
        ("zero-mid", 1, None),
        ("zero-last", chunks - 1, None),
        ("overwritten", 1, Some(0)),
    ] {
        let mut b = good.clone();
        let at = HEADER + target * CHUNK;
        match copy_of {
            None => b[at..at + CHUNK].fill(0),
            Some(src) => {
                let from = HEADER + src * CHUNK;
                let copy = good[from..from + CHUNK].to_vec();
                b[at..at + CHUNK].copy_from_slice(&copy);
            }
        }
        let f = write(tmp.path(), &format!("{name}.evtx"), &b);
        let r = scan(&[&f], &[], tmp.path());
        assert_eq!(r.code, 4, "{name}: {}", r.stderr);
        let i = input(&r.manifest, &f);
        assert_eq!(i["complete"], false, "{name}");
        let lost: u64 = i["damage"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["records_lost"].as_u64())
            .sum();
        assert_eq!(lost, ids(&good, target), "{name}: {}", i["damage"]);
        assert!(
            i["damage"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["offset"].as_u64().is_some()),
            "{name}: every damage has an offset: {}",
            i["damage"]
        );
        if copy_of.is_some() {
            // The copy's records are analysed once.
            assert_eq!(
                r.timeline.len(),
                reference.timeline.len() - ids(&good, target) as usize
            );
        }
    }
}
