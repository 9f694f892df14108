//! Integration tests of the HiGHS backend through the siting engine: one
//! binary (exactness against brute force, quality of the heuristics).

mod exact;
mod instances;
mod quality;
