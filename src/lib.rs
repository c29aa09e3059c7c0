//! dcomhunt: offline DCOM lateral-movement hunting in Windows event logs.
//!
//! Pipeline (one direction): [`discover`] → [`ingest`] → [`normalize`] → [`store`] →
//! [`graph`] → [`detect`] (the rule files under `rules/`, run by [`eql`] over [`ecs`] documents)
//! → [`report`]. See `docs/architecture.md`.
#![forbid(unsafe_code)]

pub mod cli;
pub mod detect;
pub mod discover;
pub mod display;
pub mod ecs;
pub mod eql;
pub mod error;
pub mod event;
pub mod graph;
pub mod ingest;
pub mod integrity;
pub mod names;
pub mod normalize;
pub mod open;
pub mod pipeline;
pub mod pool;
pub mod record;
pub mod report;
pub mod store;
pub mod time;
pub mod writer;
