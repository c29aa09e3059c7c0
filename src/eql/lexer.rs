//! EQL tokenizer. Never panics: every malformed input becomes a [`ParseError`].

use super::error::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A plain identifier or keyword, dots included (`process.parent.name`, `where`).
    Ident(String),
    /// A backquoted field name (`` `my field` ``): never a keyword.
    Quoted(String),
    Str(String),
    Int(i64),
    Float(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    EqEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Colon,
    Assign,
    Question,
    Tilde,
    Minus,
    Eof,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Quoted(s) => format!("`{s}`"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Int(i) => format!("number {i}"),
            Tok::Float(f) => format!("number {f}"),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::Comma => "','".into(),
            Tok::EqEq => "'=='".into(),
            Tok::Ne => "'!='".into(),
            Tok::Lt => "'<'".into(),
            Tok::Le => "'<='".into(),
            Tok::Gt => "'>'".into(),
            Tok::Ge => "'>='".into(),
            Tok::Colon => "':'".into(),
            Tok::Assign => "'='".into(),
            Tok::Question => "'?'".into(),
            Tok::Tilde => "'~'".into(),
            Tok::Minus => "'-'".into(),
            Tok::Eof => "end of query".into(),
        }
    }
}

/// A token with its byte range in the query text.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '@'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '@' || c == '.'
}

/// Split `src` into tokens; the last one is [`Tok::Eof`].
pub fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut i = 0usize;
    let err = |at: usize, msg: String| Err(ParseError::at(src, at, msg));
    while i < b.len() {
        let c = match src[i..].chars().next() {
            Some(c) => c,
            None => break,
        };
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        if src[i..].starts_with("//") {
            i = src[i..].find('\n').map_or(src.len(), |n| i + n);
            continue;
        }
        if src[i..].starts_with("/*") {
            match src[i + 2..].find("*/") {
                Some(n) => i += 2 + n + 2,
                None => return err(i, "unterminated comment".into()),
            }
            continue;
        }
        let start = i;
        let single = |t: Tok| Some((t, 1usize));
        let two = |t: Tok| Some((t, 2usize));
        let next = b.get(i + 1).copied();
        let simple = match c {
            '(' => single(Tok::LParen),
            ')' => single(Tok::RParen),
            '[' => single(Tok::LBracket),
            ']' => single(Tok::RBracket),
            ',' => single(Tok::Comma),
            ':' => single(Tok::Colon),
            '~' => single(Tok::Tilde),
            '-' => single(Tok::Minus),
            '=' if next == Some(b'=') => two(Tok::EqEq),
            '=' => single(Tok::Assign),
            '!' if next == Some(b'=') => two(Tok::Ne),
            '<' if next == Some(b'=') => two(Tok::Le),
            '<' => single(Tok::Lt),
            '>' if next == Some(b'=') => two(Tok::Ge),
            '>' => single(Tok::Gt),
            '?' if next != Some(b'"') => single(Tok::Question),
            _ => None,
        };
        if let Some((tok, len)) = simple {
            i += len;
            out.push(Token { tok, start, end: i });
            continue;
        }
        let tok = if c == '?' {
            // ?"raw string": no escape processing; \" does not end it and is kept as is.
            let mut j = i + 2;
            loop {
                match b.get(j) {
                    None | Some(b'\n') | Some(b'\r') => {
                        return err(start, "unterminated raw string".into());
                    }
                    Some(b'\\') if b.get(j + 1) == Some(&b'"') => j += 2,
                    Some(b'"') => break,
                    Some(_) => j += 1,
                }
            }
            let s = src[i + 2..j].to_owned();
            i = j + 1;
            Tok::Str(s)
        } else if src[i..].starts_with("\"\"\"") {
            match src[i + 3..].find("\"\"\"") {
                Some(n) => {
                    let s = src[i + 3..i + 3 + n].to_owned();
                    i += 3 + n + 3;
                    Tok::Str(s)
                }
                None => return err(start, "unterminated \"\"\" string".into()),
            }
        } else if c == '"' {
            let (s, end) = lex_string(src, i)?;
            i = end;
            Tok::Str(s)
        } else if c == '\'' {
            return err(
                start,
                "single-quoted strings are not supported; use double quotes".into(),
            );
        } else if c == '`' {
            // Backquoted field name; `` inside stands for one backquote.
            let mut s = String::new();
            let mut j = i + 1;
            loop {
                match src[j..].chars().next() {
                    None => return err(start, "unterminated backquoted field name".into()),
                    Some('`') if src[j + 1..].starts_with('`') => {
                        s.push('`');
                        j += 2;
                    }
                    Some('`') => {
                        j += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(ch);
                        j += ch.len_utf8();
                    }
                }
            }
            if s.is_empty() {
                return err(start, "empty field name".into());
            }
            i = j;
            Tok::Quoted(s)
        } else if c.is_ascii_digit() {
            let (t, end) = lex_number(src, i)?;
            i = end;
            t
        } else if is_ident_start(c) {
            let mut j = i;
            while let Some(ch) = src[j..].chars().next() {
                if !is_ident_char(ch) {
                    break;
                }
                j += ch.len_utf8();
            }
            let s = &src[i..j];
            if s.ends_with('.') || s.contains("..") {
                return err(start, format!("malformed field name '{s}'"));
            }
            i = j;
            Tok::Ident(s.to_owned())
        } else {
            return err(start, format!("unexpected character {c:?}"));
        };
        out.push(Token { tok, start, end: i });
    }
    // End of query is reported right after the last token, not after trailing blank lines.
    let end = out.last().map_or(0, |t| t.end);
    out.push(Token {
        tok: Tok::Eof,
        start: end,
        end,
    });
    Ok(out)
}

/// A double-quoted string with escapes `\" \' \\ \n \r \t \b \f \u{HEX}`; returns the value and
/// the byte index after the closing quote.
fn lex_string(src: &str, start: usize) -> Result<(String, usize), ParseError> {
    let mut s = String::new();
    let mut j = start + 1;
    loop {
        let ch = match src[j..].chars().next() {
            None | Some('\n') | Some('\r') => {
                return Err(ParseError::at(src, start, "unterminated string".into()));
            }
            Some(ch) => ch,
        };
        match ch {
            '"' => return Ok((s, j + 1)),
            '\\' => {
                let esc = src[j + 1..].chars().next();
                let push = match esc {
                    Some('"') => '"',
                    Some('\'') => '\'',
                    Some('\\') => '\\',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('t') => '\t',
                    Some('b') => '\u{8}',
                    Some('f') => '\u{c}',
                    Some('u') => {
                        let rest = &src[j + 2..];
                        let close = rest.find('}');
                        let hex = match (rest.starts_with('{'), close) {
                            (true, Some(n)) if (2..=9).contains(&n) => &rest[1..n],
                            _ => {
                                return Err(ParseError::at(
                                    src,
                                    j,
                                    "invalid unicode escape; expected \\u{HEX}".into(),
                                ));
                            }
                        };
                        let cp = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                        match cp {
                            Some(c) => {
                                s.push(c);
                                j += 2 + hex.len() + 2;
                                continue;
                            }
                            None => {
                                return Err(ParseError::at(
                                    src,
                                    j,
                                    format!("invalid unicode code point \\u{{{hex}}}"),
                                ));
                            }
                        }
                    }
                    Some(other) => {
                        return Err(ParseError::at(
                            src,
                            j,
                            format!("unknown escape sequence \\{other}"),
                        ));
                    }
                    None => {
                        return Err(ParseError::at(src, start, "unterminated string".into()));
                    }
                };
                s.push(push);
                j += 2;
            }
            _ => {
                s.push(ch);
                j += ch.len_utf8();
            }
        }
    }
}

fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let b = src.as_bytes();
    let mut j = start;
    while b.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    let mut float = false;
    if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        float = true;
        j += 1;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
    }
    if matches!(b.get(j), Some(b'e') | Some(b'E')) {
        let mut k = j + 1;
        if matches!(b.get(k), Some(b'+') | Some(b'-')) {
            k += 1;
        }
        if b.get(k).is_some_and(u8::is_ascii_digit) {
            float = true;
            j = k;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
        }
    }
    let text = &src[start..j];
    let tok = if float {
        text.parse::<f64>().ok().map(Tok::Float)
    } else {
        text.parse::<i64>().ok().map(Tok::Int)
    };
    match tok {
        Some(t) => Ok((t, j)),
        None => Err(ParseError::at(
            src,
            start,
            format!("number '{text}' is out of range"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            toks(r#""a\"b\\c\u{41}" """x\y"z""" ?"C:\Win\" ok""#),
            vec![
                Tok::Str("a\"b\\cA".into()),
                Tok::Str("x\\y\"z".into()),
                Tok::Str("C:\\Win\\\" ok".into()),
                Tok::Eof
            ]
        );
        assert!(tokenize(r#""\q""#).is_err());
        assert!(tokenize("\"abc").is_err());
        assert!(tokenize("'abc'").is_err());
    }

    #[test]
    fn operators_fields_numbers() {
        assert_eq!(
            toks("a.b>=1 `x y`!=2.5 ?f in~ 1m // c\n/* d */"),
            vec![
                Tok::Ident("a.b".into()),
                Tok::Ge,
                Tok::Int(1),
                Tok::Quoted("x y".into()),
                Tok::Ne,
                Tok::Float(2.5),
                Tok::Question,
                Tok::Ident("f".into()),
                Tok::Ident("in".into()),
                Tok::Tilde,
                Tok::Int(1),
                Tok::Ident("m".into()),
                Tok::Eof
            ]
        );
        assert!(tokenize("99999999999999999999").is_err());
        assert!(tokenize("a..b").is_err());
    }
}
