//! The read summary on stderr: what was read and kept, what was skipped (counted by kind, not
//! listed one by one), where the logs came from, and — always, even with `-q` — damage and
//! incomplete evidence.

use crate::display::term;
use crate::pipeline::Loaded;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Kinds of skipped files shown by name in the one-line summary; the rest are counted.
const KINDS_SHOWN: usize = 8;
/// Skipped files of one kind (other than "not an event log") listed by name without
/// `--list-skipped`.
const LISTED: usize = 5;

/// What the summary prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct SummaryOpts {
    /// `-q`: only damage, incomplete evidence and unreadable files.
    pub quiet: bool,
    /// `--list-skipped`: every skipped file by name.
    pub list_skipped: bool,
}

/// The kind of a skip reason: its text before any `(` or `:` detail.
fn reason_kind(reason: &str) -> &str {
    reason.split(['(', ':']).next().unwrap_or(reason).trim()
}

/// A file's extension as the summary counts it (`.pf`, `(no extension)`).
fn extension(path: &str) -> String {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && ext.len() <= 12 => {
            format!(".{}", ext.to_lowercase())
        }
        _ => "(no extension)".to_string(),
    }
}

/// The standard event-log folder a path lies in (`…/C/Windows/System32/winevt/Logs`, or any
/// `winevt/Logs` export), as written in the path; `None` elsewhere.
pub fn log_folder(path: &str) -> Option<&str> {
    let lower = path.to_ascii_lowercase().replace('\\', "/");
    let at = if lower.starts_with("winevt/logs/") {
        0
    } else {
        lower.find("/winevt/logs/")? + 1
    };
    path.get(..at + "winevt/logs".len())
}

/// Where in a standard layout the folder is.
fn folder_kind(folder: &str) -> &'static str {
    let lower = folder.to_ascii_lowercase().replace('\\', "/");
    if lower.ends_with("windows/system32/winevt/logs") {
        "a copy of a system's log folder"
    } else {
        "a winevt/Logs export"
    }
}

/// The summary text (every line ends with a newline; empty when there is nothing to say).
pub fn summary(l: &Loaded, o: SummaryOpts) -> String {
    let mut s = String::new();
    if !o.quiet {
        overview(l, &mut s);
        layouts(l, &mut s);
    }
    skipped(l, o, &mut s);
    damage(l, o, &mut s);
    s
}

fn overview(l: &Loaded, s: &mut String) {
    let records: u64 = l.inputs.iter().map(|i| i.stats.records_read).sum();
    let mut kept: BTreeMap<&str, u64> = BTreeMap::new();
    for i in &l.inputs {
        for (k, v) in &i.kept {
            *kept.entry(k.as_str()).or_default() += v;
        }
    }
    let bytes: u64 = l.inputs.iter().map(|i| i.input.size).sum();
    let _ = writeln!(
        s,
        "read {} file(s), {} bytes, {} records; kept {} events{}",
        l.inputs.len(),
        bytes,
        records,
        l.events.len(),
        match l.integrity.duplicates_removed {
            0 => String::new(),
            n => format!(" ({n} duplicate copies left out; counts below include them)"),
        }
    );
    for (k, v) in &kept {
        let _ = writeln!(s, "  {v:>8}  {}", term(k));
    }
    if l.spilled > 0 {
        let _ = writeln!(
            s,
            "kept events beyond --spill-mib: {:.1} MiB in a temporary file",
            l.spilled as f64 / (1 << 20) as f64
        );
    }
    if let Some(f) = &l.spill_failure {
        let _ = writeln!(s, "warning: {} (those events were kept in memory)", term(f));
    }
}

/// The standard log folders the inputs came from.
fn layouts(l: &Loaded, s: &mut String) {
    let mut folders: BTreeMap<&str, usize> = BTreeMap::new();
    let mut elsewhere = 0;
    for i in &l.inputs {
        match log_folder(&i.input.display) {
            Some(f) => *folders.entry(f).or_default() += 1,
            None => elsewhere += 1,
        }
    }
    if folders.is_empty() {
        return;
    }
    for (f, n) in &folders {
        let _ = writeln!(
            s,
            "event logs: {n} file(s) in {} ({})",
            term(f),
            folder_kind(f)
        );
    }
    if elsewhere > 0 {
        let _ = writeln!(s, "event logs: {elsewhere} file(s) elsewhere");
    }
}

/// A skipped file that may be evidence: a `.evtx` name, or a file in a log folder.
fn suspicious(path: &str) -> bool {
    extension(path) == ".evtx" || log_folder(path).is_some()
}

fn skipped(l: &Loaded, o: SummaryOpts, s: &mut String) {
    let line = |s: &mut String, sk: &crate::discover::Skipped| {
        let _ = writeln!(s, "skipped {}: {}", term(&sk.path), term(&sk.reason));
    };
    // Unreadable files and files that look like logs are always named: evidence may be missing.
    let mut by_kind: BTreeMap<&str, Vec<&crate::discover::Skipped>> = BTreeMap::new();
    for sk in l.unread() {
        let _ = writeln!(s, "NOT READ {}: {}", term(&sk.path), term(&sk.reason));
    }
    if l.resource_forks > 0 && !o.quiet {
        let _ = writeln!(
            s,
            "not read: {} macOS resource fork file(s) (._* AppleDouble, as under __MACOSX/)",
            l.resource_forks
        );
    }
    for sk in l.skipped.iter().filter(|k| !k.unread) {
        let kind = reason_kind(&sk.reason);
        if kind == "cannot read" || suspicious(&sk.path) {
            line(s, sk);
        } else {
            by_kind.entry(kind).or_default().push(sk);
        }
    }
    if o.list_skipped {
        for sk in by_kind.values().flatten() {
            line(s, sk);
        }
        return;
    }
    if o.quiet {
        return;
    }
    for (kind, files) in by_kind {
        if kind == "not an event log" {
            let mut exts: BTreeMap<String, usize> = BTreeMap::new();
            for sk in &files {
                *exts.entry(extension(&sk.path)).or_default() += 1;
            }
            let mut exts: Vec<(String, usize)> = exts.into_iter().collect();
            exts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut parts: Vec<String> = exts
                .iter()
                .take(KINDS_SHOWN)
                .map(|(e, n)| format!("{n} {}", term(e)))
                .collect();
            if exts.len() > KINDS_SHOWN {
                let rest: usize = exts[KINDS_SHOWN..].iter().map(|x| x.1).sum();
                parts.push(format!(
                    "{rest} of {} other kinds",
                    exts.len() - KINDS_SHOWN
                ));
            }
            let _ = writeln!(
                s,
                "skipped {} file(s) that are not event logs: {} (--list-skipped lists them)",
                files.len(),
                parts.join(", ")
            );
        } else if files.len() <= LISTED {
            for sk in files {
                line(s, sk);
            }
        } else {
            let _ = writeln!(
                s,
                "skipped {} file(s): {} (--list-skipped lists them)",
                files.len(),
                term(&files[0].reason)
            );
        }
    }
}

fn damage(l: &Loaded, o: SummaryOpts, s: &mut String) {
    for i in &l.inputs {
        let st = &i.stats;
        let shown = st.incomplete() || (!o.quiet && (st.dirty || !st.notes.is_empty()));
        if !shown {
            continue;
        }
        let mut flags = Vec::new();
        if st.truncated {
            flags.push("TRUNCATED");
        }
        if st.dirty {
            flags.push("dirty (not closed cleanly)");
        }
        if !st.damage.is_empty() {
            flags.push("DAMAGED");
        }
        if st.header_unverified || !st.unverified_chunks.is_empty() {
            flags.push("UNVERIFIED (CRC32 mismatch)");
        }
        let _ = writeln!(
            s,
            "{}: {} ({} records read)",
            term(&i.input.display),
            if flags.is_empty() {
                "note".to_string()
            } else {
                flags.join(", ")
            },
            st.records_read
        );
        for n in &st.notes {
            let _ = writeln!(s, "    {}", term(n));
        }
        for d in &st.damage {
            let mut at = Vec::new();
            if let Some(c) = d.chunk {
                at.push(format!("chunk {c}"));
            }
            if let Some(o) = d.offset {
                at.push(format!("offset {o:#x}"));
            }
            if let Some(l) = d.line {
                at.push(format!("line {l}"));
            }
            let _ = writeln!(s, "    {}: {}", at.join(", "), term(&d.reason));
        }
    }
    let integ = &l.integrity;
    if integ.duplicates_removed > 0 {
        let _ = writeln!(
            s,
            "duplicates: {} record copies found more than once, analysed once (flagged duplicate; \
             manifest: integrity.duplicates)",
            integ.duplicates_removed
        );
        for d in integ.duplicates.iter().take(10) {
            let chunk = |c: Option<u64>| c.map_or(String::new(), |c| format!(" chunk {c}"));
            let _ = writeln!(
                s,
                "    {} record(s) {}..={} of {}{} repeated in {}{}",
                d.records,
                d.first_record_id,
                d.last_record_id,
                term(&d.kept_file),
                chunk(d.kept_chunk),
                term(&d.file),
                chunk(d.chunk)
            );
        }
        if integ.duplicates.len() > 10 {
            let _ = writeln!(s, "    and {} more", integ.duplicates.len() - 10);
        }
    }
    if !integ.conflicts.is_empty() {
        let _ = writeln!(
            s,
            "CONFLICTS: {} record id(s) found with different contents: every copy kept, flagged \
             conflict (manifest: integrity.conflicts)",
            integ.conflicts.len()
        );
    }
    if l.incomplete() {
        let n = l.inputs.iter().filter(|i| i.stats.incomplete()).count();
        let unread = l.unread().count();
        let _ = writeln!(
            s,
            "INPUT INCOMPLETE: {n} file(s) could not be read completely or failed an integrity check, {unread} path(s) not read at all (see above)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_extensions_and_folders() {
        assert_eq!(
            reason_kind("not an event log (no EVTX signature)"),
            "not an event log"
        );
        assert_eq!(reason_kind("cannot read: denied"), "cannot read");
        assert_eq!(extension("a/b/Prefetch/CMD.EXE-1234.pf"), ".pf");
        assert_eq!(extension("a/.hidden"), "(no extension)");
        assert_eq!(extension("a/b.c/README"), "(no extension)");
        assert_eq!(
            log_folder("kape/C/Windows/System32/winevt/Logs/Security.evtx"),
            Some("kape/C/Windows/System32/winevt/Logs")
        );
        assert_eq!(
            log_folder("winevt\\Logs\\System.evtx"),
            Some("winevt\\Logs")
        );
        assert_eq!(log_folder("cases/logs/System.evtx"), None);
        assert_eq!(
            folder_kind("kape/C/Windows/System32/winevt/Logs"),
            "a copy of a system's log folder"
        );
        assert_eq!(folder_kind("export/winevt/Logs"), "a winevt/Logs export");
        assert!(suspicious("x/Security.evtx") && !suspicious("x/a.lnk"));
    }
}
