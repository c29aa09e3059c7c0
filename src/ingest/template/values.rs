//! Template instances and their substitution values: read from a record's BinXML, and each
//! value written as text exactly as the evtx crate's JSON renderer writes it.

use super::layout::{Reader, Src};
use crate::time::iso_digits;
use std::fmt::Write as _;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Template instances and values

/// One template instance's substitution values: `(type, bytes)` each.
pub(super) struct Instance<'a> {
    pub(super) def_offset: u32,
    pub(super) values: Vec<(u8, &'a [u8])>,
}

/// Read the `TemplateInstance` whose token is at `pos` of the chunk; returns it and where it
/// ends.
fn read_instance(data: &[u8], pos: usize) -> Option<(Instance<'_>, usize)> {
    let mut r = Reader { data, pos };
    if r.u8()? != 0x0c {
        return None;
    }
    r.u8()?;
    r.u32()?;
    let def_offset = r.u32()?;
    if def_offset as usize == r.pos {
        r.u32()?;
        r.take(16)?;
        let size = r.u32()? as usize;
        r.take(size)?;
    }
    let count = r.u32()? as usize;
    let desc = r.take(count.checked_mul(4)?)?;
    let mut values = Vec::with_capacity(count);
    for d in desc.chunks_exact(4) {
        let size = usize::from(u16::from_le_bytes([d[0], d[1]]));
        let value = r.take(size)?;
        if !read_as_sized(d[2], value) {
            return None;
        }
        values.push((d[2], value));
    }
    Some((Instance { def_offset, values }, r.pos))
}

/// Whether the evtx crate reads a value of this type as exactly the descriptor's bytes. It reads
/// fixed-size types at their own size and SIDs by their sub-authority count whatever the
/// descriptor says, and the values after a mismatch from where it stopped; string arrays run to
/// their last NUL. Anything else (a damaged descriptor, types this reader does not know) is
/// left to the crate, so both paths read the same values.
fn read_as_sized(ty: u8, b: &[u8]) -> bool {
    let n = b.len();
    match ty {
        0x00 | 0x02 | 0x0e | 0x21 => true,
        0x01 => n % 2 == 0,
        0x03 | 0x04 => n == 1,
        0x05 | 0x06 => n == 2,
        0x07 | 0x08 | 0x0b | 0x0d | 0x14 => n == 4,
        0x09 | 0x0a | 0x0c | 0x11 | 0x15 => n == 8,
        0x0f | 0x12 => n == 16,
        0x10 => n == 4 || n == 8,
        0x13 => n >= 8 && n == 8 + 4 * usize::from(b[1]),
        0x81 => n % 2 == 0 && (n == 0 || b.ends_with(&[0, 0])),
        _ => false,
    }
}

/// The single instance of a BinXML stream `data[start..end]` (fragment header, instance, then
/// the end or EOF).
pub(super) fn single_instance(data: &[u8], start: usize, end: usize) -> Option<Instance<'_>> {
    let head = data.get(start..start.checked_add(5)?)?;
    if head[0] != 0x0f || head[4] != 0x0c {
        return None;
    }
    let (inst, at) = read_instance(data.get(..end)?, start + 4)?;
    (at == end || data.get(at) == Some(&0)).then_some(inst)
}

/// The single instance of a nested BinXML value `b`, a slice of `chunk`: nested definitions
/// are referenced by chunk offsets, so the fragment is parsed in its place in the chunk.
pub(super) fn nested_instance<'c>(chunk: &'c [u8], b: &[u8]) -> Option<Instance<'c>> {
    let at = (b.as_ptr() as usize).checked_sub(chunk.as_ptr() as usize)?;
    single_instance(chunk, at, at.checked_add(b.len())?)
}

/// An empty value, as an element's dependency sees it; `None` when the index is not there.
fn is_empty_value(v: Option<&(u8, &[u8])>) -> bool {
    match v {
        None => true,
        Some(&(ty, b)) => ty == 0 || b.is_empty() || (ty == 0x01 && b.starts_with(&[0, 0])),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.fffffffZ` of a date, seconds of the day and ticks ([`iso_digits`]).
fn write_datetime(out: &mut String, year: u64, month: u64, day: u64, secs: u64, ticks: u64) {
    let b = iso_digits([
        year % 10_000,
        month,
        day,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ticks,
    ]);
    out.extend(b.iter().map(|&c| char::from(c)));
}

fn write_filetime(out: &mut String, ft: u64) {
    if ft > i64::MAX as u64 {
        out.push_str("0000-00-00T00:00:00.0000000Z");
        return;
    }
    const DAY: u64 = 864_000_000_000;
    let (days, ticks) = (ft / DAY, ft % DAY);
    let z = days + 584_694;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    write_datetime(
        out,
        year,
        month,
        day,
        ticks / 10_000_000,
        ticks % 10_000_000,
    );
}

fn write_systime(out: &mut String, b: &[u8]) -> Option<()> {
    let f = |i: usize| u64::from(u16::from_le_bytes([b[i * 2], b[i * 2 + 1]]));
    if b.len() != 16 {
        return None;
    }
    let (year, month, day) = (f(0), f(1), f(3));
    let (hour, minute, second, ms) = (f(4), f(5), f(6), f(7));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let dim = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let valid = (1601..=30827).contains(&year)
        && (1..=12).contains(&month)
        && day >= 1
        && day <= dim
        && hour < 24
        && minute < 60
        && second < 60
        && ms < 1000;
    // Invalid SYSTEMTIMEs render as 1601-01-01; keep those to the JSON path.
    if !valid {
        return None;
    }
    write_datetime(
        out,
        year,
        month,
        day,
        hour * 3600 + minute * 60 + second,
        ms * 10_000,
    );
    Some(())
}

/// A GUID as the evtx crate renders it: `{lower-case}`, the first three groups little-endian.
/// Written digit by digit (every Sysmon record holds two or three).
pub fn write_guid(out: &mut String, g: &[u8; 16]) {
    // Bytes in the order they are printed: the first three groups reversed (little-endian).
    let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    let text = crate::event::guid_text(&order.map(|i| g[i]));
    out.extend(text.iter().map(|&c| char::from(c)));
}

pub(super) fn le<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
    b.try_into().ok()
}

/// Units gathered per block by the ASCII path of [`write_value`].
const ASCII_BLOCK: usize = 64;

/// How many leading UTF-16LE units of `b` are in 1..0x80, counted four at a time (a shorter
/// count is fine: the caller goes on one unit at a time).
fn ascii_units(b: &[u8]) -> usize {
    const HIGH: u64 = 0xFF80_FF80_FF80_FF80;
    const ONES: u64 = 0x0001_0001_0001_0001;
    const TOPS: u64 = 0x8000_8000_8000_8000;
    let mut n = 0;
    for w in b.chunks_exact(8) {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        // Every unit below 0x80 (so none borrows below) and none zero.
        if x & HIGH != 0 || x.wrapping_sub(ONES) & !x & TOPS != 0 {
            break;
        }
        n += 4;
    }
    n
}

/// Append a substitution value's text as the JSON path reads it; `None` for what is left to it.
fn write_value(out: &mut String, ty: u8, b: &[u8]) -> Option<()> {
    match ty {
        0x00 => {}
        0x01 => {
            if b.len() % 2 != 0 {
                return None;
            }
            out.reserve(b.len() / 2);
            // ASCII first (nearly every value): whole blocks of units in 1..0x80 at once, then
            // one unit at a time; the rest decoded in full.
            let ascii = ascii_units(b);
            if ascii > 0 {
                let mut buf = [0u8; ASCII_BLOCK];
                for block in b[..ascii * 2].chunks(ASCII_BLOCK * 2) {
                    let k = block.len() / 2;
                    for (d, u) in buf[..k].iter_mut().zip(block.chunks_exact(2)) {
                        *d = u[0];
                    }
                    out.push_str(std::str::from_utf8(&buf[..k]).ok()?);
                }
            }
            let b = &b[ascii * 2..];
            let mut units = b.chunks_exact(2).map(|u| u16::from_le_bytes([u[0], u[1]]));
            let mut pending = None;
            for u in units.by_ref() {
                match u {
                    0 => return Some(()),
                    1..0x80 => out.push(char::from(u as u8)),
                    _ => {
                        pending = Some(u);
                        break;
                    }
                }
            }
            let rest = pending.into_iter().chain(units).take_while(|&u| u != 0);
            for c in char::decode_utf16(rest) {
                out.push(c.ok()?);
            }
        }
        0x03 => out.push_str(itoa::Buffer::new().format(i8::from_le_bytes(le(b)?))),
        0x04 => out.push_str(itoa::Buffer::new().format(u8::from_le_bytes(le(b)?))),
        0x05 => out.push_str(itoa::Buffer::new().format(i16::from_le_bytes(le(b)?))),
        0x06 => out.push_str(itoa::Buffer::new().format(u16::from_le_bytes(le(b)?))),
        0x07 => out.push_str(itoa::Buffer::new().format(i32::from_le_bytes(le(b)?))),
        0x08 => out.push_str(itoa::Buffer::new().format(u32::from_le_bytes(le(b)?))),
        0x09 => out.push_str(itoa::Buffer::new().format(i64::from_le_bytes(le(b)?))),
        0x0a => out.push_str(itoa::Buffer::new().format(u64::from_le_bytes(le(b)?))),
        0x0d => match i32::from_le_bytes(le(b)?) {
            0 => out.push_str("false"),
            1 => out.push_str("true"),
            v => write!(out, "{v}").ok()?,
        },
        0x0e => {
            for &x in b {
                let _ = write!(out, "{x:02X}");
            }
        }
        0x0f => write_guid(out, &le(b)?),
        0x10 | 0x14 | 0x15 => {
            let v = match b.len() {
                4 if ty != 0x15 => u64::from(u32::from_le_bytes(le(b)?)),
                8 if ty != 0x14 => u64::from_le_bytes(le(b)?),
                _ => return None,
            };
            let _ = write!(out, "0x{v:x}");
        }
        0x11 => write_filetime(out, u64::from_le_bytes(le(b)?)),
        0x12 => write_systime(out, b)?,
        0x13 => {
            let &[rev, n, a0, a1, a2, a3, a4, a5, ref subs @ ..] = b else {
                return None;
            };
            if subs.len() != usize::from(n) * 4 {
                return None;
            }
            let auth = u64::from_be_bytes([0, 0, a0, a1, a2, a3, a4, a5]);
            let _ = write!(out, "S-{rev}-{auth}");
            for s in subs.chunks_exact(4) {
                let _ = write!(out, "-{}", u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
            }
        }
        _ => return None,
    }
    Some(())
}

pub(super) fn text(values: &[(u8, &[u8])], src: &Src) -> Option<String> {
    match src {
        Src::Empty => Some(String::new()),
        Src::Text(t) => Some(t.clone()),
        Src::Sub(i) => {
            let &(ty, b) = values.get(usize::from(*i))?;
            let mut s = String::new();
            write_value(&mut s, ty, b)?;
            Some(s)
        }
    }
}

pub(super) fn deps_present(values: &[(u8, &[u8])], deps: &[u16]) -> bool {
    deps.iter()
        .all(|&d| !is_empty_value(values.get(usize::from(d))))
}

pub(super) fn push_fields(
    values: &[(u8, &[u8])],
    fields: &[(Arc<str>, Src)],
    out: &mut Vec<(Arc<str>, String)>,
) -> Option<()> {
    out.reserve(fields.len());
    for (k, src) in fields {
        out.push((k.clone(), text(values, src)?));
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_render_like_the_crate() {
        let mut s = String::new();
        write_value(
            &mut s,
            0x0f,
            &[
                0x5f, 0x38, 0x70, 0x57, 0x31, 0x6c, 0x2c, 0x43, 1, 2, 3, 4, 5, 6, 7, 8,
            ],
        )
        .unwrap();
        assert_eq!(s, "{5770385f-6c31-432c-0102-030405060708}");
        s.clear();
        write_filetime(&mut s, 132_011_301_118_560_890);
        assert_eq!(s, "2019-04-30T20:35:11.8560890Z");
        s.clear();
        write_value(
            &mut s,
            0x13,
            &[1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0],
        )
        .unwrap();
        assert_eq!(s, "S-1-5-32-544");
        s.clear();
        write_value(&mut s, 0x15, &0xABu64.to_le_bytes()).unwrap();
        assert_eq!(s, "0xab");
    }

    /// UTF-16 strings: the ASCII fast path and the full decoder give `String::from_utf16`'s
    /// text, stop at the first NUL, and refuse unpaired surrogates (left to the JSON path).
    #[test]
    fn utf16_strings_decode_like_from_utf16() {
        let enc =
            |units: &[u16]| -> Vec<u8> { units.iter().flat_map(|u| u.to_le_bytes()).collect() };
        let text = |units: &[u16]| {
            let mut s = String::new();
            write_value(&mut s, 0x01, &enc(units)).map(|_| s)
        };
        for sample in [
            "",
            "cmd.exe",
            "C:\\Users\\Écran – 画面.exe",
            "é first",
            "a😀b",
            "tail ü",
        ] {
            let units: Vec<u16> = sample.encode_utf16().collect();
            assert_eq!(text(&units).as_deref(), Some(sample));
        }
        let with_nul: Vec<u16> = "ab\0cd".encode_utf16().collect();
        assert_eq!(text(&with_nul).as_deref(), Some("ab"));
        let nul_after_wide: Vec<u16> = "aé\0cd".encode_utf16().collect();
        assert_eq!(text(&nul_after_wide).as_deref(), Some("aé"));
        assert_eq!(text(&[0x61, 0xD800, 0x62]), None, "unpaired surrogate");
        let mut odd = String::new();
        assert!(write_value(&mut odd, 0x01, &[0x61, 0, 0x62]).is_none());
    }

    /// Random strings of every length up to three ASCII blocks, mostly ASCII with NULs, wide
    /// characters, surrogate pairs and lone surrogates at random places: the block-wise ASCII
    /// path and the unit-wise decoder together give exactly `String::from_utf16` of the units
    /// before the first NUL (`None` where that refuses them).
    #[test]
    fn utf16_strings_decode_like_from_utf16_at_any_position() {
        let mut rng = crate::writer::scale::Rng(0x2545_f491_4f6c_dd1d_u64);
        for len in 0..=(3 * ASCII_BLOCK + 5) {
            for _ in 0..20 {
                let mut units = Vec::with_capacity(len);
                while units.len() < len {
                    match rng.below(40) {
                        0 => units.push(0),
                        1 => units.push(0xE9),
                        2 => units.push(0x753B),
                        3 => units.extend([0xD83D, 0xDE00]),
                        4 => units.push(0xDC00),
                        5 => units.push(0x80),
                        6 => units.push(0x7F),
                        _ => units.push(0x20 + rng.below(0x5F) as u16),
                    }
                }
                let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
                let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
                let expected = String::from_utf16(&units[..end]).ok();
                let mut got = String::from("prefix:");
                let ok = write_value(&mut got, 0x01, &bytes);
                match expected {
                    Some(e) => {
                        assert!(ok.is_some(), "{units:x?}");
                        assert_eq!(got, format!("prefix:{e}"), "{units:x?}");
                    }
                    None => assert!(ok.is_none(), "{units:x?}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod digit_tests {
    use super::*;

    /// The hand-written renderings equal the `write!` formats they replace.
    #[test]
    fn digit_writers_equal_the_format_strings() {
        let mut rng = crate::writer::scale::Rng(0x9e37_79b9_7f4a_7c15_u64);
        let mut next = || rng.next();
        for _ in 0..20_000 {
            let g: [u8; 16] = std::array::from_fn(|_| next() as u8);
            let mut a = String::new();
            write_guid(&mut a, &g);
            let want = format!(
                "{{{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}}}",
                u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
                u16::from_le_bytes([g[4], g[5]]),
                u16::from_le_bytes([g[6], g[7]]),
                g[8],
                g[9],
                g[10],
                g[11],
                g[12],
                g[13],
                g[14],
                g[15]
            );
            assert_eq!(a, want);
            let (year, month, day) = (next() % 30_828, next() % 13, next() % 32);
            let (secs, ticks) = (next() % 86_400, next() % 10_000_000);
            let mut d = String::from("x");
            write_datetime(&mut d, year, month, day, secs, ticks);
            let want = format!(
                "x{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
                year % 10_000,
                month,
                day,
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                ticks
            );
            assert_eq!(d, want);
        }
    }
}
