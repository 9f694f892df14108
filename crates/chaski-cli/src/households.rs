//! `chaski households delete` (a family withdraws its consent) and `chaski
//! places` (the register of places that defines what CHA and facility tokens
//! may write).

use anyhow::{Context, Result, bail};
use chaski_core::auth::{Access, Role};
use chaski_core::household::places::{Place, Places};
use chaski_core::household::write::Withdrawal;
use chaski_core::layer::LayerKind;
use chaski_io::households::{HouseholdWriter, KnownCodes, write_households};
use chaski_io::import::ImportReport;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `chaski households`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Delete every record of a household (the family withdrew its consent);
    /// prints what was deleted and writes the deletion to the access log.
    Delete {
        /// Household code.
        code: String,
        /// Only the records of this CHA sector.
        #[arg(long)]
        sector: Option<String>,
        /// Only the records of this facility (RENIPRESS code).
        #[arg(long)]
        facility: Option<String>,
        /// Household layer.
        #[arg(long, default_value = "households")]
        layer: String,
    },
}

/// Arguments of `chaski places`.
#[derive(Debug, clap::Args)]
pub struct PlacesArgs {
    #[command(subcommand)]
    command: PlacesCommand,
}

#[derive(Debug, clap::Subcommand)]
enum PlacesCommand {
    /// List the registered places (facility, CHA sector, community).
    List,
    /// Register a place: households of FACILITY's CHA sector SECTOR in COMMUNITY.
    Add(PlaceArgs),
    /// Unregister a place (its households stay; scoped tokens can no longer write there).
    Remove(PlaceArgs),
    /// Register the places of every stored household record (stores made before the register).
    Derive {
        /// Household layer.
        #[arg(long, default_value = "households")]
        layer: String,
    },
}

#[derive(Debug, clap::Args)]
struct PlaceArgs {
    /// RENIPRESS code of the facility ("" for households without one).
    #[arg(long, default_value = "")]
    facility: String,
    /// CHA sector ("" for households without one).
    #[arg(long, default_value = "")]
    sector: String,
    /// Community (centro poblado) code.
    #[arg(long)]
    community: String,
}

impl PlaceArgs {
    fn place(&self) -> Result<Place> {
        let p = Place::new(&self.facility, &self.sector, &self.community);
        if p.community.is_empty() {
            bail!("--community is empty: a place is always in a community");
        }
        Ok(p)
    }
}

pub fn run(store_path: &Path, args: Args) -> Result<ExitCode> {
    let store = crate::store::open(store_path)?;
    let tokens = crate::import::open_tokens(store_path)?;
    let mut out = std::io::stdout().lock();
    match args.command {
        Command::Delete {
            code,
            sector,
            facility,
            layer,
        } => {
            let info = store
                .layer_info(&layer)
                .with_context(|| format!("--layer {layer}"))?;
            if info.kind != LayerKind::Households {
                bail!("--layer {layer}: holds {}, not households", info.kind);
            }
            let code = code.trim().to_owned();
            let admin = Access::new(Role::Admin, None, false)?;
            let who = crate::import::cli_user();
            let writer = HouseholdWriter {
                access: &admin,
                who: Some(&who),
                what: "chaski households delete",
                tokens: Some(tokens.as_ref()),
                max_distance_m: chaski_core::household::write::DEFAULT_MAX_DISTANCE_M,
            };
            let w = Withdrawal {
                row: 0,
                code: code.clone(),
                submission_uuid: None,
                cha_sector: sector.filter(|s| !s.trim().is_empty()),
                facility: facility.filter(|s| !s.trim().is_empty()),
            };
            let done = write_households(
                store.as_ref(),
                &writer,
                &layer,
                chaski_core::Layer::new(&layer, LayerKind::Households),
                &ImportReport::of_withdrawals(&layer, vec![w]),
                &KnownCodes::default(),
            )?;
            let records: Vec<_> = done.deleted.iter().flat_map(|d| &d.records).collect();
            if records.is_empty() {
                writeln!(
                    out,
                    "no record of household '{code}' in layer '{layer}': nothing deleted"
                )?;
                return Ok(ExitCode::from(1));
            }
            writeln!(
                out,
                "deleted {} record(s) of household '{code}' from '{layer}' (consent withdrawn; logged \
                 without the deleted data):",
                records.len()
            )?;
            for r in records {
                writeln!(
                    out,
                    "  sector {}  community {}  submission {}  round {}  visit {}",
                    r.cha_sector.as_deref().unwrap_or("-"),
                    r.community.as_deref().unwrap_or("-"),
                    r.submission_uuid.as_deref().unwrap_or("-"),
                    r.visit_round
                        .map_or_else(|| "-".to_owned(), |n| n.to_string()),
                    r.visit_date.as_deref().unwrap_or("-"),
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn run_places(store_path: &Path, args: PlacesArgs) -> Result<ExitCode> {
    let store = crate::store::open(store_path)?;
    let tokens = crate::import::open_tokens(store_path)?;
    let mut out = std::io::stdout().lock();
    match args.command {
        PlacesCommand::List => {
            let places = tokens.places()?;
            writeln!(
                out,
                "{} registered places (facility, CHA sector, community):",
                places.len()
            )?;
            for p in places {
                let dash = |s: &str| {
                    if s.is_empty() {
                        "-".to_owned()
                    } else {
                        s.to_owned()
                    }
                };
                writeln!(
                    out,
                    "  {}  {}  {}",
                    dash(&p.facility),
                    dash(&p.sector),
                    p.community
                )?;
            }
        }
        PlacesCommand::Add(a) => {
            let n = tokens.add_places(&[a.place()?])?;
            writeln!(
                out,
                "{}",
                if n == 1 {
                    "registered"
                } else {
                    "already registered"
                }
            )?;
        }
        PlacesCommand::Remove(a) => {
            let n = tokens.remove_places(&[a.place()?])?;
            if n == 0 {
                writeln!(out, "not registered: nothing removed")?;
                return Ok(ExitCode::from(1));
            }
            writeln!(out, "removed")?;
        }
        PlacesCommand::Derive { layer } => {
            let l = store
                .read_layer(&layer)
                .with_context(|| format!("--layer {layer}"))?;
            if l.kind != LayerKind::Households {
                bail!("--layer {layer}: holds {}, not households", l.kind);
            }
            let places = Places::new(tokens.places()?);
            let n = tokens.add_places(&places.missing_from(&l))?;
            writeln!(
                out,
                "{n} places registered from '{layer}' ({} in all)",
                places.len() + n
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
