//! A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan 1990) over `u64` keys.
//!
//! Dijkstra's keys are monotone: every key pushed is at least the last key
//! popped. The heap holds `(key, cell)` pairs in 65 buckets: bucket `i` holds
//! keys whose highest bit differing from the last popped key is bit `i - 1`. A
//! pop empties the lowest non-empty bucket into lower ones around its minimum;
//! each entry moves at most 64 times, in practice a handful (keys are times
//! quantised to less than the cheapest move, so new keys are close to the last).

/// A monotone min-queue of `(key, value)` pairs.
#[derive(Debug, Clone)]
pub struct RadixHeap {
    last: u64,
    len: usize,
    buckets: [Vec<Entry>; 65],
}

/// One `(key, value)` pair in 12 bytes (a `(u64, u32)` tuple takes 16): the
/// buckets are most of the heap's memory traffic.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Entry {
    key: [u32; 2],
    value: u32,
}

impl Entry {
    #[inline]
    fn new(key: u64, value: u32) -> Self {
        Self {
            key: [key as u32, (key >> 32) as u32],
            value,
        }
    }

    #[inline]
    fn key(self) -> u64 {
        u64::from(self.key[0]) | (u64::from(self.key[1]) << 32)
    }
}

impl Default for RadixHeap {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn bucket(diff: u64) -> usize {
    (64 - diff.leading_zeros()) as usize
}

impl RadixHeap {
    /// An empty heap.
    pub fn new() -> Self {
        Self {
            last: 0,
            len: 0,
            buckets: std::array::from_fn(|_| Vec::new()),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Insert; a key below the last popped key is raised to it (never happens in
    /// Dijkstra with non-negative costs, and keeps the heap consistent if it does).
    #[inline]
    pub fn push(&mut self, key: u64, value: u32) {
        let key = key.max(self.last);
        self.buckets[bucket(key ^ self.last)].push(Entry::new(key, value));
        self.len += 1;
    }

    /// Remove every entry with the smallest key, appending their values to
    /// `out`; returns that key.
    pub fn pop_batch(&mut self, out: &mut Vec<u32>) -> Option<u64> {
        if self.buckets[0].is_empty() {
            self.refill()?;
        }
        let key = self.last;
        self.len -= self.buckets[0].len();
        out.extend(self.buckets[0].drain(..).map(|e| e.value));
        Some(key)
    }

    /// Move the lowest non-empty bucket into lower ones around its minimum.
    fn refill(&mut self) -> Option<()> {
        let i = self.buckets.iter().position(|b| !b.is_empty())?;
        let mut items = std::mem::take(&mut self.buckets[i]);
        let min = items.iter().map(|e| e.key()).min()?;
        self.last = min;
        for e in items.drain(..) {
            self.buckets[bucket(e.key() ^ min)].push(e);
        }
        self.buckets[i] = items;
        Some(())
    }

    /// Remove an entry with the smallest key.
    #[inline]
    pub fn pop(&mut self) -> Option<(u64, u32)> {
        if self.buckets[0].is_empty() {
            self.refill()?;
        }
        let e = self.buckets[0].pop()?;
        self.len -= 1;
        Some((e.key(), e.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pops_in_order(ops in proptest::collection::vec((0u64..1000, any::<bool>()), 1..300)) {
            // Interleave pushes (keys at or above the last popped) and pops; compare with a sorted list.
            let mut heap = RadixHeap::new();
            let mut reference: Vec<u64> = Vec::new();
            let mut last = 0u64;
            for (i, (delta, pop)) in ops.into_iter().enumerate() {
                if pop {
                    reference.sort_unstable();
                    let want = if reference.is_empty() { None } else { Some(reference.remove(0)) };
                    let got = heap.pop().map(|e| e.0);
                    prop_assert_eq!(got, want);
                    if let Some(k) = got { last = k; }
                } else {
                    heap.push(last + delta, i as u32);
                    reference.push(last + delta);
                }
                prop_assert_eq!(heap.len(), reference.len());
            }
        }
    }

    #[test]
    fn batches() {
        let mut heap = RadixHeap::new();
        for (k, v) in [(5, 9), (5, 2), (3, 7), (9, 4), (3, 1)] {
            heap.push(k, v);
        }
        let mut out = Vec::new();
        assert_eq!(heap.pop_batch(&mut out), Some(3));
        out.sort_unstable();
        assert_eq!(out, vec![1, 7]);
        heap.push(3, 8);
        out.clear();
        assert_eq!(heap.pop_batch(&mut out), Some(3));
        assert_eq!(out, vec![8]);
        out.clear();
        assert_eq!(heap.pop_batch(&mut out), Some(5));
        assert_eq!(heap.len(), 1);
        assert_eq!(heap.pop(), Some((9, 4)));
        assert_eq!(heap.pop_batch(&mut out), None);
    }

    #[test]
    fn float_bits_order() {
        let mut heap = RadixHeap::new();
        for t in [3.5f32, 0.0, 1e-3, 1e6, 2.25] {
            heap.push(u64::from(t.to_bits()), 0);
        }
        let got: Vec<f32> =
            std::iter::from_fn(|| heap.pop().map(|e| f32::from_bits(e.0 as u32))).collect();
        assert_eq!(got, vec![0.0, 1e-3, 2.25, 3.5, 1e6]);
    }
}
