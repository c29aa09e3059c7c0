//! Conditions compiled for evaluation over a [`Document`], with Elasticsearch's semantics:
//!
//! - `==`, `!=`, `in` compare exactly (case-sensitive); `in~` ignores case.
//! - `:` matches case-insensitively with `*`/`?` wildcards; `like` is case-sensitive,
//!   `like~` case-insensitive; a list means any.
//! - On an array field a test holds if any element satisfies it.
//! - A missing (or null) field fails every test except `== null`; `!=` and `not in` are the
//!   negations of `==` and `in`, so they hold on a missing field (Elasticsearch `must_not`).

use super::ast::{CmpOp, EventQuery, Expr, Literal, MatchKind};
use super::value::{Document, Value};
use super::wildcard::{Pattern, eq_fold};
use std::cmp::Ordering;

/// A constant to compare with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    /// The string and, if it reads as one, its numeric value (for numeric fields).
    Str(Box<str>, Option<f64>),
    Int(i64),
    Float(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Atom {
    /// Exact equality.
    Eq(Scalar),
    /// Case-insensitive string equality (`in~`).
    EqFold(Box<str>),
    /// Wildcard pattern.
    Wild(Pattern),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    /// Missing, null, or an array without a non-null element.
    IsNull,
    /// Any element equals/matches any atom; `nulls` also holds when the field is null.
    Any { atoms: Vec<Atom>, nulls: bool },
    /// Ordering comparison (`<`, `<=`, `>`, `>=`).
    Ord(CmpOp, Scalar),
}

/// A compiled boolean condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    Const(bool),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Test { field: Box<str>, test: Test },
}

fn scalar(l: &Literal) -> Option<Scalar> {
    Some(match l {
        Literal::Null => return None,
        Literal::Bool(b) => Scalar::Bool(*b),
        Literal::Int(i) => Scalar::Int(*i),
        Literal::Float(f) => Scalar::Float(*f),
        Literal::Str(s) => Scalar::Str(s.as_str().into(), s.trim().parse::<f64>().ok()),
    })
}

impl Cond {
    pub(crate) fn compile(e: &Expr) -> Cond {
        match e {
            Expr::Bool(b) => Cond::Const(*b),
            Expr::And(v) => Cond::All(v.iter().map(Cond::compile).collect()),
            Expr::Or(v) => Cond::Any(v.iter().map(Cond::compile).collect()),
            Expr::Not(x) => Cond::Not(Box::new(Cond::compile(x))),
            Expr::Compare { field, op, value } => {
                let test = match (op, scalar(value)) {
                    (CmpOp::Eq | CmpOp::Ne, None) => Test::IsNull,
                    (CmpOp::Eq | CmpOp::Ne, Some(s)) => Test::Any {
                        atoms: vec![Atom::Eq(s)],
                        nulls: false,
                    },
                    // The parser rejects ordering against null; keep it false if it ever occurs.
                    (_, None) => return Cond::Const(false),
                    (o, Some(s)) => Test::Ord(*o, s),
                };
                let t = Cond::Test {
                    field: field.name.as_str().into(),
                    test,
                };
                if *op == CmpOp::Ne {
                    Cond::Not(Box::new(t))
                } else {
                    t
                }
            }
            Expr::In {
                field,
                values,
                insensitive,
                negated,
            } => {
                let mut nulls = false;
                let atoms = values
                    .iter()
                    .filter_map(|v| match (v, insensitive) {
                        (Literal::Null, _) => {
                            nulls = true;
                            None
                        }
                        (Literal::Str(s), true) => Some(Atom::EqFold(s.as_str().into())),
                        (other, _) => scalar(other).map(Atom::Eq),
                    })
                    .collect();
                let t = Cond::Test {
                    field: field.name.as_str().into(),
                    test: Test::Any { atoms, nulls },
                };
                if *negated { Cond::Not(Box::new(t)) } else { t }
            }
            Expr::Match {
                field,
                kind,
                patterns,
            } => {
                let insensitive = !matches!(kind, MatchKind::Like);
                let mut nulls = false;
                let atoms = patterns
                    .iter()
                    .filter_map(|p| match p {
                        Literal::Null => {
                            nulls = true;
                            None
                        }
                        Literal::Str(s) => Some(Atom::Wild(Pattern::new(s, insensitive, true))),
                        other => scalar(other).map(Atom::Eq),
                    })
                    .collect();
                Cond::Test {
                    field: field.name.as_str().into(),
                    test: Test::Any { atoms, nulls },
                }
            }
        }
    }

    pub(crate) fn eval<D: Document + ?Sized>(&self, doc: &D) -> bool {
        match self {
            Cond::Const(b) => *b,
            Cond::All(v) => v.iter().all(|c| c.eval(doc)),
            Cond::Any(v) => v.iter().any(|c| c.eval(doc)),
            Cond::Not(c) => !c.eval(doc),
            Cond::Test { field, test } => eval_test(doc.get(field), test),
        }
    }

    pub(crate) fn fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Cond::Const(_) => {}
            Cond::All(v) | Cond::Any(v) => v.iter().for_each(|c| c.fields(out)),
            Cond::Not(c) => c.fields(out),
            Cond::Test { field, .. } => out.push(field),
        }
    }
}

fn is_null(v: &Option<Value<'_>>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.iter().all(|x| is_null(&Some(x.as_value()))),
        Some(_) => false,
    }
}

fn eval_test(v: Option<Value<'_>>, test: &Test) -> bool {
    match test {
        Test::IsNull => is_null(&v),
        Test::Any { atoms, nulls } => {
            (*nulls && is_null(&v)) || any_element(v, &|x| atoms.iter().any(|a| atom_holds(a, x)))
        }
        Test::Ord(op, s) => any_element(v, &|x| match compare(x, s) {
            Some(o) => match op {
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Le => o != Ordering::Greater,
                CmpOp::Gt => o == Ordering::Greater,
                CmpOp::Ge => o != Ordering::Less,
                CmpOp::Eq | CmpOp::Ne => false,
            },
            None => false,
        }),
    }
}

/// Does `f` hold for the value, or for any element of an array value (nested arrays flattened)?
fn any_element(v: Option<Value<'_>>, f: &dyn Fn(Value<'_>) -> bool) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => a.iter().any(|x| any_element(Some(x.as_value()), f)),
        Some(x) => f(x),
    }
}

fn num(v: Value<'_>) -> Option<f64> {
    match v {
        Value::Int(i) => Some(i as f64),
        Value::Float(f) => Some(f),
        Value::Str(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

fn scalar_num(s: &Scalar) -> Option<f64> {
    match s {
        Scalar::Int(i) => Some(*i as f64),
        Scalar::Float(f) => Some(*f),
        Scalar::Str(_, n) => *n,
        Scalar::Bool(_) => None,
    }
}

/// Order `x` relative to the constant `s`; `None` when they cannot be compared.
fn compare(x: Value<'_>, s: &Scalar) -> Option<Ordering> {
    match (x, s) {
        (Value::Int(a), Scalar::Int(b)) => Some(a.cmp(b)),
        (Value::Str(a), Scalar::Str(b, _)) => Some(a.cmp(b)),
        (Value::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
        (Value::Str(a), Scalar::Bool(b)) => match a {
            "true" => Some(true.cmp(b)),
            "false" => Some(false.cmp(b)),
            _ => None,
        },
        (Value::Bool(a), Scalar::Str(b, _)) => match &**b {
            "true" => Some(a.cmp(&true)),
            "false" => Some(a.cmp(&false)),
            _ => None,
        },
        (Value::Null | Value::Array(_), _) | (Value::Bool(_), _) | (_, Scalar::Bool(_)) => None,
        (x, s) => num(x)?.partial_cmp(&scalar_num(s)?),
    }
}

fn atom_holds(a: &Atom, x: Value<'_>) -> bool {
    match a {
        Atom::Eq(s) => compare(x, s) == Some(Ordering::Equal),
        Atom::EqFold(s) => match x {
            Value::Str(v) => eq_fold(v, s),
            other => {
                compare(other, &Scalar::Str(s.clone(), s.trim().parse().ok()))
                    == Some(Ordering::Equal)
            }
        },
        Atom::Wild(p) => match x {
            Value::Str(v) => p.matches(v),
            Value::Int(i) => p.matches(&i.to_string()),
            Value::Float(f) => p.matches(&f.to_string()),
            Value::Bool(b) => p.matches(if b { "true" } else { "false" }),
            Value::Null | Value::Array(_) => false,
        },
    }
}

/// A compiled `category where condition`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFilter {
    /// `None` for `any`.
    pub(crate) category: Option<Box<str>>,
    pub(crate) cond: Cond,
}

impl EventFilter {
    pub(crate) fn compile(q: &EventQuery) -> Self {
        EventFilter {
            category: q.category.as_deref().map(Into::into),
            cond: Cond::compile(&q.condition),
        }
    }

    /// Does the event belong to the category (exact, as Elasticsearch's term filter) and satisfy
    /// the condition?
    pub fn matches<D: Document + ?Sized>(&self, doc: &D) -> bool {
        self.category.as_deref().is_none_or(|c| doc.category() == c) && self.cond.eval(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ast::Query;
    use super::super::parser::parse;
    use super::super::value::MapDocument;
    use super::*;

    fn holds(q: &str, d: &MapDocument) -> bool {
        match parse(q) {
            Ok(Query::Event(e)) => EventFilter::compile(&e).matches(d),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn coercions_and_ordering() {
        let d = MapDocument::new("network")
            .with("p", 49152i64)
            .with("s", "49152")
            .with("f", 1.5f64)
            .with("b", true);
        assert!(holds(
            "network where p >= 49152 and p > 49151 and not p > 49152",
            &d
        ));
        assert!(holds(
            r#"network where p == "49152" and s == 49152 and s >= 49152"#,
            &d
        ));
        assert!(holds("network where f < 2 and f > 1 and f == 1.5", &d));
        assert!(holds("network where b == true and b != false", &d));
        assert!(!holds("network where b > 0", &d));
        assert!(holds(r#"network where s < "5" and s > "4""#, &d));
        assert!(!holds("process where true", &d));
        assert!(holds("any where true", &d));
        assert!(holds("network where p : 49152 and p in (1, 49152)", &d));
    }
}
