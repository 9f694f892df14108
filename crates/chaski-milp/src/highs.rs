//! The HiGHS backend (Huangfu & Hall 2018, *Parallelizing the dual revised
//! simplex method*, Math. Prog. Comp. 10, 119–142; HiGHS MIP solver).
//!
//! The model is passed column-wise through the `highs` crate with
//! `output_flag` and `log_to_console` off, `time_limit`, `mip_rel_gap` and
//! `objective_target` set from the [`MilpModel`]. **Warm start:** the crate exposes
//! `Highs_setSolution` as `Model::try_set_solution`, so the model's initial
//! solution is handed to HiGHS as its first incumbent (HiGHS checks it and
//! uses it when feasible). **Best bound:** the crate does not expose HiGHS's
//! `mip_dual_bound`, only `mip_gap` = |primal − dual| / |primal|, so the bound
//! is recovered from the objective and that gap (exact when the objective is
//! not 0; `None` otherwise, and the engine keeps its own bound).
//!
//! The `highs` crate panics on some errors (an unknown option, a bad status
//! value); every call here runs under `catch_unwind` and a panic becomes
//! [`SitingError::Milp`].
//!
//! ```
//! use chaski_analysis::siting::milp::{MilpBackend, MilpColumn, MilpModel, MilpRow, MilpSense, MilpStatus};
//! use chaski_milp::Highs;
//! // max 5a + 4b + 3c  s.t.  2a + 3b + c <= 5,  4a + b + 2c <= 11,  3a + 4b + 2c <= 8, binary
//! let model = MilpModel {
//!     sense: MilpSense::Maximise,
//!     columns: vec![MilpColumn::binary(5.0), MilpColumn::binary(4.0), MilpColumn::binary(3.0)],
//!     rows: vec![
//!         MilpRow { lower: f64::NEG_INFINITY, upper: 5.0, entries: vec![(0, 2.0), (1, 3.0), (2, 1.0)] },
//!         MilpRow { lower: f64::NEG_INFINITY, upper: 11.0, entries: vec![(0, 4.0), (1, 1.0), (2, 2.0)] },
//!         MilpRow { lower: f64::NEG_INFINITY, upper: 8.0, entries: vec![(0, 3.0), (1, 4.0), (2, 2.0)] },
//!     ],
//!     ..MilpModel::default()
//! };
//! let r = Highs.solve(&model).unwrap();
//! assert_eq!(r.status, MilpStatus::Optimal);
//! assert!((r.objective.unwrap() - 9.0).abs() < 1e-6); // a and b: 5 + 4
//! ```

use chaski_analysis::siting::SitingError;
use chaski_analysis::siting::milp::{MilpBackend, MilpModel, MilpResult, MilpSense, MilpStatus};
use highs::{HighsModelStatus, RowProblem, Sense};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// HiGHS as a [`MilpBackend`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Highs;

fn err(message: impl Into<String>) -> SitingError {
    SitingError::Milp {
        backend: "highs".into(),
        message: message.into(),
    }
}

fn solve_inner(model: &MilpModel) -> Result<MilpResult, SitingError> {
    let mut pb = RowProblem::default();
    let cols: Vec<_> = model
        .columns
        .iter()
        .map(|c| pb.add_column_with_integrality(c.cost, c.lower..=c.upper, c.integer))
        .collect();
    for row in &model.rows {
        pb.add_row(
            row.lower..=row.upper,
            row.entries.iter().map(|&(j, a)| (cols[j], a)),
        );
    }
    let sense = match model.sense {
        MilpSense::Minimise => Sense::Minimise,
        MilpSense::Maximise => Sense::Maximise,
    };
    let mut m = pb
        .try_optimise(sense)
        .map_err(|s| err(format!("loading the model: {s:?}")))?;
    m.make_quiet();
    m.set_option("time_limit", model.time_limit.as_secs_f64().min(1e9));
    m.set_option("mip_rel_gap", model.rel_gap);
    if let Some(target) = model.objective_target.filter(|t| t.is_finite()) {
        // HiGHS stops once its incumbent is strictly better than the target
        // (its objective without our offset).
        m.set_option("objective_target", target - model.offset);
    }
    if let Some(init) = &model.initial {
        // An infeasible or rejected start is not an error: HiGHS solves without it.
        let _ = m.try_set_solution(Some(init), None, None, None);
    }
    let solved = m.try_solve().map_err(|s| err(format!("solving: {s:?}")))?;
    let status = match solved.status() {
        HighsModelStatus::Optimal | HighsModelStatus::ModelEmpty => MilpStatus::Optimal,
        HighsModelStatus::Infeasible => MilpStatus::Infeasible,
        HighsModelStatus::ReachedTimeLimit => MilpStatus::TimeLimit,
        HighsModelStatus::ObjectiveTarget => MilpStatus::Target,
        _ => MilpStatus::Stopped,
    };
    if model.columns.is_empty() {
        return Ok(MilpResult {
            status,
            objective: Some(model.offset),
            bound: Some(model.offset),
            values: Some(Vec::new()),
        });
    }
    let values = solved.get_solution().columns().to_vec();
    let has_solution = values.len() == model.columns.len() && model.is_feasible(&values, 1e-5);
    let objective = has_solution.then(|| model.objective_of(&values));
    let raw = solved.objective_value();
    let gap = solved.mip_gap();
    let bound = if has_solution && gap.is_finite() && raw != 0.0 {
        let width = gap * raw.abs();
        Some(
            model.offset
                + if model.sense == MilpSense::Maximise {
                    raw + width
                } else {
                    raw - width
                },
        )
    } else if status == MilpStatus::Optimal && has_solution {
        objective
    } else {
        None
    };
    Ok(MilpResult {
        status,
        objective,
        bound,
        values: has_solution.then_some(values),
    })
}

impl MilpBackend for Highs {
    fn name(&self) -> &'static str {
        "highs"
    }

    fn solve(&self, model: &MilpModel) -> Result<MilpResult, SitingError> {
        model.check()?;
        catch_unwind(AssertUnwindSafe(|| solve_inner(model))).unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "panicked".into());
            Err(err(msg))
        })
    }
}
