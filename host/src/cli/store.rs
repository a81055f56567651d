//! `evalbox store ...`: direct store operations.

use std::process::ExitCode;

use clap::Subcommand;

use super::Globals;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {}

pub fn run(_globals: &Globals, cmd: StoreCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
