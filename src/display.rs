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
    if !json.chars().any(needs_escape) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
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
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(
            (or_unknown(Some(49163u16)), or_unknown(None::<u64>)),
            ("49163".to_string(), "?".to_string())
        );
        assert_eq!(clip_left("dir/sub/file.evtx", 10), "…file.evtx");
        assert_eq!(clip_left("a.evtx", 10), "a.evtx");
        let j = serde_json::to_string("a\u{9b}2J\u{7f}\u{202e}").unwrap();
        let safe = json_term(&j);
        assert_eq!(safe, "\"a\\u009b2J\\u007f\\u202e\"");
        assert_eq!(
            serde_json::from_str::<String>(&safe).unwrap(),
            "a\u{9b}2J\u{7f}\u{202e}"
        );
    }
}
