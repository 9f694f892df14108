//! A generic mixed-integer linear programme and the object-safe trait of the
//! solvers that take it ([`MilpBackend`]).
//!
//! The siting models build a [`MilpModel`] (columns with cost, bounds and an
//! integer flag; sparse rows with lower and upper bounds; the sense; an
//! optional initial solution; a time limit and a relative gap) and hand it to
//! a backend. The engine itself links no solver: `chaski-milp` implements the
//! trait with HiGHS, and tests may implement it with anything.
//!
//! ```
//! use chaski_analysis::siting::milp::{MilpColumn, MilpModel, MilpRow, MilpSense};
//! // max x + y subject to x + y <= 1.5, x, y binary
//! let model = MilpModel {
//!     sense: MilpSense::Maximise,
//!     columns: vec![MilpColumn::binary(1.0), MilpColumn::binary(1.0)],
//!     rows: vec![MilpRow { lower: f64::NEG_INFINITY, upper: 1.5, entries: vec![(0, 1.0), (1, 1.0)] }],
//!     ..MilpModel::default()
//! };
//! assert!(model.check().is_ok());
//! assert!(model.is_feasible(&[1.0, 0.0], 1e-9));
//! assert!(!model.is_feasible(&[1.0, 1.0], 1e-9));
//! ```

use crate::siting::SitingError;
use std::time::Duration;

/// Whether the objective is minimised or maximised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MilpSense {
    /// Minimise.
    #[default]
    Minimise,
    /// Maximise.
    Maximise,
}

/// One variable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MilpColumn {
    /// Objective coefficient.
    pub cost: f64,
    /// Lower bound (may be `-inf`).
    pub lower: f64,
    /// Upper bound (may be `+inf`).
    pub upper: f64,
    /// Integer variable.
    pub integer: bool,
}

impl MilpColumn {
    /// A binary variable with this cost.
    pub fn binary(cost: f64) -> Self {
        Self {
            cost,
            lower: 0.0,
            upper: 1.0,
            integer: true,
        }
    }
    /// A continuous variable in `[lower, upper]` with this cost.
    pub fn continuous(cost: f64, lower: f64, upper: f64) -> Self {
        Self {
            cost,
            lower,
            upper,
            integer: false,
        }
    }
}

/// One constraint `lower <= Σ coef · column <= upper`.
#[derive(Debug, Clone, PartialEq)]
pub struct MilpRow {
    /// Lower bound (may be `-inf`).
    pub lower: f64,
    /// Upper bound (may be `+inf`).
    pub upper: f64,
    /// `(column, coefficient)` pairs, each column at most once.
    pub entries: Vec<(usize, f64)>,
}

impl MilpRow {
    /// Exactly `p` of the first `n` columns (the binary site columns) at 1:
    /// `Σ x = p`.
    pub fn exactly(p: usize, n: usize) -> Self {
        Self {
            lower: p as f64,
            upper: p as f64,
            entries: (0..n).map(|q| (q, 1.0)).collect(),
        }
    }
}

/// A mixed-integer linear programme.
#[derive(Debug, Clone, PartialEq)]
pub struct MilpModel {
    /// Minimise or maximise.
    pub sense: MilpSense,
    /// The variables.
    pub columns: Vec<MilpColumn>,
    /// The constraints.
    pub rows: Vec<MilpRow>,
    /// Constant added to the objective (the backend may ignore it: the
    /// result's objective and bound are compared without it, see
    /// [`MilpResult`]).
    pub offset: f64,
    /// A feasible solution to start from (one value per column), if known.
    pub initial: Option<Vec<f64>>,
    /// Wall-clock limit of the solve.
    pub time_limit: Duration,
    /// Relative gap at which the solver may stop (`|primal - dual| / |primal|`).
    pub rel_gap: f64,
    /// Objective (offset included) at which the solver may stop as soon as
    /// it holds a solution at least this good: the caller's own bound turned
    /// into a target, so that a gap proven against a bound the solver does
    /// not know (a Lagrangian one) ends the search ([`MilpStatus::Target`]).
    pub objective_target: Option<f64>,
}

impl Default for MilpModel {
    fn default() -> Self {
        Self {
            sense: MilpSense::Minimise,
            columns: Vec::new(),
            rows: Vec::new(),
            offset: 0.0,
            initial: None,
            time_limit: Duration::from_secs(60),
            rel_gap: 1e-4,
            objective_target: None,
        }
    }
}

impl MilpModel {
    /// Checks that every row names existing columns, bounds are not NaN and
    /// the initial solution, if any, has one value per column.
    pub fn check(&self) -> Result<(), SitingError> {
        let n = self.columns.len();
        for (j, c) in self.columns.iter().enumerate() {
            if c.cost.is_nan()
                || !c.cost.is_finite()
                || c.lower.is_nan()
                || c.upper.is_nan()
                || c.lower > c.upper
            {
                return Err(SitingError::InvalidModel(format!(
                    "column {j}: cost {} bounds [{}, {}]",
                    c.cost, c.lower, c.upper
                )));
            }
        }
        for (r, row) in self.rows.iter().enumerate() {
            if row.lower.is_nan() || row.upper.is_nan() || row.lower > row.upper {
                return Err(SitingError::InvalidModel(format!(
                    "row {r}: bounds [{}, {}]",
                    row.lower, row.upper
                )));
            }
            if let Some(&(j, v)) = row.entries.iter().find(|&&(j, v)| j >= n || !v.is_finite()) {
                return Err(SitingError::InvalidModel(format!(
                    "row {r}: entry ({j}, {v}) with {n} columns"
                )));
            }
        }
        if let Some(init) = &self.initial
            && init.len() != n
        {
            return Err(SitingError::InvalidModel(format!(
                "initial solution has {} values for {n} columns",
                init.len()
            )));
        }
        Ok(())
    }

    /// Objective of `values` (offset included).
    pub fn objective_of(&self, values: &[f64]) -> f64 {
        self.offset
            + self
                .columns
                .iter()
                .zip(values)
                .map(|(c, v)| c.cost * v)
                .sum::<f64>()
    }

    /// Whether `values` satisfies bounds, integrality and rows within `tol`.
    pub fn is_feasible(&self, values: &[f64], tol: f64) -> bool {
        values.len() == self.columns.len()
            && self.columns.iter().zip(values).all(|(c, &v)| {
                v >= c.lower - tol
                    && v <= c.upper + tol
                    && (!c.integer || (v - v.round()).abs() <= tol)
            })
            && self.rows.iter().all(|row| {
                let s: f64 = row.entries.iter().map(|&(j, a)| a * values[j]).sum();
                s >= row.lower - tol && s <= row.upper + tol
            })
    }
}

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MilpStatus {
    /// Solved to the requested relative gap.
    Optimal,
    /// Stopped at the time limit (a feasible solution may be there).
    TimeLimit,
    /// Proven infeasible.
    Infeasible,
    /// Stopped for another reason (iteration limit, numerical trouble); a
    /// feasible solution may be there.
    Stopped,
    /// Stopped on a solution at least as good as
    /// [`MilpModel::objective_target`].
    Target,
}

/// What a backend returns.
#[derive(Debug, Clone, PartialEq)]
pub struct MilpResult {
    /// How the solve ended.
    pub status: MilpStatus,
    /// Objective of the best solution found (offset included), if any.
    pub objective: Option<f64>,
    /// Best proven bound on the optimum (offset included): an upper bound
    /// when maximising, a lower bound when minimising; `None` if unknown.
    pub bound: Option<f64>,
    /// Value of each column in the best solution, if any.
    pub values: Option<Vec<f64>>,
}

/// A MILP solver. Object-safe: the engine takes `&dyn MilpBackend`.
pub trait MilpBackend: Send + Sync {
    /// Short name for reports (`"highs"`).
    fn name(&self) -> &str;
    /// Solves `model`. A backend must not print.
    fn solve(&self, model: &MilpModel) -> Result<MilpResult, SitingError>;
}
