//! Command-line interface: argument types and dispatch. `main.rs` only calls [`main`].

pub mod dev;
pub mod events;
pub mod grid;
pub mod hosts;
pub mod progress;
pub mod scan;
pub mod summary;
pub mod tree;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Exit codes (documented in README and docs/user-guide.md).
pub mod exit {
    /// Ran; nothing found; every input read completely.
    pub const OK: i32 = 0;
    /// Error (unreadable input path, unwritable output, bad rules…).
    pub const ERROR: i32 = 1;
    /// Usage error (bad arguments).
    pub const USAGE: i32 = 2;
    /// Ran; findings were made.
    pub const FINDINGS: i32 = 3;
    /// Ran; some input could not be read completely (no findings).
    pub const INCOMPLETE: i32 = 4;
    /// Ran; findings were made and some input could not be read completely.
    pub const FINDINGS_INCOMPLETE: i32 = 5;

    pub fn of(findings: bool, incomplete: bool) -> i32 {
        match (findings, incomplete) {
            (false, false) => OK,
            (true, false) => FINDINGS,
            (false, true) => INCOMPLETE,
            (true, true) => FINDINGS_INCOMPLETE,
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "dcomhunt",
    version,
    about = "Offline DCOM lateral-movement hunting in Windows event logs",
    long_about = "Reads .evtx files (and XML / JSON exports) offline, rebuilds each host's process \
                  tree with its network connections, runs DCOM lateral-movement sequence rules and \
                  writes timelines and CSV reports.\n\nExit codes: 0 nothing found, 1 error, \
                  2 usage error, 3 findings, 4 input incomplete, 5 findings and input incomplete."
)]
pub struct Cli {
    /// Worker threads (default: all cores). Output is identical for any value.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Drop the progress line and the read overview (files, records, kept events, skipped
    /// files counted by kind) from stderr. Still printed: damage, truncation and `INPUT
    /// INCOMPLETE`, unreadable files, skipped .evtx files, warnings and errors.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Tables and trees in full, one line per row, even on a terminal (as when stdout is not a
    /// terminal). By default they are fitted to the terminal's width.
    #[arg(long, global = true)]
    pub wide: bool,
    /// Keep up to this many MiB of encoded events in memory; the rest go to an anonymous
    /// temporary file in TMPDIR, removed when the run ends (0: all of them). Output is
    /// identical for any value.
    #[arg(long, global = true, value_name = "MIB", default_value_t = crate::store::DEFAULT_SPILL_MIB)]
    pub spill_mib: usize,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the normalized events (Sysmon 1/3/5, Security 4688/4689/5156, boot markers).
    Events(events::EventsArgs),
    /// Print each host's process tree with its network connections.
    Tree(tree::TreeArgs),
    /// Run the rules: findings on the terminal, reports with -o DIR.
    Scan(scan::ScanArgs),
    /// Per-host timeline of kept events, findings marked inline.
    Timeline(scan::TimelineArgs),
    /// List or check rule files.
    #[command(subcommand)]
    Rules(scan::RulesCmd),
    /// Developer tools: regenerate/check test fixtures, write a synthetic scale corpus.
    Dev(dev::DevArgs),
}

/// Run the CLI; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    if let Some(n) = cli.threads {
        if n == 0 {
            eprintln!("dcomhunt: --threads must be at least 1");
            return exit::USAGE;
        }
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            eprintln!("dcomhunt: cannot start {n} threads: {e}");
            return exit::ERROR;
        }
    }
    let quiet = cli.quiet;
    crate::pipeline::set_spill_mib(cli.spill_mib);
    let ui = Ui {
        quiet,
        width: out_width(cli.wide),
        progress: !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let r = match cli.command {
        Command::Events(a) => events::run(a, &ui),
        Command::Tree(a) => tree::run(a, &ui),
        Command::Scan(a) => scan::run(a, &ui, cli.threads),
        Command::Timeline(a) => scan::timeline(a, &ui),
        Command::Rules(c) => scan::rules(c, &ui),
        Command::Dev(a) => dev::run(a),
    };
    // Events that could not be read back from the spill file are missing from what was
    // printed or written: the run failed, whatever it found.
    let r = match (r, crate::store::read_back_error()) {
        (Ok(_), Some(e)) => Err(anyhow::anyhow!(
            "{e} (TMPDIR); the output of this run is incomplete"
        )),
        (r, _) => r,
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            // A closed stdout (`dcomhunt events … | head`) is the reader's choice, not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return exit::OK;
            }
            // Not anyhow's `{:#}`: it would print a cause our errors already name twice.
            let text = crate::error::error_chain(e.as_ref());
            eprintln!("dcomhunt: {}", crate::display::term(&text));
            if e.downcast_ref::<UsageError>().is_some() {
                exit::USAGE
            } else {
                exit::ERROR
            }
        }
    }
}

/// How the commands talk to the examiner.
#[derive(Debug, Clone, Default)]
pub struct Ui {
    /// `-q`: no summary and no progress on stderr.
    pub quiet: bool,
    /// The width tables and trees are fitted to; `None`: full lines (stdout is not a terminal,
    /// or `--wide`).
    pub width: Option<usize>,
    /// Draw the progress line on stderr (a terminal, and no `-q`).
    pub progress: bool,
}

/// The terminal width stdout is shown in, unless `wide`; `None` when stdout is not a terminal.
fn out_width(wide: bool) -> Option<usize> {
    if wide {
        return None;
    }
    use std::io::IsTerminal;
    let out = std::io::stdout();
    if !out.is_terminal() {
        return None;
    }
    #[cfg(unix)]
    {
        rustix::termios::tcgetwinsize(&out)
            .ok()
            .map(|w| usize::from(w.ws_col))
            .filter(|&c| c >= 20)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// An error in how the tool was called (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Paths shared by the commands that read evidence.
#[derive(clap::Args, Debug, Clone)]
pub struct Inputs {
    /// Files, directories (walked recursively) or globs; recognized by content.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// List every skipped file (not an event log, not a regular file…) by name; by default
    /// they are counted by kind. Unreadable files, and skipped files named .evtx or lying in a
    /// winevt/Logs folder, are always listed.
    #[arg(long)]
    pub list_skipped: bool,
}

impl Inputs {
    /// The stderr summary of a read, as `ui` and `--list-skipped` ask.
    pub fn summary(&self, l: &crate::pipeline::Loaded, ui: &Ui) -> String {
        summary::summary(
            l,
            summary::SummaryOpts {
                quiet: ui.quiet,
                list_skipped: self.list_skipped,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every argument of every command, at every level, says what it is for.
    #[test]
    fn every_flag_has_help() {
        fn walk(c: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in c.get_arguments() {
                let text = a
                    .get_help()
                    .or(a.get_long_help())
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if text.trim().is_empty() {
                    missing.push(format!("{path} {}", a.get_id()));
                }
            }
            for s in c.get_subcommands() {
                if s.get_about().is_none() && s.get_name() != "help" {
                    missing.push(format!("{path} {} (no about)", s.get_name()));
                }
                walk(s, &format!("{path} {}", s.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "dcomhunt", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
    }
}
