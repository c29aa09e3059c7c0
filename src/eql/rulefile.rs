//! Rule files in Elastic's detection-rules TOML layout.
//!
//! A file holds `[metadata]` (ignored) and `[rule]` with `rule_id`, `name`, `description`,
//! `severity`, `risk_score`, `language = "eql"`, `query`, optional `references`, `author`,
//! `tags` and `[[rule.threat]]` (MITRE ATT&CK mapping). Unknown keys are ignored, so files from
//! Elastic's repository load unchanged when their query uses the supported language.
//!
//! Loading is read-only and confined: [`load_dir`] reads only regular `*.toml` files directly in
//! the given directory (no recursion, symbolic links are refused, not followed), each at most
//! [`MAX_RULE_FILE_BYTES`]; nothing in a rule names a file or makes the tool read or write one.

use super::error::ParseError;
use super::sequence::{CompiledQuery, compile};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Largest rule file read (Elastic's largest published rules are well under 100 KiB).
pub const MAX_RULE_FILE_BYTES: u64 = 1024 * 1024;

/// A rule's identity for messages: `"name" (rule_id)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleName {
    pub name: Option<String>,
    pub rule_id: Option<String>,
}

impl fmt::Display for RuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.name, &self.rule_id) {
            (Some(n), Some(id)) => write!(f, "rule {n:?} ({id})"),
            (Some(n), None) => write!(f, "rule {n:?}"),
            (None, Some(id)) => write!(f, "rule {id}"),
            (None, None) => write!(f, "rule (unnamed)"),
        }
    }
}

#[derive(Debug, Error)]
pub enum RuleError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not read: {reason}")]
    Refused { path: PathBuf, reason: String },
    #[error("{path}: {rule}: invalid TOML: {message}")]
    Toml {
        path: PathBuf,
        rule: RuleName,
        message: String,
    },
    #[error("{path}: {rule}: {message}")]
    Invalid {
        path: PathBuf,
        rule: RuleName,
        message: String,
    },
    /// A query error; its line and column are positions in the rule file (or, where the
    /// query is a TOML string with escapes, in the query text: `in_file` is false).
    #[error("{path}: {rule}: {}{error}", if *in_file { "" } else { "query " })]
    Query {
        path: PathBuf,
        rule: RuleName,
        error: Box<ParseError>,
        in_file: bool,
    },
    #[error("{path}: rule_id {rule_id} is already used by {other}")]
    DuplicateId {
        path: PathBuf,
        rule_id: String,
        other: PathBuf,
    },
}

/// MITRE ATT&CK mapping of a rule (`[[rule.threat]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Threat {
    pub framework: String,
    #[serde(default, rename = "technique")]
    pub techniques: Vec<Technique>,
    pub tactic: Option<Tactic>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Tactic {
    pub id: String,
    pub name: String,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Technique {
    pub id: String,
    pub name: String,
    pub reference: Option<String>,
    #[serde(default, rename = "subtechnique")]
    pub subtechniques: Vec<Subtechnique>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Subtechnique {
    pub id: String,
    pub name: String,
    pub reference: Option<String>,
}

/// A loaded, compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub rule_id: String,
    pub name: String,
    pub description: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// 0–100.
    pub risk_score: u32,
    pub references: Vec<String>,
    pub author: Vec<String>,
    pub tags: Vec<String>,
    pub threats: Vec<Threat>,
    /// The query as written in the file.
    pub query_text: String,
    pub query: CompiledQuery,
}

impl Rule {
    /// ATT&CK technique ids, most specific first-come: each technique's sub-techniques where
    /// given, otherwise the technique itself (e.g. `["T1021.003", "T1218.014"]`).
    pub fn technique_ids(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for t in self.threats.iter().flat_map(|t| &t.techniques) {
            if t.subtechniques.is_empty() {
                out.push(t.id.as_str());
            } else {
                out.extend(t.subtechniques.iter().map(|s| s.id.as_str()));
            }
        }
        out
    }
}

/// A rule with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    pub path: PathBuf,
    /// Lowercase hex sha256 of the file's bytes.
    pub sha256: String,
    pub rule: Rule,
}

#[derive(Deserialize)]
struct RawFile {
    rule: RawRule,
}

#[derive(Deserialize)]
struct RawRule {
    rule_id: String,
    name: String,
    description: String,
    severity: String,
    risk_score: u32,
    language: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    query: toml::Spanned<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    author: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    threat: Vec<Threat>,
}

/// Best-effort name and id of a rule in a file that fails to load, for the message.
fn sniff_name(text: &str) -> RuleName {
    let table: Option<toml::Table> = toml::from_str(text).ok();
    let rule = table
        .as_ref()
        .and_then(|t| t.get("rule"))
        .and_then(|r| r.as_table());
    let get = |k: &str| {
        rule.and_then(|r| r.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    RuleName {
        name: get("name"),
        rule_id: get("rule_id"),
    }
}

/// Where the query's text starts in the file, if its positions map one to one (literal
/// strings, or basic strings without escapes).
fn query_base(text: &str, span: std::ops::Range<usize>) -> Option<usize> {
    let raw = text.get(span.clone())?;
    let (delim, literal) = if raw.starts_with("'''") {
        ("'''", true)
    } else if raw.starts_with("\"\"\"") {
        ("\"\"\"", false)
    } else if raw.starts_with('\'') {
        ("'", true)
    } else {
        ("\"", false)
    };
    if !literal && raw.contains('\\') {
        return None;
    }
    let mut base = span.start + delim.len();
    if delim.len() == 3 {
        let rest = text.get(base..)?;
        if rest.starts_with("\r\n") {
            base += 2;
        } else if rest.starts_with('\n') {
            base += 1;
        }
    }
    Some(base)
}

/// Parse and compile one rule file's text. `path` is used in messages only.
pub fn parse_rule(path: &Path, text: &str) -> Result<Rule, RuleError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| RuleError::Toml {
        path: path.to_owned(),
        rule: sniff_name(text),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let r = raw.rule;
    let name = RuleName {
        name: Some(r.name.clone()),
        rule_id: Some(r.rule_id.clone()),
    };
    let invalid = |message: String| RuleError::Invalid {
        path: path.to_owned(),
        rule: name.clone(),
        message,
    };
    if r.language != "eql" {
        return Err(invalid(format!(
            "language = {:?}: only \"eql\" rules can be run",
            r.language
        )));
    }
    if let Some(k) = &r.kind
        && k != "eql"
    {
        return Err(invalid(format!(
            "type = {k:?}: only \"eql\" rules can be run"
        )));
    }
    if !["low", "medium", "high", "critical"].contains(&r.severity.as_str()) {
        return Err(invalid(format!(
            "severity = {:?}: expected low, medium, high or critical",
            r.severity
        )));
    }
    if r.risk_score > 100 {
        return Err(invalid(format!(
            "risk_score = {}: expected 0 to 100",
            r.risk_score
        )));
    }
    if r.rule_id.trim().is_empty() || r.name.trim().is_empty() {
        return Err(invalid("rule_id and name must not be empty".into()));
    }
    let span = r.query.span();
    let query_text = r.query.into_inner();
    let query = compile(&query_text).map_err(|e| {
        let base = query_base(text, span);
        RuleError::Query {
            path: path.to_owned(),
            rule: name.clone(),
            error: Box::new(base.map_or_else(|| e.clone(), |b| e.relocate(text, b))),
            in_file: base.is_some(),
        }
    })?;
    Ok(Rule {
        rule_id: r.rule_id,
        name: r.name,
        description: r.description,
        severity: r.severity,
        risk_score: r.risk_score,
        references: r.references,
        author: r.author,
        tags: r.tags,
        threats: r.threat,
        query_text,
        query,
    })
}

fn read_limited(path: &Path) -> Result<Vec<u8>, RuleError> {
    let io = |source| RuleError::Io {
        path: path.to_owned(),
        source,
    };
    let f = fs::File::open(path).map_err(io)?;
    let mut buf = Vec::new();
    f.take(MAX_RULE_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > MAX_RULE_FILE_BYTES {
        return Err(RuleError::Refused {
            path: path.to_owned(),
            reason: format!("larger than {MAX_RULE_FILE_BYTES} bytes"),
        });
    }
    Ok(buf)
}

/// Load one rule file (any path the user names; read-only).
pub fn load_file(path: &Path) -> Result<LoadedRule, RuleError> {
    let bytes = read_limited(path)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let text = std::str::from_utf8(&bytes).map_err(|e| RuleError::Refused {
        path: path.to_owned(),
        reason: format!("not UTF-8 text ({e})"),
    })?;
    let rule = parse_rule(path, text)?;
    Ok(LoadedRule {
        path: path.to_owned(),
        sha256,
        rule,
    })
}

/// The `*.toml` files directly inside `dir`, sorted by file name. Hidden files (`.name`) and
/// subdirectories are skipped; a symbolic link named `*.toml` is an error (never followed).
pub fn rule_paths(dir: &Path) -> Result<Vec<Result<PathBuf, RuleError>>, RuleError> {
    let io = |source| RuleError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let Some(name_str) = name.to_str() else {
            continue;
        };
        if !name_str.ends_with(".toml") || name_str.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // DirEntry::file_type does not follow symbolic links.
        let ft = entry.file_type().map_err(|source| RuleError::Io {
            path: path.clone(),
            source,
        })?;
        if ft.is_symlink() {
            out.push(Err(RuleError::Refused {
                path,
                reason: "symbolic link (rule directories are read without following links)".into(),
            }));
        } else if ft.is_file() {
            out.push(Ok(path));
        }
    }
    out.sort_by(|a, b| {
        let key = |r: &Result<PathBuf, RuleError>| match r {
            Ok(p) => p.file_name().map(|n| n.to_owned()),
            Err(RuleError::Refused { path, .. }) => path.file_name().map(|n| n.to_owned()),
            Err(_) => None,
        };
        key(a).cmp(&key(b))
    });
    Ok(out)
}

/// Load every rule of a directory, reporting each file's outcome (for `rules check`).
/// Duplicate `rule_id`s are reported on the later file. Errs only if `dir` cannot be listed.
pub fn check_dir(dir: &Path) -> Result<Vec<Result<LoadedRule, RuleError>>, RuleError> {
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut out = Vec::new();
    for p in rule_paths(dir)? {
        let r = p
            .and_then(|p| load_file(&p))
            .and_then(|lr| match seen.get(&lr.rule.rule_id) {
                Some(other) => Err(RuleError::DuplicateId {
                    path: lr.path.clone(),
                    rule_id: lr.rule.rule_id.clone(),
                    other: other.clone(),
                }),
                None => {
                    seen.insert(lr.rule.rule_id.clone(), lr.path.clone());
                    Ok(lr)
                }
            });
        out.push(r);
    }
    Ok(out)
}

/// Load every rule of a directory (sorted by file name); the first error stops loading.
pub fn load_dir(dir: &Path) -> Result<Vec<LoadedRule>, RuleError> {
    check_dir(dir)?.into_iter().collect()
}
