#![forbid(unsafe_code)]

/// mimalloc instead of the system allocator: the pipeline makes millions of small allocations
/// that live for the whole run between short-lived ones, and glibc's allocator spent a quarter
/// of a 1 GB scan searching its free lists (see docs/performance.md). Its v2 line (cargo feature
/// `v2` of the `mimalloc` crate): it gives freed pages back to the system after 10 ms, where v3
/// waits a second, and a stage's peak then no longer counts the pages the one before it freed.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(dcomhunt::cli::main());
}
