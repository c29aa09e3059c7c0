//! EVTX integrity checks: the file header's and every chunk's CRC32s, and reading a file whose
//! header is damaged from its chunks.
//!
//! The file header stores the CRC32 of its first 120 bytes at offset 124. A chunk's header
//! stores at offset 124 the CRC32 of its bytes 0..120 and 128..512, and at offset 52 the CRC32 of
//! its records (from byte 512 up to the free-space offset). A flag (`0x4`, no CRC32) in the
//! header or the chunk says it stores none. A chunk failing either is still read — nothing is
//! lost — but its records are unverified: each of its events is marked (see
//! [`crate::integrity`]).

use crate::record::Damage;
use evtx::EvtxChunkData;
use std::io::{Read, Seek, SeekFrom};

/// The EVTX file signature.
pub const FILE_MAGIC: &[u8; 8] = b"ElfFile\0";
/// The EVTX chunk signature.
pub const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
/// The "no CRC32" flag of a file or chunk header.
const NO_CRC32: u32 = 0x4;
/// The file header block's size, as an intact header states it at offset 40.
const HEADER_BLOCK: u16 = 4096;

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

/// Damage of the file header (its first 128 bytes or more): a wrong signature, a CRC32
/// mismatch. Records are not lost to it: chunks are found at their fixed offsets.
pub fn file_header_damage(head: &[u8]) -> Vec<Damage> {
    let mut out = Vec::new();
    if head.len() < 128 {
        return out;
    }
    let at = |reason: String| Damage {
        chunk: None,
        offset: Some(0),
        line: None,
        records_lost: Some(0),
        reason,
    };
    if &head[..8] != FILE_MAGIC {
        out.push(at(format!(
            "file header signature damaged (reads {}, not ElfFile): read from its chunks",
            escape_bytes(&head[..8])
        )));
    }
    let (stored, computed) = (u32_at(head, 124), crc32fast::hash(&head[..120]));
    if !file_header_crc_ok(head) {
        out.push(at(format!(
            "file header CRC32 mismatch (stored {stored:#010x}, computed {computed:#010x}): \
             the header's counts and flags are unverified"
        )));
    }
    out
}

/// Whether the file header (at least its first 128 bytes) is intact by its CRC32, or says it
/// stores none.
pub fn file_header_crc_ok(head: &[u8]) -> bool {
    head.len() >= 128
        && (u32_at(head, 120) & NO_CRC32 != 0 || u32_at(head, 124) == crc32fast::hash(&head[..120]))
}

/// Which CRC32 of a chunk failed, as a damage entry, with the records it holds (read, but
/// unverified). Empty when the chunk is intact or says it stores no CRC32.
pub fn chunk_damage(chunk: &EvtxChunkData, number: u64, base: u64) -> Vec<Damage> {
    let mut out = Vec::new();
    let h = &chunk.header;
    let flags = u32_at(&chunk.data, 120);
    if flags & NO_CRC32 != 0 {
        return out;
    }
    let records = h
        .last_event_record_id
        .checked_sub(h.first_event_record_id)
        .map(|n| n.saturating_add(1));
    let held = match records {
        Some(n) => format!("its {n} record(s) are read but unverified"),
        None => "its records are read but unverified".into(),
    };
    let damage = |offset: u64, reason: String| Damage {
        chunk: Some(number),
        offset: Some(offset),
        line: None,
        records_lost: Some(0),
        reason,
    };
    if !chunk.validate_header_checksum() {
        let mut crc = crc32fast::Hasher::new();
        crc.update(chunk.data.get(..120).unwrap_or_default());
        crc.update(chunk.data.get(128..512).unwrap_or_default());
        out.push(damage(
            base,
            format!(
                "chunk header CRC32 mismatch (stored {:#010x}, computed {:#010x}): {held}",
                h.header_chunk_checksum,
                crc.finalize()
            ),
        ));
    }
    if !chunk.validate_data_checksum() {
        let end = h.free_space_offset as usize;
        let reason = match chunk.data.get(512..end) {
            Some(records) => format!(
                "chunk data CRC32 mismatch over bytes {:#x}..{:#x} (stored {:#010x}, computed \
                 {:#010x}): {held}",
                base + 512,
                base + end as u64,
                h.events_checksum,
                crc32fast::hash(records)
            ),
            None => format!(
                "chunk data CRC32 cannot be checked: free-space offset {end:#x} is outside the \
                 chunk: {held}"
            ),
        };
        out.push(damage(base + 512, reason));
    }
    out
}

/// Record ids the chunks read leave out or hold twice. `read`: `(chunk number, first record
/// id, last record id)` of each chunk read whose header checks out, in the order read (oldest
/// records first, as Windows reads a log that wrapped around), in which the ids of an intact log
/// ascend without a hole. A hole is records lost: at the first chunk between that was neither
/// read nor reported damaged (a zeroed chunk, which the crate passes over as unused) or else at
/// the chunk after the hole. Ids that go back are a chunk holding copies of records read before
/// (or a stale chunk). At the end, when the header is intact and was closed cleanly
/// (`header_next`: the next record id it names), the records it names beyond the last chunk.
pub fn record_gaps(
    read: &[(u64, u64, u64)],
    chunks: u64,
    reported: &[u64],
    header_next: Option<u64>,
) -> Vec<Damage> {
    let mut out = Vec::new();
    let offset = |c: u64| 4096 + c * 65536;
    // The chunk read so far that ends with the highest id, and that id.
    let mut high: Option<(u64, u64)> = None;
    let mut prev: Option<u64> = None;
    for &(n, first, last) in read.iter().filter(|r| r.1 <= r.2) {
        if let Some((h, top)) = high {
            if first <= top {
                out.push(Damage {
                    chunk: Some(n),
                    offset: Some(offset(n)),
                    line: None,
                    records_lost: Some(0),
                    reason: format!(
                        "chunk {n} holds record ids {first}..={}, which chunk {h} read before it \
                         holds already: copies of the same records, or a stale chunk",
                        last.min(top)
                    ),
                });
            } else if first > top + 1 {
                let a = prev.unwrap_or(h);
                // The chunks between, in reading order (a wrapped log goes on from chunk 0).
                let between: Vec<u64> = if n > a {
                    (a + 1..n).collect()
                } else {
                    (a + 1..chunks).chain(0..n).collect()
                };
                let lost = first - top - 1;
                let (at, why) = match between.iter().find(|c| !reported.contains(c)) {
                    Some(&z) => (z, format!("chunk {z} before chunk {n} is empty (zeroed)")),
                    None if between.is_empty() => (n, format!("they are missing before chunk {n}")),
                    // The chunks between are reported damaged, with what they held.
                    None => {
                        high = Some((n, last));
                        prev = Some(n);
                        continue;
                    }
                };
                out.push(Damage {
                    chunk: Some(at),
                    offset: Some(offset(at)),
                    line: None,
                    records_lost: Some(lost),
                    reason: format!(
                        "no chunk holds record ids {}..={}: {why}",
                        top + 1,
                        first - 1
                    ),
                });
            }
        }
        if high.is_none_or(|(_, top)| last > top) {
            high = Some((n, last));
        }
        prev = Some(n);
    }
    if let (Some(next), Some((c, last))) = (header_next, high)
        && next > last.saturating_add(1)
    {
        let at = read.last().map_or(c, |r| r.0 + 1).min(chunks);
        out.push(Damage {
            chunk: Some(at),
            offset: Some(offset(at)),
            line: None,
            records_lost: Some(next - last - 1),
            reason: format!(
                "the file header says records up to {} were written, no chunk holds more than \
                 record {last}: records {}..={} are in no chunk",
                next - 1,
                last + 1,
                next - 1
            ),
        });
    }
    out
}

/// The byte offset in its chunk of the record with id `record_id`, found by walking the record
/// headers from the first (each gives its size); `None` when the walk does not reach it.
pub fn record_offset(chunk: &[u8], record_id: u64) -> Option<u64> {
    let mut at = 512usize;
    while at + 24 <= chunk.len() {
        if chunk[at..at + 4] != [0x2a, 0x2a, 0, 0] {
            return None;
        }
        let size = u32_at(chunk, at + 4) as usize;
        let id = u64::from_le_bytes(chunk[at + 8..at + 16].try_into().ok()?);
        if id == record_id {
            return Some(at as u64);
        }
        if size < 24 {
            return None;
        }
        at = at.checked_add(size)?;
    }
    None
}

/// Whether a file whose first bytes are `head` (at least 4104 of them) holds EVTX chunks at
/// their fixed places although its own signature is damaged.
pub fn chunks_without_signature(head: &[u8]) -> bool {
    head.len() >= 4104 && &head[..8] != FILE_MAGIC && &head[4096..4104] == CHUNK_MAGIC
}

/// A reader that shows a damaged file header with its signature and header block size
/// repaired, so that the chunks behind it are read (the bytes on disk are unchanged, and the
/// damage is reported by [`file_header_damage`]).
/// With `repair` false it passes every byte through.
pub struct RepairedHeader<R> {
    inner: R,
    pos: u64,
    repair: bool,
}

impl<R> RepairedHeader<R> {
    pub fn new(inner: R, repair: bool) -> Self {
        RepairedHeader {
            inner,
            pos: 0,
            repair,
        }
    }
}

impl<R: Read> Read for RepairedHeader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.repair || self.pos >= 42 {
            self.pos += n as u64;
            return Ok(n);
        }
        let block = HEADER_BLOCK.to_le_bytes();
        for (k, b) in buf[..n].iter_mut().enumerate() {
            let at = self.pos + k as u64;
            if at >= 42 {
                break;
            }
            match at {
                0..8 => *b = FILE_MAGIC[at as usize],
                40 | 41 => *b = block[at as usize - 40],
                _ => {}
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for RepairedHeader<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

/// Bytes as text: printable ASCII as is, the rest as `\xNN`.
fn escape_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if c.is_ascii_graphic() {
                (c as char).to_string()
            } else {
                format!("\\x{c:02x}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Vec<u8> {
        let mut h = vec![0u8; 4096];
        h[..8].copy_from_slice(FILE_MAGIC);
        h[40..42].copy_from_slice(&4096u16.to_le_bytes());
        let crc = crc32fast::hash(&h[..120]);
        h[124..128].copy_from_slice(&crc.to_le_bytes());
        h
    }

    #[test]
    fn file_header_checks() {
        let h = header();
        assert!(file_header_damage(&h).is_empty());
        let mut bad = h.clone();
        bad[30] ^= 1;
        let d = file_header_damage(&bad);
        assert_eq!(d.len(), 1);
        assert!(d[0].reason.contains("CRC32 mismatch"), "{}", d[0].reason);
        assert_eq!((d[0].offset, d[0].records_lost), (Some(0), Some(0)));
        bad[120] = NO_CRC32 as u8;
        assert!(file_header_damage(&bad).is_empty());
        let mut sig = h.clone();
        sig[3] = b'X';
        let d = file_header_damage(&sig);
        assert_eq!(d.len(), 2);
        assert!(d[0].reason.contains("ElfXile"), "{}", d[0].reason);
    }

    #[test]
    fn gaps_behind_zeroed_chunks_are_records_lost() {
        // Chunks 0, 1 and 3 read; 2 zeroed: 201..=300 lost.
        let read = [(0, 1, 100), (1, 101, 200), (3, 301, 400)];
        let d = record_gaps(&read, 4, &[], None);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].chunk, d[0].records_lost), (Some(2), Some(100)));
        assert_eq!(d[0].offset, Some(4096 + 2 * 65536));
        // Chunk 2 already reported (unparseable): not twice.
        assert!(record_gaps(&read, 4, &[2], None).is_empty());
        // A hole with no chunk between: lost before the next chunk.
        let d = record_gaps(&[(0, 1, 100), (1, 201, 300)], 2, &[], None);
        assert_eq!((d[0].chunk, d[0].records_lost), (Some(1), Some(100)));
        // A chunk copied over another: its ids go back (copies), then a hole.
        let d = record_gaps(&[(0, 1, 100), (1, 1, 100), (2, 201, 300)], 3, &[], None);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].chunk, d[0].records_lost), (Some(1), Some(0)));
        assert!(d[0].reason.contains("copies"), "{}", d[0].reason);
        assert_eq!((d[1].chunk, d[1].records_lost), (Some(2), Some(100)));
        // Intact: nothing.
        assert!(record_gaps(&read[..2], 4, &[], Some(201)).is_empty());
        // A wrapped log: read 2, 3, then 0; chunk 1 zeroed... between 0 and nothing.
        let wrapped = [(2, 1, 100), (3, 101, 200), (1, 301, 400)];
        let d = record_gaps(&wrapped, 4, &[], None);
        assert_eq!(d[0].chunk, Some(0));
        // The header names records past the last chunk.
        let d = record_gaps(&read[..2], 4, &[], Some(251));
        assert_eq!((d[0].chunk, d[0].records_lost), (Some(2), Some(50)));
        assert!(record_gaps(&read[..2], 4, &[], Some(201)).is_empty());
    }

    #[test]
    fn records_are_found_by_id() {
        let mut c = vec![0u8; 1024];
        for (k, at) in [(7u64, 512usize), (8, 600)] {
            c[at..at + 4].copy_from_slice(&[0x2a, 0x2a, 0, 0]);
            c[at + 4..at + 8].copy_from_slice(&88u32.to_le_bytes());
            c[at + 8..at + 16].copy_from_slice(&k.to_le_bytes());
        }
        assert_eq!(record_offset(&c, 7), Some(512));
        assert_eq!(record_offset(&c, 8), Some(600));
        assert_eq!(record_offset(&c, 9), None);
    }

    #[test]
    fn chunks_found_behind_a_damaged_signature() {
        let mut f = header();
        f.extend_from_slice(CHUNK_MAGIC);
        assert!(!chunks_without_signature(&f));
        f[0] = 0;
        assert!(chunks_without_signature(&f));
        f[4096] = 0;
        assert!(!chunks_without_signature(&f));
    }

    #[test]
    fn repaired_header_reads_as_intact() {
        let mut f = vec![0xAAu8; 5000];
        let mut r = RepairedHeader::new(std::io::Cursor::new(f.clone()), true);
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(&got[..8], FILE_MAGIC);
        assert_eq!(&got[40..42], &4096u16.to_le_bytes());
        f[..8].copy_from_slice(FILE_MAGIC);
        f[40..42].copy_from_slice(&4096u16.to_le_bytes());
        assert_eq!(got, f);
        r.seek(SeekFrom::Start(4)).unwrap();
        let mut b = [0u8; 2];
        r.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"il");
    }
}
