//! `report.html`: opened in a real headless browser (Debian's `chromium`; the test says SKIPPED
//! when none is installed), the rendered DOM holds the example's finding, its remote address,
//! processes and children, the page requests nothing from the network, and hostile command lines
//! are text that did not run. Without a browser: byte-identical across runs, thread counts and
//! argument order, and quick for a thousand findings.

mod common;

use assert_cmd::Command;
use dcomhunt::writer::scenario::{build, parse};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn bin() -> Command {
    Command::cargo_bin("dcomhunt").unwrap()
}

/// `$DCOMHUNT_CHROMIUM`, else `chromium` / `chromium-browser` / `google-chrome` on PATH.
fn chromium(test: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DCOMHUNT_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    eprintln!("SKIPPED {test}: no chromium on PATH (apt-get install chromium)");
    None
}

/// What the browser made of a page: the DOM after loading, and the URLs the page asked for
/// (requests the browser makes for itself — component updates and the like, which carry no
/// initiator — are not the page's).
struct Rendered {
    dom: String,
    requests: Vec<String>,
}

fn browse(chrome: &Path, page: &Path) -> Rendered {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("netlog.json");
    let out = std::process::Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--net-log-capture-mode=Everything",
        ])
        .arg(format!(
            "--user-data-dir={}",
            t.path().join("profile").display()
        ))
        .arg(format!("--log-net-log={}", log.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    assert!(dom.contains("</html>"), "no DOM dumped: {dom}");
    let net: serde_json::Value = serde_json::from_slice(&std::fs::read(&log).unwrap()).unwrap();
    let start_job = net["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    assert!(start_job.is_u64(), "net log without URL_REQUEST_START_JOB");
    let requests = net["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start_job && e["params"]["url"].is_string())
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .map(|e| e["params"]["url"].as_str().unwrap().to_owned())
        .collect();
    Rendered { dom, requests }
}

/// How the DOM serializer writes `s` as an element's text.
fn dom_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

/// `<li>` nesting depth at byte `at` of the DOM.
fn depth(dom: &str, at: usize) -> i64 {
    let head = &dom[..at];
    head.matches("<li>").count() as i64 - head.matches("</li>").count() as i64
}

fn find(dom: &str, what: &str) -> usize {
    dom.find(what)
        .unwrap_or_else(|| panic!("{what:?} is not in the page"))
}

fn scan(paths: &[&Path], out: &Path, threads: &str) {
    bin()
        .args(["--threads", threads, "-q", "scan"])
        .args(paths)
        .arg("-o")
        .arg(out)
        .assert()
        .code(3);
}

#[test]
fn the_harness_sees_scripts_and_requests() {
    // The checks below could not fail if the browser ran no script or the net log missed the
    // page's requests: a page that does both must be caught.
    let Some(chrome) = chromium("the_harness_sees_scripts_and_requests") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let page = t.path().join("control.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><title>before</title></head><body>\
         <script>document.title='RAN';document.body.append(Object.assign(\
         document.createElement('p'),{id:'added'}))</script>\
         <img src=\"http://203.0.113.9/x.png\"></body></html>",
    )
    .unwrap();
    let r = browse(&chrome, &page);
    assert!(r.dom.contains("<title>RAN</title>"), "{}", r.dom);
    assert!(r.dom.contains("<p id=\"added\">"), "{}", r.dom);
    assert!(
        r.requests.iter().any(|u| u.contains("203.0.113.9")),
        "{:?}",
        r.requests
    );
}

#[test]
fn example_report_in_a_browser() {
    let Some(chrome) = chromium("example_report_in_a_browser") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    // Relative, as the README runs it: finding ids derive from the files' names.
    let example = Path::new("testdata/example");
    scan(&[example], &out, "2");
    let r = browse(&chrome, &out.join("report.html"));
    let dom = &r.dom;
    assert!(r.requests.is_empty(), "the page asked for {:?}", r.requests);
    assert!(!dom.contains("<script"), "a script element");
    assert!(dom.contains("<title>dcomhunt report: 2 finding(s)</title>"));
    for s in [
        "Incoming DCOM Lateral Movement with MMC (any client port)",
        "8e05ec1f0f2a3998",
        "Incoming DCOM Network Connection to MMC",
        "9001da26bb31f1f0",
        "T1021.003, T1218.014",
        "FS01.corp.example",
    ] {
        find(dom, s);
    }
    // The chain: mmc.exe (the key process) under svchost -k DcomLaunch, the remote end's box
    // in mmc.exe's row, the cmd.exe children one level below it and whoami.exe two.
    let svchost = find(dom, "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p");
    let key = find(dom, "class=\"proc key\"");
    let remote = find(dom, "<span class=\"remote mono\">10.0.2.19:33474</span>");
    let whoami = find(dom, "<span class=\"name\">whoami.exe</span>");
    let cmd = find(
        dom,
        &dom_text(
            "\"C:\\Windows\\System32\\cmd.exe\" /Q /c whoami /all 1> \\\\127.0.0.1\\ADMIN$\\__1773151200.61 2>&1",
        ),
    );
    assert!(svchost < key && key < remote && remote < cmd && cmd < whoami);
    let d = depth(dom, key);
    assert_eq!(depth(dom, svchost), d - 1);
    assert_eq!(
        depth(dom, remote),
        d,
        "the connection is drawn into mmc.exe"
    );
    assert!(!dom[key..remote].contains("<li>"));
    assert_eq!(depth(dom, cmd), d + 1);
    assert_eq!(depth(dom, whoami), d + 2);
    find(
        &dom[remote..],
        "inbound tcp to :49163 · <span title=\"2026-03-10T14:00:01.3125000Z\">+0.000 s</span> · 2 records · matched",
    );
    find(dom, "whoami  /all");
    // The wider tree, folded: mmc.exe's siblings under svchost -k DcomLaunch.
    let wider = &dom[find(dom, "<details class=\"wider\">")..];
    let wider = &wider[..find(wider, "</details>")];
    for name in ["WmiPrvSE.exe", "dllhost.exe", "mmc.exe", "whoami.exe"] {
        find(wider, &format!("<span class=\"name\">{name}</span>"));
    }
    find(dom, "started −1.312 s");
    // Evidence rows: file, chunk, EventRecordID.
    let rows = &dom[find(dom, "<table class=\"evidence\">")..];
    find(
        rows,
        "testdata/example/FS01.corp.example/Security.evtx</td><td class=\"num\">0</td><td class=\"num\">48256</td>",
    );
    // The run: every input with its SHA-256, every rule with its hash.
    for f in [
        "Security.evtx",
        "System.evtx",
        "Microsoft-Windows-Sysmon%4Operational.evtx",
    ] {
        let p = example.join("FS01.corp.example").join(f);
        find(dom, &dcomhunt::discover::hash_file(&p).unwrap().1);
    }
    for rule in dcomhunt::detect::builtin_rules().unwrap() {
        find(dom, &rule.sha256);
    }
    // The file is one of the set: hashed in the manifest.
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let entry = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["file"] == "report.html")
        .expect("report.html in the manifest");
    assert_eq!(
        entry["sha256"],
        dcomhunt::discover::hash_file(&out.join("report.html"))
            .unwrap()
            .1
    );
}

/// Command lines that break markup or run script if written raw; and the project's other
/// hostile values (terminal escapes, NUL, bidi overrides).
fn hostile_html() -> Vec<String> {
    vec![
        "cmd.exe /c echo <script>document.title='PWNED'</script>".to_owned(),
        "cmd.exe /c \"<img src=http://203.0.113.9/x.png onerror=\"document.title='PWNED'\">\""
            .to_owned(),
        "cmd.exe /c </span></div></li></ul></section><h1 id=\"pwned\">broken</h1>".to_owned(),
        "cmd.exe /c \"><svg onload=document.title='PWNED'><!-- '\" &amp; &lt;b&gt;".to_owned(),
        "cmd.exe /c <link rel=stylesheet href=\"https://203.0.113.9/x.css\"><style>*{display:none}</style>"
            .to_owned(),
        "cmd.exe /c \u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m C:\\Users\\x\\\u{202e}fdp.exe"
            .to_owned(),
    ]
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out.push('"');
    out
}

const HOSTILE_HOST: &str = "WS01<b id=\"pwned-host\">x</b>";

/// The MMC scenario on a host with a hostile name, the hostile command lines as mmc.exe's
/// children.
fn hostile_fixture(dir: &Path) {
    let mut text =
        std::fs::read_to_string(common::testdata().join("scenarios/mmc_sysmon_recent.toml"))
            .unwrap()
            .replace("\"WS01.corp.example\"", &toml_str(HOSTILE_HOST));
    for (k, cmd) in hostile_html().iter().enumerate() {
        text.push_str(&format!(
            "\n[[host.event]]\nt = \"+{t}s\"\nlog = \"sysmon\"\nid = 1\n\
             ProcessGuid = \"{{365abb72-2008-54d5-0000-0010{k:08x}}}\"\nProcessId = {pid}\n\
             Image = \"C:\\\\Windows\\\\System32\\\\cmd.exe\"\nCommandLine = {cmd}\n\
             ParentProcessGuid = \"{{365abb72-2008-54d5-0000-0010000854d5}}\"\n\
             ParentProcessId = 3344\nParentImage = \"C:\\\\Windows\\\\System32\\\\mmc.exe\"\n",
            t = 30 + k,
            pid = 7000 + k,
            cmd = toml_str(cmd),
        ));
    }
    let sc = parse("hostile.toml", &text).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    for (j, log) in build("hostile.toml", &sc).unwrap().into_iter().enumerate() {
        std::fs::write(dir.join(format!("log{j}.evtx")), log.to_bytes().unwrap()).unwrap();
    }
}

#[test]
fn hostile_values_are_text_that_does_not_run() {
    let Some(chrome) = chromium("hostile_values_are_text_that_does_not_run") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let ev = t.path().join("hostile");
    hostile_fixture(&ev);
    let out = t.path().join("out");
    scan(&[&ev], &out, "2");
    let raw = std::fs::read_to_string(out.join("report.html")).unwrap();
    let r = browse(&chrome, &out.join("report.html"));
    let dom = &r.dom;
    assert!(r.requests.is_empty(), "the page asked for {:?}", r.requests);
    // Nothing ran and no element was injected.
    assert!(dom.contains("<title>dcomhunt report: "), "title changed");
    assert!(!dom.contains("PWNED</title>"));
    for tag in [
        "<script",
        "<img",
        "<svg onload",
        "<link",
        "<iframe",
        "<h1 id=",
        "<b ",
    ] {
        assert!(!dom.contains(tag), "{tag} in the DOM");
        assert!(!raw.contains(tag), "{tag} in the file");
    }
    // Every value is there as text, exactly; control and bidi characters as visible marks.
    for cmd in hostile_html() {
        let shown = dom_text(&cmd)
            .replace('\u{1b}', "<span class=\"ctl\">⟨U+001B⟩</span>")
            .replace('\u{7}', "<span class=\"ctl\">⟨U+0007⟩</span>")
            .replace('\u{9b}', "<span class=\"ctl\">⟨U+009B⟩</span>")
            .replace('\u{202e}', "<span class=\"ctl\">⟨U+202E⟩</span>");
        find(dom, &shown);
    }
    find(dom, &dom_text(HOSTILE_HOST));
    // The page is whole: every finding's section and the run section after them.
    let sections = dom.matches("<section class=\"finding\"").count();
    assert!(sections >= 1);
    assert!(dom.find("id=\"run\"").unwrap() > dom.rfind("<section class=\"finding\"").unwrap());
    assert!(dom.contains("<footer>"));
}

#[test]
fn report_html_is_byte_identical_whatever_threads_and_order() {
    let t = tempfile::tempdir().unwrap();
    let ev = t.path().join("hostile");
    hostile_fixture(&ev);
    let example = common::testdata().join("example");
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    scan(&[&example, &ev], &a, "1");
    scan(&[&ev, &example], &b, "2");
    let (x, y) = (
        std::fs::read(a.join("report.html")).unwrap(),
        std::fs::read(b.join("report.html")).unwrap(),
    );
    assert!(x == y, "report.html differs between runs");
    let page = String::from_utf8(x).unwrap();
    // Self-contained: a policy that forbids every request, no script, no external reference.
    assert!(page.contains("content=\"default-src 'none';"));
    for s in [
        "<script", "<img", "<link", "<iframe", "<object", "<embed", "url(", "@import",
    ] {
        assert!(!page.contains(s), "{s} in the page");
    }
}

#[test]
fn incomplete_evidence_is_shown() {
    let t = tempfile::tempdir().unwrap();
    let ev = t.path().join("FS01");
    std::fs::create_dir(&ev).unwrap();
    let src = common::testdata().join("example/FS01.corp.example");
    for f in std::fs::read_dir(&src).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), ev.join(f.file_name())).unwrap();
    }
    // The Security log cut inside its first chunk: read up to there, reported as truncated.
    let sec = ev.join("Security.evtx");
    let bytes = std::fs::read(&sec).unwrap();
    std::fs::write(&sec, &bytes[..4096 + 30_000]).unwrap();
    let out = t.path().join("out");
    bin()
        .args(["-q", "scan"])
        .arg(&ev)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(5);
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    find(
        &page,
        "<b>Incomplete evidence:</b> 1 input file(s) could not be read completely",
    );
    let row = &page[find(&page, "FS01/Security.evtx</td>")..];
    let row = &row[..find(row, "</tr>")];
    assert!(
        row.contains("TRUNCATED") || row.contains("DAMAGED"),
        "{row}"
    );
    // The finding still stands on the Sysmon log.
    find(&page, "<span class=\"remote mono\">10.0.2.19:33474</span>");
}

#[test]
fn a_thousand_findings_render_quickly() {
    use dcomhunt::cli::scan::{Window, report_input, scan_paths};
    let t = tempfile::tempdir().unwrap();
    let opts = dcomhunt::writer::scale::ScaleOptions {
        hosts: 4,
        events: 500,
        attacks: 750,
        seed: 3,
    };
    dcomhunt::writer::scale::generate(&opts, t.path()).unwrap();
    let r = scan_paths(
        &[t.path().to_path_buf()],
        dcomhunt::detect::builtin_rules().unwrap(),
        &Window::default(),
    )
    .unwrap();
    assert!(r.findings.len() >= 1000, "{} findings", r.findings.len());
    let run = dcomhunt::report::RunInfo {
        command_line: Vec::new(),
        started: dcomhunt::time::Ts(0),
        threads: 1,
    };
    let input = report_input(&r, &Window::default(), run);
    let opts = dcomhunt::report::ReportOptions {
        report_format: dcomhunt::report::ReportFormat::Csv,
        excel: false,
        timesketch: false,
        host: None,
        from: None,
        to: None,
        rules_dir: None,
        rule_ids: Vec::new(),
        host_matches: None,
    };
    let start = Instant::now();
    let page = dcomhunt::report::html::render(&input, &opts);
    let took = start.elapsed();
    assert_eq!(
        page.matches("<section class=\"finding\"").count(),
        r.findings.len()
    );
    let per = page.len() / r.findings.len();
    eprintln!(
        "{} findings: {} bytes ({per} per finding) in {:.3} s",
        r.findings.len(),
        page.len(),
        took.as_secs_f64()
    );
    // Generous for an unoptimized build on a shared machine; a release build takes a fraction.
    assert!(took.as_secs_f64() < 10.0, "rendering took {took:?}");
    assert!(per < 64 * 1024, "{per} bytes per finding");
}
