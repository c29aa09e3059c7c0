//! An EVTX file: the 4 KiB file header, then chunks, a new one whenever a record does not fit.

use std::io::{Seek, SeekFrom, Write};

use super::WriterError;
use super::binxml::{Template, Value};
use super::chunk::{ChunkWriter, RecordParts};
use super::schema::{Layout, system_template, system_values};

pub const FILE_HEADER_SIZE: usize = 4096;

/// One event to write: its layout, time, writer process/thread, and EventData values in the
/// layout's field order.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub layout: &'static Layout,
    /// 100 ns intervals since 1601-01-01 UTC (`System/TimeCreated` and the record header).
    pub filetime: u64,
    pub process_id: u32,
    pub thread_id: u32,
    pub values: Vec<Value>,
}

/// Writes one host's log: records get consecutive ids from `first_record_id`.
pub struct EvtxWriter<W: Write + Seek> {
    out: W,
    system: Template,
    chunk: ChunkWriter,
    chunks: u64,
    next_record_id: u64,
}

impl<W: Write + Seek> EvtxWriter<W> {
    pub fn new(mut out: W, computer: &str, first_record_id: u64) -> Result<Self, WriterError> {
        out.write_all(&[0; FILE_HEADER_SIZE])?;
        Ok(EvtxWriter {
            out,
            system: system_template(computer),
            chunk: ChunkWriter::new(),
            chunks: 0,
            next_record_id: first_record_id,
        })
    }

    /// Write `event` and return its EventRecordID.
    pub fn write(&mut self, event: &EventRecord) -> Result<u64, WriterError> {
        if event.values.len() != event.layout.fields.len() {
            return Err(WriterError::FieldCount {
                event_id: event.layout.event_id,
                expected: event.layout.fields.len(),
                found: event.values.len(),
            });
        }
        let record_id = self.next_record_id;
        let system_values = system_values(
            event.layout,
            record_id,
            event.filetime,
            event.process_id,
            event.thread_id,
        );
        let parts = RecordParts {
            record_id,
            filetime: event.filetime,
            system: &self.system,
            system_values: &system_values,
            data: &event.layout.template,
            data_values: &event.values,
        };
        if !self.chunk.write_record(&parts)? {
            let full = std::mem::take(&mut self.chunk);
            self.out.write_all(&full.finish())?;
            self.chunks += 1;
            if !self.chunk.write_record(&parts)? {
                return Err(WriterError::RecordTooLarge { record_id });
            }
        }
        self.next_record_id += 1;
        Ok(record_id)
    }

    fn flush_chunk(&mut self) -> Result<(), WriterError> {
        let chunk = std::mem::take(&mut self.chunk);
        if !chunk.is_empty() {
            self.out.write_all(&chunk.finish())?;
            self.chunks += 1;
        }
        Ok(())
    }

    /// Write the last chunk and the file header; return the sink.
    pub fn finish(mut self) -> Result<W, WriterError> {
        self.flush_chunk()?;
        let chunk_count =
            u16::try_from(self.chunks).map_err(|_| WriterError::TooManyChunks(self.chunks))?;
        let header = file_header(self.chunks, chunk_count, self.next_record_id);
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&header)?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The file header of a cleanly closed log of `chunks` chunks.
fn file_header(chunks: u64, chunk_count: u16, next_record_id: u64) -> Vec<u8> {
    let mut h = vec![0u8; FILE_HEADER_SIZE];
    h[0..8].copy_from_slice(b"ElfFile\0");
    h[8..16].copy_from_slice(&0u64.to_le_bytes());
    h[16..24].copy_from_slice(&chunks.saturating_sub(1).to_le_bytes());
    h[24..32].copy_from_slice(&next_record_id.to_le_bytes());
    h[32..36].copy_from_slice(&128u32.to_le_bytes());
    h[36..38].copy_from_slice(&1u16.to_le_bytes());
    h[38..40].copy_from_slice(&3u16.to_le_bytes());
    h[40..42].copy_from_slice(&(FILE_HEADER_SIZE as u16).to_le_bytes());
    h[42..44].copy_from_slice(&chunk_count.to_le_bytes());
    // Flags at 120 stay 0: neither dirty nor full.
    let crc = crc32fast::hash(&h[..120]);
    h[124..128].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Write `events` (in order) to an in-memory EVTX file.
pub fn write_to_vec(
    computer: &str,
    first_record_id: u64,
    events: &[EventRecord],
) -> Result<Vec<u8>, WriterError> {
    let mut writer = EvtxWriter::new(std::io::Cursor::new(Vec::new()), computer, first_record_id)?;
    for event in events {
        writer.write(event)?;
    }
    Ok(writer.finish()?.into_inner())
}
