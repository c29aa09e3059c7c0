//! One list of indexes per owner (a node or an edge): children, connections, evidence, the
//! nodes that held a PID.
//!
//! While a host graph is built, every item is appended to one array of (owner, item) pairs,
//! each pair linked to its owner's pair before it, so that an owner's items can be walked back
//! (the connection merge looks at a process's latest connections). Once built, the lists are
//! packed by owner into one allocation of `u32` indexes (a host graph never holds 4 billion
//! nodes, nor a run 4 billion events). A list per owner as a growable vector cost 24 bytes per
//! owner plus an allocation for each non-empty list while building.

use super::NONE;

#[derive(Debug, Default)]
pub(super) struct Lists {
    /// While building: every (owner, item), in the order pushed.
    pairs: Vec<(u32, u32)>,
    /// While building: per pair, the same owner's pair before it (`NONE`: none).
    prev: Vec<u32>,
    /// While building: per owner, its last pair (`NONE`: none yet).
    last: Vec<u32>,
    /// Packed: owner `k`'s items are `items[start[k]..start[k + 1]]`.
    start: Vec<u32>,
    items: Vec<u32>,
}

/// Indexes from a host graph's list (children, connections, evidence).
pub type Indexes<'a> = std::iter::Map<std::slice::Iter<'a, u32>, fn(&u32) -> usize>;

pub(super) fn widen(x: &u32) -> usize {
    *x as usize
}

impl Lists {
    /// Packed lists, one per owner, from lists in owner order.
    pub fn from_lists(lists: impl IntoIterator<Item = Vec<u32>>) -> Lists {
        let mut out = Lists {
            start: vec![0],
            ..Lists::default()
        };
        for l in lists {
            out.items.extend_from_slice(&l);
            out.start.push(out.items.len() as u32);
        }
        out.items.shrink_to_fit();
        out.start.shrink_to_fit();
        out
    }

    /// One more owner, with an empty list (while building).
    pub fn add_owner(&mut self) {
        self.last.push(NONE);
    }

    /// Append `item` to `owner`'s list (while building).
    pub fn push(&mut self, owner: usize, item: usize) {
        let p = self.pairs.len() as u32;
        self.prev.push(self.last[owner]);
        self.last[owner] = p;
        self.pairs.push((owner as u32, item as u32));
    }

    /// One more owner, with these items (while building).
    pub fn add_list(&mut self, items: impl IntoIterator<Item = usize>) {
        let owner = self.last.len();
        self.add_owner();
        for item in items {
            self.push(owner, item);
        }
    }

    /// While building: `owner`'s items, the last pushed first.
    pub fn rev_open(&self, owner: usize) -> impl Iterator<Item = usize> + '_ {
        let mut p = self.last.get(owner).copied().unwrap_or(NONE);
        std::iter::from_fn(move || {
            let (_, item) = *self.pairs.get(p as usize)?;
            p = self.prev[p as usize];
            Some(item as usize)
        })
    }

    /// Once packed: `owner`'s items (none for an owner not there).
    pub fn slice(&self, owner: usize) -> &[u32] {
        match (self.start.get(owner), self.start.get(owner + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Once packed: `owner`'s items as indexes.
    pub fn get(&self, owner: usize) -> Indexes<'_> {
        self.slice(owner).iter().map(widen as fn(&u32) -> usize)
    }

    /// Building is over: pack the lists by owner (each in the order pushed) into one
    /// allocation of their exact size.
    pub fn pack(&mut self) {
        let owners = self.last.len();
        let mut start = vec![0u32; owners + 1];
        for &(o, _) in &self.pairs {
            start[o as usize + 1] += 1;
        }
        for k in 0..owners {
            start[k + 1] += start[k];
        }
        // Where each owner's next item goes.
        let mut fill = start[..owners].to_vec();
        let mut items = vec![0u32; self.pairs.len()];
        for &(o, item) in &self.pairs {
            let at = &mut fill[o as usize];
            items[*at as usize] = item;
            *at += 1;
        }
        *self = Lists {
            start,
            items,
            ..Lists::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items pushed to owners in any interleaving read back per owner in push order, walked
    /// back while building, and packed.
    #[test]
    fn lists_keep_each_owners_order() {
        let mut l = Lists::default();
        for _ in 0..5 {
            l.add_owner();
        }
        let mut want: Vec<Vec<u32>> = vec![Vec::new(); 5];
        for k in 0..40u32 {
            let owner = ((k * 7) % 5) as usize;
            if owner == 3 {
                continue;
            }
            l.push(owner, k as usize + 100);
            want[owner].push(k + 100);
        }
        for (o, w) in want.iter().enumerate() {
            let back: Vec<u32> = l.rev_open(o).map(|x| x as u32).collect();
            assert_eq!(back, w.iter().rev().copied().collect::<Vec<_>>(), "{o}");
        }
        assert_eq!(l.rev_open(9).count(), 0);
        l.pack();
        for (o, w) in want.iter().enumerate() {
            assert_eq!(l.slice(o), &w[..], "{o}");
            assert_eq!(l.get(o).count(), w.len());
        }
        assert!(l.slice(3).is_empty());
        assert!(l.slice(5).is_empty());
        let again = Lists::from_lists(want.clone());
        let mut added = Lists::default();
        for w in &want {
            added.add_list(w.iter().map(|&x| x as usize));
        }
        added.pack();
        for (o, w) in want.iter().enumerate() {
            assert_eq!(again.slice(o), &w[..]);
            assert_eq!(added.slice(o), &w[..]);
        }
    }
}
