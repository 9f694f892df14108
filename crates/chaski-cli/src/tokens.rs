//! `chaski tokens`: access tokens for private household data (kept in the store file).
//!
//! `create` prints the secret once (only its SHA-256 hash is stored); `list`
//! never prints secrets or hashes; `revoke` disables a token for good.

use anyhow::Result;
use chaski_core::auth::{Access, Role, Token, TokenStore};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `chaski tokens`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Create a token and print its secret (shown only this once).
    Create {
        /// Role: analyst, cha, facility or admin.
        #[arg(long)]
        role: Role,
        /// Scope of a cha (CHA sector code) or facility (RENIPRESS code) token.
        #[arg(long)]
        scope: Option<String>,
        /// Grant access to the restricted violence_risk field.
        #[arg(long)]
        violence: bool,
        /// Whose token this is (free text, shown by `list`).
        #[arg(long)]
        label: Option<String>,
    },
    /// List tokens (ids, roles, scopes, labels and dates; never secrets).
    List,
    /// Revoke a token by id.
    Revoke {
        /// Token id (from `list`).
        id: String,
    },
}

fn open(store_path: &Path) -> Result<Box<dyn TokenStore>> {
    // Open the layer store first: it creates and checks the GeoPackage (or schema).
    drop(crate::store::open(store_path)?);
    crate::store::open_tokens(store_path)
}

fn line(t: &Token) -> String {
    let mut s = format!("{}  {:<8}", t.id, t.role.as_str());
    let _ = write!(s, "  scope={}", t.scope.as_deref().unwrap_or("-"));
    let _ = write!(s, "  violence={}", if t.violence { "yes" } else { "no" });
    let _ = write!(s, "  created={}", t.created);
    match t.revoked {
        Some(r) => {
            let _ = write!(s, "  revoked={r}");
        }
        None => s.push_str("  active"),
    }
    if let Some(l) = &t.label {
        let _ = write!(s, "  label={l:?}");
    }
    s
}

pub fn run(store_path: &Path, args: Args) -> Result<ExitCode> {
    let store = open(store_path)?;
    let mut out = std::io::stdout().lock();
    match args.command {
        Command::Create {
            role,
            scope,
            violence,
            label,
        } => {
            if role == Role::Public {
                anyhow::bail!(
                    "public callers need no token: choose analyst, cha, facility or admin"
                );
            }
            let access = Access::new(role, scope, violence)?;
            let (token, secret) = store.create(&access, label.as_deref())?;
            writeln!(out, "{secret}")?;
            eprintln!(
                "chaski: created token {} ({}); the secret above is shown only once",
                token.id, token.role
            );
        }
        Command::List => {
            for t in store.list()? {
                writeln!(out, "{}", line(&t))?;
            }
        }
        Command::Revoke { id } => {
            store.revoke(&id)?;
            eprintln!("chaski: revoked token {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
