//! Recursive-descent parser for the EQL subset dcomhunt runs (see docs/rules.md).
//!
//! Never panics: every path returns a [`ParseError`] with the position of the problem.

use super::ast::*;
use super::error::ParseError;
use super::lexer::{Tok, Token, tokenize};

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "like", "regex", "where", "sequence", "sample", "join", "by", "with",
    "until", "null", "true", "false", "any", "of",
];

/// Deepest nesting of parentheses / `not` accepted (keeps recursion bounded on hostile input).
const MAX_DEPTH: usize = 200;

/// Parse one query (a single-event query or a sequence).
pub fn parse(src: &str) -> Result<Query, ParseError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        depth: 0,
    };
    let q = p.query()?;
    let t = p.peek();
    if t.tok != Tok::Eof {
        let msg = match &t.tok {
            Tok::Ident(s) if s == "sequence" || s == "sample" || s == "join" => {
                format!("unexpected '{s}': one query per rule")
            }
            other => format!("expected end of query, found {}", other.describe()),
        };
        return Err(p.err_at(t.start, msg));
    }
    Ok(q)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

fn ticks_for(n: i64, unit: &str) -> Option<i64> {
    let per = match unit {
        "ms" => TICKS_PER_MS,
        "s" => TICKS_PER_SECOND,
        "m" => 60 * TICKS_PER_SECOND,
        "h" => 3_600 * TICKS_PER_SECOND,
        "d" => 86_400 * TICKS_PER_SECOND,
        _ => return None,
    };
    n.checked_mul(per)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        // The token list always ends with Eof; never index past it.
        &self.toks[self.i.min(self.toks.len() - 1)]
    }
    fn peek2(&self) -> &Token {
        &self.toks[(self.i + 1).min(self.toks.len() - 1)]
    }
    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }
    fn err_at(&self, at: usize, msg: String) -> ParseError {
        ParseError::at(self.src, at, msg)
    }
    fn unexpected(&self, wanted: &str) -> ParseError {
        let t = self.peek();
        self.err_at(
            t.start,
            format!("expected {wanted}, found {}", t.tok.describe()),
        )
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s == kw)
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn expect_kw(&mut self, kw: &str) -> Result<Token, ParseError> {
        if self.is_kw(kw) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(&format!("'{kw}'")))
        }
    }
    fn expect(&mut self, tok: Tok) -> Result<Token, ParseError> {
        if self.peek().tok == tok {
            Ok(self.bump())
        } else {
            Err(self.unexpected(&tok.describe()))
        }
    }
    /// The previous token's end (for spans).
    fn prev_end(&self) -> usize {
        self.i
            .checked_sub(1)
            .and_then(|j| self.toks.get(j))
            .map_or(0, |t| t.end)
    }

    fn query(&mut self) -> Result<Query, ParseError> {
        if self.is_kw("sequence") {
            return self.sequence().map(Query::Sequence);
        }
        for kw in ["sample", "join"] {
            if self.is_kw(kw) {
                let at = self.peek().start;
                return Err(self.err_at(at, format!("'{kw}' queries are not supported")));
            }
        }
        self.event_query().map(Query::Event)
    }

    fn event_query(&mut self) -> Result<EventQuery, ParseError> {
        let t = self.peek().clone();
        let category = match &t.tok {
            Tok::Ident(s) if s == "any" => None,
            Tok::Ident(s) if !KEYWORDS.contains(&s.as_str()) && !s.contains('.') => Some(s.clone()),
            Tok::Str(s) | Tok::Quoted(s) => Some(s.clone()),
            _ => return Err(self.unexpected("an event category (e.g. 'process', 'any')")),
        };
        self.bump();
        self.expect_kw("where")?;
        let condition = self.expr()?;
        Ok(EventQuery {
            category,
            condition,
            span: Span {
                start: t.start,
                end: self.prev_end(),
            },
        })
    }

    fn sequence(&mut self) -> Result<Sequence, ParseError> {
        self.expect_kw("sequence")?;
        let mut keys = Vec::new();
        let mut maxspan = None;
        let mut join = None;
        let mut with_seen = false;
        // `by` and `with maxspan=…[, join=…]` in either order.
        for _ in 0..2 {
            if keys.is_empty() && self.eat_kw("by") {
                keys = self.field_list()?;
            } else if !with_seen && self.is_kw("with") {
                self.bump();
                with_seen = true;
                loop {
                    let at = self.peek().start;
                    let name = self.param_name()?;
                    match name.as_str() {
                        "maxspan" if maxspan.is_none() => maxspan = Some(self.duration()?),
                        "join" if join.is_none() => join = Some(self.boolean()?),
                        "maxspan" | "join" => {
                            return Err(self.err_at(at, format!("'{name}' given twice")));
                        }
                        _ => {
                            return Err(self.err_at(
                                at,
                                format!(
                                    "unknown sequence parameter '{name}', expected 'maxspan' (or the dcomhunt extension 'join')"
                                ),
                            ));
                        }
                    }
                    if self.peek().tok != Tok::Comma {
                        break;
                    }
                    self.bump();
                }
            }
        }
        let mut stages = Vec::new();
        while self.peek().tok == Tok::LBracket {
            stages.push(self.stage()?);
        }
        let until = if self.is_kw("until") {
            self.bump();
            if self.peek().tok != Tok::LBracket {
                return Err(self.unexpected("'[' after 'until'"));
            }
            Some(self.stage()?)
        } else {
            None
        };
        if stages.len() < 2 {
            return Err(self.unexpected(if stages.is_empty() {
                "'[' starting the first sequence stage"
            } else {
                "a second sequence stage '[' (a sequence needs at least two)"
            }));
        }
        let seq = Sequence {
            keys,
            maxspan,
            join: join.unwrap_or(false),
            stages,
            until,
        };
        self.validate_keys(&seq)?;
        Ok(seq)
    }

    /// A sequence's keys (standard or join), then: the first stage has no `maxgap`.
    fn validate_keys(&self, seq: &Sequence) -> Result<(), ParseError> {
        if seq.join {
            self.validate_join(seq)?;
        } else {
            self.validate_standard_keys(seq)?;
        }
        if let Some(first) = seq.stages.first()
            && first.maxgap.is_some()
        {
            return Err(self.err_at(
                first.span.start,
                "the first stage cannot have 'maxgap' (there is no previous stage)".into(),
            ));
        }
        Ok(())
    }

    /// Standard EQL demands the same number of join keys in every stage. dcomhunt relaxes this in
    /// exactly one way (extension: stages that join on the sequence keys only): *leading* stages
    /// may have no `by` while the later ones have one. Anything else is rejected as EQL does.
    fn validate_standard_keys(&self, seq: &Sequence) -> Result<(), ParseError> {
        for st in seq.stages.iter().chain(&seq.until) {
            if let Some(k) = st.keys.iter().find(|k| k.name == WILDCARD_KEY) {
                return Err(self.err_at(
                    k.span.start,
                    "'_' (a join key this stage leaves open) needs 'with join=true'".into(),
                ));
            }
        }
        let counts: Vec<usize> = seq.stages.iter().map(|s| s.keys.len()).collect();
        let keyed = counts.iter().copied().find(|&n| n > 0).unwrap_or(0);
        let mut seen_keyed = false;
        for (n, st) in seq.stages.iter().enumerate() {
            let k = st.keys.len();
            if k == 0 && seen_keyed {
                return Err(self.err_at(
                    st.span.start,
                    format!(
                        "stage {} has no join keys but an earlier stage has {keyed}; only leading stages may omit 'by'",
                        n + 1
                    ),
                ));
            }
            if k > 0 && k != keyed {
                return Err(self.err_at(
                    st.span.start,
                    format!(
                        "stage {} has {k} join keys, an earlier stage has {keyed}; all stages must have the same number",
                        n + 1
                    ),
                ));
            }
            seen_keyed |= k > 0;
        }
        if let Some(u) = &seq.until {
            let k = u.keys.len();
            if k != 0 && k != keyed {
                return Err(self.err_at(
                    u.span.start,
                    format!("'until' has {k} join keys, the stages have {keyed}"),
                ));
            }
            if u.maxgap.is_some() {
                return Err(self.err_at(u.span.start, "'until' cannot have 'maxgap'".into()));
            }
        }
        Ok(())
    }

    /// Join mode (dcomhunt extension): a `maxspan` bounds every chain; stages with keys have the
    /// same number, a keyless stage leaves every slot open (`_`), and each slot is bound by at
    /// least one stage. `until` is not supported.
    fn validate_join(&self, seq: &Sequence) -> Result<(), ParseError> {
        let start = seq.stages.first().map_or(0, |s| s.span.start);
        if seq.maxspan.is_none() {
            return Err(self.err_at(start, "'join=true' needs a 'maxspan'".into()));
        }
        if let Some(u) = &seq.until {
            return Err(self.err_at(
                u.span.start,
                "'until' is not supported with 'join=true'".into(),
            ));
        }
        let keyed = seq.stages.iter().map(|s| s.keys.len()).max().unwrap_or(0);
        for (n, st) in seq.stages.iter().enumerate() {
            let k = st.keys.len();
            if k > 0 && k != keyed {
                return Err(self.err_at(
                    st.span.start,
                    format!(
                        "stage {} has {k} join keys, another stage has {keyed}; all stages with keys must have the same number",
                        n + 1
                    ),
                ));
            }
        }
        for slot in 0..keyed {
            let bound = seq
                .stages
                .iter()
                .any(|s| s.keys.get(slot).is_some_and(|k| k.name != WILDCARD_KEY));
            if !bound {
                return Err(self.err_at(
                    start,
                    format!("join key {} is '_' in every stage", slot + 1),
                ));
            }
        }
        Ok(())
    }

    fn param_name(&mut self) -> Result<String, ParseError> {
        let name = match &self.peek().tok {
            Tok::Ident(s) => s.clone(),
            _ => return Err(self.unexpected("a parameter name")),
        };
        self.bump();
        self.expect(Tok::Assign)?;
        Ok(name)
    }

    /// `true` or `false`.
    fn boolean(&mut self) -> Result<bool, ParseError> {
        let v = match &self.peek().tok {
            Tok::Ident(s) if s == "true" => true,
            Tok::Ident(s) if s == "false" => false,
            _ => return Err(self.unexpected("true or false")),
        };
        self.bump();
        Ok(v)
    }

    /// `N` followed by a unit `ms`, `s`, `m`, `h` or `d`; returns 100 ns ticks.
    fn duration(&mut self) -> Result<i64, ParseError> {
        let t = self.peek().clone();
        let n = match t.tok {
            Tok::Int(n) => n,
            _ => return Err(self.unexpected("a duration such as 1m, 2s or 500ms")),
        };
        self.bump();
        let u = self.peek().clone();
        let unit = match &u.tok {
            Tok::Ident(s) if u.start == t.end => s.clone(),
            _ => {
                return Err(self.err_at(
                    t.start,
                    "a duration needs a unit: ms, s, m, h or d (e.g. 1m)".into(),
                ));
            }
        };
        self.bump();
        ticks_for(n, &unit).ok_or_else(|| {
            self.err_at(
                u.start,
                format!("unknown or too large duration '{n}{unit}' (units: ms, s, m, h, d)"),
            )
        })
    }

    fn stage(&mut self) -> Result<Stage, ParseError> {
        let open = self.expect(Tok::LBracket)?;
        let query = self.event_query()?;
        self.expect(Tok::RBracket)?;
        let mut keys = Vec::new();
        let mut maxgap = None;
        for _ in 0..2 {
            if keys.is_empty() && self.eat_kw("by") {
                keys = self.field_list()?;
            } else if maxgap.is_none() && self.is_kw("with") {
                self.bump();
                let at = self.peek().start;
                let name = self.param_name()?;
                if name != "maxgap" {
                    return Err(self.err_at(
                        at,
                        format!(
                            "unsupported stage parameter '{name}' (dcomhunt supports only 'maxgap')"
                        ),
                    ));
                }
                maxgap = Some(self.duration()?);
            }
        }
        Ok(Stage {
            query,
            keys,
            maxgap,
            span: Span {
                start: open.start,
                end: self.prev_end(),
            },
        })
    }

    fn field_list(&mut self) -> Result<Vec<FieldRef>, ParseError> {
        let mut v = vec![self.field()?];
        while self.peek().tok == Tok::Comma {
            self.bump();
            v.push(self.field()?);
        }
        Ok(v)
    }

    fn is_field_start(&self) -> bool {
        match &self.peek().tok {
            Tok::Ident(s) => !KEYWORDS.contains(&s.as_str()),
            Tok::Quoted(_) => true,
            Tok::Question => matches!(self.peek2().tok, Tok::Ident(_) | Tok::Quoted(_)),
            _ => false,
        }
    }

    fn field(&mut self) -> Result<FieldRef, ParseError> {
        let start = self.peek().start;
        let optional = if self.peek().tok == Tok::Question {
            let q = self.bump();
            if self.peek().start != q.end {
                return Err(self.err_at(
                    q.start,
                    "'?' must be followed directly by a field name".into(),
                ));
            }
            true
        } else {
            false
        };
        let t = self.peek().clone();
        let name = match &t.tok {
            Tok::Ident(s) if !KEYWORDS.contains(&s.as_str()) => s.clone(),
            Tok::Quoted(s) => s.clone(),
            Tok::Ident(s) => {
                return Err(self.err_at(
                    t.start,
                    format!("'{s}' is a keyword; write `{s}` to use it as a field name"),
                ));
            }
            _ => return Err(self.unexpected("a field name")),
        };
        self.bump();
        if self.peek().tok == Tok::LParen && self.peek().start == t.end {
            return Err(self.err_at(
                t.start,
                format!("function '{name}' is not supported (no EQL functions are)"),
            ));
        }
        Ok(FieldRef {
            name,
            optional,
            span: Span { start, end: t.end },
        })
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let at = self.peek().start;
            return Err(self.err_at(at, "expression nested too deeply".into()));
        }
        let r = self.or_expr();
        self.depth -= 1;
        r
    }

    fn or_expr(&mut self) -> Result<Expr, ParseError> {
        let mut v = vec![self.and_expr()?];
        while self.eat_kw("or") {
            v.push(self.and_expr()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::Or(v)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        let mut v = vec![self.not_expr()?];
        while self.eat_kw("and") {
            v.push(self.not_expr()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::And(v)
        })
    }

    fn not_expr(&mut self) -> Result<Expr, ParseError> {
        if self.is_kw("not") {
            self.bump();
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                let at = self.peek().start;
                return Err(self.err_at(at, "expression nested too deeply".into()));
            }
            let r = self.not_expr();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(r?)));
        }
        self.predicate()
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        let t = self.peek().clone();
        let lit = match t.tok {
            Tok::Str(s) => Literal::Str(s),
            Tok::Int(i) => Literal::Int(i),
            Tok::Float(f) => Literal::Float(f),
            Tok::Minus => {
                self.bump();
                let n = self.peek().clone();
                return match n.tok {
                    Tok::Int(i) if n.start == t.end => {
                        self.bump();
                        Ok(Literal::Int(-i))
                    }
                    Tok::Float(f) if n.start == t.end => {
                        self.bump();
                        Ok(Literal::Float(-f))
                    }
                    _ => Err(self.err_at(t.start, "expected a number after '-'".into())),
                };
            }
            Tok::Ident(ref s) if s == "null" => Literal::Null,
            Tok::Ident(ref s) if s == "true" => Literal::Bool(true),
            Tok::Ident(ref s) if s == "false" => Literal::Bool(false),
            _ if self.is_field_start() => {
                return Err(self.err_at(
                    t.start,
                    "comparing a field with another field is not supported; compare with a constant".into(),
                ));
            }
            _ => return Err(self.unexpected("a constant (string, number, true, false or null)")),
        };
        self.bump();
        Ok(lit)
    }

    fn literal_list(&mut self) -> Result<Vec<Literal>, ParseError> {
        self.expect(Tok::LParen)?;
        let mut v = vec![self.literal()?];
        while self.peek().tok == Tok::Comma {
            self.bump();
            v.push(self.literal()?);
        }
        self.expect(Tok::RParen)?;
        Ok(v)
    }

    fn cmp_op(&self) -> Option<CmpOp> {
        Some(match self.peek().tok {
            Tok::EqEq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            _ => return None,
        })
    }

    /// After `in` / `like`: is the next token a `~` glued to the keyword?
    fn eat_tilde(&mut self) -> bool {
        let prev_end = self.prev_end();
        if self.peek().tok == Tok::Tilde && self.peek().start == prev_end {
            self.bump();
            true
        } else {
            false
        }
    }

    fn predicate(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek().clone();
        if t.tok == Tok::LParen {
            self.bump();
            let e = self.expr()?;
            self.expect(Tok::RParen)?;
            return Ok(e);
        }
        if !self.is_field_start() {
            let constant = match &t.tok {
                Tok::Str(_) | Tok::Int(_) | Tok::Float(_) | Tok::Minus => true,
                Tok::Ident(s) => matches!(s.as_str(), "null" | "true" | "false"),
                _ => false,
            };
            if !constant {
                return Err(
                    self.unexpected("a condition (field, comparison, 'not', '(' or true/false)")
                );
            }
            // `true`/`false` alone, or a constant on the left of a comparison.
            let lit = self.literal()?;
            if let Some(op) = self.cmp_op() {
                self.bump();
                let field = self.field()?;
                let op = match op {
                    CmpOp::Lt => CmpOp::Gt,
                    CmpOp::Le => CmpOp::Ge,
                    CmpOp::Gt => CmpOp::Lt,
                    CmpOp::Ge => CmpOp::Le,
                    o => o,
                };
                return self.check_compare(field, op, lit, t.start);
            }
            return match lit {
                Literal::Bool(b) => Ok(Expr::Bool(b)),
                _ => Err(self.err_at(
                    t.start,
                    "expected a condition (field, comparison, 'not', '(' or true/false)".into(),
                )),
            };
        }
        let field = self.field()?;
        if let Some(op) = self.cmp_op() {
            self.bump();
            let value = self.literal()?;
            return self.check_compare(field, op, value, t.start);
        }
        let op_tok = self.peek().clone();
        match &op_tok.tok {
            Tok::Colon => {
                self.bump();
                let patterns = if self.peek().tok == Tok::LParen {
                    self.literal_list()?
                } else {
                    vec![self.literal()?]
                };
                Ok(Expr::Match {
                    field,
                    kind: MatchKind::Colon,
                    patterns,
                })
            }
            Tok::Ident(s) if s == "in" || s == "not" => {
                let negated = s == "not";
                self.bump();
                if negated {
                    self.expect_kw("in")?;
                }
                let insensitive = self.eat_tilde();
                let values = self.literal_list()?;
                Ok(Expr::In {
                    field,
                    values,
                    insensitive,
                    negated,
                })
            }
            Tok::Ident(s) if s == "like" => {
                self.bump();
                let kind = if self.eat_tilde() {
                    MatchKind::LikeInsensitive
                } else {
                    MatchKind::Like
                };
                let at = self.peek().start;
                let patterns = if self.peek().tok == Tok::LParen {
                    self.literal_list()?
                } else {
                    vec![self.literal()?]
                };
                if patterns.iter().any(|p| !matches!(p, Literal::Str(_))) {
                    return Err(self.err_at(at, "'like' needs string patterns".into()));
                }
                Ok(Expr::Match {
                    field,
                    kind,
                    patterns,
                })
            }
            Tok::Ident(s) if s == "regex" => {
                Err(self.err_at(op_tok.start, "'regex' is not supported".into()))
            }
            _ => Err(self
                .unexpected("an operator (==, !=, <, <=, >, >=, :, in, in~, not in, like, like~)")),
        }
    }

    fn check_compare(
        &self,
        field: FieldRef,
        op: CmpOp,
        value: Literal,
        at: usize,
    ) -> Result<Expr, ParseError> {
        let ordering = !matches!(op, CmpOp::Eq | CmpOp::Ne);
        if ordering && matches!(value, Literal::Null | Literal::Bool(_)) {
            return Err(self.err_at(
                at,
                "'<', '<=', '>', '>=' need a number or string constant".into(),
            ));
        }
        Ok(Expr::Compare { field, op, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(s: &str) -> Sequence {
        match parse(s) {
            Ok(Query::Sequence(q)) => q,
            other => panic!("not a sequence: {other:?}"),
        }
    }

    #[test]
    fn sequence_header_both_orders() {
        let a =
            seq("sequence by host.id with maxspan=1m [process where true] [network where true]");
        let b =
            seq("sequence with maxspan=1m by host.id [process where true] [network where true]");
        assert_eq!(a.maxspan, Some(600_000_000));
        assert_eq!(a.keys[0].name, "host.id");
        assert_eq!(a.maxspan, b.maxspan);
        assert_eq!(b.keys[0].name, "host.id");
        assert_eq!(
            seq("sequence with maxspan=500ms [a where true] [b where true]").maxspan,
            Some(5_000_000)
        );
        assert_eq!(
            seq("sequence with maxspan=2d [a where true] [b where true]").maxspan,
            Some(2 * 864_000_000_000)
        );
    }

    #[test]
    fn predicates() {
        let q = parse(
            r#"process where not a == 1 and b : ("x*", "y") or ?c not in~ ("z") and 5 < d and e like~ "q?""#,
        );
        let e = match q {
            Ok(Query::Event(e)) => e,
            other => panic!("{other:?}"),
        };
        // or binds loosest
        assert!(matches!(&e.condition, Expr::Or(v) if v.len() == 2));
        let q = parse("process where 5 < d").unwrap();
        match q {
            Query::Event(EventQuery {
                condition: Expr::Compare { op, .. },
                ..
            }) => assert_eq!(op, CmpOp::Gt),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("process where a ==").unwrap_err();
        assert_eq!((e.line, e.column), (1, 19));
        let e = parse("sequence\n  [process where a == b]\n  [network where true]").unwrap_err();
        assert_eq!((e.line, e.column), (2, 23));
        assert!(e.message.contains("another field"), "{e}");
        let e = parse("process where length(a) > 1").unwrap_err();
        assert!(e.message.contains("function"), "{e}");
        let e = parse("process where a == 1 | head 1").unwrap_err();
        assert_eq!(e.column, 22);
        let e = parse("sequence [a where true] by x [b where true] by x, y").unwrap_err();
        assert!(e.message.contains("same number"), "{e}");
        let e = parse("sequence [a where true] by x [b where true]").unwrap_err();
        assert!(e.message.contains("only leading"), "{e}");
        let e = parse("sequence [a where true] [b where true] with runs=2").unwrap_err();
        assert!(e.message.contains("runs"), "{e}");
        assert!(parse("sequence [a where true]").is_err());
        assert!(parse("process where x < null").is_err());
        assert!(parse("process where `where` == 1").is_ok());
        assert!(parse("process where where == 1").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = format!(
            "process where {}a == 1{}",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        assert!(parse(&s).is_err());
        let s = format!("process where {}a == 1", "not ".repeat(5000));
        assert!(parse(&s).is_err());
    }
}
