//! `chaski demo`.
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `chaski demo`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_store: &Path, _args: Args) -> Result<ExitCode> {
    anyhow::bail!("not yet implemented")
}
