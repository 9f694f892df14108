//! `chaski catchments`: travel time from every cell and village to the
//! nearest health facility, the facility each one reaches (allocation),
//! isochrone bands and per-district access.
//!
//! The surface is a DEM (from the store, or `--dem-file`) walked with the
//! anisotropic Tobler model of a scenario (paths, roads and rivers of the
//! store burned in when present), or a user's friction raster (`--friction`).
//! Rasters in EPSG:4326 are warped to the UTM zone of their centre at their own
//! resolution (e.g. 1 arc-second becomes 30 m): each target cell centre is
//! mapped back to longitude/latitude through PROJ (exactly on a lattice every
//! few cells, bilinearly in between, checked to stay within a millimetre) and
//! sampled bilinearly from the valid neighbours; a target cell has data when
//! the source cell under its centre has (as `gdalwarp -r near`).
//!
//! Villages outside the grid or on nodata cells are reported as "outside the
//! surface" and never given a time.

use anyhow::{Context, Result};
use chaski_analysis::travel::cost::{Direction, NO_SOURCE};
use chaski_analysis::travel::scenario::Scenario;
use chaski_analysis::travel::uncertainty::Interval;
use chaski_analysis::travel::village_access::{AccessStatus, DistrictSummary};
use chaski_analysis::travel::vocab::{BirthCareFilter, CategoryFilter};
use chaski_analysis::travel::{
    RunSettings, SourceFilter, TravelError, TravelInputs, TravelOptions, TravelResult, read_layers,
};
use chaski_core::raster::Raster;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value as Json, json};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub use crate::surface::SurfaceArgs;

/// District time thresholds in minutes (cumulative), beyond the last = "beyond 4 hours".
pub const DISTRICT_MINUTES: [f64; 3] = [60.0, 120.0, 240.0];

/// Errors of `chaski catchments` (each names the input at fault).
#[derive(Debug, thiserror::Error)]
pub enum CatchmentsError {
    /// An option of the pipeline, named as its flag.
    #[error("{0}")]
    Flag(String),
    /// The scenario file could not be read or is invalid.
    #[error("scenario {path}: {reason}")]
    Scenario {
        /// File.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Compression of the output GeoTIFFs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Compress {
    /// Deflate (level 1): read by every GIS.
    Deflate,
    /// Zstandard (level 1): faster, read by GDAL 2.3 or later (QGIS 3).
    Zstd,
    /// None: fastest, about 3.5 times larger files.
    None,
}

/// Birth-care filter of the sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BirthCareArg {
    /// Basic or complete emergency obstetric care.
    Basic,
    /// Complete emergency obstetric care.
    Complete,
}

impl From<BirthCareArg> for BirthCareFilter {
    fn from(b: BirthCareArg) -> Self {
        match b {
            BirthCareArg::Basic => Self::Basic,
            BirthCareArg::Complete => Self::Complete,
        }
    }
}

/// Arguments of `chaski catchments`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The travel surface and the layers on it.
    #[command(flatten)]
    pub surface: SurfaceArgs,

    /// Folder for the outputs (created when missing).
    #[arg(long)]
    pub out: PathBuf,

    /// Only facilities of these categories: '>=I-3', '>I-2', '<=I-2', 'I-4', 'I-3,I-4'.
    #[arg(long, allow_hyphen_values = true)]
    pub category: Option<CategoryFilter>,

    /// Only facilities with this birth care: basic (basic or complete) or complete.
    #[arg(long)]
    pub birth_care: Option<BirthCareFilter>,

    /// Also list the villages outside the raster's extent (all "outside the surface").
    #[arg(long)]
    pub all_villages: bool,

    /// District polygons layer: population within 60, 120 and 240 minutes per district.
    #[arg(long)]
    pub districts: Option<String>,

    /// Travel to the facility (patients: `to`) or from it (staff: `from`).
    #[arg(long, default_value = "to")]
    pub direction: Direction,

    /// Stop the search at this many minutes (cells farther stay without a time).
    #[arg(long, allow_negative_numbers = true)]
    pub max_minutes: Option<f64>,

    /// Compression of the output GeoTIFFs.
    #[arg(long, value_enum, default_value = "deflate")]
    pub compress: Compress,

    /// Isochrone bands in minutes (cumulative).
    #[arg(long, value_delimiter = ',', default_value = "30,60,120,240")]
    pub bands: Vec<f64>,

    /// Monte Carlo runs over the scenario's speed ranges (seeded): adds the 5 %,
    /// median and 95 % minutes of every village to villages.csv/.geojson.
    #[arg(long)]
    pub uncertainty: Option<u32>,
}

/// Time spent in each stage, for the summary.
struct Stages {
    lap: Instant,
    done: Vec<(&'static str, Duration)>,
    bar: ProgressBar,
}

impl Stages {
    fn new(steps: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:24}] {pos}/{len} {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        // Hidden when stderr is not a terminal: then no ticker thread either.
        if !bar.is_hidden() {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Self {
            lap: Instant::now(),
            done: Vec::new(),
            bar,
        }
    }

    /// Start the next stage (the previous one ends).
    fn next(&mut self, message: &'static str) {
        self.bar.set_message(message);
    }

    /// End the current stage under `label`.
    fn end(&mut self, label: &'static str) {
        let now = Instant::now();
        self.done.push((label, now - self.lap));
        tracing::info!(stage = label, elapsed = ?(now - self.lap));
        self.lap = now;
        self.bar.inc(1);
    }

    fn line(&self) -> String {
        self.done
            .iter()
            .map(|(l, d)| format!("{l} {:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Everything computed, ready to write.
struct Outcome<'a> {
    result: &'a TravelResult,
    /// Monte Carlo 5 %, median and 95 % times per village (`--uncertainty`).
    intervals: Option<&'a [Option<Interval>]>,
    districts: Option<&'a DistrictSummary>,
    bands: &'a [f64],
    direction: &'static str,
    compress: Compress,
    /// What the run used and assumed.
    report: &'a chaski_analysis::travel::RunReport,
}

/// GeoTIFF creation options: tiled, as [`chaski_io::raster::write_geotiff`]
/// writes, compressed as asked at the fastest level (deflate level 1 writes the
/// travel-time raster about three times faster than level 6 for a file about
/// 2 % larger). Travel times take the horizontal-differencing predictor
/// (TIFF predictor 2, lossless on 32-bit floats as on integers): on Torobamba
/// it writes in 40 ms instead of 60 ms with the floating-point predictor, for a
/// file a third smaller (512 KB against 759 KB). The allocation (runs of
/// small integers) compresses smaller and faster without a predictor.
fn geotiff_options(compress: Compress, predictor: bool) -> Vec<&'static str> {
    let mut opts = vec!["TILED=YES"];
    match compress {
        Compress::Deflate => opts.extend(["COMPRESS=DEFLATE", "ZLEVEL=1"]),
        Compress::Zstd => opts.extend(["COMPRESS=ZSTD", "ZSTD_LEVEL=1"]),
        Compress::None => return opts,
    }
    if predictor {
        opts.push("PREDICTOR=2");
    }
    opts
}

fn write_geotiff(
    raster: Raster<f32>,
    path: &Path,
    options: &[&str],
    info: &chaski_io::raster::BandInfo<'_>,
) -> Result<()> {
    let t0 = Instant::now();
    chaski_io::raster::write_raster_described(raster, path, "GTiff", options, info)?;
    tracing::debug!(elapsed = ?t0.elapsed(), "wrote {}", path.display());
    Ok(())
}

use crate::output::csv_writer;

/// A population for a table cell: empty when unknown (never 0 for unknown).
fn population_cell(c: &chaski_analysis::travel::village_access::Count) -> String {
    c.known_population()
        .map(|p| p.to_string())
        .unwrap_or_default()
}

fn fmt_minutes(m: Option<f64>) -> String {
    m.map(|m| m.to_string()).unwrap_or_default()
}

fn write_tables(o: &Outcome<'_>, out: &Path) -> Result<()> {
    // Allocation legend.
    let (times, facilities) = (&o.result.times, &o.result.sources);
    let n = facilities.len();
    let mut cells = vec![0usize; n];
    for &a in &times.allocation {
        if a != NO_SOURCE {
            if let Some(c) = cells.get_mut(a as usize) {
                *c += 1;
            }
        }
    }
    let (reached, _) = served(o.result);
    let path = out.join("allocation.csv");
    let mut w = csv_writer(&path)?;
    w.write_record([
        "index", "code", "name", "category", "lon", "lat", "status", "cells", "villages",
    ])?;
    for (i, f) in facilities.iter().enumerate() {
        let status = if times.skipped_sources.contains(&i) {
            "outside the surface"
        } else if cells[i] == 0 {
            "shares a cell with an earlier facility"
        } else {
            "source"
        };
        w.write_record([
            i.to_string(),
            f.code.clone(),
            f.name.clone(),
            f.category.clone(),
            f.lonlat.0.to_string(),
            f.lonlat.1.to_string(),
            status.to_owned(),
            cells[i].to_string(),
            reached[i].to_string(),
        ])?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    // Villages.
    let path = out.join("villages.csv");
    let mut w = csv_writer(&path)?;
    let mut header = vec![
        "code", "name", "minutes", "facility", "status", "lon", "lat",
    ];
    if o.intervals.is_some() {
        header.extend(["minutes_low", "minutes_median", "minutes_high"]);
    }
    w.write_record(&header)?;
    let places = &o.result.places;
    let mut features = Vec::with_capacity(places.len());
    for (i, (p, a)) in places.iter().zip(&o.result.access).enumerate() {
        let facility = a.facility.clone().unwrap_or_default();
        let mut row = vec![
            p.village.code.clone(),
            p.village.name.clone(),
            fmt_minutes(a.minutes),
            facility.clone(),
            a.status.reason().to_owned(),
            p.lonlat.0.to_string(),
            p.lonlat.1.to_string(),
        ];
        let mut properties = json!({
            "code": p.village.code,
            "name": p.village.name,
            "minutes": a.minutes,
            "facility": a.facility,
            "status": a.status.reason(),
        });
        if let Some(intervals) = o.intervals {
            let band = intervals.get(i).copied().flatten();
            let minutes =
                |v: Option<f32>| v.map(f64::from).filter(|v| v.is_finite()).map(|v| v / 60.0);
            let (low, median, high) = (
                minutes(band.map(|b| b.low)),
                minutes(band.map(|b| b.median)),
                minutes(band.map(|b| b.high)),
            );
            row.extend([fmt_minutes(low), fmt_minutes(median), fmt_minutes(high)]);
            properties["minutes_low"] = json!(low);
            properties["minutes_median"] = json!(median);
            properties["minutes_high"] = json!(high);
        }
        w.write_record(&row)?;
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.lonlat.0, p.lonlat.1]},
            "properties": properties,
        }));
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    let fc = json!({"type": "FeatureCollection", "features": features});
    write_text(&out.join("villages.geojson"), &(fc.to_string() + "\n"))?;
    // Districts: those holding villages; population empty where unknown.
    if let Some(summary) = o.districts {
        let path = out.join("districts.csv");
        let mut w = csv_writer(&path)?;
        let mut header = vec![
            "code".to_owned(),
            "name".to_owned(),
            "villages".to_owned(),
            "population".to_owned(),
            "villages_without_population".to_owned(),
        ];
        for t in DISTRICT_MINUTES {
            header.push(format!("villages_within_{t}"));
            header.push(format!("population_within_{t}"));
            header.push(format!("villages_beyond_{t}"));
            header.push(format!("population_beyond_{t}"));
        }
        header.extend([
            "villages_without_time".to_owned(),
            "population_without_time".to_owned(),
        ]);
        w.write_record(&header)?;
        for d in summary.districts.iter().filter(|d| d.total.villages > 0) {
            let mut row = vec![
                d.code.clone(),
                d.name.clone(),
                d.total.villages.to_string(),
                population_cell(&d.total),
                d.without_population.to_string(),
            ];
            for ((_, within), (_, beyond)) in d.within.iter().zip(&d.beyond_each) {
                row.push(within.villages.to_string());
                row.push(population_cell(within));
                row.push(beyond.villages.to_string());
                row.push(population_cell(beyond));
            }
            row.extend([d.no_time.villages.to_string(), population_cell(&d.no_time)]);
            w.write_record(&row)?;
        }
        w.flush()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The isochrone feature of one band.
fn isochrone_feature(o: &Outcome<'_>, minutes: f64) -> Json {
    let t0 = Instant::now();
    let band = o.result.isochrone(minutes);
    tracing::debug!(elapsed = ?t0.elapsed(), minutes, "isochrone");
    json!({
        "type": "Feature",
        "geometry": band.geometry,
        "properties": {
            "minutes": minutes,
            "area_km2": band.area_km2,
            "scenario": o.result.scenario,
            "direction": o.direction,
        },
    })
}

/// Villages reached and their known population (None: unknown for all of
/// them), per source.
fn served(r: &TravelResult) -> (Vec<u64>, Vec<Option<u64>>) {
    let mut villages = vec![0u64; r.sources.len()];
    let mut population: Vec<Option<u64>> = vec![None; r.sources.len()];
    for (p, a) in r.places.iter().zip(&r.access) {
        if let Some(s) = a.source.filter(|&s| s < r.sources.len()) {
            villages[s] += 1;
            if let Some(n) = p.village.population {
                population[s] = Some(population[s].unwrap_or(0) + n);
            }
        }
    }
    (villages, population)
}

/// Each facility's catchment polygon, with the villages and population it serves.
fn write_catchments(o: &Outcome<'_>, out: &Path) -> Result<()> {
    let t0 = Instant::now();
    let r = o.result;
    let (villages, population) = served(r);
    let mut without = vec![0usize; r.sources.len()];
    for (p, a) in r.places.iter().zip(&r.access) {
        if let Some(s) = a.source.filter(|&s| s < r.sources.len())
            && p.village.population.is_none()
        {
            without[s] += 1;
        }
    }
    let features: Vec<Json> = r
        .catchments()
        .into_iter()
        .filter_map(|c| {
            let f = r.sources.get(c.source)?;
            Some(json!({
                "type": "Feature",
                "geometry": c.geometry,
                "properties": {
                    "index": c.source,
                    "code": f.code,
                    "name": f.name,
                    "category": f.category,
                    "area_km2": c.area_km2,
                    "villages": villages[c.source],
                    "population": population[c.source],
                    "villages_without_population": without[c.source],
                    "scenario": r.scenario,
                    "direction": o.direction,
                },
            }))
        })
        .collect();
    tracing::debug!(elapsed = ?t0.elapsed(), "catchments");
    let fc = json!({"type": "FeatureCollection", "features": features});
    write_text(&out.join("catchments.geojson"), &(fc.to_string() + "\n"))
}

/// One piece of output work.
#[derive(Clone, Copy)]
enum Task {
    TravelTime,
    Allocation,
    Band(usize),
    Catchments,
    Tables,
}

/// Write every output, spread over two threads.
fn write_outputs(o: &Outcome<'_>, out: &Path) -> Result<()> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Longest first, then ordered so that the two threads finish together.
    let mut tasks = vec![Task::TravelTime];
    tasks.extend((0..o.bands.len()).rev().map(Task::Band));
    tasks.extend([Task::Allocation, Task::Catchments, Task::Tables]);
    let next = AtomicUsize::new(0);
    let features: Mutex<Vec<Json>> = Mutex::new(vec![Json::Null; o.bands.len()]);
    // What the rasters hold, in their metadata (GDAL and QGIS show it).
    let moves = o.report.moves.to_string();
    let cell = o.report.cell_m.to_string();
    let assumptions = o.report.assumptions.join(" ");
    let metadata: [(&str, &str); 6] = [
        ("CHASKI_SCENARIO", &o.report.scenario),
        ("CHASKI_DIRECTION", o.direction),
        ("CHASKI_MOVES", &moves),
        ("CHASKI_RASTER", &o.report.raster),
        ("CHASKI_CELL_M", &cell),
        ("CHASKI_ASSUMPTIONS", &assumptions),
    ];
    let time_description = format!("travel time {} (minutes; nodata: not reached)", o.direction);
    let run = |task: Task| -> Result<()> {
        match task {
            Task::TravelTime => write_geotiff(
                o.result.minutes_raster(),
                &out.join("travel_time.tif"),
                &geotiff_options(o.compress, true),
                &chaski_io::raster::BandInfo {
                    description: &time_description,
                    unit: "minutes",
                    metadata: &metadata,
                },
            ),
            Task::Allocation => {
                let mut alloc = o.result.times.allocation_raster();
                alloc.epsg = Some(o.result.metric.epsg);
                write_geotiff(
                    alloc,
                    &out.join("allocation.tif"),
                    &geotiff_options(o.compress, false),
                    &chaski_io::raster::BandInfo {
                        description: "nearest facility: its index in allocation.csv (nodata: \
                                      not reached)",
                        unit: "index",
                        metadata: &metadata,
                    },
                )
            }
            Task::Band(i) => {
                let f = isochrone_feature(o, o.bands[i]);
                let mut all = features
                    .lock()
                    .map_err(|_| anyhow::anyhow!("an isochrone thread panicked"))?;
                if let Some(slot) = all.get_mut(i) {
                    *slot = f;
                }
                Ok(())
            }
            Task::Catchments => write_catchments(o, out),
            Task::Tables => write_tables(o, out),
        }
    };
    let worker = || -> Result<()> {
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&task) = tasks.get(k) else {
                return Ok(());
            };
            run(task)?;
        }
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(worker);
        let b = worker();
        (a.join(), b)
    });
    a.map_err(|_| anyhow::anyhow!("an output thread panicked"))??;
    b?;
    let features = features
        .into_inner()
        .map_err(|_| anyhow::anyhow!("an isochrone thread panicked"))?;
    let fc = json!({"type": "FeatureCollection", "features": features});
    write_text(&out.join("isochrones.geojson"), &(fc.to_string() + "\n"))?;
    let run = serde_json::to_string_pretty(o.report)?;
    write_text(&out.join("run.json"), &(run + "\n"))
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn check_args(args: &Args) -> Result<Vec<f64>> {
    if let Some(m) = args.max_minutes {
        if !(m.is_finite() && m > 0.0) {
            return Err(TravelError::Option {
                option: "max_minutes",
                value: m.to_string(),
                reason: "must be a positive number of minutes",
            }
            .into());
        }
    }
    let mut bands = args.bands.clone();
    if bands.is_empty() || bands.iter().any(|b| !(b.is_finite() && *b > 0.0)) {
        return Err(TravelError::Option {
            option: "bands",
            value: format!("{:?}", args.bands),
            reason: "must be positive numbers of minutes",
        }
        .into());
    }
    bands.sort_by(f64::total_cmp);
    bands.dedup();
    Ok(bands)
}

/// The options of the shared pipeline ([`chaski_analysis::travel`]) for `args`.
fn access_options(args: &Args) -> TravelOptions {
    TravelOptions {
        all_villages: args.all_villages,
        districts: args.districts.clone(),
        category: args.category.clone(),
        birth_care: args.birth_care,
        ..args.surface.travel_options()
    }
}

/// Run `chaski catchments`.
pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    run_pipeline(store_path, args).map_err(|e| match e.downcast::<TravelError>() {
        Ok(t) => flagged(t),
        Err(e) => e,
    })
}

/// The flag of a pipeline option (`max_minutes` is `--max-minutes`).
fn flag(option: &str) -> String {
    format!("--{}", option.replace('_', "-"))
}

/// A pipeline error as the command line says it: options named by their flags.
fn flagged(e: TravelError) -> anyhow::Error {
    let text = match &e {
        TravelError::Option {
            option,
            value,
            reason,
        } => format!("{} {value}: {reason}", flag(option)),
        TravelError::MissingLayer {
            layer,
            option,
            available,
        } => format!(
            "layer '{layer}' ({}) is not in the store; it has {available}",
            flag(option)
        ),
        TravelError::NotPolygons {
            layer,
            option,
            holds,
        } => format!(
            "layer '{layer}' ({}) holds {holds}, not polygons: name a layer of district \
             boundaries (import one with `chaski import FILE --layer districts --kind boundaries`)",
            flag(option)
        ),
        TravelError::Districts { option, reason } => format!("{}: {reason}", flag(option)),
        TravelError::Dem { .. } => format!("{e} (--dem)"),
        _ => return e.into(),
    };
    CatchmentsError::Flag(text).into()
}

fn run_pipeline(store_path: &Path, args: &Args) -> Result<ExitCode> {
    let start = Instant::now();
    let bands = check_args(args)?;
    let filter = SourceFilter::new(args.category.as_ref(), args.birth_care);
    let opts = access_options(args);
    let mut stages = Stages::new(6);

    stages.next("reading the store and the raster");
    // A raster file (GDAL) is read on the other core while the store (SQLite)
    // opens and its layers are read.
    let file = args
        .surface
        .friction
        .as_ref()
        .or(args.surface.dem_file.as_ref());
    let (layers, input) = std::thread::scope(|s| -> Result<_> {
        let raster = file.map(|f| s.spawn(move || chaski_io::raster::read_raster(f)));
        let store = crate::store::open(store_path)?;
        let layers = read_layers(store.as_ref(), &opts)?;
        tracing::debug!("layers read");
        let input = if let (Some(handle), Some(f)) = (raster, file) {
            let r = handle
                .join()
                .map_err(|_| anyhow::anyhow!("reading the raster panicked"))??;
            (r, f.display().to_string())
        } else {
            let dem = chaski_analysis::travel::find_dem(
                store.as_ref(),
                args.surface.dem.as_deref(),
                args.surface.land_cover.as_deref(),
            )?;
            let r = store
                .read_raster(&dem)
                .with_context(|| format!("reading the DEM '{dem}' from the store"))?;
            (r, format!("'{dem}'"))
        };
        Ok((layers, input))
    })?;
    let (input, what) = input;
    stages.end("read");

    stages.next("projecting the raster");
    if args.surface.friction.is_some() {
        for (o, v) in [
            ("paths", &args.surface.paths),
            ("roads", &args.surface.roads),
            ("rivers", &args.surface.rivers),
        ] {
            if v.is_some() {
                tracing::warn!("--{o} is ignored with --friction");
            }
        }
    }
    let inputs = TravelInputs::new(
        &layers,
        input,
        &what,
        &opts,
        &chaski_io::crs::ProjProjections,
    )?;
    let metric = &inputs.metric;
    stages.end("project");

    stages.next("building the travel surface");
    let scenario = if args.surface.friction.is_some() {
        Scenario::walking()
    } else {
        args.surface.scenario()?
    };
    let scenario_name = inputs.scenario_name(&scenario);
    let surface = inputs.surface(&scenario)?;
    stages.end("surface");

    stages.next("searching");
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let direction = args.direction;
    let result = inputs.run_on(
        &surface,
        &scenario_name,
        &inputs.facilities,
        &format!("layer '{}'", args.surface.facilities),
        RunSettings {
            direction,
            max_minutes: args.max_minutes,
            neighbourhood: args.surface.moves,
        },
    )?;
    drop(surface);
    stages.end("search");

    stages.next("villages and districts");
    let access = &result.access;
    if inputs.districts.is_some() && args.max_minutes.is_some_and(|m| m < DISTRICT_MINUTES[2]) {
        tracing::warn!(
            "--max-minutes is under {} min: districts.csv counts villages not reached as beyond {} min",
            DISTRICT_MINUTES[2],
            DISTRICT_MINUTES[2]
        );
    }
    let summary = match &inputs.districts {
        Some(d) => Some(result.district_summary(d, &DISTRICT_MINUTES)?),
        None => None,
    };
    let intervals = match args.uncertainty {
        Some(runs) => {
            let bar = stages.bar.clone();
            Some(
                inputs.uncertainty(&scenario, &result, runs, &|done, total| {
                    bar.set_message(format!("uncertainty: Monte Carlo run {done} of {total}"));
                })?,
            )
        }
        None => None,
    };
    stages.end("villages");

    stages.next("writing outputs");
    let direction = args.direction.describe();
    let report = inputs.report(&scenario, &result);
    let outcome = Outcome {
        result: &result,
        intervals: intervals.as_deref(),
        districts: summary.as_ref(),
        bands: &bands,
        direction,
        compress: args.compress,
        report: &report,
    };
    write_outputs(&outcome, &args.out)?;
    stages.end("write");
    stages.bar.finish_and_clear();

    // Summary.
    let mut text = String::new();
    let skipped = result.times.skipped_sources.len();
    let used = result.used;
    writeln!(
        text,
        "catchments: {scenario_name}, {direction}; facilities in '{}' matching {}: {}, {used} used as sources{}",
        args.surface.facilities,
        filter.describe(),
        inputs.facilities.len(),
        if skipped > 0 {
            format!(", {skipped} outside the surface")
        } else {
            String::new()
        }
    )?;
    let grid = &result.times.grid;
    let (cw, _) = grid.cell_size();
    writeln!(
        text,
        "grid: {} x {} cells of {cw} m (EPSG:{}{}), {} passable, {} reached",
        grid.width,
        grid.height,
        metric.epsg,
        if metric.warped {
            ", warped from EPSG:4326"
        } else {
            ""
        },
        result.passable_cells,
        result.times.settled
    )?;
    if inputs.villages_layer.is_some() {
        let count = |s: AccessStatus| access.iter().filter(|a| a.status == s).count();
        let later = access
            .iter()
            .filter(|a| a.minutes.is_some_and(|m| m > 120.0))
            .count();
        // Villages not reached are beyond 2 h only when the search went that far.
        let beyond = match args.max_minutes {
            Some(m) if m < 120.0 => format!(
                "{} not reached within the {m} min searched (2 h not searched)",
                count(AccessStatus::NotReached)
            ),
            _ => format!("{} beyond 2 h", later + count(AccessStatus::NotReached)),
        };
        let mut parts: Vec<String> = AccessStatus::ALL
            .iter()
            .map(|&s| (s, count(s)))
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {}", s.reason()))
            .collect();
        if parts.is_empty() {
            parts.push("none".to_owned());
        }
        writeln!(
            text,
            "villages of '{}': {} listed{}: {}; {beyond}",
            args.surface.villages,
            result.places.len(),
            if inputs.outside_extent > 0 && !args.all_villages {
                format!(
                    " ({} outside the raster's extent not listed)",
                    inputs.outside_extent
                )
            } else {
                String::new()
            },
            parts.join(", ")
        )?;
    }
    for line in report.lines() {
        writeln!(text, "{line}")?;
    }
    writeln!(
        text,
        "outputs in {} (what was used and assumed: run.json)",
        args.out.display()
    )?;
    writeln!(
        text,
        "time: {:.2} s ({})",
        start.elapsed().as_secs_f64(),
        stages.line()
    )?;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    tracing::debug!("summary printed");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaski_analysis::travel::SurfaceModel;
    use chaski_analysis::travel::cost::Neighbourhood;

    #[test]
    fn options_follow_the_arguments() {
        use clap::Parser;
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let cli = Cli::parse_from([
            "x",
            "--out",
            "o",
            "--category",
            ">=I-3",
            "--birth-care",
            "complete",
            "--rivers",
            "none",
            "--friction",
            "f.tif",
            "--friction-unit",
            "s_per_m",
            "--moves",
            "24",
        ]);
        let o = access_options(&cli.args);
        assert_eq!(o.category.map(|c| c.to_string()).as_deref(), Some(">=I-3"));
        assert_eq!(o.birth_care, Some(BirthCareFilter::Complete));
        assert_eq!(o.rivers.as_deref(), Some("none"));
        assert_eq!(o.model, SurfaceModel::SecondsPerMetre);
        assert_eq!(o.neighbourhood, Neighbourhood::Extended24);
        assert_eq!(
            (o.dem.as_deref(), o.villages.as_str()),
            (None, "communities")
        );
    }
}
