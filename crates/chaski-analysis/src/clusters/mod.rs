//! Clusters of at-risk households from a household layer: Kulldorff's
//! spatial scan (Bernoulli, [`scan`]), DBSCAN ([`dbscan`]) or Getis–Ord Gi*
//! hot spots ([`gistar`]), as rows ready to print, write or serve (used by
//! `chaski clusters` and `GET /api/clusters`).
//!
//! **Cases** are the households whose chosen flags hold ([`flags`]): any flag
//! by default, every flag with [`ClusterOptions::all`]. Flags may name only the
//! [risk fields](chaski_core::household::RISK_FIELDS) of the layer: a
//! predicate on a code, a place or a date would single out households.
//! Coordinates are projected to the UTM zone of the layer
//! ([`Projections::for_bounds`](chaski_core::crs::Projections::for_bounds))
//! and all distances are in metres ([`run`]).
//!
//! **Privacy.** Household layers are private. A cluster's centre is the mean of
//! its member households, never one household's location; a cluster (or Gi*
//! cell / community) with fewer than [`MIN_GROUP`] households or fewer than
//! [`MIN_GROUP`] cases is reported only as `<5` with its centre rounded to
//! 0.01°, no statistic and no polygon ([`rows`]). Member household codes are
//! filled in only with [`ClusterOptions::with_members`].
//!
//! The modules, in the order a request goes through them: [`options`] and
//! [`flags`] (what is asked), [`run`] (detection), [`rows`] (what is shown);
//! errors in [`error`].

pub mod dbscan;
pub mod gistar;
pub mod scan;

pub mod error;
pub mod flags;
pub mod options;
pub mod rows;
pub mod run;

#[cfg(test)]
mod tests;

pub use error::ClustersError;
pub use flags::{fields_used, needed_fields};
pub use options::{By, ClusterOptions, GiValue, Method};
pub use rows::{
    ClusterRow, Clusters, HEADER, MIN_GROUP, bernoulli_stats, cells, feature, feature_collection,
    properties, shown_polygon,
};
pub use run::find_clusters;
