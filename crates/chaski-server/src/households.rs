//! Household data behind access control.
//!
//! * `GET /api/households`: household records as GeoJSON. Admins see every
//!   household, a CHA token the households of its sector, a facility token
//!   those of its RENIPRESS code; public and analyst callers get 403 (analysts
//!   work with clusters and aggregates). `violence_risk` is removed unless the token holds the
//!   violence grant. Every answer is written to the token store's access log
//!   and to `tracing` (token id, endpoint, count; never the secret) before it
//!   is sent: if the log cannot be written, nothing is sent.
//! * `GET /api/households/summary?by=community`: public aggregates, household
//!   counts per community with counts under [`MIN_CELL`] suppressed (`null`,
//!   `suppressed: true`).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chaski_core::auth::{Role, Visibility};
use chaski_core::layer::Layer;
use chaski_core::store::Store;
use chaski_core::value::Value as FieldValue;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Smallest count shown in public aggregates; smaller ones are suppressed.
pub const MIN_CELL: u64 = 5;

const LIST_ENDPOINT: &str = "/api/households";

/// Every household layer of the store.
fn household_layers(store: &dyn Store) -> Result<Vec<Layer>, ApiError> {
    let mut out = Vec::new();
    for info in store.layers()? {
        if info.kind.is_private() {
            out.push(store.read_layer(&info.name)?);
        }
    }
    Ok(out)
}

fn feature_json(layer: &Layer, f: &chaski_core::layer::Feature) -> Value {
    let mut props = Map::new();
    props.insert("layer".into(), Value::String(layer.name.clone()));
    for (field, v) in layer.fields.iter().zip(&f.values) {
        let v = match v {
            FieldValue::Real(x) if !x.is_finite() => Value::Null,
            other => serde_json::to_value(other).unwrap_or(Value::Null),
        };
        props.insert(field.name.clone(), v);
    }
    let geometry = serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(
        &f.geometry,
    )))
    .unwrap_or(Value::Null);
    json!({ "type": "Feature", "id": f.fid, "geometry": geometry, "properties": props })
}

/// `GET /api/households`: the household records the caller may see.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    match caller.role() {
        Role::Public => {
            return Err(ApiError::Forbidden(
                "household records are private: only aggregates are public \
                 (see /api/households/summary?by=community)"
                    .into(),
            ));
        }
        Role::Analyst => {
            return Err(ApiError::Forbidden(
                "the analyst role sees clusters (/api/clusters) and aggregates \
                 (/api/households/summary), not household records"
                    .into(),
            ));
        }
        Role::Cha | Role::Facility | Role::Admin => {}
    }
    let st = state.clone();
    let access = caller.access.clone();
    let token_id = caller.token_id().map(str::to_owned);
    let role = caller.role();
    let (body, count) = tokio::task::spawn_blocking(move || -> Result<(Value, u64), ApiError> {
        let mut features = Vec::new();
        let stripped = Visibility::new(
            &access,
            &Layer::new("households", chaski_core::LayerKind::Households),
        )
        .stripped_fields();
        for layer in household_layers(st.store.as_ref())? {
            let vis = Visibility::new(&access, &layer);
            let mut seen = vis.apply(&layer);
            // By code, then submission and visit: the order tells nothing of
            // when records of other scopes were written.
            let key = |l: &Layer, f: &chaski_core::layer::Feature| {
                ["code", "submission_uuid", "visit_date"]
                    .map(|n| l.value(f, n).to_string())
                    .join("\u{0}")
            };
            let shape = Layer::new(&seen.name, seen.kind);
            let shape = Layer {
                fields: seen.fields.clone(),
                ..shape
            };
            seen.features.sort_by_cached_key(|f| key(&shape, f));
            for (fid, f) in (1..).zip(seen.features.iter_mut()) {
                f.fid = fid;
            }
            features.extend(seen.features.iter().map(|f| feature_json(&seen, f)));
        }
        let count = features.len() as u64;
        // Log before answering: an unlogged release of household data must not happen.
        if let Some(tokens) = &st.tokens {
            tokens
                .log_access(token_id.as_deref(), LIST_ENDPOINT, count)
                .map_err(ApiError::internal)?;
        }
        let body = json!({
            "type": "FeatureCollection",
            "count": count,
            "stripped_fields": stripped,
            "features": features,
        });
        Ok((body, count))
    })
    .await
    .map_err(ApiError::internal)??;
    tracing::info!(
        token_id = caller.token_id().unwrap_or("-"),
        role = %role,
        endpoint = LIST_ENDPOINT,
        count,
        "household records served"
    );
    Ok(Json(body))
}

/// `GET /api/households/summary?by=community`: household counts per community
/// (and an `unknown` group), public, protected with
/// [`chaski_core::disclosure`]: counts under [`MIN_CELL`] suppressed; a
/// community suppressed too when some CHA sector or some facility holds all
/// but 1 to 4 of its households (the contributor rule); then complementary
/// suppression across the communities, so that with the total known no
/// suppressed count can be recovered by subtraction; shown counts rounded to
/// 5. Suppressed groups are `households: null, suppressed: true`, whatever
/// the reason. Read from the store's committed data. A wrong or revoked token
/// is answered exactly as no token.
pub async fn summary(
    State(state): State<AppState>,
    crate::auth::OptionalCaller(caller): crate::auth::OptionalCaller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    use chaski_core::disclosure::{ROUND_TO, Shown, contributor_discloses, protect_table_with};

    /// Households of one community: all, by CHA sector, by facility.
    #[derive(Default)]
    struct Cell {
        total: u64,
        sectors: BTreeMap<Option<String>, u64>,
        facilities: BTreeMap<Option<String>, u64>,
    }

    let Query(params) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
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
    let st = state.clone();
    let groups = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, ApiError> {
        let mut cells: BTreeMap<String, Cell> = BTreeMap::new();
        for layer in household_layers(st.store.as_ref())? {
            let idx = |name: &str| layer.field_index(name);
            let (community, sector, facility) =
                (idx("community"), idx("cha_sector"), idx("facility"));
            let text = |f: &chaski_core::layer::Feature, i: Option<usize>| match i
                .and_then(|i| f.values.get(i))
            {
                Some(FieldValue::Text(t)) if !t.trim().is_empty() => Some(t.trim().to_owned()),
                _ => None,
            };
            for f in &layer.features {
                let key = text(f, community).unwrap_or_else(|| "unknown".to_owned());
                let cell = cells.entry(key).or_default();
                cell.total += 1;
                *cell.sectors.entry(text(f, sector)).or_default() += 1;
                *cell.facilities.entry(text(f, facility)).or_default() += 1;
            }
        }
        let cells: Vec<(String, Cell)> = cells.into_iter().collect();
        let counts: Vec<u64> = cells.iter().map(|(_, c)| c.total).collect();
        let protected = protect_table_with(&counts, |i| {
            let c = &cells[i].1;
            contributor_discloses(c.total, c.sectors.values().copied())
                || contributor_discloses(c.total, c.facilities.values().copied())
        });
        Ok(cells
            .iter()
            .zip(protected.shown())
            .map(|((community, _), shown)| {
                json!({
                    "community": community,
                    "households": shown.value(),
                    "suppressed": shown == Shown::Suppressed,
                })
            })
            .collect())
    })
    .await
    .map_err(ApiError::internal)??;
    tracing::debug!(
        token_id = caller.token_id().unwrap_or("-"),
        groups = groups.len(),
        "household summary served"
    );
    Ok(Json(json!({
        "by": "community",
        "min_cell": MIN_CELL,
        "rounded_to": ROUND_TO,
        "groups": groups,
    })))
}
