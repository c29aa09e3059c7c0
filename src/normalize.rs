//! The normalize stage: raw records → [`Event`]s, exactly as docs/design.md says.
//!
//! - Clock: `System/TimeCreated/@SystemTime`; Sysmon's `UtcTime` is kept as `utc_time` only.
//! - GUIDs lower-cased; the zero GUID and a `?` parent image mean "unknown parent".
//! - PIDs: decimal (Sysmon, 5156) or `0x…` hex (4688/4689).
//! - Network direction: Sysmon `Initiated=false` and 5156 `%%14592` are ingress.
//! - The local side of an inbound connection is decided from evidence (hostname fields, the
//!   host's own addresses seen as the local side of its outbound connections, loopback), and only
//!   then from the field names; the reason is kept in [`LocalSide`].

use crate::event::{
    Boot, Direction, Event, Kind, LocalSide, Network, Process, ProcessEnd, Text, synthetic_id,
};
use crate::names::{canonical_channel, canonical_provider};
use crate::record::RawRecord;
use crate::time::Ts;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub const SYSMON_CHANNEL: &str = "Microsoft-Windows-Sysmon/Operational";
pub const ZERO_GUID: &str = "{00000000-0000-0000-0000-000000000000}";
pub const UNKNOWN_HOST: &str = "(unknown host)";

/// Which source an event comes from, by (channel, provider, event id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Sysmon(u32),
    Security(u32),
    System(u32),
}

fn classify(r: &RawRecord) -> Option<Source> {
    let ch = r.channel.as_str();
    if ch.eq_ignore_ascii_case(SYSMON_CHANNEL) {
        return matches!(r.event_id, 1 | 3 | 4 | 5).then_some(Source::Sysmon(r.event_id));
    }
    if ch.eq_ignore_ascii_case("Security") {
        return matches!(r.event_id, 4608 | 4688 | 4689 | 5156)
            .then_some(Source::Security(r.event_id));
    }
    if ch.eq_ignore_ascii_case("System") {
        let kept = match r.event_id {
            6005 => true,
            12 => r
                .provider
                .eq_ignore_ascii_case("Microsoft-Windows-Kernel-General"),
            _ => false,
        };
        return kept.then_some(Source::System(r.event_id));
    }
    None
}

/// Whether normalization keeps this record.
pub fn is_kept(r: &RawRecord) -> bool {
    classify(r).is_some()
}

/// Interns the text of a batch's events (hosts, images, command lines, users, GUIDs…) so that
/// equal values are stored once and shared, with the graph too.
#[derive(Default)]
struct Interner(HashSet<Arc<str>, foldhash::fast::RandomState>);

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone());
        a
    }

    /// A present value: not empty and not `-`.
    fn opt(&mut self, v: Option<&str>) -> Option<Text> {
        v.filter(|s| !s.is_empty() && *s != "-")
            .map(|s| self.get(s))
    }

    fn guid(&mut self, v: Option<&str>) -> Option<Text> {
        guid(v).map(|g| self.get(&g))
    }
}

/// Per-host evidence about which addresses are the host's own.
#[derive(Default, Debug)]
pub struct HostAddresses(HashMap<String, HashSet<String>>);

impl HostAddresses {
    /// Learn from outbound connections: their local side is the initiator, in every Sysmon and
    /// Windows version.
    pub fn learn(records: &[RawRecord]) -> HostAddresses {
        let mut m: HashMap<String, HashSet<String>> = HashMap::new();
        for r in records {
            let local = match classify(r) {
                Some(Source::Sysmon(3)) if !is_false(r.get("Initiated")) => r.get("SourceIp"),
                Some(Source::Security(5156))
                    if r.get("Direction").is_some_and(is_outbound_5156) =>
                {
                    r.get("SourceAddress")
                }
                _ => None,
            };
            if let Some(ip) = local
                .map(norm_ip)
                .filter(|ip| !ip.is_empty() && !is_loopback(ip) && !is_unspecified(ip))
            {
                m.entry(host_key(&r.computer)).or_default().insert(ip);
            }
        }
        HostAddresses(m)
    }

    /// Learn from normalized events (egress: the local side is the initiator).
    pub fn learn_events(events: &[Event]) -> HostAddresses {
        // Distinct (host, address) pairs first, borrowed: a host makes many connections from
        // few addresses.
        let mut seen: HashSet<(&str, &str), foldhash::fast::RandomState> = HashSet::default();
        for e in events {
            if let Some(n) = e.network()
                && n.direction == Direction::Egress
            {
                seen.insert((&e.host, &n.local_ip));
            }
        }
        let mut m: HashMap<String, HashSet<String>> = HashMap::new();
        for (host, ip) in seen {
            let ip = norm_ip(ip);
            if !ip.is_empty() && !is_loopback(&ip) && !is_unspecified(&ip) {
                m.entry(host_key(host)).or_default().insert(ip);
            }
        }
        HostAddresses(m)
    }

    /// Add what `other` learned.
    pub fn merge(&mut self, other: HostAddresses) {
        for (host, ips) in other.0 {
            self.0.entry(host).or_default().extend(ips);
        }
    }

    pub fn contains(&self, host: &str, ip: &str) -> bool {
        self.0
            .get(lower(host).as_ref())
            .is_some_and(|s| s.contains(norm_ip_ref(ip).as_ref()))
    }
}

fn host_key(h: &str) -> String {
    h.to_ascii_lowercase()
}

/// Normalize a batch of records (any order). Records of other channels or ids are dropped.
/// Inbound sides are decided with the host addresses this batch shows.
pub fn normalize(records: &[RawRecord]) -> Vec<Event> {
    normalize_with(records, &HostAddresses::learn(records))
}

/// [`normalize`] with the host addresses given: the pipeline passes none, because it decides
/// every inbound side again with the addresses of all inputs ([`redecide_local_side`]).
pub fn normalize_with(records: &[RawRecord], addrs: &HostAddresses) -> Vec<Event> {
    let mut interner = Interner::default();
    // Sized exactly: these lists are held until the whole input is read.
    let mut out = Vec::with_capacity(records.iter().filter(|r| is_kept(r)).count());
    out.extend(
        records
            .iter()
            .filter_map(|r| normalize_one(r, addrs, &mut interner)),
    );
    out
}

/// Decide again, with the host addresses learned from every input, the local side of inbound
/// connections that no hostname field decided. Gives the same result as normalizing all
/// records of a host together.
pub fn redecide_local_side(events: &mut [Event], addrs: &HostAddresses) {
    for e in events.iter_mut() {
        redecide_event(e, addrs);
    }
}

/// [`redecide_local_side`] for one event.
pub fn redecide_event(e: &mut Event, addrs: &HostAddresses) {
    let sysmon = e.channel.eq_ignore_ascii_case(SYSMON_CHANNEL);
    let Kind::Network(n) = &mut e.kind else {
        return;
    };
    if n.direction != Direction::Ingress
        || matches!(n.local_side, LocalSide::Hostname | LocalSide::Initiator)
    {
        return;
    }
    let host = &e.host;
    let (l, r) = (
        (n.local_ip.clone(), n.local_port),
        (n.remote_ip.clone(), n.remote_port),
    );
    let (src, dst) = if n.source_was_local { (l, r) } else { (r, l) };
    let a = Side {
        ip: &src.0,
        port: src.1,
        hostname: None,
    };
    let b = Side {
        ip: &dst.0,
        port: dst.1,
        hostname: None,
    };
    let (src_local, why) = source_is_local(&a, &b, host, addrs, !sysmon);
    let (lo, re) = if src_local {
        (&src, &dst)
    } else {
        (&dst, &src)
    };
    n.local_ip = lo.0.clone();
    n.local_port = lo.1;
    n.remote_ip = re.0.clone();
    n.remote_port = re.1;
    n.local_side = why;
    n.source_was_local = src_local;
}

fn normalize_one(r: &RawRecord, addrs: &HostAddresses, interner: &mut Interner) -> Option<Event> {
    let src = classify(r)?;
    let host_name = if r.computer.trim().is_empty() {
        UNKNOWN_HOST
    } else {
        r.computer.as_str()
    };
    let host = interner.get(host_name);
    let time = r.time.unwrap_or_default();
    let utc_time = match src {
        Source::Sysmon(_) => r.get("UtcTime").and_then(Ts::parse),
        _ => None,
    };
    let kind = match src {
        Source::Sysmon(1) => Kind::ProcessStart(Box::new(sysmon_process(r, interner))),
        Source::Sysmon(3) => Kind::Network(Box::new(sysmon_network(r, host_name, addrs, interner))),
        Source::Sysmon(5) => Kind::ProcessEnd(Box::new(ProcessEnd {
            entity_id: interner.guid(r.get("ProcessGuid")),
            pid: r.get("ProcessId").and_then(parse_pid),
            image: interner.get(r.get("Image").unwrap_or_default()),
        })),
        Source::Sysmon(_) => Kind::Boot(Boot {
            marker: "sysmon-4".into(),
        }),
        Source::Security(4688) => {
            Kind::ProcessStart(Box::new(security_4688(r, host_name, time, interner)))
        }
        Source::Security(4689) => Kind::ProcessEnd(Box::new(ProcessEnd {
            entity_id: None,
            pid: r.get("ProcessId").and_then(parse_pid),
            image: interner.get(r.get("ProcessName").unwrap_or_default()),
        })),
        Source::Security(5156) => {
            Kind::Network(Box::new(security_5156(r, host_name, addrs, interner)))
        }
        Source::Security(_) => Kind::Boot(Boot {
            marker: "security-4608".into(),
        }),
        Source::System(id) => Kind::Boot(Boot {
            marker: format!("system-{id}"),
        }),
    };
    Some(Event {
        host,
        time,
        utc_time,
        channel: interner.get(canonical_channel(&r.channel)),
        provider: interner.get(canonical_provider(&r.provider)),
        event_id: r.event_id,
        record_id: r.record_id.unwrap_or(0),
        prov: r.prov.clone(),
        kind,
    })
}

/// Lower-case a GUID; the zero GUID and empty values are "unknown".
pub fn guid(v: Option<&str>) -> Option<String> {
    let v = v?.trim();
    if v.is_empty()
        || v.eq_ignore_ascii_case(ZERO_GUID)
        || v.trim_matches(['{', '}'])
            .chars()
            .all(|c| c == '0' || c == '-')
    {
        return None;
    }
    Some(v.to_ascii_lowercase())
}

/// A PID in decimal or `0x` hex.
pub fn parse_pid(v: &str) -> Option<u64> {
    let v = v.trim();
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        v.parse().ok()
    }
}

fn present(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty() && *s != "-")
}

fn sysmon_process(r: &RawRecord, it: &mut Interner) -> Process {
    let parent_image = r.get("ParentImage").filter(|s| s.trim() != "?");
    let parent_entity_id = it.guid(r.get("ParentProcessGuid"));
    Process {
        entity_id: it.guid(r.get("ProcessGuid")),
        pid: r.get("ProcessId").and_then(parse_pid),
        image: it.get(r.get("Image").unwrap_or_default()),
        command_line: it.opt(r.get("CommandLine")),
        // As recorded, also when the parent's image is unknown (`?`); the graph does not join a
        // parent on that PID alone (see `graph::build`).
        parent_pid: r.get("ParentProcessId").and_then(parse_pid),
        parent_entity_id,
        parent_image: it.opt(parent_image),
        parent_command_line: it.opt(r.get("ParentCommandLine")),
        user: it.opt(r.get("User")),
        hashes: it.opt(r.get("Hashes")),
        current_directory: it.opt(r.get("CurrentDirectory")),
        integrity_level: it.opt(r.get("IntegrityLevel")),
    }
}

fn security_4688(r: &RawRecord, host: &str, time: Ts, it: &mut Interner) -> Process {
    let pid = r.get("NewProcessId").and_then(parse_pid);
    let user = match (
        present(r.get("TargetUserName")),
        present(r.get("TargetDomainName")),
    ) {
        (Some(u), Some(d)) => Some(it.get(&format!("{d}\\{u}"))),
        (Some(u), None) => Some(it.get(u)),
        _ => match (
            present(r.get("SubjectUserName")),
            present(r.get("SubjectDomainName")),
        ) {
            (Some(u), Some(d)) => Some(it.get(&format!("{d}\\{u}"))),
            (u, _) => u.map(|u| it.get(u)),
        },
    };
    Process {
        entity_id: pid.map(|p| synthetic_id(host, p, time).into()),
        pid,
        image: it.get(r.get("NewProcessName").unwrap_or_default()),
        command_line: it.opt(r.get("CommandLine")),
        parent_entity_id: None,
        parent_pid: r.get("ProcessId").and_then(parse_pid),
        parent_image: it.opt(r.get("ParentProcessName")),
        parent_command_line: None,
        user,
        hashes: None,
        current_directory: None,
        integrity_level: it.opt(r.get("MandatoryLabel")),
    }
}

fn is_false(v: Option<&str>) -> bool {
    v.is_some_and(|s| s.trim().eq_ignore_ascii_case("false") || s.trim() == "0")
}

fn is_inbound_5156(v: &str) -> bool {
    let v = v.trim();
    v == "%%14592" || v.eq_ignore_ascii_case("inbound")
}

fn is_outbound_5156(v: &str) -> bool {
    let v = v.trim();
    v == "%%14593" || v.eq_ignore_ascii_case("outbound")
}

/// IPv6 zone ids and IPv4-mapped prefixes removed, lower case.
pub fn norm_ip(ip: &str) -> String {
    norm_ip_ref(ip).into_owned()
}

/// [`norm_ip`] without an allocation when the address is already in normal form.
fn norm_ip_ref(ip: &str) -> Cow<'_, str> {
    let ip = ip.trim();
    let ip = ip.split('%').next().unwrap_or(ip);
    // The IPv4-mapped prefix in any case (`::FFFF:` is as valid as `::ffff:`).
    let ip = match ip.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("::ffff:") => &ip[7..],
        _ => ip,
    };
    lower(ip)
}

/// ASCII lower case, borrowed when there is nothing to change.
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

pub fn is_loopback(ip: &str) -> bool {
    let ip = norm_ip_ref(ip);
    ip.starts_with("127.") || ip == "::1" || ip == "0:0:0:0:0:0:0:1"
}

fn is_unspecified(ip: &str) -> bool {
    matches!(norm_ip_ref(ip).as_ref(), "0.0.0.0" | "::" | "-")
}

fn same_host(name: Option<&str>, host: &str) -> bool {
    let Some(n) = name.map(str::trim).filter(|n| !n.is_empty() && *n != "-") else {
        return false;
    };
    let first = |s: &str| s.split('.').next().unwrap_or(s).to_ascii_lowercase();
    first(n) == first(host)
}

struct Side<'a> {
    ip: &'a str,
    port: Option<u16>,
    hostname: Option<&'a str>,
}

/// Decide which of two raw sides is local for an inbound connection. Returns `true` when the
/// first ("Source*") side is local.
fn source_is_local(
    a: &Side,
    b: &Side,
    host: &str,
    addrs: &HostAddresses,
    default_source_local: bool,
) -> (bool, LocalSide) {
    let (ha, hb) = (same_host(a.hostname, host), same_host(b.hostname, host));
    if ha != hb {
        return (ha, LocalSide::Hostname);
    }
    let (aa, ab) = (addrs.contains(host, a.ip), addrs.contains(host, b.ip));
    if aa != ab {
        return (aa, LocalSide::HostAddress);
    }
    let (la, lb) = (is_loopback(a.ip), is_loopback(b.ip));
    if la != lb {
        return (la, LocalSide::Loopback);
    }
    (default_source_local, LocalSide::FieldNames)
}

fn port(v: Option<&str>) -> Option<u16> {
    v.and_then(|s| s.trim().parse().ok())
}

fn transport(v: Option<&str>, it: &mut Interner) -> Text {
    match v.map(str::trim).unwrap_or_default() {
        "6" => it.get("tcp"),
        "17" => it.get("udp"),
        "1" => it.get("icmp"),
        "58" => it.get("ipv6-icmp"),
        other => it.get(&other.to_ascii_lowercase()),
    }
}

fn build_network(
    direction: Direction,
    a: Side,
    b: Side,
    host: &str,
    addrs: &HostAddresses,
    default_source_local: bool,
    it: &mut Interner,
) -> (Text, Option<u16>, Text, Option<u16>, LocalSide, bool) {
    let (src_local, why) = match direction {
        Direction::Egress => (true, LocalSide::Initiator),
        Direction::Ingress => source_is_local(&a, &b, host, addrs, default_source_local),
    };
    let (l, r) = if src_local { (a, b) } else { (b, a) };
    (
        it.get(l.ip.trim()),
        l.port,
        it.get(r.ip.trim()),
        r.port,
        why,
        src_local,
    )
}

fn sysmon_network(r: &RawRecord, host: &str, addrs: &HostAddresses, it: &mut Interner) -> Network {
    let direction = if is_false(r.get("Initiated")) {
        Direction::Ingress
    } else {
        Direction::Egress
    };
    let a = Side {
        ip: r.get("SourceIp").unwrap_or_default(),
        port: port(r.get("SourcePort")),
        hostname: r.get("SourceHostname"),
    };
    let b = Side {
        ip: r.get("DestinationIp").unwrap_or_default(),
        port: port(r.get("DestinationPort")),
        hostname: r.get("DestinationHostname"),
    };
    // Recent Sysmon puts the remote initiator of an inbound connection in Source*.
    let (local_ip, local_port, remote_ip, remote_port, local_side, source_was_local) =
        build_network(direction, a, b, host, addrs, false, it);
    Network {
        entity_id: it.guid(r.get("ProcessGuid")),
        pid: r.get("ProcessId").and_then(parse_pid),
        image: it.get(r.get("Image").unwrap_or_default()),
        direction,
        transport: transport(r.get("Protocol"), it),
        local_ip,
        local_port,
        remote_ip,
        remote_port,
        local_side,
        source_was_local,
        user: it.opt(r.get("User")),
    }
}

fn security_5156(r: &RawRecord, host: &str, addrs: &HostAddresses, it: &mut Interner) -> Network {
    let direction = if r.get("Direction").is_some_and(is_inbound_5156) {
        Direction::Ingress
    } else {
        Direction::Egress
    };
    let a = Side {
        ip: r.get("SourceAddress").unwrap_or_default(),
        port: port(r.get("SourcePort")),
        hostname: None,
    };
    let b = Side {
        ip: r.get("DestAddress").unwrap_or_default(),
        port: port(r.get("DestPort")),
        hostname: None,
    };
    // Microsoft documents Source* as the local side of a 5156 in both directions.
    let (local_ip, local_port, remote_ip, remote_port, local_side, source_was_local) =
        build_network(direction, a, b, host, addrs, true, it);
    Network {
        entity_id: None,
        pid: r
            .get("ProcessID")
            .or_else(|| r.get("ProcessId"))
            .and_then(parse_pid),
        image: it.get(r.get("Application").unwrap_or_default()),
        direction,
        transport: transport(r.get("Protocol"), it),
        local_ip,
        local_port,
        remote_ip,
        remote_port,
        local_side,
        source_was_local,
        user: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Provenance;

    fn rec(channel: &str, id: u32, computer: &str, data: &[(&str, &str)]) -> RawRecord {
        RawRecord {
            channel: channel.into(),
            provider: "p".into(),
            event_id: id,
            record_id: Some(7),
            time: Ts::parse("2019-05-14T01:29:05.5345219Z"),
            computer: computer.into(),
            data: data
                .iter()
                .map(|(k, v)| (Arc::from(*k), v.to_string()))
                .collect(),
            prov: Provenance {
                file: Arc::from("f"),
                chunk: Some(0),
                offset: Some(1),
                line: None,
            },
        }
    }

    #[test]
    fn old_sysmon_inbound_local_in_source_by_hostname() {
        let r = rec(
            SYSMON_CHANNEL,
            3,
            "IEWIN7",
            &[
                ("ProcessGuid", "{365ABB72-19E0-5CDA-0000-001006711000}"),
                ("Protocol", "tcp"),
                ("Initiated", "false"),
                ("SourceIp", "10.0.2.16"),
                ("SourceHostname", "IEWIN7"),
                ("SourcePort", "49168"),
                ("DestinationIp", "10.0.2.17"),
                ("DestinationHostname", ""),
                ("DestinationPort", "55683"),
            ],
        );
        let e = normalize(&[r]);
        let n = e[0].network().unwrap();
        assert_eq!(
            n.entity_id.as_deref(),
            Some("{365abb72-19e0-5cda-0000-001006711000}")
        );
        assert_eq!(n.direction, Direction::Ingress);
        assert_eq!(
            (n.local_ip.as_ref(), n.local_port),
            ("10.0.2.16", Some(49168))
        );
        assert_eq!(
            (n.remote_ip.as_ref(), n.remote_port),
            ("10.0.2.17", Some(55683))
        );
        assert_eq!(n.local_side, LocalSide::Hostname);
        assert_eq!(n.source(), ("10.0.2.17", Some(55683)));
        assert_eq!(n.destination(), ("10.0.2.16", Some(49168)));
    }

    #[test]
    fn new_sysmon_inbound_by_field_names_and_host_address() {
        let inbound = rec(
            SYSMON_CHANNEL,
            3,
            "WS1",
            &[
                ("Initiated", "false"),
                ("SourceIp", "10.0.0.9"),
                ("SourcePort", "50000"),
                ("DestinationIp", "10.0.0.5"),
                ("DestinationPort", "135"),
            ],
        );
        let e = normalize(std::slice::from_ref(&inbound));
        let n = e[0].network().unwrap();
        assert_eq!(
            (n.local_ip.as_ref(), n.local_port, n.local_side),
            ("10.0.0.5", Some(135), LocalSide::FieldNames)
        );
        // With an outbound connection from 10.0.0.5 the host's address decides.
        let out = rec(
            SYSMON_CHANNEL,
            3,
            "WS1",
            &[
                ("Initiated", "true"),
                ("SourceIp", "10.0.0.5"),
                ("SourcePort", "50001"),
                ("DestinationIp", "1.2.3.4"),
                ("DestinationPort", "443"),
            ],
        );
        let e = normalize(&[inbound, out]);
        let n = e[0].network().unwrap();
        assert_eq!(
            (n.local_ip.as_ref(), n.local_side),
            ("10.0.0.5", LocalSide::HostAddress)
        );
        assert_eq!(e[1].network().unwrap().local_side, LocalSide::Initiator);
    }

    /// Host addresses learned from events match whatever the case of the host name and the
    /// address, zone ids and IPv4-mapped prefixes, as `norm_ip` and `host_key` define them.
    #[test]
    fn host_addresses_compare_normalized() {
        let out = |host: &str, ip: &str| {
            normalize(&[rec(
                SYSMON_CHANNEL,
                3,
                host,
                &[
                    ("Initiated", "true"),
                    ("SourceIp", ip),
                    ("SourcePort", "50001"),
                    ("DestinationIp", "1.2.3.4"),
                    ("DestinationPort", "443"),
                ],
            )])
        };
        let mut events = out("WS1.Corp", "FE80::5%12");
        events.extend(out("ws1.corp", "::ffff:10.0.0.5"));
        events.extend(out("WS1.Corp", "127.0.0.1"));
        events.extend(out("WS1.Corp", "0.0.0.0"));
        let a = HostAddresses::learn_events(&events);
        assert!(a.contains("WS1.CORP", "fe80::5"));
        assert!(a.contains("ws1.corp", " FE80::5%3 "));
        assert!(a.contains("Ws1.Corp", "10.0.0.5"));
        assert!(a.contains("ws1.corp", "::FFFF:10.0.0.5"));
        assert!(
            !a.contains("ws1.corp", "127.0.0.1"),
            "loopback is not learned"
        );
        assert!(
            !a.contains("ws1.corp", "0.0.0.0"),
            "unspecified is not learned"
        );
        assert!(!a.contains("ws2.corp", "10.0.0.5"), "per host");
        assert_eq!(norm_ip(" ::ffff:10.0.0.5 "), "10.0.0.5");
        assert_eq!(norm_ip("FE80::5%12"), "fe80::5");
    }

    #[test]
    fn security_events() {
        let p = rec(
            "Security",
            4688,
            "H",
            &[
                ("NewProcessId", "0x1a4"),
                ("NewProcessName", "C:\\Windows\\System32\\cmd.exe"),
                ("ProcessId", "0x264"),
                ("CommandLine", ""),
                ("SubjectUserName", "bob"),
                ("SubjectDomainName", "CORP"),
            ],
        );
        let n = rec(
            "Security",
            5156,
            "H",
            &[
                ("ProcessID", "420"),
                (
                    "Application",
                    "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe",
                ),
                ("Direction", "%%14592"),
                ("SourceAddress", "10.1.1.1"),
                ("SourcePort", "135"),
                ("DestAddress", "10.1.1.9"),
                ("DestPort", "50123"),
                ("Protocol", "6"),
            ],
        );
        let e = normalize(&[p, n]);
        let pr = e[0].process().unwrap();
        assert_eq!(pr.pid, Some(420));
        assert_eq!(pr.parent_pid, Some(612));
        assert_eq!(pr.command_line, None);
        assert_eq!(pr.user.as_deref(), Some("CORP\\bob"));
        assert!(pr.entity_id.as_deref().unwrap().starts_with("syn:h:420:"));
        let nw = e[1].network().unwrap();
        assert_eq!(
            (nw.pid, nw.transport.as_ref(), nw.direction),
            (Some(420), "tcp", Direction::Ingress)
        );
        assert_eq!(
            (nw.local_port, nw.remote_port, nw.local_side),
            (Some(135), Some(50123), LocalSide::FieldNames)
        );
    }

    #[test]
    fn unknown_parent_and_dropped_channels() {
        let p = rec(
            SYSMON_CHANNEL,
            1,
            "H",
            &[
                ("ProcessGuid", "{A-B}"),
                ("ParentProcessGuid", ZERO_GUID),
                ("ParentImage", "?"),
                ("ParentProcessId", "624"),
            ],
        );
        let other = rec("Application", 1, "H", &[]);
        let sys12 = rec("System", 12, "", &[]);
        let e = normalize(&[p, other, sys12]);
        assert_eq!(e.len(), 1);
        let pr = e[0].process().unwrap();
        assert_eq!(
            (
                pr.parent_entity_id.as_ref(),
                pr.parent_image.as_ref(),
                pr.parent_pid
            ),
            (None, None, Some(624)),
            "the parent's PID is kept as recorded when its image is unknown"
        );
        assert_eq!(guid(Some("{00000000-0000-0000-0000-000000000000}")), None);
        assert_eq!(parse_pid("0x1ea3c6"), Some(0x1ea3c6));
    }
}
