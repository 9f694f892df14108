//! `chaski print`: printed risk maps for community health agents, of a
//! community, a CHA sector or a facility's area, or an atlas of a district
//! (one map per community or sector), as vector PDF or PNG.
//!
//! This module only reads the options, opens the store, runs the walking
//! search and the cluster scan, and writes the files: what a map shows is
//! `chaski_analysis::risk_map`'s (under `chaski_core::auth`'s rules), how
//! it is laid out and rendered `chaski_print`'s, the same functions the
//! server calls.
//!
//! # Who the map is printed for
//!
//! `--as public` (the default) prints aggregates only: no household point or
//! code, household counts per community as `/api/households/summary` gives
//! them. Household points need the rights of a role that sees household
//! records: `--as admin` (the store's operator, who holds the file anyway),
//! `--as cha:SECTOR` or `--as facility:CODE` (only that scope's
//! households), with `--violence` for the violence grant; or `--token
//! SECRET`, the rights of a token of `chaski tokens`. Every print with
//! household points is written to the store's access log.

use anyhow::{Context, Result, bail};
use chaski_analysis::clusters::find_clusters;
use chaski_analysis::risk_map::{self, AtlasBy, MapArea, MapSource, RiskMap};
use chaski_analysis::travel::cost::Direction;
use chaski_analysis::travel::scenario::Scenario;
use chaski_analysis::travel::{TravelInputs, TravelOptions, TravelResult};
use chaski_core::auth::{Access, AccessRecord, Role, TokenStore};
use chaski_io::crs::ProjProjections;
use chaski_print::{Dpi, Format, Lang, Orientation, PageSpec, PaperSize, PrintDate, PrintedPage};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

/// Arguments of `chaski print`.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("area")
        .required(true)
        .args(["community", "sector", "facility", "atlas"])
))]
pub struct Args {
    /// The community (centro poblado) code: one map of it.
    #[arg(long)]
    pub community: Option<String>,

    /// The CHA sector code: one map of the sector's households.
    #[arg(long)]
    pub sector: Option<String>,

    /// The facility's RENIPRESS code: one map of its area (the communities it
    /// is nearest to on foot, and those of its households).
    #[arg(long)]
    pub facility: Option<String>,

    /// A district (code or name): an atlas, one map per community in it (or
    /// per CHA sector with --atlas-by sector), each with its detail and index pages.
    #[arg(long)]
    pub atlas: Option<String>,

    /// What the atlas has a map of: community or sector.
    #[arg(long, default_value = "community", value_parser = AtlasBy::from_str)]
    pub atlas_by: AtlasBy,

    /// Paper: a4 or a3.
    #[arg(long, default_value = "a4", value_parser = PaperSize::from_str)]
    pub size: PaperSize,

    /// portrait or landscape.
    #[arg(long, default_value = "portrait", value_parser = Orientation::from_str)]
    pub orientation: Orientation,

    /// Language of the page: es (Spanish) or en (English).
    #[arg(long, default_value = "es", value_parser = Lang::from_str)]
    pub lang: Lang,

    /// pdf (every page in one vector PDF) or png (one image per page).
    #[arg(long, default_value = "pdf", value_parser = Format::from_str)]
    pub format: Format,

    /// Resolution of PNG pages, dots per inch (10 to 1200).
    #[arg(long, default_value = "150", value_parser = Dpi::from_str)]
    pub dpi: Dpi,

    /// The file to write (FILE.pdf, or FILE.png with later pages in
    /// FILE-2.png, FILE-3.png...); for an atlas in PNG, a folder (one
    /// KIND-CODE-N.png per page).
    #[arg(long)]
    pub out: PathBuf,

    /// Whom the map is for: public (default: aggregates only), analyst,
    /// admin, cha:SECTOR or facility:CODE. Household points only for admin,
    /// cha and facility.
    #[arg(long = "as", default_value = "public", conflicts_with = "token")]
    pub as_role: String,

    /// With --as admin, cha or facility: the violence grant (the violence
    /// risk then counts in the "visita prioritaria" mark).
    #[arg(long, conflicts_with = "token")]
    pub violence: bool,

    /// Print with the rights of this token (a secret of `chaski tokens create`).
    #[arg(long, env = "CHASKI_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// The web viewer the QR code opens (the public address of `chaski serve`).
    #[arg(
        long,
        env = "CHASKI_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub viewer_url: String,

    /// The household layer.
    #[arg(long, default_value = risk_map::DEFAULT_HOUSEHOLD_LAYER)]
    pub households: String,

    /// The DEM of the walking search and the relief (default: the store's DEM).
    #[arg(long)]
    pub dem: Option<String>,

    /// Leave out the risk zones (the spatial scan of the caller's households).
    #[arg(long)]
    pub no_clusters: bool,

    /// Date in the title block, YYYY-MM-DD (default: today in Peru); also the
    /// day of a sector map's visit schedule.
    #[arg(long, value_parser = PrintDate::from_str)]
    pub date: Option<PrintDate>,

    /// Sector maps: the households due a visit are the at-risk ones last
    /// visited more than this many days before the date (or never).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub every: u32,
}

/// The rights of `--as ROLE[:SCOPE]` and `--violence`.
fn access_of(as_role: &str, violence: bool) -> Result<Access> {
    let (role, scope) = match as_role.split_once(':') {
        Some((r, s)) => (r, Some(s.to_owned())),
        None => (as_role, None),
    };
    let role = Role::from_str(role).with_context(|| format!("--as '{as_role}'"))?;
    Access::new(role, scope, violence).with_context(|| {
        format!(
            "--as '{as_role}'{}",
            if violence { " --violence" } else { "" }
        )
    })
}

/// The access of the run, who it is for the access log, and the store's tokens if they open.
type Caller = (Access, String, Option<Box<dyn TokenStore>>);

/// The [`Caller`] of this run.
fn caller(store_path: &Path, args: &Args) -> Result<Caller> {
    let tokens = crate::store::open_tokens(store_path).ok();
    if let Some(secret) = &args.token {
        let Some(tokens) = tokens else {
            bail!(
                "--token: the tokens of {} cannot be read",
                store_path.display()
            );
        };
        let token = tokens
            .verify(secret.trim())
            .context("--token: checking the token")?
            .ok_or_else(|| {
                anyhow::anyhow!("--token: no live token has this secret (wrong or revoked)")
            })?;
        return Ok((token.access(), token.id.clone(), Some(tokens)));
    }
    let access = access_of(&args.as_role, args.violence)?;
    Ok((access, crate::import::cli_user(), tokens))
}

pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    let store = crate::store::open(store_path)?;
    let (access, who, tokens) = caller(store_path, args)?;
    let source = MapSource::read(store.as_ref(), &args.households)?;
    let named = [&args.community, &args.sector, &args.facility]
        .into_iter()
        .zip(risk_map::AREA_KINDS)
        .find_map(|(code, kind)| code.as_ref().map(|c| (kind, c)));
    let (areas, title) = match (named, &args.atlas) {
        (Some((kind, code)), _) => (
            vec![MapArea::new(kind, code).with_context(|| format!("--{kind}"))?],
            code.clone(),
        ),
        (None, Some(d)) => {
            let (district, areas) = source.atlas(d, args.atlas_by).context("--atlas")?;
            if areas.is_empty() {
                bail!(
                    "--atlas {d}: district {} ({}) holds no {}",
                    district.code,
                    district.name,
                    match args.atlas_by {
                        AtlasBy::Community => "community",
                        AtlasBy::Sector => "CHA sector with households",
                    }
                );
            }
            (areas, format!("{} {}", district.code, district.name))
        }
        _ => bail!("give --community, --sector, --facility or --atlas"),
    };

    let spinner = crate::output::spinner("walking times to care");
    let travel = walking_search(store.as_ref(), args.dem.as_deref());
    spinner.finish_and_clear();
    let travel = match travel {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("chaski: warning: no walking route, minutes or relief on the map: {e:#}");
            None
        }
    };
    let clusters = if args.no_clusters {
        None
    } else {
        source.visible_households(&access).and_then(|layer| {
            let spinner = crate::output::spinner("risk zones (spatial scan)");
            let found = find_clusters(&layer, &risk_map::cluster_options(), &ProjProjections);
            spinner.finish_and_clear();
            match found {
                Ok(c) => Some(c),
                Err(e) => {
                    eprintln!("chaski: warning: no risk zones on the map: {e}");
                    None
                }
            }
        })
    };

    let spec = PageSpec {
        size: args.size,
        orientation: args.orientation,
        lang: args.lang,
        date: args.date.as_ref().map_or_else(
            || chaski_analysis::report::peru_date(chaski_core::auth::now_unix()),
            |d| d.as_str().to_owned(),
        ),
        viewer_url: args.viewer_url.clone(),
    };
    let as_of = chrono::NaiveDate::parse_from_str(&spec.date, "%Y-%m-%d")
        .with_context(|| format!("--date '{}'", spec.date))?;
    let mut maps: Vec<RiskMap> = Vec::with_capacity(areas.len());
    for area in &areas {
        let mut map = source
            .gather(&access, area, travel.as_ref(), clusters.as_ref())
            .with_context(|| format!("--{} {}", area.kind(), area.code()))?;
        map.due = source.due_visits(&access, area, as_of, args.every);
        maps.push(map);
    }
    let households: usize = maps
        .iter()
        .map(|m| m.households.as_ref().map_or(0, Vec::len))
        .sum();
    // A release of household data is logged before it is written; without a log, nothing is.
    if households > 0 {
        let Some(tokens) = &tokens else {
            bail!(
                "the access log of {} cannot be opened: a map with household points is not printed without it",
                store_path.display()
            );
        };
        let detail = format!(
            "{} map(s): {}; access {}",
            maps.len(),
            areas
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            access.scope_key()
        );
        tokens
            .log(&AccessRecord {
                who: Some(&who),
                what: "chaski print",
                count: households as u64,
                status: 0,
                detail: Some(&detail),
            })
            .context("writing the access log")?;
    }

    let mut pages: Vec<(String, PrintedPage)> = Vec::new();
    for m in &maps {
        for p in
            chaski_print::compose(m, &spec).with_context(|| format!("laying out {}", m.area))?
        {
            pages.push((m.area.file_stem(), p));
        }
    }
    let written = write(&pages, args, &title)?;
    let details = pages
        .iter()
        .filter(|(_, p)| matches!(p.info.kind, chaski_print::PageKind::Detail(_)))
        .count();
    eprintln!(
        "chaski: {} map{} ({} page{}, {} detail{}), {} household point{} ({}) in {}",
        maps.len(),
        plural(maps.len()),
        pages.len(),
        plural(pages.len()),
        details,
        plural(details),
        households,
        plural(households),
        if households > 0 {
            "CONFIDENCIAL".to_owned()
        } else {
            format!("aggregates only, as {}", access.role)
        },
        written
    );
    Ok(ExitCode::SUCCESS)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The walking search to every facility over every village (the relief's surface too).
fn walking_search(
    store: &dyn chaski_core::store::Store,
    dem: Option<&str>,
) -> Result<TravelResult> {
    let opts = TravelOptions {
        all_villages: true,
        dem: dem.map(str::to_owned),
        ..TravelOptions::default()
    };
    let inputs = TravelInputs::from_store(store, &opts, &ProjProjections)?;
    Ok(inputs.run(&Scenario::walking(), Direction::ToSource, None)?)
}

/// Write the pages; says where.
fn write(pages: &[(String, PrintedPage)], args: &Args, title: &str) -> Result<String> {
    let create_parent = |p: &Path| -> Result<()> {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("--out: creating {}", dir.display()))?;
        }
        Ok(())
    };
    match args.format {
        Format::Pdf => {
            let only: Vec<PrintedPage> = pages.iter().map(|(_, p)| p.clone()).collect();
            let pdf = chaski_print::pdf(&only, &format!("chaski · {title}"))?;
            create_parent(&args.out)?;
            std::fs::write(&args.out, pdf)
                .with_context(|| format!("--out: writing {}", args.out.display()))?;
            Ok(args.out.display().to_string())
        }
        Format::Png => {
            let only: Vec<PrintedPage> = pages.iter().map(|(_, p)| p.clone()).collect();
            let images = chaski_print::png(&only, args.dpi.get())?;
            if args.atlas.is_some() {
                std::fs::create_dir_all(&args.out)
                    .with_context(|| format!("--out: creating {}", args.out.display()))?;
                let mut n_of: std::collections::BTreeMap<&str, usize> =
                    std::collections::BTreeMap::new();
                for ((stem, _), png) in pages.iter().zip(&images) {
                    let n = n_of.entry(stem.as_str()).or_default();
                    *n += 1;
                    let path = args.out.join(format!("{stem}-{n}.png"));
                    std::fs::write(&path, png)
                        .with_context(|| format!("--out: writing {}", path.display()))?;
                }
                return Ok(args.out.display().to_string());
            }
            create_parent(&args.out)?;
            for (i, png) in images.iter().enumerate() {
                let path = if i == 0 {
                    args.out.clone()
                } else {
                    numbered(&args.out, i + 1)
                };
                std::fs::write(&path, png)
                    .with_context(|| format!("--out: writing {}", path.display()))?;
            }
            Ok(args.out.display().to_string())
        }
    }
}

/// `FILE.png` → `FILE-N.png`.
fn numbered(path: &Path, n: usize) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map_or_else(|| "png".to_owned(), |s| s.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}-{n}.{ext}"))
}
