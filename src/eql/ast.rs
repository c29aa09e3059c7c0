//! The syntax tree of a parsed EQL query.

/// A byte range in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A field reference: dotted name (backquotes removed), and whether it was written `?name`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRef {
    pub name: String,
    /// `?field`: the field may be absent from the schema. A missing field already evaluates
    /// as absent, so this changes nothing at run time; it is kept for display.
    pub optional: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The wildcard operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// `:`: case-insensitive, `*` and `?` wildcards.
    Colon,
    /// `like`: case-sensitive wildcards.
    Like,
    /// `like~`: case-insensitive wildcards.
    LikeInsensitive,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Bool(bool),
    /// All of (two or more).
    And(Vec<Expr>),
    /// Any of (two or more).
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// `field op literal` (a literal on the left is flipped to this form).
    Compare {
        field: FieldRef,
        op: CmpOp,
        value: Literal,
    },
    /// `field [not] in[~] (v, …)`.
    In {
        field: FieldRef,
        values: Vec<Literal>,
        insensitive: bool,
        negated: bool,
    },
    /// `field : p`, `field : (p, …)`, `field like[~] p`, `field like[~] (p, …)`.
    Match {
        field: FieldRef,
        kind: MatchKind,
        patterns: Vec<Literal>,
    },
}

/// `category where condition`; `category` is `None` for `any`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventQuery {
    pub category: Option<String>,
    pub condition: Expr,
    pub span: Span,
}

/// The field name that marks a join-key slot a stage does not constrain (`by _, f`); allowed
/// only in sequences `with join=true`.
pub const WILDCARD_KEY: &str = "_";

/// One `[ … ] by k, …` term of a sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub query: EventQuery,
    pub keys: Vec<FieldRef>,
    /// dcomhunt extension `with maxgap=N`: at most this many 100 ns ticks after the previous
    /// stage's event.
    pub maxgap: Option<i64>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    pub keys: Vec<FieldRef>,
    /// In 100 ns ticks.
    pub maxspan: Option<i64>,
    /// dcomhunt extension `with join=true`: report every chain of events the stages' conditions,
    /// keys and windows allow, one finding per chain key (see docs/rules.md), instead of
    /// Elasticsearch's one pending sequence per state and key.
    pub join: bool,
    pub stages: Vec<Stage>,
    pub until: Option<Stage>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    Event(EventQuery),
    Sequence(Sequence),
}

/// 100 ns ticks per unit.
pub const TICKS_PER_MS: i64 = 10_000;
pub const TICKS_PER_SECOND: i64 = 10_000_000;
