//! The siting pipeline `chaski site` and `POST /api/siting` share: demand per
//! village, candidate sites, the travel-time matrix towards each candidate
//! (a woman walks to the home: [`Direction::ToSource`]), eligibility within
//! reach of complete obstetric care, the solve, and the tables and GeoJSON of
//! the answer.
//!
//! **Demand** per village is expected births per year, population × crude
//! birth rate ([`DEFAULT_BIRTH_RATE`]), or any numeric field of the villages
//! layer ([`Demand::Field`]), or the pregnant women (any numeric field) of the
//! household records under the caller's access rules ([`Demand::Households`],
//! [`super::households`]), or given per village code (a demand table).
//!
//! **Candidates** are the facilities with birth care (basic or complete), every
//! facility, every village, or points given by the caller. Existing homes are
//! candidates named by code: always open.
//!
//! **Two levels**: with a [`Referral`], a candidate is eligible only when it
//! lies within `max_minutes` of a facility with complete emergency obstetric
//! care by the referral scenario (vehicles on roads by default: the fastest
//! mode of the presets); with beds, the capacitated model counts only the
//! births the beds can take (`beds × 365 / stay_days` a year per home).

use super::milp::MilpBackend;
use super::{
    Candidate, Objective, SitingError, SitingProblem, Solution, SolveOptions, SolveStatus,
};
use crate::travel::cost::{CostSurface, Direction};
use crate::travel::scenario::Scenario;
use crate::travel::vocab::{BirthCareFilter, VocabError, not_one_of};
use crate::travel::{Facility, ReachMatrix, RunSettings, SourceFilter, TravelError, TravelInputs};
use chaski_core::Layer;
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::TravelMatrix;
use super::households::HouseholdDemand;

/// Default crude birth rate: births per inhabitant per year. INEI publishes
/// the rate by department in its population estimates and projections; Peru's
/// was about 0.018 around 2020, higher in rural Andean and Amazon
/// departments, which 0.020 stands for. Set the department's own value.
pub const DEFAULT_BIRTH_RATE: f64 = 0.020;

/// Default length of stay in a maternity waiting home before the birth, days.
pub const DEFAULT_STAY_DAYS: f64 = 14.0;

/// Which model to solve, as users name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// Maximal covering: `covering`.
    Covering,
    /// p-median: `p-median`.
    PMedian,
    /// Set covering: `set-covering`.
    SetCovering,
    /// Capacitated two-level covering: `capacitated`.
    Capacitated,
}

impl Model {
    /// The words that parse to a model.
    pub const WORDS: &'static str = "covering, p-median, set-covering, capacitated";

    /// The word of this model.
    pub fn word(self) -> &'static str {
        match self {
            Self::Covering => "covering",
            Self::PMedian => "p-median",
            Self::SetCovering => "set-covering",
            Self::Capacitated => "capacitated",
        }
    }
}

impl FromStr for Model {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "covering" | "max-covering" | "maximal-covering" | "mclp" => Self::Covering,
                "p-median" | "pmedian" | "median" => Self::PMedian,
                "set-covering" | "lscp" => Self::SetCovering,
                "capacitated" | "capacitated-covering" | "two-level" => Self::Capacitated,
                _ => return Err(not_one_of(s, Self::WORDS)),
            },
        )
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Which places are candidate sites, as users name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateKind {
    /// Facilities with basic or complete birth care: `birth-care`.
    BirthCare,
    /// Every facility: `facilities`.
    Facilities,
    /// Every village: `villages`.
    Villages,
}

impl CandidateKind {
    /// The words that parse to a kind.
    pub const WORDS: &'static str = "birth-care, facilities, villages";

    /// The word of this kind.
    pub fn word(self) -> &'static str {
        match self {
            Self::BirthCare => "birth-care",
            Self::Facilities => "facilities",
            Self::Villages => "villages",
        }
    }
}

impl FromStr for CandidateKind {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "birth-care" | "birthcare" => Self::BirthCare,
                "facilities" | "facility" => Self::Facilities,
                "villages" | "communities" => Self::Villages,
                _ => return Err(not_one_of(s, Self::WORDS)),
            },
        )
    }
}

/// A candidate site or a village of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Code (facility RENIPRESS code, village code, or the caller's).
    pub code: String,
    /// Name (may be empty).
    pub name: String,
    /// Longitude, latitude (None when only codes are known: a matrix file).
    pub lonlat: Option<(f64, f64)>,
}

/// Where candidates come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Candidates {
    /// A kind of place of the store.
    Kind(CandidateKind),
    /// Points of the caller.
    Points(Vec<Site>),
}

/// Where demand comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Demand {
    /// Population × crude birth rate.
    BirthRate(f64),
    /// A numeric field of the villages layer, read by [`field_values`].
    Field(String, HashMap<String, f64>),
    /// The same demand in every village (villages counted, not births: for
    /// data without population).
    Uniform(f64),
    /// Counted from the household records, as the caller may know them
    /// ([`HouseholdDemand::of`]).
    Households(HouseholdDemand),
}

impl Demand {
    /// Where the demand comes from, for answers.
    pub fn to_json(&self) -> Json {
        match self {
            Self::BirthRate(rate) => json!({"source": "birth_rate", "birth_rate": rate}),
            Self::Field(field, _) => json!({"source": "field", "field": field}),
            Self::Uniform(d) => json!({"source": "per_village", "per_village": d}),
            Self::Households(h) => json!({
                "source": "households",
                "field": h.field,
                "protected": h.protected,
                "households": h.households,
                "outside_villages": h.outside,
            }),
        }
    }
}

/// The second level of the two-level model: homes within reach of complete
/// emergency obstetric care.
#[derive(Debug, Clone, PartialEq)]
pub struct Referral {
    /// Largest time from a home to the nearest facility with complete
    /// obstetric care, minutes.
    pub max_minutes: f64,
    /// How the referral travels (default: [`Scenario::motorised`]).
    pub scenario: Scenario,
}

/// What a siting asks.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The model.
    pub model: Model,
    /// New homes to open (not used by set covering).
    pub homes: usize,
    /// Threshold T (T1 for the two-level model), minutes.
    pub minutes: f64,
    /// Candidate sites.
    pub candidates: Candidates,
    /// Codes of candidates that are existing homes (always open).
    pub existing: Vec<String>,
    /// Demand per village.
    pub demand: Demand,
    /// Time limit of the matrix, minutes (default: T for the covering
    /// models, 4 × T and at least 8 hours for p-median).
    pub matrix_minutes: Option<f64>,
    /// Homes only within reach of complete obstetric care.
    pub referral: Option<Referral>,
    /// Beds per home (capacitated model; None: no capacity limit).
    pub beds: Option<u32>,
    /// Days a woman stays before the birth (capacitated model).
    pub stay_days: f64,
    /// Solver settings.
    pub solve: SolveOptions,
}

impl Request {
    /// A maximal covering of `homes` new homes within `minutes`, among the
    /// facilities with birth care, demand at [`DEFAULT_BIRTH_RATE`].
    pub fn covering(homes: usize, minutes: f64) -> Self {
        Self {
            model: Model::Covering,
            homes,
            minutes,
            candidates: Candidates::Kind(CandidateKind::BirthCare),
            existing: Vec::new(),
            demand: Demand::BirthRate(DEFAULT_BIRTH_RATE),
            matrix_minutes: None,
            referral: None,
            beds: None,
            stay_days: DEFAULT_STAY_DAYS,
            solve: SolveOptions::default(),
        }
    }

    /// The objective of the solver.
    pub fn objective(&self) -> Objective {
        let t = self.minutes as f32;
        match self.model {
            Model::Covering => Objective::MaxCovering {
                p: self.homes,
                threshold_min: t,
            },
            Model::PMedian => Objective::PMedian { p: self.homes },
            Model::SetCovering => Objective::SetCovering { threshold_min: t },
            Model::Capacitated => Objective::CapacitatedCovering {
                p: self.homes,
                threshold_min: t,
                stay_days: self.stay_days,
            },
        }
    }

    /// The time limit of the matrix, minutes.
    pub fn matrix_limit(&self) -> f64 {
        self.matrix_minutes.unwrap_or(match self.model {
            Model::PMedian => (4.0 * self.minutes).max(480.0),
            _ => self.minutes,
        })
    }

    /// Whether the options can be solved (homes, minutes, rates, days and
    /// limits in range), an error naming the first that cannot.
    pub fn check(&self) -> Result<(), PlanError> {
        let bad = |option: &'static str, value: String, reason: &'static str| {
            Err(PlanError::Option {
                option,
                value,
                reason,
            })
        };
        if !(self.minutes.is_finite() && self.minutes > 0.0) {
            return bad("minutes", self.minutes.to_string(), "must be > 0");
        }
        if let Some(m) = self.matrix_minutes {
            if !(m.is_finite() && m >= self.minutes) {
                return bad(
                    "matrix_minutes",
                    m.to_string(),
                    "must be at least the threshold",
                );
            }
        }
        if let Demand::Uniform(d) = self.demand {
            if !(d.is_finite() && d > 0.0) {
                return bad("demand_per_village", d.to_string(), "must be > 0");
            }
        }
        if let Demand::BirthRate(r) = self.demand {
            if !(r.is_finite() && r > 0.0 && r < 1.0) {
                return bad("birth_rate", r.to_string(), "must be between 0 and 1");
            }
        }
        if !(self.stay_days.is_finite() && self.stay_days > 0.0 && self.stay_days <= 365.0) {
            return bad(
                "stay_days",
                self.stay_days.to_string(),
                "must be between 0 and 365 days",
            );
        }
        if let Some(r) = &self.referral {
            if !(r.max_minutes.is_finite() && r.max_minutes > 0.0) {
                return bad("referral_minutes", r.max_minutes.to_string(), "must be > 0");
            }
        }
        if self.model != Model::SetCovering && self.homes == 0 {
            return bad("homes", "0".into(), "must be at least 1");
        }
        Ok(())
    }
}

/// Errors of a siting run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// An option has a value the pipeline cannot use.
    #[error("{option} {value}: {reason}")]
    Option {
        /// The option, named as in the API (`_`; the command line's flags use `-`).
        option: &'static str,
        /// Its value.
        value: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// An existing home's code is not among the candidates.
    #[error("existing home '{code}' is not among the {count} candidates ({kind})")]
    UnknownExisting {
        /// The code.
        code: String,
        /// How many candidates there are.
        count: usize,
        /// Which candidates.
        kind: String,
    },
    /// No candidate site.
    #[error("no candidate site: {0}")]
    NoCandidates(String),
    /// A candidate point given by the caller cannot be used.
    #[error("candidate points: {0}")]
    Candidate(String),
    /// No village with demand.
    #[error("no village with demand: {0}")]
    NoDemand(String),
    /// A field of the villages layer is not numeric or missing.
    #[error("villages layer '{layer}': {reason}")]
    Field {
        /// The layer.
        layer: String,
        /// What is wrong.
        reason: String,
    },
    /// Demand from households cannot be counted for this caller.
    #[error("demand from households: {0}")]
    Households(String),
    /// Travel time could not be computed.
    #[error(transparent)]
    Travel(#[from] TravelError),
    /// The solver refused the problem.
    #[error(transparent)]
    Siting(#[from] SitingError),
}

/// The numeric values of `field` in the villages layer by village code;
/// villages with no value are absent (demand 0). An unknown field, or one
/// with no numeric value at all, is an error naming it.
pub fn field_values(layer: &Layer, field: &str) -> Result<HashMap<String, f64>, PlanError> {
    let Some(index) = layer.field_index(field) else {
        return Err(PlanError::Field {
            layer: layer.name.clone(),
            reason: format!(
                "no field '{field}'; it has {}",
                layer
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    let mut out = HashMap::new();
    for f in &layer.features {
        let code = layer.value(f, "code").as_str().unwrap_or_default();
        let v = f
            .values
            .get(index)
            .and_then(chaski_core::value::Value::as_f64);
        if let Some(v) = v.filter(|v| v.is_finite() && *v >= 0.0) {
            out.entry(code.to_owned()).or_insert(v);
        }
    }
    if out.is_empty() {
        return Err(PlanError::Field {
            layer: layer.name.clone(),
            reason: format!("field '{field}' holds no number ≥ 0"),
        });
    }
    Ok(out)
}

/// A solved siting with everything its answers show.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What was asked.
    pub request: Request,
    /// The villages (demand points), in matrix order.
    pub villages: Vec<Site>,
    /// Demand per village.
    pub demand: Vec<f64>,
    /// Villages with no population (birth-rate demand: 0).
    pub villages_without_population: usize,
    /// The candidate sites, in matrix order.
    pub candidates: Vec<Site>,
    /// Per candidate: existing, eligible, beds.
    pub flags: Vec<Candidate>,
    /// Per candidate: minutes to complete obstetric care (with a referral).
    pub referral_minutes: Vec<Option<f64>>,
    /// Candidates off the travel surface (reach no village).
    pub off_surface: Vec<usize>,
    /// The matrix `(village, candidate, minutes)` within its limit.
    pub matrix: Vec<(usize, usize, f32)>,
    /// Time limit of the matrix, minutes.
    pub matrix_minutes: f64,
    /// The solver's answer.
    pub solution: Solution,
}

/// Solve `request` on `inputs` (all facilities and villages, as read by
/// [`TravelInputs::from_store`] without a facility filter), travelling by
/// `scenario`.
pub fn plan(
    inputs: &TravelInputs,
    scenario: &Scenario,
    request: &Request,
    milp: Option<&dyn MilpBackend>,
) -> Result<Plan, PlanError> {
    request.check()?;
    plan_on(inputs, &inputs.surface(scenario)?, request, milp)
}

/// [`plan`] on a cost surface of `inputs` already built (by
/// [`TravelInputs::surface`]), for a caller that searches it again.
pub fn plan_on(
    inputs: &TravelInputs,
    surface: &CostSurface,
    request: &Request,
    milp: Option<&dyn MilpBackend>,
) -> Result<Plan, PlanError> {
    request.check()?;
    let matrix = candidate_matrix(inputs, surface, request)?;
    plan_with(inputs, request, &matrix, milp)
}

/// The travel-time part of a siting: the candidates, the matrix from every
/// village to each within the request's limit, and each candidate's minutes
/// to complete obstetric care (with a referral). It depends on the
/// candidates, the surface, the matrix limit and the referral, not on the
/// number of homes, the objective or the demand: a caller may keep it and
/// solve many requests on it ([`plan_with`]).
#[derive(Debug, Clone)]
pub struct CandidateMatrix {
    /// The candidate sites.
    pub candidates: Vec<Site>,
    /// Minutes from the villages of the inputs to each candidate.
    pub reach: ReachMatrix,
    /// Its time limit, minutes.
    pub limit: f64,
    /// Per candidate, minutes to complete obstetric care (None: beyond the
    /// referral's limit, or no referral asked).
    pub referral_minutes: Vec<Option<f64>>,
}

/// The [`CandidateMatrix`] of `request` on `surface` of `inputs`.
pub fn candidate_matrix(
    inputs: &TravelInputs,
    surface: &CostSurface,
    request: &Request,
) -> Result<CandidateMatrix, PlanError> {
    let candidates = candidates_of(inputs, &request.candidates)?;
    let lonlats: Vec<(f64, f64)> = candidates
        .iter()
        .map(|c| c.lonlat.unwrap_or((f64::NAN, f64::NAN)))
        .collect();
    let limit = request.matrix_limit();
    let reach = inputs.reach(surface, &lonlats, limit, Direction::ToSource)?;
    let referral_minutes = match &request.referral {
        Some(r) => referral(inputs, r, &lonlats)?,
        None => vec![None; candidates.len()],
    };
    Ok(CandidateMatrix {
        candidates,
        reach,
        limit,
        referral_minutes,
    })
}

/// Solve `request` on `matrix`, made by [`candidate_matrix`] for a request
/// with the same candidates, matrix limit and referral, on `inputs`.
pub fn plan_with(
    inputs: &TravelInputs,
    request: &Request,
    matrix: &CandidateMatrix,
    milp: Option<&dyn MilpBackend>,
) -> Result<Plan, PlanError> {
    request.check()?;
    let mut villages = Vec::with_capacity(inputs.places.len());
    let mut demand = Vec::with_capacity(inputs.places.len());
    let mut without_population = 0;
    for p in inputs.places.iter() {
        let d = match &request.demand {
            Demand::BirthRate(rate) => {
                if p.village.population.is_none() {
                    without_population += 1;
                }
                p.village.population.unwrap_or(0) as f64 * rate
            }
            Demand::Field(_, values) => values.get(&p.village.code).copied().unwrap_or(0.0),
            Demand::Households(h) => h.values.get(&p.village.code).copied().unwrap_or(0.0),
            Demand::Uniform(d) => *d,
        };
        villages.push(Site {
            code: p.village.code.clone(),
            name: p.village.name.clone(),
            lonlat: Some(p.lonlat),
        });
        demand.push(d);
    }
    if !demand.iter().any(|d| *d > 0.0) {
        return Err(PlanError::NoDemand(format!(
            "{} villages, {} without population",
            villages.len(),
            without_population
        )));
    }
    let mut plan = solve_plan(
        request,
        villages,
        demand,
        matrix.candidates.clone(),
        &matrix.referral_minutes,
        matrix.reach.entries.clone(),
        matrix.limit,
        milp,
    )?;
    plan.villages_without_population = without_population;
    plan.off_surface.clone_from(&matrix.reach.off_surface);
    Ok(plan)
}

/// Solve `request` on a given matrix (`(village code, candidate code,
/// minutes)`) and demand table (`(village code, demand)`): no store, no
/// travel time. Pairs of villages not in the demand table are an error; a
/// village of the demand table absent from the matrix is reached by no one.
pub fn plan_from_matrix(
    request: &Request,
    matrix: &[(String, String, f64)],
    demand: &[(String, f64)],
    milp: Option<&dyn MilpBackend>,
) -> Result<Plan, PlanError> {
    request.check()?;
    let village_index: HashMap<&str, usize> = demand
        .iter()
        .enumerate()
        .map(|(i, (code, _))| (code.as_str(), i))
        .collect();
    let mut candidate_index: HashMap<&str, usize> = HashMap::new();
    let mut candidates = Vec::new();
    let mut entries = Vec::with_capacity(matrix.len());
    for (village, candidate, minutes) in matrix {
        let Some(&v) = village_index.get(village.as_str()) else {
            return Err(PlanError::Option {
                option: "matrix",
                value: village.clone(),
                reason: "village of the matrix not in the demand table",
            });
        };
        let c = *candidate_index
            .entry(candidate.as_str())
            .or_insert_with(|| {
                candidates.push(Site {
                    code: candidate.clone(),
                    name: String::new(),
                    lonlat: None,
                });
                candidates.len() - 1
            });
        entries.push((v, c, *minutes as f32));
    }
    let limit = request
        .matrix_minutes
        .unwrap_or_else(|| matrix.iter().map(|m| m.2).fold(request.minutes, f64::max));
    let villages = demand
        .iter()
        .map(|(code, _)| Site {
            code: code.clone(),
            name: String::new(),
            lonlat: None,
        })
        .collect();
    let n = candidates.len();
    solve_plan(
        request,
        villages,
        demand.iter().map(|d| d.1).collect(),
        candidates,
        &vec![None; n],
        entries,
        limit,
        milp,
    )
}

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of a plan, gathered once by each of the two callers"
)]
fn solve_plan(
    request: &Request,
    villages: Vec<Site>,
    demand: Vec<f64>,
    candidates: Vec<Site>,
    referral_minutes: &[Option<f64>],
    matrix: Vec<(usize, usize, f32)>,
    matrix_minutes: f64,
    milp: Option<&dyn MilpBackend>,
) -> Result<Plan, PlanError> {
    if candidates.is_empty() {
        return Err(PlanError::NoCandidates(
            "the list of candidates is empty".into(),
        ));
    }
    let mut flags: Vec<Candidate> = referral_minutes
        .iter()
        .map(|m| Candidate {
            existing: false,
            eligible: match (&request.referral, m) {
                (Some(r), Some(m)) => *m <= r.max_minutes,
                (Some(_), None) => false,
                (None, _) => true,
            },
            beds: if request.model == Model::Capacitated {
                request.beds
            } else {
                None
            },
        })
        .collect();
    for code in &request.existing {
        let Some(i) = candidates.iter().position(|c| &c.code == code) else {
            return Err(PlanError::UnknownExisting {
                code: code.clone(),
                count: candidates.len(),
                kind: match &request.candidates {
                    Candidates::Kind(k) => k.word().to_owned(),
                    Candidates::Points(_) => "points given".to_owned(),
                },
            });
        };
        flags[i].existing = true;
    }
    if !flags.iter().any(|f| f.eligible && !f.existing) && request.model != Model::SetCovering {
        return Err(PlanError::NoCandidates(match &request.referral {
            Some(r) => format!(
                "none of the {} candidates is within {} minutes of complete obstetric care",
                candidates.len(),
                r.max_minutes
            ),
            None => "every candidate is an existing home".to_owned(),
        }));
    }
    let problem = SitingProblem {
        demand: demand.clone(),
        candidates: flags.clone(),
        matrix: TravelMatrix::from_entries(
            villages.len(),
            candidates.len(),
            matrix.iter().copied(),
        )?,
    };
    let solution = super::solve(&problem, &request.objective(), &request.solve, milp)?;
    Ok(Plan {
        request: request.clone(),
        villages,
        demand,
        villages_without_population: 0,
        candidates,
        flags,
        referral_minutes: referral_minutes.to_vec(),
        off_surface: Vec::new(),
        matrix,
        matrix_minutes,
        solution,
    })
}

/// The candidate sites of `which`.
fn candidates_of(inputs: &TravelInputs, which: &Candidates) -> Result<Vec<Site>, PlanError> {
    let of_facility = |f: &Facility| Site {
        code: f.code.clone(),
        name: f.name.clone(),
        lonlat: Some(f.lonlat),
    };
    let out = match which {
        Candidates::Kind(CandidateKind::BirthCare) => {
            SourceFilter::new(None, Some(BirthCareFilter::Basic))
                .select(&inputs.facilities)
                .iter()
                .map(of_facility)
                .collect()
        }
        Candidates::Kind(CandidateKind::Facilities) => {
            inputs.facilities.iter().map(of_facility).collect()
        }
        Candidates::Kind(CandidateKind::Villages) => inputs
            .places
            .iter()
            .map(|p| Site {
                code: p.village.code.clone(),
                name: p.village.name.clone(),
                lonlat: Some(p.lonlat),
            })
            .collect(),
        Candidates::Points(points) => {
            let mut seen = std::collections::HashSet::new();
            for (i, p) in points.iter().enumerate() {
                if p.code.trim().is_empty() {
                    return Err(PlanError::Candidate(format!("point {}: no code", i + 1)));
                }
                if !seen.insert(p.code.as_str()) {
                    return Err(PlanError::Candidate(format!(
                        "point {}: code '{}' given twice",
                        i + 1,
                        p.code
                    )));
                }
                if !p
                    .lonlat
                    .is_some_and(|(x, y)| x.is_finite() && y.is_finite())
                {
                    return Err(PlanError::Candidate(format!(
                        "point {} ('{}'): no longitude and latitude",
                        i + 1,
                        p.code
                    )));
                }
            }
            points.clone()
        }
    };
    if out.is_empty() {
        return Err(PlanError::NoCandidates(match which {
            Candidates::Kind(k) => format!("the store has no {}", k.word()),
            Candidates::Points(_) => "no point given".to_owned(),
        }));
    }
    Ok(out)
}

/// Minutes from each candidate to the nearest facility with complete
/// obstetric care, by the referral's scenario, within its limit.
fn referral(
    inputs: &TravelInputs,
    r: &Referral,
    lonlats: &[(f64, f64)],
) -> Result<Vec<Option<f64>>, PlanError> {
    let complete =
        SourceFilter::new(None, Some(BirthCareFilter::Complete)).select(&inputs.facilities);
    if complete.is_empty() {
        return Err(PlanError::NoCandidates(
            "no facility with complete obstetric care to refer to".to_owned(),
        ));
    }
    let surface = inputs.surface(&r.scenario)?;
    let result = inputs.run_on(
        &surface,
        &inputs.scenario_name(&r.scenario),
        &complete,
        "facilities with complete obstetric care",
        RunSettings {
            direction: Direction::ToSource,
            max_minutes: Some(r.max_minutes),
            neighbourhood: inputs.neighbourhood,
        },
    )?;
    Ok(lonlats
        .iter()
        .map(|&(lon, lat)| result.minutes_at(lon, lat))
        .collect())
}

impl Plan {
    /// Demand within reach of the open homes, before and after, and the
    /// share of all demand.
    fn share(&self, covered: f64) -> Option<f64> {
        let total = self.solution.total_demand;
        (total > 0.0).then(|| covered / total)
    }

    /// Demand of the villages within T ([`Request::minutes`]) of a site
    /// `open` admits, from the matrix.
    fn within_threshold(&self, open: impl Fn(usize) -> bool) -> f64 {
        let t = self.request.minutes as f32;
        let mut reached = vec![false; self.villages.len()];
        for &(v, c, m) in &self.matrix {
            if m <= t && open(c) {
                reached[v] = true;
            }
        }
        reached
            .iter()
            .zip(&self.demand)
            .filter(|(r, _)| **r)
            .map(|(_, d)| d)
            .sum::<f64>()
            + 0.0 // an empty sum is -0.0; say 0
    }

    /// Demand within T of the existing homes and of all open homes: the
    /// solver's figures for the covering models; for the p-median, whose
    /// solver counts what the matrix reaches, recounted within T.
    pub fn covered(&self) -> (f64, f64) {
        let s = &self.solution;
        if self.request.model != Model::PMedian {
            // + 0.0: an empty sum is -0.0; say 0.
            return (s.covered_before + 0.0, s.covered_after + 0.0);
        }
        let before = self.within_threshold(|c| self.flags[c].existing);
        let after = self.within_threshold(|c| self.flags[c].existing || s.chosen.contains(&c));
        (before, after)
    }

    /// The answer as JSON: settings, objective, bound, gap, demand within T
    /// before and after ([`Self::covered`]), the chosen sites in order with
    /// their gains, the coverage curve and what no candidate reaches.
    pub fn to_json(&self) -> Json {
        let s = &self.solution;
        let (before, after) = self.covered();
        let site = |i: usize| {
            let c = &self.candidates[i];
            json!({
                "code": c.code,
                "name": c.name,
                "lon": c.lonlat.map(|l| l.0),
                "lat": c.lonlat.map(|l| l.1),
            })
        };
        let chosen: Vec<Json> = s
            .curve
            .iter()
            .map(|p| {
                let mut j = site(p.site);
                j["rank"] = json!(p.k);
                j["objective"] = json!(p.objective);
                j["gain"] = json!(p.gain);
                j
            })
            .collect();
        json!({
            "model": self.request.model.word(),
            "homes": self.request.homes,
            "minutes": self.request.minutes,
            "matrix_minutes": self.matrix_minutes,
            "demand": self.request.demand.to_json(),
            "objective": s.objective,
            "bound": s.bound,
            "gap": s.gap,
            "status": match s.status {
                SolveStatus::Optimal => "optimal",
                SolveStatus::GapLimit => "gap_limit",
                SolveStatus::TimeLimit => "time_limit",
                SolveStatus::HeuristicOnly => "heuristic_only",
            },
            "method": s.method,
            "total_demand": s.total_demand,
            "covered_before": before,
            "covered_after": after,
            "share_before": self.share(before),
            "share_after": self.share(after),
            "weighted_minutes": s.weighted_minutes,
            "existing": self.flags.iter().enumerate().filter(|(_, f)| f.existing).map(|(i, _)| site(i)).collect::<Vec<_>>(),
            "chosen": chosen,
            "candidates": self.candidates.len(),
            "eligible": self.flags.iter().filter(|f| f.eligible && !f.existing).count(),
            "villages": self.villages.len(),
            "villages_without_population": self.villages_without_population,
            "uncoverable": s.uncoverable.iter().map(|&v| self.villages[v].code.clone()).collect::<Vec<_>>(),
            "candidates_off_surface": self.off_surface.iter().map(|&c| self.candidates[c].code.clone()).collect::<Vec<_>>(),
        })
    }

    /// The open homes (existing and chosen) as GeoJSON points with `code`,
    /// `name`, `status` (`existing`/`new`), `rank`, `gain` and the demand
    /// they serve.
    pub fn sites_geojson(&self) -> Json {
        let mut served = vec![0.0; self.candidates.len()];
        for (c, d) in self
            .solution
            .assignment
            .iter()
            .flatten()
            .map(|a| (a.0, a.2))
        {
            served[c] += d;
        }
        let rank: HashMap<usize, (usize, f64)> = self
            .solution
            .curve
            .iter()
            .map(|p| (p.site, (p.k, p.gain)))
            .collect();
        let features: Vec<Json> = self
            .solution
            .open
            .iter()
            .filter_map(|&i| {
                let c = &self.candidates[i];
                let (lon, lat) = c.lonlat?;
                let (k, gain) = rank.get(&i).copied().unzip();
                Some(json!({
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {
                        "code": c.code, "name": c.name,
                        "status": if self.flags[i].existing { "existing" } else { "new" },
                        "rank": k, "gain": gain, "demand_served": served[i],
                        "referral_minutes": self.referral_minutes[i],
                    },
                }))
            })
            .collect();
        json!({"type": "FeatureCollection", "features": features})
    }

    /// Per village: code, name, demand, the home it is assigned to, minutes
    /// to it and the demand served (CSV header and rows).
    pub fn villages_table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let header = vec![
            "code", "name", "demand", "home", "minutes", "served", "lon", "lat",
        ];
        let rows = self
            .villages
            .iter()
            .enumerate()
            .map(|(v, site)| {
                let a = self.solution.assignment.get(v).copied().flatten();
                vec![
                    site.code.clone(),
                    site.name.clone(),
                    self.demand[v].to_string(),
                    a.map(|a| self.candidates[a.0].code.clone())
                        .unwrap_or_default(),
                    a.map(|a| a.1.to_string()).unwrap_or_default(),
                    a.map(|a| a.2.to_string()).unwrap_or_default(),
                    site.lonlat.map(|l| l.0.to_string()).unwrap_or_default(),
                    site.lonlat.map(|l| l.1.to_string()).unwrap_or_default(),
                ]
            })
            .collect();
        (header, rows)
    }

    /// The villages table as GeoJSON points (villages with a location).
    pub fn villages_geojson(&self) -> Json {
        let (header, rows) = self.villages_table();
        let features: Vec<Json> = rows
            .iter()
            .enumerate()
            .filter_map(|(v, row)| {
                let (lon, lat) = self.villages[v].lonlat?;
                let a = self.solution.assignment.get(v).copied().flatten();
                Some(json!({
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {
                        header[0]: row[0], header[1]: row[1], "demand": self.demand[v],
                        "home": a.map(|a| self.candidates[a.0].code.clone()),
                        "minutes": a.map(|a| a.1), "served": a.map(|a| a.2),
                    },
                }))
            })
            .collect();
        json!({"type": "FeatureCollection", "features": features})
    }

    /// The coverage curve: rank, site, objective with the first k homes and
    /// the gain of the k-th (CSV header and rows).
    pub fn curve_table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let rows = self
            .solution
            .curve
            .iter()
            .map(|p| {
                vec![
                    p.k.to_string(),
                    self.candidates[p.site].code.clone(),
                    self.candidates[p.site].name.clone(),
                    p.objective.to_string(),
                    p.gain.to_string(),
                ]
            })
            .collect();
        (vec!["rank", "code", "name", "objective", "gain"], rows)
    }

    /// The matrix as `village,candidate,minutes` rows (codes), the input of
    /// [`plan_from_matrix`] and of other tools.
    pub fn matrix_table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let rows = self
            .matrix
            .iter()
            .map(|&(v, c, m)| {
                vec![
                    self.villages[v].code.clone(),
                    self.candidates[c].code.clone(),
                    m.to_string(),
                ]
            })
            .collect();
        (vec!["village", "candidate", "minutes"], rows)
    }

    /// Demand per village code (`village,demand`), the other input of
    /// [`plan_from_matrix`].
    pub fn demand_table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let rows = self
            .villages
            .iter()
            .zip(&self.demand)
            .map(|(v, d)| vec![v.code.clone(), d.to_string()])
            .collect();
        (vec!["village", "demand"], rows)
    }
}
