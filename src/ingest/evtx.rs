//! EVTX reader: the evtx crate, parallel over chunks, rendering only the records we keep.
//!
//! Each record's template substitution values are scanned first (cheap, no rendering). When
//! they have the layout the Windows event log service writes (Level u8 at 0, EventID u16 at 3,
//! TimeCreated FILETIME at 6, EventRecordID u64 at 10) and the event id is not one we keep, the
//! record is counted and skipped. Everything else is rendered to JSON and read field by field.

use super::evtx_check::{RepairedHeader, chunk_damage, file_header_damage};
use super::json_event::record_from_event_json_bytes;
use super::template::{LayoutCache, read_record, read_record_if};
use crate::error::error_chain;
use crate::record::{Damage, Provenance, RawRecord, ReadStats, wanted_event_id};
use crate::time::Ts;
use evtx::binxml::value_variant::BinXmlValue;
use evtx::{EvtxChunk, EvtxChunkData, EvtxParser, EvtxRecord, EvtxRecordHeader, ParserSettings};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

pub const FILE_HEADER_SIZE: u64 = 4096;
pub const CHUNK_SIZE: u64 = 65536;
/// The read buffer of a file being parsed (see [`read_hashed_with`]).
const HEADER_SCAN_BUFFER: usize = 4096;
/// Chunks handed to the thread pool at once: bounds memory to about this many × 64 KiB.
const CHUNK_BATCH: usize = 64;

/// What one chunk gave.
struct ChunkOut {
    records: Vec<RawRecord>,
    read: u64,
    wanted: u64,
    damage: Vec<Damage>,
    paths: PathCounts,
    /// The chunk failed a CRC32 check (its records are read, unverified).
    unverified: Option<u64>,
    /// (chunk number, first record id, last record id), from its header when that checks out.
    span: Option<(u64, u64, u64)>,
}

/// How wanted EVTX records were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// From the template definition and substitution values ([`super::template`]), rendering
    /// JSON only for records it does not handle (the default).
    Direct,
    /// Every wanted record rendered to JSON by the crate and read back (the oracle).
    Json,
}

/// Records read by each path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathCounts {
    /// Read from template values.
    pub direct: u64,
    /// Rendered to JSON (all of them in [`Mode::Json`]).
    pub json: u64,
    /// Chunks read whole by walking their records directly (see `walk_direct`), without the
    /// crate's record iterator.
    pub walked_chunks: u64,
    /// Chunks read with the crate's record iterator.
    pub iterated_chunks: u64,
}

/// Files up to this size are read into memory in one go by [`read`] and [`read_with`]; larger
/// ones are streamed. [`read_hashed_with`] always streams.
pub const WHOLE_FILE_MAX: u64 = 64 << 20;

/// Read one EVTX file. Never fails as a whole once the file opened: damage is reported in the
/// stats and everything readable is returned.
pub fn read(path: &Path, display: &Arc<str>) -> std::io::Result<(Vec<RawRecord>, ReadStats)> {
    read_with(path, display, Mode::Direct).map(|(r, s, _)| (r, s))
}

/// [`read`] with the path for wanted records chosen, and how many records took each.
pub fn read_with(
    path: &Path,
    display: &Arc<str>,
    mode: Mode,
) -> std::io::Result<(Vec<RawRecord>, ReadStats, PathCounts)> {
    let file = crate::open::open_input(path)?;
    let size = file.metadata()?.len();
    let (batches, stats, paths) = if size <= WHOLE_FILE_MAX {
        let bytes = read_whole(file, size)?;
        let size = bytes.len() as u64;
        read_from(Cursor::new(bytes), size, display, mode, &|r| r)?
    } else {
        read_from(BufReader::new(file), size, display, mode, &|r| r)?
    };
    Ok((batches.into_iter().flatten().collect(), stats, paths))
}

/// Read one EVTX file streaming, handing each chunk's wanted records to `map` on the worker
/// that parsed the chunk (so raw records live only as long as their chunk), and return `map`'s
/// results in chunk order with the file's size and SHA-256 (lower-case hex). The hash is taken
/// from the very bytes the parser read, as it read them: each file is read from disk once, and
/// only one batch of chunks per file is in memory at a time.
pub fn read_hashed_with<T: Send>(
    path: &Path,
    display: &Arc<str>,
    map: &(dyn Fn(Vec<RawRecord>) -> T + Sync),
) -> std::io::Result<(Vec<T>, ReadStats, (u64, String))> {
    let file = crate::open::open_input(path)?;
    let size = file.metadata()?.len();
    let mut rest = file.try_clone()?;
    let state = Arc::new(std::sync::Mutex::new(HashState::default()));
    let reader = HashingReader {
        inner: file,
        pos: 0,
        state: state.clone(),
    };
    let (out, stats, _) = read_from(
        // Small: the crate first reads every chunk's 512-byte header, each after a seek, to
        // find the oldest chunk; a chunk-sized buffer read the whole file for that (and then
        // again for the chunks). Chunks (64 KiB reads) bypass a buffer smaller than them.
        BufReader::with_capacity(HEADER_SCAN_BUFFER, reader),
        size,
        display,
        Mode::Direct,
        map,
    )?;
    let mut st = std::mem::take(&mut *state.lock().unwrap_or_else(|e| e.into_inner()));
    // Whatever the parser did not read (a trailing partial chunk, a region it skipped) is
    // hashed from where the sequential hash stopped.
    rest.seek(SeekFrom::Start(st.upto))?;
    let mut buf = vec![0u8; CHUNK_SIZE as usize];
    loop {
        match rest.read(&mut buf)? {
            0 => break,
            n => {
                st.hasher.update(&buf[..n]);
                st.upto += n as u64;
            }
        }
    }
    Ok((out, stats, (st.upto, hex::encode(st.hasher.finalize()))))
}

/// The SHA-256 of a file's bytes from 0 up to `upto`, fed as they are first read.
#[derive(Default)]
struct HashState {
    hasher: Sha256,
    upto: u64,
}

/// A reader that hashes the bytes it reads the first time they extend the contiguous hashed
/// prefix; reads behind it or past a gap are passed through unhashed (see [`read_hashed_with`]).
struct HashingReader {
    inner: File,
    pos: u64,
    state: Arc<std::sync::Mutex<HashState>>,
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let end = self.pos + n as u64;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if self.pos <= st.upto && end > st.upto {
            let from = (st.upto - self.pos) as usize;
            st.hasher.update(&buf[from..n]);
            st.upto = end;
        }
        self.pos = end;
        Ok(n)
    }
}

impl Seek for HashingReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

fn read_whole(mut file: File, size: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(size as usize + 1);
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Parse a file, handing each chunk's wanted records to `map` on the thread that parsed it;
/// `map`'s results come back in chunk order.
fn read_from<R: Read + Seek + Send, T: Send>(
    mut reader: R,
    size: u64,
    display: &Arc<str>,
    mode: Mode,
    map: &(dyn Fn(Vec<RawRecord>) -> T + Sync),
) -> std::io::Result<(Vec<T>, ReadStats, PathCounts)> {
    let mut stats = ReadStats::default();
    let mut paths = PathCounts::default();
    // The header, read by hand first: the crate refuses some damaged headers we still want to
    // describe (and a header-only file is "truncated", not "empty").
    let mut head = vec![0u8; FILE_HEADER_SIZE as usize];
    let got = read_up_to(&mut reader, &mut head)?;
    reader.seek(SeekFrom::Start(0))?;
    if got < 128 {
        stats.truncated = true;
        stats.damage.push(Damage {
            chunk: None,
            offset: Some(0),
            line: None,
            records_lost: None,
            reason: format!("file holds {size} bytes, less than an EVTX file header"),
        });
        return Ok((Vec::new(), stats, paths));
    }
    // A damaged header is reported and read past: chunks are at fixed offsets, and each has
    // CRC32s of its own.
    stats.damage.extend(file_header_damage(&head[..got]));
    stats.header_unverified = !super::evtx_check::file_header_crc_ok(&head[..got]);
    let repair = &head[..8] != super::evtx_check::FILE_MAGIC
        || u16::from_le_bytes([head[40], head[41]]) != FILE_HEADER_SIZE as u16;
    let reader = RepairedHeader::new(reader, repair);
    let header_chunks = u16::from_le_bytes([head[42], head[43]]) as u64;
    let next_record_id = u64::from_le_bytes(head[24..32].try_into().unwrap_or([0; 8]));
    let flags = u32::from_le_bytes(head[120..124].try_into().unwrap_or([0; 4]));
    stats.dirty = flags & 1 != 0;
    let whole_chunks = size.saturating_sub(FILE_HEADER_SIZE) / CHUNK_SIZE;
    let partial = size > FILE_HEADER_SIZE && (size - FILE_HEADER_SIZE) % CHUNK_SIZE != 0;
    if size < FILE_HEADER_SIZE {
        stats.truncated = true;
        stats.notes.push(format!(
            "file holds {size} bytes, less than the 4096-byte file header"
        ));
    } else if whole_chunks < header_chunks || partial {
        stats.truncated = true;
        stats.notes.push(format!(
            "header names {header_chunks} chunk(s), file holds {whole_chunks} whole chunk(s){}",
            if partial { " and a partial one" } else { "" }
        ));
    } else if whole_chunks == 0 && next_record_id > 1 {
        stats.truncated = true;
        stats.notes.push(format!(
            "header only: the header says records up to {} were written, the file holds no chunk",
            next_record_id - 1
        ));
    }
    if partial {
        stats.damage.push(Damage {
            chunk: Some(whole_chunks),
            offset: Some(FILE_HEADER_SIZE + whole_chunks * CHUNK_SIZE),
            line: None,
            records_lost: None,
            reason: format!(
                "incomplete chunk: file ends {} bytes into it",
                (size - FILE_HEADER_SIZE) % CHUNK_SIZE
            ),
        });
    }

    let mut parser = match EvtxParser::from_read_seek(reader) {
        Ok(p) => p,
        Err(e) => {
            stats.damage.push(Damage {
                chunk: None,
                offset: Some(0),
                line: None,
                records_lost: None,
                reason: format!("unreadable file header: {}", error_chain(&e)),
            });
            return Ok((Vec::new(), stats, paths));
        }
    };
    let settings = Arc::new(ParserSettings::default().indent(false));
    let mut records = Vec::new();
    let mut spans = Vec::new();
    let flush = |batch: Vec<EvtxChunkData>,
                 records: &mut Vec<T>,
                 stats: &mut ReadStats,
                 paths: &mut PathCounts,
                 spans: &mut Vec<(u64, u64, u64)>| {
        let outs: Vec<(ChunkOut, T)> = batch
            .into_par_iter()
            .map(|chunk| {
                let mut out = read_chunk(chunk, &settings, display, mode);
                out.wanted = out.records.len() as u64;
                let mapped = map(std::mem::take(&mut out.records));
                (out, mapped)
            })
            .collect();
        for (out, mapped) in outs {
            paths.direct += out.paths.direct;
            paths.json += out.paths.json;
            paths.walked_chunks += out.paths.walked_chunks;
            paths.iterated_chunks += out.paths.iterated_chunks;
            stats.records_read += out.read;
            stats.records_wanted += out.wanted;
            stats.damage.extend(out.damage);
            stats.unverified_chunks.extend(out.unverified);
            spans.extend(out.span);
            records.push(mapped);
        }
    };
    // The next batch of chunks is read (and hashed) while the one before it is parsed: on one
    // thread the two simply take turns; on more, reading a large file no longer waits for
    // the parse of every batch.
    let mut chunks = parser.chunks().fuse();
    let mut next_batch = || -> (Vec<EvtxChunkData>, Vec<Damage>) {
        let mut batch = Vec::with_capacity(CHUNK_BATCH);
        let mut damage = Vec::new();
        for chunk in chunks.by_ref() {
            match chunk {
                Ok(c) => {
                    batch.push(c);
                    if batch.len() == CHUNK_BATCH {
                        break;
                    }
                }
                Err(e) => {
                    let chunk_no = chunk_number_of(&e);
                    // An incomplete trailing chunk was already reported from the file size.
                    if partial && chunk_no == Some(whole_chunks) {
                        continue;
                    }
                    damage.push(Damage {
                        chunk: chunk_no,
                        offset: chunk_no.map(|n| FILE_HEADER_SIZE + n * CHUNK_SIZE),
                        line: None,
                        records_lost: None,
                        reason: error_chain(&e),
                    });
                }
            }
        }
        (batch, damage)
    };
    let (mut batch, damage) = next_batch();
    // Damage is reported in file order: a batch's read errors, then its chunks' own.
    stats.damage.extend(damage);
    while !batch.is_empty() {
        let ((following, damage), ()) = rayon::join(&mut next_batch, || {
            flush(
                std::mem::take(&mut batch),
                &mut records,
                &mut stats,
                &mut paths,
                &mut spans,
            )
        });
        stats.damage.extend(damage);
        batch = following;
    }
    // Records in no chunk: behind zeroed chunks, or named by a clean header past the last one.
    let reported: Vec<u64> = stats.damage.iter().filter_map(|d| d.chunk).collect();
    let clean_header = !stats.dirty
        && !stats.truncated
        && !stats.header_unverified
        && &head[..8] == super::evtx_check::FILE_MAGIC;
    stats.damage.extend(super::evtx_check::record_gaps(
        &spans,
        whole_chunks,
        &reported,
        clean_header.then_some(next_record_id),
    ));
    Ok((records, stats, paths))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn chunk_number_of(e: &evtx::err::EvtxError) -> Option<u64> {
    match e {
        evtx::err::EvtxError::FailedToParseChunk { chunk_id, .. } => Some(*chunk_id),
        _ => None,
    }
}

fn read_chunk(
    mut data: EvtxChunkData,
    settings: &Arc<ParserSettings>,
    display: &Arc<str>,
    mode: Mode,
) -> ChunkOut {
    let number = data.number.unwrap_or(0);
    let base = FILE_HEADER_SIZE + number * CHUNK_SIZE;
    let declared = data
        .header
        .last_event_record_number
        .saturating_sub(data.header.first_event_record_number)
        .saturating_add(1);
    let mut out = ChunkOut {
        records: Vec::new(),
        read: 0,
        wanted: 0,
        damage: chunk_damage(&data, number, base),
        paths: PathCounts::default(),
        unverified: None,
        span: data.validate_header_checksum().then_some((
            number,
            data.header.first_event_record_id,
            data.header.last_event_record_id,
        )),
    };
    if !out.damage.is_empty() {
        out.unverified = Some(number);
    }
    let mut layouts = LayoutCache::default();
    let mut chunk = match data.parse(settings.clone()) {
        Ok(c) => c,
        Err(e) => {
            out.damage.push(Damage {
                chunk: Some(number),
                offset: Some(base),
                line: None,
                records_lost: Some(declared),
                reason: format!("chunk cannot be parsed: {}", error_chain(&e)),
            });
            return out;
        }
    };
    if mode == Mode::Direct
        && let Some(fast) = walk_direct(&chunk, number, base, display, &mut layouts)
    {
        out.read = fast.read;
        out.paths.direct = fast.direct;
        out.paths.walked_chunks = 1;
        out.records = fast.records;
        return out;
    }
    out.paths.iterated_chunks = 1;
    let bytes: &[u8] = chunk.data;
    for rec in chunk.iter() {
        match rec {
            Ok(rec) => {
                out.read += 1;
                let offset = base + rec.binxml_offset.saturating_sub(24);
                if let Some(id) = quick_event_id(&rec)
                    && !wanted_event_id(u32::from(id))
                {
                    continue;
                }
                let header_id = rec.event_record_id;
                let header_time = jiff_to_ts(&rec.timestamp);
                let prov = Provenance {
                    file: display.clone(),
                    chunk: Some(number),
                    offset: Some(offset),
                    line: None,
                };
                if mode == Mode::Direct {
                    let start = rec.binxml_offset as usize;
                    let end = start.saturating_add(rec.binxml_size as usize);
                    if let Some(mut r) =
                        read_record(&mut layouts, rec.chunk.data, start, end, prov.clone())
                    {
                        out.paths.direct += 1;
                        if !wanted_event_id(r.event_id) {
                            continue;
                        }
                        fill_from_header(&mut r, header_id, header_time);
                        out.records.push(r);
                        continue;
                    }
                }
                out.paths.json += 1;
                match rec.into_json_bytes() {
                    Ok(json) => match record_from_event_json_bytes(&json.data, prov) {
                        Ok(Some(mut r)) => {
                            if !wanted_event_id(r.event_id) {
                                continue;
                            }
                            fill_from_header(&mut r, header_id, header_time);
                            out.records.push(r);
                        }
                        Ok(None) => {}
                        Err(e) => out.damage.push(Damage {
                            chunk: Some(number),
                            offset: Some(offset),
                            line: None,
                            records_lost: Some(1),
                            reason: format!("record {header_id}: rendered JSON unreadable: {e}"),
                        }),
                    },
                    Err(e) => out.damage.push(Damage {
                        chunk: Some(number),
                        offset: Some(offset),
                        line: None,
                        records_lost: Some(1),
                        reason: format!(
                            "record {header_id} cannot be rendered: {}",
                            error_chain(&e)
                        ),
                    }),
                }
            }
            Err(e) => {
                let (off, id) = match &e {
                    evtx::err::EvtxError::FailedToReadRecordAt { offset, .. } => {
                        (Some(base + offset), None)
                    }
                    evtx::err::EvtxError::FailedToParseRecord { record_id, .. } => (
                        super::evtx_check::record_offset(bytes, *record_id).map(|o| base + o),
                        Some(*record_id),
                    ),
                    _ => (None, None),
                };
                let mut reason = error_chain(&e);
                if let Some(id) = id
                    && !reason.contains(&id.to_string())
                {
                    reason = format!("record {id}: {reason}");
                }
                out.damage.push(Damage {
                    chunk: Some(number),
                    offset: off,
                    line: None,
                    records_lost: Some(1),
                    reason,
                });
            }
        }
    }
    out
}

/// What [`walk_direct`] read from a chunk.
struct Walked {
    records: Vec<RawRecord>,
    read: u64,
    direct: u64,
}

/// Read a chunk without the crate's record iterator, which builds every record's content tree
/// even when it is not rendered: walk the record headers as the crate does and read each record
/// from its template values ([`read_record_if`]; unwanted records only as far as their event
/// id). All or nothing: `None` as soon as anything is unusual — a record header the crate would
/// refuse or that is not followed by its size copy, record ids not ascending within the chunk
/// header's range, a record the direct reader leaves to the JSON path — and the chunk is read
/// again by the crate's iterator, which reports damage and renders what is left.
fn walk_direct(
    chunk: &EvtxChunk<'_>,
    number: u64,
    base: u64,
    display: &Arc<str>,
    layouts: &mut LayoutCache,
) -> Option<Walked> {
    let data = chunk.data;
    let header = chunk.header;
    let live_end = (header.free_space_offset as usize).min(data.len());
    let mut at = CHUNK_HEADER_SIZE;
    let mut last_id = None;
    let mut w = Walked {
        records: Vec::new(),
        read: 0,
        direct: 0,
    };
    while at < live_end {
        let rh = EvtxRecordHeader::from_bytes_at(data, at).ok()?;
        let start = at + RECORD_HEADER_SIZE;
        let end = start.checked_add(rh.record_data_size().ok()? as usize)?;
        let copy = data.get(end..end.checked_add(4)?)?;
        let id = rh.event_record_id;
        if u32::from_le_bytes(copy.try_into().ok()?) != rh.data_size
            || id < header.first_event_record_id
            || id > header.last_event_record_id
            || last_id.is_some_and(|l| id <= l)
        {
            return None;
        }
        last_id = Some(id);
        w.read += 1;
        let offset = base + at as u64;
        let prov = || Provenance {
            file: display.clone(),
            chunk: Some(number),
            offset: Some(offset),
            line: None,
        };
        if let Some(mut r) = read_record_if(layouts, data, start, end, wanted_event_id, prov)? {
            w.direct += 1;
            fill_from_header(&mut r, id, jiff_to_ts(&rh.timestamp));
            w.records.push(r);
        }
        if id == header.last_event_record_id {
            break;
        }
        at += rh.data_size as usize;
    }
    Some(w)
}

/// A record id or time the record's own System data lacks is taken from its record header.
fn fill_from_header(r: &mut RawRecord, id: u64, time: Option<Ts>) {
    if r.record_id.is_none() {
        r.record_id = Some(id);
    }
    if r.time.is_none() {
        r.time = time;
    }
}

const CHUNK_HEADER_SIZE: usize = 512;
const RECORD_HEADER_SIZE: usize = 24;

/// The EventID from the substitution values, when the record has the Windows System layout.
fn quick_event_id(rec: &EvtxRecord<'_>) -> Option<u16> {
    let inst = rec.template_instances().ok()?;
    let vals = &inst.first()?.values;
    if vals.len() < 11 {
        return None;
    }
    match (&vals[0], &vals[3], &vals[6], &vals[10]) {
        (
            BinXmlValue::UInt8Type(_),
            BinXmlValue::UInt16Type(id),
            BinXmlValue::FileTimeType(_),
            BinXmlValue::UInt64Type(_),
        ) => Some(*id),
        _ => None,
    }
}

fn jiff_to_ts(t: &evtx::Timestamp) -> Option<Ts> {
    Ts::from_unix(t.as_second(), (t.subsec_nanosecond().max(0) / 100) as u32)
}
