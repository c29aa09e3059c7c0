//! BinXML building blocks: substitution values, their wire types, and template definitions.
//!
//! Byte layouts follow MS-EVEN6 and what Windows itself writes (checked against real logs):
//! strings are UTF-16LE without a terminating NUL, a `size_t` field is declared `SizeT` in the
//! template and carried as a `HexInt64` value, booleans are 4 bytes.

use super::WriterError;

/// Substitution value types (MS-EVEN6 §2.2.4.1), as bytes.
pub mod ty {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const UINT8: u8 = 0x04;
    pub const UINT16: u8 = 0x06;
    pub const UINT32: u8 = 0x08;
    pub const UINT64: u8 = 0x0a;
    pub const BOOL: u8 = 0x0d;
    pub const GUID: u8 = 0x0f;
    pub const SIZE_T: u8 = 0x10;
    pub const FILETIME: u8 = 0x11;
    pub const SID: u8 = 0x13;
    pub const HEX_INT32: u8 = 0x14;
    pub const HEX_INT64: u8 = 0x15;
    pub const BIN_XML: u8 = 0x21;
}

/// BinXML tokens.
pub mod token {
    pub const EOF: u8 = 0x00;
    pub const OPEN_START: u8 = 0x01;
    pub const OPEN_START_ATTRS: u8 = 0x41;
    pub const CLOSE_START: u8 = 0x02;
    pub const CLOSE_EMPTY: u8 = 0x03;
    pub const END_ELEMENT: u8 = 0x04;
    pub const VALUE: u8 = 0x05;
    pub const ATTRIBUTE: u8 = 0x06;
    pub const ATTRIBUTE_MORE: u8 = 0x46;
    pub const TEMPLATE_INSTANCE: u8 = 0x0c;
    pub const SUBSTITUTION: u8 = 0x0d;
    pub const OPTIONAL_SUBSTITUTION: u8 = 0x0e;
    pub const FRAGMENT_HEADER: [u8; 4] = [0x0f, 0x01, 0x01, 0x00];
}

/// The type of an EventData field, as the provider's manifest declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Str,
    U8,
    U16,
    U32,
    U64,
    Bool,
    Guid,
    FileTime,
    Sid,
    HexInt32,
    HexInt64,
    /// A pointer-sized integer (`win:Pointer`): declared `SizeT`, written as `HexInt64`.
    SizeT,
}

impl FieldType {
    /// The type the template definition declares.
    pub fn template_type(self) -> u8 {
        match self {
            FieldType::Str => ty::STRING,
            FieldType::U8 => ty::UINT8,
            FieldType::U16 => ty::UINT16,
            FieldType::U32 => ty::UINT32,
            FieldType::U64 => ty::UINT64,
            FieldType::Bool => ty::BOOL,
            FieldType::Guid => ty::GUID,
            FieldType::FileTime => ty::FILETIME,
            FieldType::Sid => ty::SID,
            FieldType::HexInt32 => ty::HEX_INT32,
            FieldType::HexInt64 => ty::HEX_INT64,
            FieldType::SizeT => ty::SIZE_T,
        }
    }
}

/// One substitution value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Str(String),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    Bool(bool),
    Guid([u8; 16]),
    /// 100 ns intervals since 1601-01-01 UTC.
    FileTime(u64),
    /// A SID in its binary form.
    Sid(Vec<u8>),
    HexInt32(u32),
    HexInt64(u64),
}

impl Value {
    /// The value type byte written in the instance's descriptor.
    pub fn wire_type(&self) -> u8 {
        match self {
            Value::Null => ty::NULL,
            Value::Str(_) => ty::STRING,
            Value::U8(_) => ty::UINT8,
            Value::U16(_) => ty::UINT16,
            Value::U32(_) => ty::UINT32,
            Value::U64(_) => ty::UINT64,
            Value::Bool(_) => ty::BOOL,
            Value::Guid(_) => ty::GUID,
            Value::FileTime(_) => ty::FILETIME,
            Value::Sid(_) => ty::SID,
            Value::HexInt32(_) => ty::HEX_INT32,
            Value::HexInt64(_) => ty::HEX_INT64,
        }
    }

    /// Append the value's bytes to `out` and return their size.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<u16, WriterError> {
        let start = out.len();
        match self {
            Value::Null => {}
            Value::Str(s) => push_utf16(out, s),
            Value::U8(v) => out.push(*v),
            Value::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::U32(v) | Value::HexInt32(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::U64(v) | Value::HexInt64(v) | Value::FileTime(v) => {
                out.extend_from_slice(&v.to_le_bytes())
            }
            Value::Bool(b) => out.extend_from_slice(&u32::from(*b).to_le_bytes()),
            Value::Guid(g) => out.extend_from_slice(g),
            Value::Sid(s) => out.extend_from_slice(s),
        }
        u16::try_from(out.len() - start).map_err(|_| WriterError::ValueTooLarge {
            size: out.len() - start,
        })
    }

    /// The JSON the evtx crate renders for this value (strings, numbers, `0x…` hex, `{guid}`,
    /// ISO-8601 times with 7 fraction digits, `S-…` SIDs).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Str(s) => J::String(s.clone()),
            Value::U8(v) => J::from(*v),
            Value::U16(v) => J::from(*v),
            Value::U32(v) => J::from(*v),
            Value::U64(v) => J::from(*v),
            Value::Bool(b) => J::Bool(*b),
            Value::Guid(g) => J::String(format_guid(g)),
            Value::FileTime(ft) => J::String(format_filetime(*ft)),
            Value::Sid(s) => J::String(format_sid(s)),
            Value::HexInt32(v) => J::String(format!("0x{v:x}")),
            Value::HexInt64(v) => J::String(format!("0x{v:x}")),
        }
    }
}

/// UTF-16LE code units of `s`, no terminator.
pub fn push_utf16(out: &mut Vec<u8>, s: &str) {
    for unit in s.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
}

/// The hash Windows stores with each name in a chunk's string table.
pub fn name_hash(name: &str) -> u16 {
    let mut hash: u32 = 0;
    for unit in name.encode_utf16() {
        hash = hash.wrapping_mul(65599).wrapping_add(u32::from(unit));
    }
    (hash & 0xffff) as u16
}

/// Parse `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` (braces optional, any case) into the
/// mixed-endian bytes Windows stores.
pub fn parse_guid(text: &str) -> Option<[u8; 16]> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let parts: Vec<&str> = inner.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    if parts.len() != 5 || parts.iter().zip(lens).any(|(p, l)| p.len() != l) {
        return None;
    }
    let hex: String = parts.concat();
    let mut raw = [0u8; 16];
    for (i, byte) in raw.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    let mut out = raw;
    out[0..4].copy_from_slice(&[raw[3], raw[2], raw[1], raw[0]]);
    out[4..6].copy_from_slice(&[raw[5], raw[4]]);
    out[6..8].copy_from_slice(&[raw[7], raw[6]]);
    Some(out)
}

/// `{lowercase}` as the evtx crate renders a GUID (the reader's rendering, so that what the
/// writer predicts and what the reader produces cannot drift apart).
pub fn format_guid(g: &[u8; 16]) -> String {
    let mut s = String::with_capacity(38);
    crate::ingest::template::write_guid(&mut s, g);
    s
}

/// Parse `S-1-5-21-…` into its binary form.
pub fn parse_sid(text: &str) -> Option<Vec<u8>> {
    let mut parts = text.strip_prefix("S-")?.split('-');
    let revision: u8 = parts.next()?.parse().ok()?;
    let authority: u64 = parts.next()?.parse().ok()?;
    if authority >= 1 << 48 {
        return None;
    }
    let subs: Vec<u32> = parts.map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if subs.len() > 15 {
        return None;
    }
    let mut out = vec![revision, subs.len() as u8];
    out.extend_from_slice(&authority.to_be_bytes()[2..]);
    for sub in subs {
        out.extend_from_slice(&sub.to_le_bytes());
    }
    Some(out)
}

/// `S-R-A-S1-…` from the binary form.
pub fn format_sid(sid: &[u8]) -> String {
    if sid.len() < 8 {
        return String::new();
    }
    let mut auth = [0u8; 8];
    auth[2..].copy_from_slice(&sid[2..8]);
    let mut out = format!("S-{}-{}", sid[0], u64::from_be_bytes(auth));
    for sub in sid[8..].chunks_exact(4) {
        out.push_str(&format!(
            "-{}",
            u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]])
        ));
    }
    out
}

/// FILETIME ticks between 1601-01-01 and 1970-01-01.
pub const UNIX_EPOCH_FILETIME: u64 = 116_444_736_000_000_000;

/// ISO-8601 UTC with 7 fraction digits and `Z`, as evtx renders a FILETIME.
pub fn format_filetime(ft: u64) -> String {
    let ticks = ft as i128 - UNIX_EPOCH_FILETIME as i128;
    let secs = ticks.div_euclid(10_000_000) as i64;
    let frac = ticks.rem_euclid(10_000_000) as u32;
    match chrono::DateTime::from_timestamp(secs, frac * 100) {
        Some(t) => format!("{}.{:07}Z", t.format("%Y-%m-%dT%H:%M:%S"), frac),
        None => String::new(),
    }
}

/// Sysmon's `UtcTime` text: `YYYY-MM-DD HH:MM:SS.mmm`, milliseconds truncated.
pub fn format_sysmon_utc(ft: u64) -> String {
    let ticks = ft as i128 - UNIX_EPOCH_FILETIME as i128;
    let secs = ticks.div_euclid(10_000_000) as i64;
    let frac = ticks.rem_euclid(10_000_000) as u32;
    match chrono::DateTime::from_timestamp(secs, frac * 100) {
        Some(t) => format!("{}.{:03}", t.format("%Y-%m-%d %H:%M:%S"), frac / 10_000),
        None => String::new(),
    }
}

/// Content of an element or an attribute in a template definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Literal text.
    Text(String),
    /// A substitution: value `index` of the instance, declared type `ty`.
    Subst {
        index: u16,
        ty: u8,
        optional: bool,
    },
    Element(Element),
}

/// An element of a template definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    /// The substitution whose null value leaves the element out.
    pub dependency: Option<u16>,
    /// Attributes: name and a `Text` or `Subst` value.
    pub attributes: Vec<(String, Node)>,
    pub children: Vec<Node>,
}

impl Element {
    pub fn new(name: &str) -> Self {
        Element {
            name: name.to_owned(),
            dependency: None,
            attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    pub fn dep(mut self, index: u16) -> Self {
        self.dependency = Some(index);
        self
    }

    pub fn attr(mut self, name: &str, value: Node) -> Self {
        self.attributes.push((name.to_owned(), value));
        self
    }

    pub fn child(mut self, node: Node) -> Self {
        self.children.push(node);
        self
    }

    pub fn elem(self, element: Element) -> Self {
        self.child(Node::Element(element))
    }
}

/// An optional substitution node.
pub fn opt(index: u16, ty: u8) -> Node {
    Node::Subst {
        index,
        ty,
        optional: true,
    }
}

/// A template definition: one per event layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The GUID's first four bytes, as Windows writes the instance's template id.
    pub id: u32,
    pub guid: [u8; 16],
    pub root: Element,
}

impl Template {
    /// A template whose GUID is derived from `key` (stable across runs and platforms).
    pub fn new(key: &str, root: Element) -> Self {
        let a = fnv1a64(key.as_bytes(), 0xcbf2_9ce4_8422_2325);
        let b = fnv1a64(key.as_bytes(), 0x6c62_272e_07bb_0142);
        let mut guid = [0u8; 16];
        guid[..8].copy_from_slice(&a.to_le_bytes());
        guid[8..].copy_from_slice(&b.to_le_bytes());
        Template {
            id: u32::from_le_bytes([guid[0], guid[1], guid[2], guid[3]]),
            guid,
            root,
        }
    }
}

fn fnv1a64(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(seed, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_round_trips_in_windows_byte_order() {
        let text = "{365abb72-b17f-5cc8-0000-001082a51e00}";
        let bytes = parse_guid(text).unwrap();
        assert_eq!(&bytes[..4], &[0x72, 0xbb, 0x5a, 0x36]);
        assert_eq!(format_guid(&bytes), text);
        assert_eq!(
            parse_guid("{365ABB72-B17F-5CC8-0000-001082A51E00}"),
            Some(bytes)
        );
        assert_eq!(parse_guid("{365abb72-b17f-5cc8-0000-001082a51e0}"), None);
        assert_eq!(parse_guid("not a guid"), None);
    }

    #[test]
    fn sid_round_trips() {
        let sid = parse_sid("S-1-5-18").unwrap();
        assert_eq!(sid, vec![1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
        assert_eq!(format_sid(&sid), "S-1-5-18");
        let long = "S-1-5-21-3461203602-4096304019-2269080069-1000";
        assert_eq!(format_sid(&parse_sid(long).unwrap()), long);
        assert_eq!(parse_sid("S-1-x"), None);
    }

    #[test]
    fn name_hash_matches_windows() {
        // Values stored by Windows in the string table of a real Sysmon log.
        assert_eq!(name_hash("Data"), 28554);
        assert_eq!(name_hash("Event"), 3258);
        assert_eq!(name_hash("Computer"), 28219);
    }

    #[test]
    fn times_render_like_evtx() {
        // 2019-04-30T20:35:11.8560890Z, from a real record.
        let ft = 132_011_301_118_560_890;
        assert_eq!(format_filetime(ft), "2019-04-30T20:35:11.8560890Z");
        assert_eq!(format_sysmon_utc(ft), "2019-04-30 20:35:11.856");
    }

    #[test]
    fn values_encode_to_their_sizes() {
        let mut out = Vec::new();
        assert_eq!(Value::Str("ab".into()).encode(&mut out).unwrap(), 4);
        assert_eq!(Value::Bool(true).encode(&mut out).unwrap(), 4);
        assert_eq!(Value::Null.encode(&mut out).unwrap(), 0);
        assert_eq!(out, vec![b'a', 0, b'b', 0, 1, 0, 0, 0]);
        assert_eq!(Value::HexInt64(0x1ea3c6).to_json(), "0x1ea3c6");
        let huge = Value::Str("x".repeat(40_000));
        assert!(huge.encode(&mut Vec::new()).is_err());
    }
}
