//! `--excel`: make a CSV cell safe and complete for spreadsheet programs.
//!
//! Three changes of the *displayed* value, all documented in docs/csv.md:
//! - a time (the columns [`TIME_COLUMNS`]) is written `YYYY-MM-DD HH:MM:SS.fffffff`, UTC, which
//!   spreadsheets read as a date and time (they do not read the ISO form with `T` and `Z`);
//! - a cell starting with `=`, `+`, `-`, `@`, TAB or CR (which Excel, LibreOffice and Google
//!   Sheets would evaluate as a formula) gets a leading `'`;
//! - a cell longer than Excel's limit of 32,767 characters (UTF-16 code units) is cut to
//!   [`KEEP_UNITS`] units and ends with a marker naming the count of units left out and the
//!   `.jsonl` file that holds the full value (`--excel` always writes the `.jsonl` files too).

use std::borrow::Cow;

/// Excel's per-cell limit, in UTF-16 code units.
pub const EXCEL_CELL_LIMIT: usize = 32_767;
/// What is kept of an over-long cell, in UTF-16 code units.
pub const KEEP_UNITS: usize = 32_000;

/// The report columns holding a time (`YYYY-MM-DDTHH:MM:SS.fffffffZ`, UTC).
pub const TIME_COLUMNS: &[&str] = &["time", "utc_time", "first_time", "last_time"];

/// A report time (`2026-03-10T14:00:01.3125000Z`) as spreadsheets read a date and time
/// (`2026-03-10 14:00:01.3125000`, still UTC); `None` for any other text, which is written as is.
pub fn time_cell(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let shape = b.len() == 28
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..27)
        && b[27] == b'Z';
    shape.then(|| format!("{} {}", &s[..10], &s[11..27]))
}

/// Starts with a character a spreadsheet would take as the start of a formula.
pub fn is_formula_like(s: &str) -> bool {
    matches!(
        s.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// The cell as written in `--excel` mode. `full_in` names the file holding the full value.
/// Returns the value and whether it was truncated.
pub fn cell<'a>(s: &'a str, full_in: &str) -> (Cow<'a, str>, bool) {
    let mut v: Cow<'a, str> = if is_formula_like(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    };
    let units = v.encode_utf16().count();
    if units <= EXCEL_CELL_LIMIT {
        return (v, false);
    }
    let mut kept = 0usize;
    let mut cut = 0usize;
    for (i, c) in v.char_indices() {
        if kept + c.len_utf16() > KEEP_UNITS {
            cut = i;
            break;
        }
        kept += c.len_utf16();
        cut = i + c.len_utf8();
    }
    let left_out = units - kept;
    let mut t = String::with_capacity(cut + 80);
    t.push_str(&v[..cut]);
    t.push_str(&format!(
        "…[truncated {left_out} chars, full value in {full_in}]"
    ));
    v = Cow::Owned(t);
    (v, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralizes_formula_prefixes_only() {
        for s in ["=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            let (v, t) = cell(s, "f.jsonl");
            assert_eq!(v, format!("'{s}"));
            assert!(!t);
        }
        for s in ["", "C:\\x.exe", "a=b", " =1", "'quoted"] {
            assert_eq!(cell(s, "f.jsonl").0, s);
        }
    }

    #[test]
    fn times_become_spreadsheet_date_times() {
        assert_eq!(
            time_cell("2026-03-10T14:00:01.3125000Z").as_deref(),
            Some("2026-03-10 14:00:01.3125000")
        );
        for other in [
            "",
            "2026-03-10",
            "2026-03-10T14:00:01Z",
            "=1",
            "-0001-01-01T00:00:00.0000000Z",
        ] {
            assert_eq!(time_cell(other), None, "{other}");
        }
    }

    #[test]
    fn long_cells_are_cut_with_a_marker() {
        let s = "é".repeat(40_000);
        let (v, t) = cell(&s, "timeline.jsonl");
        assert!(t);
        assert!(v.encode_utf16().count() <= EXCEL_CELL_LIMIT);
        assert!(v.starts_with(&"é".repeat(KEEP_UNITS)));
        assert!(v.ends_with("…[truncated 8000 chars, full value in timeline.jsonl]"));
        // Astral characters are two UTF-16 units; never split one.
        let s = "😀".repeat(20_000);
        let (v, _) = cell(&s, "x");
        assert!(v.starts_with(&"😀".repeat(16_000)));
        assert!(v.contains("[truncated 8000 chars"));
        let exact = "a".repeat(EXCEL_CELL_LIMIT);
        assert_eq!(cell(&exact, "x"), (Cow::Borrowed(exact.as_str()), false));
    }
}
