//! The search itself: Dijkstra from many sources over a radix heap, with the
//! per-cell state packed for the inner loop (isotropic or anisotropic), on one
//! thread or several ([`super::parallel`]).

use super::moves::{Move, NO_MOVE, moves};
use super::options::SearchOptions;
use super::parallel;
use super::surface::{CostSurface, NO_SOURCE, PARALLEL_MASK_CELLS, move_cost, queue_key};
use super::times::TravelTimes;

use super::super::queue::RadixHeap;

/// Search state of one padded cell read for every neighbour: its time (stored
/// negated once settled, so a settled cell reads as "not improvable") and its
/// costs, packed so that a neighbour costs few cache lines.
pub(crate) trait Hot: Copy + Sync {
    fn time(&self) -> f32;
    fn set_time(&mut self, t: f32);
    fn fixed(&self) -> f32;
    fn walk(&self) -> f32;
    fn z(&self) -> f32;
}

#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(crate) struct IsoHot {
    pub(crate) time: f32,
    pub(crate) fixed: f32,
}

#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(crate) struct AnisoHot {
    pub(crate) time: f32,
    pub(crate) fixed: f32,
    pub(crate) walk: f32,
    pub(crate) z: f32,
}

impl Hot for IsoHot {
    #[inline]
    fn time(&self) -> f32 {
        self.time
    }
    #[inline]
    fn set_time(&mut self, t: f32) {
        self.time = t;
    }
    #[inline]
    fn fixed(&self) -> f32 {
        self.fixed
    }
    #[inline]
    fn walk(&self) -> f32 {
        0.0
    }
    #[inline]
    fn z(&self) -> f32 {
        0.0
    }
}

impl Hot for AnisoHot {
    #[inline]
    fn time(&self) -> f32 {
        self.time
    }
    #[inline]
    fn set_time(&mut self, t: f32) {
        self.time = t;
    }
    #[inline]
    fn fixed(&self) -> f32 {
        self.fixed
    }
    #[inline]
    fn walk(&self) -> f32 {
        self.walk
    }
    #[inline]
    fn z(&self) -> f32 {
        self.z
    }
}

/// Per-cell state touched only when a cell is settled or improved.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(crate) struct Cold {
    pub(crate) source: u32,
    /// Allowed moves in bits 0..24, back-pointer in bits 24..32 (8 bytes a cell).
    pub(crate) bits: u32,
}

pub(crate) const MOVE_BITS: u32 = 0x00FF_FFFF;

impl Cold {
    #[inline]
    pub(crate) fn new(mask: u32) -> Self {
        Self {
            source: NO_SOURCE,
            bits: (mask & MOVE_BITS) | (u32::from(NO_MOVE) << 24),
        }
    }

    #[inline]
    pub(crate) fn mask(self) -> u32 {
        self.bits & MOVE_BITS
    }

    #[inline]
    pub(crate) fn back(self) -> u8 {
        (self.bits >> 24) as u8
    }

    #[inline]
    pub(crate) fn set_back(&mut self, back: u8) {
        self.bits = (self.bits & MOVE_BITS) | (u32::from(back) << 24);
    }
}

/// Anisotropic grids of at least this many cells, with two sources or more,
/// are searched on every core (see [`parallel`]). Isotropic searches are bound
/// by memory, not arithmetic, and run faster on one thread (16 M cells, 20
/// sources: 2.2 s on one thread, 2.5 s on two; anisotropic 5.4 s and 4.9 s).
pub(crate) const PARALLEL_MIN_CELLS: usize = 1 << 20;

/// Multi-source shortest travel time. See the [module documentation](self).
///
/// Sources are cells (col, row); those outside the grid or on impassable cells
/// are listed in [`TravelTimes::skipped_sources`]. When two sources share a cell
/// the first wins.
pub fn travel_time(
    surface: &CostSurface,
    sources: &[(usize, usize)],
    options: &SearchOptions,
) -> TravelTimes {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if threads > 1
        && surface.is_anisotropic()
        && surface.grid.len() >= PARALLEL_MIN_CELLS
        && sources.len() > 1
        && sources.len() < parallel::MAX_SOURCES
    {
        return parallel::travel_time(surface, sources, options, threads.min(sources.len()));
    }
    let allowed = options.neighbourhood.mask();
    let mut cold = Big::from_fn(surface.mask.len(), |i| Cold::new(surface.mask[i] & allowed));
    if surface.is_anisotropic() {
        let mut hot = Big::from_fn(surface.fixed.len(), |i| AnisoHot {
            time: f32::INFINITY,
            fixed: surface.fixed[i],
            walk: surface.walk[i],
            z: surface.z[i],
        });
        run::<AnisoHot, true>(surface, &mut hot, &mut cold, sources, options)
    } else {
        let mut hot = Big::from_fn(surface.fixed.len(), |i| IsoHot {
            time: f32::INFINITY,
            fixed: surface.fixed[i],
        });
        run::<IsoHot, false>(surface, &mut hot, &mut cold, sources, options)
    }
}

/// A large buffer for the search state. From 16 MiB on it lives in anonymous
/// memory advised to use transparent huge pages, which cuts the TLB misses of
/// the search's scattered accesses; otherwise (or if mapping fails) a `Vec`.
pub(crate) enum Big<T: bytemuck::Pod> {
    Map(memmap2::MmapMut, std::marker::PhantomData<T>),
    Vec(Vec<T>),
}

impl<T: bytemuck::Pod> Big<T> {
    const MIN_MAP_BYTES: usize = 16 << 20;

    /// `value(i)` for `i` in `0..n`; large buffers are filled (and their
    /// pages first touched) in two halves on two threads.
    pub(crate) fn from_fn(n: usize, value: impl Fn(usize) -> T + Sync) -> Self
    where
        T: Send,
    {
        let fill = |slots: &mut [T]| {
            let part = |slots: &mut [T], offset: usize| {
                for (i, slot) in slots.iter_mut().enumerate() {
                    *slot = value(offset + i);
                }
            };
            if slots.len() >= PARALLEL_MASK_CELLS {
                let mid = slots.len() / 2;
                let (a, b) = slots.split_at_mut(mid);
                std::thread::scope(|s| {
                    s.spawn(|| part(a, 0));
                    part(b, mid);
                });
            } else {
                part(slots, 0);
            }
        };
        let bytes = n.saturating_mul(std::mem::size_of::<T>());
        if bytes >= Self::MIN_MAP_BYTES
            && let Ok(mut map) = memmap2::MmapMut::map_anon(bytes)
        {
            // Advice only: without huge pages the map still works.
            let _ = map.advise(memmap2::Advice::HugePage);
            if let Ok(slots) = bytemuck::try_cast_slice_mut::<u8, T>(&mut map[..]) {
                fill(slots);
                return Self::Map(map, std::marker::PhantomData);
            }
        }
        let mut v = vec![T::zeroed(); n];
        fill(&mut v);
        Self::Vec(v)
    }
}

impl<T: bytemuck::Pod> std::ops::Deref for Big<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Self::Map(map, _) => bytemuck::cast_slice(&map[..]),
            Self::Vec(v) => v,
        }
    }
}

impl<T: bytemuck::Pod> std::ops::DerefMut for Big<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Self::Map(map, _) => bytemuck::cast_slice_mut(&mut map[..]),
            Self::Vec(v) => v,
        }
    }
}

pub(crate) fn run<H: Hot, const ANISO: bool>(
    surface: &CostSurface,
    hot: &mut [H],
    cold: &mut [Cold],
    sources: &[(usize, usize)],
    options: &SearchOptions,
) -> TravelTimes {
    let max = options.limit();
    let mut heap = RadixHeap::new();
    let mut skipped_sources = Vec::new();
    for (i, &(c, r)) in sources.iter().enumerate() {
        if !surface.passable(c, r) {
            skipped_sources.push(i);
            continue;
        }
        let p = surface.pidx(c, r);
        if hot[p].time() > 0.0 {
            hot[p].set_time(0.0);
            cold[p].source = i as u32;
            heap.push(0, p as u32);
        }
    }
    let sign = options.slope_sign();
    search::<H, ANISO>(surface, hot, cold, &mut heap, max, sign);
    // Unpad; settled times were stored negated.
    TravelTimes::from_padded(surface, skipped_sources, |p| {
        let t = hot[p].time();
        let c = cold[p];
        t.is_sign_negative().then(|| (-t, c.source, c.back()))
    })
}

pub(crate) fn search<H: Hot, const ANISO: bool>(
    surf: &CostSurface,
    hot: &mut [H],
    cold: &mut [Cold],
    heap: &mut RadixHeap,
    max: f32,
    sign: f32,
) {
    let moves = moves(&surf.grid, surf.pw);
    let max_slope = surf.max_slope;
    // Queue keys: times quantised to a step below the cheapest possible move,
    // so cells sharing a key cannot improve one another and may pop in any
    // order (as in Dial 1969); without such a step, the raw bits of the time.
    let inv_step = surf.inv_key_step();
    let key = |t: f32| queue_key(inv_step, t);
    while let Some((_, p)) = heap.pop() {
        let p = p as usize;
        let u = hot[p];
        let t = u.time();
        if t.is_sign_negative() {
            continue; // already settled: a stale entry
        }
        // Settled: stored negated, so neighbours read it as unimprovable.
        hot[p].set_time(-t);
        let c = cold[p];
        let (fu, wu, zu) = (u.fixed(), u.walk(), u.z());
        let mask = c.mask();
        // Axis and diagonal moves, then the moves that cross cells.
        relax_moves::<H, ANISO, false>(
            hot,
            cold,
            heap,
            &moves,
            mask & 0xFF,
            p,
            t,
            (fu, wu, zu),
            c.source,
            (max, sign, max_slope),
            &key,
        );
        relax_moves::<H, ANISO, true>(
            hot,
            cold,
            heap,
            &moves,
            mask & !0xFF,
            p,
            t,
            (fu, wu, zu),
            c.source,
            (max, sign, max_slope),
            &key,
        );
    }
}

/// Relax the moves of `mask` from settled cell `p` (time `t`, pace, walking
/// multiplier and elevation `here`, source `source`); `limits` are the time
/// limit, slope sign and steepest slope.
#[inline]
#[expect(
    clippy::too_many_arguments,
    clippy::many_single_char_names,
    reason = "the hot loop of the search, kept free of indirection; Dijkstra notation"
)]
pub(crate) fn relax_moves<H: Hot, const ANISO: bool, const MID: bool>(
    hot: &mut [H],
    cold: &mut [Cold],
    heap: &mut RadixHeap,
    moves: &[Move; 24],
    mut mask: u32,
    p: usize,
    t: f32,
    here: (f32, f32, f32),
    source: u32,
    limits: (f32, f32, f32),
    key: &impl Fn(f32) -> u64,
) {
    let (fu, wu, zu) = here;
    let (max, sign, max_slope) = limits;
    while mask != 0 {
        let d = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        let m = &moves[d];
        let q = p.wrapping_add_signed(m.off);
        let v = hot[q];
        let tv = v.time();
        // Settled cells hold a negative time; the anisotropic cost is worth
        // skipping for them, the isotropic one is cheaper than the branch.
        if ANISO && tv <= t {
            continue;
        }
        let (f, w) = if MID {
            let (a, b) = (
                hot[p.wrapping_add_signed(m.mid[0])],
                hot[p.wrapping_add_signed(m.mid[1])],
            );
            (
                [fu, v.fixed(), a.fixed(), b.fixed()],
                [wu, v.walk(), a.walk(), b.walk()],
            )
        } else {
            ([fu, v.fixed(), 0.0, 0.0], [wu, v.walk(), 0.0, 0.0])
        };
        let cost = move_cost::<ANISO, MID>(m, f, w, v.z() - zu, sign, max_slope);
        let nt = t + cost;
        if nt < tv && nt <= max {
            hot[q].set_time(nt);
            cold[q].set_back(m.back);
            cold[q].source = source;
            heap.push(key(nt), q as u32);
        }
    }
}
