//! Relief from a DEM given as plain values: hill shading and contour lines.
//!
//! # Hill shading
//!
//! [`hillshade`]: the surface gradient of each cell by Horn's weighted
//! differences over its 3 × 3 neighbourhood (Horn, B. K. P. 1981, "Hill
//! shading and the reflectance map", Proceedings of the IEEE 69(1)), then
//! the cosine of the angle between the surface normal and the direction of
//! the light (Lambertian reflectance), 0 (facing away) to 1 (facing the
//! light). Cells without data are NaN; a missing neighbour counts as the
//! centre's own elevation. The page draws the shading as black of
//! varying opacity over white paper ([`shadow_alpha`]).
//!
//! # Contours
//!
//! [`contours`]: marching squares over the cell centres (Lorensen & Cline
//! 1987, in its two-dimensional form), each square's saddle resolved by the
//! mean of its corners, segments joined end to end into polylines. Squares
//! with a corner without data are skipped.
//!
//! ```
//! use chaski_print::relief::{contours, hillshade};
//! // A plane rising 1 m per metre to the east (slope 45°), cells of 1 m.
//! let (cols, rows) = (5, 4);
//! let z: Vec<f32> = (0..rows * cols).map(|i| (i % cols) as f32).collect();
//! // Light from the west (azimuth 270°), 45° high: it meets the slope head on.
//! let lit = hillshade(&z, cols, rows, 1.0, 1.0, 270.0, 45.0);
//! assert!((lit[7] - 1.0).abs() < 1e-5);
//! // Light from the east: grazing, at 90° to the normal.
//! let dark = hillshade(&z, cols, rows, 1.0, 1.0, 90.0, 45.0);
//! assert!(dark[7].abs() < 1e-5);
//! // The 2.5 m contour is the north-south line halfway between columns 2 and 3.
//! let lines = contours(&z, cols, rows, 2.5);
//! assert_eq!(lines.len(), 1);
//! assert!(lines[0].iter().all(|&(x, _)| (x - 3.0).abs() < 1e-9)); // x in cell units from the west edge
//! assert_eq!(lines[0].len(), rows);
//! ```

use crate::error::PrintError;
use std::collections::HashMap;

/// Hill shading of `values` (`cols` × `rows`, row 0 north; cells `dx` m
/// wide, `dy` m tall) lit from `azimuth` degrees (clockwise from north)
/// and `altitude` degrees above the horizon. See the [module documentation](self).
pub fn hillshade(
    values: &[f32],
    cols: usize,
    rows: usize,
    dx: f64,
    dy: f64,
    azimuth: f64,
    altitude: f64,
) -> Vec<f32> {
    let (az, alt) = (azimuth.to_radians(), altitude.to_radians());
    let light = (az.sin() * alt.cos(), az.cos() * alt.cos(), alt.sin());
    let mut out = vec![f32::NAN; values.len()];
    if values.len() != cols * rows {
        return out;
    }
    let at = |c: isize, r: isize, centre: f64| -> f64 {
        if c < 0 || r < 0 || c as usize >= cols || r as usize >= rows {
            return centre;
        }
        let v = f64::from(values[r as usize * cols + c as usize]);
        if v.is_finite() { v } else { centre }
    };
    for r in 0..rows {
        for c in 0..cols {
            let z = f64::from(values[r * cols + c]);
            if !z.is_finite() {
                continue;
            }
            let (ci, ri) = (c as isize, r as isize);
            let n = |dc: isize, dr: isize| at(ci + dc, ri + dr, z);
            // Horn: gradient towards the east, and towards the south (rows grow southward).
            let dzdx = ((n(1, -1) + 2.0 * n(1, 0) + n(1, 1))
                - (n(-1, -1) + 2.0 * n(-1, 0) + n(-1, 1)))
                / (8.0 * dx);
            let dzds = ((n(-1, 1) + 2.0 * n(0, 1) + n(1, 1))
                - (n(-1, -1) + 2.0 * n(0, -1) + n(1, -1)))
                / (8.0 * dy);
            let dzdy = -dzds;
            let norm = (dzdx * dzdx + dzdy * dzdy + 1.0).sqrt();
            let shade = (-dzdx * light.0 - dzdy * light.1 + light.2) / norm;
            out[r * cols + c] = shade.max(0.0) as f32;
        }
    }
    out
}

/// Opacity of the black shading drawn for a shade value: 0.4 × (1 − shade),
/// so a slope facing the light stays white paper, flat ground lit from 45°
/// is a light grey (0.12) and a slope facing away at most 0.4; cells without
/// data are not shaded.
///
/// ```
/// use chaski_print::relief::shadow_alpha;
/// assert_eq!(shadow_alpha(1.0), 0.0);
/// assert!((shadow_alpha(0.0) - 0.4).abs() < 1e-6);
/// assert_eq!(shadow_alpha(f32::NAN), 0.0);
/// ```
pub fn shadow_alpha(shade: f32) -> f32 {
    if !shade.is_finite() {
        return 0.0;
    }
    (1.0 - shade.clamp(0.0, 1.0)) * 0.4
}

/// Bilinear value of `values` at fractional cell position (`u`, `v`)
/// (cell centres at whole numbers + 0.5), NaN neighbours left out.
#[expect(
    clippy::many_single_char_names,
    reason = "page geometry reads as its formulas: x, y, w, h, r(ect), s(vg), t(exts)"
)]
pub fn bilinear(values: &[f32], cols: usize, rows: usize, u: f64, v: f64) -> f32 {
    let (u, v) = (u - 0.5, v - 0.5);
    if !(u.is_finite() && v.is_finite()) || u < -0.5 || v < -0.5 {
        return f32::NAN;
    }
    let (c0, r0) = (u.floor(), v.floor());
    let (fu, fv) = (u - c0, v - r0);
    let mut sum = 0.0;
    let mut weight = 0.0;
    for (dc, dr, w) in [
        (0.0, 0.0, (1.0 - fu) * (1.0 - fv)),
        (1.0, 0.0, fu * (1.0 - fv)),
        (0.0, 1.0, (1.0 - fu) * fv),
        (1.0, 1.0, fu * fv),
    ] {
        let (c, r) = (c0 + dc, r0 + dr);
        if c < 0.0 || r < 0.0 || c >= cols as f64 || r >= rows as f64 {
            continue;
        }
        let z = values[r as usize * cols + c as usize];
        if z.is_finite() {
            sum += f64::from(z) * w;
            weight += w;
        }
    }
    if weight > 1e-9 {
        (sum / weight) as f32
    } else {
        f32::NAN
    }
}

/// A contour interval for elevations between `min` and `max` at a map scale
/// of 1 : `denominator`: the first of 10, 20, 25, 50, 100, 200, 250, 500 m
/// that is at least denominator / 200 metres (lines stay apart on steep
/// ground) and gives at most 40 lines over the range.
///
/// ```
/// use chaski_print::relief::contour_interval;
/// assert_eq!(contour_interval(2400.0, 2900.0, 5_000.0), 25.0);
/// assert_eq!(contour_interval(2400.0, 4400.0, 5_000.0), 50.0);
/// assert_eq!(contour_interval(2400.0, 4400.0, 25_000.0), 200.0);
/// ```
pub fn contour_interval(min: f64, max: f64, denominator: f64) -> f64 {
    let by_scale = denominator / 200.0;
    let by_range = (max - min) / 40.0;
    let need = by_scale.max(by_range);
    [10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 250.0, 500.0]
        .into_iter()
        .find(|&i| i >= need)
        .unwrap_or(1000.0)
}

/// The contour lines of `values` at `level`, as polylines in cell units
/// (x from the west edge, y from the north edge; cell centres at +0.5).
#[expect(
    clippy::many_single_char_names,
    reason = "page geometry reads as its formulas: x, y, w, h, r(ect), s(vg), t(exts)"
)]
pub fn contours(values: &[f32], cols: usize, rows: usize, level: f64) -> Vec<Vec<(f64, f64)>> {
    if values.len() != cols * rows || cols < 2 || rows < 2 {
        return Vec::new();
    }
    let z = |c: usize, r: usize| f64::from(values[r * cols + c]);
    let mut segments: Vec<Segment> = Vec::new();
    for r in 0..rows - 1 {
        for c in 0..cols - 1 {
            // Corners: top-left, top-right, bottom-right, bottom-left.
            let v = [z(c, r), z(c + 1, r), z(c + 1, r + 1), z(c, r + 1)];
            if v.iter().any(|x| !x.is_finite()) {
                continue;
            }
            let p = [
                (c as f64 + 0.5, r as f64 + 0.5),
                (c as f64 + 1.5, r as f64 + 0.5),
                (c as f64 + 1.5, r as f64 + 1.5),
                (c as f64 + 0.5, r as f64 + 1.5),
            ];
            let above: Vec<bool> = v.iter().map(|&x| x > level).collect();
            // Crossing points on edges 0 (top), 1 (right), 2 (bottom), 3 (left).
            let cross = |e: usize| -> Option<(f64, f64)> {
                let (a, b) = (e, (e + 1) % 4);
                if above[a] == above[b] {
                    return None;
                }
                let t = (level - v[a]) / (v[b] - v[a]);
                Some((
                    p[a].0 + t * (p[b].0 - p[a].0),
                    p[a].1 + t * (p[b].1 - p[a].1),
                ))
            };
            let pts: Vec<(usize, (f64, f64))> =
                (0..4).filter_map(|e| cross(e).map(|q| (e, q))).collect();
            match pts.len() {
                2 => segments.push((pts[0].1, pts[1].1)),
                4 => {
                    let centre_above = v.iter().sum::<f64>() / 4.0 > level;
                    // Pair the crossings so the centre's side stays connected.
                    if centre_above == above[0] {
                        segments.push((pts[0].1, pts[1].1));
                        segments.push((pts[2].1, pts[3].1));
                    } else {
                        segments.push((pts[3].1, pts[0].1));
                        segments.push((pts[1].1, pts[2].1));
                    }
                }
                _ => {}
            }
        }
    }
    join(&segments)
}

/// A piece of contour between two edge crossings of one square.
type Segment = ((f64, f64), (f64, f64));

/// Segments joined end to end into polylines.
fn join(segments: &[Segment]) -> Vec<Vec<(f64, f64)>> {
    let key = |p: (f64, f64)| ((p.0 * 1e6).round() as i64, (p.1 * 1e6).round() as i64);
    let mut ends: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (i, (a, b)) in segments.iter().enumerate() {
        ends.entry(key(*a)).or_default().push(i);
        ends.entry(key(*b)).or_default().push(i);
    }
    let mut used = vec![false; segments.len()];
    let mut lines = Vec::new();
    for start in 0..segments.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let mut line = vec![segments[start].0, segments[start].1];
        // Grow forward from the last point, then backward from the first.
        for forward in [true, false] {
            loop {
                let tip = if forward {
                    line[line.len() - 1]
                } else {
                    line[0]
                };
                let next = ends
                    .get(&key(tip))
                    .and_then(|list| list.iter().copied().find(|&j| !used[j]));
                let Some(j) = next else { break };
                used[j] = true;
                let (a, b) = segments[j];
                let other = if key(a) == key(tip) { b } else { a };
                if forward {
                    line.push(other);
                } else {
                    line.insert(0, other);
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// An image of `w` × `h` pixels of black with the given opacities (0 to 1,
/// row-major from the top) as PNG (grey and alpha, 8 bits).
pub fn shadow_png(alpha: &[f32], w: usize, h: usize) -> Result<Vec<u8>, PrintError> {
    let err = |e: &dyn std::fmt::Display| PrintError::Relief(e.to_string());
    let mut data = Vec::with_capacity(w * h * 2);
    for &a in alpha.iter().take(w * h) {
        data.push(0);
        data.push((a.clamp(0.0, 1.0) * 255.0).round() as u8);
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(
            &mut out,
            u32::try_from(w).map_err(|e| err(&e))?,
            u32::try_from(h).map_err(|e| err(&e))?,
        );
        enc.set_color(png::ColorType::GrayscaleAlpha);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| err(&e))?;
        writer.write_image_data(&data).map_err(|e| err(&e))?;
        writer.finish().map_err(|e| err(&e))?;
    }
    Ok(out)
}

/// Standard base64 (RFC 4648, with padding) of `bytes`, for data URLs.
///
/// ```
/// assert_eq!(chaski_print::relief::base64(b"chaski"), "Y2hhc2tp");
/// assert_eq!(chaski_print::relief::base64(b"ab"), "YWI=");
/// ```
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                s.push(char::from(T[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}
