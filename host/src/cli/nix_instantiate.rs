//! The drop-in `nix-instantiate`: evalbox run under that name (a symlink), or
//! `evalbox nix-instantiate ARGS`, accepts nix-instantiate's command line unchanged and runs it
//! in the sandbox, so that scripts and CI jobs written for Nix need no edit.
//!
//! What differs from `evalbox eval`/`instantiate` is only how the command line is read, as
//! Nix reads it: the mode comes from `--eval`/`--eval-only`/`--parse` (instantiation
//! otherwise); `--eval` computes store paths without writing them unless `--read-write-mode`;
//! `--timeout SECS` is Nix's build timeout, not the sandbox's evaluation deadline; `--store
//! URI` picks the store. Directories beyond the ones the command line names are granted with
//! `$EVALBOX_SRC` (colon-separated), since the scripts' command lines stay as they are.

use std::process::ExitCode;

use super::Globals;
use super::eval::{self, EvalArgs, Mode};

/// Runs nix-instantiate's command line `argv` (without the program name).
pub fn run(globals: &Globals, argv: Vec<String>) -> anyhow::Result<ExitCode> {
    let (globals, mut args) = translate(globals, argv, std::env::var("EVALBOX_SRC").ok())?;
    let mode = match nix_args::Command::parse(&args) {
        Ok(cmd) if cmd.parse => Mode::Parse,
        Ok(cmd) if cmd.eval => {
            // `--eval` writes nothing unless `--read-write-mode`, as in Nix.
            if cmd.readonly_mode.is_none() {
                args.push("--readonly-mode".to_owned());
            }
            Mode::Eval
        }
        // A usage error is reported by `eval::run`, which parses the same words.
        _ => Mode::Instantiate,
    };
    eval::run(&globals, mode, EvalArgs { args })
}

/// nix-instantiate's words as `evalbox eval` reads them: `--store URI` becomes the global
/// store, `--timeout SECS` the build setting, and each `$EVALBOX_SRC` directory a `--src`.
fn translate(
    globals: &Globals,
    argv: Vec<String>,
    src: Option<String>,
) -> anyhow::Result<(Globals, Vec<String>)> {
    let mut globals = globals.clone();
    let mut args = Vec::with_capacity(argv.len());
    let mut i = 0;
    while i < argv.len() {
        let flag = argv[i].as_str();
        match flag {
            "--store" | "--timeout" => {
                let Some(value) = argv.get(i + 1) else {
                    anyhow::bail!("flag '{flag}' requires 1 argument");
                };
                if flag == "--store" {
                    globals.store = Some(value.clone());
                } else {
                    args.extend(["--option".to_owned(), "timeout".to_owned(), value.clone()]);
                }
                i += 2;
            }
            _ => {
                // Any other flag keeps its values, which are never read as flags.
                let end = (i + 1 + nix_args::arity(flag).unwrap_or(0)).min(argv.len());
                args.extend(argv[i..end].iter().cloned());
                i = end;
            }
        }
    }
    for dir in src
        .iter()
        .flat_map(|s| s.split(':'))
        .filter(|d| !d.is_empty())
    {
        args.extend(["--src".to_owned(), dir.to_owned()]);
    }
    Ok((globals, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn translates_nix_words() {
        let globals = Globals { store: None };
        let (g, args) = translate(
            &globals,
            s(&[
                "--timeout",
                "1",
                "--eval-only",
                "--argstr",
                "x",
                "--store",
                "--store",
                "daemon",
                "f.nix",
            ]),
            Some("/a::/b".into()),
        )
        .unwrap();
        assert_eq!(g.store.as_deref(), Some("daemon"));
        assert_eq!(
            args,
            s(&[
                "--option",
                "timeout",
                "1",
                "--eval-only",
                "--argstr",
                "x",
                "--store",
                "f.nix",
                "--src",
                "/a",
                "--src",
                "/b"
            ])
        );
        assert!(translate(&globals, s(&["--store"]), None).is_err());
    }
}
