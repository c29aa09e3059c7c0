//! One 64 KiB chunk: its header, string table, template table and records.
//!
//! Names are written inline the first time a chunk uses them and referenced by offset after,
//! each linked into the string table bucket of its hash; a template definition is written
//! inline in the first instance that uses it and referenced by offset after. A record that
//! does not fit is rolled back, so that the caller can start a new chunk with it.

use std::collections::HashMap;

use super::WriterError;
use super::binxml::{Element, Node, Template, Value, name_hash, push_utf16, token, ty};

pub const CHUNK_SIZE: usize = 0x10000;
pub const CHUNK_HEADER_SIZE: usize = 512;
const RECORD_HEADER_SIZE: usize = 24;

/// A record to write: its id and time, the System template with its values, and the
/// EventData template with its values, nested as the System template's last substitution.
pub struct RecordParts<'a> {
    pub record_id: u64,
    pub filetime: u64,
    pub system: &'a Template,
    pub system_values: &'a [Value],
    pub data: &'a Template,
    pub data_values: &'a [Value],
}

pub struct ChunkWriter {
    buf: Vec<u8>,
    string_buckets: [u32; 64],
    template_buckets: [u32; 32],
    names: HashMap<String, u32>,
    templates: HashMap<[u8; 16], u32>,
    first_id: Option<u64>,
    last_id: u64,
    last_record_offset: u32,
    added_names: Vec<String>,
    added_templates: Vec<[u8; 16]>,
}

impl Default for ChunkWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkWriter {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(CHUNK_SIZE + 4096);
        buf.resize(CHUNK_HEADER_SIZE, 0);
        ChunkWriter {
            buf,
            string_buckets: [0; 64],
            template_buckets: [0; 32],
            names: HashMap::new(),
            templates: HashMap::new(),
            first_id: None,
            last_id: 0,
            last_record_offset: 0,
            added_names: Vec::new(),
            added_templates: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.first_id.is_none()
    }

    /// Write a record; `Ok(false)` (and nothing written) when it does not fit in this chunk.
    pub fn write_record(&mut self, rec: &RecordParts<'_>) -> Result<bool, WriterError> {
        let start = self.buf.len();
        let (strings, templates) = (self.string_buckets, self.template_buckets);
        self.added_names.clear();
        self.added_templates.clear();
        let written = self.try_write_record(rec);
        if written.is_err() || self.buf.len() > CHUNK_SIZE {
            self.buf.truncate(start);
            self.string_buckets = strings;
            self.template_buckets = templates;
            for name in self.added_names.drain(..) {
                self.names.remove(&name);
            }
            for guid in self.added_templates.drain(..) {
                self.templates.remove(&guid);
            }
            written?;
            if self.is_empty() {
                return Err(WriterError::RecordTooLarge {
                    record_id: rec.record_id,
                });
            }
            return Ok(false);
        }
        self.first_id.get_or_insert(rec.record_id);
        self.last_id = rec.record_id;
        self.last_record_offset = start as u32;
        Ok(true)
    }

    fn try_write_record(&mut self, rec: &RecordParts<'_>) -> Result<(), WriterError> {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0x2a, 0x2a, 0, 0]);
        self.buf.extend_from_slice(&[0; 4]); // size, patched below
        self.buf.extend_from_slice(&rec.record_id.to_le_bytes());
        self.buf.extend_from_slice(&rec.filetime.to_le_bytes());
        self.buf.extend_from_slice(&token::FRAGMENT_HEADER);
        self.write_instance(
            rec.system,
            rec.system_values,
            Some((rec.data, rec.data_values)),
        )?;
        self.buf.push(token::EOF);
        // Windows pads records to 8 bytes, then repeats the size.
        while (self.buf.len() - start + 4) % 8 != 0 {
            self.buf.push(0);
        }
        let size = (self.buf.len() - start + 4) as u32;
        self.buf.extend_from_slice(&size.to_le_bytes());
        self.buf[start + 4..start + 8].copy_from_slice(&size.to_le_bytes());
        if self.buf.len() - start < RECORD_HEADER_SIZE {
            return Err(WriterError::RecordTooLarge {
                record_id: rec.record_id,
            });
        }
        Ok(())
    }

    fn write_instance(
        &mut self,
        template: &Template,
        values: &[Value],
        nested: Option<(&Template, &[Value])>,
    ) -> Result<(), WriterError> {
        self.buf.push(token::TEMPLATE_INSTANCE);
        self.buf.push(0x01);
        self.buf.extend_from_slice(&template.id.to_le_bytes());
        match self.templates.get(&template.guid) {
            Some(&offset) => self.buf.extend_from_slice(&offset.to_le_bytes()),
            None => {
                let offset = (self.buf.len() + 4) as u32;
                self.buf.extend_from_slice(&offset.to_le_bytes());
                self.write_definition(template, offset)?;
            }
        }
        let count = values.len() + usize::from(nested.is_some());
        self.buf.extend_from_slice(&(count as u32).to_le_bytes());
        let descriptors = self.buf.len();
        self.buf.resize(descriptors + 4 * count, 0);
        for (i, value) in values.iter().enumerate() {
            let size = value.encode(&mut self.buf)?;
            let at = descriptors + 4 * i;
            self.buf[at..at + 2].copy_from_slice(&size.to_le_bytes());
            self.buf[at + 2] = value.wire_type();
        }
        if let Some((inner, inner_values)) = nested {
            let begin = self.buf.len();
            self.buf.extend_from_slice(&token::FRAGMENT_HEADER);
            self.write_instance(inner, inner_values, None)?;
            self.buf.push(token::EOF);
            let size =
                u16::try_from(self.buf.len() - begin).map_err(|_| WriterError::ValueTooLarge {
                    size: self.buf.len() - begin,
                })?;
            let at = descriptors + 4 * values.len();
            self.buf[at..at + 2].copy_from_slice(&size.to_le_bytes());
            self.buf[at + 2] = ty::BIN_XML;
        }
        Ok(())
    }

    fn write_definition(&mut self, template: &Template, offset: u32) -> Result<(), WriterError> {
        let bucket = (template.id % 32) as usize;
        self.buf
            .extend_from_slice(&self.template_buckets[bucket].to_le_bytes());
        self.template_buckets[bucket] = offset;
        self.templates.insert(template.guid, offset);
        self.added_templates.push(template.guid);
        self.buf.extend_from_slice(&template.guid);
        let size_at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.buf.extend_from_slice(&token::FRAGMENT_HEADER);
        self.write_element(&template.root)?;
        self.buf.push(token::EOF);
        let size = (self.buf.len() - size_at - 4) as u32;
        self.buf[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
        Ok(())
    }

    fn write_element(&mut self, element: &Element) -> Result<(), WriterError> {
        let has_attributes = !element.attributes.is_empty();
        self.buf.push(if has_attributes {
            token::OPEN_START_ATTRS
        } else {
            token::OPEN_START
        });
        self.buf
            .extend_from_slice(&element.dependency.unwrap_or(0xffff).to_le_bytes());
        let size_at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.write_name(&element.name);
        if has_attributes {
            let list_at = self.buf.len();
            self.buf.extend_from_slice(&[0; 4]);
            let last = element.attributes.len() - 1;
            for (i, (name, value)) in element.attributes.iter().enumerate() {
                self.buf.push(if i < last {
                    token::ATTRIBUTE_MORE
                } else {
                    token::ATTRIBUTE
                });
                self.write_name(name);
                self.write_node(value)?;
            }
            let size = (self.buf.len() - list_at - 4) as u32;
            self.buf[list_at..list_at + 4].copy_from_slice(&size.to_le_bytes());
        }
        if element.children.is_empty() {
            self.buf.push(token::CLOSE_EMPTY);
        } else {
            self.buf.push(token::CLOSE_START);
            for child in &element.children {
                self.write_node(child)?;
            }
            self.buf.push(token::END_ELEMENT);
        }
        let size = (self.buf.len() - size_at - 4) as u32;
        self.buf[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
        Ok(())
    }

    fn write_node(&mut self, node: &Node) -> Result<(), WriterError> {
        match node {
            Node::Text(text) => {
                let units = text.encode_utf16().count();
                let len = u16::try_from(units)
                    .map_err(|_| WriterError::ValueTooLarge { size: units * 2 })?;
                self.buf.push(token::VALUE);
                self.buf.push(ty::STRING);
                self.buf.extend_from_slice(&len.to_le_bytes());
                push_utf16(&mut self.buf, text);
            }
            Node::Subst {
                index,
                ty,
                optional,
            } => {
                self.buf.push(if *optional {
                    token::OPTIONAL_SUBSTITUTION
                } else {
                    token::SUBSTITUTION
                });
                self.buf.extend_from_slice(&index.to_le_bytes());
                self.buf.push(*ty);
            }
            Node::Element(element) => self.write_element(element)?,
        }
        Ok(())
    }

    /// A name reference: the offset of the name in the string table, written inline first.
    fn write_name(&mut self, name: &str) {
        if let Some(&offset) = self.names.get(name) {
            self.buf.extend_from_slice(&offset.to_le_bytes());
            return;
        }
        let offset = (self.buf.len() + 4) as u32;
        self.buf.extend_from_slice(&offset.to_le_bytes());
        let hash = name_hash(name);
        let bucket = usize::from(hash % 64);
        self.buf
            .extend_from_slice(&self.string_buckets[bucket].to_le_bytes());
        self.string_buckets[bucket] = offset;
        self.buf.extend_from_slice(&hash.to_le_bytes());
        let units = name.encode_utf16().count() as u16;
        self.buf.extend_from_slice(&units.to_le_bytes());
        push_utf16(&mut self.buf, name);
        self.buf.extend_from_slice(&[0, 0]);
        self.names.insert(name.to_owned(), offset);
        self.added_names.push(name.to_owned());
    }

    /// The chunk's 64 KiB with its header and CRC32s. Record numbers equal record ids, as in
    /// live Windows logs.
    pub fn finish(mut self) -> Vec<u8> {
        let free_space = self.buf.len() as u32;
        self.buf.resize(CHUNK_SIZE, 0);
        let first = self.first_id.unwrap_or(0);
        let last = self.last_id;
        let b = &mut self.buf;
        b[0..8].copy_from_slice(b"ElfChnk\0");
        b[8..16].copy_from_slice(&first.to_le_bytes());
        b[16..24].copy_from_slice(&last.to_le_bytes());
        b[24..32].copy_from_slice(&first.to_le_bytes());
        b[32..40].copy_from_slice(&last.to_le_bytes());
        b[40..44].copy_from_slice(&128u32.to_le_bytes());
        b[44..48].copy_from_slice(&self.last_record_offset.to_le_bytes());
        b[48..52].copy_from_slice(&free_space.to_le_bytes());
        for (i, offset) in self.string_buckets.iter().enumerate() {
            b[128 + 4 * i..132 + 4 * i].copy_from_slice(&offset.to_le_bytes());
        }
        for (i, offset) in self.template_buckets.iter().enumerate() {
            b[384 + 4 * i..388 + 4 * i].copy_from_slice(&offset.to_le_bytes());
        }
        let events_crc = crc32fast::hash(&b[CHUNK_HEADER_SIZE..free_space as usize]);
        b[52..56].copy_from_slice(&events_crc.to_le_bytes());
        // Flags at 120 stay 0: a chunk closed cleanly.
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&b[..120]);
        hasher.update(&b[128..CHUNK_HEADER_SIZE]);
        let header_crc = hasher.finalize();
        b[124..128].copy_from_slice(&header_crc.to_le_bytes());
        self.buf
    }
}
