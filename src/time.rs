//! Timestamps at Windows' full precision: 100-nanosecond ticks since 1601-01-01 UTC (FILETIME).
//!
//! Every clock the tool orders by is kept as [`Ts`]; it renders as UTC ISO-8601 with seven
//! fractional digits and a `Z`, e.g. `2019-05-14T01:29:04.3068859Z`.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use serde::{Serialize, Serializer};
use std::fmt;

/// Ticks between 1601-01-01 and 1970-01-01.
const EPOCH_DIFF_TICKS: i64 = 116_444_736_000_000_000;
const TICKS_PER_SEC: i64 = 10_000_000;

/// A UTC instant in 100 ns ticks since 1601-01-01 (the Windows FILETIME epoch).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ts(pub i64);

impl Ts {
    /// From a raw FILETIME value.
    pub fn from_filetime(ft: u64) -> Ts {
        Ts(i64::try_from(ft).unwrap_or(i64::MAX))
    }

    /// Seconds and sub-second ticks since the Unix epoch.
    pub fn from_unix(secs: i64, ticks: u32) -> Option<Ts> {
        secs.checked_mul(TICKS_PER_SEC)
            .and_then(|t| t.checked_add(EPOCH_DIFF_TICKS))
            .and_then(|t| t.checked_add(i64::from(ticks)))
            .map(Ts)
    }

    /// Whole seconds since the Unix epoch and the 100 ns remainder (0..10^7).
    /// Defined for every value: the epoch difference is a whole number of seconds, so it is
    /// taken off the seconds, never off the ticks (which overflows near `i64::MIN`).
    pub fn unix_parts(self) -> (i64, u32) {
        (
            self.0.div_euclid(TICKS_PER_SEC) - EPOCH_DIFF_TICKS / TICKS_PER_SEC,
            self.0.rem_euclid(TICKS_PER_SEC) as u32,
        )
    }

    /// Microseconds since the Unix epoch (Timesketch's `timestamp`).
    /// Defined for every value, as [`Ts::unix_parts`].
    pub fn unix_micros(self) -> i64 {
        self.0.div_euclid(10) - EPOCH_DIFF_TICKS / 10
    }

    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        let (s, t) = self.unix_parts();
        DateTime::<Utc>::from_timestamp(s, t * 100)
    }

    pub fn from_datetime(dt: DateTime<Utc>) -> Option<Ts> {
        Ts::from_unix(dt.timestamp(), dt.timestamp_subsec_nanos() / 100)
    }

    /// Signed difference `self - other` in ticks.
    pub fn ticks_since(self, other: Ts) -> i64 {
        self.0.saturating_sub(other.0)
    }

    pub fn plus_ticks(self, ticks: i64) -> Ts {
        Ts(self.0.saturating_add(ticks))
    }

    /// ISO-8601 UTC with 7 fractional digits and `Z`.
    pub fn iso(self) -> String {
        match self.iso_text() {
            IsoText::Digits(b) => String::from_utf8_lossy(&b).into_owned(),
            IsoText::Other(s) => s,
        }
    }

    /// [`Ts::iso`]'s text without an allocation for the years 0 to 9999 (every timeline row
    /// writes two).
    pub fn iso_text(self) -> IsoText {
        match self.to_datetime() {
            // Written digit by digit.
            Some(dt) if (0..=9999).contains(&dt.year()) => {
                let (_, t) = self.unix_parts();
                IsoText::Digits(iso_digits([
                    dt.year() as u64,
                    dt.month().into(),
                    dt.day().into(),
                    dt.hour().into(),
                    dt.minute().into(),
                    dt.second().into(),
                    t.into(),
                ]))
            }
            Some(dt) => {
                let (_, t) = self.unix_parts();
                IsoText::Other(format!("{}.{:07}Z", dt.format("%Y-%m-%dT%H:%M:%S"), t))
            }
            None => IsoText::Other(format!("invalid-filetime({})", self.0)),
        }
    }

    /// Parse an ISO-8601 / Windows `SystemTime` / Sysmon `UtcTime` string.
    ///
    /// Accepts `T` or a space between date and time, 0 to 9 fractional digits (digits past the
    /// seventh are dropped, never rounded), and an optional `Z` or numeric offset. A string
    /// without zone is taken as UTC.
    pub fn parse(s: &str) -> Option<Ts> {
        let s = s.trim();
        if s.len() < 19 || !s.is_char_boundary(19) {
            return None;
        }
        let (head, mut rest) = s.split_at(19);
        let naive_secs = match strict_head(head.as_bytes()) {
            Some(secs) => secs,
            None => {
                let head = head.replacen(' ', "T", 1);
                NaiveDateTime::parse_from_str(&head, "%Y-%m-%dT%H:%M:%S")
                    .ok()?
                    .and_utc()
                    .timestamp()
            }
        };
        let mut ticks: u32 = 0;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let (d, r) = frac.split_at(digits);
            let mut v: u32 = 0;
            for (i, b) in d.bytes().enumerate() {
                if i < 7 {
                    v = v * 10 + u32::from(b - b'0');
                }
            }
            for _ in digits..7 {
                v *= 10;
            }
            ticks = v;
            rest = r;
        }
        let offset_secs: i64 = match rest {
            "" | "Z" | "z" => 0,
            o if (o.starts_with('+') || o.starts_with('-')) && o.len() >= 3 => {
                let sign = if o.starts_with('-') { -1 } else { 1 };
                let body: String = o[1..].chars().filter(|c| *c != ':').collect();
                if body.len() != 4 || !body.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let h: i64 = body[..2].parse().ok()?;
                let m: i64 = body[2..].parse().ok()?;
                sign * (h * 3600 + m * 60)
            }
            _ => return None,
        };
        let secs = naive_secs - offset_secs;
        Ts::from_unix(secs, ticks)
    }
}

/// The text of [`Ts::iso_text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IsoText {
    /// `YYYY-MM-DDThh:mm:ss.fffffffZ`, ASCII digits.
    Digits([u8; 28]),
    /// A year outside 0 to 9999, or a time that is no date at all.
    Other(String),
}

impl IsoText {
    pub fn as_str(&self) -> &str {
        match self {
            // Only ASCII digits and separators: always UTF-8.
            IsoText::Digits(b) => std::str::from_utf8(b).unwrap_or_default(),
            IsoText::Other(s) => s,
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.fffffffZ` from year, month, day, hour, minute, second and 100 ns ticks,
/// digit by digit (it runs for every timeline row and every time value read from EVTX; `write!`
/// with padding was 3 % of a scan). Each part is written modulo its width, as `{:04}`…`{:07}`
/// would for the ranges the callers give.
pub(crate) fn iso_digits(parts: [u64; 7]) -> [u8; 28] {
    let mut b = *b"0000-00-00T00:00:00.0000000Z";
    for (mut v, (at, width)) in
        parts
            .into_iter()
            .zip([(0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2), (20, 7)])
    {
        for k in (at..at + width).rev() {
            b[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    b
}

/// Seconds since the Unix epoch of `YYYY-MM-DD[T ]HH:MM:SS` in its plain form (every digit
/// in place, a real date, hour < 24, minute and second < 60): what chrono's parser gives for
/// such text, without its format interpreter (Sysmon's `UtcTime` of every Sysmon record is
/// parsed). Anything else (a leap second, one-digit fields, …) is `None` and left to chrono.
fn strict_head(b: &[u8]) -> Option<i64> {
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        b.get(r)?.iter().try_fold(0i64, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0'))
        })
    };
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hh, mm, ss) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days_in_month = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if d < 1 || d > days_in_month || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

impl fmt::Debug for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ts({})", self.iso())
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.iso())
    }
}

/// Format a duration in ticks as seconds with millisecond precision and a sign: `+1.228 s`.
pub fn fmt_rel(ticks: i64) -> String {
    let sign = if ticks < 0 { '-' } else { '+' };
    let a = ticks.unsigned_abs();
    format!(
        "{sign}{}.{:03} s",
        a / 10_000_000,
        (a % 10_000_000) / 10_000
    )
}

/// A clock resolution in 100 ns ticks as short text: `1s`, `10ms`, `100ns`, `2.5s`.
pub fn resolution_text(ticks: i64) -> String {
    const UNITS: [(i64, &str); 4] = [(10_000_000, "s"), (10_000, "ms"), (10, "us"), (1, "00ns")];
    for (per, unit) in UNITS {
        if ticks >= per && ticks % per == 0 {
            return if unit == "00ns" {
                format!("{}00ns", ticks)
            } else {
                format!("{}{unit}", ticks / per)
            };
        }
    }
    format!("{}ms", ticks as f64 / 10_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_full_precision() {
        let t = Ts::parse("2019-05-14T01:29:04.3068859Z").unwrap();
        assert_eq!(t.iso(), "2019-05-14T01:29:04.3068859Z");
        let u = Ts::parse("2019-05-14 01:29:00.318").unwrap();
        assert_eq!(u.iso(), "2019-05-14T01:29:00.3180000Z");
        assert_eq!(t.ticks_since(u), 39_888_859);
    }

    #[test]
    fn unix_parts_at_every_value() {
        // The former form (ticks minus the epoch difference, then divided) as a reference, in
        // 128 bits so that it cannot overflow.
        let reference = |t: i64| {
            let u = i128::from(t) - i128::from(EPOCH_DIFF_TICKS);
            let tps = i128::from(TICKS_PER_SEC);
            (
                i64::try_from(u.div_euclid(tps)).unwrap(),
                u32::try_from(u.rem_euclid(tps)).unwrap(),
                i64::try_from(u.div_euclid(10)).unwrap(),
            )
        };
        for t in [
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            EPOCH_DIFF_TICKS - 1,
            EPOCH_DIFF_TICKS,
            EPOCH_DIFF_TICKS + 9,
            EPOCH_DIFF_TICKS + 10,
            132_011_301_118_560_890,
            i64::MAX - 1,
            i64::MAX,
        ] {
            let (s, f, us) = reference(t);
            assert_eq!(Ts(t).unix_parts(), (s, f), "{t}");
            assert_eq!(Ts(t).unix_micros(), us, "{t}");
        }
        assert_eq!(Ts(EPOCH_DIFF_TICKS).unix_parts(), (0, 0));
        assert_eq!(Ts(EPOCH_DIFF_TICKS - 1).unix_parts(), (-1, 9_999_999));
        assert_eq!(Ts(EPOCH_DIFF_TICKS - 1).unix_micros(), -1);
    }

    #[test]
    fn filetime_matches_windows_epoch() {
        // 132011301118560890 is record 9832's TimeCreated in the impacket MMC sample.
        assert_eq!(
            Ts::from_filetime(132011301118560890).iso(),
            "2019-04-30T20:35:11.8560890Z"
        );
    }

    #[test]
    fn offsets_and_garbage() {
        assert_eq!(
            Ts::parse("2020-09-17T13:31:47-04:00").unwrap().iso(),
            "2020-09-17T17:31:47.0000000Z"
        );
        assert_eq!(
            Ts::parse("2020-09-17T13:31:47.123456789Z").unwrap().iso(),
            "2020-09-17T13:31:47.1234567Z"
        );
        assert!(Ts::parse("not a time").is_none());
        assert!(Ts::parse("2021-02-29T00:00:00Z").is_none());
        assert_eq!(
            Ts::parse("2016-12-31T23:59:60Z"),
            Ts::parse("2016-12-31T23:59:59Z"),
            "a leap second goes to chrono, whose timestamp counts it in the second before"
        );
        assert!(Ts::parse("2020-13-40T00:00:00Z").is_none());
        assert!(Ts::parse("2020-09-17T13:31:47.Z").is_none());
        assert_eq!(fmt_rel(12_280_000), "+1.228 s");
        assert_eq!(fmt_rel(-7_200_000), "-0.720 s");
    }

    /// The digit-by-digit rendering equals chrono's `strftime` one across the FILETIME range,
    /// including the ends and years past 9999 (which take chrono's signed form).
    #[test]
    fn iso_matches_strftime() {
        let slow = |t: Ts| {
            let dt = t.to_datetime().unwrap();
            format!(
                "{}.{:07}Z",
                dt.format("%Y-%m-%dT%H:%M:%S"),
                t.unix_parts().1
            )
        };
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut samples = vec![
            0,
            1,
            9_999_999,
            132011301118560890,
            2_650_467_743_999_999_999,
        ];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push((x % 2_650_467_744_000_000_000) as i64);
        }
        samples.push(3_000_000_000_000_000_000);
        for t in samples.into_iter().map(Ts) {
            assert_eq!(t.iso(), slow(t), "{}", t.0);
        }
        assert!(Ts(3_000_000_000_000_000_000).iso().starts_with('+'));
    }

    /// The plain-form fast path gives what chrono's parser gives, and declines what it declines.
    #[test]
    fn strict_head_agrees_with_chrono() {
        let chrono_secs = |h: &str| {
            NaiveDateTime::parse_from_str(&h.replacen(' ', "T", 1), "%Y-%m-%dT%H:%M:%S")
                .ok()
                .map(|n| n.and_utc().timestamp())
        };
        let mut rng = crate::writer::scale::Rng(0x2545_f491_4f6c_dd1d_u64);
        let mut next = || rng.next();
        let mut fast = 0;
        for k in 0..200_000 {
            let (y, mo, d) = (next() % 10_000, next() % 14, next() % 33);
            let (h, mi, s) = (next() % 25, next() % 61, next() % 62);
            let sep = if k % 3 == 0 { ' ' } else { 'T' };
            let head = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}");
            let got = strict_head(head.as_bytes());
            if got.is_some() {
                fast += 1;
                assert_eq!(got, chrono_secs(&head), "{head}");
            }
            // Whatever the fast path declines, parse() still gives chrono's answer.
            assert_eq!(
                Ts::parse(&format!("{head}Z")),
                chrono_secs(&head).and_then(|t| Ts::from_unix(t, 0)),
                "{head}"
            );
        }
        assert!(
            fast > 100_000,
            "most plain dates take the fast path: {fast}"
        );
        for odd in [
            "2020-1-05T01:02:03",
            "2020-01-05T1:02:033",
            "+020-01-05T01:02:03",
        ] {
            assert_eq!(strict_head(odd.as_bytes()), None, "{odd}");
        }
        for edge in [
            "0000-01-01T00:00:00",
            "0000-02-29T23:59:59",
            "1600-02-29T12:00:00",
            "1601-01-01T00:00:00",
            "1900-03-01T00:00:00",
            "1970-01-01T00:00:00",
            "2000-02-29T00:00:00",
            "9999-12-31T23:59:59",
        ] {
            assert_eq!(strict_head(edge.as_bytes()), chrono_secs(edge), "{edge}");
            assert!(strict_head(edge.as_bytes()).is_some(), "{edge}");
        }
    }
}
