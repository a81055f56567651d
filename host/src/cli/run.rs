//! `evalbox run` and `evalbox inspect`: the sandbox.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::Globals;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The guest component.
    pub guest: PathBuf,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The guest component.
    pub guest: PathBuf,
}

pub fn run(_globals: &Globals, _args: RunArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("evalbox run: the sandbox runtime is not built yet")
}

pub fn inspect(_globals: &Globals, _args: InspectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("evalbox inspect: the sandbox runtime is not built yet")
}
