//! Attacker-controlled values end to end, through real EVTX files written by
//! `dcomhunt::writer`: command lines with quotes, commas, newlines, CR, NUL, terminal escape
//! sequences, bidi overrides, 30,000-character (60 KB in UTF-16) strings and spreadsheet formulas; host names with path
//! separators. CSV round-trips exactly, `--excel` neutralizes formulas, terminal output carries
//! no raw control characters, and nothing is written outside `-o DIR`.

mod common;

use assert_cmd::Command;
use dcomhunt::writer::scenario::{build, parse};
use std::collections::BTreeSet;
use std::path::Path;

const MMC_GUID: &str = "{365abb72-2008-54d5-0000-0010000854d5}";

fn hostile_values() -> Vec<String> {
    vec![
        r#"cmd.exe /c "echo a,b;""c"" ' x""#.to_owned(),
        "cmd.exe /c line1\nline2\r\nline3\rend".to_owned(),
        "cmd.exe /c \u{1b}[2J\u{1b}[31mred\u{1b}]0;pwned\u{7}\u{9b}31m".to_owned(),
        "cmd.exe /c bs\u{8}\u{7f}tab\tend".to_owned(),
        "cmd.exe /c nul\u{0}after".to_owned(),
        "C:\\Users\\x\\\u{202e}fdp.exe\u{2066}".to_owned(),
        "=cmd|' /C calc'!A0".to_owned(),
        "+1+cmd|' /C calc'!A0".to_owned(),
        "@SUM(1+1)*cmd|' /C calc'!A0".to_owned(),
        format!("powershell -enc {}", "QUFB".repeat(7_400)),
        "\u{fffd}\u{fffe}junk\u{d7ff}\u{e000}".to_owned(),
    ]
}

fn toml_str(s: &str) -> String {
    // A TOML basic string: escape everything that is not printable ASCII.
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

const HOSTS: &[&str] = &["..\\..\\evil", "a/b", "WS01\u{1b}[2J.corp"];

/// Write the fixture: the MMC attack scenario once per hostile host name, each with the
/// hostile command lines as children of mmc.exe. Files get safe names of our own.
fn fixture(dir: &Path) {
    let base = std::fs::read_to_string(common::testdata().join("scenarios/mmc_sysmon_recent.toml"))
        .unwrap();
    for (h, host) in HOSTS.iter().enumerate() {
        let mut text = base.replace("\"WS01.corp.example\"", &toml_str(host));
        for (k, cmd) in hostile_values().iter().enumerate() {
            text.push_str(&format!(
                "\n[[host.event]]\nt = \"+{t}s\"\nlog = \"sysmon\"\nid = 1\n\
                 ProcessGuid = \"{{365abb72-2008-54d5-0000-0010{k:08x}}}\"\nProcessId = {pid}\n\
                 Image = {img}\nCommandLine = {cmd}\nParentProcessGuid = \"{MMC_GUID}\"\n\
                 ParentProcessId = 3344\nParentImage = \"C:\\\\Windows\\\\System32\\\\mmc.exe\"\n",
                t = 30 + k,
                pid = 7000 + k,
                img = toml_str(&format!("C:\\Windows\\System32\\{}.exe", k)),
                cmd = toml_str(cmd),
            ));
        }
        let sc = parse("hostile.toml", &text).unwrap();
        for (j, log) in build("hostile.toml", &sc).unwrap().into_iter().enumerate() {
            let d = dir.join(format!("host{h}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(format!("log{j}.evtx")), log.to_bytes().unwrap()).unwrap();
        }
    }
}

fn bin() -> Command {
    Command::cargo_bin("dcomhunt").unwrap()
}

fn cells(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
            out.insert(e.path().strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out
}

#[test]
fn csv_round_trips_and_excel_neutralizes_formulas() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    fixture(&input);
    let before = files_under(d.path());
    for (mode, extra) in [("plain", None), ("excel", Some("--excel"))] {
        let out = d.path().join(format!("out_{mode}"));
        let mut cmd = bin();
        cmd.args(["scan", "-q"]).arg(&input).arg("-o").arg(&out);
        if let Some(x) = extra {
            cmd.arg(x);
        }
        let run = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(3), "{mode}: {err}");
        let timeline = cells(&out.join("timeline.csv"));
        let all: BTreeSet<&str> = timeline.iter().flatten().map(String::as_str).collect();
        let findings = std::fs::read_to_string(out.join("findings.csv")).unwrap();
        assert!(!cells(&out.join("findings.csv")).is_empty());
        for v in hostile_values() {
            if mode == "plain" {
                // EVTX strings are NUL-terminated UTF-16: what follows a NUL inside a value is
                // not recoverable from the file (the evtx crate stops there), so the text up to
                // it must come out exactly.
                let readable = v.split('\0').next().unwrap_or("");
                assert!(
                    all.contains(v.as_str()) || (v.contains('\0') && all.contains(readable)),
                    "{mode}: {v:?} not round-tripped"
                );
            } else if dcomhunt::report::excel::is_formula_like(&v) {
                assert!(
                    !all.contains(v.as_str()),
                    "{mode}: formula {v:?} left as is"
                );
                if v.len() < 1000 {
                    assert!(all.contains(format!("'{v}").as_str()), "{mode}: {v:?}");
                }
            }
        }
        for host in HOSTS {
            assert!(
                all.contains(host),
                "{mode}: host {host:?} not round-tripped"
            );
        }
        if mode == "excel" {
            for row in cells(&out.join("timeline.csv"))
                .iter()
                .chain(&cells(&out.join("findings.csv")))
            {
                for c in row {
                    assert!(
                        !dcomhunt::report::excel::is_formula_like(c)
                            || c.starts_with('-') && c[1..].parse::<f64>().is_ok(),
                        "excel: formula-like cell {c:?}"
                    );
                }
            }
        }
        assert!(findings.contains("mmc.exe"));
    }
    // Only the two output directories appeared; nothing named after a host anywhere.
    let after = files_under(d.path());
    let new: Vec<&String> = after.difference(&before).collect();
    for f in &new {
        assert!(
            f.starts_with("out_plain") || f.starts_with("out_excel"),
            "{f}"
        );
        assert!(
            !f.contains("evil") && !f.contains("..") && !f.contains("a/b"),
            "{f}"
        );
    }
    for m in ["plain", "excel"] {
        let names: Vec<String> = std::fs::read_dir(d.path().join(format!("out_{m}")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        for n in &names {
            assert!(!n.contains("evil") && !n.starts_with('.'), "{n}");
        }
    }
    assert!(!d.path().parent().unwrap().join("evil").exists());
}

#[test]
fn terminal_output_has_no_raw_control_characters() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    fixture(&input);
    for args in [
        vec!["events"],
        vec!["tree"],
        vec!["scan"],
        vec!["timeline"],
        vec!["scan", "--format", "jsonl"],
    ] {
        let run = bin().args(&args).arg(&input).output().unwrap();
        let code = run.status.code().unwrap();
        assert!([0, 3].contains(&code), "{args:?}: {code}");
        for (what, bytes) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            let text = String::from_utf8(bytes.clone()).unwrap();
            for (i, c) in text.chars().enumerate() {
                let bad = (c.is_control() && c != '\n' && c != '\t')
                    || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
                assert!(!bad, "{args:?} {what}: raw {c:?} at char {i}");
            }
            if what == "stdout" && args != ["scan", "--format", "jsonl"] {
                assert!(text.contains("\\x1b"), "{args:?}: ESC not shown escaped");
            }
        }
    }
}
