//! What a correct run finds in the public corpus (../shared/corpus/EXPECTED.md).

mod common;

use dcomhunt::cli::scan::{Window, scan_paths};
use dcomhunt::detect::builtin_rules;
use dcomhunt::graph::render::{TreeOpts, text};
use dcomhunt::pipeline::load;

const MMC: &str = "51ce96fb-9e52-4dad-b0ba-99b54440fc9a";
const MMC_ANY: &str = "8e3a2f1c-5b7d-4c2e-9a61-0d4f7b9c3e21";
const MSHTA: &str = "622ecb68-fa81-4601-90b5-f8cd661e4520";
const MMC_NET: &str = "138af9b6-9b5f-435d-88ad-8219db3b774a";
const REMOTE: &str = "d1fa008c-e45c-4028-b169-513f5c47ff30";
const RPC: &str = "d58035ff-0bac-4c61-a7f4-f58939ff9764";

#[test]
fn exactly_the_expected_findings_in_the_whole_corpus() {
    let Some(c) = common::corpus("exactly_the_expected_findings_in_the_whole_corpus") else {
        return;
    };
    let r = scan_paths(
        std::slice::from_ref(&c),
        builtin_rules().unwrap(),
        &Window::default(),
    )
    .unwrap();
    let got: Vec<(String, String, Vec<u64>)> = r
        .findings
        .iter()
        .map(|f| {
            let file = r
                .loaded
                .events
                .get(f.events[0])
                .unwrap()
                .prov
                .file
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            (
                f.rule_id.clone(),
                file,
                f.events
                    .iter()
                    .map(|&i| r.loaded.events.get(i).unwrap().record_id)
                    .collect(),
            )
        })
        .collect();
    let covenant = "covenant_dcom_executeexcel4macro_allowed_2020-09-17174542.json";
    assert_eq!(
        got,
        vec![
            (
                MMC_NET.to_string(),
                "LM_impacket_docmexec_mmc_sysmon_01.evtx".to_string(),
                vec![9835]
            ),
            (
                MMC_ANY.to_string(),
                "LM_impacket_docmexec_mmc_sysmon_01.evtx".to_string(),
                vec![9835, 9838]
            ),
            (
                MSHTA.to_string(),
                "LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx".to_string(),
                vec![17589, 17590]
            ),
            (
                REMOTE.to_string(),
                covenant.to_string(),
                // 135 from 172.18.39.5 (5156 ×2, Sysmon 3 ×2), EXCEL.EXE's start (4688,
                // Sysmon 1), EXCEL.EXE accepting 172.18.39.5 (5156, Sysmon 3).
                vec![
                    181913, 181914, 181922, 699486, 699487, 699490, 182149, 700967
                ]
            ),
            (
                RPC.to_string(),
                covenant.to_string(),
                // The same connections and start, then both AppVDllSurrogate64.exe children.
                vec![
                    181913, 181914, 181922, 699486, 699487, 699490, 182425, 701822, 182433, 701895
                ]
            ),
        ]
    );
    // The covenant findings are about EXCEL.EXE pid 1324, decided under the gaps of the
    // evidence: no boot, the RpcSs and DcomLaunch hosts' starts not logged, a 1 s clock.
    for f in &r.findings[3..] {
        let h = r.graph.host(&f.host).unwrap();
        assert_eq!(&*f.host, "WORKSTATION6.theshire.local");
        assert_eq!(h.proc(f.key_node.unwrap()).pid, Some(1324));
        assert_eq!(f.remote.as_deref(), Some("172.18.39.5:61543"));
        let codes = f.gap_codes();
        for want in [
            "clock-1s",
            "start-not-logged:svchost.exe[996]",
            "start-not-logged:svchost.exe[896]",
        ] {
            assert!(codes.contains(want), "{} lacks {want}: {codes}", f.rule_id);
        }
        assert_eq!(codes.contains("no-boot"), f.rule_id == RPC, "{codes}");
    }
    let rpc = &r.findings[4];
    let h = r.graph.host(&rpc.host).unwrap();
    let kids: Vec<Option<u64>> = h
        .children(rpc.key_node.unwrap())
        .map(|c| h.proc(c).pid)
        .collect();
    assert_eq!(kids, vec![Some(5484), Some(6564)]);
    assert_eq!(
        rpc.roles_of(rpc.events[6]),
        vec!["stage 3".to_string()],
        "a child fills the third stage"
    );
    // The earlier IEWIN7 findings were decided on complete evidence.
    assert!(r.findings[..3].iter().all(|f| f.gaps.is_empty()));
    assert!(
        !r.findings.iter().any(|f| f.rule_id == MMC),
        "Elastic's MMC logic must not fire on a Linux client port"
    );
    // The MMC finding carries all three cmd children and the whoami grandchild as context.
    let f = &r.findings[1];
    let h = r.graph.host(&f.host).unwrap();
    let key = h.proc(f.key_node.unwrap());
    assert_eq!(key.pid, Some(3572));
    let cmds: Vec<&str> = h
        .descendants(f.key_node.unwrap())
        .iter()
        .filter_map(|&d| h.proc(d).command_line)
        .collect();
    assert_eq!(cmds.len(), 4, "{cmds:?}");
    assert!(cmds.iter().any(|c| c.contains("whoami /all 1>")));
    assert_eq!(f.remote.as_deref(), Some("10.0.2.19:33474"));
}

#[test]
fn lethalhta_orders_by_time_created_not_utctime() {
    let Some(c) = common::corpus("lethalhta_orders_by_time_created_not_utctime") else {
        return;
    };
    let p = c.join("EVTX-ATTACK-SAMPLES/Lateral Movement/LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx");
    let l = load(&[p]).unwrap();
    let net = l.events.iter().find(|e| e.record_id == 17590).unwrap();
    let proc_ = l.events.iter().find(|e| e.record_id == 17589).unwrap();
    assert_eq!(net.time.iso(), "2019-05-14T01:29:05.5345219Z");
    assert!(
        net.utc_time.unwrap() < proc_.time,
        "UtcTime of the network event precedes the process"
    );
    assert!(net.time > proc_.time);
    let n = net.network().unwrap();
    assert_eq!(
        (n.local_ip.as_ref(), n.local_port),
        ("10.0.2.16", Some(49168))
    );
    assert_eq!(
        (n.remote_ip.as_ref(), n.remote_port),
        ("10.0.2.17", Some(55683))
    );
}

#[test]
fn impacket_tree_shape() {
    let Some(c) = common::corpus("impacket_tree_shape") else {
        return;
    };
    let p = c.join("EVTX-ATTACK-SAMPLES/Lateral Movement/LM_impacket_docmexec_mmc_sysmon_01.evtx");
    let l = load(&[p]).unwrap();
    let g = dcomhunt::graph::Graph::build(&l.events);
    let h = g.host("IEWIN7").unwrap();
    let t = text(h, &TreeOpts::default());
    let lines: Vec<&str> = t.lines().collect();
    let svc = lines
        .iter()
        .position(|l| l.contains("[612] svchost.exe") && l.contains("-k DcomLaunch"))
        .expect(&t);
    let mmc = lines
        .iter()
        .position(|l| l.contains("[3572] mmc.exe") && l.contains("-Embedding"))
        .expect(&t);
    assert!(mmc > svc);
    assert!(
        t.contains("← 10.0.2.19:33474 → :49163 tcp 20:35:13.168"),
        "{t}"
    );
    assert_eq!(
        t.matches("cmd.exe  \"C:\\Windows\\System32\\cmd.exe\" /Q /c")
            .count(),
        3,
        "{t}"
    );
    let who = lines
        .iter()
        .position(|l| l.contains("whoami.exe"))
        .expect(&t);
    assert!(
        lines[who].find("└─").unwrap() > lines[mmc].find("└─").unwrap() + 3,
        "whoami is a grandchild:\n{t}"
    );
}

#[test]
fn damaged_and_truncated_files_are_reported() {
    let Some(c) = common::corpus("damaged_and_truncated_files_are_reported") else {
        return;
    };
    let d = c.join("derived");
    let l = load(&[d]).unwrap();
    for i in &l.inputs {
        assert!(
            i.stats.truncated,
            "{} must be reported as truncated",
            i.input.display
        );
    }
    let mid = l
        .inputs
        .iter()
        .find(|i| i.input.display.contains("issue_43.truncated"))
        .unwrap();
    assert_eq!(mid.stats.records_read, 1718);
    let sysmon = load(&[c.join("omerbenamram-evtx/samples/sysmon.evtx")]).unwrap();
    let s = &sysmon.inputs[0].stats;
    assert_eq!(s.records_read, 358);
    assert!(
        s.damage.iter().any(|d| d.chunk == Some(9)),
        "{:?}",
        s.damage
    );
    assert!(sysmon.incomplete());
}
