//! `chaski site`: where to open maternity waiting homes (casas maternas), by
//! maximal covering, p-median, set covering or the capacitated two-level
//! model, on the store's travel surface or on a given matrix
//! (`--matrix` and `--demand-file`), solved exactly with HiGHS when the model
//! is small enough and always with a bound and a gap (see
//! [`chaski_analysis::siting`]).

use crate::output::csv_writer;
use crate::surface::SurfaceArgs;
use anyhow::{Context, Result};
use chaski_analysis::siting::SolveOptions;
use chaski_analysis::siting::households::HouseholdDemand;
use chaski_analysis::siting::plan::{
    CandidateKind, Candidates, DEFAULT_BIRTH_RATE, DEFAULT_STAY_DAYS, Demand, Model, Plan,
    Referral, Request, Site, field_values, plan_from_matrix, plan_on,
};
use chaski_analysis::travel::underserved::{
    COLUMNS, beyond_birth_care, geojson, population, table,
};
use chaski_analysis::travel::vocab::Preset;
use chaski_analysis::travel::{TravelInputs, read_layers};
use chaski_core::auth::{Access, Role};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `chaski site`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder for the outputs (created when missing).
    #[arg(long)]
    pub out: PathBuf,

    /// Model: covering (most births within --minutes), p-median (least
    /// birth-weighted minutes), set-covering (fewest homes covering all that can be
    /// covered) or capacitated (covering limited by --beds, homes within
    /// --referral-minutes of complete obstetric care).
    #[arg(long, default_value = "covering")]
    pub model: Model,

    /// New homes to open.
    #[arg(long, default_value = "1")]
    pub homes: usize,

    /// Threshold: minutes on foot from a village to a home (T1 of the two-level model).
    #[arg(long, default_value = "120", allow_negative_numbers = true)]
    pub minutes: f64,

    /// Candidate sites: birth-care (facilities with basic or complete birth care),
    /// facilities or villages.
    #[arg(long, default_value = "birth-care")]
    pub candidates: CandidateKind,

    /// Candidate sites from a file of points instead (CSV with code, name and lon/lat
    /// columns, GeoJSON or any vector format GDAL reads), e.g. the buildings a
    /// municipality offers.
    #[arg(long, value_name = "FILE", conflicts_with = "matrix")]
    pub candidates_file: Option<PathBuf>,

    /// Codes of candidates that are existing homes (always open), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub existing: Vec<String>,

    /// Crude birth rate: expected births per inhabitant per year (demand = population × rate).
    #[arg(long, default_value_t = DEFAULT_BIRTH_RATE)]
    pub birth_rate: f64,

    /// Demand from this numeric field of the villages layer instead of population × rate.
    #[arg(long, conflicts_with = "birth_rate")]
    pub demand: Option<String>,

    /// The same demand in every village instead (e.g. 1: villages counted), for villages
    /// without population.
    #[arg(long, conflicts_with_all = ["birth_rate", "demand"])]
    pub demand_per_village: Option<f64>,

    /// Demand counted from the household records: the sum of this numeric or yes/no
    /// field (e.g. pregnant) over each village's households, as its published table
    /// (cells under 5 suppressed and weighed 2.5, others rounded to 5).
    #[arg(long, value_name = "FIELD", conflicts_with_all = ["birth_rate", "demand", "demand_per_village", "matrix"])]
    pub demand_households: Option<String>,

    /// Time limit of the matrix, minutes (default: --minutes; p-median 4 × --minutes, at least 480).
    #[arg(long)]
    pub matrix_minutes: Option<f64>,

    /// Two levels: homes only within this many minutes of a facility with complete
    /// obstetric care (by --referral-preset).
    #[arg(long)]
    pub referral_minutes: Option<f64>,

    /// How the referral from a home to complete obstetric care travels.
    #[arg(long, default_value = "motorised")]
    pub referral_preset: Preset,

    /// Beds per home (capacitated model: a home takes beds × 365 / --stay-days births a year).
    #[arg(long)]
    pub beds: Option<u32>,

    /// Days a woman stays in the home before the birth.
    #[arg(long, default_value_t = DEFAULT_STAY_DAYS)]
    pub stay_days: f64,

    /// Solver time limit, seconds.
    #[arg(long, default_value = "60")]
    pub time_limit: f64,

    /// Relative gap at which the exact solver stops.
    #[arg(long, default_value = "0.0001")]
    pub gap: f64,

    /// Use the heuristics and the bound only (no MILP solver).
    #[arg(long)]
    pub heuristic: bool,

    /// Solve on this matrix (CSV `village,candidate,minutes`) instead of the store's surface.
    #[arg(long, requires = "demand_file")]
    pub matrix: Option<PathBuf>,

    /// Demand table (CSV `village,demand`) for --matrix.
    #[arg(long, requires = "matrix")]
    pub demand_file: Option<PathBuf>,

    /// The travel surface and the layers on it.
    #[command(flatten)]
    pub surface: SurfaceArgs,
}

fn request(args: &Args) -> Result<Request> {
    let time_limit = Duration::try_from_secs_f64(args.time_limit)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| {
            format!(
                "--time-limit {}: must be a positive number of seconds",
                args.time_limit
            )
        })?;
    Ok(Request {
        model: args.model,
        homes: args.homes,
        minutes: args.minutes,
        candidates: Candidates::Kind(args.candidates),
        existing: args.existing.clone(),
        demand: match args.demand_per_village {
            Some(d) => Demand::Uniform(d),
            None => Demand::BirthRate(args.birth_rate),
        },
        matrix_minutes: args.matrix_minutes,
        referral: args.referral_minutes.map(|m| Referral {
            max_minutes: m,
            scenario: args.referral_preset.scenario(),
        }),
        beds: args.beds,
        stay_days: args.stay_days,
        solve: SolveOptions {
            time_limit,
            gap_tolerance: args.gap,
            ..SolveOptions::default()
        },
    })
}

/// A pipeline error as the command line says it: options named by their flags.
fn flagged(e: chaski_analysis::siting::plan::PlanError) -> anyhow::Error {
    use chaski_analysis::siting::plan::PlanError;
    match e {
        PlanError::Option {
            option,
            value,
            reason,
        } => anyhow::anyhow!("--{} {value}: {reason}", option.replace('_', "-")),
        e => e.into(),
    }
}

/// Demand `field` of the store's household layers per village of `inputs`,
/// as an analyst may know it: the published table.
fn household_demand(
    store: &dyn chaski_core::store::Store,
    inputs: &TravelInputs,
    field: &str,
) -> Result<HouseholdDemand> {
    let mut layers = Vec::new();
    for info in store.layers()? {
        if info.kind == chaski_core::layer::LayerKind::Households {
            layers.push(store.read_layer(&info.name)?);
        }
    }
    let villages: Vec<String> = inputs
        .places
        .iter()
        .map(|p| p.village.code.clone())
        .collect();
    let analyst = Access::new(Role::Analyst, None, false)?;
    HouseholdDemand::of(&layers, field, &analyst, &villages)
        .with_context(|| format!("--demand-households {field}"))
}

/// The candidate points of `file`: code, name and location of each feature.
fn candidate_points(file: &Path) -> Result<Vec<Site>> {
    use chaski_core::layer::LayerKind;
    use chaski_io::import::{ImportOptions, Imported, import_file};
    let mut opts = ImportOptions::new("candidates");
    opts.kind = Some(LayerKind::Communities);
    let layer = match import_file(file, &opts)
        .with_context(|| format!("--candidates-file {}", file.display()))?
    {
        Imported::Layer(l, _) => l,
        Imported::Raster(..) => {
            anyhow::bail!("--candidates-file {}: a raster, not points", file.display())
        }
    };
    layer
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let geo::Geometry::Point(p) = &f.geometry else {
                anyhow::bail!(
                    "--candidates-file {}: feature {}: not a point",
                    file.display(),
                    i + 1
                );
            };
            let text = |name: &str| {
                layer
                    .value(f, name)
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            };
            Ok(Site {
                code: text("code"),
                name: text("name"),
                lonlat: Some((p.x(), p.y())),
            })
        })
        .collect()
}

/// Run `chaski site`.
pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    let start = Instant::now();
    let mut request = request(args)?;
    let milp = chaski_milp::Highs;
    let backend: Option<&dyn chaski_analysis::siting::milp::MilpBackend> =
        (!args.heuristic).then_some(&milp as _);
    let mut underserved = None;
    let plan = if let (Some(matrix), Some(demand)) = (&args.matrix, &args.demand_file) {
        let rows: Vec<(String, String, f64)> = chaski_io::tables::read_matrix(matrix)?
            .into_iter()
            .map(|r| (r.village, r.candidate, r.minutes))
            .collect();
        let demand = chaski_io::tables::read_demand(demand)?;
        plan_from_matrix(&request, &rows, &demand, backend).map_err(flagged)?
    } else {
        let opts = args.surface.travel_options();
        let store = crate::store::open(store_path)?;
        let layers = read_layers(store.as_ref(), &opts)?;
        if let Some(field) = &args.demand {
            let villages = layers
                .villages
                .as_ref()
                .with_context(|| format!("--demand {field}: the store has no villages layer"))?;
            request.demand = Demand::Field(
                field.clone(),
                field_values(villages, field).map_err(flagged)?,
            );
        }
        let (raster, what) = args.surface.raster(store.as_ref())?;
        let inputs = TravelInputs::new(
            &layers,
            raster,
            &what,
            &opts,
            &chaski_io::crs::ProjProjections,
        )?;
        if let Some(file) = &args.candidates_file {
            request.candidates = Candidates::Points(candidate_points(file)?);
        }
        if let Some(field) = &args.demand_households {
            request.demand = Demand::Households(household_demand(store.as_ref(), &inputs, field)?);
        }
        let scenario = args.surface.scenario()?;
        let surface = inputs.surface(&scenario)?;
        let plan = plan_on(&inputs, &surface, &request, backend).map_err(flagged)?;
        // The siting stands without it (e.g. no facility records birth care).
        underserved = match beyond_birth_care(&inputs, &surface, &scenario, args.minutes) {
            Ok(u) => Some(u),
            Err(e) => {
                eprintln!(
                    "chaski: warning: no underserved.csv (villages beyond --minutes of birth care): {e}"
                );
                None
            }
        };
        plan
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    write(&plan, &args.out)?;
    if let Some(u) = &underserved {
        std::fs::write(
            args.out.join("underserved.geojson"),
            geojson(u, args.minutes).to_string() + "\n",
        )
        .with_context(|| format!("writing {}", args.out.join("underserved.geojson").display()))?;
        write_table(
            &args.out.join("underserved.csv"),
            (COLUMNS.to_vec(), table(u)),
        )?;
    }
    let s = &plan.solution;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} with {} new home(s): objective {:.2}, bound {:.2}, gap {:.3} % ({:?}, {})",
        plan.request.model,
        s.chosen.len(),
        s.objective,
        s.bound,
        100.0 * s.gap,
        s.status,
        s.method
    )?;
    let (before, after) = plan.covered();
    writeln!(
        out,
        "demand within {} min: {before:.1} before, {after:.1} after, of {:.1}",
        args.minutes, s.total_demand
    )?;
    for (k, row) in plan.curve_table().1.iter().enumerate() {
        let gain: f64 = row[4].parse().unwrap_or(f64::NAN);
        writeln!(out, "  {}. {} {} (+{gain:.2})", k + 1, row[1], row[2])?;
    }
    if let Some(u) = &underserved {
        writeln!(
            out,
            "beyond {} min of birth care today: {} villages, population {}",
            args.minutes,
            u.len(),
            population(u).map_or_else(|| "unknown".to_owned(), |p| p.to_string())
        )?;
    }
    writeln!(
        out,
        "wrote {} in {:.2} s",
        args.out.display(),
        start.elapsed().as_secs_f64()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn write_table(path: &Path, (header, rows): (Vec<&'static str>, Vec<Vec<String>>)) -> Result<()> {
    let mut w = csv_writer(path)?;
    w.write_record(&header)?;
    for r in rows {
        w.write_record(&r)?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))
}

fn write(plan: &Plan, out: &Path) -> Result<()> {
    let text = |name: &str, j: serde_json::Value| {
        let path = out.join(name);
        std::fs::write(&path, j.to_string() + "\n")
            .with_context(|| format!("writing {}", path.display()))
    };
    text("siting.json", plan.to_json())?;
    text("homes.geojson", plan.sites_geojson())?;
    text("villages.geojson", plan.villages_geojson())?;
    write_table(&out.join("villages.csv"), plan.villages_table())?;
    write_table(&out.join("curve.csv"), plan.curve_table())?;
    write_table(&out.join("matrix.csv"), plan.matrix_table())?;
    write_table(&out.join("demand.csv"), plan.demand_table())?;
    Ok(())
}
