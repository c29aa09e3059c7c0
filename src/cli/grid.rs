//! Terminal tables that fit the width they are shown in without breaking a token.
//!
//! A [`Grid`] is laid out one of two ways:
//! - **full** (no width: stdout is not a terminal, or `--wide`): every cell in full, one line
//!   per row, columns aligned — stable lines for `less`, `grep` and scripts;
//! - **fitted** to a terminal width: columns marked [`Fit::Keep`] (times, addresses, record
//!   ids, event labels) are never shortened; [`Fit::Shrink`] columns (paths, command lines,
//!   details) are shortened in the middle with `…`, never inside a word that holds a number
//!   and no path separator (an address, a port, a time); columns that do not fit beside the
//!   others even at their minimum go to a continuation line of each row (marked `↳`), so no
//!   line is wider than the terminal.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Space between two columns.
const SEP: usize = 2;
/// How a row's continuation lines start.
const MARK: &str = "  ↳ ";
/// The width of [`MARK`].
const INDENT: usize = 4;

/// How a column behaves when the table is wider than the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Never shortened; stays on the row's first line as long as anything else can move.
    Keep,
    /// Never shortened; moves to a continuation line before a `Keep` column does.
    Move,
    /// Shortened in the middle with `…` down to `min` columns; `path` keeps more of the end
    /// (a file name) than of the start.
    Shrink { min: usize, path: bool },
}

/// A column: its header and how it fits.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub name: &'static str,
    pub fit: Fit,
}

impl Col {
    pub const fn keep(name: &'static str) -> Col {
        Col {
            name,
            fit: Fit::Keep,
        }
    }
    pub const fn moves(name: &'static str) -> Col {
        Col {
            name,
            fit: Fit::Move,
        }
    }
    pub const fn text(name: &'static str, min: usize) -> Col {
        Col {
            name,
            fit: Fit::Shrink { min, path: false },
        }
    }
    pub const fn path(name: &'static str, min: usize) -> Col {
        Col {
            name,
            fit: Fit::Shrink { min, path: true },
        }
    }
}

/// A table of text cells (already escaped for the terminal).
#[derive(Debug, Clone)]
pub struct Grid {
    cols: Vec<Col>,
    rows: Vec<Vec<String>>,
}

/// The display width of a text.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

impl Grid {
    pub fn new(cols: &[Col]) -> Grid {
        Grid {
            cols: cols.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Add a row of as many cells as columns (missing cells are empty, extra ones dropped).
    pub fn row(&mut self, mut cells: Vec<String>) {
        cells.resize(self.cols.len(), String::new());
        self.rows.push(cells);
    }

    /// The table as lines: in full when `max` is `None`, else no line wider than `max`.
    pub fn render(&self, max: Option<usize>) -> String {
        let nat: Vec<usize> = (0..self.cols.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| width(&r[c]))
                    .chain([width(self.cols[c].name)])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let all: Vec<usize> = (0..self.cols.len()).collect();
        let tiers: Vec<(Vec<usize>, Vec<usize>)> = match max {
            Some(w) if line_need(&all, &nat, &self.cols, false) > w => self.fit(&nat, w),
            _ => vec![(all, nat.clone())],
        };
        let mut out = String::new();
        let names: Vec<String> = self.cols.iter().map(|c| c.name.to_string()).collect();
        let mut rule = 0;
        for (k, (cols, ws)) in tiers.iter().enumerate() {
            let line = layout(&names, cols, ws, &self.cols, k > 0);
            rule = rule.max(width(&line));
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str(&"─".repeat(rule));
        out.push('\n');
        for r in &self.rows {
            for (k, (cols, ws)) in tiers.iter().enumerate() {
                if k > 0 && cols.iter().all(|&c| r[c].is_empty()) {
                    continue;
                }
                out.push_str(&layout(r, cols, ws, &self.cols, k > 0));
                out.push('\n');
            }
        }
        out
    }

    /// Columns per line of a row (the first line, then continuation lines) and their widths,
    /// for a table wider than `max`.
    fn fit(&self, nat: &[usize], max: usize) -> Vec<(Vec<usize>, Vec<usize>)> {
        let n = self.cols.len();
        // The order columns leave the first line in: shrinkable ones, then movable ones, then
        // kept ones, each from the right; the first column stays.
        let mut order: Vec<usize> = Vec::new();
        for pass in 0..3 {
            for c in (1..n).rev() {
                let p = match self.cols[c].fit {
                    Fit::Shrink { .. } => 0,
                    Fit::Move => 1,
                    Fit::Keep => 2,
                };
                if p == pass {
                    order.push(c);
                }
            }
        }
        let mut first: Vec<usize> = (0..n).collect();
        let mut moved: Vec<usize> = Vec::new();
        let mut order = order.into_iter();
        while line_need(&first, nat, &self.cols, true) > max {
            let Some(c) = order.next() else { break };
            first.retain(|&x| x != c);
            moved.push(c);
        }
        moved.sort_unstable();
        let mut tiers = vec![(first.clone(), self.widths(&first, nat, max))];
        let room = max.saturating_sub(INDENT);
        let mut cur: Vec<usize> = Vec::new();
        for c in moved {
            let mut with = cur.clone();
            with.push(c);
            if !cur.is_empty() && line_need(&with, nat, &self.cols, true) > room {
                let ws = self.widths(&cur, nat, room);
                tiers.push((std::mem::take(&mut cur), ws));
            }
            cur.push(c);
        }
        if !cur.is_empty() {
            let ws = self.widths(&cur, nat, room);
            tiers.push((cur, ws));
        }
        tiers
    }

    /// Widths of `cols` on one line of at most `room` columns: kept and moved columns at
    /// their full width, shrinkable ones sharing the rest (the narrowest served first, none
    /// wider than it needs). A line that cannot fit (one column alone wider than the
    /// terminal) has its widest columns cut to fit, as a last resort.
    fn widths(&self, cols: &[usize], nat: &[usize], room: usize) -> Vec<usize> {
        let seps = SEP * cols.len().saturating_sub(1);
        let fixed: usize = cols
            .iter()
            .filter(|&&c| !matches!(self.cols[c].fit, Fit::Shrink { .. }))
            .map(|&c| nat[c])
            .sum();
        let mut ws: Vec<usize> = cols.iter().map(|&c| nat[c]).collect();
        let min_of = |c: usize| match self.cols[c].fit {
            Fit::Shrink { min, .. } => min.min(nat[c]),
            _ => nat[c],
        };
        let is_path = |c: usize| matches!(self.cols[c].fit, Fit::Shrink { path: true, .. });
        // Text columns (details, command lines) first, narrowest first; paths get what is left
        // but at least their minimum.
        let mut shrink: Vec<usize> = (0..cols.len())
            .filter(|&k| matches!(self.cols[cols[k]].fit, Fit::Shrink { .. }))
            .collect();
        shrink.sort_by_key(|&k| (is_path(cols[k]), nat[cols[k]], k));
        let mut left = room.saturating_sub(fixed + seps);
        for (i, &k) in shrink.iter().enumerate() {
            let c = cols[k];
            let later = &shrink[i + 1..];
            let paths_min: usize = later
                .iter()
                .filter(|&&l| is_path(cols[l]))
                .map(|&l| min_of(cols[l]))
                .sum();
            let share = if is_path(c) {
                left / (shrink.len() - i)
            } else {
                left.saturating_sub(paths_min)
                    / (later.len() - later.iter().filter(|&&l| is_path(cols[l])).count() + 1)
            };
            ws[k] = nat[c].min(share.max(min_of(c)));
            left = left.saturating_sub(ws[k]);
        }
        // Still too wide: a single column (or a line of kept columns) wider than the room.
        let total = |ws: &[usize]| ws.iter().sum::<usize>() + seps;
        while total(&ws) > room {
            let Some(k) = (0..ws.len()).max_by_key(|&k| (ws[k], k)) else {
                break;
            };
            let over = total(&ws) - room;
            if ws[k] <= 1 {
                break;
            }
            ws[k] -= over.min(ws[k] - 1);
        }
        ws
    }
}

/// What a line of `cols` needs at least (`shrunk`: shrinkable columns at their minimum).
fn line_need(cols: &[usize], nat: &[usize], spec: &[Col], shrunk: bool) -> usize {
    cols.iter()
        .map(|&c| match spec[c].fit {
            Fit::Shrink { min, .. } if shrunk => min.min(nat[c]),
            _ => nat[c],
        })
        .sum::<usize>()
        + SEP * cols.len().saturating_sub(1)
}

/// One line: the cells of `cols`, each cut to and padded to its width; no trailing spaces.
fn layout(cells: &[String], cols: &[usize], ws: &[usize], spec: &[Col], cont: bool) -> String {
    let mut s = String::new();
    if cont {
        s.push_str(MARK);
    }
    for (k, (&c, &w)) in cols.iter().zip(ws).enumerate() {
        if k > 0 {
            s.push_str(&" ".repeat(SEP));
        }
        let path = matches!(spec[c].fit, Fit::Shrink { path: true, .. });
        let v = shorten(&cells[c], w, path);
        let pad = w.saturating_sub(width(&v));
        s.push_str(&v);
        s.push_str(&" ".repeat(pad));
    }
    s.truncate(s.trim_end().len());
    s
}

/// Where words end for [`shorten`]: white space and path separators.
fn boundary(c: char) -> bool {
    c.is_whitespace() || c == '\\' || c == '/'
}

/// A word that must be shown whole or not at all: up to 64 characters of digits, hex digits
/// and the punctuation of addresses, ports, times and ids (`10.0.2.19:33474`, `[fe80::1]:135`,
/// `2026-03-10T14:00:01.3125000Z`, `[3572]`), with a digit. A file name such as
/// `Microsoft-Windows-Sysmon%4Operational.evtx` is not one and may be cut.
fn protected(word: &str) -> bool {
    word.len() <= 64
        && word.bytes().any(|b| b.is_ascii_digit())
        && word
            .chars()
            .all(|c| c.is_ascii_hexdigit() || ".:-+[](),#TZ".contains(c))
}

/// `s` shortened to at most `w` display columns by cutting out its middle, marked with `…`
/// (`path`: a third of the room for the start, the rest for the end). The cut never falls
/// inside a [`protected`] word: such a word is kept whole or left out whole.
pub fn shorten(s: &str, w: usize, path: bool) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let room = w - 1;
    let head_room = if path {
        // As much of the file name as fits, and at least two thirds of the room for the end.
        let name = s.rsplit(['/', '\\']).next().map_or(0, width);
        room - name.max(room * 2 / 3).min(room)
    } else {
        room.div_ceil(2)
    };
    let tail_room = room - head_room;
    // Byte index where the head ends.
    let mut head = 0;
    let mut used = 0;
    for (i, ch) in s.char_indices() {
        let cw = ch.width().unwrap_or(0);
        if used + cw > head_room {
            break;
        }
        used += cw;
        head = i + ch.len_utf8();
    }
    // Byte index where the tail starts.
    let mut tail = s.len();
    let mut used = 0;
    for (i, ch) in s.char_indices().rev() {
        let cw = ch.width().unwrap_or(0);
        if used + cw > tail_room || i < head {
            break;
        }
        used += cw;
        tail = i;
    }
    // Back off to word boundaries where the cut would split a protected word.
    let word_start = |at: usize| s[..at].rfind(boundary).map_or(0, |p| p + 1);
    let word_end = |at: usize| s[at..].find(boundary).map_or(s.len(), |p| at + p);
    if head > 0 && head < s.len() && !s[head..].starts_with(boundary) {
        let (a, b) = (word_start(head), word_end(head));
        if protected(&s[a..b]) {
            head = a;
        }
    }
    if tail < s.len() && tail > 0 && !s[..tail].ends_with(boundary) {
        let (a, b) = (word_start(tail), word_end(tail));
        if protected(&s[a..b]) {
            tail = b;
        }
    }
    format!("{}…{}", &s[..head], &s[tail.max(head)..])
}

/// A line of prose fitted to `max` columns: wrapped at spaces (a word is never split), the
/// continuation lines indented two more than the line. `None`: the line as it is.
pub fn wrap(line: &str, max: Option<usize>) -> String {
    let Some(max) = max else {
        return line.to_string();
    };
    if width(line) <= max {
        return line.to_string();
    }
    let lead = line.len() - line.trim_start().len();
    let indent = " ".repeat((lead + 2).min(max / 2));
    let room = max.saturating_sub(indent.len()).max(1);
    let mut out = String::new();
    let mut cur = line[..lead].to_string();
    let mut cur_w = lead;
    let mut first_word = true;
    for word in line[lead..].split(' ').filter(|w| !w.is_empty()) {
        let ww = width(word);
        if !first_word && cur_w + 1 + ww > max {
            out.push_str(cur.trim_end());
            out.push('\n');
            cur = indent.clone();
            cur_w = indent.len();
            first_word = true;
        }
        if !first_word {
            cur.push(' ');
            cur_w += 1;
        }
        let word = if ww > room {
            shorten(word, room, true)
        } else {
            word.to_string()
        };
        cur_w += width(&word);
        cur.push_str(&word);
        first_word = false;
    }
    out.push_str(cur.trim_end());
    out
}

/// A line of a drawn process tree fitted to `max` columns: the tree's drawing kept, the rest
/// shortened in the middle (never inside a time, an address or a PID); a `boots:` line is
/// wrapped instead. `None`: the line as it is.
pub fn tree_line(line: &str, max: Option<usize>) -> String {
    let Some(max) = max else {
        return line.to_string();
    };
    if width(line) <= max {
        return line.to_string();
    }
    if line.trim_start().starts_with("boots:") {
        return wrap(line, Some(max));
    }
    let body = line.trim_start_matches([' ', '│', '├', '└', '─']);
    let prefix = &line[..line.len() - body.len()];
    let room = max.saturating_sub(width(prefix));
    // A process line: its start, `[PID]` and name stay whole; its command line is shortened.
    let head_end = body
        .find("] ")
        .map(|p| p + 2)
        .map(|p| body[p..].find(' ').map_or(body.len(), |q| p + q));
    if let Some(h) = head_end
        && width(&body[..h]) + 4 <= room
    {
        let rest = shorten(&body[h..], room - width(&body[..h]), false);
        return format!("{prefix}{}{rest}", &body[..h]);
    }
    format!("{prefix}{}", shorten(body, room, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_the_middle_but_no_address() {
        assert_eq!(shorten("abcdef", 6, false), "abcdef");
        assert_eq!(shorten("abcdefghij", 5, false), "ab…ij");
        assert_eq!(shorten("C:\\a\\b\\c\\file.exe", 10, true), "C…file.exe");
        let net = "in tcp 10.0.2.19:33474 → 10.0.2.18:49163";
        for w in 1..net.len() {
            let s = shorten(net, w, false);
            assert!(width(&s) <= w, "{s:?} wider than {w}");
            for tok in s.split([' ', '…']) {
                if tok.contains(':') {
                    assert!(
                        ["10.0.2.19:33474", "10.0.2.18:49163"].contains(&tok),
                        "{tok:?} split at width {w}: {s:?}"
                    );
                }
            }
        }
        // Wide characters count twice.
        // A file name with a digit is still cut; an address inside a path is not.
        let p = "testdata/example/FS01.corp.example/Microsoft-Windows-Sysmon%4Operational.evtx";
        assert_eq!(shorten(p, 24, true), "…ysmon%4Operational.evtx");
        let unc = "\\\\127.0.0.1\\ADMIN$\\__1773151200.61";
        for w in 2..unc.len() {
            let s = shorten(unc, w, false);
            assert!(!s.contains("127.") || s.contains("127.0.0.1"), "{s}");
        }
        let cjk = shorten("漢字漢字漢字", 7, false);
        assert!((5..=7).contains(&width(&cjk)), "{cjk}");
    }

    fn sample() -> Grid {
        let mut g = Grid::new(&[
            Col::keep("time"),
            Col::keep("record"),
            Col::path("file", 10),
            Col::text("details", 16),
        ]);
        g.row(vec![
            "2026-03-10T14:00:01.3125000Z".into(),
            "48256".into(),
            "testdata/example/FS01.corp.example/Security.evtx".into(),
            "in tcp 10.0.2.19:33474 → 10.0.2.18:49163".into(),
        ]);
        g.row(vec![
            "2026-03-10T14:00:01.5940000Z".into(),
            "12920".into(),
            "x.evtx".into(),
            "\"C:\\Windows\\System32\\cmd.exe\" /Q /c cd 1> \\\\127.0.0.1\\ADMIN$\\__1773151200.61 2>&1"
                .into(),
        ]);
        g
    }

    #[test]
    fn full_layout_has_every_cell_whole() {
        let full = sample().render(None);
        assert_eq!(full.lines().count(), 4);
        assert!(full.contains("testdata/example/FS01.corp.example/Security.evtx"));
        assert!(!full.contains('…'));
        assert_eq!(full, sample().render(Some(10_000)));
    }

    #[test]
    fn fitted_layout_keeps_tokens_and_width() {
        for w in [40, 60, 80, 100, 120] {
            let s = sample().render(Some(w));
            for line in s.lines() {
                assert!(width(line) <= w, "{w}: {line:?}");
            }
            for tok in [
                "2026-03-10T14:00:01.3125000Z",
                "2026-03-10T14:00:01.5940000Z",
                "48256",
                "12920",
            ] {
                assert!(s.contains(tok), "{w}: {tok} missing in\n{s}");
            }
            if w >= 100 {
                assert!(s.contains("10.0.2.19:33474"), "{w}:\n{s}");
            }
        }
        // At 60 columns the details go to a continuation line, whole.
        let s = sample().render(Some(60));
        assert!(
            s.lines()
                .any(|l| l.starts_with(MARK) && l.contains("10.0.2.19:33474"))
        );
    }

    #[test]
    fn prose_and_tree_lines_fit() {
        let boots = "  boots: 2026-03-10T12:00:00.0000000Z (security-4608), 2026-03-10T12:00:09.0000000Z (sysmon-4)";
        let w = wrap(boots, Some(50));
        assert!(w.lines().count() >= 2);
        assert!(w.lines().all(|l| width(l) <= 50));
        assert_eq!(
            w.split_whitespace().collect::<Vec<_>>(),
            boots.split_whitespace().collect::<Vec<_>>()
        );
        assert_eq!(wrap(boots, None), boots);
        let node = "       └─ 2026-03-10T14:00:01.6560000Z [2236] cmd.exe  \"C:\\Windows\\System32\\cmd.exe\" /Q /c whoami /all 1> \\\\127.0.0.1\\ADMIN$\\__1773151200.61 2>&1";
        let t = tree_line(node, Some(80));
        assert!(width(&t) <= 80, "{t}");
        assert!(
            t.starts_with("       └─ 2026-03-10T14:00:01.6560000Z [2236] cmd.exe"),
            "{t}"
        );
        assert!(t.ends_with("2>&1"), "{t}");
    }
}
