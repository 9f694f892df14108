//! MapLibre styles with this server's URLs filled in (served by
//! `GET /styles/{name}.json`, see [`crate::routes::styles`]).
//!
//! The styles of the repository's `styles/` folder are built into the binary
//! ([`EMBEDDED`]), so `chaski serve` started from any folder serves them; a
//! folder given with `--styles` ([`crate::ServerConfig::styles_dir`]) replaces
//! them.
//!
//! A template names one vector source whose `url` is `{{CHASKI_TILEJSON}}`; the
//! server replaces it with the TileJSON URL of the layers that the style's
//! layers use *and* the catalog serves (layers of absent source-layers are
//! dropped, so a style never points at a 404), and `{{CHASKI_URL}}` with the
//! server's base URL. The data version is part of the TileJSON's tile URLs, so
//! clients never show stale tiles after an import.

use crate::catalog::Catalog;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// The styles built into the binary, by name: every file of the repository's
/// `styles/` folder (a unit test checks that none is missing).
pub const EMBEDDED: &[(&str, &str)] = &[("default", include_str!("../../../styles/default.json"))];

/// Where styles come from: the built-in ones when `dir` is empty (the default
/// of [`crate::ServerConfig::styles_dir`]), else the `*.json` files of `dir`.
fn embedded(dir: &std::path::Path) -> bool {
    dir.as_os_str().is_empty()
}

/// Names of the styles served with the styles folder `dir` (empty: the
/// built-in styles), sorted.
pub fn style_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = if embedded(dir) {
        EMBEDDED.iter().map(|(n, _)| (*n).to_owned()).collect()
    } else {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_file())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
            })
            .collect()
    };
    names.sort();
    names
}

/// Check a styles folder given by the operator (`chaski serve --styles DIR`)
/// before serving: it must exist and hold at least one `*.json` style.
/// Returns the style names.
///
/// # Errors
/// A message naming the folder when it is missing, not a folder, or holds no style.
pub fn check_dir(dir: &std::path::Path) -> Result<Vec<String>, String> {
    let shown = dir.display();
    if !dir.is_dir() {
        return Err(if dir.exists() {
            format!("the styles folder {shown} is not a folder")
        } else {
            format!("the styles folder {shown} does not exist")
        });
    }
    if let Err(e) = std::fs::read_dir(dir) {
        return Err(format!("cannot read the styles folder {shown}: {e}"));
    }
    let names = style_names(dir);
    if names.is_empty() {
        return Err(format!(
            "the styles folder {shown} holds no style (NAME.json); leave out --styles to serve \
             the built-in styles"
        ));
    }
    Ok(names)
}

/// The template of style `name` and where it came from (for error messages),
/// or `None` when there is no such style.
pub(crate) fn template(dir: &std::path::Path, name: &str) -> Option<(Cow<'static, str>, String)> {
    if embedded(dir) {
        EMBEDDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| (Cow::Borrowed(*text), format!("built-in style {n}")))
    } else {
        let path = dir.join(format!("{name}.json"));
        std::fs::read_to_string(&path)
            .ok()
            .map(|text| (Cow::Owned(text), path.display().to_string()))
    }
}

/// Point the style's chaski source at the served layers it uses and drop
/// style layers whose source-layer is not served.
pub fn fill_style(mut style: Value, catalog: &Catalog, base: &str) -> Value {
    let used: BTreeSet<String> = style["layers"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .filter_map(|l| l["source-layer"].as_str())
                .filter(|s| catalog.layers.contains_key(*s))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(layers) = style["layers"].as_array_mut() {
        layers.retain(|l| l["source-layer"].as_str().is_none_or(|s| used.contains(s)));
    }
    if style.get("center").is_none() {
        let mut b: Option<[f64; 4]> = None;
        for name in &used {
            if let Some(lb) = catalog.layers.get(name).and_then(|l| l.info.bounds) {
                b = Some(b.map_or(lb, |a| {
                    [
                        a[0].min(lb[0]),
                        a[1].min(lb[1]),
                        a[2].max(lb[2]),
                        a[3].max(lb[3]),
                    ]
                }));
            }
        }
        if let Some(b) = b {
            let span = (b[2] - b[0]).max((b[3] - b[1]) * 1.3).max(1e-4);
            let zoom = (360.0 / span).log2().clamp(0.0, 16.0).floor();
            style["center"] =
                serde_json::json!([f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3])]);
            style["zoom"] = Value::from(zoom);
        }
    }
    let joined = used.into_iter().collect::<Vec<_>>().join(",");
    if let Some(sources) = style["sources"].as_object_mut() {
        for src in sources.values_mut() {
            if src["url"].as_str() == Some("{{CHASKI_TILEJSON}}") {
                src["url"] = Value::from(format!(
                    "{base}/tiles/{joined}.json?v={}",
                    catalog.tiles_version
                ));
            }
        }
    }
    style
}

/// The style of a tile package (see [`crate::package`]): the template's
/// layers whose source-layer the package holds (`layers`), its chaski source
/// pointing at the archive through the `pmtiles://` protocol of the PMTiles
/// JavaScript library (`pmtiles://{archive}`, e.g. a file name beside the
/// style), and the map opening at `center` (longitude, latitude, zoom).
///
/// Text layers (symbol layers with a `text-field`, such as the cluster counts
/// of the default style) are dropped, with the `glyphs` and `sprite` URLs: a
/// package is read without a server, and MapLibre cannot draw text without
/// a glyph server. The circles they label stay, sized by `count`.
pub fn package_style(
    mut style: Value,
    layers: &[&str],
    archive: &str,
    center: (f64, f64, u8),
) -> Value {
    if let Some(list) = style["layers"].as_array_mut() {
        list.retain(|l| {
            let served = l["source-layer"]
                .as_str()
                .is_none_or(|s| layers.contains(&s));
            let text = l["layout"].get("text-field").is_some();
            served && !text
        });
    }
    if let Some(obj) = style.as_object_mut() {
        obj.remove("glyphs");
        obj.remove("sprite");
    }
    style["center"] = serde_json::json!([center.0, center.1]);
    style["zoom"] = Value::from(center.2);
    if let Some(sources) = style["sources"].as_object_mut() {
        for src in sources.values_mut() {
            if src["url"].as_str() == Some("{{CHASKI_TILEJSON}}") {
                src["url"] = Value::from(format!("pmtiles://{archive}"));
            }
        }
    }
    style
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn repo_styles() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../styles")
    }

    /// Every style of the repository's `styles/` folder is built in, unchanged.
    #[test]
    fn every_style_of_the_folder_is_built_in() {
        let names = style_names(&repo_styles());
        assert!(names.contains(&"default".to_owned()), "{names:?}");
        assert_eq!(style_names(std::path::Path::new("")), names);
        for name in &names {
            let file = std::fs::read_to_string(repo_styles().join(format!("{name}.json"))).unwrap();
            let (text, _) = template(std::path::Path::new(""), name)
                .unwrap_or_else(|| panic!("styles/{name}.json is not in styles::EMBEDDED"));
            assert_eq!(
                text, file,
                "the built-in {name} differs from styles/{name}.json"
            );
            let _: Value = serde_json::from_str(&file).unwrap();
        }
    }

    /// A package's style: only the packaged layers, no text (no glyphs
    /// offline), the source through `pmtiles://`.
    #[test]
    fn a_package_style_reads_the_archive_and_draws_no_text() {
        let template: Value = serde_json::from_str(EMBEDDED[0].1).unwrap();
        let style = package_style(
            template,
            &["communities", "facilities"],
            "demo.pmtiles",
            (-74.0, -13.0, 9),
        );
        assert_eq!(style["sources"]["chaski"]["url"], "pmtiles://demo.pmtiles");
        assert!(style.get("glyphs").is_none());
        let layers = style["layers"].as_array().unwrap();
        assert!(layers.iter().any(|l| l["id"] == "facility-clusters"));
        for l in layers {
            assert!(l["layout"].get("text-field").is_none(), "{l}");
            if let Some(s) = l["source-layer"].as_str() {
                assert!(s == "communities" || s == "facilities", "{s}");
            }
        }
        assert_eq!(style["zoom"], 9);
    }

    #[test]
    fn a_styles_folder_must_exist_and_hold_styles() {
        let dir = std::env::temp_dir().join(format!("chaski-styles-test-{}", std::process::id()));
        let missing = dir.join("nope");
        let e = check_dir(&missing).unwrap_err();
        assert!(e.contains("does not exist") && e.contains("nope"), "{e}");
        std::fs::create_dir_all(&dir).unwrap();
        let e = check_dir(&dir).unwrap_err();
        assert!(
            e.contains("holds no style") && e.contains(&dir.display().to_string()),
            "{e}"
        );
        std::fs::write(dir.join("notes.txt"), "x").unwrap();
        assert!(check_dir(&dir).is_err());
        std::fs::write(dir.join("mine.json"), "{}").unwrap();
        assert_eq!(check_dir(&dir).unwrap(), ["mine"]);
        let e = check_dir(&dir.join("mine.json")).unwrap_err();
        assert!(e.contains("not a folder"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
