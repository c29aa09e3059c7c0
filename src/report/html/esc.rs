//! Writing evidence values into the page: every value is text, never markup.
//!
//! `&`, `<`, `>`, `"` and `'` become character references, so a value can neither open an
//! element nor leave an attribute. Characters that would not show as themselves — control
//! characters (NUL, ESC, CR, DEL, C1), Unicode bidirectional controls and invisible formatting
//! characters, noncharacters — are written as a visible mark `⟨U+XXXX⟩` in a `ctl` span, so the
//! page shows exactly what the record holds and nothing is reordered or hidden. Line feeds and
//! tabs are kept (cells keep white space).

use std::fmt::Write;

/// Whether `c` is written as a visible `⟨U+XXXX⟩` mark instead of itself.
pub fn marked(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        c if c.is_control() => true,
        '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}'
        | '\u{061c}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}' => true,
        c => {
            let u = c as u32;
            (0xfdd0..=0xfdef).contains(&u) || u & 0xfffe == 0xfffe
        }
    }
}

/// Append `s` as HTML text (also safe inside a quoted attribute value).
pub fn text(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            c if marked(c) => {
                out.push_str(&s[start..i]);
                let _ = write!(out, "<span class=\"ctl\">⟨U+{:04X}⟩</span>", c as u32);
                start = i + c.len_utf8();
                continue;
            }
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
}

/// `s` as HTML text, in a new string.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    text(&mut out, s);
    out
}

/// Append `s` as an attribute value (inside double quotes): markup characters as references,
/// every other character that is not plain printable text as a numeric reference.
pub fn attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if marked(c) || c == '\n' || c == '\t' => {
                // A control character cannot be written as a reference either (NUL and C1
                // references are replaced by the parser): the `⟨U+XXXX⟩` text instead.
                let _ = write!(out, "⟨U+{:04X}⟩", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_controls() {
        assert_eq!(
            html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(
            html("a\u{1b}[2Jb\u{0}c\u{202e}d\u{9b}e\nf\tg"),
            "a<span class=\"ctl\">⟨U+001B⟩</span>[2Jb<span class=\"ctl\">⟨U+0000⟩</span>c\
             <span class=\"ctl\">⟨U+202E⟩</span>d<span class=\"ctl\">⟨U+009B⟩</span>e\nf\tg"
        );
        assert_eq!(
            html("\u{fffe}x\u{ffff}\u{fdd0}\u{1fffe}"),
            "<span class=\"ctl\">⟨U+FFFE⟩</span>x<span class=\"ctl\">⟨U+FFFF⟩</span>\
             <span class=\"ctl\">⟨U+FDD0⟩</span><span class=\"ctl\">⟨U+1FFFE⟩</span>"
        );
        // Ordinary non-ASCII text is kept as it is.
        assert_eq!(
            html("C:\\Users\\Jürgen\\日本.exe"),
            "C:\\Users\\Jürgen\\日本.exe"
        );
        let mut a = String::new();
        attr(&mut a, "x\"onmouseover='y'\n<b>&\u{0}");
        assert_eq!(
            a,
            "x&quot;onmouseover=&#39;y&#39;⟨U+000A⟩&lt;b&gt;&amp;⟨U+0000⟩"
        );
    }
}
