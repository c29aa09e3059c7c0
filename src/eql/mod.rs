//! EQL: the rule language (a subset of Elastic's Event Query Language, plus two documented
//! extensions), its evaluation with Elasticsearch's semantics, the incremental sequence engine,
//! and rule files in Elastic's detection-rules TOML layout. See `docs/rules.md`.
//!
//! Typical use: [`rulefile::load_dir`] → for each host and rule, [`CompiledQuery::matcher`] →
//! [`Matcher::feed`] each event (an implementation of [`Document`]) in order → [`Match`]es.

pub mod ast;
mod cmdline;
mod error;
mod eval;
mod join;
mod lexer;
pub mod parser;
pub mod rulefile;
mod sequence;
mod value;
mod wildcard;

pub use cmdline::split_command_line;
pub use error::{EngineError, ParseError};
pub use eval::EventFilter;
pub use parser::parse;
pub use sequence::{At, CompiledQuery, DEFAULT_PENDING_CAP, KeyValue, Match, Matcher, compile};
pub use value::{Document, MapDocument, OwnedValue, Value};
