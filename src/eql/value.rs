//! Values a rule sees, and the [`Document`] trait the caller implements over its events.

use std::collections::BTreeMap;

/// A field value as seen by a rule, borrowed from the document.
///
/// Strings are borrowed; arrays are borrowed slices of [`OwnedValue`], so a document that
/// stores its fields as `OwnedValue` can hand them out without allocating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Array(&'a [OwnedValue]),
}

/// An owned field value (for documents that store their fields, and for tests).
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<OwnedValue>),
}

impl OwnedValue {
    /// Borrow this value as a [`Value`].
    pub fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Null => Value::Null,
            OwnedValue::Bool(b) => Value::Bool(*b),
            OwnedValue::Int(i) => Value::Int(*i),
            OwnedValue::Float(f) => Value::Float(*f),
            OwnedValue::Str(s) => Value::Str(s),
            OwnedValue::Array(a) => Value::Array(a),
        }
    }
}

impl From<&str> for OwnedValue {
    fn from(s: &str) -> Self {
        OwnedValue::Str(s.to_owned())
    }
}
impl From<String> for OwnedValue {
    fn from(s: String) -> Self {
        OwnedValue::Str(s)
    }
}
impl From<i64> for OwnedValue {
    fn from(i: i64) -> Self {
        OwnedValue::Int(i)
    }
}
impl From<f64> for OwnedValue {
    fn from(f: f64) -> Self {
        OwnedValue::Float(f)
    }
}
impl From<bool> for OwnedValue {
    fn from(b: bool) -> Self {
        OwnedValue::Bool(b)
    }
}
impl<T: Into<OwnedValue>> From<Vec<T>> for OwnedValue {
    fn from(v: Vec<T>) -> Self {
        OwnedValue::Array(v.into_iter().map(Into::into).collect())
    }
}

/// One event as the rules see it: ECS field names (`process.name`, `source.port`, …).
///
/// `get` is called with the dotted field name exactly as written in the rule (after
/// unquoting backquoted names). It must not allocate per call to stay fast over millions of
/// events: a `match` on the name, or a lookup in a map the document already holds, is fine.
/// Return `None` for a missing field; `Some(Value::Null)` and `None` are treated alike.
pub trait Document {
    /// The event category (`process`, `network`, …) a stage's `category where` selects on.
    fn category(&self) -> &str;
    /// The value of one field, or `None` when the event does not have it.
    fn get(&self, field: &str) -> Option<Value<'_>>;
}

/// A simple document backed by a map: for tests, examples and small callers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapDocument {
    pub category: String,
    pub fields: BTreeMap<String, OwnedValue>,
}

impl MapDocument {
    pub fn new(category: &str) -> Self {
        MapDocument {
            category: category.to_owned(),
            fields: BTreeMap::new(),
        }
    }

    /// Builder-style field setter.
    pub fn with(mut self, field: &str, value: impl Into<OwnedValue>) -> Self {
        self.fields.insert(field.to_owned(), value.into());
        self
    }
}

impl Document for MapDocument {
    fn category(&self) -> &str {
        &self.category
    }
    fn get(&self, field: &str) -> Option<Value<'_>> {
        self.fields.get(field).map(OwnedValue::as_value)
    }
}
