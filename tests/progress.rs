//! The progress line: drawn on stderr only when it is a terminal (here a pseudo-terminal made
//! by `script` from util-linux), with bytes, rate, time left, files and the stage; never with
//! -q, never into a pipe.

use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dcomhunt")
}

/// stderr of `dcomhunt ARGS` on a pseudo-terminal (stdout thrown away), control sequences
/// removed and carriage returns made line ends.
fn stderr_on_pty(args: &str) -> String {
    let cmd = format!("stty cols 120 rows 40; exec '{}' {args} >/dev/null", bin());
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("`script` (util-linux) runs a command on a pseudo-terminal");
    let raw = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    // Drop ESC [ … letter sequences.
    let mut s = String::new();
    let mut it = raw.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            if it.peek() == Some(&'[') {
                it.next();
                for d in it.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        s.push(c);
    }
    s
}

#[test]
fn progress_shows_bytes_rate_time_left_and_stage_only_on_a_terminal() {
    let d = tempfile::tempdir().unwrap();
    let corpus = d.path().join("c");
    let made = Command::new(bin())
        .args([
            "dev",
            "scale",
            "--hosts",
            "2",
            "--events",
            "8000",
            "--attacks",
            "1",
        ])
        .arg("--out")
        .arg(&corpus)
        .output()
        .unwrap();
    assert!(made.status.success());
    let c = corpus.to_str().unwrap();
    let err = stderr_on_pty(&format!("scan '{c}'"));
    let reading = err
        .lines()
        .find(|l| {
            l.contains("reading ")
                && l.contains(" files ")
                && l.contains("/s")
                && l.contains(" left")
        })
        .unwrap_or_else(|| {
            panic!("no progress line with files, bytes, rate and time left:\n{err}")
        });
    assert!(
        reading.contains("MiB") || reading.contains("KiB"),
        "{reading}"
    );
    assert!(err.contains("process graphs and rules"), "{err}");
    // The line is cleared before the summary, which is there in full.
    assert!(
        err.lines()
            .any(|l| l.starts_with("read ") && l.contains(" file(s), ")),
        "{err}"
    );

    let quiet = stderr_on_pty(&format!("-q scan '{c}'"));
    assert!(!quiet.contains("reading"), "-q draws no progress:\n{quiet}");

    // Into a pipe: no progress, no control sequence.
    let out = Command::new(bin()).args(["scan", c]).output().unwrap();
    let piped = String::from_utf8(out.stderr).unwrap();
    assert!(
        !piped.contains("reading") && !piped.contains('\u{1b}'),
        "{piped}"
    );
    assert!(piped.starts_with("read "), "{piped}");
}
