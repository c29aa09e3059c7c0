//! Template definitions understood: a definition (MS-EVEN6 §2.2) walked into a small tree of
//! elements, and from it the [`Layout`] that says which substitution or constant text gives
//! each System field and each EventData field.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// Most nodes one template definition may have before it is left to the JSON path.
const MAX_NODES: usize = 4096;
/// Deepest element nesting handled.
const MAX_DEPTH: usize = 32;
/// Where a field's text comes from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Src {
    /// The element or attribute is not there, or has no content.
    Empty,
    Sub(u16),
    Text(String),
}

/// The EventData/UserData fields of a template.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum DataSpec {
    None,
    /// Named fields in order.
    Fields(Vec<(Arc<str>, Src)>),
    /// A substitution holding a BinXML fragment (a nested template instance) whose root is the
    /// data container.
    Nested(u16),
}

#[derive(Debug)]
pub(super) struct EventLayout {
    pub(super) provider: Src,
    pub(super) event_id: Src,
    pub(super) time: Src,
    pub(super) record_id: Src,
    pub(super) channel: Src,
    pub(super) computer: Src,
    pub(super) data: DataSpec,
    /// Dependency ids of the elements read: an empty value there leaves an element out.
    pub(super) deps: Vec<u16>,
}

#[derive(Debug)]
pub(super) struct DataLayout {
    pub(super) data: DataSpec,
    pub(super) deps: Vec<u16>,
}

/// A template definition, understood.
#[derive(Debug)]
pub(super) enum Layout {
    Event(EventLayout),
    Data(DataLayout),
}

/// Per-chunk cache of layouts by template definition offset (`None`: not handled).
#[derive(Default)]
pub struct LayoutCache {
    map: HashMap<u32, Option<Rc<Layout>>>,
}

// ---------------------------------------------------------------------------------------------
// Template definition → tree

#[derive(Debug, Clone)]
enum Node {
    Elem(usize),
    Sub(u16),
    Text(String),
    /// Anything else in content (CDATA, references, PIs, non-string values).
    Other,
}

#[derive(Debug, Default)]
struct Elem {
    name: String,
    dep: Option<u16>,
    attrs: Vec<(String, Vec<Node>)>,
    children: Vec<Node>,
}

pub(super) struct Reader<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.data.get(self.pos..self.pos.checked_add(2)?)?;
        self.pos += 2;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(super) fn u32(&mut self) -> Option<u32> {
        let b = self.data.get(self.pos..self.pos.checked_add(4)?)?;
        self.pos += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(b)
    }
    /// A name reference: the offset, skipping the name when it is stored right here.
    fn name(&mut self) -> Option<String> {
        let offset = self.u32()?;
        if offset as usize == self.pos {
            self.take(6)?;
            let len = usize::from(self.u16()?);
            self.take(len * 2 + 2)?;
        }
        name_at(self.data, offset as usize)
    }
}

fn utf16(bytes: &[u8]) -> Option<String> {
    let units = bytes
        .chunks_exact(2)
        .map(|u| u16::from_le_bytes([u[0], u[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

fn name_at(data: &[u8], offset: usize) -> Option<String> {
    let len = u16::from_le_bytes(
        data.get(offset.checked_add(6)?..offset.checked_add(8)?)?
            .try_into()
            .ok()?,
    );
    let start = offset + 8;
    let name = utf16(data.get(start..start.checked_add(usize::from(len) * 2)?)?)?;
    // Names in the JSON path are keys; keep to plain ones.
    (!name.is_empty() && !name.contains('\0')).then_some(name)
}

/// Parse the template definition at `offset` of the chunk into elements (index 0: the root).
fn parse_definition(data: &[u8], offset: u32) -> Option<Vec<Elem>> {
    let mut r = Reader {
        data,
        pos: offset as usize,
    };
    r.u32()?; // next template
    r.take(16)?; // GUID
    let size = r.u32()? as usize;
    let end = r.pos.checked_add(size)?.min(data.len());
    let mut elems: Vec<Elem> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    // Attribute being read: its values go to the last attribute of the top element.
    let mut in_attr = false;
    let mut nodes = 0usize;
    let mut root_done = false;
    while r.pos < end {
        nodes += 1;
        if nodes > MAX_NODES {
            return None;
        }
        let token = r.u8()?;
        let node = match token {
            0x00 => break,
            0x0f => {
                r.take(3)?;
                continue;
            }
            0x01 | 0x41 => {
                if root_done || stack.len() >= MAX_DEPTH {
                    return None;
                }
                let dep = r.u16()?;
                r.u32()?;
                let name = r.name()?;
                if token == 0x41 {
                    r.u32()?;
                }
                let id = elems.len();
                elems.push(Elem {
                    name,
                    dep: (dep != 0xffff).then_some(dep),
                    ..Elem::default()
                });
                if let Some(&parent) = stack.last() {
                    if in_attr {
                        return None;
                    }
                    elems[parent].children.push(Node::Elem(id));
                }
                stack.push(id);
                in_attr = false;
                continue;
            }
            0x02 => {
                stack.last()?;
                in_attr = false;
                continue;
            }
            0x03 | 0x04 => {
                stack.pop()?;
                in_attr = false;
                if stack.is_empty() {
                    root_done = true;
                }
                continue;
            }
            0x06 | 0x46 => {
                let name = r.name()?;
                let top = *stack.last()?;
                elems[top].attrs.push((name, Vec::new()));
                in_attr = true;
                continue;
            }
            0x05 | 0x45 => {
                let ty = r.u8()?;
                if ty != 0x01 {
                    return None;
                }
                let n = usize::from(r.u16()?);
                Node::Text(utf16(r.take(n * 2)?)?)
            }
            0x0d | 0x0e => {
                let id = r.u16()?;
                r.u8()?;
                Node::Sub(id)
            }
            0x07 | 0x47 => {
                let n = usize::from(r.u16()?);
                r.take(n * 2)?;
                Node::Other
            }
            0x08 | 0x48 => {
                r.u16()?;
                Node::Other
            }
            0x09 | 0x49 | 0x0a => {
                r.name()?;
                Node::Other
            }
            0x0b => {
                let n = usize::from(r.u16()?);
                r.take(n * 2)?;
                Node::Other
            }
            _ => return None,
        };
        let top = *stack.last()?;
        if in_attr {
            elems[top].attrs.last_mut()?.1.push(node);
        } else {
            elems[top].children.push(node);
        }
    }
    (root_done && stack.is_empty() && !elems.is_empty()).then_some(elems)
}

// ---------------------------------------------------------------------------------------------
// Tree → layout

/// Constant text the JSON path gives back unchanged: not something its renderer would write as
/// a JSON number or literal, unless a plain integer.
fn safe_text(t: &str) -> bool {
    // A NUL ends a string as the crate renders it; such literals are left to the JSON path.
    if t.is_empty() || t.trim() != t || t.contains('\0') {
        return false;
    }
    let b = t.as_bytes();
    if b.iter().all(u8::is_ascii_digit) {
        return b.len() <= 18 && (b.len() == 1 || b[0] != b'0');
    }
    !(matches!(b[0], b'0'..=b'9' | b'-' | b'+' | b'.') || matches!(t, "true" | "false" | "null"))
}

/// A content or attribute value made of at most one node.
fn src_of(nodes: &[Node]) -> Option<Src> {
    match nodes {
        [] => Some(Src::Empty),
        [Node::Sub(i)] => Some(Src::Sub(*i)),
        [Node::Text(t)] if safe_text(t) => Some(Src::Text(t.clone())),
        _ => None,
    }
}

fn attr<'e>(e: &'e Elem, name: &str) -> Option<&'e [Node]> {
    e.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| &v[..])
}

/// An element's text content: no child elements.
fn leaf(e: &Elem) -> Option<Src> {
    src_of(&e.children)
}

fn is_reserved_key(name: &str) -> bool {
    matches!(name, "Data" | "#text" | "#attributes")
}

/// The fields of an EventData (or UserData) element.
fn data_container(elems: &[Elem], c: &Elem, deps: &mut Vec<u16>) -> Option<DataSpec> {
    deps.extend(c.dep);
    if c.name == "UserData" {
        return user_data(elems, c, deps);
    }
    let mut kids: Vec<&Elem> = Vec::new();
    for n in &c.children {
        match n {
            Node::Elem(i) => kids.push(elems.get(*i)?),
            _ => return None,
        }
    }
    for k in &kids {
        deps.extend(k.dep);
    }
    let data_name = |k: &Elem| -> Option<Option<String>> {
        if k.attrs.iter().any(|(n, _)| n != "Name") {
            return None;
        }
        match attr(k, "Name") {
            None | Some([]) => Some(None),
            // A NUL would end the name as the crate renders it: left to the JSON path.
            Some([Node::Text(t)]) if !t.is_empty() && !t.contains('\0') => Some(Some(t.clone())),
            _ => None,
        }
    };
    let mut named = false;
    for k in &kids {
        if k.name == "Data" && data_name(k)?.is_some() {
            named = true;
        }
    }
    let mut out: Vec<(Arc<str>, Src)> = Vec::with_capacity(kids.len());
    let mut positional: Vec<Src> = Vec::new();
    let mut positional_at = None;
    for k in &kids {
        if k.name == "Data" {
            let name = data_name(k)?;
            let src = leaf(k)?;
            if named {
                let Some(name) = name else { continue };
                if is_reserved_key(&name) {
                    return None;
                }
                out.push((name.into(), src));
            } else {
                positional_at.get_or_insert(out.len());
                positional.push(src);
            }
        } else {
            if is_reserved_key(&k.name) {
                return None;
            }
            out.push((k.name.as_str().into(), leaf(k)?));
        }
    }
    if let Some(at) = positional_at {
        // `json_event` numbers them by the fields already read, at the first Data's place.
        let items: Vec<(Arc<str>, Src)> = positional
            .into_iter()
            .enumerate()
            .map(|(i, s)| (format!("Data{}", at + i + 1).into(), s))
            .collect();
        out.splice(at..at, items);
    }
    unique(&out)?;
    Some(DataSpec::Fields(out))
}

/// UserData: one provider element whose child elements are the fields.
fn user_data(elems: &[Elem], c: &Elem, deps: &mut Vec<u16>) -> Option<DataSpec> {
    let [Node::Elem(i)] = &c.children[..] else {
        return if c.children.is_empty() {
            Some(DataSpec::None)
        } else {
            None
        };
    };
    let inner = elems.get(*i)?;
    deps.extend(inner.dep);
    let mut out = Vec::with_capacity(inner.children.len());
    for n in &inner.children {
        let Node::Elem(j) = n else { return None };
        let k = elems.get(*j)?;
        deps.extend(k.dep);
        if is_reserved_key(&k.name) || !k.attrs.is_empty() {
            return None;
        }
        out.push((k.name.as_str().into(), leaf(k)?));
    }
    unique(&out)?;
    Some(DataSpec::Fields(out))
}

fn unique(fields: &[(Arc<str>, Src)]) -> Option<()> {
    for (i, (k, _)) in fields.iter().enumerate() {
        if fields[..i].iter().any(|(o, _)| o == k) {
            return None;
        }
    }
    Some(())
}

fn layout_of(elems: &[Elem]) -> Option<Layout> {
    let root = elems.first()?;
    match root.name.as_str() {
        "Event" => event_layout(elems, root).map(Layout::Event),
        "EventData" | "UserData" => {
            let mut deps = Vec::new();
            let data = data_container(elems, root, &mut deps)?;
            Some(Layout::Data(DataLayout { data, deps }))
        }
        _ => None,
    }
}

fn event_layout(elems: &[Elem], root: &Elem) -> Option<EventLayout> {
    let mut deps: Vec<u16> = root.dep.into_iter().collect();
    let mut system = None;
    let mut data = None;
    for n in &root.children {
        match n {
            Node::Elem(i) => {
                let e = elems.get(*i)?;
                match e.name.as_str() {
                    "System" if system.replace(e).is_some() => return None,
                    "System" => {}
                    "EventData" | "UserData" => {
                        if data.is_some() {
                            return None;
                        }
                        data = Some(data_container(elems, e, &mut deps)?);
                    }
                    _ => {}
                }
            }
            Node::Sub(i) => {
                if data.is_some() {
                    return None;
                }
                data = Some(DataSpec::Nested(*i));
            }
            Node::Text(_) | Node::Other => {}
        }
    }
    let system = system?;
    deps.extend(system.dep);
    if system.children.is_empty() {
        return None;
    }
    let mut fields: [Option<&Elem>; 6] = [None; 6];
    const NAMES: [&str; 6] = [
        "Provider",
        "EventID",
        "TimeCreated",
        "EventRecordID",
        "Channel",
        "Computer",
    ];
    for n in &system.children {
        match n {
            Node::Elem(i) => {
                let e = elems.get(*i)?;
                if let Some(k) = NAMES.iter().position(|&n| n == e.name) {
                    if fields[k].replace(e).is_some() {
                        return None;
                    }
                    deps.extend(e.dep);
                }
            }
            Node::Text(_) | Node::Other => {}
            Node::Sub(_) => return None,
        }
    }
    let attr_src = |e: Option<&Elem>, name: &str| -> Option<Src> {
        match e {
            None => Some(Src::Empty),
            Some(e) => match attr(e, name) {
                None => Some(Src::Empty),
                Some(v) => src_of(v),
            },
        }
    };
    let text_src = |e: Option<&Elem>| -> Option<Src> {
        match e {
            None => Some(Src::Empty),
            Some(e) => leaf(e),
        }
    };
    deps.sort_unstable();
    deps.dedup();
    Some(EventLayout {
        provider: attr_src(fields[0], "Name")?,
        event_id: text_src(fields[1])?,
        time: attr_src(fields[2], "SystemTime")?,
        record_id: text_src(fields[3])?,
        channel: text_src(fields[4])?,
        computer: text_src(fields[5])?,
        data: data.unwrap_or(DataSpec::None),
        deps,
    })
}

impl LayoutCache {
    pub(super) fn get(&mut self, chunk: &[u8], offset: u32) -> Option<Rc<Layout>> {
        self.map
            .entry(offset)
            .or_insert_with(|| {
                parse_definition(chunk, offset)
                    .and_then(|t| layout_of(&t))
                    .map(Rc::new)
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constant text is kept only where the JSON path gives it back unchanged.
    #[test]
    fn safe_text_is_what_json_gives_back() {
        assert!(safe_text("HOST") && safe_text("12") && !safe_text("012") && !safe_text("1.5"));
        assert!(
            !safe_text("H\u{6861}\0rest"),
            "a literal with a NUL is left to JSON"
        );
    }
}
