//! Terminal output rendered through a real pseudo-terminal (`script` from util-linux, with
//! `stty cols N`) fits the terminal's width and never splits a time, an address or a record id;
//! piped output is full lines.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use unicode_width::UnicodeWidthStr;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dcomhunt")
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// stdout of `dcomhunt ARGS` on a pseudo-terminal `cols` columns wide (stderr left out).
fn on_pty(args: &[&str], cols: usize) -> String {
    let cmd = format!(
        "stty cols {cols} rows 50; exec {} {} 2>/dev/null",
        quote(bin()),
        args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("`script` (util-linux) runs a command on a pseudo-terminal");
    String::from_utf8(out.stdout)
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\r', "")
}

/// stdout of `dcomhunt ARGS` into a pipe.
fn piped(args: &[&str]) -> String {
    let out = Command::new(bin()).args(args).output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Every complete `YYYY-MM-DDTHH:MM:SS.fffffffZ` time, counted; and how many times start
/// (`YYYY-MM-DDT`), complete or not.
fn times(s: &str) -> (BTreeMap<String, usize>, usize) {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let (mut whole, mut starts) = (BTreeMap::new(), 0);
    for i in 0..b.len().saturating_sub(11) {
        if !(digits(i..i + 4) && b[i + 4] == b'-' && digits(i + 5..i + 7) && b[i + 10] == b'T') {
            continue;
        }
        if i > 0 && b[i - 1].is_ascii_digit() {
            continue;
        }
        starts += 1;
        if let Some(t) = s.get(i..i + 28)
            && t.ends_with('Z')
            && t.as_bytes()[19] == b'.'
            && digits(i + 20..i + 27)
        {
            *whole.entry(t.to_string()).or_insert(0) += 1;
        }
    }
    (whole, starts)
}

/// Every IPv4 `a.b.c.d:port` written, with the characters around it.
fn addresses(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for word in s.split(|c: char| c.is_whitespace()) {
        let chars: Vec<char> = word.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if !(chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == ':') {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == ':')
            {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            if run.matches('.').count() == 3 && run.contains(':') {
                out.push((run, word.to_string()));
            }
        }
    }
    out
}

/// The narrow output keeps every token of the full one whole, and fits `cols`.
fn check(what: &str, narrow: &str, full: &str, cols: usize) {
    assert!(!narrow.trim().is_empty(), "{what}: no output on the pty");
    for line in narrow.lines() {
        assert!(
            UnicodeWidthStr::width(line) <= cols,
            "{what} at {cols} columns: a line of {} columns:\n{line}",
            UnicodeWidthStr::width(line)
        );
    }
    let (tn, starts) = times(narrow);
    let (tf, _) = times(full);
    assert_eq!(
        starts,
        tn.values().sum::<usize>(),
        "{what} at {cols}: a time was split:\n{narrow}"
    );
    assert_eq!(
        tn, tf,
        "{what} at {cols}: not every time shown whole:\n{narrow}"
    );
    let known: Vec<String> = addresses(full).into_iter().map(|(a, _)| a).collect();
    for (a, word) in addresses(narrow) {
        assert!(
            known.contains(&a)
                && !word.contains(&format!("{a}…"))
                && !word.contains(&format!("…{a}")),
            "{what} at {cols}: address {a:?} split (in {word:?}):\n{narrow}"
        );
    }
    // Piped output is not cut at all.
    assert!(
        full.lines().any(|l| UnicodeWidthStr::width(l) > cols),
        "{what}: the full output is expected wider than {cols}"
    );
}

/// Each matched stage's row shows its time and record id whole on one line.
fn check_stages(what: &str, narrow: &str, jsonl: &str) {
    for line in jsonl.lines() {
        let f: serde_json::Value = serde_json::from_str(line).unwrap();
        for e in f["evidence"].as_array().unwrap() {
            let stage = format!("#{}", e["stage"]);
            let time = e["time"].as_str().unwrap();
            let record = e["record_id"].to_string();
            assert!(
                narrow.lines().any(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    w.first() == Some(&stage.as_str())
                        && w.contains(&time)
                        && w.contains(&record.as_str())
                }),
                "{what}: no row `{stage} … {time} … {record}`:\n{narrow}"
            );
        }
    }
}

fn scan_case(what: &str, paths: &[PathBuf]) {
    let p: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
    let args: Vec<&str> = ["-q", "scan"].iter().copied().chain(p.clone()).collect();
    let full = piped(&args);
    let jsonl = piped(
        &["-q", "scan", "--format", "jsonl"]
            .iter()
            .copied()
            .chain(p.clone())
            .collect::<Vec<_>>(),
    );
    assert!(!jsonl.trim().is_empty(), "{what}: expected findings");
    for cols in [80, 100] {
        let narrow = on_pty(&args, cols);
        check(what, &narrow, &full, cols);
        check_stages(what, &narrow, &jsonl);
    }
    // `--wide` on a terminal prints what a pipe gets.
    let wide: Vec<&str> = ["--wide"].iter().copied().chain(args.clone()).collect();
    assert_eq!(on_pty(&wide, 80), full, "{what}: --wide on a terminal");
}

#[test]
fn example_scan_fits_80_and_100_columns() {
    scan_case("example", &[common::testdata().join("example")]);
}

#[test]
fn example_tree_fits_80_columns() {
    let ex = common::testdata().join("example");
    let args = ["-q", "tree", ex.to_str().unwrap()];
    let full = piped(&args);
    let narrow = on_pty(&args, 80);
    check("tree", &narrow, &full, 80);
    // One line per process, each with its PID and name whole.
    for pid_name in ["[3572] mmc.exe", "[2236] cmd.exe", "[2512] whoami.exe"] {
        assert!(narrow.contains(pid_name), "{pid_name}:\n{narrow}");
    }
}

#[test]
fn example_timeline_and_events_fit_80_columns() {
    let ex = common::testdata().join("example");
    let ex = ex.to_str().unwrap();
    for cmd in ["timeline", "events"] {
        let args = ["-q", cmd, ex];
        let full = piped(&args);
        let narrow = on_pty(&args, 80);
        check(cmd, &narrow, &full, 80);
        // Every record id of the full table is on the same line as its time.
        let rows: Vec<Vec<&str>> = full
            .lines()
            .filter(|l| l.starts_with("2026-"))
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert!(rows.len() > 20, "{cmd}: {} rows", rows.len());
        for w in rows {
            let (time, record) = match cmd {
                "events" => (w[0], w[4]),
                _ => (w[0], w[3]),
            };
            assert!(record.bytes().all(|b| b.is_ascii_digit()), "{cmd}: {w:?}");
            assert!(
                narrow.lines().any(|l| {
                    let n: Vec<&str> = l.split_whitespace().collect();
                    n.first() == Some(&time) && n.contains(&record)
                }),
                "{cmd}: row {time} {record} not whole at 80 columns:\n{narrow}"
            );
        }
    }
}

#[test]
fn corpus_findings_fit_80_and_100_columns() {
    let Some(c) = common::corpus("corpus_findings_fit_80_and_100_columns") else {
        return;
    };
    let lm = Path::new(&c).join("EVTX-ATTACK-SAMPLES/Lateral Movement");
    scan_case(
        "corpus",
        &[
            lm.join("LM_impacket_docmexec_mmc_sysmon_01.evtx"),
            lm.join("LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx"),
            c.join("nxlog-json/covenant_dcom_executeexcel4macro_allowed_2020-09-17174542.json"),
        ],
    );
}
