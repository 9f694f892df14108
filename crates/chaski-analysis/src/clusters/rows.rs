//! Rows of the answer, shown under the disclosure rule: a group with fewer than
//! [`MIN_GROUP`] households or cases is `<5`, with its centre rounded and no
//! statistic or shape; as table cells, GeoJSON features and properties.

use super::options::Method;
use serde_json::{Value as Json, json};

/// Fewest households, and fewest cases, of a row shown with its figures and
/// shape; smaller groups are `<5`.
pub const MIN_GROUP: usize = 5;

/// One reported cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterRow {
    /// `S1`, `S2`… (scan), `D1`… (DBSCAN), `G1`… or the community code (Gi*).
    pub id: String,
    /// 1 for the strongest.
    pub rank: usize,
    /// Centre longitude (the mean of the member households, or the cell centre).
    pub lon: f64,
    /// Centre latitude.
    pub lat: f64,
    /// Radius, metres.
    pub radius_m: Option<f64>,
    /// Outline ring in lon/lat.
    pub polygon: Option<Vec<(f64, f64)>>,
    /// Households in the cluster.
    pub households: usize,
    /// Case households in it.
    pub cases: usize,
    /// Expected cases at the overall rate.
    pub expected: f64,
    /// Relative risk (inside vs outside; infinite when no case lies outside).
    pub relative_risk: f64,
    /// Bernoulli log-likelihood ratio.
    pub llr: f64,
    /// Gi* z-score.
    pub z: Option<f64>,
    /// p-value (Monte Carlo for the scan, normal for Gi*).
    pub p_value: Option<f64>,
    /// Benjamini–Hochberg q-value (Gi*).
    pub q_value: Option<f64>,
    /// Member household codes (empty unless asked for). Restricted.
    pub members: Vec<String>,
}

impl ClusterRow {
    /// Whether the row is reported only as `<5`: fewer than [`MIN_GROUP`]
    /// households or fewer than [`MIN_GROUP`] cases.
    pub fn suppressed(&self) -> bool {
        self.households < MIN_GROUP || self.cases < MIN_GROUP
    }
}

/// The outcome of [`find_clusters`].
#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    /// Method used.
    pub method: Method,
    /// Rows by rank.
    pub rows: Vec<ClusterRow>,
    /// Households (point features) analysed.
    pub households: usize,
    /// Case households among them.
    pub cases: usize,
    /// The flags as written, in order.
    pub flags: Vec<String>,
    /// dbscan with [`ClusterOptions::k_distance`]: distances to the k-th
    /// nearest other case, largest first.
    pub k_distances: Option<Vec<f64>>,
}

/// x·ln(x/y) with 0·ln 0 = 0.
fn xlog(x: f64, y: f64) -> f64 {
    if x > 0.0 { x * (x / y).ln() } else { 0.0 }
}

/// Expected cases, relative risk and Bernoulli LLR (0 when not high-rate) of
/// `c` cases among `n` households, with `big_c` cases among `big_n` in all.
pub fn bernoulli_stats(c: usize, n: usize, big_c: usize, big_n: usize) -> (f64, f64, f64) {
    let (c, n, bc, bn) = (c as f64, n as f64, big_c as f64, big_n as f64);
    let expected = if bn > 0.0 { n * bc / bn } else { 0.0 };
    let (oc, on) = (bc - c, bn - n);
    let rr = if n > 0.0 && on > 0.0 && oc > 0.0 {
        (c / n) / (oc / on)
    } else {
        f64::INFINITY
    };
    let llr = if n > 0.0 && c * bn > n * bc {
        xlog(c, n) + xlog(n - c, n) + xlog(oc, on) + xlog(on - oc, on)
            - (xlog(bc, bn) + xlog(bn - bc, bn))
    } else {
        0.0
    };
    (expected, rr, llr)
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.filter(|x| x.is_finite())
        .map_or_else(String::new, |x| format!("{x:.digits$}"))
}

fn fmt_rr(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        "inf".into()
    }
}

/// Columns of a cluster table (CSV header, GeoJSON properties), before `members`.
pub const HEADER: [&str; 14] = [
    "id",
    "rank",
    "method",
    "lon",
    "lat",
    "radius_m",
    "households",
    "cases",
    "expected",
    "relative_risk",
    "llr",
    "z",
    "p_value",
    "q_value",
];

/// The cells of a row in [`HEADER`] order; suppressed rows
/// ([`ClusterRow::suppressed`]) keep only the id, rank, method, centre
/// rounded to 0.01° and `<5`: no radius, count, expectation or statistic.
pub fn cells(method: Method, row: &ClusterRow) -> Vec<String> {
    let hidden = row.suppressed();
    let (lon, lat, digits) = if hidden {
        (
            (row.lon * 100.0).round() / 100.0,
            (row.lat * 100.0).round() / 100.0,
            2,
        )
    } else {
        (row.lon, row.lat, 6)
    };
    let shown = |s: String| if hidden { String::new() } else { s };
    vec![
        row.id.clone(),
        row.rank.to_string(),
        method.as_str().into(),
        format!("{lon:.digits$}"),
        format!("{lat:.digits$}"),
        shown(fmt_opt(row.radius_m, 0)),
        if hidden {
            format!("<{MIN_GROUP}")
        } else {
            row.households.to_string()
        },
        shown(row.cases.to_string()),
        shown(format!("{:.2}", row.expected)),
        shown(fmt_rr(row.relative_risk)),
        shown(format!("{:.3}", row.llr)),
        shown(fmt_opt(row.z, 3)),
        shown(row.p_value.map_or_else(String::new, |p| format!("{p:.4}"))),
        shown(row.q_value.map_or_else(String::new, |q| format!("{q:.4}"))),
    ]
}

/// The properties of a row: the [`cells`] as JSON (numbers as numbers, counts
/// as integers, empty cells as null, `<5` and `inf` as text), plus `members`
/// when `with_members`.
pub fn properties(
    method: Method,
    row: &ClusterRow,
    with_members: bool,
) -> serde_json::Map<String, Json> {
    let rec = cells(method, row);
    let mut props = serde_json::Map::new();
    for (k, v) in HEADER.iter().zip(rec) {
        let j = match *k {
            "id" | "method" => Json::from(v),
            "rank" | "households" | "cases" => v.parse::<u64>().map_or_else(
                |_| {
                    if v.is_empty() {
                        Json::Null
                    } else {
                        Json::from(v)
                    }
                },
                Json::from,
            ),
            _ => match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Json::from(x),
                _ if v.is_empty() => Json::Null,
                _ => Json::from(v),
            },
        };
        props.insert((*k).to_owned(), j);
    }
    if with_members {
        props.insert("members".into(), json!(row.members));
    }
    props
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The outline of a row for display: its polygon, or None when it is
/// suppressed (fewer than [`MIN_GROUP`] households or cases) or has none.
pub fn shown_polygon(row: &ClusterRow) -> Option<&[(f64, f64)]> {
    row.polygon
        .as_deref()
        .filter(|r| !row.suppressed() && r.len() >= 4)
}

/// A GeoJSON feature of a row: the polygon (coordinates rounded to 6
/// decimals), or for a suppressed row only its rounded centre as a point.
pub fn feature(method: Method, row: &ClusterRow, with_members: bool) -> Json {
    let props = properties(method, row, with_members);
    let geometry = if let Some(ring) = shown_polygon(row) {
        json!({
            "type": "Polygon",
            "coordinates": [ring.iter().map(|&(x, y)| [round6(x), round6(y)]).collect::<Vec<_>>()],
        })
    } else {
        let lon = props.get("lon").and_then(Json::as_f64).unwrap_or(f64::NAN);
        let lat = props.get("lat").and_then(Json::as_f64).unwrap_or(f64::NAN);
        if lon.is_finite() && lat.is_finite() {
            json!({"type": "Point", "coordinates": [lon, lat]})
        } else {
            Json::Null
        }
    };
    json!({"type": "Feature", "properties": props, "geometry": geometry})
}

/// A GeoJSON FeatureCollection of the rows (see [`feature`]).
pub fn feature_collection(method: Method, rows: &[ClusterRow], with_members: bool) -> Json {
    let features: Vec<Json> = rows
        .iter()
        .map(|r| feature(method, r, with_members))
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}
