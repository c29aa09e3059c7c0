//! One host graph's text (images, command lines, users, hashes, entity ids, addresses), each
//! distinct text stored once, end to end in one buffer, and named by a 4-byte [`Str`].
//!
//! A graph holds hundreds of thousands of nodes and edges per host, each with several texts.
//! As shared `Arc<str>` every text cost a 16-byte pointer in its node plus an allocation with a
//! 16-byte header, rounded up to the allocator's size class; here it costs 4 bytes in the node
//! and, once per distinct text, its bytes and one 8-byte end offset.

use hashbrown::HashTable;
use std::hash::BuildHasher;

/// A text in a host graph's [`Strings`]: its number, or none ([`Str::NONE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Str(u32);

impl Str {
    /// No text (an optional field that was not logged).
    pub const NONE: Str = Str(u32::MAX);
    /// The empty text: always number 0.
    pub const EMPTY: Str = Str(0);

    pub fn is_none(self) -> bool {
        self == Str::NONE
    }

    /// The value of an optional text: this one, or `other` when this one is none.
    pub fn or(self, other: Str) -> Str {
        if self.is_none() { other } else { self }
    }
}

/// The distinct texts of one host graph.
#[derive(Debug)]
pub struct Strings {
    buf: String,
    /// Text `k` is `buf[ends[k - 1]..ends[k]]` (text 0, the empty one, ends at 0).
    ends: Vec<usize>,
    /// While building: the numbers of the texts, by content (dropped by [`Strings::finish`]).
    index: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl Default for Strings {
    fn default() -> Self {
        Strings {
            buf: String::new(),
            ends: vec![0],
            index: HashTable::new(),
            hasher: foldhash::fast::FixedState::default(),
        }
    }
}

/// Text `k` of a buffer and its end offsets (see [`Strings`]); empty for a number not there.
fn span<'b>(buf: &'b str, ends: &[usize], k: u32) -> &'b str {
    let k = k as usize;
    match (k.checked_sub(1).and_then(|p| ends.get(p)), ends.get(k)) {
        (Some(&a), Some(&b)) => &buf[a..b],
        _ => "",
    }
}

impl Strings {
    /// The text's number, adding it when new.
    ///
    /// Numbers are `u32`: a host graph holds far fewer than 4 billion distinct texts (each one
    /// comes from an event, and the event store holds fewer than 4 billion events of a few
    /// texts each); were that ever passed, the numbers would saturate at the last one rather
    /// than wrap.
    pub fn intern(&mut self, s: &str) -> Str {
        if s.is_empty() {
            return Str::EMPTY;
        }
        let hash = self.hasher.hash_one(s);
        if let Some(k) = self.lookup(hash, s) {
            return k;
        }
        let k = u32::try_from(self.ends.len())
            .unwrap_or(u32::MAX)
            .min(u32::MAX - 1);
        self.buf.push_str(s);
        self.ends.push(self.buf.len());
        let (buf, ends, hasher) = (&self.buf, &self.ends, &self.hasher);
        self.index
            .insert_unique(hash, k, |&j| hasher.hash_one(span(buf, ends, j)));
        Str(k)
    }

    fn lookup(&self, hash: u64, s: &str) -> Option<Str> {
        self.index
            .find(hash, |&k| span(&self.buf, &self.ends, k) == s)
            .map(|&k| Str(k))
    }

    /// The number of a text already held, without adding it (while building: the index is
    /// dropped by [`Strings::finish`]).
    pub fn find(&self, s: &str) -> Option<Str> {
        if s.is_empty() {
            return Some(Str::EMPTY);
        }
        self.lookup(self.hasher.hash_one(s), s)
    }

    /// Hash of a text, as [`Strings`] hashes (for tables keyed by text elsewhere in the graph).
    pub fn hash(&self, s: &str) -> u64 {
        self.hasher.hash_one(s)
    }

    /// Hash of text `s` held here (as [`Strings::hash`] of its text).
    pub fn hash_of(&self, s: Str) -> u64 {
        self.hash(self.text(s))
    }

    /// The text (empty for [`Str::NONE`]).
    pub fn text(&self, s: Str) -> &str {
        if s.is_none() {
            return "";
        }
        span(&self.buf, &self.ends, s.0)
    }

    /// The text of an optional field: `None` for [`Str::NONE`].
    pub fn opt(&self, s: Str) -> Option<&str> {
        (!s.is_none()).then(|| self.text(s))
    }

    /// Building is over: drop the index and give back the room the buffers grew into.
    pub fn finish(&mut self) {
        self.index = HashTable::new();
        self.buf.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_a_number_and_read_back() {
        let mut s = Strings::default();
        let a = s.intern("C:\\Windows\\System32\\mmc.exe");
        let b = s.intern("cmd.exe");
        let c = s.intern("C:\\Windows\\System32\\mmc.exe");
        assert_eq!(a, c);
        assert_ne!(a, b);
        assert_eq!(s.intern(""), Str::EMPTY);
        assert_eq!(s.text(a), "C:\\Windows\\System32\\mmc.exe");
        assert_eq!(s.text(b), "cmd.exe");
        assert_eq!(s.text(Str::EMPTY), "");
        assert_eq!(s.text(Str::NONE), "");
        assert_eq!(s.opt(Str::NONE), None);
        assert_eq!(s.opt(Str::EMPTY), Some(""));
        assert_eq!(s.find("cmd.exe"), Some(b));
        assert_eq!(s.find("missing"), None);
        s.finish();
        assert_eq!(s.text(a), "C:\\Windows\\System32\\mmc.exe");
        assert_eq!(s.text(b), "cmd.exe");
    }

    #[test]
    fn many_texts_keep_their_numbers() {
        let mut s = Strings::default();
        let ids: Vec<Str> = (0..10_000).map(|i| s.intern(&format!("t{i}"))).collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(s.text(*id), format!("t{i}"));
            assert_eq!(s.intern(&format!("t{i}")), *id);
        }
        // Non-ASCII text is cut on its own boundaries.
        let u = s.intern("\u{00e9}v\u{00e9}nement");
        assert_eq!(s.text(u), "\u{00e9}v\u{00e9}nement");
    }

    #[test]
    fn or_prefers_a_present_text() {
        assert_eq!(Str::NONE.or(Str::EMPTY), Str::EMPTY);
        assert_eq!(Str(3).or(Str(4)), Str(3));
    }
}
