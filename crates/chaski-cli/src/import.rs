//! `chaski import`: read a file, validate and type it, index it and store it.

use anyhow::{Context, Result};
use chaski_core::auth::{Access, AccessRecord, Role, TokenStore};
use chaski_core::household::places::Places;
use chaski_core::index::SpatialIndex;
use chaski_core::layer::LayerKind;
use chaski_core::store::{Store, WriteMode};
use chaski_io::households::{HouseholdWriter, write_households};
use chaski_io::import::{Action, ImportOptions, ImportReport, Imported, Region, thousands};
use chaski_io::mapping::Mapping;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `chaski import`.
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)] // command-line flags
pub struct Args {
    /// File to import: CSV (also ODK Central and KoBoToolbox exports), GeoPackage,
    /// Shapefile, GeoJSON or any vector format GDAL reads; GeoTIFF or another raster
    /// for elevation.
    pub file: PathBuf,

    /// Name of the layer (or raster) in the store, e.g. communities, facilities, dem.
    #[arg(long)]
    pub layer: String,

    /// What the layer holds (communities, facilities, water_systems, boundaries,
    /// paths, roads, rivers, households); taken from the layer name when it is one.
    #[arg(long)]
    pub kind: Option<LayerKind>,

    /// TOML file renaming source columns to chaski fields (see README).
    #[arg(long)]
    pub mapping: Option<PathBuf>,

    /// Layer of a multi-layer source (GeoPackage, KML...); default the first one.
    #[arg(long)]
    pub source_layer: Option<String>,

    /// Add the features to the layer instead of replacing it.
    #[arg(long, conflicts_with_all = ["upsert", "replace"])]
    pub append: bool,

    /// Replace the layer (the default, except for households, which are upserted).
    #[arg(long, conflicts_with = "upsert")]
    pub replace: bool,

    /// Update features with the same key, add the others: households are matched on
    /// their submission id (ODK `meta-instanceID`, KoBo `_uuid`), else on their code;
    /// other layers on their code. Re-importing an export then updates instead of
    /// duplicating. The default for households.
    #[arg(long)]
    pub upsert: bool,

    /// Join the file to the stored layer on this field (e.g. `code`) instead of
    /// adding features: each row updates the values of the stored features
    /// with the same key (a census table's population and households onto the
    /// villages); no coordinates needed. Rows that match no feature are listed
    /// (all of them with --report). A mapping file's `[join] key` does the same.
    #[arg(long, value_name = "FIELD", conflicts_with_all = ["append", "upsert", "replace"])]
    pub join: Option<String>,

    /// Import nothing if any row is rejected.
    #[arg(long)]
    pub strict: bool,

    /// Write every row problem to this file (JSON).
    #[arg(long)]
    pub report: Option<PathBuf>,

    /// Expected area, `min_lon,min_lat,max_lon,max_lat`, `peru` or `none`; used to catch
    /// swapped coordinates. Default: Peru.
    #[arg(long)]
    pub region: Option<String>,

    /// Exchange latitude and longitude of points that look swapped instead of rejecting them.
    #[arg(long)]
    pub fix_swapped: bool,

    /// How many row problems to print (all go to --report).
    #[arg(long, default_value_t = 20)]
    pub show: usize,
}

impl Args {
    /// Import options from the arguments.
    pub fn options(&self) -> Result<ImportOptions> {
        let mut opts = ImportOptions::new(self.layer.clone());
        opts.kind = self.kind;
        opts.source_layer.clone_from(&self.source_layer);
        opts.fix_swapped = self.fix_swapped;
        opts.join.clone_from(&self.join);
        if let Some(m) = &self.mapping {
            opts.mapping = Some(Mapping::from_path(m)?);
        }
        if let Some(r) = &self.region {
            opts.region = if r.eq_ignore_ascii_case("none") {
                None
            } else if r.eq_ignore_ascii_case("peru") {
                Some(Region::peru())
            } else {
                Some(Region::parse_bounds(r).with_context(|| {
                    format!(
                        "--region '{r}': expected min_lon,min_lat,max_lon,max_lat, peru or none"
                    )
                })?)
            };
        }
        Ok(opts)
    }

    /// The write mode: the flag given, else upsert for households (exports from
    /// several CHAs accumulate and re-imports update) and replace for the rest.
    fn mode(&self, kind: Option<LayerKind>) -> WriteMode {
        if self.append {
            WriteMode::Append
        } else if self.upsert || (!self.replace && kind == Some(LayerKind::Households)) {
            WriteMode::Upsert
        } else {
            WriteMode::Replace
        }
    }
}

/// What one import did.
#[derive(Debug)]
pub struct Outcome {
    /// Row report (vector imports).
    pub report: Option<ImportReport>,
    /// Human-readable summary line.
    pub summary: String,
    /// True when nothing could be imported.
    pub empty: bool,
}

/// Who runs the command, for the access log: `cli:USER`.
pub fn cli_user() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("cli:{user}")
}

/// What a vector write did.
struct Written {
    inserted: usize,
    updated: usize,
    deleted: usize,
    version: u64,
}

/// Import `path` into `store`. Household layers written in upsert mode go
/// through the scoped household write with admin rights (rows matched on
/// their submission id, else their code within their CHA sector; `consent =
/// no` rows delete the family's records); their places are registered and the
/// write is logged in `tokens` when given.
pub fn import_into(
    store: &dyn Store,
    tokens: Option<&dyn TokenStore>,
    path: &Path,
    opts: &ImportOptions,
    mode: WriteMode,
    strict: bool,
) -> Result<Outcome> {
    let start = Instant::now();
    chaski_core::store::check_name(&opts.layer)?;
    // A joined table takes the kind of the stored layer it joins.
    let with_kind;
    let opts = if opts.join_key().is_some()
        && chaski_io::import::resolve_kind(opts).is_err()
        && let Ok(info) = store.layer_info(&opts.layer)
    {
        let mut o = opts.clone();
        o.kind = Some(info.kind);
        with_kind = o;
        &with_kind
    } else {
        opts
    };
    // Household rows are checked against the store's community and facility codes.
    let households = chaski_io::import::resolve_kind(opts).ok() == Some(LayerKind::Households);
    let mut with_codes;
    let opts = if opts.known_codes.is_none() && households {
        with_codes = opts.clone();
        with_codes.known_codes = Some(std::sync::Arc::new(
            chaski_io::households::KnownCodes::from_store(store)?,
        ));
        &with_codes
    } else {
        opts
    };
    let bar = crate::output::spinner(format!("reading and checking {}", path.display()));
    let imported = chaski_io::import::import_file(path, opts);
    bar.finish_and_clear();
    let imported = imported?;
    tracing::info!(elapsed = ?start.elapsed(), "read and validated {}", path.display());
    match imported {
        Imported::Raster(_) if opts.join_key().is_some() => anyhow::bail!(
            "{}: --join needs a table, and this file is a raster",
            path.display()
        ),
        Imported::Raster(raster) => {
            let (w, h) = (raster.width, raster.height);
            let epsg = raster
                .epsg
                .map_or_else(|| "no CRS".to_owned(), |e| format!("EPSG:{e}"));
            store.write_raster(&opts.layer, &raster)?;
            Ok(Outcome {
                report: None,
                summary: format!(
                    "{}: raster {w} x {h} ({epsg}) stored as '{}' in {:.2} s",
                    path.display(),
                    opts.layer,
                    start.elapsed().as_secs_f64()
                ),
                empty: false,
            })
        }
        Imported::Layer(layer, mut report) => {
            if layer.is_empty() && report.withdrawals.is_empty() {
                return Ok(Outcome {
                    summary: format!(
                        "{}: nothing imported: all {} {}s were rejected",
                        path.display(),
                        report.read,
                        report.row_label
                    ),
                    report: Some(report),
                    empty: true,
                });
            }
            if strict && report.rejected > 0 {
                let summary = format!(
                    "{}: {} {}s rejected and --strict is set: nothing imported",
                    path.display(),
                    report.rejected,
                    report.row_label,
                );
                return Ok(Outcome {
                    report: Some(report),
                    summary,
                    empty: true,
                });
            }
            if let Some(key) = opts.join_key() {
                return join(store, &layer, report, key, start);
            }
            if mode == WriteMode::Append && !households {
                if let Some(w) = duplicate_codes(store, &layer, &report)? {
                    report.warnings.push(w);
                }
            }
            let who = cli_user();
            let write = || -> Result<Written> {
                if households && mode == WriteMode::Upsert {
                    let admin = Access::new(Role::Admin, None, false)?;
                    let writer = HouseholdWriter {
                        access: &admin,
                        who: Some(&who),
                        what: "chaski import",
                        tokens,
                        max_distance_m: chaski_core::household::write::DEFAULT_MAX_DISTANCE_M,
                    };
                    let known = opts.known_codes.clone().unwrap_or_default();
                    let w = write_households(
                        store,
                        &writer,
                        &opts.layer,
                        layer.clone(),
                        &report,
                        &known,
                    )?;
                    return Ok(Written {
                        inserted: w.inserted,
                        updated: w.updated,
                        deleted: w.deleted_records(),
                        version: w.version,
                    });
                }
                let w = store.write_layer(&layer, mode)?;
                if households && let Some(tokens) = tokens {
                    let places = Places::new(tokens.places()?);
                    tokens.add_places(&places.missing_from(&layer))?;
                    tokens.log(&AccessRecord {
                        who: Some(&who),
                        what: "chaski import",
                        count: (w.inserted + w.updated) as u64,
                        status: 0,
                        detail: Some(&format!(
                            "{mode:?}: inserted {}, updated {}",
                            w.inserted, w.updated
                        )),
                    })?;
                }
                Ok(Written {
                    inserted: w.inserted,
                    updated: w.updated,
                    deleted: w.removed,
                    version: w.version,
                })
            };
            // Index in the metric CRS (the UTM zone of the data), as analyses will.
            // Both cores: index while the store writes.
            let bar = crate::output::spinner(format!("writing '{}' to the store", opts.layer));
            let (index, written) = std::thread::scope(|s| {
                let index = s.spawn(|| -> Result<Option<u32>> {
                    let Some(bounds) = layer.bounds() else {
                        return Ok(None);
                    };
                    let projection = chaski_io::crs::metric_projection(&bounds)?;
                    Ok(Some(SpatialIndex::build(&layer, projection)?.metric_epsg()))
                });
                let written = write();
                (index.join(), written)
            });
            bar.finish_and_clear();
            let epsg = index.map_err(|_| anyhow::anyhow!("the spatial index build panicked"))??;
            let written = written?;
            tracing::info!(elapsed = ?start.elapsed(), "indexed and stored");
            let summary = format!(
                "{}: {} {}s read, {} imported into '{}' ({} inserted, {} updated{}), {} rejected, {} repaired, {} warnings; \
                 {}store version {}; {:.2} s",
                path.display(),
                report.read,
                report.row_label,
                report.imported,
                opts.layer,
                written.inserted,
                written.updated,
                if households && mode == WriteMode::Upsert {
                    format!(", {} deleted by consent withdrawal", written.deleted)
                } else {
                    String::new()
                },
                report.rejected,
                report.count(Action::Repaired),
                report.warning_count(),
                epsg.map_or_else(String::new, |e| format!("indexed in EPSG:{e}; ")),
                written.version,
                start.elapsed().as_secs_f64()
            );
            Ok(Outcome {
                report: Some(report),
                summary,
                empty: false,
            })
        }
    }
}

/// The warning for appended features whose code is already stored, if any.
fn duplicate_codes(
    store: &dyn Store,
    layer: &chaski_core::layer::Layer,
    report: &ImportReport,
) -> Result<Option<String>> {
    let Some(ci) = layer.field_index("code") else {
        return Ok(None);
    };
    if !store.layers()?.iter().any(|l| l.name == layer.name) {
        return Ok(None);
    }
    let stored = store.read_layer(&layer.name)?;
    let Some(si) = stored.field_index("code") else {
        return Ok(None);
    };
    let code = |v: &chaski_core::value::Value| match v {
        chaski_core::value::Value::Text(t) => Some(t.trim().to_owned()),
        chaski_core::value::Value::Int(i) => Some(i.to_string()),
        _ => None,
    };
    let codes: std::collections::HashSet<String> = stored
        .features
        .iter()
        .filter_map(|f| f.values.get(si).and_then(code))
        .collect();
    let dup = layer
        .features
        .iter()
        .filter(|f| {
            f.values
                .get(ci)
                .and_then(code)
                .is_some_and(|c| codes.contains(&c))
        })
        .count();
    Ok((dup > 0).then(|| {
        format!(
            "{} of {} {}s have a code already in '{}': appended as duplicates; use --upsert to \
             update them",
            thousands(dup),
            thousands(layer.len()),
            report.row_label,
            layer.name
        )
    }))
}

/// Join a table to the stored layer on `key` and say what it did.
fn join(
    store: &dyn Store,
    layer: &chaski_core::layer::Layer,
    mut report: ImportReport,
    key: &str,
    start: Instant,
) -> Result<Outcome> {
    let key = chaski_core::schema::normalize_name(key);
    let file = report.file.clone();
    let s = chaski_io::join::join_into(store, layer, &report.feature_rows, &key, &file)?;
    let label = report.row_label;
    if !s.unmatched.is_empty() {
        report.warnings.push(format!(
            "{} of {} {label}s match no feature of '{}' by {key} (first: {label} {}, {key} '{}')",
            thousands(s.unmatched.len()),
            thousands(s.rows),
            s.layer,
            s.unmatched[0].row,
            s.unmatched[0].key
        ));
    }
    for n in &s.not_converted {
        report.warnings.push(format!(
            "{} values of field '{}' are not {} as in the store (e.g. '{}'): left as they were",
            thousands(n.count),
            n.field,
            n.stored_type,
            n.example
        ));
    }
    if s.matched_without_zeros > 0 {
        report.notes.push(format!(
            "{} {label}s matched only once leading zeros were ignored (a spreadsheet drops them \
             from codes)",
            thousands(s.matched_without_zeros)
        ));
    }
    if let Some(u) = s.population_unknown.filter(|&u| u > 0) {
        report.notes.push(format!(
            "population still unknown for {} of {} villages of '{}'",
            thousands(u),
            thousands(s.stored),
            s.layer
        ));
    }
    let fields = if s.fields.is_empty() {
        String::new()
    } else {
        format!(": {}", s.fields.join(", "))
    };
    let summary = format!(
        "{}: {} {label}s read; joined to '{}' by {key}: {} matched ({} features updated{fields}), \
         {} matched no feature, {} of {} stored features got no row; {} rejected, {} warnings; \
         store version {}; {:.2} s",
        file.display(),
        thousands(report.read),
        s.layer,
        thousands(s.matched),
        thousands(s.features_updated),
        thousands(s.unmatched.len()),
        thousands(s.features_without_row),
        thousands(s.stored),
        report.rejected,
        report.warning_count(),
        s.version,
        start.elapsed().as_secs_f64()
    );
    report.join = Some(s);
    Ok(Outcome {
        report: Some(report),
        summary,
        empty: false,
    })
}

/// The token store of the store at `path` (tokens, access log, places).
pub fn open_tokens(path: &Path) -> Result<Box<dyn TokenStore>> {
    crate::store::open_tokens(path)
}

pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    let opts = args.options()?;
    let store = crate::store::open_or_create(store_path)?;
    let tokens = open_tokens(store_path)?;
    let mode = args.mode(chaski_io::import::resolve_kind(&opts).ok());
    let outcome = import_into(
        store.as_ref(),
        Some(tokens.as_ref()),
        &args.file,
        &opts,
        mode,
        args.strict,
    )?;
    let mut err = std::io::stderr().lock();
    if let Some(report) = &outcome.report {
        for note in &report.notes {
            writeln!(err, "{}: note: {note}", report.file.display())?;
        }
        for warning in &report.warnings {
            writeln!(err, "{}: warning: {warning}", report.file.display())?;
        }
        // Many rows with the same problem: one line per kind of problem first.
        let mut groups: std::collections::BTreeMap<(String, &str), (usize, usize)> =
            std::collections::BTreeMap::new();
        for (i, issue) in report.issues.iter().enumerate() {
            let action = match issue.action {
                Action::Rejected => "rejected",
                Action::Repaired => "repaired",
                Action::Warning => "with warnings",
            };
            let key = (action.to_owned(), issue.field.as_deref().unwrap_or(""));
            groups.entry(key).or_insert((0, i)).0 += 1;
        }
        if report.issues.len() > args.show {
            for ((action, field), (n, first)) in &groups {
                let field = if field.is_empty() {
                    String::new()
                } else {
                    format!(" in field '{field}'")
                };
                writeln!(
                    err,
                    "{}: {n} {}s {action}{field}, e.g. {}",
                    report.file.display(),
                    report.row_label,
                    report.issue_text(&report.issues[*first])
                )?;
            }
        }
        for issue in report.issues.iter().take(args.show) {
            writeln!(err, "{}", report.issue_line(issue))?;
        }
        if report.issues.len() > args.show {
            writeln!(
                err,
                "... and {} more row problems{}",
                report.issues.len() - args.show,
                if args.report.is_some() {
                    " (see the report file)"
                } else {
                    " (write them all with --report FILE)"
                }
            )?;
        }
        if let Some(join) = &report.join {
            for u in join.unmatched.iter().take(args.show) {
                writeln!(
                    err,
                    "{}: {} {}: {} '{}' matches no feature of '{}'",
                    report.file.display(),
                    report.row_label,
                    u.row,
                    join.key,
                    u.key,
                    join.layer
                )?;
            }
            if join.unmatched.len() > args.show {
                writeln!(
                    err,
                    "... and {} more unmatched {}s{}",
                    join.unmatched.len() - args.show,
                    report.row_label,
                    if args.report.is_some() {
                        " (see the report file)"
                    } else {
                        " (write them all with --report FILE)"
                    }
                )?;
            }
        }
        if let Some(path) = &args.report {
            let json = serde_json::to_string_pretty(report)?;
            std::fs::write(path, json + "\n")
                .with_context(|| format!("writing the report {}", path.display()))?;
        }
    }
    if outcome.empty {
        writeln!(err, "chaski: error: {}", outcome.summary)?;
        return Ok(ExitCode::from(1));
    }
    writeln!(std::io::stdout().lock(), "{}", outcome.summary)?;
    Ok(ExitCode::SUCCESS)
}
