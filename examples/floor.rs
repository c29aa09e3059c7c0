//! What one thread cannot go below on a set of EVTX files: the lower bounds behind the
//! 1-thread throughput target (docs/performance.md, "Ceilings").
//!
//! ```sh
//! cargo run --release --example floor -- target/bench/scale
//! ```
//!
//! On one thread of the global pool, each pass over every EVTX file under the directory:
//! 1. read and SHA-256 every byte (what `scan` records for each input; docs/design.md);
//! 2. the evtx crate reading and parsing every chunk (string and template caches), no record;
//! 3. the evtx crate's cheapest pass over every record: its template substitution values, not
//!    rendered (what `evtx_dump` does before it writes JSON);
//! 4. dcomhunt's own reader as `scan` runs it (`ingest::evtx::read_hashed_with`: each file
//!    streamed and hashed as read, the records of the event ids the tool keeps read from their
//!    template values into raw records, each chunk's dropped once counted).
//!
//! Then SHA-256 over a buffer in memory: the hash alone, without reading.

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use dcomhunt::discover::{Input, discover_unhashed, hash_file};
use dcomhunt::ingest::{self, Format};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("usage: floor DIR"))?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()?;
    let found = discover_unhashed(std::slice::from_ref(&dir))?;
    let inputs: Vec<_> = found
        .inputs
        .iter()
        .filter(|i| i.format == Format::Evtx)
        .collect();
    let bytes: u64 = inputs.iter().map(|i| i.size).sum();
    // Written with `?`, not `println!`: a closed pipe (`| head`) ends the run, not a panic.
    writeln!(
        std::io::stdout(),
        "{} EVTX files, {:.1} MB",
        inputs.len(),
        bytes as f64 / 1e6
    )?;
    let report =
        |what: &str, t: Instant, records: Option<usize>| line(what, t, bytes as usize, records);

    let t = Instant::now();
    for i in &inputs {
        black_box(hash_file(&i.path)?);
    }
    report("read + SHA-256", t, None)?;

    let t = Instant::now();
    each_chunk(&inputs, |_| {})?;
    report("evtx crate: chunks read and parsed", t, None)?;

    let t = Instant::now();
    let mut n = 0;
    each_chunk(&inputs, |c| {
        for r in c.iter().flatten() {
            n += 1;
            black_box(r.template_instances().map(|v| v.len()).ok());
        }
    })?;
    report("evtx crate: every record's values", t, Some(n))?;

    let t = Instant::now();
    let mut n = 0;
    for i in &inputs {
        let (counts, _, _) = ingest::evtx::read_hashed_with(&i.path, &i.display, &|r| r.len())?;
        n += counts.iter().sum::<usize>();
    }
    report("dcomhunt reader + SHA-256 (raw records)", t, Some(n))?;

    let buf: Vec<u8> = (0u32..256 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let t = Instant::now();
    black_box(Sha256::digest(&buf));
    line("SHA-256 in memory (256 MiB)", t, buf.len(), None)?;
    Ok(())
}

/// One result: time since `t`, throughput over `bytes`, records if counted.
fn line(what: &str, t: Instant, bytes: usize, records: Option<usize>) -> std::io::Result<()> {
    let s = t.elapsed().as_secs_f64();
    let r = records.map_or(String::new(), |n| format!(", {n} records"));
    writeln!(
        std::io::stdout(),
        "{what:<46} {s:>7.3} s  {:>6.0} MB/s{r}",
        bytes as f64 / 1e6 / s
    )
}

/// Every chunk of every input read and parsed by the evtx crate on this thread, handed to `f`
/// (chunks the crate cannot read or parse are skipped).
fn each_chunk(
    inputs: &[&Input],
    mut f: impl FnMut(&mut evtx::EvtxChunk<'_>),
) -> anyhow::Result<()> {
    let settings = Arc::new(evtx::ParserSettings::new().num_threads(1));
    for i in inputs {
        let mut p = evtx::EvtxParser::from_path(&i.path)?;
        for mut c in p.chunks().flatten() {
            if let Ok(mut c) = c.parse(settings.clone()) {
                f(&mut c);
            }
        }
    }
    Ok(())
}
