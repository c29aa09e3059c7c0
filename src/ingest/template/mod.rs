//! The direct EVTX path: a record's System fields and EventData pairs read from its template
//! definition and substitution values, without rendering JSON.
//!
//! A template definition (MS-EVEN6 §2.2) is walked once per chunk into a small tree and turned
//! into a `Layout`: which substitution (or constant text) gives each System field and each
//! EventData field. A record is then read by rendering only those values, as the evtx crate's
//! JSON renderer writes them and [`super::json_event`] reads them back. Anything outside the
//! shapes handled here (arrays, floats, repeated names, text mixed with substitutions, values
//! an element depends on being empty, …) gives `None`, and the caller renders JSON instead.

mod layout;
mod values;

pub use layout::LayoutCache;
pub use values::write_guid;

use crate::record::{Provenance, RawRecord};
use crate::time::Ts;
use layout::{DataSpec, Layout, Src};
use values::{deps_present, le, nested_instance, push_fields, single_instance, text};

/// FILETIME of 10000-01-01: earlier times render with a four-digit year, which
/// [`Ts::parse`] reads back as the same ticks.
const FILETIME_YEAR_10000: u64 = 2_650_467_744_000_000_000;

/// Read a record directly. `chunk` is the chunk's data, `start..end` the record's BinXML.
/// `None`: the record is left to the JSON path.
pub fn read_record(
    cache: &mut LayoutCache,
    chunk: &[u8],
    start: usize,
    end: usize,
    prov: Provenance,
) -> Option<RawRecord> {
    read_record_if(cache, chunk, start, end, |_| true, || prov).flatten()
}

/// [`read_record`] for the records whose event id `want` accepts; the others are only read as
/// far as their event id. `None`: left to the JSON path; `Some(None)`: not wanted.
pub fn read_record_if(
    cache: &mut LayoutCache,
    chunk: &[u8],
    start: usize,
    end: usize,
    want: impl FnOnce(u32) -> bool,
    prov: impl FnOnce() -> Provenance,
) -> Option<Option<RawRecord>> {
    let inst = single_instance(chunk, start, end)?;
    let layout = cache.get(chunk, inst.def_offset)?;
    let Layout::Event(ev) = &*layout else {
        return None;
    };
    let values = &inst.values;
    if !deps_present(values, &ev.deps) {
        return None;
    }
    let event_id = text(values, &ev.event_id)?
        .trim()
        .parse::<u32>()
        .unwrap_or(0);
    let wanted = want(event_id);
    // Every nested BinXML value is parsed, as the crate's iterator parses it whether or not the
    // record is kept: one it could not parse makes the record damage there, so here it leaves
    // the record to the crate. A kept record's EventData value is parsed below, where it is read.
    let data_at = match &ev.data {
        DataSpec::Nested(i) if wanted => Some(usize::from(*i)),
        _ => None,
    };
    for (k, &(ty, b)) in values.iter().enumerate() {
        if ty == 0x21 && !b.is_empty() && Some(k) != data_at {
            cache.get(chunk, nested_instance(chunk, b)?.def_offset)?;
        }
    }
    if !wanted {
        return Some(None);
    }
    let prov = prov();
    let record_id = text(values, &ev.record_id)?.trim().parse::<u64>().ok();
    let time = match &ev.time {
        Src::Sub(i) => match values.get(usize::from(*i))? {
            &(0x11, b) => {
                let ft = u64::from_le_bytes(le(b)?);
                if ft < FILETIME_YEAR_10000 {
                    Some(Ts::from_filetime(ft))
                } else {
                    Ts::parse(&text(values, &ev.time)?)
                }
            }
            _ => Ts::parse(&text(values, &ev.time)?),
        },
        other => Ts::parse(&text(values, other)?),
    };
    let mut data = Vec::new();
    match &ev.data {
        DataSpec::None => {}
        DataSpec::Fields(f) => push_fields(values, f, &mut data)?,
        DataSpec::Nested(i) => match *values.get(usize::from(*i))? {
            (0x00, _) => {}
            (0x21, b) => {
                let inner = nested_instance(chunk, b)?;
                let layout = cache.get(chunk, inner.def_offset)?;
                let Layout::Data(dl) = &*layout else {
                    return None;
                };
                if !deps_present(&inner.values, &dl.deps) {
                    return None;
                }
                match &dl.data {
                    DataSpec::Fields(f) => push_fields(&inner.values, f, &mut data)?,
                    DataSpec::None => {}
                    DataSpec::Nested(_) => return None,
                }
            }
            _ => return None,
        },
    }
    Some(Some(RawRecord {
        channel: text(values, &ev.channel)?,
        provider: text(values, &ev.provider)?,
        event_id,
        record_id,
        time,
        computer: text(values, &ev.computer)?,
        data,
        prov,
    }))
}
