//! The handlers, one module per route family. They read the request through
//! [`crate::params`] and [`crate::auth`], work through the state's caches
//! ([`crate::state`]) and the one cached tile render ([`crate::render`]), and
//! answer JSON, tiles or [`crate::error::ApiError`]. No route module is
//! imported by anything below it; [`crate::app`] wires them.
//!
//! | module | endpoints |
//! |---|---|
//! | [`catalog`] | `GET /catalog` |
//! | [`tiles`] | `GET /tiles/{layers}.json`, `GET /tiles/{layers}/{z}/{x}/{y}` |
//! | [`archives`] | `GET /archives/{name}.json`, `GET /archives/{name}/{z}/{x}/{y}` (PMTiles given to `chaski serve --pmtiles`) |
//! | [`styles`] | `GET /styles/{name}.json` |
//! | [`viewer`] | `GET /`, `GET /viewer/{file}` |
//! | [`accessibility`] | `GET /api/accessibility`, `GET /api/villages/underserved`, `POST /api/catchments` |
//! | [`whatif`] | `POST /api/whatif`, `GET`/`DELETE /api/whatif/{id}`, `GET /whatif/{id}/tiles/…` |
//! | [`households`] | `GET`/`POST /api/households`, `DELETE /api/households/{code}`, `GET /api/households/summary` |
//! | [`clusters`] | `GET /api/clusters` |
//! | [`report`] | `GET /api/districts/{code}/report` |
//! | [`maps`] | `GET /maps/risk.pdf`, `GET /maps/risk.png` |
//! | [`monitoring`] | `GET /api/indicators`, `GET /api/did`, `GET /api/visits/due` |
//! | [`siting`] | `POST /api/siting` |
//!
//! Each handler carries its `#[utoipa::path]` annotation; [`crate::openapi`]
//! assembles them into `GET /openapi.json`.

pub mod accessibility;
pub mod archives;
pub mod catalog;
pub mod clusters;
pub mod households;
pub mod maps;
pub mod monitoring;
pub mod report;
pub mod shared;
pub mod siting;
pub mod styles;
pub mod tiles;
pub mod viewer;
pub mod whatif;
