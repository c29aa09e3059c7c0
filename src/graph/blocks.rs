//! A list that grows by fixed blocks: nothing is copied when it grows or when building is
//! over, and at most one block is partly empty. A host graph's nodes and edges are held this
//! way: as one `Vec` grown by doubling, each host's arrays held up to twice their size while
//! being built and were copied once more to their exact size at the end, so the host being
//! built cost up to three times its nodes' size at the run's peak.

use std::ops::{Index, IndexMut};

/// Items per block (a power of two: the index splits by shift and mask).
const BLOCK: usize = 1 << 12;

#[derive(Debug, Clone)]
pub struct Blocks<T> {
    blocks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Blocks<T> {
    fn default() -> Self {
        Blocks {
            blocks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Blocks<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push(&mut self, item: T) {
        match self.blocks.last_mut() {
            Some(b) if b.len() < BLOCK => b.push(item),
            _ => {
                let mut b = Vec::with_capacity(BLOCK);
                b.push(item);
                self.blocks.push(b);
            }
        }
        self.len += 1;
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.blocks.get(i / BLOCK)?.get(i % BLOCK)
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.blocks.get_mut(i / BLOCK)?.get_mut(i % BLOCK)
    }

    /// Building is over: the last block (the only one not full) is cut to its size.
    pub fn finish(&mut self) {
        if let Some(last) = self.blocks.last_mut()
            && last.capacity() > last.len()
        {
            let mut exact = Vec::with_capacity(last.len());
            exact.append(last);
            *last = exact;
        }
        self.blocks.shrink_to_fit();
    }
}

impl<T> Index<usize> for Blocks<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(x) => x,
            None => panic!("index {i} out of range for {} items", self.len),
        }
    }
}

impl<T> IndexMut<usize> for Blocks<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        let len = self.len;
        match self.get_mut(i) {
            Some(x) => x,
            None => panic!("index {i} out of range for {len} items"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_their_index_across_blocks() {
        let mut b = Blocks::default();
        assert_eq!(b.len(), 0);
        let n = 3 * BLOCK + 17;
        for i in 0..n {
            b.push(i * 3);
        }
        assert_eq!(b.len(), n);
        b[BLOCK] += 1;
        b.finish();
        for i in 0..n {
            let want = i * 3 + usize::from(i == BLOCK);
            assert_eq!(b[i], want);
            assert_eq!(b.get(i), Some(&want));
        }
        assert_eq!(b.get(n), None);
        assert_eq!(b.blocks.last().map(Vec::capacity), Some(17));
    }
}
