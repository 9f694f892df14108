//! Tile packages of the public layers (`chaski export`): which tiles, their
//! rendering, the style and the offline viewer written beside the archive.
//!
//! A package holds exactly the tiles the server serves: each tile is
//! [`Catalog::render`] of the packaged layers (the render behind
//! `GET /tiles/{layers}/{z}/{x}/{y}`), gzip-compressed as the server
//! compresses it ([`Encoding::Gzip`]). Only the catalog's layers can be
//! packaged, and the catalog never holds a private layer (`households`,
//! `clusters`): a package is what a caller without a token sees.
//!
//! Steps: [`plan`] resolves the layers, checks the zooms, and lists the tiles
//! at each zoom that touch the area (a district's polygons, a bounding box,
//! or everything) and the data's bounds, in Hilbert id order; [`write_tiles`]
//! renders them in parallel (rayon) a chunk at a time and hands the non-empty
//! ones, in order, to a [`TileSink`] (the PMTiles or MBTiles writers of
//! `chaski_io::tilepack`). [`viewer_files`] gives the offline page: MapLibre,
//! the PMTiles protocol and the style, every asset local.

use crate::catalog::{self, Catalog};
use crate::encoding::Encoding;
use crate::error::ApiError;
use crate::styles;
use chaski_core::store::Store;
use chaski_tiles::{PackageInfo, TileCoord, TileSink};
use geo::{Intersects, MultiPolygon, Rect, coord};
use rayon::prelude::*;
use serde_json::Value;

/// Highest zoom a package may hold (as served: `ServerConfig::max_zoom` at most 22).
pub const MAX_PACKAGE_ZOOM: u8 = 22;

/// Tiles rendered at once between two hand-overs to the writer.
const CHUNK: usize = 2048;

/// Errors of packaging, each naming what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The zoom range is empty or too deep.
    #[error("--minzoom {minzoom} / --maxzoom {maxzoom}: {reason}")]
    Zooms {
        /// Lowest zoom asked.
        minzoom: u8,
        /// Highest zoom asked.
        maxzoom: u8,
        /// Why it cannot be used.
        reason: String,
    },
    /// The layers asked for are not public layers of the store.
    #[error("--layers: {0}")]
    Layers(String),
    /// The district cannot be found.
    #[error("{0}")]
    District(String),
    /// The area holds none of the packaged data.
    #[error("{0}")]
    EmptyArea(String),
    /// A tile could not be rendered.
    #[error("rendering tile {coord}: {reason}")]
    Render {
        /// The tile.
        coord: TileCoord,
        /// Why.
        reason: String,
    },
    /// The writer failed.
    #[error(transparent)]
    Write(#[from] std::io::Error),
}

/// Where a package's tiles are taken.
#[derive(Debug, Clone)]
pub enum Area {
    /// Everything the layers hold.
    All,
    /// A bounding box `[west, south, east, north]` in degrees.
    Bbox([f64; 4]),
    /// A district's polygons (longitude/latitude).
    District {
        /// Its code.
        code: String,
        /// Its name.
        name: String,
        /// Its polygons.
        polygons: MultiPolygon<f64>,
    },
}

impl Area {
    /// The district `key` (a code, or a name only one district bears) of the
    /// store's layer of districts (or of layer `districts`), resolved as
    /// `chaski report --district` and `/api/villages/underserved?district=`
    /// resolve it; errors name `--district` or `--districts`.
    pub fn district(
        store: &dyn Store,
        key: &str,
        districts: Option<&str>,
    ) -> Result<Self, PackageError> {
        use chaski_analysis::travel::{district_layer, district_polygons, find_district};
        let err = |e: &dyn std::fmt::Display| PackageError::District(e.to_string());
        let layer = district_layer(store, districts, "--districts").map_err(|e| err(&e))?;
        let features = store
            .read_layer(&layer)
            .map_err(|e| err(&format!("reading layer '{layer}': {e}")))?;
        let list = district_polygons(&features);
        let i = find_district(&list, key, &layer, "--district").map_err(|e| err(&e))?;
        let d = list
            .into_iter()
            .nth(i)
            .ok_or_else(|| err(&"no such district"))?;
        Ok(Self::District {
            code: d.code,
            name: d.name,
            polygons: d.polygons,
        })
    }

    /// Bounds of the area (None for everything).
    fn bounds(&self) -> Option<[f64; 4]> {
        match self {
            Self::All => None,
            Self::Bbox(b) => Some(*b),
            Self::District { polygons, .. } => {
                use geo::BoundingRect;
                polygons
                    .bounding_rect()
                    .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
            }
        }
    }

    /// What the area is, for messages and the package's description.
    pub fn describe(&self) -> String {
        match self {
            Self::All => "everything".to_owned(),
            Self::Bbox([w, s, e, n]) => format!("bounding box {w},{s},{e},{n}"),
            Self::District { code, name, .. } => format!("district {code} {name}"),
        }
    }

    /// Whether the tile with `bounds` (degrees) touches the area.
    fn touches(&self, bounds: [f64; 4]) -> bool {
        match self {
            Self::All | Self::Bbox(_) => true,
            Self::District { polygons, .. } => {
                let rect = Rect::new(
                    coord! { x: bounds[0], y: bounds[1] },
                    coord! { x: bounds[2], y: bounds[3] },
                );
                polygons.intersects(&rect)
            }
        }
    }
}

/// What to package.
#[derive(Debug, Clone)]
pub struct Request {
    /// Comma list of catalog layers (None: every layer of the catalog).
    pub layers: Option<String>,
    /// Lowest zoom.
    pub minzoom: u8,
    /// Highest zoom.
    pub maxzoom: u8,
    /// Where.
    pub area: Area,
}

/// The tiles to render and what the package will say of itself.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The packaged layers, comma-joined in tile order (the `{layers}` of the
    /// server's tile URL that serves the same tiles).
    pub spec: String,
    /// The packaged layers.
    pub layers: Vec<String>,
    /// Candidate tiles in Hilbert id order (empty ones are not written).
    pub tiles: Vec<TileCoord>,
    /// Name, zooms, bounds, centre and `vector_layers` of the package.
    pub info: PackageInfo,
}

/// Resolve the layers, check the zooms and list the tiles of `request`.
pub fn plan(catalog: &Catalog, request: &Request) -> Result<Plan, PackageError> {
    let (minzoom, maxzoom) = (request.minzoom, request.maxzoom);
    let zooms = |reason: String| PackageError::Zooms {
        minzoom,
        maxzoom,
        reason,
    };
    if minzoom > maxzoom {
        return Err(zooms("the lowest zoom is above the highest".to_owned()));
    }
    if maxzoom > MAX_PACKAGE_ZOOM {
        return Err(zooms(format!("zooms go up to {MAX_PACKAGE_ZOOM}")));
    }
    let all: String = catalog
        .layers
        .keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(",");
    let spec = request.layers.clone().unwrap_or(all);
    if spec.is_empty() {
        return Err(PackageError::Layers(
            "the store has no public layer to package".to_owned(),
        ));
    }
    let resolved = catalog.resolve(&spec).map_err(|e| match e {
        ApiError::NotFound(m) | ApiError::BadRequest(m) => PackageError::Layers(
            m.replace("see /catalog for the layers served", "see `chaski summary`"),
        ),
        other => PackageError::Layers(other.to_string()),
    })?;
    let names: Vec<String> = resolved.iter().map(|(n, _)| (*n).to_owned()).collect();
    let spec = names.join(",");
    let data = catalog::bounds_of(&resolved).ok_or_else(|| {
        PackageError::EmptyArea(format!("the layers {spec} hold no feature to package"))
    })?;
    let bounds = match request.area.bounds() {
        None => data,
        Some(a) => {
            let b = [
                a[0].max(data[0]),
                a[1].max(data[1]),
                a[2].min(data[2]),
                a[3].min(data[3]),
            ];
            if b[0] > b[2] || b[1] > b[3] {
                let flag = match request.area {
                    Area::District { .. } => "--district",
                    _ => "--bbox",
                };
                return Err(PackageError::EmptyArea(format!(
                    "{flag}: the {} holds none of the layers' data (their bounds: {},{},{},{})",
                    request.area.describe(),
                    data[0],
                    data[1],
                    data[2],
                    data[3]
                )));
            }
            b
        }
    };
    let mut tiles = Vec::new();
    for z in minzoom..=maxzoom {
        let (x0, y0, x1, y1) = TileCoord::range(bounds, z);
        let mut at_zoom: Vec<(u64, TileCoord)> = Vec::new();
        for x in x0..=x1 {
            for y in y0..=y1 {
                let c = TileCoord::new(z, x, y).map_err(|e| zooms(e.to_string()))?;
                if request.area.touches(c.bounds_lonlat()) {
                    at_zoom.push((c.hilbert_id(), c));
                }
            }
        }
        at_zoom.sort_unstable_by_key(|(id, _)| *id);
        tiles.extend(at_zoom.into_iter().map(|(_, c)| c));
    }
    let mut vector_layers = catalog::vector_layers(&resolved);
    for l in &mut vector_layers {
        l["minzoom"] = Value::from(minzoom);
        l["maxzoom"] = Value::from(maxzoom);
    }
    let center_zoom = catalog::center_zoom(&bounds).clamp(minzoom, maxzoom);
    let info = PackageInfo {
        name: spec.clone(),
        description: format!(
            "chaski public layers {spec}: {}, zooms {minzoom}-{maxzoom}",
            request.area.describe()
        ),
        attribution: "chaski".to_owned(),
        minzoom,
        maxzoom,
        bounds,
        center: (
            f64::midpoint(bounds[0], bounds[2]),
            f64::midpoint(bounds[1], bounds[3]),
            center_zoom,
        ),
        vector_layers: Value::Array(vector_layers).to_string(),
    };
    Ok(Plan {
        spec,
        layers: names,
        tiles,
        info,
    })
}

/// How far [`write_tiles`] has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Candidate tiles rendered so far.
    pub done: usize,
    /// Candidate tiles in all.
    pub total: usize,
    /// Non-empty tiles written so far.
    pub written: usize,
    /// Their size, gzip-compressed, in bytes.
    pub bytes: u64,
    /// Their size uncompressed, in bytes.
    pub raw_bytes: u64,
}

/// A rendered tile: gzip-compressed, and its size uncompressed.
type Rendered = (Vec<u8>, usize);

/// Render every tile of `plan` (in parallel, a chunk at a time) and hand the
/// non-empty ones, gzip-compressed as the server sends them, to `sink` in
/// plan order; `progress` is called after each chunk. Returns the final count.
pub fn write_tiles(
    catalog: &Catalog,
    plan: &Plan,
    sink: &mut dyn TileSink,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Progress, PackageError> {
    let resolved = catalog
        .resolve(&plan.spec)
        .map_err(|e| PackageError::Layers(e.to_string()))?;
    let mut state = Progress {
        total: plan.tiles.len(),
        ..Progress::default()
    };
    for chunk in plan.tiles.chunks(CHUNK) {
        let rendered: Vec<Result<Option<Rendered>, PackageError>> = chunk
            .par_iter()
            .map(|&coord| {
                let raw =
                    catalog::render_layers(&resolved, coord).map_err(|e| PackageError::Render {
                        coord,
                        reason: e.to_string(),
                    })?;
                if raw.is_empty() {
                    return Ok(None);
                }
                let gz = Encoding::Gzip.compress(&raw)?;
                Ok(Some((gz, raw.len())))
            })
            .collect();
        for (&coord, tile) in chunk.iter().zip(rendered) {
            if let Some((gz, raw_len)) = tile? {
                sink.add_tile(coord, &gz)?;
                state.written += 1;
                state.bytes += gz.len() as u64;
                state.raw_bytes += raw_len as u64;
            }
        }
        state.done += chunk.len();
        progress(state);
    }
    Ok(state)
}

const OFFLINE_HTML: &str = include_str!("../assets/offline/index.html");
const OFFLINE_JS: &str = include_str!("../assets/offline/offline.js");
const MAPLIBRE_JS: &str = include_str!("../assets/vendor/maplibre-gl.js");
const MAPLIBRE_CSS: &str = include_str!("../assets/vendor/maplibre-gl.css");
const MAPLIBRE_LICENSE: &str = include_str!("../assets/vendor/LICENSE.txt");
const PMTILES_JS: &str = include_str!("../assets/vendor/pmtiles.js");
const PMTILES_LICENSE: &str = include_str!("../assets/vendor/pmtiles-LICENSE.txt");

/// The style of a package whose archive is the file `archive` (a name beside
/// the style): see [`styles::package_style`]. `template` is a style template
/// (None: the built-in default style).
pub fn style(plan: &Plan, archive: &str, template: Option<Value>) -> Value {
    let template = template
        .unwrap_or_else(|| serde_json::from_str(styles::EMBEDDED[0].1).unwrap_or(Value::Null));
    let layers: Vec<&str> = plan.layers.iter().map(String::as_str).collect();
    styles::package_style(template, &layers, archive, plan.info.center)
}

/// The files of the offline viewer of a package, by name, to write beside
/// the archive `archive` (a file name): `index.html` (the style inlined, as
/// browsers refuse to fetch files from a `file://` page), `offline.js`,
/// `style.json`, MapLibre GL JS and the PMTiles library with their licenses.
/// Opened from a web server or a CDN, the page reads the archive beside it
/// with HTTP range requests; opened from a file, it asks for the archive
/// (a file picker: the browser then reads it from disk, with no network).
pub fn viewer_files(archive: &str, style: &Value) -> Vec<(&'static str, Vec<u8>)> {
    let pretty = serde_json::to_string_pretty(style).unwrap_or_else(|_| "{}".to_owned());
    // Inlined in a <script>: no "</" may close it early.
    let inline = serde_json::to_string(style)
        .unwrap_or_else(|_| "{}".to_owned())
        .replace("</", "<\\/");
    let archive_json = serde_json::to_string(archive)
        .unwrap_or_else(|_| "\"\"".to_owned())
        .replace("</", "<\\/");
    let html = OFFLINE_HTML
        .replace("{{CHASKI_STYLE}}", &inline)
        .replace("{{CHASKI_ARCHIVE}}", &archive_json)
        .replace("{{CHASKI_ARCHIVE_NAME}}", &html_escape(archive));
    vec![
        ("index.html", html.into_bytes()),
        ("offline.js", OFFLINE_JS.as_bytes().to_vec()),
        ("style.json", (pretty + "\n").into_bytes()),
        ("maplibre-gl.js", MAPLIBRE_JS.as_bytes().to_vec()),
        ("maplibre-gl.css", MAPLIBRE_CSS.as_bytes().to_vec()),
        (
            "maplibre-gl-LICENSE.txt",
            MAPLIBRE_LICENSE.as_bytes().to_vec(),
        ),
        ("pmtiles.js", PMTILES_JS.as_bytes().to_vec()),
        ("pmtiles-LICENSE.txt", PMTILES_LICENSE.as_bytes().to_vec()),
    ]
}

/// The name an archive at `path` is served under by `chaski serve --pmtiles`:
/// its file name without `.pmtiles`, which must be letters, digits, `-`, `_`
/// or `.` (it is part of URLs).
pub fn archive_name(path: &std::path::Path) -> Result<String, String> {
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .map_or("", |n| n.strip_suffix(".pmtiles").unwrap_or(n));
    let ok = !stem.is_empty()
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(stem.to_owned())
    } else {
        Err(format!(
            "--pmtiles {}: the file name (without .pmtiles) names the archive in URLs and must be \
             letters, digits, '-', '_' or '.'",
            path.display()
        ))
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_viewer_page_inlines_the_style_safely() {
        let style =
            serde_json::json!({"version": 8, "name": "a</script>b", "sources": {}, "layers": []});
        let files = viewer_files("x\".pmtiles", &style);
        let html = String::from_utf8(files[0].1.clone()).unwrap();
        assert!(!html.contains("a</script>b"));
        assert!(!html.contains("{{CHASKI_"), "a placeholder is left");
        assert!(html.contains("x&quot;.pmtiles"));
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        for n in ["index.html", "style.json", "pmtiles.js", "maplibre-gl.js"] {
            assert!(names.contains(&n), "{n}");
        }
        for (name, body) in &files {
            let text = String::from_utf8_lossy(body);
            assert!(
                !text.contains("https://unpkg.com") && !text.contains("cdn.jsdelivr"),
                "{name} loads from a CDN"
            );
        }
    }
}
