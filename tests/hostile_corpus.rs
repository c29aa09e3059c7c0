//! Every file of `../shared/corpus` (including `derived/` truncations and the evtx crate's broken
//! samples) through the real binary in one `scan` run: no panic, every readable record comes out
//! (`records_read` equals `evtx_dump` 0.15.1's count from MANIFEST.tsv), damage is reported per
//! file with chunk, offset and reason in the manifest and the stderr summary, and the exit code
//! says the input was incomplete.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// `derived/` files are not in MANIFEST.tsv; EXPECTED.md gives evtx_dump's counts.
const DERIVED: &[(&str, u64)] = &[
    ("derived/issue_43.truncated-1500000.evtx", 1718),
    (
        "derived/LM_impacket_docmexec_mmc_sysmon_01.truncated-40000.evtx",
        0,
    ),
    (
        "derived/LM_impacket_docmexec_mmc_sysmon_01.header-only-4096.evtx",
        0,
    ),
];

/// Files known to be damaged (EXPECTED.md, the evtx crate's samples): each must be reported
/// incomplete.
const DAMAGED: &[&str] = &[
    "omerbenamram-evtx/samples/sysmon.evtx",
    "omerbenamram-evtx/samples/sample_with_a_bad_chunk_magic.evtx",
];

fn manifest_counts(corpus: &Path) -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (path, records) = (col("path"), col("records(evtx_dump 0.15.1)"));
    let mut out = BTreeMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        if let Ok(n) = f[records].parse() {
            out.insert(f[path].to_owned(), n);
        }
    }
    out
}

#[test]
fn whole_corpus_scans_without_panic_and_reports_damage() {
    let Some(corpus) = common::corpus("whole_corpus_scans_without_panic_and_reports_damage") else {
        return;
    };
    let corpus = corpus.canonicalize().unwrap();
    let out = tempfile::tempdir().unwrap();
    let outdir = out.path().join("reports");
    let run = Command::cargo_bin("dcomhunt")
        .unwrap()
        .arg("scan")
        .arg(&corpus)
        .arg("-o")
        .arg(&outdir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let code = run.status.code().unwrap();
    assert_ne!(code, 101, "panicked:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The real attacks are found and damaged files are in the corpus: findings + incomplete.
    assert_eq!(code, 5, "{stderr}");

    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(outdir.join("manifest.json")).unwrap())
            .unwrap();
    let inputs = manifest["inputs"].as_array().unwrap();
    let by_path: BTreeMap<String, &Value> = inputs
        .iter()
        .map(|i| {
            let p = i["path"].as_str().unwrap();
            let rel = Path::new(p).strip_prefix(&corpus).unwrap();
            (rel.to_string_lossy().into_owned(), i)
        })
        .collect();

    let mut expected = manifest_counts(&corpus);
    for (p, n) in DERIVED {
        expected.insert((*p).to_owned(), *n);
    }
    let mut checked = 0;
    for (path, want) in &expected {
        let Some(input) = by_path.get(path) else {
            panic!("{path}: listed in MANIFEST.tsv but not read (skipped?)");
        };
        if input["format"] != "evtx" {
            continue;
        }
        assert_eq!(input["records_read"], *want, "{path}: records_read");
        checked += 1;
    }
    assert!(checked >= 290, "only {checked} files compared");

    let mut incomplete = 0;
    for (path, input) in &by_path {
        let complete = input["complete"].as_bool().unwrap();
        let damage = input["damage"].as_array().unwrap();
        let truncated = input["truncated"].as_bool().unwrap();
        assert_eq!(
            complete,
            damage.is_empty() && !truncated,
            "{path}: complete vs damage/truncated"
        );
        if complete {
            continue;
        }
        incomplete += 1;
        // Named in the stderr summary, with each damage's chunk and reason.
        let shown = input["path"].as_str().unwrap();
        assert!(stderr.contains(shown), "{path}: not in the summary");
        for d in damage {
            let reason = d["reason"].as_str().unwrap();
            assert!(!reason.is_empty(), "{path}: damage without a reason");
            if input["format"] == "evtx" {
                let chunk = d["chunk"].as_u64();
                assert!(chunk.is_some(), "{path}: damage without a chunk: {d}");
                assert!(
                    stderr.contains(&format!("chunk {}", chunk.unwrap())),
                    "{path}: chunk not in the summary"
                );
            }
            let short: String = reason.chars().take(40).collect();
            assert!(
                stderr.contains(&short),
                "{path}: {reason:?} not in the summary"
            );
        }
        if input["format"] == "evtx" && !damage.is_empty() {
            assert!(
                damage.iter().any(|d| d["offset"].as_u64().is_some()),
                "{path}: no damage entry has an offset"
            );
        }
        if truncated && damage.is_empty() {
            assert!(
                !input["notes"].as_array().unwrap().is_empty(),
                "{path}: truncated without a note saying how"
            );
        }
    }
    for p in DERIVED
        .iter()
        .map(|(p, _)| *p)
        .chain(DAMAGED.iter().copied())
    {
        assert_eq!(
            by_path[p]["complete"], false,
            "{p}: must be reported incomplete"
        );
    }
    assert!(incomplete >= DERIVED.len() + DAMAGED.len());
    assert!(stderr.contains("INPUT INCOMPLETE"), "{stderr}");
    // sysmon.evtx: chunk 9's header is zeroed.
    let sysmon = by_path["omerbenamram-evtx/samples/sysmon.evtx"]["damage"]
        .as_array()
        .unwrap();
    assert!(sysmon.iter().any(|d| d["chunk"] == 9), "{sysmon:?}");
}

/// One file at a time, exit codes: the damaged ones 4 or 5, the clean ones 0 or 3.
#[test]
fn damaged_files_alone_exit_incomplete_and_clean_ones_do_not() {
    let Some(corpus) = common::corpus("damaged_files_alone_exit_incomplete_and_clean_ones_do_not")
    else {
        return;
    };
    let clean = [
        "EVTX-ATTACK-SAMPLES/AutomatedTestingTools/Malware/rundll32_cmd_schtask.evtx",
        "EVTX-ATTACK-SAMPLES/Lateral Movement/LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx",
    ];
    let damaged = DERIVED
        .iter()
        .map(|(p, _)| *p)
        .chain(DAMAGED.iter().copied());
    let cases = clean
        .iter()
        .map(|p| (*p, [0, 3]))
        .chain(damaged.map(|p| (p, [4, 5])));
    for (rel, codes) in cases {
        let path = corpus.join(rel);
        if !path.exists() {
            eprintln!("note: {rel} absent from this corpus; not checked");
            continue;
        }
        let out = tempfile::tempdir().unwrap();
        let run = Command::cargo_bin("dcomhunt")
            .unwrap()
            .args(["scan", "-q"])
            .arg(&path)
            .arg("-o")
            .arg(out.path().join("r"))
            .output()
            .unwrap();
        let code = run.status.code().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(codes.contains(&code), "{rel}: exit {code}\n{stderr}");
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join("r/manifest.json")).unwrap(),
        )
        .unwrap();
        let complete = manifest["inputs"][0]["complete"].as_bool().unwrap();
        assert_eq!(complete, codes == [0, 3], "{rel}");
    }
}
