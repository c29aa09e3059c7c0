//! `dcomhunt scan -o DIR`: the written reports (docs/csv.md).

mod common;

use assert_cmd::Command;
use dcomhunt::report::table::{Cell, CsvMode, TableOut};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const LM: &str = "EVTX-ATTACK-SAMPLES/Lateral Movement";
const MMC: &str = "LM_impacket_docmexec_mmc_sysmon_01.evtx";
const HTA: &str = "LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx";

fn bin() -> Command {
    Command::cargo_bin("dcomhunt").unwrap()
}

fn corpus_pair(test: &str) -> Option<(PathBuf, PathBuf)> {
    let c = common::corpus(test)?;
    let d = c.join(LM);
    let (a, b) = (d.join(MMC), d.join(HTA));
    if a.is_file() && b.is_file() {
        Some((a, b))
    } else {
        eprintln!("SKIPPED {test}: {MMC} or {HTA} missing from the corpus");
        None
    }
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn sha(p: &Path) -> String {
    dcomhunt::discover::hash_file(p).unwrap().1
}

fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn column(rows: &[Vec<String>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn reports_are_byte_identical_whatever_threads_and_path_order() {
    let Some((a, b)) = corpus_pair("reports_are_byte_identical_whatever_threads_and_path_order")
    else {
        return;
    };
    let before = (sha(&a), sha(&b));
    let t = tempfile::tempdir().unwrap();
    let (o1, o2) = (t.path().join("one"), t.path().join("two"));
    for (threads, paths, out) in [("1", [&a, &b], &o1), ("2", [&b, &a], &o2)] {
        bin()
            .args(["--threads", threads, "-q", "scan"])
            .args(paths)
            .arg("-o")
            .arg(out)
            .args(["--report-format", "both", "--timesketch"])
            .assert()
            .code(3);
    }
    let (f1, f2) = (files(&o1), files(&o2));
    let names: Vec<&str> = f1.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "evidence.csv",
            "evidence.jsonl",
            "findings.csv",
            "findings.jsonl",
            "manifest.json",
            "report.html",
            "timeline.csv",
            "timeline.jsonl",
            "timesketch.csv",
            "timesketch.jsonl"
        ]
    );
    assert_eq!(f1.keys().collect::<Vec<_>>(), f2.keys().collect::<Vec<_>>());
    for (name, bytes) in &f1 {
        if name != "manifest.json" {
            assert!(bytes == &f2[name], "{name} differs between runs");
        }
    }
    // The manifests differ only in their `run` object.
    let mut m1: serde_json::Value = serde_json::from_slice(&f1["manifest.json"]).unwrap();
    let mut m2: serde_json::Value = serde_json::from_slice(&f2["manifest.json"]).unwrap();
    assert_eq!(m1["run"]["threads"], 1);
    assert_eq!(m2["run"]["threads"], 2);
    assert!(m1["run"]["command_line"].as_array().unwrap().len() > 5);
    m1.as_object_mut().unwrap().remove("run");
    m2.as_object_mut().unwrap().remove("run");
    assert_eq!(m1, m2);
    // Inputs untouched.
    assert_eq!(before, (sha(&a), sha(&b)));

    // Content: three findings, their evidence, every event of the timeline.
    let findings = read_csv(&f1["findings.csv"]);
    assert_eq!(findings[0], dcomhunt::report::csv_out::FINDINGS_COLUMNS);
    assert_eq!(findings.len(), 4);
    let rule = column(&findings, "rule_name");
    // The network-only MMC rule on the same connection, decided on complete evidence.
    assert_eq!(findings[1][rule], "Incoming DCOM Network Connection to MMC");
    assert_eq!(findings[1][column(&findings, "gaps")], "");
    assert!(findings[2][rule].contains("MMC"));
    assert!(findings[3][rule].contains("MSHTA"));
    assert_eq!(
        findings[2][column(&findings, "first_time")],
        "2019-04-30T20:35:13.1685890Z"
    );
    assert_eq!(findings[2][column(&findings, "remote")], "10.0.2.19:33474");
    assert_eq!(findings[2][column(&findings, "process_pid")], "3572");
    assert!(findings[2][column(&findings, "descendants_command_lines")].contains("whoami  /all"));
    let evidence = read_csv(&f1["evidence.csv"]);
    let role = column(&evidence, "role");
    let rid = column(&evidence, "record_id");
    let mmc: Vec<(&str, &str)> = evidence[1..]
        .iter()
        .filter(|r| r[0] == findings[2][0])
        .map(|r| (r[role].as_str(), r[rid].as_str()))
        .collect();
    assert_eq!(
        mmc,
        [
            ("context", "9832"),
            ("context", "9833"),
            ("stage 1", "9835"),
            ("stage 2", "9838"),
            ("context", "9839"),
            ("context", "9840")
        ]
    );
    assert_eq!(findings[2][column(&findings, "evidence_count")], "6");
    let file_sha = column(&evidence, "file_sha256");
    assert!(evidence[1..].iter().any(|r| r[file_sha] == before.0));
    let timeline = read_csv(&f1["timeline.csv"]);
    assert_eq!(timeline.len(), 1 + 11);
    let times: Vec<&str> = timeline[1..].iter().map(|r| r[0].as_str()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    // JSON lines carry the same rows.
    let tl: Vec<serde_json::Value> = std::str::from_utf8(&f1["timeline.jsonl"])
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(tl.len(), 11);
    assert_eq!(tl[0]["time"], timeline[1][0]);
    assert_eq!(tl[0]["record_id"], 9832);
    // The manifest.
    let m = &m1;
    assert_eq!(m["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(m["totals"]["findings"], 3);
    assert!(
        m["rules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["sha256"].as_str().unwrap().len() == 64)
    );
    let outs = m["outputs"].as_array().unwrap();
    assert_eq!(outs.len(), 9);
    for o in outs {
        let name = o["file"].as_str().unwrap();
        assert_eq!(o["sha256"].as_str().unwrap(), sha(&o1.join(name)), "{name}");
    }
    // Timesketch: the required columns.
    let ts = read_csv(&f1["timesketch.csv"]);
    assert_eq!(
        &ts[0][..4],
        ["message", "datetime", "timestamp", "timestamp_desc"]
    );
    assert_eq!(ts[1][2], "1556656511856089");
    assert_eq!(ts[1][3], "Process Start");
    // One Timesketch row per timeline row, in the same order.
    let tl = read_csv(&f1["timeline.csv"]);
    let (tl_time, tl_record) = (column(&tl, "time"), column(&tl, "record_id"));
    let (ts_time, ts_record) = (column(&ts, "datetime"), column(&ts, "record_id"));
    assert_eq!(ts.len(), tl.len());
    for (a, b) in tl[1..].iter().zip(&ts[1..]) {
        assert_eq!((&a[tl_time], &a[tl_record]), (&b[ts_time], &b[ts_record]));
    }
}

#[test]
fn output_directory_rules() {
    let Some((a, _)) = corpus_pair("output_directory_rules") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), b"examiner's notes").unwrap();
    let r = bin()
        .args(["-q", "scan"])
        .arg(&a)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&r.get_output().stderr).into_owned();
    assert!(
        err.contains("not empty") && err.contains(&*out.to_string_lossy()),
        "{err}"
    );
    assert!(!out.join("findings.csv").exists());
    // --force writes, keeps unrelated files, and removes stale report files of other runs.
    std::fs::write(out.join("timesketch.csv"), b"stale").unwrap();
    bin()
        .args(["-q", "scan"])
        .arg(&a)
        .arg("-o")
        .arg(&out)
        .arg("--force")
        .assert()
        .code(3);
    let names: Vec<String> = files(&out).into_keys().collect();
    assert_eq!(
        names,
        [
            "evidence.csv",
            "findings.csv",
            "manifest.json",
            "notes.txt",
            "report.html",
            "timeline.csv"
        ]
    );
    // An output directory inside an input directory.
    let ev = t.path().join("evidence");
    std::fs::create_dir(&ev).unwrap();
    std::fs::copy(&a, ev.join(MMC)).unwrap();
    let r = bin()
        .args(["-q", "scan"])
        .arg(&ev)
        .arg("-o")
        .arg(ev.join("reports"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&r.get_output().stderr).into_owned();
    assert!(err.contains("inside the input directory"), "{err}");
    assert!(!ev.join("reports").exists());
    // A missing input: the run fails and leaves no output directory behind.
    let gone = t.path().join("never");
    bin()
        .args(["-q", "scan"])
        .arg(t.path().join("no-such.evtx"))
        .arg("-o")
        .arg(&gone)
        .assert()
        .code(1);
    assert!(!gone.exists());
    // An output directory that cannot be created: exit 1, before anything is read.
    let r = bin()
        .args(["-q", "scan"])
        .arg(&a)
        .arg("-o")
        .arg(out.join("notes.txt/sub"))
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&r.get_output().stderr).into_owned();
    assert!(
        err.contains("notes.txt/sub") && err.lines().count() == 1,
        "{err}"
    );
    // Report flags without -o are usage errors.
    bin()
        .args(["-q", "scan"])
        .arg(&a)
        .arg("--excel")
        .assert()
        .code(2);
    // No half-written or temporary files left anywhere.
    for e in std::fs::read_dir(&out).unwrap() {
        assert!(!e.unwrap().file_name().to_string_lossy().contains(".tmp-"));
    }
}

/// Values an attacker controls, written as cells and read back.
fn adversarial() -> Vec<String> {
    vec![
        "=cmd|' /C calc'!A0".into(),
        "\"quoted\", with, commas".into(),
        "line1\nline2\r\nline3\rend".into(),
        "nul\0inside".into(),
        "\0".into(),
        "-2+3".into(),
        "+1".into(),
        "@SUM(A1)".into(),
        "\tTAB".into(),
        "\rCR".into(),
        "  spaces kept  ".into(),
        String::new(),
        "\u{feff}bom\u{202e}rtl".into(),
        format!("={}", "A\"B,\n".repeat(8_000)),
        "x".repeat(40_000),
    ]
}

#[test]
fn csv_round_trips_every_value_exactly() {
    let t = tempfile::tempdir().unwrap();
    let vals = adversarial();
    let mut w =
        TableOut::create(t.path(), "adv", &["n", "value"], Some(CsvMode::Exact), true).unwrap();
    for (i, v) in vals.iter().enumerate() {
        w.row(&[Cell::UInt(i as u64), Cell::str(v)]).unwrap();
    }
    w.row(&[Cell::Null, Cell::Null]).unwrap();
    for s in w.finish().unwrap() {
        s.commit().unwrap();
    }
    let bytes = std::fs::read(t.path().join("adv.csv")).unwrap();
    assert!(bytes.starts_with(b"n,value\r\n"));
    let rows = read_csv(&bytes);
    assert_eq!(rows.len(), vals.len() + 2);
    for (i, v) in vals.iter().enumerate() {
        assert_eq!(rows[i + 1], [i.to_string(), v.clone()], "row {i}");
    }
    assert_eq!(rows[vals.len() + 1], ["", ""]);
    let jl: Vec<serde_json::Value> = std::fs::read_to_string(t.path().join("adv.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(jl.len(), vals.len() + 1);
    for (i, v) in vals.iter().enumerate() {
        assert_eq!(jl[i]["value"].as_str().unwrap(), v);
        assert_eq!(jl[i]["n"], i as u64);
    }
    assert!(jl[vals.len()]["value"].is_null());
}

/// Rows encoded in blocks on the thread pool (`rows_par`, as the timeline is written) give the
/// same files, row count and cut count as writing them one by one, in both CSV modes, across
/// several blocks and with skipped rows.
#[test]
fn parallel_rows_equal_sequential_rows() {
    let vals = adversarial();
    let n = 3 * 4096 + 17;
    // Every adversarial value, spread over the blocks, between short values (some formula-like).
    let texts: Vec<String> = (0..n)
        .map(|k| match k {
            _ if k % 97 == 0 => vals[(k / 97) % vals.len()].clone(),
            _ if k % 5 == 0 => format!("={k}"),
            _ => format!("v{k}, \"q\""),
        })
        .collect();
    let cells = |k: usize| -> Option<Vec<Cell<'_>>> {
        (k % 11 != 5).then(|| {
            vec![
                Cell::UInt(k as u64),
                if k % 7 == 0 {
                    Cell::Null
                } else {
                    Cell::str(&texts[k])
                },
                Cell::Int(-(k as i64)),
            ]
        })
    };
    for mode in [CsvMode::Exact, CsvMode::Excel] {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let cols: &'static [&'static str] = &["n", "value", "neg"];
        let first = [Cell::UInt(0), Cell::str("first, sequential"), Cell::Null];
        let last = [Cell::UInt(1), Cell::str("=last"), Cell::Null];
        let mut seq = TableOut::create(a.path(), "t", cols, Some(mode), true).unwrap();
        seq.row(&first).unwrap();
        for k in 0..n {
            if let Some(c) = cells(k) {
                seq.row(&c).unwrap();
            }
        }
        seq.row(&last).unwrap();
        let mut par = TableOut::create(b.path(), "t", cols, Some(mode), true).unwrap();
        par.row(&first).unwrap();
        par.rows_par(n, |ks, sink| {
            for k in ks {
                if let Some(c) = cells(k) {
                    sink.row(&c)?;
                }
            }
            Ok(())
        })
        .unwrap();
        par.row(&last).unwrap();
        assert_eq!(par.rows(), seq.rows());
        assert_eq!(
            seq.rows(),
            (0..n).filter(|k| k % 11 != 5).count() as u64 + 2
        );
        assert_eq!(par.truncated(), seq.truncated());
        assert_eq!(seq.truncated() > 0, mode == CsvMode::Excel);
        for s in seq
            .finish()
            .unwrap()
            .into_iter()
            .chain(par.finish().unwrap())
        {
            s.commit().unwrap();
        }
        for name in ["t.csv", "t.jsonl"] {
            let x = std::fs::read(a.path().join(name)).unwrap();
            let y = std::fs::read(b.path().join(name)).unwrap();
            assert!(x.len() > 100_000, "{name}: several blocks written");
            assert!(x == y, "{name} differs ({mode:?})");
        }
    }
}

#[test]
fn excel_mode_neutralizes_and_cuts_visibly() {
    let t = tempfile::tempdir().unwrap();
    let vals = adversarial();
    let mut w = TableOut::create(t.path(), "adv", &["value"], Some(CsvMode::Excel), true).unwrap();
    for v in &vals {
        w.row(&[Cell::str(v)]).unwrap();
    }
    assert_eq!(w.truncated(), 2);
    for s in w.finish().unwrap() {
        s.commit().unwrap();
    }
    let bytes = std::fs::read(t.path().join("adv.csv")).unwrap();
    assert!(bytes.starts_with("\u{feff}value\r\n".as_bytes()));
    let rows = read_csv(&bytes[3..]);
    for (v, row) in vals.iter().zip(&rows[1..]) {
        let got = &row[0];
        assert!(got.encode_utf16().count() <= 32_767);
        if v.encode_utf16().count() + 1 > 32_767 {
            assert!(
                got.contains("…[truncated ") && got.ends_with("chars, full value in adv.jsonl]"),
                "{got:.40}"
            );
        } else if matches!(v.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r')) {
            assert_eq!(got, &format!("'{v}"));
        } else {
            assert_eq!(got, v);
        }
    }
    assert_eq!(rows[1][0], "'=cmd|' /C calc'!A0");
    // The JSON lines keep every value in full.
    let jl: Vec<String> = std::fs::read_to_string(t.path().join("adv.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["value"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(jl, vals);
}

/// An EVTX written by `dcomhunt::writer` whose attacker-controlled command line holds every
/// hazard, scanned end to end.
#[test]
fn hostile_command_line_survives_the_whole_pipeline() {
    let scen = common::testdata().join("scenarios/mmc_sysmon_recent.toml");
    let Ok(text) = std::fs::read_to_string(&scen) else {
        eprintln!(
            "SKIPPED hostile_command_line_survives_the_whole_pipeline: {} absent",
            scen.display()
        );
        return;
    };
    // Near the most an EVTX record's values can hold (64 KiB in all); the 32,767-character cut
    // of --excel is covered by `excel_mode_neutralizes_and_cuts_visibly`.
    // (No NUL here: an EVTX string ends at its first NUL, so none can reach the reports this
    // way; `csv_round_trips_every_value_exactly` covers NUL.)
    let head = "=cmd|' /C calc'!A0 \"q\",c\r\nline2\u{202e}tab\tx";
    let evil = format!("{head}{}", "A".repeat(30_000 - head.encode_utf16().count()));
    assert_eq!(evil.encode_utf16().count(), 30_000);
    let toml_evil = serde_json::to_string(&evil).unwrap(); // a valid TOML basic string too
    let old = "CommandLine = \"\\\"C:\\\\Windows\\\\System32\\\\cmd.exe\\\" /Q /c whoami /all";
    let line = text
        .lines()
        .find(|l| l.starts_with(old))
        .expect("the scenario's cmd.exe line");
    let text = text.replace(line, &format!("CommandLine = {toml_evil}"));
    let sc = dcomhunt::writer::scenario::parse("hostile.toml", &text).unwrap();
    let t = tempfile::tempdir().unwrap();
    let ev = t.path().join("evidence");
    std::fs::create_dir(&ev).unwrap();
    let mut written = Vec::new();
    for (k, log) in dcomhunt::writer::scenario::build("hostile.toml", &sc)
        .unwrap()
        .iter()
        .enumerate()
    {
        let p = ev.join(format!("hostile_{k}.evtx"));
        std::fs::write(&p, log.to_bytes().unwrap()).unwrap();
        written.push((p.clone(), sha(&p)));
    }
    let out = t.path().join("out");
    let plain = t.path().join("plain");
    bin()
        .args(["-q", "scan"])
        .arg(&ev)
        .arg("-o")
        .arg(&out)
        .arg("--excel")
        .assert()
        .code(3);
    bin()
        .args(["-q", "scan"])
        .arg(&ev)
        .arg("-o")
        .arg(&plain)
        .assert()
        .code(3);
    for (p, h) in &written {
        assert_eq!(&sha(p), h, "input modified");
    }
    // Default mode: exact.
    let tl = read_csv(&std::fs::read(plain.join("timeline.csv")).unwrap());
    let cl = column(&tl, "command_line");
    let got = tl
        .iter()
        .map(|r| &r[cl])
        .find(|c| c.starts_with("=cmd"))
        .expect("the hostile row");
    assert!(
        got == &evil,
        "the command line did not round-trip: {:?}",
        &got[..60.min(got.len())]
    );
    let fi = read_csv(&std::fs::read(plain.join("findings.csv")).unwrap());
    assert!(fi[1][column(&fi, "descendants_command_lines")].contains(&evil));
    // Excel mode: neutralized and cut, full value in the JSON lines.
    let bytes = std::fs::read(out.join("timeline.csv")).unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()));
    let tl = read_csv(&bytes[3..]);
    let cell = tl
        .iter()
        .map(|r| &r[cl])
        .find(|c| c.starts_with("'=cmd"))
        .expect("neutralized cell");
    assert_eq!(cell, &format!("'{evil}"));
    let jl = std::fs::read_to_string(out.join("timeline.jsonl")).unwrap();
    assert!(jl.lines().any(
        |l| serde_json::from_str::<serde_json::Value>(l).unwrap()["command_line"] == evil.as_str()
    ));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["totals"]["excel_truncated_cells"], 0);
    assert_eq!(m["options"]["excel"], true);
}

#[test]
fn docs_list_every_column() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/csv.md")).unwrap();
    use dcomhunt::report::{csv_out, timesketch};
    for (file, cols) in [
        ("findings", csv_out::FINDINGS_COLUMNS),
        ("evidence", csv_out::EVIDENCE_COLUMNS),
        ("timeline", csv_out::TIMELINE_COLUMNS),
        ("timesketch", timesketch::TIMESKETCH_COLUMNS),
    ] {
        let start = doc
            .find(&format!("## `{file}.csv`"))
            .unwrap_or_else(|| panic!("docs/csv.md: no section for {file}"));
        let section = &doc[start..];
        let mut at = 0;
        for (i, c) in cols.iter().enumerate() {
            let needle = format!("| {} | `{c}` |", i + 1);
            let p = section
                .find(&needle)
                .unwrap_or_else(|| panic!("docs/csv.md {file}: no row {needle}"));
            assert!(p >= at, "docs/csv.md {file}: {c} out of order");
            at = p;
        }
    }
}

#[test]
fn the_timeline_report_keeps_only_the_window() {
    let td = |d: &str| common::testdata().join(d);
    let run = |extra: &[&str]| -> Vec<Vec<String>> {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        bin()
            .args(["scan", "-q"])
            .arg(td("example"))
            .arg(td("mmc_sysmon_recent"))
            .args(extra)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        read_csv(&std::fs::read(out.join("timeline.csv")).unwrap())
    };
    let all = run(&[]);
    let host = column(&all, "host");
    let time = column(&all, "time");
    let count = |rows: &[Vec<String>], h: &str| rows[1..].iter().filter(|r| r[host] == h).count();
    let (fs, ws) = (
        count(&all, "FS01.corp.example"),
        count(&all, "WS01.corp.example"),
    );
    assert!(fs > 0 && ws > 0, "{fs} {ws}");
    assert_eq!(all.len() - 1, fs + ws);

    // A host (any case): that host's rows only, the same rows as in the whole timeline.
    let one = run(&["--host", "ws01.CORP.example"]);
    assert_eq!(one[0], all[0]);
    let expect: Vec<&Vec<String>> = all[1..]
        .iter()
        .filter(|r| r[host] == "WS01.corp.example")
        .collect();
    assert_eq!(one[1..].iter().collect::<Vec<_>>(), expect);

    // A time window: the rows at or after its start, in the same order.
    let mid = all[1 + all.len() / 2][time].clone();
    let later = run(&["--from", &mid]);
    let expect: Vec<&Vec<String>> = all[1..].iter().filter(|r| r[time] >= mid).collect();
    assert!(!expect.is_empty() && expect.len() < all.len() - 1);
    assert_eq!(later[1..].iter().collect::<Vec<_>>(), expect);
}
