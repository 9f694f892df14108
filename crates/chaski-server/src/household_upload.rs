//! `POST /api/households`: upload household records.
//!
//! The body is a CSV export of ODK Central or KoBoToolbox (`Content-Type:
//! text/csv`; `,` or `;` delimited, columns recognised as in `chaski import`,
//! see `chaski_io::households`) or GeoJSON points (`application/geo+json` or
//! `application/json`). Query parameters: `layer` (default `households`; other
//! layers for admin tokens only) and `on_error=reject|skip`.
//!
//! * No token or a wrong/revoked token: `401`. Public (no token) and analyst
//!   callers: `403` (analysts read, they do not write).
//! * Admin tokens upload any rows; a CHA token only rows of its own sector
//!   (`cha_sector`), a facility token only rows of its RENIPRESS code
//!   (`facility`); otherwise `403` naming the rows, and nothing is written.
//! * Every row is validated as on import. By default the upload is atomic:
//!   any rejected row gives `422` with every row error (`row`, `field`,
//!   `reason`) and nothing is written. With `on_error=skip` the valid rows are
//!   stored and the rejected ones listed.
//! * Rows are upserted: a re-uploaded submission (same `submission_uuid`, else
//!   same `code`) updates its record instead of adding one.
//! * The answer (`201` when a record was inserted, else `200`; body
//!   `{layer, inserted, updated, rejected, warnings, version}`) is sent only
//!   after the store write has returned (committed and durable), the upload is
//!   in the access log (token id, endpoint, row count; never the body) and the
//!   catalog has moved to the new data version (tiles and aggregates refresh).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chaski_core::access_control::Role;
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::store::{StoreError, WriteMode};
use chaski_core::value::Value as FieldValue;
use chaski_io::households::KnownCodes;
use chaski_io::import::{Action, ImportOptions, ImportReport, Issue, build_layer};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;

/// The endpoint, as written to the access log.
pub const ENDPOINT: &str = "POST /api/households";

/// Largest accepted body (bytes).
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// What the body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    GeoJson,
}

fn body_format(headers: &HeaderMap, body: &[u8]) -> Result<Format, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match ct.as_deref() {
        Some("text/csv" | "application/csv" | "text/comma-separated-values") => Ok(Format::Csv),
        Some("application/geo+json" | "application/json") => Ok(Format::GeoJson),
        None | Some("") => {
            // No type given: GeoJSON starts with '{'.
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            Ok(if first == Some(&b'{') {
                Format::GeoJson
            } else {
                Format::Csv
            })
        }
        Some(other) => Err(ApiError::BadRequest(format!(
            "unsupported Content-Type '{other}': send text/csv (an ODK Central or KoBoToolbox \
             export) or application/geo+json"
        ))),
    }
}

fn issue_json(i: &Issue) -> Value {
    json!({ "row": i.row, "field": i.field, "reason": i.reason })
}

fn issues_json(report: &ImportReport, action: Action) -> Vec<Value> {
    report
        .issues
        .iter()
        .filter(|i| i.action == action)
        .map(issue_json)
        .collect()
}

/// Row numbers written as `2, 5 and 9`.
fn row_list(rows: &[usize]) -> String {
    let mut s = String::new();
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            s.push_str(if i + 1 == rows.len() { " and " } else { ", " });
        }
        let _ = write!(s, "{r}");
    }
    s
}

/// Rows a scoped caller may not write (rows outside its sector or facility).
fn out_of_scope(caller: &Caller, layer: &Layer, report: &ImportReport) -> Option<String> {
    let (field, what) = match caller.role() {
        Role::Cha => ("cha_sector", "CHA sector"),
        Role::Facility => ("facility", "facility"),
        _ => return None,
    };
    let scope = caller.access.scope.as_deref().unwrap_or("");
    let idx = layer.field_index(field);
    let rows: Vec<usize> = layer
        .features
        .iter()
        .zip(&report.feature_rows)
        .filter(|(f, _)| {
            !matches!(idx.and_then(|i| f.values.get(i)),
                Some(FieldValue::Text(v)) if v.trim() == scope)
        })
        .map(|(_, &row)| row)
        .collect();
    (!rows.is_empty()).then(|| {
        format!(
            "{} {} {} not in your {what} '{scope}' ({field}): a {} token uploads only its own \
             households; nothing was written",
            report.row_label.to_owned() + if rows.len() > 1 { "s" } else { "" },
            row_list(&rows),
            if rows.len() > 1 { "are" } else { "is" },
            caller.role(),
        )
    })
}

/// What the blocking part decided.
enum Outcome {
    /// Written (or nothing to write with `on_error=skip`).
    Done(Value, bool),
    /// Rejected rows in an atomic upload.
    Invalid(Value),
}

/// `POST /api/households`: validate and upsert household records (see the module docs).
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if caller.token.is_none() {
        return Err(ApiError::Unauthorized(
            "uploading household records needs a bearer token (admin, cha or facility)".into(),
        ));
    }
    match caller.role() {
        Role::Admin | Role::Cha | Role::Facility => {}
        role => {
            return Err(ApiError::Forbidden(format!(
                "a {role} token cannot upload household records (admin, cha or facility only)"
            )));
        }
    }
    let Query(params) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut skip = false;
    let mut layer_name = "households".to_owned();
    for (k, v) in params {
        match (k.as_str(), v.as_str()) {
            ("on_error", "skip") => skip = true,
            ("on_error", "reject") => skip = false,
            ("on_error", other) => {
                return Err(ApiError::BadRequest(format!(
                    "on_error={other}: expected reject (the default: nothing is written if a row \
                     is invalid) or skip"
                )));
            }
            ("layer", name) => name.clone_into(&mut layer_name),
            (other, _) => {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter '{other}': expected layer or on_error"
                )));
            }
        }
    }
    chaski_core::store::check_name(&layer_name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if layer_name != "households" && caller.role() != Role::Admin {
        return Err(ApiError::Forbidden(format!(
            "only admin tokens choose the layer: a {} token uploads to 'households'",
            caller.role()
        )));
    }
    let format = body_format(&headers, &body)?;
    let st = state.clone();
    let who = caller.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<Outcome, ApiError> {
        process(&st, &who, &layer_name, format, &body, skip)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(match outcome {
        Outcome::Done(body, inserted) => {
            let status = if inserted {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(body)).into_response()
        }
        Outcome::Invalid(body) => (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response(),
    })
}

/// Parse, validate, check scope, write, log and refresh. Blocking.
fn process(
    state: &AppState,
    caller: &Caller,
    layer_name: &str,
    format: Format,
    body: &[u8],
    skip: bool,
) -> Result<Outcome, ApiError> {
    let store = state.store.as_ref();
    match store.layer_info(layer_name) {
        Ok(info) if info.kind != LayerKind::Households => {
            return Err(ApiError::BadRequest(format!(
                "layer '{layer_name}' holds {}, not households",
                info.kind
            )));
        }
        Ok(_) | Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("body is not UTF-8: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (table, path) = match format {
        Format::Csv => {
            let path = Path::new("upload.csv");
            let t = chaski_io::csv::read_csv_str(text, path, None)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            (t, path)
        }
        Format::GeoJson => {
            let path = Path::new("upload.geojson");
            let t = chaski_io::households::read_geojson_str(text, path)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            (t, path)
        }
    };
    let mut opts = ImportOptions::new(layer_name);
    opts.kind = Some(LayerKind::Households);
    opts.known_codes = Some(KnownCodes::from_store(store)?);
    let (layer, report) =
        build_layer(table, path, &opts).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if let Some(message) = out_of_scope(caller, &layer, &report) {
        return Err(ApiError::Forbidden(message));
    }
    let rejected = issues_json(&report, Action::Rejected);
    let mut warnings = issues_json(&report, Action::Warning);
    warnings.extend(issues_json(&report, Action::Repaired));
    if !rejected.is_empty() && !skip {
        return Ok(Outcome::Invalid(json!({
            "error": format!(
                "{} of {} {}s are invalid: nothing was written (fix them, or send \
                 ?on_error=skip to store the valid ones)",
                rejected.len(), report.read, report.row_label
            ),
            "status": 422,
            "rejected": rejected,
            "warnings": warnings,
        })));
    }
    if layer.is_empty() && rejected.is_empty() {
        return Err(ApiError::BadRequest(
            "the body holds no household rows".into(),
        ));
    }
    let (inserted, updated, version) = if layer.is_empty() {
        (0, 0, store.version()?)
    } else {
        let w = store
            .write_layer(&layer, WriteMode::Upsert)
            .map_err(|e| match e {
                StoreError::Conflict { .. } => ApiError::Unprocessable(e.to_string()),
                other => other.into(),
            })?;
        (w.inserted, w.updated, w.version)
    };
    let count = (inserted + updated) as u64;
    if let Some(tokens) = &state.tokens {
        tokens
            .log_access(caller.token_id(), ENDPOINT, count)
            .map_err(ApiError::internal)?;
    }
    tracing::info!(
        token_id = caller.token_id().unwrap_or("-"),
        role = %caller.role(),
        endpoint = ENDPOINT,
        inserted,
        updated,
        rejected = rejected.len(),
        "household records uploaded"
    );
    // New data version: rebuild the catalog now so tiles and aggregates refresh.
    if let Err(e) = state.refresh() {
        tracing::warn!(error = %e, "catalog refresh after a household upload failed");
    }
    Ok(Outcome::Done(
        json!({
            "layer": layer_name,
            "inserted": inserted,
            "updated": updated,
            "rejected": rejected,
            "warnings": warnings,
            "version": version,
        }),
        inserted > 0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_lists_read_naturally() {
        assert_eq!(row_list(&[2]), "2");
        assert_eq!(row_list(&[2, 5]), "2 and 5");
        assert_eq!(row_list(&[2, 5, 9]), "2, 5 and 9");
    }

    #[test]
    fn content_types() {
        let mut h = HeaderMap::new();
        assert_eq!(body_format(&h, b" {\"type\"").unwrap(), Format::GeoJson);
        assert_eq!(body_format(&h, b"a,b").unwrap(), Format::Csv);
        h.insert(
            header::CONTENT_TYPE,
            "text/csv; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(body_format(&h, b"{").unwrap(), Format::Csv);
        h.insert(
            header::CONTENT_TYPE,
            "application/geo+json".parse().unwrap(),
        );
        assert_eq!(body_format(&h, b"a").unwrap(), Format::GeoJson);
        h.insert(header::CONTENT_TYPE, "image/png".parse().unwrap());
        assert!(body_format(&h, b"a").is_err());
    }
}
