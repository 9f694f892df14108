//! Collision-aware label placement: labels never overlap each other, any
//! symbol, or leave the map; a label that finds no free place is dropped and
//! reported, so the page can list it elsewhere (the grid index).
//!
//! # Algorithm
//!
//! Greedy over candidate positions, in the manner of the classic
//! point-feature label placement heuristics (Imhof 1975; Christensen, Marks
//! & Shieber 1995, "An empirical study of algorithms for point-feature label
//! placement", ACM Transactions on Graphics 14(3)): labels are taken by
//! descending priority (then in input order); each tries 8 positions around
//! its symbol's box (right, left, above, below and the four corners, in
//! that order of preference) at a small gap, then the same 8 one step
//! further out (and, for labels that may have a leader line, on five
//! rings farther out, up to [`LEADER_MAX_MM`]), and takes the first that lies inside the bounds and clears
//! every obstacle and every label already placed by [`CLEARANCE_MM`]. A
//! label with no such position is dropped.
//!
//! # Returns
//!
//! A [`Placement`]: the box of each placed label, by id, and the ids
//! dropped. Every id given is in exactly one of the two.
//!
//! ```
//! use chaski_print::labels::{LabelRequest, place_labels};
//! use chaski_print::page::Rect;
//! let bounds = Rect::new(0.0, 0.0, 100.0, 100.0);
//! let symbol = Rect::centred(50.0, 50.0, 4.0, 4.0);
//! let requests = vec![
//!     LabelRequest { id: 0, anchor: symbol, width: 20.0, height: 3.0, priority: 1, leader: false },
//!     LabelRequest { id: 1, anchor: symbol, width: 20.0, height: 3.0, priority: 1, leader: false },
//! ];
//! let p = place_labels(&requests, &[symbol], bounds);
//! assert_eq!(p.placed.len(), 2);
//! assert!(!p.placed[0].1.intersects(&p.placed[1].1));
//! assert!(p.placed.iter().all(|(_, r)| !r.intersects(&symbol) && bounds.contains_rect(r)));
//!
//! // A symbol boxed in on every side by other symbols cannot be labelled.
//! let obstacles = [symbol, Rect::new(0.0, 0.0, 48.0, 100.0), Rect::new(52.0, 0.0, 48.0, 100.0),
//!     Rect::new(48.0, 0.0, 4.0, 48.0), Rect::new(48.0, 52.0, 4.0, 48.0)];
//! let p = place_labels(&requests[..1], &obstacles, bounds);
//! assert_eq!(p.dropped, vec![0]);
//! ```

use crate::page::Rect;

/// Gap between a symbol and its label, mm.
pub const GAP_MM: f64 = 0.5;

/// Smallest distance kept between two labels, or a label and an obstacle, mm.
pub const CLEARANCE_MM: f64 = 0.25;

/// Gaps of the candidate rings: next to the symbol, one step out, and (for
/// labels that may have a leader line) farther out, mm.
const RINGS: [f64; 7] = [GAP_MM, GAP_MM + 1.6, 4.0, 7.0, 11.0, 16.0, LEADER_MAX_MM];

/// Farthest a label with a leader line goes from its symbol, mm.
pub const LEADER_MAX_MM: f64 = 22.0;

/// A label to place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelRequest {
    /// Id, given back in the [`Placement`].
    pub id: usize,
    /// The box of the symbol the label belongs to.
    pub anchor: Rect,
    /// Width of the label, mm.
    pub width: f64,
    /// Height of the label, mm.
    pub height: f64,
    /// Higher priorities are placed first.
    pub priority: i32,
    /// When no place is free next to the symbol, the label may go farther
    /// out (up to [`LEADER_MAX_MM`]); the page then draws a leader line.
    pub leader: bool,
}

/// Where the labels went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    /// The box of each placed label, with its id, in placement order.
    pub placed: Vec<(usize, Rect)>,
    /// Ids of the labels dropped, in input order.
    pub dropped: Vec<usize>,
}

impl Placement {
    /// The box of label `id`, when placed.
    pub fn rect_of(&self, id: usize) -> Option<Rect> {
        self.placed.iter().find(|(i, _)| *i == id).map(|(_, r)| *r)
    }
}

/// The candidate boxes of a label of `w` x `h` around `a`, at gap `g`.
fn candidates(a: &Rect, w: f64, h: f64, g: f64) -> [Rect; 8] {
    let (cx, cy) = a.centre();
    [
        Rect::new(a.right() + g, cy - h / 2.0, w, h),
        Rect::new(a.x - g - w, cy - h / 2.0, w, h),
        Rect::new(cx - w / 2.0, a.y - g - h, w, h),
        Rect::new(cx - w / 2.0, a.bottom() + g, w, h),
        Rect::new(a.right() + g, a.y - g - h, w, h),
        Rect::new(a.right() + g, a.bottom() + g, w, h),
        Rect::new(a.x - g - w, a.y - g - h, w, h),
        Rect::new(a.x - g - w, a.bottom() + g, w, h),
    ]
}

/// Place `requests` around their anchors, clear of `obstacles` (symbols)
/// and of each other, inside `bounds`. See the [module documentation](self).
pub fn place_labels(requests: &[LabelRequest], obstacles: &[Rect], bounds: Rect) -> Placement {
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by(|&a, &b| {
        requests[b]
            .priority
            .cmp(&requests[a].priority)
            .then(a.cmp(&b))
    });
    let index = Buckets::new(bounds, obstacles);
    let mut placed_index = Buckets::new(bounds, &[]);
    let mut placement = Placement::default();
    let mut dropped = Vec::new();
    for i in order {
        let r = &requests[i];
        let ok = |c: &Rect| {
            let padded = c.grown(CLEARANCE_MM);
            r.width.is_finite()
                && r.height.is_finite()
                && bounds.contains_rect(c)
                && !index.hits(&padded)
                && !placed_index.hits(&padded)
        };
        let rings = if r.leader { &RINGS[..] } else { &RINGS[..2] };
        let found = rings
            .iter()
            .flat_map(|&g| candidates(&r.anchor, r.width, r.height, g))
            .find(|c| ok(c));
        match found {
            Some(c) => {
                placed_index.insert(c);
                placement.placed.push((r.id, c));
            }
            None => dropped.push(i),
        }
    }
    dropped.sort_unstable();
    placement.dropped = dropped.into_iter().map(|i| requests[i].id).collect();
    placement
}

/// Rectangles bucketed on a coarse grid, for quick overlap tests.
struct Buckets {
    origin: (f64, f64),
    size: f64,
    cols: usize,
    rows: usize,
    cells: Vec<Vec<Rect>>,
}

impl Buckets {
    fn new(bounds: Rect, rects: &[Rect]) -> Self {
        let size = 10.0;
        let cols = ((bounds.w / size).ceil() as usize).clamp(1, 200) + 2;
        let rows = ((bounds.h / size).ceil() as usize).clamp(1, 200) + 2;
        let mut b = Self {
            origin: (bounds.x - size, bounds.y - size),
            size,
            cols,
            rows,
            cells: vec![Vec::new(); cols * rows],
        };
        for r in rects {
            b.insert(*r);
        }
        b
    }

    fn span(&self, r: &Rect) -> (usize, usize, usize, usize) {
        let f = |v: f64, o: f64, n: usize| {
            if v.is_finite() {
                (((v - o) / self.size).floor().max(0.0) as usize).min(n - 1)
            } else {
                0
            }
        };
        (
            f(r.x, self.origin.0, self.cols),
            f(r.right(), self.origin.0, self.cols),
            f(r.y, self.origin.1, self.rows),
            f(r.bottom(), self.origin.1, self.rows),
        )
    }

    fn insert(&mut self, r: Rect) {
        let (c0, c1, r0, r1) = self.span(&r);
        for row in r0..=r1 {
            for col in c0..=c1 {
                self.cells[row * self.cols + col].push(r);
            }
        }
    }

    fn hits(&self, r: &Rect) -> bool {
        let (c0, c1, r0, r1) = self.span(r);
        (r0..=r1).any(|row| {
            (c0..=c1).any(|col| {
                self.cells[row * self.cols + col]
                    .iter()
                    .any(|o| o.intersects(r))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rect_strategy() -> impl Strategy<Value = Rect> {
        (0.0_f64..180.0, 0.0_f64..180.0, 1.0_f64..8.0, 1.0_f64..8.0)
            .prop_map(|(x, y, w, h)| Rect::new(x, y, w, h))
    }

    proptest! {
        /// Placed labels never overlap each other or an obstacle and stay in
        /// bounds; every label is either placed or dropped.
        #[test]
        fn labels_never_overlap(
            anchors in prop::collection::vec(rect_strategy(), 1..120),
            extra in prop::collection::vec(rect_strategy(), 0..40),
            widths in prop::collection::vec((4.0_f64..30.0, 2.0_f64..4.0, 0_i32..3), 120),
        ) {
            let bounds = Rect::new(0.0, 0.0, 200.0, 200.0);
            let requests: Vec<LabelRequest> = anchors.iter().zip(&widths).enumerate()
                .map(|(id, (a, &(w, h, p)))| LabelRequest { id, anchor: *a, width: w, height: h, priority: p, leader: p == 2 })
                .collect();
            let mut obstacles = anchors.clone();
            obstacles.extend(extra);
            let p = place_labels(&requests, &obstacles, bounds);
            prop_assert_eq!(p.placed.len() + p.dropped.len(), requests.len());
            for (i, (_, a)) in p.placed.iter().enumerate() {
                prop_assert!(bounds.contains_rect(a));
                for o in &obstacles {
                    prop_assert!(!a.intersects(o));
                }
                for (_, b) in &p.placed[i + 1..] {
                    prop_assert!(!a.intersects(b));
                }
            }
        }
    }

    #[test]
    fn higher_priority_wins_the_only_place() {
        let bounds = Rect::new(0.0, 0.0, 30.0, 10.0);
        let a = Rect::centred(5.0, 5.0, 3.0, 3.0);
        let req = |id, priority| LabelRequest {
            id,
            anchor: a,
            width: 20.0,
            height: 9.0,
            priority,
            leader: false,
        };
        let p = place_labels(&[req(0, 0), req(1, 5)], &[a], bounds);
        assert_eq!(p.placed.len(), 1);
        assert_eq!(p.placed[0].0, 1);
        assert_eq!(p.dropped, vec![0]);
    }
}
