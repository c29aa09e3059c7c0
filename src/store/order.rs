//! The total order of a store's events: each batch's sort keys, and the merge of batches whose
//! keys are each sorted into one order (see [`merge_batches`]).

use super::spill::SpillFile;
use super::{Batch, Loc, MIXED};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A spilled batch's sort keys: sorted ([`Batch::sort_own_keys`]) and written to the spill file
/// right after its events, read back by the merge ([`merge_batches`]) when it comes to the
/// batch; the first and last are kept to find runs of batches. Until every input is read, a
/// spilled batch then holds none of its 24 bytes an event in memory.
#[derive(Debug, Clone, Copy)]
pub(super) struct DiskKeys {
    pub(super) at: u64,
    pub(super) first: BatchKey,
    pub(super) last: BatchKey,
}

/// Bytes of one [`BatchKey`] in the spill file.
pub(super) const KEY_BYTES: usize = 24;

/// One event's sort key in its batch, in 24 bytes: the record id and position as differences
/// from the batch's first event's (a batch is cut where one does not fit, see
/// [`Encoder::fits`](super::codec::Encoder::fits)); they are held until every input is read (in the spill file for a
/// spilled batch, see [`DiskKeys`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BatchKey {
    pub(super) time: i64,
    pub(super) record_id: i32,
    pub(super) position: i32,
    pub(super) source: u32,
    pub(super) offset: u32,
}

impl BatchKey {
    /// Its record id and position, counted from the batch's first event's (`base`).
    pub(super) fn record_and_position(&self, base: (u64, u64)) -> (u64, u64) {
        (
            base.0.wrapping_add_signed(self.record_id.into()),
            base.1.wrapping_add_signed(self.position.into()),
        )
    }

    pub(super) fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.time.to_le_bytes());
        out.extend_from_slice(&self.record_id.to_le_bytes());
        out.extend_from_slice(&self.position.to_le_bytes());
        out.extend_from_slice(&self.source.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
    }

    pub(super) fn read_from(b: &[u8; KEY_BYTES]) -> BatchKey {
        let w = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        BatchKey {
            time: i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            record_id: i32::from_le_bytes(w(8)),
            position: i32::from_le_bytes(w(12)),
            source: u32::from_le_bytes(w(16)),
            offset: u32::from_le_bytes(w(20)),
        }
    }
}

/// The total order's key of one event: (time, file rank, record id, position, batch, offset,
/// host). The batch and offset only make the order of (never expected) exact duplicates
/// independent of the sort; with them every key is distinct.
type SortKey = (i64, u32, u64, u64, u32, u32, u32);

/// Where a batch's sort keys are counted from and what its sources are (file rank, host
/// number), for [`sort_key`].
pub(super) struct KeyBase {
    pub(super) base: (u64, u64),
    pub(super) src: Vec<(u32, u32)>,
}

/// The order's key of key `k` of batch `n`.
pub(super) fn sort_key(n: usize, k: &BatchKey, b: &KeyBase) -> SortKey {
    let (rank, host) = b.src[k.source as usize];
    let (record_id, position) = k.record_and_position(b.base);
    (k.time, rank, record_id, position, n as u32, k.offset, host)
}

/// Where a merge of sorted batches stands in one run of them (see [`merge_batches`]).
struct RunCursor {
    batch: usize,
    pub(super) at: usize,
    /// The batch after the run's last.
    end: usize,
}

/// The events' locations in the order of their keys, from batches whose keys are each sorted:
/// a k-way merge of runs of consecutive batches in which each batch starts after the one
/// before ends (the chunks of one log mostly follow each other in time). Every key is
/// distinct, so the order is the one a sort of all keys at once gives. A batch's keys are
/// dropped once the merge has passed them.
pub(super) fn merge_batches(
    batches: &mut [Batch],
    srcs: &[KeyBase],
    batch_host: &[u32],
    spill: Option<&SpillFile>,
) -> (Vec<Loc>, Vec<(u32, u32)>) {
    let key = |batches: &[Batch], n: usize, i: usize| {
        batches[n].keys.get(i).map(|k| sort_key(n, k, &srcs[n]))
    };
    let end_key = |batches: &[Batch], n: usize, last: bool| {
        batches[n].end_key(last).map(|k| sort_key(n, &k, &srcs[n]))
    };
    let mut order = Vec::with_capacity(batches.iter().map(Batch::len).sum());
    let mut runs: Vec<RunCursor> = Vec::new();
    let mut n = 0;
    while n < batches.len() {
        let start = n;
        let mut last = end_key(batches, n, true);
        n += 1;
        while n < batches.len() {
            let first = end_key(batches, n, false);
            if let (Some(a), Some(b)) = (last, first)
                && b < a
            {
                break;
            }
            if let Some(k) = end_key(batches, n, true) {
                last = Some(k);
            }
            n += 1;
        }
        runs.push(RunCursor {
            batch: start,
            at: 0,
            end: n,
        });
    }
    // A run's cursor moved, when past the end of its batch, to the next batch with keys (the
    // batches left behind have their keys dropped; a spilled batch's are read back as the
    // cursor comes to it); its key there, if any.
    let settle = |batches: &mut [Batch], c: &mut RunCursor| -> Option<SortKey> {
        while c.batch < c.end {
            let b = &mut batches[c.batch];
            if c.at == 0 {
                b.read_keys_back(spill);
            }
            if c.at < b.keys.len() {
                break;
            }
            b.keys = Vec::new();
            c.batch += 1;
            c.at = 0;
        }
        (c.batch < c.end)
            .then(|| key(batches, c.batch, c.at))
            .flatten()
    };
    let mut heap: BinaryHeap<Reverse<(SortKey, usize)>> = BinaryHeap::new();
    for (r, c) in runs.iter_mut().enumerate() {
        if let Some(k) = settle(batches, c) {
            heap.push(Reverse((k, r)));
        }
    }
    // Each event's location; an event of a batch of several hosts has its host noted apart.
    let mut mixed = Vec::new();
    let mut push = |order: &mut Vec<Loc>, k: &SortKey| {
        if batch_host[k.4 as usize] == MIXED {
            mixed.push((order.len() as u32, k.6));
        }
        order.push(Loc {
            batch: k.4,
            offset: k.5,
        });
    };
    while let Some(Reverse((k, r))) = heap.pop() {
        push(&mut order, &k);
        // The run's following keys, while they come before every other run's next one.
        let bound = heap.peek().map(|Reverse((b, _))| *b);
        let c = &mut runs[r];
        loop {
            c.at += 1;
            match settle(batches, c) {
                Some(k) if bound.is_none_or(|b| k < b) => push(&mut order, &k),
                Some(k) => {
                    heap.push(Reverse((k, r)));
                    break;
                }
                None => break,
            }
        }
    }
    (order, mixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spilled key is its 24 bytes and reads back as it was.
    #[test]
    fn keys_round_trip_through_their_bytes() {
        for k in [
            BatchKey {
                time: i64::MIN,
                record_id: i32::MIN,
                position: i32::MAX,
                source: u32::MAX,
                offset: 0,
            },
            BatchKey {
                time: 0x0123_4567_89ab_cdef,
                record_id: -1,
                position: 7,
                source: 3,
                offset: u32::MAX - 1,
            },
        ] {
            let mut b = Vec::new();
            k.write_to(&mut b);
            assert_eq!(b.len(), KEY_BYTES);
            assert_eq!(BatchKey::read_from(b.as_slice().try_into().unwrap()), k);
        }
    }
}
