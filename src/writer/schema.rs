//! Event layouts: the System template Windows uses, and each event's EventData fields with
//! the types its provider declares.

use std::sync::LazyLock;

use super::binxml::{Element, FieldType, Node, Template, Value, opt, parse_guid, parse_sid, ty};

/// The log (channel) an event is written to; one file per log and host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Log {
    Sysmon,
    Security,
    System,
}

impl Log {
    pub fn channel(self) -> &'static str {
        match self {
            Log::Sysmon => "Microsoft-Windows-Sysmon/Operational",
            Log::Security => "Security",
            Log::System => "System",
        }
    }

    /// The file name Windows gives the log in `winevt\Logs`.
    pub fn file_name(self) -> &'static str {
        match self {
            Log::Sysmon => "Microsoft-Windows-Sysmon%4Operational.evtx",
            Log::Security => "Security.evtx",
            Log::System => "System.evtx",
        }
    }

    pub fn parse(name: &str) -> Option<Log> {
        match name {
            "sysmon" => Some(Log::Sysmon),
            "security" => Some(Log::Security),
            "system" => Some(Log::System),
            _ => None,
        }
    }

    pub const ALL: [Log; 3] = [Log::Sysmon, Log::Security, Log::System];
}

/// Which Sysmon generation wrote the log: its event 1 and 5 carry different fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SysmonGen {
    /// Sysmon 10 (2019): no `OriginalFileName`, `ParentUser` or event 5 `User`.
    V2019,
    /// Sysmon 13 and later.
    #[default]
    Recent,
}

/// One event layout: the System values its provider writes, and its EventData fields.
#[derive(Debug)]
pub struct Layout {
    pub log: Log,
    pub event_id: u16,
    pub sysmon: Option<SysmonGen>,
    pub provider: &'static str,
    pub provider_guid: Option<&'static str>,
    pub qualifiers: Option<u16>,
    pub version: u8,
    pub level: u8,
    pub task: u16,
    pub opcode: u8,
    pub keywords: u64,
    pub user_sid: Option<&'static str>,
    pub fields: Vec<(&'static str, FieldType)>,
    pub template: Template,
}

impl Layout {
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(n, _)| *n == name)
    }
}

const SYSMON_GUID: &str = "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}";
const SECURITY_GUID: &str = "{54849625-5478-4994-a5ba-3e3b0328c30d}";
const KERNEL_GENERAL_GUID: &str = "{a68ca8b7-004f-d7b6-a698-07e2de0f1f5d}";

use FieldType::{Bool, Guid, HexInt32, HexInt64, Sid, SizeT, Str, U16, U32, U64};

fn sysmon1(generation: SysmonGen) -> Vec<(&'static str, FieldType)> {
    let mut f = vec![
        ("RuleName", Str),
        ("UtcTime", Str),
        ("ProcessGuid", Guid),
        ("ProcessId", U32),
        ("Image", Str),
        ("FileVersion", Str),
        ("Description", Str),
        ("Product", Str),
        ("Company", Str),
    ];
    if generation == SysmonGen::Recent {
        f.push(("OriginalFileName", Str));
    }
    f.extend([
        ("CommandLine", Str),
        ("CurrentDirectory", Str),
        ("User", Str),
        ("LogonGuid", Guid),
        ("LogonId", HexInt64),
        ("TerminalSessionId", U32),
        ("IntegrityLevel", Str),
        ("Hashes", Str),
        ("ParentProcessGuid", Guid),
        ("ParentProcessId", U32),
        ("ParentImage", Str),
        ("ParentCommandLine", Str),
    ]);
    if generation == SysmonGen::Recent {
        f.push(("ParentUser", Str));
    }
    f
}

fn sysmon3() -> Vec<(&'static str, FieldType)> {
    vec![
        ("RuleName", Str),
        ("UtcTime", Str),
        ("ProcessGuid", Guid),
        ("ProcessId", U32),
        ("Image", Str),
        ("User", Str),
        ("Protocol", Str),
        ("Initiated", Bool),
        ("SourceIsIpv6", Bool),
        ("SourceIp", Str),
        ("SourceHostname", Str),
        ("SourcePort", U16),
        ("SourcePortName", Str),
        ("DestinationIsIpv6", Bool),
        ("DestinationIp", Str),
        ("DestinationHostname", Str),
        ("DestinationPort", U16),
        ("DestinationPortName", Str),
    ]
}

fn sysmon5(generation: SysmonGen) -> Vec<(&'static str, FieldType)> {
    let mut f = vec![
        ("RuleName", Str),
        ("UtcTime", Str),
        ("ProcessGuid", Guid),
        ("ProcessId", U32),
        ("Image", Str),
    ];
    if generation == SysmonGen::Recent {
        f.push(("User", Str));
    }
    f
}

fn subject() -> Vec<(&'static str, FieldType)> {
    vec![
        ("SubjectUserSid", Sid),
        ("SubjectUserName", Str),
        ("SubjectDomainName", Str),
        ("SubjectLogonId", HexInt64),
    ]
}

fn security4688() -> Vec<(&'static str, FieldType)> {
    let mut f = subject();
    f.extend([
        ("NewProcessId", SizeT),
        ("NewProcessName", Str),
        ("TokenElevationType", Str),
        ("ProcessId", SizeT),
        ("CommandLine", Str),
        ("TargetUserSid", Sid),
        ("TargetUserName", Str),
        ("TargetDomainName", Str),
        ("TargetLogonId", HexInt64),
        ("ParentProcessName", Str),
        ("MandatoryLabel", Sid),
    ]);
    f
}

fn security4689() -> Vec<(&'static str, FieldType)> {
    let mut f = subject();
    f.extend([
        ("Status", HexInt32),
        ("ProcessId", SizeT),
        ("ProcessName", Str),
    ]);
    f
}

fn security5156() -> Vec<(&'static str, FieldType)> {
    vec![
        ("ProcessID", U64),
        ("Application", Str),
        ("Direction", Str),
        ("SourceAddress", Str),
        ("SourcePort", Str),
        ("DestAddress", Str),
        ("DestPort", Str),
        ("Protocol", U32),
        ("FilterRTID", U64),
        ("LayerName", Str),
        ("LayerRTID", U64),
        ("RemoteUserID", Sid),
        ("RemoteMachineID", Sid),
    ]
}

fn kernel_general12() -> Vec<(&'static str, FieldType)> {
    vec![
        ("MajorVersion", U32),
        ("MinorVersion", U32),
        ("BuildVersion", U32),
        ("QfeVersion", U32),
        ("ServiceVersion", U32),
        ("BootMode", U32),
        ("StartTime", FieldType::FileTime),
    ]
}

/// The EventData template for a field list: `<EventData><Data Name="…">%n</Data>…`.
fn event_data_template(key: &str, fields: &[(&'static str, FieldType)]) -> Template {
    let mut root = Element::new("EventData");
    for (i, (name, field_type)) in fields.iter().enumerate() {
        root = root.elem(
            Element::new("Data")
                .attr("Name", Node::Text((*name).to_owned()))
                .child(Node::Subst {
                    index: i as u16,
                    ty: field_type.template_type(),
                    optional: false,
                }),
        );
    }
    Template::new(&format!("dcomhunt/eventdata/{key}"), root)
}

struct Base {
    log: Log,
    event_id: u16,
    sysmon: Option<SysmonGen>,
    provider: &'static str,
    provider_guid: Option<&'static str>,
    qualifiers: Option<u16>,
    version: u8,
    level: u8,
    task: u16,
    keywords: u64,
    user_sid: Option<&'static str>,
}

fn layout(b: Base, fields: Vec<(&'static str, FieldType)>) -> Layout {
    let key = format!("{:?}/{}/{:?}", b.log, b.event_id, b.sysmon);
    Layout {
        template: event_data_template(&key, &fields),
        log: b.log,
        event_id: b.event_id,
        sysmon: b.sysmon,
        provider: b.provider,
        provider_guid: b.provider_guid,
        qualifiers: b.qualifiers,
        version: b.version,
        level: b.level,
        task: b.task,
        opcode: 0,
        keywords: b.keywords,
        user_sid: b.user_sid,
        fields,
    }
}

fn sysmon(event_id: u16, generation: SysmonGen, version: u8) -> Base {
    Base {
        log: Log::Sysmon,
        event_id,
        sysmon: Some(generation),
        provider: "Microsoft-Windows-Sysmon",
        provider_guid: Some(SYSMON_GUID),
        qualifiers: None,
        version,
        level: 4,
        task: event_id,
        keywords: 0x8000_0000_0000_0000,
        user_sid: Some("S-1-5-18"),
    }
}

fn security(event_id: u16, version: u8, task: u16) -> Base {
    Base {
        log: Log::Security,
        event_id,
        sysmon: None,
        provider: "Microsoft-Windows-Security-Auditing",
        provider_guid: Some(SECURITY_GUID),
        qualifiers: None,
        version,
        level: 0,
        task,
        keywords: 0x8020_0000_0000_0000,
        user_sid: None,
    }
}

static LAYOUTS: LazyLock<Vec<Layout>> = LazyLock::new(|| {
    let mut all = Vec::new();
    for generation in [SysmonGen::V2019, SysmonGen::Recent] {
        all.push(layout(sysmon(1, generation, 5), sysmon1(generation)));
        all.push(layout(sysmon(3, generation, 5), sysmon3()));
        all.push(layout(sysmon(5, generation, 3), sysmon5(generation)));
        all.push(layout(
            sysmon(4, generation, 3),
            vec![
                ("UtcTime", Str),
                ("State", Str),
                ("Version", Str),
                ("SchemaVersion", Str),
            ],
        ));
    }
    all.push(layout(security(4688, 2, 13312), security4688()));
    all.push(layout(security(4689, 0, 13313), security4689()));
    all.push(layout(security(5156, 1, 12810), security5156()));
    all.push(layout(security(4608, 0, 12288), Vec::new()));
    all.push(layout(
        Base {
            log: Log::System,
            event_id: 6005,
            sysmon: None,
            provider: "EventLog",
            provider_guid: None,
            qualifiers: Some(32768),
            version: 0,
            level: 4,
            task: 0,
            keywords: 0x0080_0000_0000_0000,
            user_sid: None,
        },
        Vec::new(),
    ));
    all.push(layout(
        Base {
            log: Log::System,
            event_id: 12,
            sysmon: None,
            provider: "Microsoft-Windows-Kernel-General",
            provider_guid: Some(KERNEL_GENERAL_GUID),
            qualifiers: None,
            version: 1,
            level: 4,
            task: 1,
            keywords: 0x8000_0000_0000_0080,
            user_sid: Some("S-1-5-18"),
        },
        kernel_general12(),
    ));
    all
});

/// The layout of event `event_id` in `log` (`generation` matters for Sysmon only).
pub fn find_layout(log: Log, event_id: u16, generation: SysmonGen) -> Option<&'static Layout> {
    LAYOUTS.iter().find(|l| {
        l.log == log
            && l.event_id == event_id
            && (l.sysmon.is_none() || l.sysmon == Some(generation))
    })
}

/// Every layout the writer knows.
pub fn layouts() -> &'static [Layout] {
    &LAYOUTS
}

/// Index of the EventData substitution in the System template.
pub const EVENT_DATA_INDEX: u16 = 17;

/// The System template Windows uses for manifest-based providers (substitution order as in
/// real logs: 0 Level, 1 Opcode, 2 Task, 3 EventID, 4 Qualifiers, 5 Keywords, 6 TimeCreated,
/// 7 ActivityID, 8 ProcessID, 9 ThreadID, 10 EventRecordID, 11 Version, 12 UserID,
/// 13 RelatedActivityID, 14 Provider Name, 15 Provider Guid, 16 Channel, 17 EventData).
/// `Computer` is literal text, so a host has its own System template.
pub fn system_template(computer: &str) -> Template {
    let system = Element::new("System")
        .elem(
            Element::new("Provider")
                .attr("Name", opt(14, ty::STRING))
                .attr("Guid", opt(15, ty::GUID)),
        )
        .elem(
            Element::new("EventID")
                .dep(3)
                .attr("Qualifiers", opt(4, ty::UINT16))
                .child(opt(3, ty::UINT16)),
        )
        .elem(Element::new("Version").dep(11).child(opt(11, ty::UINT8)))
        .elem(Element::new("Level").dep(0).child(opt(0, ty::UINT8)))
        .elem(Element::new("Task").dep(2).child(opt(2, ty::UINT16)))
        .elem(Element::new("Opcode").dep(1).child(opt(1, ty::UINT8)))
        .elem(Element::new("Keywords").dep(5).child(opt(5, ty::HEX_INT64)))
        .elem(Element::new("TimeCreated").attr("SystemTime", opt(6, ty::FILETIME)))
        .elem(
            Element::new("EventRecordID")
                .dep(10)
                .child(opt(10, ty::UINT64)),
        )
        .elem(
            Element::new("Correlation")
                .attr("ActivityID", opt(7, ty::GUID))
                .attr("RelatedActivityID", opt(13, ty::GUID)),
        )
        .elem(
            Element::new("Execution")
                .attr("ProcessID", opt(8, ty::UINT32))
                .attr("ThreadID", opt(9, ty::UINT32)),
        )
        .elem(Element::new("Channel").dep(16).child(opt(16, ty::STRING)))
        .elem(Element::new("Computer").child(Node::Text(computer.to_owned())))
        .elem(Element::new("Security").attr("UserID", opt(12, ty::SID)));
    let root = Element::new("Event")
        .dep(EVENT_DATA_INDEX)
        .attr(
            "xmlns",
            Node::Text("http://schemas.microsoft.com/win/2004/08/events/event".to_owned()),
        )
        .elem(system)
        .child(opt(EVENT_DATA_INDEX, ty::BIN_XML));
    Template::new(&format!("dcomhunt/system/{computer}"), root)
}

/// The System template's values 0–16 for one record.
pub fn system_values(
    layout: &Layout,
    record_id: u64,
    filetime: u64,
    process_id: u32,
    thread_id: u32,
) -> Vec<Value> {
    let guid = |g: Option<&str>| g.and_then(parse_guid).map_or(Value::Null, Value::Guid);
    vec![
        Value::U8(layout.level),
        Value::U8(layout.opcode),
        Value::U16(layout.task),
        Value::U16(layout.event_id),
        layout.qualifiers.map_or(Value::Null, Value::U16),
        Value::HexInt64(layout.keywords),
        Value::FileTime(filetime),
        Value::Null,
        Value::U32(process_id),
        Value::U32(thread_id),
        Value::U64(record_id),
        Value::U8(layout.version),
        layout
            .user_sid
            .and_then(parse_sid)
            .map_or(Value::Null, Value::Sid),
        Value::Null,
        Value::Str(layout.provider.to_owned()),
        guid(layout.provider_guid),
        Value::Str(layout.log.channel().to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_is_found_and_distinct() {
        for l in layouts() {
            let generation = l.sysmon.unwrap_or_default();
            let found = find_layout(l.log, l.event_id, generation).unwrap();
            assert!(std::ptr::eq(found, l), "{:?} {}", l.log, l.event_id);
        }
        let old = find_layout(Log::Sysmon, 1, SysmonGen::V2019).unwrap();
        let new = find_layout(Log::Sysmon, 1, SysmonGen::Recent).unwrap();
        assert_ne!(old.template.guid, new.template.guid);
        assert_eq!(old.field_index("ParentUser"), None);
        assert_eq!(new.field_index("ParentUser"), Some(22));
        assert!(find_layout(Log::Security, 4624, SysmonGen::Recent).is_none());
    }

    #[test]
    fn system_values_follow_the_windows_order() {
        let l = find_layout(Log::System, 6005, SysmonGen::Recent).unwrap();
        let v = system_values(l, 42, 7, 1, 2);
        assert_eq!(v.len(), usize::from(EVENT_DATA_INDEX));
        assert_eq!(v[3], Value::U16(6005));
        assert_eq!(v[4], Value::U16(32768));
        assert_eq!(v[6], Value::FileTime(7));
        assert_eq!(v[10], Value::U64(42));
        assert_eq!(v[15], Value::Null);
    }
}
