//! Deterministic instances: the engine's generator, shared with its own
//! tests and the benchmarks.

pub use chaski_analysis::siting::generated::{objective_for, small, square};
