//! The column plan: what each source column feeds in the layer.

/// Where a source column's values go.
pub(super) enum Target {
    Core(usize),
    Extra(usize),
    Skip,
}
