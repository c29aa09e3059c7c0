//! Running a piece of a stage on the thread pool rather than on the calling thread.
//!
//! Memory is given back to the system soonest when it is freed by the thread that allocated it:
//! the allocator (mimalloc) keeps a block freed by another thread on a list that only the owning
//! thread empties, and until it does the block's page counts as in use. The pipeline's large
//! per-event arrays are made and dropped on the pool's threads, where the stages run; a piece
//! that the calling thread would otherwise run (the sort keys' merge, the graph's per-event
//! arrays) is sent to the pool with [`on_pool`].

/// Run `f` on a thread of the pool (on this one when it is already one) and wait for it.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::join(f, || ()).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_a_pool_thread_and_returns() {
        assert!(rayon::current_thread_index().is_none());
        let (v, on) = on_pool(|| (41 + 1, rayon::current_thread_index()));
        assert_eq!(v, 42);
        assert!(on.is_some());
    }
}
