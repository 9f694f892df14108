//! Detection: the households projected to metres, then Kulldorff's scan,
//! DBSCAN or Gi* on them, rows ranked.

use super::error::ClustersError;
use super::flags::{Flag, holds, parse_flags};
use super::options::{By, ClusterOptions, GiValue, Method};
use super::rows::{ClusterRow, Clusters, MIN_GROUP, bernoulli_stats};
use crate::clusters::dbscan::{dbscan, k_distance};
use crate::clusters::gistar::{GiStarError, Spot, gi_star};
use crate::clusters::scan::{ScanOptions, bernoulli};
use chaski_core::crs::{CrsError, Projection, Projections};
use chaski_core::layer::Layer;
use chaski_core::value::Value;
use geo::{BoundingRect, ConvexHull, Geometry, MultiPoint, Point};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The households: projected points, case labels and, when the run uses
/// them, codes (members) and communities (Gi* by community).
struct Data {
    name: String,
    xy: Vec<[f64; 2]>,
    case: Vec<bool>,
    /// Number of cases.
    cases: usize,
    /// Empty unless the members are asked for.
    codes: Vec<String>,
    /// Empty unless Gi* is by community.
    community: Vec<String>,
    proj: Arc<dyn Projection>,
}

impl Data {
    fn crs_error(&self, source: CrsError) -> ClustersError {
        ClustersError::Projection {
            layer: self.name.clone(),
            source,
        }
    }

    fn lonlat(&self, x: f64, y: f64) -> Result<(f64, f64), ClustersError> {
        self.proj.inverse_one(x, y).map_err(|e| self.crs_error(e))
    }

    fn ring(&self, pts: &[[f64; 2]]) -> Result<Vec<(f64, f64)>, ClustersError> {
        let mut c: Vec<(f64, f64)> = pts.iter().map(|p| (p[0], p[1])).collect();
        self.proj.inverse(&mut c).map_err(|e| self.crs_error(e))?;
        Ok(c)
    }

    /// Row of a group of households: centre = their mean, radius = farthest one.
    fn group_row(
        &self,
        members: &[usize],
        with_members: bool,
    ) -> Result<ClusterRow, ClustersError> {
        let n = members.len().max(1) as f64;
        let cx = members.iter().map(|&i| self.xy[i][0]).sum::<f64>() / n;
        let cy = members.iter().map(|&i| self.xy[i][1]).sum::<f64>() / n;
        let radius = members
            .iter()
            .map(|&i| (self.xy[i][0] - cx).hypot(self.xy[i][1] - cy))
            .fold(0.0, f64::max);
        let (lon, lat) = self.lonlat(cx, cy)?;
        let cases = members.iter().filter(|&&i| self.case[i]).count();
        let (expected, relative_risk, llr) =
            bernoulli_stats(cases, members.len(), self.cases, self.xy.len());
        Ok(ClusterRow {
            lon,
            lat,
            radius_m: Some(radius),
            households: members.len(),
            cases,
            expected,
            relative_risk,
            llr,
            members: if with_members {
                members.iter().map(|&i| self.codes[i].clone()).collect()
            } else {
                Vec::new()
            },
            ..ClusterRow::default()
        })
    }
}

fn read_data(
    layer: &Layer,
    flags: &[Flag],
    opts: &ClusterOptions,
    projections: &dyn Projections,
) -> Result<Data, ClustersError> {
    let (all, want_codes) = (opts.all, opts.with_members);
    let want_community = opts.method == Method::Gistar && opts.by == By::Community;
    let bounds = layer
        .bounds()
        .ok_or_else(|| ClustersError::NoPoints(layer.name.clone()))?;
    let proj = projections
        .for_bounds(&bounds)
        .map_err(|source| ClustersError::Projection {
            layer: layer.name.clone(),
            source,
        })?;
    let code_idx = layer.field_index("code");
    let comm_idx = layer.field_index("community");
    let mut lonlat = Vec::new();
    let mut case = Vec::new();
    let mut codes = Vec::new();
    let mut community = Vec::new();
    let mut skipped = 0usize;
    for f in &layer.features {
        let Geometry::Point(p) = &f.geometry else {
            skipped += 1;
            continue;
        };
        if !p.x().is_finite() || !p.y().is_finite() {
            skipped += 1;
            continue;
        }
        lonlat.push((p.x(), p.y()));
        let mut hits = flags
            .iter()
            .map(|fl| holds(fl, f.values.get(fl.field).unwrap_or(&Value::Null)));
        case.push(if all {
            hits.all(|h| h)
        } else {
            hits.any(|h| h)
        });
        if want_codes {
            codes.push(
                code_idx
                    .and_then(|i| f.values.get(i))
                    .filter(|v| !v.is_null())
                    .map_or_else(|| format!("fid {}", f.fid), ToString::to_string),
            );
        }
        if want_community {
            community.push(
                comm_idx
                    .and_then(|i| f.values.get(i))
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            );
        }
    }
    if skipped > 0 {
        tracing::warn!(layer = %layer.name, skipped, "features without a point geometry skipped");
    }
    if lonlat.is_empty() {
        return Err(ClustersError::NoPoints(layer.name.clone()));
    }
    proj.forward(&mut lonlat)
        .map_err(|source| ClustersError::Projection {
            layer: layer.name.clone(),
            source,
        })?;
    Ok(Data {
        name: layer.name.clone(),
        xy: lonlat.iter().map(|&(x, y)| [x, y]).collect(),
        cases: case.iter().filter(|&&c| c).count(),
        case,
        codes,
        community,
        proj,
    })
}

fn circle(c: [f64; 2], r: f64, n: usize) -> Vec<[f64; 2]> {
    let mut v: Vec<[f64; 2]> = (0..n)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / n as f64;
            [c[0] + r * a.cos(), c[1] + r * a.sin()]
        })
        .collect();
    if let Some(&first) = v.first() {
        v.push(first);
    }
    v
}

/// Detect the clusters of `layer`'s case households with `opts`, in the
/// metric CRS `projections` gives for the layer's area; rows are ranked.
pub fn find_clusters(
    layer: &Layer,
    opts: &ClusterOptions,
    projections: &dyn Projections,
) -> Result<Clusters, ClustersError> {
    opts.validate()?;
    let flags = parse_flags(layer, &opts.flags)?;
    let data = read_data(layer, &flags, opts, projections)?;
    let mut k_distances = None;
    let mut rows = match opts.method {
        Method::Scan => run_scan(&data, opts)?,
        Method::Dbscan => {
            if let Some(k) = opts.k_distance {
                let pts: Vec<[f64; 2]> = (0..data.xy.len())
                    .filter(|&i| data.case[i])
                    .map(|i| data.xy[i])
                    .collect();
                k_distances = Some(k_distance(&pts, k)?);
            }
            let mut rows = run_dbscan(&data, opts)?;
            // By LLR, groups under MIN_GROUP last.
            rows.sort_by(|a, b| {
                a.suppressed()
                    .cmp(&b.suppressed())
                    .then(b.llr.total_cmp(&a.llr))
                    .then(a.id.cmp(&b.id))
            });
            rows
        }
        Method::Gistar => run_gistar(&data, opts)?,
    };
    for (k, r) in rows.iter_mut().enumerate() {
        r.rank = k + 1;
    }
    Ok(Clusters {
        method: opts.method,
        rows,
        households: data.xy.len(),
        cases: data.cases,
        flags: flags.into_iter().map(|f| f.text).collect(),
        k_distances,
    })
}

fn run_scan(d: &Data, o: &ClusterOptions) -> Result<Vec<ClusterRow>, ClustersError> {
    let opts = ScanOptions {
        max_share: o.max_share,
        max_radius: o.max_radius_m,
        replicates: o.replicates,
        seed: o.seed,
        max_clusters: o.max_clusters,
        ..ScanOptions::default()
    };
    let res = bernoulli(&d.xy, &d.case, &opts)?;
    let mut rows = Vec::new();
    for (k, c) in res.clusters.iter().enumerate() {
        let mut row = d.group_row(&c.members, o.with_members)?;
        // The scan's own figures (identical to the recount).
        row.expected = c.expected;
        row.relative_risk = c.relative_risk;
        row.llr = c.llr;
        row.p_value = Some(c.p_value);
        row.id = format!("S{}", k + 1);
        if let Some(r) = row.radius_m.filter(|&r| r > 0.0) {
            let (cx, cy) = d
                .proj
                .forward_one(row.lon, row.lat)
                .map_err(|e| d.crs_error(e))?;
            row.polygon = Some(d.ring(&circle([cx, cy], r, 64))?);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The shape of a DBSCAN cluster and the households inside it.
struct Area {
    /// Buffered hull, metres.
    ring: Vec<[f64; 2]>,
    /// Households inside (cases and controls), ascending.
    inside: Vec<usize>,
}

fn run_dbscan(d: &Data, o: &ClusterOptions) -> Result<Vec<ClusterRow>, ClustersError> {
    let idx: Vec<usize> = (0..d.xy.len()).filter(|&i| d.case[i]).collect();
    let pts: Vec<[f64; 2]> = idx.iter().map(|&i| d.xy[i]).collect();
    // Every household (cases and controls) sorted by x once, while DBSCAN
    // runs: each cluster's shape is tested only against those inside its
    // bounding box (an x range of the sorted list, then y).
    let (labels, by_x) = rayon::join(
        || dbscan(&pts, o.eps_m, o.min_points),
        || {
            let mut by_x: Vec<(f64, f64, usize)> =
                d.xy.iter()
                    .enumerate()
                    .map(|(i, &[x, y])| (x, y, i))
                    .collect();
            by_x.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            by_x
        },
    );
    let labels = labels?;
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (j, l) in labels.iter().enumerate() {
        if let Some(l) = l {
            groups.entry(*l).or_default().push(j);
        }
    }
    let groups: Vec<(usize, Vec<usize>)> = groups.into_iter().collect();
    let r = o.eps_m / 2.0;
    // The shapes in parallel (in metres); rows and their projection after, in order.
    let areas: Vec<Area> = groups
        .par_iter()
        .map(|(_, members)| {
            // Buffered hull: hull of 32-gons of radius eps/2 around the hull vertices.
            let mp: MultiPoint<f64> = members
                .iter()
                .map(|&j| Point::new(pts[j][0], pts[j][1]))
                .collect();
            let hull = mp.convex_hull();
            let buffered: MultiPoint<f64> = hull
                .exterior()
                .points()
                .flat_map(|p| circle([p.x(), p.y()], r, 32))
                .map(|q| Point::new(q[0], q[1]))
                .collect();
            let shape = buffered.convex_hull();
            // Households inside the shape (cases and controls).
            let inside: Vec<usize> = shape.bounding_rect().map_or_else(Vec::new, |b| {
                let (lo, hi) = (b.min(), b.max());
                let from = by_x.partition_point(|h| h.0 < lo.x);
                let to = by_x.partition_point(|h| h.0 <= hi.x);
                let mut inside: Vec<usize> = by_x[from..to]
                    .iter()
                    .filter(|&&(x, y, _)| {
                        (lo.y..=hi.y).contains(&y)
                            && geo::Contains::contains(&shape, &Point::new(x, y))
                    })
                    .map(|h| h.2)
                    .collect();
                inside.sort_unstable();
                inside
            });
            let ring = shape.exterior().points().map(|p| [p.x(), p.y()]).collect();
            Area { ring, inside }
        })
        .collect();
    let mut rows = Vec::with_capacity(groups.len());
    for ((label, members), Area { ring, inside }) in groups.into_iter().zip(areas) {
        let case_members: Vec<usize> = members.iter().map(|&j| idx[j]).collect();
        let mut row = d.group_row(&case_members, o.with_members)?;
        let cases_in = inside.iter().filter(|&&i| d.case[i]).count();
        let (expected, rr, llr) = bernoulli_stats(cases_in, inside.len(), d.cases, d.xy.len());
        // households/cases of the area; a small cluster is judged by its members.
        if case_members.len() >= MIN_GROUP {
            row.households = inside.len();
            row.cases = cases_in;
            row.expected = expected;
            row.relative_risk = rr;
            row.llr = llr;
        } else {
            row.households = case_members.len();
        }
        row.radius_m = row.radius_m.map(|x| x + r);
        row.polygon = Some(d.ring(&ring)?);
        row.id = format!("D{}", label + 1);
        rows.push(row);
    }
    Ok(rows)
}

fn run_gistar(d: &Data, o: &ClusterOptions) -> Result<Vec<ClusterRow>, ClustersError> {
    // Units: key -> member households.
    let mut units: BTreeMap<(String, i64, i64), Vec<usize>> = BTreeMap::new();
    for (i, p) in d.xy.iter().enumerate() {
        let key = match o.by {
            By::Grid => (
                String::new(),
                (p[0] / o.cell_m).floor() as i64,
                (p[1] / o.cell_m).floor() as i64,
            ),
            By::Community => (d.community[i].clone(), 0, 0),
        };
        units.entry(key).or_default().push(i);
    }
    let units: Vec<((String, i64, i64), Vec<usize>)> = units.into_iter().collect();
    let centres: Vec<[f64; 2]> = units
        .iter()
        .map(|((_, ix, iy), m)| match o.by {
            By::Grid => [(*ix as f64 + 0.5) * o.cell_m, (*iy as f64 + 0.5) * o.cell_m],
            By::Community => {
                let n = m.len() as f64;
                [
                    m.iter().map(|&i| d.xy[i][0]).sum::<f64>() / n,
                    m.iter().map(|&i| d.xy[i][1]).sum::<f64>() / n,
                ]
            }
        })
        .collect();
    let values: Vec<f64> = units
        .iter()
        .map(|(_, m)| {
            let c = m.iter().filter(|&&i| d.case[i]).count() as f64;
            match o.value {
                GiValue::Rate => c / m.len() as f64,
                GiValue::Count => c,
            }
        })
        .collect();
    let g = gi_star(&centres, &values, o.k).map_err(|e| match e {
        GiStarError::TooFewFeatures { k, n } => ClustersError::GiStarTooFewUnits {
            need: k + 2,
            got: n,
            units: match o.by {
                By::Grid => "grid cells",
                By::Community => "communities",
            },
            hint: match o.by {
                By::Grid => "use method=scan, a smaller cell_m or a smaller k",
                By::Community => "use method=scan, by=grid or a smaller k",
            },
        },
        GiStarError::ZeroVariance { n } => ClustersError::GiStarFlat {
            units: n,
            value: o.value.as_str(),
        },
        other => other.into(),
    })?;
    let mut rows = Vec::new();
    for (u, (((name, ix, iy), members), gi)) in units.iter().zip(&g).enumerate() {
        if gi.spot(o.alpha) != Spot::Hot {
            continue;
        }
        let mut row = d.group_row(members, o.with_members)?;
        row.z = Some(gi.z);
        row.p_value = Some(gi.p_value);
        row.q_value = Some(gi.q_value);
        match o.by {
            By::Grid => {
                let (x0, y0) = (*ix as f64 * o.cell_m, *iy as f64 * o.cell_m);
                let s = o.cell_m;
                let (lon, lat) = d.lonlat(centres[u][0], centres[u][1])?;
                row.lon = lon;
                row.lat = lat;
                row.radius_m = Some(s / std::f64::consts::SQRT_2);
                row.polygon = Some(d.ring(&[
                    [x0, y0],
                    [x0 + s, y0],
                    [x0 + s, y0 + s],
                    [x0, y0 + s],
                    [x0, y0],
                ])?);
                // Numbered after sorting: a cell index would place a suppressed
                // cell more finely than its rounded centre.
                row.id = String::new();
            }
            By::Community => {
                row.id = if name.is_empty() {
                    "(no community)".into()
                } else {
                    name.clone()
                };
            }
        }
        rows.push(row);
    }
    rows.sort_by(|a, b| {
        b.z.unwrap_or(0.0)
            .total_cmp(&a.z.unwrap_or(0.0))
            .then(a.id.cmp(&b.id))
    });
    for (k, row) in rows.iter_mut().enumerate() {
        if row.id.is_empty() {
            row.id = format!("G{}", k + 1);
        }
    }
    Ok(rows)
}
