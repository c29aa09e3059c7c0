//! Records found more than once: the same (host, channel, EventRecordID) read from two files
//! (a live log and its shadow copy, overlapping exports) or twice from one (a duplicated chunk).
//!
//! Copies with the same content are one record: the first in the total order is analysed, the
//! others are taken out of the store's order. Copies whose contents differ are a conflict: one
//! of each content is kept. Identical copies have the same time, so they are neighbours in the
//! total order (time first): the store is walked once, and only events that share their time
//! with another are decoded and compared. Nothing is held per event.

use super::EventStore;
use crate::event::Event;
use crate::record::Provenance;

/// What [`EventStore::remove_duplicates`] found.
#[derive(Debug, Default)]
pub struct Dedup {
    /// (kept copy, copy taken out, record id), in the total order of the copies taken out.
    pub removed: Vec<(Provenance, Provenance, u64)>,
    /// Copies kept that had identical copies taken out.
    pub kept_duplicates: Vec<Provenance>,
    /// One (host, channel, record id) with several contents: one copy of each, in the total
    /// order.
    pub conflicts: Vec<Vec<Event>>,
}

/// Whether two events are the same record read twice: equal in everything but where they
/// were read.
fn same_content(a: &Event, b: &Event) -> bool {
    let mut a = a.clone();
    a.prov = b.prov.clone();
    a == *b
}

impl EventStore {
    /// Take every copy of a record but the first (in the total order) out of the order, and
    /// say which copies were found and which records conflict. Events without a record id
    /// (formats without one) are never taken as copies.
    pub fn remove_duplicates(&mut self) -> Dedup {
        let mut out = Dedup::default();
        let mut gone: Vec<u32> = Vec::new();
        {
            let mut c = self.cursor();
            // An event's time is its encoding's first 8 bytes: read without decoding it.
            let time = |c: &mut super::Cursor<'_>, i: usize| -> Option<i64> {
                let l = self.order[i];
                let b = c
                    .batch(l)?
                    .bytes
                    .get(l.offset as usize..l.offset as usize + 8)?;
                Some(i64::from_le_bytes(b.try_into().ok()?))
            };
            let n = self.order.len();
            let mut s = 0;
            while s < n {
                let t = time(&mut c, s);
                let mut j = s + 1;
                while j < n && time(&mut c, j) == t {
                    j += 1;
                }
                if j - s >= 2 {
                    self.same_time(&mut c, s..j, &mut out, &mut gone);
                }
                s = j;
            }
        }
        if !gone.is_empty() {
            gone.sort_unstable();
            self.take_out(&gone);
        }
        out
    }

    /// Compare the events `range` of the order, which share their time.
    fn same_time(
        &self,
        c: &mut super::Cursor<'_>,
        range: std::ops::Range<usize>,
        out: &mut Dedup,
        gone: &mut Vec<u32>,
    ) {
        let mut group: Vec<(u32, usize, Event)> = range
            .filter_map(|i| {
                let h = self.host_id(i)?;
                let e = c.event(i)?;
                (e.record_id != 0).then_some((h, i, e))
            })
            .collect();
        group.sort_by(|a, b| {
            (a.0, &*a.2.channel, a.2.record_id, a.1).cmp(&(b.0, &*b.2.channel, b.2.record_id, b.1))
        });
        let mut k = 0;
        while k < group.len() {
            let key = |x: &(u32, usize, Event)| (x.0, x.2.channel.clone(), x.2.record_id);
            let mut m = k + 1;
            while m < group.len() && key(&group[m]) == key(&group[k]) {
                m += 1;
            }
            if m - k >= 2 {
                // One class per distinct content, in the total order; its first copy is kept.
                let mut kept: Vec<(usize, bool)> = Vec::new();
                for x in k..m {
                    match kept
                        .iter_mut()
                        .find(|(y, _)| same_content(&group[*y].2, &group[x].2))
                    {
                        Some((y, dup)) => {
                            *dup = true;
                            gone.push(group[x].1 as u32);
                            out.removed.push((
                                group[*y].2.prov.clone(),
                                group[x].2.prov.clone(),
                                group[x].2.record_id,
                            ));
                        }
                        None => kept.push((x, false)),
                    }
                }
                for &(y, dup) in &kept {
                    if dup {
                        out.kept_duplicates.push(group[y].2.prov.clone());
                    }
                }
                if kept.len() > 1 {
                    out.conflicts
                        .push(kept.iter().map(|&(y, _)| group[y].2.clone()).collect());
                }
            }
            k = m;
        }
    }

    /// Remove the events `gone` (sorted indexes) from the order; the events of batches of
    /// several hosts keep their hosts.
    fn take_out(&mut self, gone: &[u32]) {
        let mut g = gone.iter().peekable();
        let mut i = 0u32;
        self.order.retain(|_| {
            let keep = g.next_if(|&&x| x == i).is_none();
            i += 1;
            keep
        });
        // An event's new index: its old one less the events taken out before it.
        let mut before = 0u32;
        let mut g = gone.iter().peekable();
        self.mixed.retain_mut(|(i, _)| {
            while g.next_if(|&&x| x < *i).is_some() {
                before += 1;
            }
            if g.next_if(|&&x| x == *i).is_some() {
                before += 1;
                return false;
            }
            *i -= before;
            true
        });
    }
}
