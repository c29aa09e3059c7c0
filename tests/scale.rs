//! Scale mode: every planted attack in a synthetic corpus is found, and nothing else.

use dcomhunt::cli::scan::{Window, scan_paths};
use dcomhunt::detect::builtin_rules;
use dcomhunt::writer::scale::{ScaleOptions, generate};
use std::collections::BTreeMap;

const MMC_NET: &str = "138af9b6-9b5f-435d-88ad-8219db3b774a";
const MMC_ANY: &str = "8e3a2f1c-5b7d-4c2e-9a61-0d4f7b9c3e21";
const MMC: &str = "51ce96fb-9e52-4dad-b0ba-99b54440fc9a";

fn check(opts: ScaleOptions) {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&opts, dir.path()).unwrap();
    assert_eq!(summary.attacks.len(), opts.attacks);
    // The host folders: `planted.json` beside them is JSON of no event shape, which a run
    // reports as an input it could not read.
    let mut hosts: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    hosts.sort();
    let r = scan_paths(&hosts, builtin_rules().unwrap(), &Window::default()).unwrap();
    assert!(!r.loaded.incomplete());
    // Each planted attack: exactly one finding of its rule on its host whose evidence records
    // are among the planted chain's records.
    let mut used = vec![false; r.findings.len()];
    for a in &summary.attacks {
        let planted: Vec<(String, u64)> = a
            .records
            .iter()
            .map(|x| (x.file.clone(), x.record_id))
            .collect();
        let hit = r.findings.iter().enumerate().position(|(k, f)| {
            !used[k]
                && f.host.as_ref() == a.host
                && f.rule_id == a.rule_id
                && f.events.iter().all(|&i| {
                    let e = r.loaded.events.get(i).unwrap();
                    let rel = e
                        .prov
                        .file
                        .strip_prefix(&format!("{}/", dir.path().display()))
                        .unwrap_or(&e.prov.file)
                        .to_string();
                    planted.contains(&(rel, e.record_id))
                })
        });
        match hit {
            Some(k) => used[k] = true,
            None => panic!(
                "planted attack not found: {a:?}\nfindings: {:?}",
                r.findings
                    .iter()
                    .map(|f| (&f.rule_id, &f.host, f.first_time))
                    .collect::<Vec<_>>()
            ),
        }
    }
    // Anything else may only be the variant MMC rule firing beside Elastic's on the same chain,
    // or the network-only MMC rule on the connection of a planted MMC chain.
    let extra: Vec<_> = r
        .findings
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(f, _)| f)
        .collect();
    for f in &extra {
        let twin = r
            .findings
            .iter()
            .any(|g| g.rule_id == MMC && g.host == f.host && g.events == f.events);
        let on_mmc_chain = r.findings.iter().any(|g| {
            g.rule_id == MMC && g.host == f.host && f.events.iter().any(|i| g.events.contains(i))
        });
        assert!(
            (f.rule_id == MMC_ANY && twin) || (f.rule_id == MMC_NET && on_mmc_chain),
            "finding not planted: {} on {} at {}",
            f.rule_name,
            f.host,
            f.first_time
        );
    }
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &summary.attacks {
        *per_rule.entry(&a.rule_id).or_default() += 1;
    }
    assert!(
        per_rule.len() >= 3,
        "the attacks cover the three chains: {per_rule:?}"
    );
}

#[test]
fn every_planted_attack_is_found_and_nothing_else() {
    check(ScaleOptions {
        hosts: 4,
        events: 3_000,
        attacks: 12,
        seed: 7,
    });
}

#[test]
#[ignore = "larger: cargo test --release --test scale -- --ignored"]
fn every_planted_attack_is_found_at_scale() {
    check(ScaleOptions {
        hosts: 20,
        events: 50_000,
        attacks: 60,
        seed: 11,
    });
}

/// A finding's terminal view shows every matched event and the context records nearest to
/// them, at most `CONTEXT_ROWS`; it says how many it left out (evidence.csv has them all).
#[test]
fn terminal_view_shows_the_nearest_context_and_counts_the_rest() {
    use dcomhunt::cli::scan::{CONTEXT_ROWS, context_events, findings_text, nearest_context};
    let dir = tempfile::tempdir().unwrap();
    generate(
        &ScaleOptions {
            hosts: 4,
            events: 3_000,
            attacks: 12,
            seed: 7,
        },
        dir.path(),
    )
    .unwrap();
    let r = scan_paths(
        &[dir.path().to_path_buf()],
        builtin_rules().unwrap(),
        &Window::default(),
    )
    .unwrap();
    let text = findings_text(&r, &Window::default(), None);
    let distance = |i: usize, f: &dcomhunt::detect::Finding| {
        let t = r.loaded.events.get(i).unwrap().time;
        f.events
            .iter()
            .map(|&m| {
                t.ticks_since(r.loaded.events.get(m).unwrap().time)
                    .unsigned_abs()
            })
            .min()
            .unwrap()
    };
    let mut capped = 0;
    for f in &r.findings {
        let all = context_events(f, &r);
        let (shown, left_out) = nearest_context(f, &r, CONTEXT_ROWS);
        assert!(shown.windows(2).all(|w| w[0] < w[1]), "in the total order");
        assert!(shown.iter().all(|i| all.contains(i)));
        assert!(f.events.iter().all(|i| shown.contains(i)), "every match");
        assert_eq!(shown.len() + left_out, all.len());
        let context_shown = shown.iter().filter(|i| !f.events.contains(i)).count();
        assert_eq!(
            context_shown,
            (all.len() - f.events.len()).min(CONTEXT_ROWS)
        );
        if left_out > 0 {
            capped += 1;
            // Nothing left out is nearer to a matched event than what is shown.
            let farthest_shown = shown
                .iter()
                .filter(|i| !f.events.contains(i))
                .map(|&i| distance(i, f))
                .max()
                .unwrap();
            let nearest_left = all
                .iter()
                .filter(|i| !shown.contains(i))
                .map(|&i| distance(i, f))
                .min()
                .unwrap();
            assert!(farthest_shown <= nearest_left);
            assert!(
                text.contains(&format!("… {left_out} more record(s)")),
                "the view says what it left out"
            );
        }
    }
    assert!(
        capped > 0,
        "some finding here has more than {CONTEXT_ROWS} context records"
    );
}
