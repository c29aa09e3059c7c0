//! What an examiner meets at the desk: `rules check` messages with real line breaks, and
//! `--excel` times that spreadsheets read as dates and times.

mod common;

use assert_cmd::Command;
use std::path::Path;

fn bin() -> Command {
    Command::cargo_bin("dcomhunt").unwrap()
}

#[test]
fn rules_check_prints_the_parser_message_as_lines() {
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[rule]\nrule_id = \"x\"\nname = \"bad\"\nseverity = \"high\"\nrisk_score = 1\n",
    )
    .unwrap();
    let out = bin().args(["rules", "check"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("\\n"), "an escaped line break:\n{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 3, "{text}");
    assert!(
        lines[0].starts_with("ERROR  ") && lines[0].contains("bad.toml"),
        "{text}"
    );
    // The rest of the message is indented under it, the caret line included.
    assert!(
        lines[1..].iter().all(|l| l.starts_with("       ")),
        "{text}"
    );
    assert!(lines.iter().any(|l| l.contains('^')), "{text}");
}

/// The value of every cell of `col` in a CSV file (BOM stripped).
fn column(file: &Path, col: &str) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let k = r.headers().unwrap().iter().position(|h| h == col).unwrap();
    r.records()
        .map(|x| x.unwrap().get(k).unwrap().to_string())
        .collect()
}

fn spreadsheet_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 27
        && b[10] == b' '
        && b[19] == b'.'
        && s.chars()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16 | 19) || c.is_ascii_digit())
}

#[test]
fn excel_times_are_spreadsheet_date_times_and_jsonl_keeps_iso() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("r");
    bin()
        .args(["-q", "scan"])
        .arg(common::testdata().join("example"))
        .arg("-o")
        .arg(&out)
        .arg("--excel")
        .assert()
        .code(3);
    for (file, cols) in [
        ("timeline.csv", &["time"][..]),
        ("evidence.csv", &["time"][..]),
        ("findings.csv", &["first_time", "last_time"][..]),
    ] {
        for col in cols {
            let v = column(&out.join(file), col);
            assert!(!v.is_empty());
            for t in &v {
                assert!(spreadsheet_time(t), "{file} {col}: {t:?}");
            }
        }
    }
    // The same instants, in ISO form, in the .jsonl files.
    let first = column(&out.join("timeline.csv"), "time")[0].clone();
    let line = std::fs::read_to_string(out.join("timeline.jsonl")).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(
        v["time"].as_str().unwrap(),
        format!("{}T{}Z", &first[..10], &first[11..])
    );
    // Without --excel the CSV keeps the ISO form.
    let plain = d.path().join("p");
    bin()
        .args(["-q", "scan"])
        .arg(common::testdata().join("example"))
        .arg("-o")
        .arg(&plain)
        .assert()
        .code(3);
    assert!(column(&plain.join("timeline.csv"), "time")[0].ends_with('Z'));

    // LibreOffice, where installed, reads them as dates (its CSV import with "detect special
    // numbers", the option that recognizes dates).
    let runs = |tool: &str, arg: &str| {
        std::process::Command::new(tool)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !runs("soffice", "--version") || !runs("unzip", "-v") {
        eprintln!("SKIPPED the LibreOffice check: soffice or unzip is not installed");
        return;
    }
    let profile = d.path().join("lo-profile");
    let ods = d.path().join("ods");
    let st = std::process::Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args([
            "--headless",
            "--infilter=CSV:44,34,76,1,,0,false,true",
            "--convert-to",
            "ods",
            "--outdir",
        ])
        .arg(&ods)
        .arg(out.join("findings.csv"))
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    let unzip = std::process::Command::new("unzip")
        .arg("-p")
        .arg(ods.join("findings.ods"))
        .arg("content.xml")
        .output()
        .unwrap();
    let xml = String::from_utf8_lossy(&unzip.stdout);
    // first_time and last_time of each of the example's two findings (equal cells side by side
    // are one element with a repeat count in ODF).
    let dates: usize = xml
        .split("<table:table-cell ")
        .filter_map(|c| c.split('>').next())
        .filter(|t| t.contains("office:value-type=\"date\""))
        .map(|t| {
            t.split("table:number-columns-repeated=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(1)
        })
        .sum();
    assert_eq!(
        dates, 4,
        "LibreOffice did not read the times as dates:\n{xml}"
    );
}
