//! Errors of the EQL parser and engine.

use std::fmt;
use thiserror::Error;

/// A syntax or validation error in a query, with its position.
///
/// `offset` is a byte offset into the text the error was computed against; `line` and
/// `column` are 1-based (column in characters). Display shows the offending line with a caret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct ParseError {
    pub message: String,
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    /// The text of the line holding the error (without its newline).
    pub line_text: String,
}

impl ParseError {
    /// An error at byte `offset` of `src` (clamped to the text and to a char boundary).
    pub fn at(src: &str, offset: usize, message: String) -> Self {
        let mut off = offset.min(src.len());
        while off > 0 && !src.is_char_boundary(off) {
            off -= 1;
        }
        let line_start = src[..off].rfind('\n').map_or(0, |n| n + 1);
        let line_end = src[off..].find('\n').map_or(src.len(), |n| off + n);
        let line = src[..off].matches('\n').count() + 1;
        let column = src[line_start..off].chars().count() + 1;
        ParseError {
            message,
            offset: off,
            line,
            column,
            line_text: src[line_start..line_end].trim_end_matches('\r').to_owned(),
        }
    }

    /// The same error, re-positioned inside a larger text where the query starts at byte
    /// `base` (used to report positions in a rule file).
    pub fn relocate(&self, outer: &str, base: usize) -> Self {
        ParseError::at(
            outer,
            base.saturating_add(self.offset),
            self.message.clone(),
        )
    }

    /// The line of text and a caret under the error column.
    pub fn snippet(&self) -> String {
        let pad: String = self
            .line_text
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("    {}\n    {}^", self.line_text, pad)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}\n{}",
            self.line,
            self.column,
            self.message,
            self.snippet()
        )
    }
}

/// Errors of the sequence engine's input contract.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// Events must be fed in strictly increasing position and non-decreasing time.
    #[error(
        "event at position {pos} (time {time}) fed after position {last_pos} (time {last_time}): events must be fed in order"
    )]
    OutOfOrder {
        pos: u64,
        time: i64,
        last_pos: u64,
        last_time: i64,
    },
}
