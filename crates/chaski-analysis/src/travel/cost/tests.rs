//! Tests of the search: hand-computed grids, analytic solutions and properties.

#![allow(clippy::many_single_char_names)]

use super::super::grid::Grid;
use super::moves::{
    MOVES, NO_MOVE, Neighbourhood, crossed, intermediates, moves, opposite, shares,
};
use super::options::{Direction, SearchOptions};
use super::parallel;
use super::search::travel_time;
use super::surface::{CostSurface, move_cost};
use super::update::update_travel_time;
use chaski_core::raster::Raster;

use approx::assert_relative_eq;
use rstest::rstest;

const CELL: f64 = 30.0;

/// A 64-bit linear congruential generator (Knuth's MMIX constants).
fn lcg(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state
    }
}

fn flat(w: usize, h: usize, kmh: f32) -> Raster<f32> {
    Raster::filled(
        w,
        h,
        [500_000.0, CELL, 0.0, 8_600_000.0, 0.0, -CELL],
        Some(32718),
        kmh,
    )
}

/// Length in cells of the shortest 16-move lattice path for offset (dx, dy).
fn lattice_len(dx: i64, dy: i64) -> f64 {
    let (a, b) = (dx.abs().max(dy.abs()) as f64, dx.abs().min(dy.abs()) as f64);
    if 2.0 * b <= a {
        b * 5f64.sqrt() + (a - 2.0 * b)
    } else {
        (a - b) * 5f64.sqrt() + (2.0 * b - a) * 2f64.sqrt()
    }
}

/// A surface of `w` x `h` cells of `cw` x `ch` metres from per-cell
/// (pace s/m, walking multiplier, elevation m); pace ∞ is impassable.
fn surface_of(
    w: usize,
    h: usize,
    (cw, ch): (f64, f64),
    cell: impl Fn(usize, usize) -> (f32, f32, f32),
) -> CostSurface {
    let r = Raster::filled(
        w,
        h,
        [500_000.0, cw, 0.0, 8_600_000.0, 0.0, -ch],
        Some(32718),
        0f32,
    );
    let grid = Grid::of(&r).unwrap();
    let mut s = CostSurface::blank(grid, true).unwrap();
    for row in 0..h {
        for col in 0..w {
            let p = s.pidx(col, row);
            let (f, wk, z) = cell(col, row);
            (s.fixed[p], s.walk[p], s.z[p]) = (f, wk, z);
        }
    }
    s.max_slope = 10.0;
    s.finish();
    s
}

/// The cost the searches give move `d` from (col, row), read as they read it.
fn engine_cost(s: &CostSurface, col: usize, row: usize, d: usize, sign: f32) -> f32 {
    let m = moves(&s.grid, s.pw)[d];
    let p = s.pidx(col, row);
    let at = |o: isize| p.wrapping_add_signed(o);
    let (q, a, b) = (at(m.off), at(m.mid[0]), at(m.mid[1]));
    let f = [s.fixed[p], s.fixed[q], s.fixed[a], s.fixed[b]];
    let w = [s.walk[p], s.walk[q], s.walk[a], s.walk[b]];
    let dz = s.z[q] - s.z[p];
    if d < 8 {
        move_cost::<true, false>(&m, f, w, dz, sign, s.max_slope)
    } else {
        move_cost::<true, true>(&m, f, w, dz, sign, s.max_slope)
    }
}

/// The line integral of pace along move `d` from the centre of (col, row)
/// to the centre of its end cell, by the midpoint rule on `n` samples
/// (boundaries fall between samples when `n` is a multiple of 12).
fn line_integral(s: &CostSurface, col: usize, row: usize, d: usize, sign: f64, n: usize) -> f64 {
    let (dc, dr) = MOVES[d];
    let (cw, ch) = s.grid.cell_size();
    let len = ((f64::from(dc) * cw).powi(2) + (f64::from(dr) * ch).powi(2)).sqrt();
    let pz = |c: i64, r: i64| s.z[s.pidx(c as usize, r as usize)];
    let (c0, r0) = (col as i64, row as i64);
    let slope = sign * f64::from(pz(c0 + i64::from(dc), r0 + i64::from(dr)) - pz(c0, r0)) / len;
    let tp = 0.6 * (3.5 * (slope + 0.05).abs()).exp();
    let mut sum = 0.0;
    for k in 0..n {
        let t = (k as f64 + 0.5) / n as f64;
        // Cell units: cell (c, r) spans [c - ½, c + ½] x [r - ½, r + ½].
        let x = col as f64 + t * f64::from(dc);
        let y = row as f64 + t * f64::from(dr);
        let (c, r) = (x.round() as usize, y.round() as usize);
        let p = s.pidx(c, r);
        sum += f64::from(s.fixed[p]) + f64::from(s.walk[p]) * tp;
    }
    sum * len / n as f64
}

/// Shares worked by hand (see [`shares`]): the fraction of a move's
/// parameter spent in each cell, counted on a fine grid of the segment.
#[test]
fn shares_are_the_fractions_of_each_cell() {
    for (d, &(dc, dr)) in MOVES.iter().enumerate() {
        let n = 120_000_u32;
        let mut count: std::collections::BTreeMap<(i64, i64), u32> =
            std::collections::BTreeMap::new();
        for k in 0..n {
            let t = (f64::from(k) + 0.5) / f64::from(n);
            let x = (t * f64::from(dc)).round() as i64;
            let y = (t * f64::from(dr)).round() as i64;
            *count.entry((x, y)).or_default() += 1;
        }
        let (end, mid) = shares(d);
        let share = |c: (i32, i32)| {
            f64::from(
                count
                    .get(&(i64::from(c.0), i64::from(c.1)))
                    .copied()
                    .unwrap_or(0),
            ) / f64::from(n)
        };
        assert_relative_eq!(share((0, 0)), end, epsilon = 1e-9);
        assert_relative_eq!(share((dc, dr)), end, epsilon = 1e-9);
        if d >= 8 {
            let [a, b] = crossed(d);
            assert_ne!(a, b);
            assert_relative_eq!(share(a), mid, epsilon = 1e-9);
            assert_relative_eq!(share(b), mid, epsilon = 1e-9);
            assert_eq!(count.len(), 4, "move {d}: {count:?}");
            // The crossed cells are among the intermediates the move must find open.
            assert!(intermediates(d).contains(&a) && intermediates(d).contains(&b));
        } else {
            assert_eq!(count.len(), 2, "move {d}: {count:?}");
        }
        assert_relative_eq!(2.0 * end + 2.0 * mid, 1.0);
    }
    // The fractions of the issue: 1/4 each for knight's moves; 1/6, 1/3, 1/3, 1/6.
    assert_eq!(shares(9), (0.25, 0.25));
    assert_eq!(shares(17), (1.0 / 6.0, 1.0 / 3.0));
    assert_eq!(crossed(8), [(1, 0), (1, 1)]);
    assert_eq!(crossed(16), [(1, 0), (2, 1)]);
    assert_eq!(crossed(17), [(0, 1), (1, 2)]);
}

/// One slow cell between fast ones, crossed by a knight's move that is the
/// only way: it costs L/4 · Σ pace of its four cells.
#[test]
fn a_knights_move_pays_each_cell_it_crosses() {
    // 3 x 2 cells of 10 m; pace 1 s/m but 10 at (1, 0); (2, 0) and (0, 1) blocked.
    let speed = |pace: f32| if pace.is_finite() { 3.6 / pace } else { 0.0 };
    let mut r = Raster::filled(3, 2, [0.0, 10.0, 0.0, 20.0, 0.0, -10.0], None, 3.6f32);
    r.data[1] = speed(10.0);
    r.data[2] = 0.0;
    r.data[3] = 0.0;
    let surface = CostSurface::from_speed_kmh(&r).unwrap();
    let tt = travel_time(&surface, &[(0, 0)], &SearchOptions::default());
    // Knight's move (0,0) -> (2,1): quarter in (0,0), (1,0), (1,1), (2,1).
    let l = 500f64.sqrt();
    let knight = l / 4.0 * (1.0 + 10.0 + 1.0 + 1.0);
    // The only other way: (0,0) -> (1,0) -> (1,1) -> (2,1) = 55 + 55 + 10.
    assert!(knight < 120.0);
    assert_relative_eq!(
        f64::from(tt.time(2, 1).unwrap()),
        knight,
        max_relative = 1e-6
    );
    assert_eq!(tt.back[5], opposite(8) as u8);
    // With 8 moves the knight's move is not made.
    let q8 = SearchOptions {
        neighbourhood: Neighbourhood::Queen8,
        ..SearchOptions::default()
    };
    let tt = travel_time(&surface, &[(0, 0)], &q8);
    assert_relative_eq!(tt.time(2, 1).unwrap(), 120.0, max_relative = 1e-6);
}

/// A one-cell slow stripe (100 s/m) across a 1 s/m grid of 10 m cells:
/// knight's moves used to hop over it at no cost; every path now pays at
/// least its 10 m through the stripe, and the straight one exactly that.
#[rstest]
#[case(Neighbourhood::Queen8)]
#[case(Neighbourhood::Knight16)]
#[case(Neighbourhood::Extended24)]
fn a_slow_stripe_is_paid_for(#[case] n: Neighbourhood) {
    let mut r = Raster::filled(11, 11, [0.0, 10.0, 0.0, 110.0, 0.0, -10.0], None, 3.6f32);
    for col in 0..11 {
        r.data[5 * 11 + col] = 0.036; // 100 s/m
    }
    let surface = CostSurface::from_speed_kmh(&r).unwrap();
    let opts = SearchOptions {
        neighbourhood: n,
        ..SearchOptions::default()
    };
    let tt = travel_time(&surface, &[(5, 0)], &opts);
    // 100 m straight down: 10 m in the stripe at 100 s/m, 90 m at 1 s/m.
    assert_relative_eq!(tt.time(5, 10).unwrap(), 1090.0, max_relative = 1e-6);
    // Every cell beyond the stripe paid its 1000 s more than on the flat.
    let flat = CostSurface::from_speed_kmh(&Raster::filled(
        11,
        11,
        [0.0, 10.0, 0.0, 110.0, 0.0, -10.0],
        None,
        3.6f32,
    ))
    .unwrap();
    let ft = travel_time(&flat, &[(5, 0)], &opts);
    for row in 6..11 {
        for col in 0..11 {
            let extra = tt.time(col, row).unwrap() - ft.time(col, row).unwrap();
            assert!(extra >= 990.0 - 1e-3, "({col},{row}) {extra}");
        }
    }
}

proptest::proptest! {
    /// On random piecewise-constant grids (pace, walking multiplier,
    /// elevation; rectangular cells), every one of the 24 moves costs the
    /// numerical line integral of pace along its segment (12,000 samples)
    /// within 1e-4, and the search's times follow those costs: a cell's
    /// time is its back-pointer's time plus that move's cost, and no move
    /// into it is cheaper.
    #[test]
    fn moves_cost_the_line_integral_of_pace(
        seed in 0u64..u64::MAX,
        cw in 5.0f64..60.0,
        ch in 5.0f64..60.0,
        to_source in proptest::bool::ANY,
    ) {
        let mut rng = lcg(seed);
        let mut unit = move || (rng() >> 11) as f32 / (1u64 << 53) as f32;
        let (w, h) = (9, 9);
        let cells: Vec<(f32, f32, f32)> = (0..w * h)
            .map(|_| (0.05 + 2.0 * unit(), if unit() < 0.5 { unit() } else { 0.0 }, 3.0 * unit()))
            .collect();
        let s = surface_of(w, h, (cw, ch), |c, r| cells[r * w + c]);
        let sign = if to_source { -1.0 } else { 1.0 };
        for (d, step) in MOVES.iter().enumerate() {
            let engine = f64::from(engine_cost(&s, 4, 4, d, sign));
            let exact = line_integral(&s, 4, 4, d, f64::from(sign), 12_000);
            proptest::prop_assert!(
                (engine - exact).abs() <= 1e-4 * exact,
                "move {} {:?}: engine {} integral {}", d, step, engine, exact
            );
        }
        let opts = SearchOptions {
            neighbourhood: Neighbourhood::Extended24,
            direction: if to_source { Direction::ToSource } else { Direction::FromSource },
            ..SearchOptions::default()
        };
        let tt = travel_time(&s, &[(4, 4)], &opts);
        for row in 0..h {
            for col in 0..w {
                let (Some(t), i) = (tt.time(col, row), row * w + col) else { continue };
                if tt.back[i] != NO_MOVE {
                    // The move from the back-pointer's cell into this one.
                    let d = opposite(usize::from(tt.back[i]));
                    let (dc, dr) = MOVES[usize::from(tt.back[i])];
                    let (pc, pr) = ((col as i32 + dc) as usize, (row as i32 + dr) as usize);
                    // Costed from the cell nearer the source, with the search's slope sign.
                    let cost = engine_cost(&s, pc, pr, d, sign);
                    let want = tt.time(pc, pr).unwrap() + cost;
                    proptest::prop_assert!((t - want).abs() <= 1e-5 * want, "({},{}) {} vs {}", col, row, t, want);
                }
                for (d, &(dc, dr)) in MOVES.iter().enumerate() {
                    let (pc, pr) = (col as i32 - dc, row as i32 - dr);
                    if pc < 0 || pr < 0 || pc >= w as i32 || pr >= h as i32 {
                        continue;
                    }
                    let (pc, pr) = (pc as usize, pr as usize);
                    if s.mask[s.pidx(pc, pr)] & (1 << d) == 0 {
                        continue;
                    }
                    if let Some(tp) = tt.time(pc, pr) {
                        let via = tp + engine_cost(&s, pc, pr, d, sign);
                        proptest::prop_assert!(t <= via * (1.0 + 1e-5), "({},{}) {} > {}", col, row, t, via);
                    }
                }
            }
        }
    }
}

#[test]
fn move_tables_are_consistent() {
    for d in 0..24 {
        let (dc, dr) = MOVES[d];
        assert_eq!(MOVES[opposite(d)], (-dc, -dr));
        assert_eq!(opposite(opposite(d)), d);
        // Intermediate cells lie on the segment between the two cell centres
        // (diagonals only touch their corner, three-by-one moves cross two
        // cells and pass through the corner of two more).
        for (ic, ir) in intermediates(d) {
            let (x0, x1) = (f64::from(ic), f64::from(ic) + 1.0);
            let (y0, y1) = (f64::from(ir), f64::from(ir) + 1.0);
            let hit = (0..=1000).any(|k| {
                let f = f64::from(k) / 1000.0;
                let (x, y) = (0.5 + f * f64::from(dc), 0.5 + f * f64::from(dr));
                if (8..16).contains(&d) {
                    x > x0 && x < x1 && y > y0 && y < y1
                } else {
                    x >= x0 && x <= x1 && y >= y0 && y <= y1
                }
            });
            assert!(hit, "move {d} intermediate ({ic},{ir})");
        }
    }
}

#[rstest]
#[case::one_thread(23, 17)]
#[case::two_threads(613, 451)]
fn masks_match_direct_checks(#[case] w: usize, #[case] h: usize) {
    let mut r = flat(w, h, 4.0);
    for (i, v) in r.data.iter_mut().enumerate() {
        if (i * 7919) % 5 == 0 {
            *v = f32::NAN;
        }
    }
    let surface = CostSurface::from_speed_kmh(&r).unwrap();
    let offsets = surface.offsets();
    for row in 0..h {
        for col in 0..w {
            let idx = surface.pidx(col, row);
            assert_eq!(
                surface.mask[idx],
                surface.cell_mask(idx, &offsets),
                "({col},{row})"
            );
        }
    }
    // Blocking a cell updates the masks around it like a rebuild does.
    let mut blocked = surface.clone();
    blocked.block(5, 5);
    r.data[5 * w + 5] = f32::NAN;
    let rebuilt = CostSurface::from_speed_kmh(&r).unwrap();
    assert_eq!(blocked.mask, rebuilt.mask);
    assert!(!blocked.passable(5, 5));
}

#[test]
fn flat_grid_times_follow_distance() {
    // 5 km/h everywhere; source in the middle of a 201 x 201 grid.
    let (n, c0) = (201usize, 100usize);
    let surface = CostSurface::from_speed_kmh(&flat(n, n, 5.0)).unwrap();
    let tt = travel_time(&surface, &[(c0, c0)], &SearchOptions::default());
    assert_eq!(tt.settled, n * n);
    let speed = 5.0 / 3.6;
    let mut worst: f64 = 0.0;
    for row in (0..n).step_by(3) {
        for col in (0..n).step_by(3) {
            let (dx, dy) = (col as i64 - c0 as i64, row as i64 - c0 as i64);
            if dx == 0 && dy == 0 {
                continue;
            }
            let t = f64::from(tt.time(col, row).unwrap());
            // Exactly the lattice path...
            assert_relative_eq!(t, lattice_len(dx, dy) * CELL / speed, max_relative = 1e-4);
            // ...which is within 2.75 % of the straight line.
            let euclid = ((dx * dx + dy * dy) as f64).sqrt() * CELL / speed;
            let err = t / euclid - 1.0;
            assert!((-1e-4..0.0276).contains(&err), "({col},{row}) {err}");
            worst = worst.max(err);
        }
    }
    // Directions off the 16 moves (e.g. 14 degrees) show the lattice detour.
    assert!(worst > 0.02);
    // Along the 16 move directions, and beyond 27 degrees, within 1.3 %.
    for (dx, dy) in [
        (100i64, 0i64),
        (100, 50),
        (100, 100),
        (50, 100),
        (-100, -60),
        (-70, 100),
    ] {
        let t = f64::from(
            tt.time((c0 as i64 + dx) as usize, (c0 as i64 + dy) as usize)
                .unwrap(),
        );
        let euclid = ((dx * dx + dy * dy) as f64).sqrt() * CELL / speed;
        assert_relative_eq!(t, euclid, max_relative = 0.013);
    }
}

#[test]
fn extended_neighbourhood_is_within_two_percent() {
    // 5 km/h everywhere; source in the middle of a 201 x 201 grid.
    let (n, c0) = (201usize, 100usize);
    let surface = CostSurface::from_speed_kmh(&flat(n, n, 5.0)).unwrap();
    let opts = SearchOptions {
        neighbourhood: Neighbourhood::Extended24,
        ..SearchOptions::default()
    };
    let tt = travel_time(&surface, &[(c0, c0)], &opts);
    let speed = 5.0 / 3.6;
    let mut worst: f64 = 0.0;
    for row in 0..n {
        for col in 0..n {
            let (dx, dy) = (col as i64 - c0 as i64, row as i64 - c0 as i64);
            if dx == 0 && dy == 0 {
                continue;
            }
            let t = f64::from(tt.time(col, row).unwrap());
            let euclid = ((dx * dx + dy * dy) as f64).sqrt() * CELL / speed;
            let err = t / euclid - 1.0;
            assert!((-1e-4..0.0131).contains(&err), "({col},{row}) {err}");
            worst = worst.max(err);
        }
    }
    // The worst direction, between (1, 0) and (3, 1): cos + (sqrt(10) - 3) sin
    // peaks at sqrt(1 + (sqrt(10) - 3)^2) - 1 = 1.30 %.
    let bound = (1.0 + (10f64.sqrt() - 3.0).powi(2)).sqrt() - 1.0;
    assert!(worst > bound - 0.002 && worst <= bound + 1e-4, "{worst}");
    // Along a three-by-one move it is exact; the default 16 moves are not.
    let t = f64::from(tt.time(c0 + 60, c0 + 20).unwrap());
    assert_relative_eq!(t, 20.0 * 10f64.sqrt() * CELL / speed, max_relative = 1e-5);
    let knight = travel_time(&surface, &[(c0, c0)], &SearchOptions::default());
    assert!(f64::from(knight.time(c0 + 60, c0 + 20).unwrap()) > t * 1.01);
}

#[test]
fn long_moves_never_cross_a_diagonal_wall() {
    // Nodata on the diagonal col == row: the cells below it are cut off.
    let n = 30usize;
    let mut r = flat(n, n, 5.0);
    for k in 0..n {
        r.data[k * n + k] = f32::NAN;
    }
    let surface = CostSurface::from_speed_kmh(&r).unwrap();
    let opts = SearchOptions {
        neighbourhood: Neighbourhood::Extended24,
        ..SearchOptions::default()
    };
    let tt = travel_time(&surface, &[(20, 2)], &opts);
    for row in 0..n {
        for col in 0..n {
            assert_eq!(tt.time(col, row).is_some(), col > row, "({col},{row})");
        }
    }
}

#[rstest]
#[case::isotropic_16(false, Direction::ToSource, Neighbourhood::Knight16, 2)]
#[case::terrain_to_16(true, Direction::ToSource, Neighbourhood::Knight16, 2)]
#[case::terrain_from_24(true, Direction::FromSource, Neighbourhood::Extended24, 3)]
#[case::isotropic_24(false, Direction::ToSource, Neighbourhood::Extended24, 4)]
fn threads_give_the_one_thread_result(
    #[case] terrain: bool,
    #[case] direction: Direction,
    #[case] neighbourhood: Neighbourhood,
    #[case] threads: usize,
) {
    let (w, h) = (230usize, 170usize);
    let surface = random_surface(w, h, 7, terrain);
    let sources = [
        (3, 3),
        (200, 20),
        (100, 150),
        (50, 90),
        (220, 160),
        (120, 60),
        (3, 3),
    ];
    let opts = SearchOptions {
        direction,
        neighbourhood,
        max_seconds: Some(40_000.0),
    };
    let one = travel_time(&surface, &sources, &opts);
    let many = parallel::travel_time(&surface, &sources, &opts, threads);
    let first = |a: &dyn Fn(usize) -> bool| (0..w * h).find(|&i| !a(i));
    let diff = first(&|i| one.seconds[i].to_bits() == many.seconds[i].to_bits());
    assert_eq!(
        diff,
        None,
        "time {:?}",
        diff.map(|i| (i, one.seconds[i], many.seconds[i]))
    );
    let diff = first(&|i| one.allocation[i] == many.allocation[i]);
    assert_eq!(
        diff,
        None,
        "source {:?}",
        diff.map(|i| (i, one.seconds[i], one.allocation[i], many.allocation[i]))
    );
    // Routes: where two moves give the very same time, the threads take
    // the lower move code and one thread the first found; either way the
    // step leads to a cell of the same source, reached earlier.
    for i in 0..w * h {
        if one.back[i] == many.back[i] || many.back[i] == NO_MOVE {
            assert_eq!(one.back[i], many.back[i]);
            continue;
        }
        let (dc, dr) = MOVES[usize::from(many.back[i])];
        let (c, r) = (
            (i % w) as i64 + i64::from(dc),
            (i / w) as i64 + i64::from(dr),
        );
        let j = usize::try_from(r).unwrap() * w + usize::try_from(c).unwrap();
        assert_eq!(many.allocation[j], many.allocation[i]);
        assert!(many.seconds[j] < many.seconds[i]);
    }
    assert_eq!(one.settled, many.settled);
    assert_eq!(one.skipped_sources, many.skipped_sources);
    assert!(one.settled > w * h / 2);
}

/// `w` x `h` cells of 10 m of random speed (or random hills with `terrain`),
/// with nodata holes, from `seed`.
fn random_surface(w: usize, h: usize, seed: u64, terrain: bool) -> CostSurface {
    use crate::travel::friction::{TerrainInputs, terrain_surface};
    use crate::travel::scenario::Scenario;
    let mut next = lcg(seed);
    let mut rand = move || (next() >> 40) as f32 / (1u64 << 24) as f32;
    let mut r = flat(w, h, 1.0);
    for (i, v) in r.data.iter_mut().enumerate() {
        let (c, row) = ((i % w) as f32, (i / w) as f32);
        *v = if terrain {
            3000.0 + 40.0 * (c / 17.0).sin() * (row / 11.0).cos() + 3.0 * rand()
        } else {
            1.0 + 5.0 * rand()
        };
        if rand() < 0.04 {
            *v = f32::NAN;
        }
    }
    if terrain {
        terrain_surface(&TerrainInputs::new(&r), &Scenario::walking()).unwrap()
    } else {
        CostSurface::from_speed_kmh(&r).unwrap()
    }
}

/// A search on the window a time limit allows gives every target the time a
/// search of the whole surface gives it, to the bit.
#[rstest]
#[case::isotropic(false, Direction::ToSource, Neighbourhood::Knight16)]
#[case::terrain_to(true, Direction::ToSource, Neighbourhood::Knight16)]
#[case::terrain_from_24(true, Direction::FromSource, Neighbourhood::Extended24)]
#[case::isotropic_8(false, Direction::FromSource, Neighbourhood::Queen8)]
fn windowed_searches_equal_whole_ones(
    #[case] terrain: bool,
    #[case] direction: Direction,
    #[case] neighbourhood: Neighbourhood,
) {
    use super::window::times_within;
    let (w, h) = (160usize, 120usize);
    let surface = random_surface(w, h, 11, terrain);
    let targets: Vec<(usize, usize)> = (0..400)
        .map(|k| ((k * 37) % (w + 3), (k * 53) % (h + 2)))
        .collect();
    let mut reached = 0;
    for (source, limit) in [((5, 5), 2_000.0), ((80, 60), 9_000.0), ((150, 110), 600.0)] {
        let opts = SearchOptions {
            direction,
            neighbourhood,
            max_seconds: Some(limit),
        };
        let near = times_within(&surface, source, &opts, &targets);
        let whole = travel_time(&surface, &[source], &opts);
        for (k, &(c, r)) in targets.iter().enumerate() {
            let expected = if surface.passable(source.0, source.1) {
                whole.time(c, r)
            } else {
                None
            };
            assert_eq!(
                near[k].map(f32::to_bits),
                expected.map(f32::to_bits),
                "target {k} ({c}, {r}) from {source:?}"
            );
            reached += usize::from(near[k].is_some());
        }
    }
    assert!(reached > 20, "only {reached} targets reached");
}

#[test]
fn rectangular_cells() {
    let mut r = flat(50, 50, 3.6);
    r.transform[5] = -20.0;
    let surface = CostSurface::from_speed_kmh(&r).unwrap();
    let tt = travel_time(&surface, &[(0, 0)], &SearchOptions::default());
    assert_relative_eq!(tt.time(10, 0).unwrap(), 300.0, max_relative = 1e-5);
    assert_relative_eq!(tt.time(0, 10).unwrap(), 200.0, max_relative = 1e-5);
    assert_relative_eq!(
        tt.time(10, 10).unwrap(),
        10.0 * 1300f32.sqrt(),
        max_relative = 1e-5
    );
    assert_relative_eq!(
        tt.time(20, 10).unwrap(),
        10.0 * (3600f32 + 400.0).sqrt(),
        max_relative = 1e-5
    );
}

#[test]
fn friction_is_averaged_over_the_two_halves() {
    // Column 1 is three times slower; one move from column 0 to 1 costs half in each.
    let mut r = flat(3, 1, 0.0);
    r.data = vec![1.0, 3.0, 1.0];
    let surface = CostSurface::from_friction(&r).unwrap();
    let tt = travel_time(&surface, &[(0, 0)], &SearchOptions::default());
    assert_relative_eq!(tt.time(1, 0).unwrap(), 60.0, max_relative = 1e-6);
    assert_relative_eq!(tt.time(2, 0).unwrap(), 120.0, max_relative = 1e-6);
}

#[test]
fn river_forces_route_over_bridge() {
    // 41 x 41 flat grid at 1 m/s, a river along row 20 except a bridge at column 30.
    let mut r = flat(41, 41, 3.6);
    for c in 0..41 {
        if c != 30 {
            r.data[20 * 41 + c] = 0.0;
        }
    }
    let surface = CostSurface::from_speed_kmh(&r).unwrap();
    let tt = travel_time(&surface, &[(10, 10)], &SearchOptions::default());
    let cells = tt.route_cells(10, 30).unwrap();
    assert!(cells.contains(&(30, 20)), "{cells:?}");
    assert_eq!(cells.first(), Some(&(10, 30)));
    assert_eq!(cells.last(), Some(&(10, 10)));
    // The bridge must be entered and left by moves that do not touch a river
    // cell: straight, or a knight's move along the column. Best lattice detour
    // each side: 9 knight's moves + 2 straight + 1 straight = 9 sqrt 5 + 3 cells.
    let expected = 2.0 * (9.0 * 5f64.sqrt() + 3.0) * CELL;
    assert_relative_eq!(
        f64::from(tt.time(10, 30).unwrap()),
        expected,
        max_relative = 1e-4
    );
    // And within 4 % of the straight detour over the bridge.
    let detour = 2.0 * (20f64 * 20.0 + 10.0 * 10.0).sqrt() * CELL;
    assert_relative_eq!(
        f64::from(tt.time(10, 30).unwrap()),
        detour,
        max_relative = 0.04
    );
    // Route as CRS points: starts at the cell centre.
    let pts = tt.route(10, 30).unwrap();
    assert_eq!(pts[0], r.cell_center(10, 30));
}

#[rstest]
#[case::square(false)]
#[case::diamond(true)]
fn nodata_is_never_crossed(#[case] diamond: bool) {
    // An island ringed by one-cell nodata; the diamond ring is only 8-connected,
    // so diagonal and knight's moves would slip through its corners if allowed.
    let n = 31usize;
    let mut r = flat(n, n, 5.0);
    r.nodata = Some(-9999.0);
    let (cc, rad) = (15i64, 6i64);
    let ring = |c: i64, w: i64| {
        if diamond {
            (c - cc).abs() + (w - cc).abs() == rad
        } else {
            (c - cc).abs().max((w - cc).abs()) == rad
        }
    };
    let inside = |c: i64, w: i64| {
        if diamond {
            (c - cc).abs() + (w - cc).abs() < rad
        } else {
            (c - cc).abs().max((w - cc).abs()) < rad
        }
    };
    for row in 0..n {
        for col in 0..n {
            if ring(col as i64, row as i64) {
                r.data[row * n + col] = -9999.0;
            }
        }
    }
    let surface = CostSurface::from_speed_kmh(&r).unwrap();
    let opts = SearchOptions::default();
    let tt = travel_time(&surface, &[(0, 0)], &opts);
    for row in 0..n {
        for col in 0..n {
            let (c, w) = (col as i64, row as i64);
            let t = tt.time(col, row);
            if inside(c, w) || ring(c, w) {
                assert_eq!(t, None, "({col},{row})");
                assert_eq!(tt.source(col, row), None);
            } else {
                assert!(t.is_some(), "({col},{row})");
            }
        }
    }
    // And from inside, the outside is unreachable.
    let tt = travel_time(&surface, &[(15, 15)], &opts);
    assert_eq!(tt.time(0, 0), None);
    let reached = tt.seconds.iter().filter(|t| t.is_finite()).count();
    assert_eq!(reached, tt.settled);
    let inside_count = (0..n * n)
        .filter(|i| inside((i % n) as i64, (i / n) as i64))
        .count();
    assert_eq!(reached, inside_count);
}

#[test]
fn sources_on_nodata_are_skipped() {
    let mut r = flat(5, 5, 5.0);
    r.data[0] = f32::NAN;
    let surface = CostSurface::from_speed_kmh(&r).unwrap();
    let tt = travel_time(
        &surface,
        &[(0, 0), (9, 9), (2, 2)],
        &SearchOptions::default(),
    );
    assert_eq!(tt.skipped_sources, vec![0, 1]);
    assert_eq!(tt.source(4, 4), Some(2));
    let none = travel_time(&surface, &[], &SearchOptions::default());
    assert_eq!(none.settled, 0);
    assert!(none.seconds.iter().all(|t| t.is_infinite()));
}

#[test]
fn allocation_splits_at_the_bisector() {
    let n = 41usize;
    let surface = CostSurface::from_speed_kmh(&flat(n, n, 4.0)).unwrap();
    let tt = travel_time(&surface, &[(10, 20), (30, 20)], &SearchOptions::default());
    for row in 0..n {
        for col in 0..n {
            let s = tt.source(col, row).unwrap();
            if col + 1 < 20 {
                assert_eq!(s, 0, "({col},{row})");
            } else if col > 21 {
                assert_eq!(s, 1, "({col},{row})");
            }
            // The route ends at the allocated source.
            let end = *tt.route_cells(col, row).unwrap().last().unwrap();
            assert_eq!(end, [(10, 20), (30, 20)][s]);
        }
    }
    // On the bisector itself times from both sides are equal.
    let a = travel_time(&surface, &[(10, 20)], &SearchOptions::default());
    let b = travel_time(&surface, &[(30, 20)], &SearchOptions::default());
    for row in 0..n {
        assert_relative_eq!(
            a.time(20, row).unwrap(),
            b.time(20, row).unwrap(),
            max_relative = 1e-5
        );
        let best = a.time(20, row).unwrap().min(b.time(20, row).unwrap());
        assert_relative_eq!(tt.time(20, row).unwrap(), best, max_relative = 1e-6);
    }
}

#[rstest]
#[case::isotropic(false, Direction::ToSource, Neighbourhood::Knight16)]
#[case::terrain_to(true, Direction::ToSource, Neighbourhood::Knight16)]
#[case::terrain_from(true, Direction::FromSource, Neighbourhood::Knight16)]
#[case::terrain_24(true, Direction::ToSource, Neighbourhood::Extended24)]
fn updates_equal_a_full_search(
    #[case] terrain: bool,
    #[case] direction: Direction,
    #[case] neighbourhood: Neighbourhood,
) {
    use crate::travel::friction::{TerrainInputs, terrain_surface};
    use crate::travel::scenario::Scenario;
    // Hilly 60 x 50 grid with a wall of "river" cells along column 30 and
    // a few holes; edits open cells of the wall, speed up a strip and move sources.
    let (w, h) = (60usize, 50usize);
    let mut next = lcg(99);
    let mut rand = move || (next() >> 33) as usize;
    let mut base = flat(w, h, 4.0);
    let mut dem = flat(w, h, 0.0);
    for row in 0..h {
        for col in 0..w {
            let i = row * w + col;
            dem.data[i] =
                (1000.0 + 40.0 * ((col as f64) / 7.0).sin() * ((row as f64) / 5.0).cos()) as f32;
            if col == 30 || rand() % 23 == 0 {
                base.data[i] = 0.0;
            }
        }
    }
    let surface_of = |speed: &Raster<f32>| {
        if terrain {
            // Walking multiplier 1 where the speed raster is 4, 2 where 8; blocked at 0.
            let class = |f: fn(f32) -> u8| Raster {
                data: speed.data.iter().map(|&v| f(v)).collect(),
                ..Raster::filled(w, h, speed.transform, speed.epsg, 0u8)
            };
            let routes = class(|v| if v > 5.0 { 5 } else { 1 });
            let water = class(|v| u8::from(v <= 0.0));
            let inputs = TerrainInputs {
                routes: Some(&routes),
                water: Some(&water),
                ..TerrainInputs::new(&dem)
            };
            let s = Scenario {
                path_factors: crate::travel::scenario::PathFactors {
                    paved_road: 2.0,
                    ..Default::default()
                },
                ..Scenario::walking()
            };
            terrain_surface(&inputs, &s).unwrap()
        } else {
            CostSurface::from_speed_kmh(speed).unwrap()
        }
    };
    let opts = SearchOptions {
        direction,
        neighbourhood,
        ..SearchOptions::default()
    };
    let sources = vec![(5, 5), (10, 40), (50, 25)];
    let before = surface_of(&base);
    let old = travel_time(&before, &sources, &opts);
    let mut edited = base.clone();
    for row in [10, 11, 30] {
        edited.data[row * w + 30] = 4.0;
    }
    for col in 35..55 {
        edited.data[20 * w + col] = 8.0;
    }
    let after = surface_of(&edited);
    let change = after.changes_from(&before).unwrap();
    assert!(change.cheaper_only);
    assert!(change.cells.len() >= 23, "{}", change.cells.len());
    // Source 1 removed, a new one added at (40, 45).
    let new_sources = vec![(5, 5), (50, 25), (40, 45)];
    let kept = [Some(0), None, Some(1)];
    let updated = update_travel_time(&after, &old, &change.cells, &kept, &new_sources, &opts);
    let full = travel_time(&after, &new_sources, &opts);
    assert_eq!(updated.seconds.len(), full.seconds.len());
    for (i, (a, b)) in updated.seconds.iter().zip(&full.seconds).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "cell {i}: {a} {b}");
    }
    assert_eq!(updated.settled, full.settled);
    let differ = updated
        .allocation
        .iter()
        .zip(&full.allocation)
        .filter(|(a, b)| a != b)
        .count();
    assert!(differ <= 2, "{differ}");
    // Routes end at their source.
    for (c, r) in [(59, 49), (0, 49), (31, 11)] {
        if let Some(s) = updated.source(c, r) {
            assert_eq!(
                updated.route_cells(c, r).unwrap().last(),
                Some(&new_sources[s])
            );
        }
    }
    // A dearer cell breaks the precondition.
    assert!(!before.changes_from(&after).unwrap().cheaper_only);
}

#[test]
fn max_time_bounds_the_search() {
    let n = 101usize;
    let surface = CostSurface::from_speed_kmh(&flat(n, n, 3.6)).unwrap();
    let full = travel_time(&surface, &[(50, 50)], &SearchOptions::default());
    let limit = 600.0;
    let opts = SearchOptions {
        max_seconds: Some(limit),
        ..SearchOptions::default()
    };
    let part = travel_time(&surface, &[(50, 50)], &opts);
    let within = full
        .seconds
        .iter()
        .filter(|&&t| f64::from(t) <= limit)
        .count();
    assert_eq!(part.settled, within);
    assert!(part.settled < full.settled);
    for (a, b) in full.seconds.iter().zip(&part.seconds) {
        if f64::from(*a) <= limit {
            assert_eq!(a.to_bits(), b.to_bits());
        } else {
            assert!(b.is_infinite());
        }
    }
    // 600 s at 1 m/s is 20 cells of 30 m.
    assert!(part.time(70, 50).is_some());
    assert!(part.time(71, 50).is_none());
}
