//! Across the whole public corpus: kept events per (file, channel, event id) equal what the evtx
//! crate's own `evtx_dump` 0.15.1 reads (MANIFEST.tsv), every record is read, nothing panics.

mod common;

use dcomhunt::discover::discover;
use dcomhunt::pipeline::load_inputs;
use std::collections::BTreeMap;

const KEPT: &[(&str, u32)] = &[
    ("Microsoft-Windows-Sysmon/Operational", 1),
    ("Microsoft-Windows-Sysmon/Operational", 3),
    ("Microsoft-Windows-Sysmon/Operational", 4),
    ("Microsoft-Windows-Sysmon/Operational", 5),
    ("Security", 4608),
    ("Security", 4688),
    ("Security", 4689),
    ("Security", 5156),
    ("System", 6005),
    ("System", 12),
];

#[test]
fn kept_counts_match_manifest() {
    let Some(corpus) = common::corpus("kept_counts_match_manifest") else {
        return;
    };
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let mut expected: BTreeMap<String, (u64, BTreeMap<String, u64>)> = BTreeMap::new();
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| h.starts_with(name)).unwrap();
    let (c_path, c_records, c_counts) = (col("path"), col("records"), col("channel:eventid"));
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let mut counts = BTreeMap::new();
        for item in f[c_counts].split(';').filter(|s| !s.is_empty()) {
            let (key, n) = item.rsplit_once('=').unwrap();
            let (ch, id) = key.rsplit_once(':').unwrap();
            let id: u32 = id.parse().unwrap();
            if KEPT.iter().any(|(c, i)| *c == ch && *i == id) {
                counts.insert(key.to_string(), n.parse::<u64>().unwrap());
            }
        }
        expected.insert(
            f[c_path].to_string(),
            (f[c_records].parse().unwrap(), counts),
        );
    }
    assert!(expected.len() > 300, "manifest too short");
    let d = discover(std::slice::from_ref(&corpus)).unwrap();
    let loaded = load_inputs(d.inputs, d.skipped);
    let prefix = format!("{}/", corpus.display());
    let mut checked = 0;
    let mut failures = Vec::new();
    for r in &loaded.inputs {
        let rel = r
            .input
            .display
            .strip_prefix(&prefix)
            .unwrap_or(&r.input.display);
        let Some((records, counts)) = expected.get(rel) else {
            continue;
        };
        checked += 1;
        // System 12 is kept only from Kernel-General; the manifest counts every provider.
        let mut ours = r.kept.clone();
        let mut theirs = counts.clone();
        ours.remove("System:12");
        theirs.remove("System:12");
        if ours != theirs {
            failures.push(format!("{rel}: kept {ours:?}, evtx_dump {theirs:?}"));
        }
        if r.stats.records_read != *records {
            failures.push(format!(
                "{rel}: read {} records, evtx_dump {records}",
                r.stats.records_read
            ));
        }
    }
    assert_eq!(checked, expected.len(), "every manifest file was read");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
