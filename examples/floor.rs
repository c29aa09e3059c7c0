//! What one thread cannot go below on a set of EVTX files: the lower bounds behind issue 7's
//! 1-thread target (docs/performance.md, "Ceilings").
//!
//! ```sh
//! cargo run --release --example floor -- target/bench/scale
//! ```
//!
//! On one thread of the global pool, each pass over every EVTX file under the directory:
//! 1. read and SHA-256 every byte (what `scan` records for each input; design.md);
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

use dcomhunt::discover::{discover_unhashed, hash_file};
use dcomhunt::ingest::{self, Format};
use sha2::{Digest, Sha256};
use std::hint::black_box;
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
    println!("{} EVTX files, {:.1} MB", inputs.len(), bytes as f64 / 1e6);
    let report = |what: &str, t: Instant, records: Option<usize>| {
        let s = t.elapsed().as_secs_f64();
        let r = records.map_or(String::new(), |n| format!(", {n} records"));
        println!(
            "{what:<46} {s:>7.3} s  {:>6.0} MB/s{r}",
            bytes as f64 / 1e6 / s
        );
    };

    let t = Instant::now();
    for i in &inputs {
        black_box(hash_file(&i.path)?);
    }
    report("read + SHA-256", t, None);

    let settings = Arc::new(evtx::ParserSettings::new().num_threads(1));
    let t = Instant::now();
    for i in &inputs {
        let mut p = evtx::EvtxParser::from_path(&i.path)?;
        for mut c in p.chunks().flatten() {
            black_box(c.parse(settings.clone()).is_ok());
        }
    }
    report("evtx crate: chunks read and parsed", t, None);

    let t = Instant::now();
    let mut n = 0;
    for i in &inputs {
        let mut p = evtx::EvtxParser::from_path(&i.path)?;
        for mut c in p.chunks().flatten() {
            let Ok(mut c) = c.parse(settings.clone()) else {
                continue;
            };
            for r in c.iter().flatten() {
                n += 1;
                black_box(r.template_instances().map(|v| v.len()).ok());
            }
        }
    }
    report("evtx crate: every record's values", t, Some(n));

    let t = Instant::now();
    let mut n = 0;
    for i in &inputs {
        let (counts, _, _) = ingest::evtx::read_hashed_with(&i.path, &i.display, &|r| r.len())?;
        n += counts.iter().sum::<usize>();
    }
    report("dcomhunt reader + SHA-256 (raw records)", t, Some(n));

    let buf: Vec<u8> = (0u32..256 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let t = Instant::now();
    black_box(Sha256::digest(&buf));
    let s = t.elapsed().as_secs_f64();
    println!(
        "SHA-256 in memory (256 MiB)                    {s:>7.3} s  {:>6.0} MB/s",
        buf.len() as f64 / 1e6 / s
    );
    Ok(())
}
