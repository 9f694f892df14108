//! Clusters of at-risk households: Kulldorff's spatial scan ([`scan`]),
//! DBSCAN ([`dbscan`]) and Getis–Ord Gi* hot spots ([`gistar`]), and the
//! pipeline that runs them on a household layer with the disclosure rules of
//! private data ([`pipeline`], re-exported here).

pub mod dbscan;
pub mod gistar;
pub mod pipeline;
pub mod scan;

pub use pipeline::*;
