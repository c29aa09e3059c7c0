//! The compact encoding of one event: numbers as variable-length integers, text as an index
//! into its batch's table of shared strings ([`Encoder`] writes a batch, [`Decoder`] reads one
//! event back).

use super::order::BatchKey;
use super::{Batch, Data, Loaded};
use crate::event::{Boot, Direction, Event, Kind, LocalSide, Network, Process, ProcessEnd, Text};
use crate::record::Provenance;
use crate::time::Ts;
use std::collections::HashMap;
use std::sync::Arc;

const KIND_START: u8 = 0;
const KIND_END: u8 = 1;
const KIND_NET: u8 = 2;
const KIND_BOOT: u8 = 3;
const HAS_UTC: u8 = 1 << 2;
const HAS_CHUNK: u8 = 1 << 3;
const HAS_OFFSET: u8 = 1 << 4;
const HAS_LINE: u8 = 1 << 5;

#[derive(Default)]
pub(super) struct Encoder {
    pub(super) bytes: Vec<u8>,
    pub(super) texts: Vec<Text>,
    /// Text already in the table, by the address of the caller's shared string (the
    /// normalizer interns per batch, so equal text is mostly one allocation).
    ids: HashMap<usize, u32, foldhash::fast::RandomState>,
    pub(super) keys: Vec<BatchKey>,
    /// The first event's record id and position (see [`BatchKey`]).
    base: Option<(u64, u64)>,
    sources: Vec<(Text, Text)>,
    source_ids: HashMap<(usize, usize), u32, foldhash::fast::RandomState>,
}

impl Encoder {
    pub(super) fn finish(self) -> Batch {
        Batch {
            data: Data::Mem(Loaded {
                texts: self.texts.into_boxed_slice(),
                bytes: self.bytes.into_boxed_slice(),
            }),
            sources: self.sources,
            len: self.keys.len(),
            keys: self.keys,
            disk_keys: None,
            base: self.base.unwrap_or_default(),
        }
    }

    /// Whether `e`'s record id and position can be counted from the batch's first event's
    /// (in an `i32`); any event fits an empty batch.
    pub(super) fn fits(&self, e: &Event) -> bool {
        self.base.is_none_or(|(rid, pos)| {
            i32::try_from(e.record_id.wrapping_sub(rid) as i64).is_ok()
                && i32::try_from(e.prov.position().wrapping_sub(pos) as i64).is_ok()
        })
    }

    fn uint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.bytes.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.bytes.push(v as u8);
    }

    fn text_id(&mut self, t: &Text) -> u32 {
        let key = Arc::as_ptr(t) as *const u8 as usize;
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let id = self.texts.len() as u32;
        // A copy of the batch's own: see the module comment.
        self.texts.push(Arc::from(&**t));
        // Keyed by the caller's allocation, which `events` keeps alive while encoding.
        self.ids.insert(key, id);
        id
    }

    fn text(&mut self, t: &Text) {
        let id = self.text_id(t);
        self.uint(id.into());
    }

    pub(super) fn event(&mut self, e: &Event) {
        let offset = self.bytes.len() as u32;
        let file = self.text_id(&e.prov.file);
        let addr = |t: &Text| Arc::as_ptr(t) as *const u8 as usize;
        let next = self.sources.len() as u32;
        let source = *self
            .source_ids
            .entry((addr(&e.prov.file), addr(&e.host)))
            .or_insert(next);
        if source == next {
            self.sources.push((e.prov.file.clone(), e.host.clone()));
        }
        let (rid, pos) = *self.base.get_or_insert((e.record_id, e.prov.position()));
        // Differences that fit (see `fits`: a batch is cut before an event whose do not).
        self.keys.push(BatchKey {
            time: e.time.0,
            record_id: e.record_id.wrapping_sub(rid) as i64 as i32,
            position: e.prov.position().wrapping_sub(pos) as i64 as i32,
            source,
            offset,
        });
        self.bytes.extend_from_slice(&e.time.0.to_le_bytes());
        self.text(&e.host);
        let kind = match &e.kind {
            Kind::ProcessStart(_) => KIND_START,
            Kind::ProcessEnd(_) => KIND_END,
            Kind::Network(_) => KIND_NET,
            Kind::Boot(_) => KIND_BOOT,
        };
        let flags = kind
            | flag(e.utc_time.is_some(), HAS_UTC)
            | flag(e.prov.chunk.is_some(), HAS_CHUNK)
            | flag(e.prov.offset.is_some(), HAS_OFFSET)
            | flag(e.prov.line.is_some(), HAS_LINE);
        self.bytes.push(flags);
        self.uint(e.event_id.into());
        self.uint(e.record_id);
        if let Some(u) = e.utc_time {
            self.uint(zigzag(u.0.wrapping_sub(e.time.0)));
        }
        self.text(&e.channel);
        self.text(&e.provider);
        self.uint(file.into());
        for v in [e.prov.chunk, e.prov.offset, e.prov.line]
            .into_iter()
            .flatten()
        {
            self.uint(v);
        }
        match &e.kind {
            Kind::ProcessStart(p) => self.process(p),
            Kind::ProcessEnd(p) => {
                self.uint(mask(&[p.entity_id.is_some(), p.pid.is_some()]));
                self.text(&p.image);
                self.opt_text(&p.entity_id);
                self.opt_uint(p.pid);
            }
            Kind::Network(n) => self.network(n),
            Kind::Boot(b) => {
                let marker: Text = Arc::from(b.marker.as_str());
                self.text(&marker);
                // `marker` is dropped here: forget its address, which may be reused.
                self.ids
                    .remove(&(Arc::as_ptr(&marker) as *const u8 as usize));
            }
        }
    }

    fn opt_text(&mut self, t: &Option<Text>) {
        if let Some(t) = t {
            self.text(t);
        }
    }

    fn opt_uint(&mut self, v: Option<u64>) {
        if let Some(v) = v {
            self.uint(v);
        }
    }

    fn process(&mut self, p: &Process) {
        self.uint(mask(&[
            p.entity_id.is_some(),
            p.pid.is_some(),
            p.command_line.is_some(),
            p.parent_entity_id.is_some(),
            p.parent_pid.is_some(),
            p.parent_image.is_some(),
            p.parent_command_line.is_some(),
            p.user.is_some(),
            p.hashes.is_some(),
            p.current_directory.is_some(),
            p.integrity_level.is_some(),
        ]));
        self.text(&p.image);
        self.opt_text(&p.entity_id);
        self.opt_uint(p.pid);
        self.opt_text(&p.command_line);
        self.opt_text(&p.parent_entity_id);
        self.opt_uint(p.parent_pid);
        self.opt_text(&p.parent_image);
        self.opt_text(&p.parent_command_line);
        self.opt_text(&p.user);
        self.opt_text(&p.hashes);
        self.opt_text(&p.current_directory);
        self.opt_text(&p.integrity_level);
    }

    fn network(&mut self, n: &Network) {
        let bits = mask(&[
            n.entity_id.is_some(),
            n.pid.is_some(),
            n.local_port.is_some(),
            n.remote_port.is_some(),
            n.user.is_some(),
            n.direction == Direction::Egress,
            n.source_was_local,
        ]);
        self.uint(bits);
        self.bytes.push(side_code(n.local_side));
        self.text(&n.image);
        self.text(&n.transport);
        self.text(&n.local_ip);
        self.text(&n.remote_ip);
        self.opt_text(&n.entity_id);
        self.opt_uint(n.pid);
        self.opt_uint(n.local_port.map(u64::from));
        self.opt_uint(n.remote_port.map(u64::from));
        self.opt_text(&n.user);
    }
}

fn flag(on: bool, bit: u8) -> u8 {
    if on { bit } else { 0 }
}

fn mask(bits: &[bool]) -> u64 {
    bits.iter()
        .enumerate()
        .fold(0, |m, (i, &b)| m | (u64::from(b) << i))
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(super) const SIDES: [LocalSide; 5] = [
    LocalSide::Initiator,
    LocalSide::Hostname,
    LocalSide::HostAddress,
    LocalSide::Loopback,
    LocalSide::FieldNames,
];

fn side_code(s: LocalSide) -> u8 {
    SIDES.iter().position(|&x| x == s).unwrap_or(0) as u8
}

/// Reads one encoded event. The bytes are the encoder's own, so a short or inconsistent
/// buffer is a bug of this module: it panics rather than invent a value.
pub(super) struct Decoder<'a> {
    pub(super) b: &'a [u8],
    pub(super) p: usize,
    pub(super) texts: &'a [Text],
}

impl<'a> Decoder<'a> {
    fn byte(&mut self) -> u8 {
        let v = self.b[self.p];
        self.p += 1;
        v
    }

    fn uint(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.byte();
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    fn text(&mut self) -> &'a Text {
        let id = self.uint() as usize;
        &self.texts[id]
    }

    fn owned(&mut self) -> Text {
        self.text().clone()
    }

    fn opt_text(&mut self, present: bool) -> Option<Text> {
        present.then(|| self.owned())
    }

    fn opt_uint(&mut self, present: bool) -> Option<u64> {
        present.then(|| self.uint())
    }

    fn time(&mut self) -> i64 {
        let mut t = [0u8; 8];
        t.copy_from_slice(&self.b[self.p..self.p + 8]);
        self.p += 8;
        i64::from_le_bytes(t)
    }

    pub(super) fn event(&mut self) -> Event {
        let time = self.time();
        let host = self.owned();
        let flags = self.byte();
        let event_id = self.uint() as u32;
        let record_id = self.uint();
        let utc_time = (flags & HAS_UTC != 0).then(|| Ts(time.wrapping_add(unzigzag(self.uint()))));
        let channel = self.owned();
        let provider = self.owned();
        let file = self.owned();
        let prov = Provenance {
            file,
            chunk: self.opt_uint(flags & HAS_CHUNK != 0),
            offset: self.opt_uint(flags & HAS_OFFSET != 0),
            line: self.opt_uint(flags & HAS_LINE != 0),
        };
        let kind = match flags & 3 {
            KIND_START => Kind::ProcessStart(Box::new(self.process())),
            KIND_END => {
                let m = self.uint();
                let image = self.owned();
                Kind::ProcessEnd(Box::new(ProcessEnd {
                    image,
                    entity_id: self.opt_text(m & 1 != 0),
                    pid: self.opt_uint(m & 2 != 0),
                }))
            }
            KIND_NET => Kind::Network(Box::new(self.network())),
            _ => Kind::Boot(Boot {
                marker: self.text().to_string(),
            }),
        };
        Event {
            host,
            time: Ts(time),
            utc_time,
            channel,
            provider,
            event_id,
            record_id,
            prov,
            kind,
        }
    }

    fn process(&mut self) -> Process {
        let m = self.uint();
        let bit = |i: u32| m & (1 << i) != 0;
        let image = self.owned();
        Process {
            image,
            entity_id: self.opt_text(bit(0)),
            pid: self.opt_uint(bit(1)),
            command_line: self.opt_text(bit(2)),
            parent_entity_id: self.opt_text(bit(3)),
            parent_pid: self.opt_uint(bit(4)),
            parent_image: self.opt_text(bit(5)),
            parent_command_line: self.opt_text(bit(6)),
            user: self.opt_text(bit(7)),
            hashes: self.opt_text(bit(8)),
            current_directory: self.opt_text(bit(9)),
            integrity_level: self.opt_text(bit(10)),
        }
    }

    fn network(&mut self) -> Network {
        let m = self.uint();
        let bit = |i: u32| m & (1 << i) != 0;
        let local_side = SIDES[usize::from(self.byte()).min(SIDES.len() - 1)];
        let image = self.owned();
        let transport = self.owned();
        let local_ip = self.owned();
        let remote_ip = self.owned();
        let port = |d: &mut Self, on: bool| d.opt_uint(on).map(|p| p as u16);
        Network {
            image,
            transport,
            local_ip,
            remote_ip,
            entity_id: self.opt_text(bit(0)),
            pid: self.opt_uint(bit(1)),
            local_port: port(self, bit(2)),
            remote_port: port(self, bit(3)),
            user: self.opt_text(bit(4)),
            direction: if bit(5) {
                Direction::Egress
            } else {
                Direction::Ingress
            },
            source_was_local: bit(6),
            local_side,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_round_trips_extremes() {
        for v in [0, 1, -1, i64::MAX, i64::MIN, 12345, -98765] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
