//! Compiled wildcard patterns (`*` any run, `?` one character), case-sensitive or not,
//! matched without allocating.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    One,
    Many,
}

/// A compiled pattern. Case-insensitive patterns are folded at compile time; the value is
/// folded one character at a time while matching.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    toks: Vec<Tok>,
    insensitive: bool,
    /// The pattern has no wildcard: plain (possibly case-folded) equality.
    literal: Option<String>,
}

/// Simple case folding used by every case-insensitive comparison: ASCII fast path, and the
/// single-character Unicode lowercase mapping otherwise.
pub fn fold(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        let mut it = c.to_lowercase();
        match (it.next(), it.next()) {
            (Some(l), None) => l,
            _ => c,
        }
    }
}

/// Case-insensitive string equality under [`fold`], without allocating.
pub fn eq_fold(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    let mut x = a.chars().map(fold);
    let mut y = b.chars().map(fold);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if p == q => {}
            _ => return false,
        }
    }
}

impl Pattern {
    /// Compile `pattern`. With `wildcards` false, `*` and `?` are ordinary characters.
    pub fn new(pattern: &str, insensitive: bool, wildcards: bool) -> Self {
        let mut toks = Vec::with_capacity(pattern.len());
        for c in pattern.chars() {
            let t = match c {
                '*' if wildcards => Tok::Many,
                '?' if wildcards => Tok::One,
                _ => Tok::Lit(if insensitive { fold(c) } else { c }),
            };
            if t == Tok::Many && toks.last() == Some(&Tok::Many) {
                continue;
            }
            toks.push(t);
        }
        let literal = toks
            .iter()
            .map(|t| match t {
                Tok::Lit(c) => Some(*c),
                _ => None,
            })
            .collect::<Option<String>>();
        Pattern {
            toks,
            insensitive,
            literal,
        }
    }

    /// Does `value` match the whole pattern?
    pub fn matches(&self, value: &str) -> bool {
        if let Some(lit) = &self.literal {
            return if self.insensitive {
                eq_fold(lit, value)
            } else {
                lit == value
            };
        }
        // Iterative matcher with single-star backtracking: O(len(value) * len(pattern)).
        let ins = self.insensitive;
        let v = value;
        let mut vi = 0usize; // byte index in value
        let mut pi = 0usize; // token index
        let mut star: Option<(usize, usize)> = None; // (token after star, value index)
        while vi < v.len() {
            let c = next_char(v, vi);
            let cc = if ins { fold(c) } else { c };
            match self.toks.get(pi) {
                Some(Tok::Lit(l)) if *l == cc => {
                    pi += 1;
                    vi += c.len_utf8();
                    continue;
                }
                Some(Tok::One) => {
                    pi += 1;
                    vi += c.len_utf8();
                    continue;
                }
                Some(Tok::Many) => {
                    star = Some((pi + 1, vi));
                    pi += 1;
                    continue;
                }
                _ => {}
            }
            match star {
                Some((sp, sv)) => {
                    let skipped = next_char(v, sv);
                    let nv = sv + skipped.len_utf8();
                    star = Some((sp, nv));
                    pi = sp;
                    vi = nv;
                }
                None => return false,
            }
        }
        self.toks[pi..].iter().all(|t| *t == Tok::Many)
    }
}

fn next_char(s: &str, at: usize) -> char {
    s[at..].chars().next().unwrap_or('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let p = Pattern::new("*\\mmc.exe", true, true);
        assert!(p.matches("C:\\Windows\\System32\\MMC.EXE"));
        assert!(!p.matches("C:\\Windows\\System32\\mmc.exe2"));
        let q = Pattern::new("a?c", true, true);
        assert!(q.matches("abc") && q.matches("AÉC") && !q.matches("ac") && !q.matches("abbc"));
        let s = Pattern::new("a*b*c", false, true);
        assert!(s.matches("abc") && s.matches("axxbyyc") && !s.matches("axxbyyC"));
        assert!(Pattern::new("*", false, true).matches(""));
        assert!(!Pattern::new("?", false, true).matches(""));
        assert!(Pattern::new("ÄÖ*", true, true).matches("äöü"));
    }

    #[test]
    fn literal_modes() {
        assert!(Pattern::new("a*", false, false).matches("a*"));
        assert!(!Pattern::new("a*", false, false).matches("ab"));
        assert!(Pattern::new("MsHta.exe", true, false).matches("mshta.EXE"));
        assert!(!Pattern::new("MsHta.exe", false, false).matches("mshta.exe"));
    }
}
