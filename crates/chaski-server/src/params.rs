//! Query parameters of every endpoint, read in one place: unknown and repeated
//! names refused, each error a 400 naming the parameter.
//!
//! - `Params`: the query as given, with typed getters; the engine's
//!   vocabularies (preset, birth care, category, direction, moves) are read by
//!   the engine's own parsers (`chaski_analysis::travel::vocab`) through
//!   `Params::parsed`, one parser per vocabulary.
//! - `RunParams`: scenario, sources and direction of a travel-time search
//!   (and `whatif_run_params`, the same completed by a what-if body).
//! - `ListParams`: filters (`bbox`, `district`) and page (`limit`,
//!   `offset`) of list answers, and `page_url` for the next page.
//! - `parse_bands` (isochrone bands), [`parse_coord`] (tile z/x/y),
//!   [`ClusterRequest`] (`GET /api/clusters`), `UploadParams` and
//!   `DeleteParams` (household writes), `summary_by` (household summary).

use crate::error::ApiError;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use chaski_analysis::clusters::{By, ClusterOptions, ClustersError, Method};
use chaski_analysis::travel::SourceFilter;
use chaski_analysis::travel::cost::{Direction, Neighbourhood};
use chaski_analysis::travel::scenario::Scenario;
use chaski_analysis::travel::vocab::{BirthCareFilter, CategoryFilter, Preset};
use chaski_tiles::TileCoord;
use std::fmt::Write as _;

type ApiResult<T> = Result<T, ApiError>;

/// Villages (or other items) per page of a list answer unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 1000;
/// Most items per page of a list answer (the default of `max_list_limit`).
pub const MAX_LIMIT: usize = 10_000;
/// Most isochrone bands per request.
pub const MAX_BANDS: usize = 16;
/// Default isochrone bands, minutes.
pub const DEFAULT_BANDS: [f64; 4] = [30.0, 60.0, 120.0, 240.0];
/// Most Monte Carlo replicates a cluster request may ask for.
pub const MAX_REPLICATES: usize = 9_999;
/// The household layer of requests that name none.
pub const DEFAULT_HOUSEHOLD_LAYER: &str = "households";

/// Query parameters as given, checked for unknown and repeated names.
pub struct Params(pub(crate) Vec<(String, String)>);

impl Params {
    /// The query, refused (400) when a name is not in `allowed` or is repeated.
    pub fn new(
        query: Result<Query<Vec<(String, String)>>, QueryRejection>,
        allowed: &[&str],
    ) -> ApiResult<Self> {
        let Query(pairs) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        for (i, (k, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::BadRequest(format!(
                    "unknown query parameter '{k}' (expected {})",
                    allowed.join(", ")
                )));
            }
            if pairs[..i].iter().any(|(j, _)| j == k) {
                return Err(ApiError::BadRequest(format!(
                    "query parameter '{k}' is given more than once"
                )));
            }
        }
        Ok(Self(pairs))
    }

    /// Parameter `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }

    /// Parameter `name` read by the engine's parser of its vocabulary
    /// (`chaski_analysis::travel::vocab`); absent or empty: None.
    pub fn parsed<T>(&self, name: &str) -> ApiResult<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|e| ApiError::BadRequest(format!("query parameter '{name}': {e}"))),
        }
    }

    /// Parameter `name`, which must be given and not empty.
    pub fn required(&self, name: &str) -> ApiResult<&str> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::BadRequest(format!(
                "missing query parameter '{name}'"
            ))),
        }
    }

    /// A finite number within `range` (`expected` says what in errors).
    pub fn number(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<f64>,
        expected: &str,
    ) -> ApiResult<Option<f64>> {
        let Some(text) = self.get(name).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && range.contains(&v) => Ok(Some(v)),
            _ => Err(ApiError::BadRequest(format!(
                "query parameter '{name}': '{text}' is not {expected}"
            ))),
        }
    }
}

/// `outside=count|list` of `GET /api/villages/underserved`: whether villages
/// off the travel-time surface are listed (default: only counted).
pub(crate) fn parse_outside(p: &Params) -> ApiResult<bool> {
    match p.get("outside").map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "count") => Ok(false),
        Some("list") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!(
            "query parameter 'outside': '{other}' is not count or list"
        ))),
    }
}

/// Names of the run parameters of a travel-time search.
pub const RUN_PARAMS: [&str; 5] = ["category", "birth_care", "preset", "direction", "moves"];

/// Scenario, sources and direction of a request.
pub struct RunParams {
    /// Facilities searched from.
    pub(crate) filter: SourceFilter,
    /// Name of the preset.
    pub(crate) preset: &'static str,
    /// Speeds of the preset.
    pub(crate) scenario: Scenario,
    /// To or from the facility.
    pub(crate) direction: Direction,
    /// Moves of the search.
    pub(crate) neighbourhood: Neighbourhood,
}

impl RunParams {
    /// The run parameters of `p` (defaults: all facilities, walking, to the facility).
    pub fn parse(p: &Params) -> ApiResult<Self> {
        let birth_care = p.parsed::<BirthCareFilter>("birth_care")?;
        let category = p.parsed::<CategoryFilter>("category")?;
        let filter = SourceFilter::new(category.as_ref(), birth_care);
        let preset = p.parsed::<Preset>("preset")?.unwrap_or(Preset::Walking);
        let (scenario, preset) = (preset.scenario(), preset.name());
        let direction = p.parsed::<Direction>("direction")?.unwrap_or_default();
        let neighbourhood = p.parsed::<Neighbourhood>("moves")?.unwrap_or_default();
        Ok(Self {
            filter,
            preset,
            scenario,
            direction,
            neighbourhood,
        })
    }
}

/// Names of the query parameters of `POST /api/catchments`.
pub(crate) const CATCHMENTS_PARAMS: [&str; 5] =
    ["preset", "bands", "max_minutes", "direction", "moves"];

/// Names of the run parameters in the query of `POST /api/whatif`.
pub const WHATIF_RUN_QUERY: [&str; 6] = [
    "scenario",
    "preset",
    "category",
    "birth_care",
    "direction",
    "moves",
];

/// Run parameters of `POST /api/whatif`: those of the query (`scenario` an
/// alias of `preset`; list parameters left out), completed by the body's
/// `members` (a member the query gives too must say the same).
pub fn whatif_run_params(p: &Params, members: Vec<(String, String)>) -> ApiResult<RunParams> {
    let mut pairs: Vec<(String, String)> =
        p.0.iter()
            .filter(|(k, _)| WHATIF_RUN_QUERY.contains(&k.as_str()))
            .map(|(k, v)| {
                if k == "scenario" {
                    ("preset".to_owned(), v.clone())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
    for i in 0..pairs.len() {
        if pairs[..i].iter().any(|(k, _)| *k == pairs[i].0) {
            return Err(ApiError::BadRequest(
                "query parameters 'scenario' and 'preset' are the same: give one".to_owned(),
            ));
        }
    }
    for (k, v) in members {
        match pairs.iter().find(|(q, _)| *q == k) {
            Some((_, qv)) if qv.trim() != v.trim() => {
                return Err(ApiError::BadRequest(format!(
                    "'{k}' is '{qv}' in the query but '{v}' in the body"
                )));
            }
            Some(_) => {}
            None => pairs.push((k, v)),
        }
    }
    RunParams::parse(&Params(pairs)).map_err(|e| match e {
        ApiError::BadRequest(m) => ApiError::BadRequest(m.replace("'preset'", "'scenario'")),
        other => other,
    })
}

/// Query parameters of list answers: filters and paging.
pub const LIST_PARAMS: [&str; 5] = ["bbox", "district", "districts", "limit", "offset"];

/// Filters and page of a list answer.
#[derive(Debug, Clone)]
pub struct ListParams {
    /// min lon, min lat, max lon, max lat.
    pub(crate) bbox: Option<[f64; 4]>,
    /// Code or name of a district.
    pub(crate) district: Option<String>,
    /// Layer of the district polygons.
    pub(crate) districts: Option<String>,
    /// Most items of a page.
    pub(crate) limit: usize,
    /// Items skipped before the page.
    pub(crate) offset: usize,
}

impl ListParams {
    /// The list parameters of `p`.
    pub fn parse(p: &Params) -> ApiResult<Self> {
        let bounds = crate::config::bounds();
        let bbox = match p.get("bbox").filter(|b| !b.is_empty()) {
            None => None,
            Some(text) => {
                let b = parse_bbox(text)?;
                let area = (b[2] - b[0]) * (b[3] - b[1]);
                if area > bounds.max_bbox_deg2 {
                    return Err(ApiError::BadRequest(format!(
                        "query parameter 'bbox': '{text}' covers {area:.1} square degrees, more than \
                         the {} allowed (max_bbox_deg2): ask for a smaller box or a district",
                        bounds.max_bbox_deg2
                    )));
                }
                Some(b)
            }
        };
        let district = p
            .get("district")
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        let districts = p
            .get("districts")
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        if districts.is_some() && district.is_none() {
            return Err(ApiError::BadRequest(
                "query parameter 'districts' names the layer of 'district': give district=CODE_OR_NAME too"
                    .to_owned(),
            ));
        }
        let whole = |name: &str, max: usize, expected: &str| -> ApiResult<Option<usize>> {
            match p.get(name).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(text) => match text.parse::<usize>() {
                    Ok(v) if v <= max => Ok(Some(v)),
                    _ => Err(ApiError::BadRequest(format!(
                        "query parameter '{name}': '{text}' is not {expected}"
                    ))),
                },
            }
        };
        Ok(Self {
            bbox,
            district,
            districts,
            limit: whole(
                "limit",
                bounds.max_list_limit,
                &format!(
                    "a whole number from 0 to {} (max_list_limit)",
                    bounds.max_list_limit
                ),
            )?
            .unwrap_or(DEFAULT_LIMIT.min(bounds.max_list_limit)),
            offset: whole("offset", usize::MAX, "a whole number (0 or more)")?.unwrap_or(0),
        })
    }

    /// Whether the item at `index` of the whole list is on this page.
    pub(crate) fn on_page(&self, index: usize) -> bool {
        index >= self.offset && index - self.offset < self.limit
    }

    /// The offset of the next page when the list goes on after this one.
    pub(crate) fn next_offset(&self, total: usize) -> Option<usize> {
        let end = self.offset.saturating_add(self.limit);
        (self.limit > 0 && end < total).then_some(end)
    }
}

/// `minlon,minlat,maxlon,maxlat` in degrees.
fn parse_bbox(text: &str) -> ApiResult<[f64; 4]> {
    bbox_of(text, "query parameter 'bbox'").map_err(ApiError::BadRequest)
}

/// `minlon,minlat,maxlon,maxlat` in degrees (longitudes in −180..180,
/// latitudes in −90..90, minimums not above maximums); the error names
/// `what` (a query parameter, a command-line flag) and the expected form.
pub fn bbox_of(text: &str, what: &str) -> Result<[f64; 4], String> {
    let bad = |why: &str| {
        format!("{what}: '{text}' {why} (expected minlon,minlat,maxlon,maxlat in degrees)")
    };
    let parts: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("is not four numbers"))?;
    let [x0, y0, x1, y1] = parts[..] else {
        return Err(bad("is not four numbers"));
    };
    let lon = -180.0..=180.0;
    let lat = -90.0..=90.0;
    if !(lon.contains(&x0) && lon.contains(&x1) && lat.contains(&y0) && lat.contains(&y1)) {
        return Err(bad("is not longitudes and latitudes"));
    }
    if x0 > x1 || y0 > y1 {
        return Err(bad("has a minimum above its maximum"));
    }
    Ok([x0, y0, x1, y1])
}

/// A query-string component, percent-encoded (RFC 3986 unreserved characters kept).
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The URL of the page at `offset`: `base` and `path` with `pairs` (the
/// request's query, any `offset` replaced).
pub(crate) fn page_url(
    base: &str,
    path: &str,
    pairs: &[(String, String)],
    offset: usize,
) -> String {
    let mut query: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k != "offset")
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    query.push(format!("offset={offset}"));
    format!("{base}{path}?{}", query.join("&"))
}

/// Isochrone bands of `bands=30,60,...` (minutes), sorted.
pub fn parse_bands(p: &Params) -> ApiResult<Vec<f64>> {
    let Some(text) = p.get("bands").filter(|t| !t.is_empty()) else {
        return Ok(DEFAULT_BANDS.to_vec());
    };
    let mut bands = Vec::new();
    for part in text.split(',') {
        match part.trim().parse::<f64>() {
            Ok(b) if b.is_finite() && b > 0.0 => bands.push(b),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "query parameter 'bands': '{}' is not a positive number of minutes",
                    part.trim()
                )));
            }
        }
    }
    bands.sort_by(f64::total_cmp);
    bands.dedup();
    if bands.len() > MAX_BANDS {
        return Err(ApiError::BadRequest(format!(
            "query parameter 'bands': at most {MAX_BANDS} bands"
        )));
    }
    Ok(bands)
}

/// Parse `z`, `x` and `y` (with an optional `.mvt` or `.pbf` suffix) and check them.
pub fn parse_coord(z: &str, x: &str, y: &str, max_zoom: u8) -> Result<TileCoord, ApiError> {
    let y = y
        .strip_suffix(".mvt")
        .or_else(|| y.strip_suffix(".pbf"))
        .unwrap_or(y);
    let parse = |what: &str, s: &str| {
        s.parse::<u32>().map_err(|_| {
            ApiError::BadRequest(format!("tile {what} '{s}' is not a non-negative integer"))
        })
    };
    let (zn, xn, yn) = (parse("z", z)?, parse("x", x)?, parse("y", y)?);
    if zn > u32::from(max_zoom) {
        return Err(ApiError::BadRequest(format!(
            "zoom {zn} is beyond this server's maximum zoom {max_zoom}"
        )));
    }
    TileCoord::new(zn as u8, xn, yn).map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn parse_num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ApiError> {
    v.trim().parse::<T>().map_err(|_| {
        ApiError::BadRequest(format!("parameter '{name}': '{v}' is not a valid number"))
    })
}

fn parse_flag_bool(name: &str, v: &str) -> Result<bool, ApiError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "parameter '{name}': '{v}' is not true or false"
        ))),
    }
}

fn check_range(name: &str, ok: bool, v: &str, why: &str) -> Result<(), ApiError> {
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "parameter '{name}': {v} {why}"
        )))
    }
}

/// The parameters of `GET /api/clusters`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRequest {
    /// Household layer (default `households`).
    pub layer: String,
    /// What to compute.
    pub options: ClusterOptions,
    /// Whether member household codes are asked for.
    pub members: bool,
}

impl ClusterRequest {
    /// Read the query string of `GET /api/clusters`; errors name the parameter.
    pub fn parse(params: &[(String, String)]) -> Result<Self, ApiError> {
        let mut o = ClusterOptions::default();
        let mut layer = DEFAULT_HOUSEHOLD_LAYER.to_owned();
        let mut members = false;
        let mut flags = None;
        let mut any = None;
        for (k, v) in params {
            let v = v.as_str();
            match k.as_str() {
                "layer" => v.trim().clone_into(&mut layer),
                "method" => {
                    o.method = v.parse().map_err(|e: ClustersError| {
                        ApiError::BadRequest(format!("parameter 'method': {e}"))
                    })?;
                }
                "flags" => flags = Some(v.to_owned()),
                "all" => o.all = parse_flag_bool(k, v)?,
                "any" => any = Some(parse_flag_bool(k, v)?),
                "members" => members = parse_flag_bool(k, v)?,
                "max_share" => o.max_share = parse_num(k, v)?,
                "max_radius" | "max_radius_m" => o.max_radius_m = Some(parse_num(k, v)?),
                "replicates" => {
                    o.replicates = parse_num(k, v)?;
                    check_range(
                        k,
                        o.replicates <= MAX_REPLICATES,
                        v,
                        &format!("is too many: at most {MAX_REPLICATES} replicates"),
                    )?;
                }
                "seed" => o.seed = parse_num(k, v)?,
                "max_clusters" => {
                    o.max_clusters = parse_num(k, v)?;
                    check_range(
                        k,
                        (1..=100).contains(&o.max_clusters),
                        v,
                        "must be 1 to 100",
                    )?;
                }
                "eps" | "eps_m" => {
                    o.eps_m = parse_num(k, v)?;
                    check_range(
                        k,
                        o.eps_m.is_finite() && o.eps_m > 0.0 && o.eps_m <= 10_000.0,
                        v,
                        "must be a distance in (0, 10000] m",
                    )?;
                }
                "min_points" => {
                    o.min_points = parse_num(k, v)?;
                    check_range(
                        k,
                        (1..=10_000).contains(&o.min_points),
                        v,
                        "must be 1 to 10000",
                    )?;
                }
                "by" => {
                    o.by = v.parse().map_err(|e: ClustersError| {
                        ApiError::BadRequest(format!("parameter 'by': {e}"))
                    })?;
                }
                "cell" | "cell_m" => {
                    o.cell_m = parse_num(k, v)?;
                    check_range(
                        k,
                        o.cell_m.is_finite() && (50.0..=50_000.0).contains(&o.cell_m),
                        v,
                        "must be a cell side of 50 to 50000 m",
                    )?;
                }
                "value" => {
                    o.value = v.parse().map_err(|e: ClustersError| {
                        ApiError::BadRequest(format!("parameter 'value': {e}"))
                    })?;
                }
                "k" => {
                    o.k = parse_num(k, v)?;
                    check_range(k, (1..=64).contains(&o.k), v, "must be 1 to 64")?;
                }
                "alpha" => o.alpha = parse_num(k, v)?,
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "unknown parameter '{other}': expected method, flags, all, members, layer, \
                         max_share, max_radius_m, replicates, seed, max_clusters (scan), eps_m, \
                         min_points (dbscan), by, cell_m, value, k, alpha (gistar)"
                    )));
                }
            }
        }
        let Some(flags) = flags.filter(|f| !f.trim().is_empty()) else {
            return Err(ApiError::BadRequest(
                "parameter 'flags' is required: a comma list such as flags=anaemia,danger_signs \
                 or flags=risk_level=alto"
                    .into(),
            ));
        };
        if any == Some(true) && o.all {
            return Err(ApiError::BadRequest(
                "parameters 'any' and 'all' contradict each other".into(),
            ));
        }
        if layer.is_empty() {
            return Err(ApiError::BadRequest("parameter 'layer' is empty".into()));
        }
        o.flags = flags;
        o.validate().map_err(|e| match e.parameter() {
            Some(p) => ApiError::BadRequest(format!("parameter '{p}': {e}")),
            None => ApiError::BadRequest(e.to_string()),
        })?;
        Ok(Self {
            layer,
            options: o,
            members,
        })
    }

    /// The request in one canonical form, for the access log:
    /// `method=scan&flags=anaemia,danger_signs&all=false&members=false`, then
    /// the layer when it is not `households` and the method's own settings.
    pub fn canonical(&self) -> String {
        let o = &self.options;
        let flags: Vec<&str> = o
            .flags
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect();
        let mut q = format!(
            "method={}&flags={}&all={}&members={}",
            o.method.as_str(),
            flags.join(","),
            o.all,
            self.members
        );
        if self.layer != DEFAULT_HOUSEHOLD_LAYER {
            let _ = write!(q, "&layer={}", self.layer);
        }
        match o.method {
            Method::Scan => {
                let _ = write!(
                    q,
                    "&max_share={}&replicates={}&seed={}&max_clusters={}",
                    o.max_share, o.replicates, o.seed, o.max_clusters
                );
                if let Some(r) = o.max_radius_m {
                    let _ = write!(q, "&max_radius_m={r}");
                }
            }
            Method::Dbscan => {
                let _ = write!(q, "&eps_m={}&min_points={}", o.eps_m, o.min_points);
            }
            Method::Gistar => {
                let _ = write!(q, "&by={}", o.by.as_str());
                if o.by == By::Grid {
                    let _ = write!(q, "&cell_m={}", o.cell_m);
                }
                let _ = write!(q, "&value={}&k={}&alpha={}", o.value.as_str(), o.k, o.alpha);
            }
        }
        q
    }
}

/// Query parameters of `POST /api/households`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadParams {
    /// `on_error=skip`: store the valid rows, list the rejected ones.
    pub(crate) skip: bool,
    /// `layer` (default `households`).
    pub(crate) layer: String,
    /// `drop=COLUMN,...`: columns to leave out.
    pub(crate) drop: Vec<String>,
}

impl UploadParams {
    /// Read `layer`, `on_error` and `drop`.
    pub fn parse(params: Vec<(String, String)>) -> ApiResult<Self> {
        let mut out = Self {
            skip: false,
            layer: DEFAULT_HOUSEHOLD_LAYER.to_owned(),
            drop: Vec::new(),
        };
        for (k, v) in params {
            match (k.as_str(), v.as_str()) {
                ("on_error", "skip") => out.skip = true,
                ("on_error", "reject") => out.skip = false,
                ("on_error", other) => {
                    return Err(ApiError::BadRequest(format!(
                        "on_error={other}: expected reject (the default: nothing is written if a row \
                         is invalid) or skip"
                    )));
                }
                ("layer", name) => name.clone_into(&mut out.layer),
                ("drop", cols) => out.drop.extend(
                    cols.split(',')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned),
                ),
                (other, _) => {
                    return Err(ApiError::BadRequest(format!(
                        "unknown parameter '{other}': expected layer, on_error or drop"
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// Query parameters of `DELETE /api/households/{code}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteParams {
    /// `layer` (default `households`).
    pub(crate) layer: String,
    /// `sector` (or `cha_sector`) to narrow the deletion to.
    pub(crate) cha_sector: Option<String>,
    /// `facility` to narrow the deletion to.
    pub(crate) facility: Option<String>,
}

impl DeleteParams {
    /// Read `layer`, `sector` and `facility` (empty values as absent).
    pub fn parse(params: Vec<(String, String)>) -> ApiResult<Self> {
        let mut out = Self {
            layer: DEFAULT_HOUSEHOLD_LAYER.to_owned(),
            cha_sector: None,
            facility: None,
        };
        for (k, v) in params {
            let v = v.trim().to_owned();
            match k.as_str() {
                "layer" => out.layer = v,
                "sector" | "cha_sector" => out.cha_sector = (!v.is_empty()).then_some(v),
                "facility" => out.facility = (!v.is_empty()).then_some(v),
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "unknown parameter '{other}': expected layer, sector or facility"
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// The `by` of `GET /api/households/summary` (only `community`, the default).
pub fn summary_by(params: Vec<(String, String)>) -> ApiResult<()> {
    let mut by = "community".to_owned();
    for (k, v) in params {
        match k.as_str() {
            "by" => by = v,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter '{other}': expected by=community"
                )));
            }
        }
    }
    if by != "community" {
        return Err(ApiError::BadRequest(format!(
            "cannot summarise by '{by}': expected by=community"
        )));
    }
    Ok(())
}

/// The query parameters as the API description (`crate::openapi`) shows
/// them: the names the parsers above accept, and the words of each closed
/// vocabulary in a [`Words`](doc::Words) whose `accepts` is that vocabulary's
/// one parser (a test parses every word the description lists with it).
pub(crate) mod doc {
    use super::{
        CATCHMENTS_PARAMS, DEFAULT_BANDS, DEFAULT_LIMIT, LIST_PARAMS, MAX_BANDS, MAX_LIMIT,
        MAX_REPLICATES, Params, RUN_PARAMS, UploadParams, WHATIF_RUN_QUERY, parse_outside,
        summary_by,
    };
    use chaski_analysis::clusters::{By, GiValue, Method};
    use chaski_analysis::travel::cost::{Direction, Neighbourhood};
    use chaski_analysis::travel::vocab::{BirthCareFilter, Preset};
    use chaski_core::domain::Category;
    use serde_json::{Value, json};
    use utoipa::IntoParams;
    use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    use utoipa::openapi::{RefOr, Required};

    /// A closed vocabulary as documented: its words, and its one parser.
    pub(crate) struct Words {
        /// The words the description lists (aliases apart).
        pub(crate) words: &'static [&'static str],
        /// Whether the vocabulary's parser accepts a word (read by the tests).
        #[cfg_attr(not(test), allow(dead_code))]
        pub(crate) accepts: fn(&str) -> bool,
    }

    fn parses<T: std::str::FromStr>(s: &str) -> bool {
        s.parse::<T>().is_ok()
    }

    /// `preset` (and `scenario`, `referral_preset`).
    pub(crate) const PRESET: Words = Words {
        words: &["walking", "motorised", "rainy", "pregnant", "stretcher"],
        accepts: parses::<Preset>,
    };
    /// `birth_care` of the sources.
    pub(crate) const BIRTH_CARE: Words = Words {
        words: &["basic", "complete"],
        accepts: parses::<BirthCareFilter>,
    };
    /// `direction` of travel.
    pub(crate) const DIRECTION: Words = Words {
        words: &["to", "from"],
        accepts: parses::<Direction>,
    };
    /// `moves` of the search.
    pub(crate) const MOVES: Words = Words {
        words: &["8", "16", "24"],
        accepts: parses::<Neighbourhood>,
    };
    /// `outside` of the underserved villages.
    pub(crate) const OUTSIDE: Words = Words {
        words: &["count", "list"],
        accepts: |w| parse_outside(&Params(vec![("outside".into(), w.into())])).is_ok(),
    };
    /// `method` of the clusters.
    pub(crate) const CLUSTER_METHOD: Words = Words {
        words: &["scan", "dbscan", "gistar"],
        accepts: parses::<Method>,
    };
    /// `by` of Gi*.
    pub(crate) const CLUSTER_BY: Words = Words {
        words: &["grid", "community"],
        accepts: parses::<By>,
    };
    /// `value` of Gi*.
    pub(crate) const CLUSTER_VALUE: Words = Words {
        words: &["rate", "count"],
        accepts: parses::<GiValue>,
    };
    /// `on_error` of household uploads.
    pub(crate) const ON_ERROR: Words = Words {
        words: &["reject", "skip"],
        accepts: |w| UploadParams::parse(vec![("on_error".into(), w.into())]).is_ok(),
    };
    /// `by` of the household summary.
    pub(crate) const SUMMARY_BY: Words = Words {
        words: &["community"],
        accepts: |w| summary_by(vec![("by".into(), w.into())]).is_ok(),
    };

    /// A string of one of `w`'s words.
    pub(crate) fn words(w: &Words) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(w.words.iter().copied()))
    }

    /// A string of one of `w`'s words, described.
    pub(crate) fn described(w: &Words, description: &str) -> utoipa::openapi::schema::Object {
        words(w).description(Some(description)).build()
    }

    /// Any string.
    pub(crate) fn text() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(Type::String)
    }

    /// A number within `min..=max`.
    pub(crate) fn number(min: f64, max: f64) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(min))
            .maximum(Some(max))
    }

    /// A whole number within `min..=max`.
    pub(crate) fn integer(min: u64, max: u64) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(min as usize))
            .maximum(Some(max as usize))
    }

    /// `true` or `false`.
    pub(crate) fn boolean() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(Type::Boolean)
    }

    /// An optional query parameter.
    pub(crate) fn query(
        name: &str,
        description: &str,
        schema: impl Into<RefOr<Schema>>,
        example: Option<Value>,
    ) -> Parameter {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(description))
            .schema(Some(schema))
            .example(example)
            .build()
    }

    /// A required query parameter.
    pub(crate) fn required(
        name: &str,
        description: &str,
        schema: impl Into<RefOr<Schema>>,
        example: Value,
    ) -> Parameter {
        let mut p = query(name, description, schema, Some(example));
        p.required = Required::True;
        p
    }

    /// A path parameter.
    pub(crate) fn path(
        name: &str,
        description: &str,
        schema: impl Into<RefOr<Schema>>,
        example: Value,
    ) -> Parameter {
        let mut p = required(name, description, schema, example);
        p.parameter_in = ParameterIn::Path;
        p
    }

    /// Most zoom levels a tile coordinate may name (the server's `max_zoom`
    /// is set in the document it serves).
    pub(crate) const ZOOM_LIMIT: u64 = 30;

    /// `z`, `x` and `y` of a tile URL (read by [`super::parse_coord`]).
    pub(crate) struct TileCoordPath;
    impl IntoParams for TileCoordPath {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            vec![
                path(
                    "z",
                    "Zoom, from 0 to the server's maximum zoom.",
                    integer(0, ZOOM_LIMIT),
                    json!(12),
                ),
                path(
                    "x",
                    "Column, from 0 to 2^z - 1.",
                    integer(0, u64::from(u32::MAX)),
                    json!(1213),
                ),
                path(
                    "y",
                    "Row, from 0 to 2^z - 1 (XYZ scheme). The server also accepts the row without a suffix or with `.pbf`.",
                    integer(0, u64::from(u32::MAX)),
                    json!(2210),
                ),
            ]
        }
    }

    fn category_description() -> String {
        let all: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        format!(
            "Facility categories searched from: one category, a list (`I-3,I-4`) or a comparison \
             (`>=I-3`, `>I-2`, `<=I-2`, `<I-3`, `=I-4`) over the MINSA levels in order: {} \
             (default: every facility).",
            all.join(", ")
        )
    }

    /// The parameters of `names` among the run parameters (and `scenario`).
    fn run_params(names: &[&str]) -> Vec<Parameter> {
        names
            .iter()
            .map(|name| match *name {
                "category" => query(
                    name,
                    &category_description(),
                    text(),
                    Some(json!(">=I-3")),
                ),
                "birth_care" => query(
                    name,
                    "Only facilities with birth care: `basic` (basic or complete emergency obstetric care) or `complete`.",
                    words(&BIRTH_CARE),
                    None,
                ),
                "preset" | "scenario" => query(
                    name,
                    "Travel scenario (default `walking`): on foot, vehicles on roads, the rainy season, a woman in labour, a patient on a stretcher.",
                    words(&PRESET),
                    None,
                ),
                "direction" => query(
                    name,
                    "`to` the facility (patients, the default) or `from` it (staff visiting).",
                    words(&DIRECTION),
                    None,
                ),
                "moves" => query(
                    name,
                    "Moves of the search: 8, 16 (the default) or 24 neighbours.",
                    words(&MOVES),
                    None,
                ),
                other => query(other, "", text(), None),
            })
            .collect()
    }

    /// The run parameters of a travel-time search ([`RUN_PARAMS`]).
    pub(crate) struct RunQuery;
    impl IntoParams for RunQuery {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            run_params(&RUN_PARAMS)
        }
    }

    /// The run parameters in the query of `POST /api/whatif` ([`WHATIF_RUN_QUERY`]).
    pub(crate) struct WhatIfRunQuery;
    impl IntoParams for WhatIfRunQuery {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            run_params(&WHATIF_RUN_QUERY)
        }
    }

    /// Filters and page of list answers ([`LIST_PARAMS`]).
    pub(crate) struct ListQuery;
    impl IntoParams for ListQuery {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            LIST_PARAMS
                .iter()
                .map(|name| match *name {
                    "bbox" => query(
                        name,
                        "Only what lies in the box `minlon,minlat,maxlon,maxlat` (degrees; minimums not above maximums).",
                        text(),
                        Some(json!("-74.3,-13.1,-73.9,-12.8")),
                    ),
                    "district" => query(
                        name,
                        "Only what lies in the district of this code or (unique) name.",
                        text(),
                        None,
                    ),
                    "districts" => query(
                        name,
                        "The layer of the district polygons of `district` (default `districts`).",
                        text(),
                        None,
                    ),
                    "limit" => query(
                        name,
                        &format!("Most items of a page (default {DEFAULT_LIMIT})."),
                        integer(0, MAX_LIMIT as u64),
                        None,
                    ),
                    "offset" => query(
                        name,
                        "Items skipped before the page (default 0); `next` gives the next page's URL.",
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(0)),
                        None,
                    ),
                    other => query(other, "", text(), None),
                })
                .collect()
        }
    }

    /// The query parameters of `POST /api/catchments` ([`CATCHMENTS_PARAMS`]).
    pub(crate) struct CatchmentsQuery;
    impl IntoParams for CatchmentsQuery {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            CATCHMENTS_PARAMS
                .iter()
                .flat_map(|name| match *name {
                    "bands" => {
                        let default: Vec<String> =
                            DEFAULT_BANDS.iter().map(ToString::to_string).collect();
                        vec![query(
                            name,
                            &format!(
                                "Isochrone bands, minutes, comma-separated positive numbers (at most {MAX_BANDS}; default {}).",
                                default.join(",")
                            ),
                            text(),
                            Some(json!("30,60,120")),
                        )]
                    }
                    "max_minutes" => vec![query(
                        name,
                        "Stop the search beyond this many minutes (positive).",
                        ObjectBuilder::new()
                            .schema_type(Type::Number)
                            .exclusive_minimum(Some(0.0)),
                        None,
                    )],
                    other => run_params(&[other]),
                })
                .collect()
        }
    }

    /// `outside` of `GET /api/villages/underserved` ([`parse_outside`]).
    pub(crate) struct OutsideQuery;
    impl IntoParams for OutsideQuery {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            vec![query(
                "outside",
                "`count` (the default): villages off the travel-time surface are only counted; `list`: also listed, after the underserved ones.",
                words(&OUTSIDE),
                None,
            )]
        }
    }

    /// The parameters of `GET /api/clusters` (read by [`super::ClusterRequest::parse`]).
    pub(crate) struct ClusterQuery;
    impl IntoParams for ClusterQuery {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            vec![
                required(
                    "flags",
                    "Case flags, comma-separated: risk fields (`anaemia`, `danger_signs`, ...) or predicates on them (`risk_level=alto`).",
                    text(),
                    json!("anaemia,danger_signs"),
                ),
                query(
                    "method",
                    "Kulldorff's spatial scan (default), DBSCAN or Getis-Ord Gi*.",
                    words(&CLUSTER_METHOD),
                    None,
                ),
                query(
                    "all",
                    "A case has every flag (default: any of them).",
                    boolean(),
                    None,
                ),
                query(
                    "any",
                    "A case has any flag (the default; contradicts `all=true`).",
                    boolean(),
                    None,
                ),
                query(
                    "members",
                    "Member household codes of each cluster (roles that see household records only).",
                    boolean(),
                    None,
                ),
                query(
                    "layer",
                    "Household layer (default `households`).",
                    text(),
                    None,
                ),
                query(
                    "max_share",
                    "scan: largest window as a share of the households, in (0, 1] (default 0.5).",
                    ObjectBuilder::new()
                        .schema_type(Type::Number)
                        .exclusive_minimum(Some(0.0))
                        .maximum(Some(1.0)),
                    None,
                ),
                query(
                    "max_radius_m",
                    "scan: largest window radius, metres (alias `max_radius`).",
                    ObjectBuilder::new()
                        .schema_type(Type::Number)
                        .exclusive_minimum(Some(0.0)),
                    None,
                ),
                query(
                    "replicates",
                    &format!(
                        "scan: Monte Carlo replicates (default 999, at most {MAX_REPLICATES})."
                    ),
                    integer(0, MAX_REPLICATES as u64),
                    None,
                ),
                query(
                    "seed",
                    "scan: seed of the replicates (default 1997).",
                    integer(0, u64::MAX),
                    None,
                ),
                query(
                    "max_clusters",
                    "scan: most clusters reported (default 10).",
                    integer(1, 100),
                    None,
                ),
                query(
                    "eps_m",
                    "dbscan: neighbourhood radius, metres (alias `eps`; default 150).",
                    ObjectBuilder::new()
                        .schema_type(Type::Number)
                        .exclusive_minimum(Some(0.0))
                        .maximum(Some(10_000.0)),
                    None,
                ),
                query(
                    "min_points",
                    "dbscan: fewest case households near a core household (default 4).",
                    integer(1, 10_000),
                    None,
                ),
                query(
                    "by",
                    "gistar: units, grid cells (default) or communities.",
                    words(&CLUSTER_BY),
                    None,
                ),
                query(
                    "cell_m",
                    "gistar: grid cell side, metres (alias `cell`; default 500).",
                    number(50.0, 50_000.0),
                    None,
                ),
                query(
                    "value",
                    "gistar: value of a unit, case rate (default) or count.",
                    words(&CLUSTER_VALUE),
                    None,
                ),
                query(
                    "k",
                    "gistar: nearest neighbours of each unit (default 8).",
                    integer(1, 64),
                    None,
                ),
                query(
                    "alpha",
                    "gistar: false discovery rate, in (0, 1) (default 0.05).",
                    ObjectBuilder::new()
                        .schema_type(Type::Number)
                        .exclusive_minimum(Some(0.0))
                        .exclusive_maximum(Some(1.0)),
                    None,
                ),
            ]
        }
    }

    /// The parameters of `POST /api/households` ([`UploadParams`]).
    pub(crate) struct UploadQuery;
    impl IntoParams for UploadQuery {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            vec![
                query(
                    "layer",
                    "Household layer (default `households`; another only for admin tokens).",
                    text(),
                    None,
                ),
                query(
                    "on_error",
                    "`reject` (the default): nothing is written if a row is invalid; `skip`: the valid rows are stored and the rejected ones listed.",
                    words(&ON_ERROR),
                    None,
                ),
                query(
                    "drop",
                    "Columns to leave out, comma-separated (columns that look like personal identifiers refuse the upload unless dropped).",
                    text(),
                    None,
                ),
            ]
        }
    }

    /// The parameters of `DELETE /api/households/{code}` ([`super::DeleteParams`]).
    pub(crate) struct DeleteQuery;
    impl IntoParams for DeleteQuery {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            vec![
                query(
                    "layer",
                    "Household layer (default `households`; another only for admin tokens).",
                    text(),
                    None,
                ),
                query(
                    "sector",
                    "Only the records of this CHA sector (alias `cha_sector`; a CHA token's own sector by default).",
                    text(),
                    None,
                ),
                query(
                    "facility",
                    "Only the records of this facility (a facility token's own code by default).",
                    text(),
                    None,
                ),
            ]
        }
    }

    /// The parameter of `GET /api/households/summary` ([`summary_by`]).
    pub(crate) struct SummaryQuery;
    impl IntoParams for SummaryQuery {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            vec![query(
                "by",
                "Groups of the counts (only `community`, the default).",
                words(&SUMMARY_BY),
                None,
            )]
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn q(s: &[(&str, &str)]) -> Vec<(String, String)> {
        s.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn err(s: &[(&str, &str)]) -> String {
        match ClusterRequest::parse(&q(s)).unwrap_err() {
            ApiError::BadRequest(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requests_parse_and_bad_parameters_are_named() {
        let r = ClusterRequest::parse(&q(&[
            ("method", "dbscan"),
            ("flags", "anaemia,danger_signs"),
            ("eps", "200"),
            ("min_points", "3"),
            ("members", "true"),
        ]))
        .unwrap();
        assert_eq!(r.options.method, Method::Dbscan);
        assert!((r.options.eps_m - 200.0).abs() < f64::EPSILON);
        assert_eq!(r.options.min_points, 3);
        assert!(r.members);
        assert_eq!(r.layer, "households");
        assert!(err(&[]).contains("'flags'"));
        assert!(err(&[("flags", "a"), ("replicates", "10000")]).contains("'replicates'"));
        assert!(err(&[("flags", "a"), ("replicates", "-1")]).contains("'replicates'"));
        assert!(err(&[("flags", "a"), ("max_share", "2")]).contains("'max_share'"));
        assert!(err(&[("flags", "a"), ("method", "kmeans")]).contains("'method'"));
        assert!(err(&[("flags", "a"), ("eps", "0")]).contains("'eps'"));
        assert!(err(&[("flags", "a"), ("k", "1000")]).contains("'k'"));
        assert!(err(&[("flags", "a"), ("members", "maybe")]).contains("'members'"));
        assert!(err(&[("flags", "a"), ("zoom", "3")]).contains("'zoom'"));
        assert!(err(&[("flags", "a"), ("method", "gistar"), ("alpha", "1")]).contains("'alpha'"));
    }

    #[test]
    fn canonical_queries_for_the_access_log() {
        let c = |s: &[(&str, &str)]| ClusterRequest::parse(&q(s)).unwrap().canonical();
        assert_eq!(
            c(&[("flags", " anaemia, danger_signs ,"), ("seed", "7")]),
            "method=scan&flags=anaemia,danger_signs&all=false&members=false\
             &max_share=0.5&replicates=999&seed=7&max_clusters=10"
        );
        assert_eq!(
            c(&[
                ("members", "true"),
                ("method", "dbscan"),
                ("flags", "risk_level=alto"),
                ("all", "true"),
                ("eps", "200"),
            ]),
            "method=dbscan&flags=risk_level=alto&all=true&members=true&eps_m=200&min_points=4"
        );
        assert_eq!(
            c(&[
                ("method", "gistar"),
                ("flags", "anaemia"),
                ("by", "community")
            ]),
            "method=gistar&flags=anaemia&all=false&members=false&by=community\
             &value=rate&k=8&alpha=0.05"
        );
    }
}
