//! The API description: `GET /openapi.json` (OpenAPI 3.1, generated with
//! utoipa from the `#[utoipa::path]` annotations next to each handler and the
//! types they answer) and `GET /api`, a page of our own that presents it
//! (served by chaski, no CDN: the server works offline).
//!
//! Query parameters are documented by the parsers' own modules
//! ([`crate::params::doc`] and the route modules): their names are the
//! parsers' lists, and the words of each closed vocabulary are checked by the
//! tests below against that vocabulary's one parser. Every route of
//! [`crate::app`] is in the document (a test reads the router's routes).
//!
//! What every operation may answer besides its own responses is added here:
//! 500 (an internal failure, without detail) and 503 (the request took longer
//! than the server's time limit).

use crate::error::ErrorBody;
use crate::error::answers::{
    BadRequest, Forbidden, Internal, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    Unavailable, Unprocessable,
};
use crate::routes;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::LazyLock;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};

/// The OpenAPI document of every route of [`crate::app`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "chaski",
        description = "Geospatial analysis and vector tiles for rural community-health planning: \
            tiles, TileJSON and styles of the public layers, travel time to care, what-if edits, \
            the siting of maternity waiting homes, district reports, monitoring indicators, and \
            household data behind bearer tokens (`chaski tokens create`). Errors are JSON \
            `{\"error\": ..., \"status\": ...}`: 4xx name the problem, 5xx are logged and hidden.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        document,
        page,
        crate::ready,
        crate::metrics::endpoint,
        routes::viewer::index,
        routes::viewer::asset,
        routes::catalog::catalog,
        routes::styles::style,
        routes::tiles::tilejson,
        routes::tiles::tile,
        routes::archives::tilejson,
        routes::archives::tile,
        routes::accessibility::accessibility,
        routes::accessibility::underserved,
        routes::accessibility::catchments,
        routes::whatif::create,
        routes::whatif::summary,
        routes::whatif::delete,
        routes::whatif::tilejson,
        routes::whatif::tile,
        routes::siting::siting,
        routes::households::list,
        routes::households::upload,
        routes::households::delete,
        routes::households::summary,
        routes::clusters::clusters,
        routes::maps::pdf,
        routes::maps::png,
        routes::report::report,
        routes::monitoring::indicators_table,
        routes::monitoring::did_table,
        routes::monitoring::visits_due,
        routes::monitoring::indicator_tile,
        routes::monitoring::indicator_tilejson,
    ),
    components(
        schemas(ErrorBody),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            PayloadTooLarge,
            Unprocessable,
            TooManyRequests,
            Internal,
            Unavailable
        ),
    ),
    modifiers(&Common),
    tags(
        (name = "server", description = "The server itself and this description."),
        (name = "viewer", description = "The offline web viewer."),
        (name = "catalog", description = "What is served: layers, styles, archives."),
        (name = "tiles", description = "Vector tiles and TileJSON of the public layers and PMTiles archives."),
        (name = "accessibility", description = "Travel time to care."),
        (name = "what-if", description = "Edits that do not exist yet, and what they would change."),
        (name = "siting", description = "Where to open maternity waiting homes."),
        (name = "reports", description = "District reports."),
        (name = "monitoring", description = "Indicators over time, difference in differences, visits due."),
        (name = "households", description = "Household records (private) and their public aggregates."),
        (name = "clusters", description = "Clusters of at-risk households."),
        (name = "maps", description = "Printed risk maps."),
    ),
)]
pub struct ApiDoc;

/// What the derive cannot say: the bearer scheme, `GET /health` (routed by
/// [`crate::app`] itself), and the answers every operation may give.
struct Common;

impl utoipa::Modify for Common {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token of `chaski tokens create` (roles public, analyst, cha, facility, \
                         admin). A malformed, unknown or revoked token is 401 where a token is read \
                         for household data, and served as no token elsewhere.",
                    ))
                    .build(),
            ),
        );
        let status = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["ok"]));
        let health = OperationBuilder::new()
            .tag("server")
            .summary(Some("Liveness"))
            .description(Some("Answers while the server runs."))
            .operation_id(Some("health"))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The server runs.")
                    .content(
                        "application/json",
                        Content::new(Some(
                            ObjectBuilder::new()
                                .property("status", status)
                                .required("status"),
                        )),
                    ),
            )
            .build();
        doc.paths
            .add_path_operation("/health", vec![HttpMethod::Get], health);
        for item in doc.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                for (status, name) in [("500", "Internal"), ("503", "Unavailable")] {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                }
            }
        }
    }
}

/// The document, built once.
static DOCUMENT: LazyLock<Value> =
    LazyLock::new(|| serde_json::to_value(ApiDoc::openapi()).unwrap_or_default());

/// The document as this server answers it: the zoom bound of tile URLs is
/// the server's maximum zoom.
pub fn document_for(state: &AppState) -> Value {
    let mut doc = DOCUMENT.clone();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in item.values_mut() {
                let params = op.get_mut("parameters").and_then(Value::as_array_mut);
                for p in params.into_iter().flatten() {
                    if p["name"] == "z" && p["in"] == "path" {
                        p["schema"]["maximum"] = Value::from(state.config.max_zoom);
                    }
                }
            }
        }
    }
    doc
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "server",
    summary = "This API description",
    description = "The OpenAPI 3.1 description of every endpoint of this server.",
    responses((status = 200, description = "The OpenAPI document.", body = Object)),
)]
pub async fn document(State(state): State<AppState>) -> Response {
    let mut res = axum::Json(document_for(&state)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

const PAGE_HTML: &str = include_str!("../assets/api.html");

/// `GET /api`.
#[utoipa::path(
    get,
    path = "/api",
    operation_id = "api_page",
    tag = "server",
    summary = "The API page",
    description = "A page that presents `/openapi.json`: every operation with its parameters, \
        body and answers (no CDN: it works offline).",
    responses((status = 200, description = "The page.", content_type = "text/html", body = String)),
)]
pub async fn page() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        PAGE_HTML,
    )
        .into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::params::doc::{self as pd, Words};
    use std::collections::BTreeSet;

    /// Every closed vocabulary the description lists, with its parser.
    fn vocabularies() -> Vec<(&'static str, Words)> {
        vec![
            ("preset", pd::PRESET),
            ("birth_care", pd::BIRTH_CARE),
            ("direction", pd::DIRECTION),
            ("moves", pd::MOVES),
            ("outside", pd::OUTSIDE),
            ("cluster method", pd::CLUSTER_METHOD),
            ("cluster by", pd::CLUSTER_BY),
            ("cluster value", pd::CLUSTER_VALUE),
            ("on_error", pd::ON_ERROR),
            ("summary by", pd::SUMMARY_BY),
            ("viewer file", routes::viewer::FILE_WORDS),
            ("edit", crate::edits::EDIT_KINDS),
            ("path class", crate::edits::PATH_CLASSES_WORDS),
            ("facility birth_care", crate::edits::FACILITY_BIRTH_CARE),
            ("map size", routes::maps::words::SIZE),
            ("map orientation", routes::maps::words::ORIENTATION),
            ("map lang", routes::maps::words::LANG),
            ("report format", routes::report::words::FORMAT),
            ("report lang", routes::report::words::LANG),
            ("indicators by", routes::monitoring::words::BY),
            ("indicators period", routes::monitoring::words::PERIOD),
            ("indicators format", routes::monitoring::words::FORMAT),
            ("siting model", routes::siting::words::MODEL),
            ("siting candidates", routes::siting::words::CANDIDATES),
        ]
    }

    /// Every `enum` of string words anywhere in `v`, with where it is.
    fn enums(v: &Value, at: &str, out: &mut Vec<(String, Vec<String>)>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::Array(words)) = o.get("enum") {
                    let words: Vec<String> = words
                        .iter()
                        .filter_map(|w| w.as_str().map(str::to_owned))
                        .collect();
                    out.push((at.to_owned(), words));
                }
                for (k, x) in o {
                    enums(x, &format!("{at}/{k}"), out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    enums(x, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_documented_word_is_accepted_by_its_parser() {
        let vocabularies = vocabularies();
        for (name, v) in &vocabularies {
            for w in v.words {
                assert!((v.accepts)(w), "{name}: '{w}' is refused by its parser");
            }
            assert!(
                !(v.accepts)("no-such-word"),
                "{name}: its parser accepts anything"
            );
        }
        // Every enum of the document is one of these vocabularies (or a constant).
        let mut found = Vec::new();
        enums(
            &serde_json::to_value(ApiDoc::openapi()).unwrap(),
            "",
            &mut found,
        );
        assert!(found.len() > 20, "{found:?}");
        for (at, words) in found {
            let known = vocabularies
                .iter()
                .any(|(_, v)| v.words.iter().copied().eq(words.iter().map(String::as_str)));
            let constant = words == ["ok"] || words == ["Bearer"];
            assert!(
                known || constant,
                "{at}: {words:?} is no checked vocabulary"
            );
        }
    }

    #[test]
    fn closed_vocabularies_are_complete() {
        use chaski_analysis::travel::vocab::Preset;
        let presets: BTreeSet<String> = pd::PRESET
            .words
            .iter()
            .map(|w| w.parse::<Preset>().unwrap().name().to_owned())
            .collect();
        let all: BTreeSet<String> = Preset::ALL.iter().map(|p| p.name().to_owned()).collect();
        assert_eq!(presets, all);
        let formats: BTreeSet<&str> = chaski_analysis::report::Format::ALL
            .iter()
            .map(|f| f.as_str())
            .collect();
        assert_eq!(
            formats,
            routes::report::words::FORMAT
                .words
                .iter()
                .copied()
                .collect()
        );
        let files: BTreeSet<&str> = routes::viewer::FILES.iter().map(|f| f.0).collect();
        assert_eq!(files, routes::viewer::FILE_NAMES.into_iter().collect());
    }

    /// The documented names of the query parameters of the operation.
    fn query_names(doc: &Value, path: &str, method: &str) -> BTreeSet<String> {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path}: no parameters"))
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn documented_parameters_are_the_parsers_lists() {
        use crate::params::{LIST_PARAMS, RUN_PARAMS, WHATIF_RUN_QUERY};
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut underserved = names(&RUN_PARAMS);
        underserved.extend(names(&LIST_PARAMS));
        underserved.extend(names(&["minutes", "whatif", "outside"]));
        assert_eq!(
            query_names(&doc, "/api/villages/underserved", "get"),
            underserved
        );
        let mut accessibility = names(&RUN_PARAMS);
        accessibility.extend(names(&["lon", "lat", "whatif"]));
        assert_eq!(
            query_names(&doc, "/api/accessibility", "get"),
            accessibility
        );
        let mut whatif = names(&WHATIF_RUN_QUERY);
        whatif.extend(names(&LIST_PARAMS));
        assert_eq!(query_names(&doc, "/api/whatif", "post"), whatif);
        assert_eq!(
            query_names(&doc, "/api/whatif/{id}", "get"),
            names(&LIST_PARAMS)
        );
        assert_eq!(
            query_names(&doc, "/api/catchments", "post"),
            names(&crate::params::CATCHMENTS_PARAMS)
        );
        // Every documented cluster parameter is read by the cluster parser
        // (a bad value is refused naming it, not as an unknown parameter).
        for name in query_names(&doc, "/api/clusters", "get") {
            let q = vec![
                ("flags".to_owned(), "anaemia".to_owned()),
                (name.clone(), "-x-".to_owned()),
            ];
            match crate::params::ClusterRequest::parse(&q) {
                Ok(_) => assert!(["flags", "layer"].contains(&name.as_str()), "{name}"),
                Err(e) => {
                    let e = e.to_string();
                    assert!(!e.contains("unknown"), "{name}: {e}");
                }
            }
        }
    }

    /// `(method, path)` of every `.route(...)` of the router (`lib.rs`).
    fn router_routes() -> BTreeSet<(String, String)> {
        let src = include_str!("lib.rs");
        let mut out = BTreeSet::new();
        let mut rest = src;
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            let open = rest.find('"').unwrap();
            let close = open + 1 + rest[open + 1..].find('"').unwrap();
            let path = rest[open + 1..close].to_owned();
            // The call's text, up to its closing parenthesis.
            let mut depth = 1;
            let mut end = 0;
            for (j, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = j;
                    break;
                }
            }
            let call = &rest[..end];
            for method in ["get", "post", "delete"] {
                let word = format!("{method}(");
                let found = call
                    .match_indices(&word)
                    .any(|(k, _)| k == 0 || !call.as_bytes()[k - 1].is_ascii_alphanumeric());
                if found {
                    out.insert((method.to_owned(), path.clone()));
                }
            }
        }
        out
    }

    /// Whether the router's `pattern` routes the documented `path`.
    fn routes_to(pattern: &str, path: &str) -> bool {
        let (a, b): (Vec<&str>, Vec<&str>) =
            (pattern.split('/').collect(), path.split('/').collect());
        a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|(r, d)| (r.starts_with('{') && r.ends_with('}') && !d.is_empty()) || r == d)
    }

    #[test]
    fn every_route_of_the_router_is_described() {
        let routes = router_routes();
        assert!(routes.len() > 25, "{routes:?}");
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.clone(), path.clone()));
            }
        }
        for (method, pattern) in &routes {
            assert!(
                documented
                    .iter()
                    .any(|(m, p)| m == method && routes_to(pattern, p)),
                "{method} {pattern} is routed but not described"
            );
        }
        for (method, path) in &documented {
            assert!(
                routes
                    .iter()
                    .any(|(m, r)| m == method && routes_to(r, path)),
                "{method} {path} is described but not routed"
            );
        }
    }

    /// Every `$ref` in `v`.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    out.push(r.clone());
                }
                o.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_and_every_reference_resolves() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let target = r
                .strip_prefix("#/")
                .unwrap()
                .split('/')
                .fold(&doc, |v, k| &v[k]);
            assert!(!target.is_null(), "{r} does not resolve");
        }
        // Every operation has an id, a tag, and the answers every operation may give.
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert!(op["operationId"].is_string(), "{method} {path}");
                assert!(op["tags"][0].is_string(), "{method} {path}");
                for status in ["500", "503"] {
                    assert!(
                        !op["responses"][status].is_null(),
                        "{method} {path} {status}"
                    );
                }
            }
        }
        let ids: BTreeSet<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|i| i.as_object().unwrap().values())
            .map(|op| op["operationId"].as_str().unwrap())
            .collect();
        let count = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|i| i.as_object().unwrap().len())
            .sum::<usize>();
        assert_eq!(ids.len(), count, "operation ids are not unique: {ids:?}");
    }
}
