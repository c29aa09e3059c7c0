//! `dcomhunt dev …`: developer commands for the test fixtures (see docs/testing.md).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::writer::scale::{ScaleOptions, generate};
use crate::writer::scenario::{check_fixtures, write_fixtures};
use crate::writer::shipper::{self, ShipperLayout, ShipperShape};

#[derive(Debug, Args)]
pub struct DevArgs {
    #[command(subcommand)]
    pub command: DevCommand,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Regenerate testdata/*/…/*.evtx (and testdata/*.nxlog/*.json for scenarios with an [nxlog]
    /// table) from testdata/scenarios/*.toml, or check they are current.
    Fixtures {
        /// Only check: exit 1 and list what differs when a fixture is out of date.
        #[arg(long)]
        check: bool,
        /// The testdata folder.
        #[arg(long, default_value = "testdata", value_name = "DIR")]
        testdata: PathBuf,
    },
    /// Render every record of EVTX files as a log shipper writes them (Winlogbeat, Elastic
    /// Agent): fixtures for the shipped-JSON reader.
    Ship {
        /// Which shipper's field layout: Winlogbeat 6, 7 (with its Sysmon module), 8, or an
        /// Elastic Agent export.
        #[arg(long, value_enum)]
        shape: ShipperShape,
        /// One record per line, one JSON array, or a pretty-printed array.
        #[arg(long, value_enum, default_value = "lines")]
        layout: ShipperLayout,
        /// The JSON file to write.
        #[arg(long)]
        out: PathBuf,
        /// EVTX files, their records written in the order given.
        #[arg(required = true)]
        evtx: Vec<PathBuf>,
    },
    /// Write a large synthetic corpus with planted attacks (listed in DIR/planted.json).
    Scale {
        /// Hosts to write (each its own Sysmon and Security logs).
        #[arg(long, default_value_t = 8, value_name = "N")]
        hosts: usize,
        /// Background events per host.
        #[arg(long, default_value_t = 10_000, value_name = "N")]
        events: usize,
        /// Planted attacks in all.
        #[arg(long, default_value_t = 6, value_name = "N")]
        attacks: usize,
        /// Directory to write the corpus and planted.json into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Random seed: the same seed writes the same files.
        #[arg(long, default_value_t = 1, value_name = "N")]
        seed: u64,
    },
}

pub fn run(args: DevArgs) -> anyhow::Result<i32> {
    match args.command {
        DevCommand::Fixtures {
            check: true,
            testdata,
        } => {
            let problems = check_fixtures(&testdata)
                .with_context(|| format!("checking fixtures in {}", testdata.display()))?;
            if problems.is_empty() {
                println!("fixtures are up to date");
                return Ok(0);
            }
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!("run `dcomhunt dev fixtures` to regenerate them");
            Ok(1)
        }
        DevCommand::Fixtures {
            check: false,
            testdata,
        } => {
            let written = write_fixtures(&testdata)
                .with_context(|| format!("writing fixtures in {}", testdata.display()))?;
            println!("wrote {} fixture files", written.len());
            Ok(0)
        }
        DevCommand::Ship {
            shape,
            layout,
            out,
            evtx,
        } => {
            let mut records = Vec::new();
            for p in &evtx {
                records.extend(shipper::evtx_records(p)?);
            }
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(&out)
                    .with_context(|| format!("creating {}", out.display()))?,
            );
            shipper::write(&records, shape, layout, &mut f)
                .and_then(|()| std::io::Write::flush(&mut f))
                .with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {} records to {}", records.len(), out.display());
            Ok(0)
        }
        DevCommand::Scale {
            hosts,
            events,
            attacks,
            out,
            seed,
        } => {
            let started = std::time::Instant::now();
            let summary = generate(
                &ScaleOptions {
                    hosts,
                    events,
                    attacks,
                    seed,
                },
                &out,
            )
            .with_context(|| format!("writing the corpus to {}", out.display()))?;
            println!(
                "wrote {} events, {} bytes in {} files, {} planted attacks ({}) in {:.1}s",
                summary.events,
                summary.bytes,
                summary.files.len(),
                summary.attacks.len(),
                out.join("planted.json").display(),
                started.elapsed().as_secs_f64()
            );
            Ok(0)
        }
    }
}
