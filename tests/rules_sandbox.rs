//! The rules directory is data: a rule file cannot make the tool read or write anything else.
//! Symbolic links are refused, other files and subdirectories are not read, TOML has no
//! include syntax we honour, and a rule's name or id never reaches an output path.

mod common;

use assert_cmd::Command;
use std::path::Path;

fn rule_text(rule_id: &str, name: &str) -> String {
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/dcom_mmc_incoming.toml"),
    )
    .unwrap();
    let mut out = String::new();
    for line in base.lines() {
        if line.starts_with("rule_id") {
            out.push_str(&format!("rule_id = {rule_id:?}\n"));
        } else if line.starts_with("name =") {
            out.push_str(&format!("name = {name:?}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(
        out.contains(rule_id) && out.contains(name),
        "template changed"
    );
    out
}

fn list(dir: &Path) -> (i32, String, String) {
    let run = Command::cargo_bin("dcomhunt")
        .unwrap()
        .args(["rules", "list", "--rules"])
        .arg(dir)
        .output()
        .unwrap();
    (
        run.status.code().unwrap(),
        String::from_utf8_lossy(&run.stdout).into_owned(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

#[test]
fn only_plain_toml_files_directly_inside_are_read() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("rules");
    std::fs::create_dir_all(rules.join("sub")).unwrap();
    std::fs::write(
        rules.join("a.toml"),
        rule_text("aaaaaaaa-0000-0000-0000-000000000001", "Plain rule"),
    )
    .unwrap();
    // Not .toml, hidden, or in a subdirectory: never read (a broken one would fail the load).
    std::fs::write(rules.join("b.toml.bak"), "garbage = [").unwrap();
    std::fs::write(rules.join(".hidden.toml"), "garbage = [").unwrap();
    std::fs::write(rules.join("sub/c.toml"), "garbage = [").unwrap();
    std::fs::write(rules.join("README"), "garbage = [").unwrap();
    let (code, out, err) = list(&rules);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("aaaaaaaa-0000-0000-0000-000000000001"),
        "{out}"
    );
    assert_eq!(out.matches("-0000-0000-0000-").count(), 1, "{out}");
}

#[cfg(unix)]
#[test]
fn symlinked_rule_files_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let outside = d.path().join("outside.toml");
    std::fs::write(
        &outside,
        rule_text("bbbbbbbb-0000-0000-0000-000000000002", "Outside"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, rules.join("link.toml")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", rules.join("passwd.toml")).unwrap();
    let (code, out, err) = list(&rules);
    assert_ne!(code, 0, "a symlinked rule was accepted: {out}");
    assert_ne!(code, 101, "{err}");
    assert!(!out.contains("bbbbbbbb"), "{out}");
    assert!(err.contains("symbolic link"), "{err}");
    assert!(!err.contains("root:"), "{err}");
}

#[test]
fn include_like_keys_are_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let secret = d.path().join("secret.toml");
    std::fs::write(
        &secret,
        rule_text("cccccccc-0000-0000-0000-000000000003", "Secret"),
    )
    .unwrap();
    let mut text = format!(
        "include = {:?}\nimport = [{:?}]\n",
        secret.display().to_string(),
        secret.display().to_string()
    );
    text.push_str(&rule_text(
        "dddddddd-0000-0000-0000-000000000004",
        "Includer",
    ));
    std::fs::write(rules.join("inc.toml"), text).unwrap();
    let (code, out, err) = list(&rules);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("dddddddd"), "{out}");
    assert!(!out.contains("cccccccc"), "the include was followed: {out}");
}

#[test]
fn path_like_rule_ids_and_names_do_not_reach_output_paths() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("evil.toml"),
        rule_text("../../x", "../../../escaped/x"),
    )
    .unwrap();
    let out = d.path().join("work/out");
    let run = Command::cargo_bin("dcomhunt")
        .unwrap()
        .arg("scan")
        .arg(common::testdata().join("mmc_sysmon_recent"))
        .arg("--rules")
        .arg(&rules)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let code = run.status.code().unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    // The rule still runs (and finds the attack) or is refused; either way nothing escapes.
    assert!([0, 1, 2, 3].contains(&code), "{code}: {err}");
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for f in &files {
        assert!(!f.contains(".."), "{files:?}");
    }
    // Only the output dir was created beside the rules: nothing under work/ but out, nothing
    // new in the temp dir.
    let mut top: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["rules", "work"], "{err}");
    let work: Vec<_> = std::fs::read_dir(d.path().join("work")).unwrap().collect();
    assert_eq!(work.len(), 1);
    let r: Vec<_> = std::fs::read_dir(&rules).unwrap().collect();
    assert_eq!(r.len(), 1, "something was written into the rules directory");
    assert!(!Path::new("/escaped").exists() && !d.path().join("escaped").exists());
    if code == 3 {
        let findings = std::fs::read_to_string(out.join("findings.csv")).unwrap();
        assert!(findings.contains("../../x"), "{findings}");
    }
}
