//! The normalized event: what every stage after normalization works on.

use crate::record::Provenance;
use crate::time::Ts;
use serde::Serialize;
use std::sync::Arc;

/// Shared, immutable text: values repeat across events (images, users, command lines) and
/// between events and graph nodes, and are stored once.
pub type Text = Arc<str>;

/// One kept event, normalized (see `docs/architecture.md` and `docs/design.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// `System/Computer`.
    pub host: Arc<str>,
    /// `System/TimeCreated/@SystemTime`: the clock that orders and correlates.
    pub time: Ts,
    /// Sysmon's own `EventData/UtcTime`, kept for display; never used for ordering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utc_time: Option<Ts>,
    pub channel: Arc<str>,
    pub provider: Arc<str>,
    pub event_id: u32,
    /// `System/EventRecordID` (0 when the format has none; then `prov.line` identifies it).
    pub record_id: u64,
    #[serde(flatten)]
    pub prov: Provenance,
    #[serde(flatten)]
    pub kind: Kind,
}

impl Event {
    /// The total order every stage uses: time, then file path, then record id, then position.
    pub fn order_key(&self) -> (Ts, &str, u64, u64) {
        (
            self.time,
            &self.prov.file,
            self.record_id,
            self.prov.position(),
        )
    }

    pub fn kind_name(&self) -> &'static str {
        self.kind.name()
    }

    pub fn process(&self) -> Option<&Process> {
        match &self.kind {
            Kind::ProcessStart(p) => Some(p),
            _ => None,
        }
    }

    pub fn network(&self) -> Option<&Network> {
        match &self.kind {
            Kind::Network(n) => Some(n),
            _ => None,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
/// The payloads are boxed: an event list holds one `Event` per kept record, and inline the
/// largest payload (a process start) would set the size of every one of them.
pub enum Kind {
    ProcessStart(Box<Process>),
    ProcessEnd(Box<ProcessEnd>),
    Network(Box<Network>),
    Boot(Boot),
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::ProcessStart(_) => "process_start",
            Kind::ProcessEnd(_) => "process_end",
            Kind::Network(_) => "network",
            Kind::Boot(_) => "boot",
        }
    }
}

/// Sysmon 1 or Security 4688.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Process {
    /// Lower-case `{guid}` for Sysmon; a synthetic `syn:` id for 4688 (see [`synthetic_id`]).
    pub entity_id: Option<Text>,
    pub pid: Option<u64>,
    pub image: Text,
    pub command_line: Option<Text>,
    /// `None` when the parent is unknown (zero GUID, `?` image, or not logged).
    pub parent_entity_id: Option<Text>,
    pub parent_pid: Option<u64>,
    pub parent_image: Option<Text>,
    pub parent_command_line: Option<Text>,
    pub user: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashes: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_directory: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity_level: Option<Text>,
}

/// Sysmon 5 or Security 4689.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProcessEnd {
    pub entity_id: Option<Text>,
    pub pid: Option<u64>,
    pub image: Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// Why one side of a connection was taken as the local one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalSide {
    /// Outbound: the initiator is local, whatever the version.
    Initiator,
    /// A `*Hostname` field names this host.
    Hostname,
    /// One address is among the host's own (seen as the local side of its outbound connections).
    HostAddress,
    /// One address is loopback and the other is not.
    Loopback,
    /// No evidence: decided by the field names' documented convention.
    FieldNames,
}

impl LocalSide {
    pub fn as_str(self) -> &'static str {
        match self {
            LocalSide::Initiator => "initiator",
            LocalSide::Hostname => "hostname",
            LocalSide::HostAddress => "host_address",
            LocalSide::Loopback => "loopback",
            LocalSide::FieldNames => "field_names",
        }
    }
}

/// Sysmon 3 or Security 5156.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    /// Sysmon ProcessGuid (lower case); `None` for 5156 until the graph resolves it.
    pub entity_id: Option<Text>,
    pub pid: Option<u64>,
    /// Sysmon `Image`; for 5156 the `Application` as logged (`\device\harddiskvolumeN\…`).
    pub image: Text,
    pub direction: Direction,
    /// `tcp`, `udp`, or the protocol number as text.
    pub transport: Text,
    pub local_ip: Text,
    pub local_port: Option<u16>,
    pub remote_ip: Text,
    pub remote_port: Option<u16>,
    /// How the local side was decided.
    pub local_side: LocalSide,
    /// The raw `Source*` fields were taken as the local side (kept to decide again with more
    /// evidence; see `normalize::redecide_local_side`).
    #[serde(skip)]
    pub source_was_local: bool,
    pub user: Option<Text>,
}

impl Network {
    /// ECS `source`: the initiator (remote for ingress).
    pub fn source(&self) -> (&str, Option<u16>) {
        match self.direction {
            Direction::Egress => (&self.local_ip, self.local_port),
            Direction::Ingress => (&self.remote_ip, self.remote_port),
        }
    }

    /// ECS `destination`: the listener (local for ingress).
    pub fn destination(&self) -> (&str, Option<u16>) {
        match self.direction {
            Direction::Egress => (&self.remote_ip, self.remote_port),
            Direction::Ingress => (&self.local_ip, self.local_port),
        }
    }
}

/// A marker that the host booted at (about) this event's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Boot {
    /// What marked it: `security-4608`, `system-6005`, `system-12`, `sysmon-4`, `sysmon-1-services`.
    pub marker: String,
}

/// The basename of a Windows or device path, as written (case kept).
pub fn basename(path: &str) -> &str {
    // By bytes: both separators are ASCII, so the cut is on a character boundary.
    match path.bytes().rposition(|b| b == b'\\' || b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// A GUID's text as the tool keeps entity ids: `{8-4-4-4-12}` in lower-case hex, from its 16
/// bytes in the order they are printed (the binary form's first three groups are little-endian:
/// reorder them first).
pub fn guid_text(printed: &[u8; 16]) -> [u8; 38] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [b'-'; 38];
    text[0] = b'{';
    text[37] = b'}';
    let mut at = 1;
    for (k, &x) in printed.iter().enumerate() {
        if matches!(k, 4 | 6 | 8 | 10) {
            at += 1;
        }
        text[at] = HEX[usize::from(x >> 4)];
        text[at + 1] = HEX[usize::from(x & 15)];
        at += 2;
    }
    text
}

/// A synthetic entity id for a process known only by PID: stable, derived from content.
pub fn synthetic_id(host: &str, pid: u64, first_seen: Ts) -> String {
    let mut id = String::new();
    write_synthetic_id(&mut id, &synthetic_prefix(host), pid, first_seen.0);
    id
}

/// Replace `out` with the synthetic id of `pid` first seen at `time` (ticks), on the host whose
/// [`synthetic_prefix`] is `prefix`.
pub fn write_synthetic_id(out: &mut String, prefix: &str, pid: u64, time: i64) {
    out.clear();
    out.push_str(prefix);
    out.push_str(itoa::Buffer::new().format(pid));
    out.push(':');
    out.push_str(itoa::Buffer::new().format(time));
}

/// How every synthetic id of `host` begins: `syn:{host in lower case}:`.
pub fn synthetic_prefix(host: &str) -> String {
    format!("syn:{}:", host.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::basename;

    /// The byte search gives what splitting on either separator gives.
    #[test]
    fn basename_is_the_last_path_segment() {
        for p in [
            "",
            "mmc.exe",
            "C:\\Windows\\System32\\mmc.exe",
            "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe",
            "/usr/bin/x",
            "C:\\dir/mixed\\Écran – 画面.exe",
            "trailing\\",
            "\\",
        ] {
            let expected = p.rsplit(['\\', '/']).next().unwrap_or(p);
            assert_eq!(basename(p), expected, "{p:?}");
        }
    }
}
