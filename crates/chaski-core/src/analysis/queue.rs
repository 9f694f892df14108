//! A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan 1990) over `u32` keys.
//!
//! Dijkstra's keys are monotone: every key pushed is at least the last key
//! popped. Non-negative `f32` times keep their order as raw bits, so the heap
//! holds `(f32::to_bits(time), cell)` pairs in 33 buckets: bucket `i` holds keys
//! whose highest bit differing from the last popped key is bit `i - 1`. A pop
//! empties the lowest non-empty bucket into lower ones around its minimum; each
//! entry moves at most 32 times, and in practice a handful of times.

/// A monotone min-queue of `(key, value)` pairs.
#[derive(Debug, Clone)]
pub struct RadixHeap {
    last: u32,
    len: usize,
    buckets: [Vec<(u32, u32)>; 33],
}

impl Default for RadixHeap {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn bucket(diff: u32) -> usize {
    (32 - diff.leading_zeros()) as usize
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
    pub fn push(&mut self, key: u32, value: u32) {
        let key = key.max(self.last);
        self.buckets[bucket(key ^ self.last)].push((key, value));
        self.len += 1;
    }

    /// Remove an entry with the smallest key.
    #[inline]
    pub fn pop(&mut self) -> Option<(u32, u32)> {
        if self.buckets[0].is_empty() {
            let i = self.buckets.iter().position(|b| !b.is_empty())?;
            let mut items = std::mem::take(&mut self.buckets[i]);
            let min = items.iter().map(|e| e.0).min()?;
            self.last = min;
            for (k, v) in items.drain(..) {
                self.buckets[bucket(k ^ min)].push((k, v));
            }
            self.buckets[i] = items;
        }
        let e = self.buckets[0].pop()?;
        self.len -= 1;
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pops_in_order(ops in proptest::collection::vec((0u32..1000, any::<bool>()), 1..300)) {
            // Interleave pushes (keys at or above the last popped) and pops; compare with a sorted list.
            let mut heap = RadixHeap::new();
            let mut reference: Vec<u32> = Vec::new();
            let mut last = 0u32;
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
    fn float_bits_order() {
        let mut heap = RadixHeap::new();
        for t in [3.5f32, 0.0, 1e-3, 1e6, 2.25] {
            heap.push(t.to_bits(), 0);
        }
        let got: Vec<f32> = std::iter::from_fn(|| heap.pop().map(|e| f32::from_bits(e.0))).collect();
        assert_eq!(got, vec![0.0, 1e-3, 2.25, 3.5, 1e6]);
    }
}
