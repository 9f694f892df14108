//! The moves of the search: their offsets, opposites and the cells each one
//! crosses with the share of its length in each (the exact line integral of a
//! piecewise-constant pace).

use super::super::grid::Grid;
use serde::{Deserialize, Serialize};

/// The moves as (column, row) offsets: 4 axis moves, 4 diagonals, 8 knight's
/// moves (codes `0..16`, the default [`Neighbourhood::Knight16`]) and 8
/// three-by-one moves (codes `16..24`, [`Neighbourhood::Extended24`]).
/// Codes `0..8` are also the D8 directions used by [`super::hydrology`].
pub const MOVES: [(i32, i32); 24] = [
    (1, 0),
    (0, 1),
    (-1, 0),
    (0, -1),
    (1, 1),
    (-1, 1),
    (-1, -1),
    (1, -1),
    (2, 1),
    (1, 2),
    (-1, 2),
    (-2, 1),
    (-2, -1),
    (-1, -2),
    (1, -2),
    (2, -1),
    (3, 1),
    (1, 3),
    (-1, 3),
    (-3, 1),
    (-3, -1),
    (-1, -3),
    (1, -3),
    (3, -1),
];

/// Which moves a search may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Neighbourhood {
    /// 8 moves: the axis and diagonal neighbours, as GRASS `r.cost` without
    /// `-k`. Longest detour on a flat grid 8.2 %.
    Queen8,
    /// 16 moves: 8 neighbours and 8 knight's moves, as GRASS `r.cost -k`.
    /// Longest detour on a flat grid 2.75 %. Default.
    #[default]
    Knight16,
    /// 24 moves: also the 8 moves of three cells by one. Longest detour on a
    /// flat grid 1.3 %, for about 1.5 times the work.
    Extended24,
}

impl Neighbourhood {
    /// Bits of the move codes (indices into [`MOVES`]) it allows.
    pub const fn mask(self) -> u32 {
        match self {
            Self::Queen8 => 0xFF,
            Self::Knight16 => 0xFFFF,
            Self::Extended24 => 0x00FF_FFFF,
        }
    }

    /// Number of moves.
    pub const fn moves(self) -> usize {
        match self {
            Self::Queen8 => 8,
            Self::Knight16 => 16,
            Self::Extended24 => 24,
        }
    }
}

impl std::fmt::Display for Neighbourhood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.moves())
    }
}

/// Back-pointer of a source cell or of a cell not reached.
pub const NO_MOVE: u8 = u8::MAX;

/// Code of the move opposite to move `d`.
pub const fn opposite(d: usize) -> usize {
    if d < 4 {
        (d + 2) % 4
    } else if d < 8 {
        4 + (d - 4 + 2) % 4
    } else if d < 16 {
        8 + (d - 8 + 4) % 8
    } else {
        16 + (d - 16 + 4) % 8
    }
}

/// The cells a move passes through or touches besides its ends, as (col, row)
/// offsets from the start, padded with the start cell: none for axis moves,
/// the two corner cells of a diagonal, the two cells a knight's move crosses,
/// and for a three-by-one move the two it crosses and the two whose shared
/// corner it passes through.
pub const fn intermediates(d: usize) -> [(i32, i32); 4] {
    let (dc, dr) = MOVES[d];
    let (sc, sr) = (dc.signum(), dr.signum());
    if d < 4 {
        [(0, 0); 4]
    } else if d < 8 {
        [(dc, 0), (0, dr), (0, 0), (0, 0)]
    } else if d < 16 {
        if dc.abs() == 2 {
            [(sc, 0), (sc, dr), (0, 0), (0, 0)]
        } else {
            [(0, sr), (dc, sr), (0, 0), (0, 0)]
        }
    } else if dc.abs() == 3 {
        [(sc, 0), (2 * sc, 0), (sc, dr), (2 * sc, dr)]
    } else {
        [(0, sr), (0, 2 * sr), (dc, sr), (dc, 2 * sr)]
    }
}

/// Shares of a move's length in each of its end cells and in each of the two
/// cells it crosses between them: axis and diagonal moves lie half in each end
/// cell (a diagonal only touches the two other cells at their shared corner);
/// a knight's move from (0, 0) to (2, 1) crosses x = ½ at a quarter of its
/// length, the row boundary y = ½ at half (x = 1) and x = 1½ at three
/// quarters, so a quarter lies in each of its four cells; a three-by-one move
/// to (3, 1) crosses x = ½, 1½, 2½ at 1/6, 1/2, 5/6 and passes the corner
/// (1½, ½) at 1/2: 1/6 in each end cell and 1/3 in the two cells it crosses,
/// (1, 0) and (2, 1). The shares hold for rectangular cells too (the segment
/// is the same in cell units, and length is linear along it).
pub const fn shares(d: usize) -> (f64, f64) {
    if d < 8 {
        (0.5, 0.0)
    } else if d < 16 {
        (0.25, 0.25)
    } else {
        (1.0 / 6.0, 1.0 / 3.0)
    }
}

/// The two cells move `d` crosses between its ends, as (col, row) offsets
/// from its start cell (the start cell itself twice for axis and diagonal
/// moves, which cross none).
pub const fn crossed(d: usize) -> [(i32, i32); 2] {
    let (dc, dr) = MOVES[d];
    let (sc, sr) = (dc.signum(), dr.signum());
    if d < 8 {
        [(0, 0), (0, 0)]
    } else if d < 16 {
        if dc.abs() == 2 {
            [(sc, 0), (sc, dr)]
        } else {
            [(0, sr), (dc, sr)]
        }
    } else if dc.abs() == 3 {
        [(sc, 0), (2 * sc, dr)]
    } else {
        [(0, sr), (dc, 2 * sr)]
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Move {
    pub(crate) off: isize,
    /// Padded offsets of the two cells crossed between the ends.
    pub(crate) mid: [isize; 2],
    /// Length times the share of each end cell.
    pub(crate) end_len: f32,
    /// Length times the share of each crossed cell.
    pub(crate) mid_len: f32,
    pub(crate) inv_len: f32,
    pub(crate) back: u8,
}

pub(crate) fn moves(grid: &Grid, pw: usize) -> [Move; 24] {
    let (cw, ch) = grid.cell_size();
    let pw = pw as isize;
    let off = |(dc, dr): (i32, i32)| dr as isize * pw + dc as isize;
    std::array::from_fn(|d| {
        let (dc, dr) = MOVES[d];
        let len = ((f64::from(dc) * cw).powi(2) + (f64::from(dr) * ch).powi(2)).sqrt();
        let (end, mid) = shares(d);
        let [a, b] = crossed(d);
        Move {
            off: off((dc, dr)),
            mid: [off(a), off(b)],
            end_len: (len * end) as f32,
            mid_len: (len * mid) as f32,
            inv_len: (1.0 / len) as f32,
            back: opposite(d) as u8,
        }
    })
}
