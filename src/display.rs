//! Making attacker-controlled text safe for the examiner's terminal.

/// Escape control characters (including ESC, CR, LF, NUL, DEL and C1 controls) and Unicode
/// bidirectional overrides so that a value can neither move the cursor, recolour the terminal,
/// nor visually reorder text. Printable text is returned unchanged.
pub fn term(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A serialized JSON text made safe for a terminal: serde_json escapes C0 controls but
/// writes DEL, C1 controls (U+009B is a one-character CSI) and bidi overrides raw. Those only
/// occur inside strings, where `\uXXXX` means the same character: the JSON value is unchanged.
pub fn json_term(json: &str) -> String {
    // Raw LF, CR and TAB are only ever whitespace between tokens (pretty-printed JSON):
    // serde_json escapes them inside strings.
    let escape = |c: char| needs_escape(c) && !matches!(c, '\n' | '\r' | '\t');
    if !json.chars().any(escape) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escape(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Append `s` as a JSON string, with every character [`needs_escape`] names written `\uXXXX`
/// (serde_json writes DEL, C1 controls, bidi overrides and U+2028/2029 raw): the same value for
/// a JSON reader, safe to show in a terminal.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    if s.bytes().any(|b| b >= 0x7f) && s.chars().any(needs_escape) {
        let raw = serde_json::to_string(s)?;
        out.extend_from_slice(json_term(&raw).as_bytes());
        Ok(())
    } else {
        serde_json::to_writer(out, s)
    }
}

/// Control characters (C0, DEL, C1), bidirectional overrides, isolates and marks, and the
/// Unicode line and paragraph separators (U+2028/2029, which some terminals and editors break
/// lines at).
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{061c}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// A path as the run shows and records it: its text where it is printable UTF-8, with every
/// byte that is not valid UTF-8 written `\xNN`, control and bidi characters escaped as by
/// [`term`], and a backslash written `\\` — so that two different paths never show alike
/// (`a/\xfe.evtx` is the byte 0xFE, `a/\\xfe.evtx` the four characters).
#[cfg(unix)]
pub fn path_text(p: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = p.as_os_str().as_bytes();
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else if needs_escape(c) {
                let mut b = [0u8; 4];
                out.push_str(&term(c.encode_utf8(&mut b)));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A path as the run shows and records it (see the Unix version); here lossy.
#[cfg(not(unix))]
pub fn path_text(p: &std::path::Path) -> String {
    term(&p.to_string_lossy())
}

/// The path's bytes in hex when [`path_text`] does not show them as plain text (the path is not
/// valid UTF-8, or holds an escaped character or a backslash): the lossless form a manifest
/// records beside the text.
#[cfg(unix)]
pub fn path_hex(p: &std::path::Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = p.as_os_str().as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(|c| c == '\\' || needs_escape(c)) => None,
        _ => Some(hex::encode(bytes)),
    }
}

/// See the Unix version: paths here are always recorded as text.
#[cfg(not(unix))]
pub fn path_hex(_p: &std::path::Path) -> Option<String> {
    None
}

/// A number that may be unknown, as shown to a person: the number, or `?`.
pub fn or_unknown<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

/// Shorten for a table cell, keeping the start; marks the cut with `…`.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Shorten keeping the end (for file paths, whose name is at the end); marks the cut with `…`.
pub fn clip_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let mut t = String::from("…");
    t.extend(s.chars().skip(n - max.saturating_sub(1)));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(term("plain C:\\x.exe"), "plain C:\\x.exe");
        assert_eq!(term("a\x1b[31mred\x07"), "a\\x1b[31mred\\x07");
        assert_eq!(term("l1\r\nl2\0"), "l1\\r\\nl2\\x00");
        assert_eq!(term("x\u{202e}gpj.exe"), "x\\u{202e}gpj.exe");
        assert_eq!(term("\u{9b}2J"), "\\x9b2J");
        assert_eq!(term("a\u{2028}b\u{2029}"), "a\\u{2028}b\\u{2029}");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(
            (or_unknown(Some(49163u16)), or_unknown(None::<u64>)),
            ("49163".to_string(), "?".to_string())
        );
        assert_eq!(clip_left("dir/sub/file.evtx", 10), "…file.evtx");
        assert_eq!(clip_left("a.evtx", 10), "a.evtx");
        let mut v = Vec::new();
        write_json_str(&mut v, "x\u{9b}\u{2066}\"").unwrap();
        write_json_str(&mut v, "C:\\é").unwrap();
        assert_eq!(v, b"\"x\\u009b\\u2066\\\"\"\"C:\\\\\xc3\xa9\"");
        let j = serde_json::to_string("a\u{2028}").unwrap();
        assert_eq!(json_term(&j), "\"a\\u2028\"");
        let j = serde_json::to_string("a\u{9b}2J\u{7f}\u{202e}").unwrap();
        let safe = json_term(&j);
        assert_eq!(safe, "\"a\\u009b2J\\u007f\\u202e\"");
        assert_eq!(
            serde_json::from_str::<String>(&safe).unwrap(),
            "a\u{9b}2J\u{7f}\u{202e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn paths_show_every_byte_and_never_alike() {
        use std::os::unix::ffi::OsStrExt;
        let p = |b: &[u8]| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b));
        let fe = p(b"a/\xfe.evtx");
        let ff = p(b"a/\xff.evtx");
        let literal = p(b"a/\\xfe.evtx");
        assert_eq!(path_text(&fe), "a/\\xfe.evtx");
        assert_eq!(path_text(&ff), "a/\\xff.evtx");
        assert_eq!(path_text(&literal), "a/\\\\xfe.evtx");
        assert_eq!(
            path_text(&p(b"x\x1b[2J\xe2\x80\xae.evtx")),
            "x\\x1b[2J\\u{202e}.evtx"
        );
        assert_eq!(
            path_text(&p("dir/Sécurité.evtx".as_bytes())),
            "dir/Sécurité.evtx"
        );
        assert_eq!(path_hex(&fe).as_deref(), Some("612ffe2e65767478"));
        assert_eq!(path_hex(&p(b"dir/x.evtx")), None);
        assert!(path_hex(&literal).is_some());
    }
}
