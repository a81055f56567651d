//! `evalbox run` and `evalbox inspect`: the sandbox at the process edge.
//!
//! `run` exits with the guest's own code, or with one of the codes in
//! [`evalbox::runtime::exit_code`] when the guest is refused, hits a limit or traps; the
//! message on stderr names the cause.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use evalbox::capabilities::Preopen;
use evalbox::runtime::{self, Limits, exit_code};
use evalbox::sandbox::RunConfig;

use super::Globals;

const MIB: u64 = 1 << 20;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A read-only source directory: `DIR` (seen by the guest at its canonical absolute path)
    /// or `HOST::GUEST` (seen at the absolute path GUEST). Repeatable.
    #[arg(long = "src", value_name = "DIR|HOST::GUEST")]
    pub src: Vec<String>,
    /// An environment variable for the guest (the guest's environment is otherwise empty).
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Wall-clock limit in seconds (fractions allowed). Default: none.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Linear-memory limit in MiB. Default: 4096 (all of wasm32).
    #[arg(long, value_name = "MIB", default_value_t = runtime::limits::DEFAULT_MAX_MEMORY / MIB)]
    pub max_memory: u64,
    /// Limit on stdout+stderr in MiB. Default: 1024.
    #[arg(long, value_name = "MIB", default_value_t = runtime::limits::DEFAULT_MAX_OUTPUT / MIB)]
    pub max_output: u64,
    /// Limit on one store host-call argument in MiB. Default: 256.
    #[arg(long, value_name = "MIB", default_value_t = runtime::limits::DEFAULT_MAX_HOST_ARG / MIB)]
    pub max_host_arg: u64,
    /// Do not use the on-disk cache of compiled guests.
    #[arg(long)]
    pub no_cache: bool,
    /// Refuse the interfaces otherwise provided with every operation denied (`wasi:sockets`).
    #[arg(long)]
    pub strict: bool,
    /// A build setting for what the guest builds, as Nix spells it (`sandbox`,
    /// `sandbox-paths`, `cores`, `max-jobs`, `timeout`, ...); repeatable.
    #[arg(long = "option", num_args = 2, value_names = ["NAME", "VALUE"])]
    pub option: Vec<String>,
    /// The guest component (a WASI 0.2 command).
    pub guest: PathBuf,
    /// Arguments passed to the guest (after `--`).
    #[arg(last = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Audit as `run --strict` does: the denied interfaces are refused.
    #[arg(long)]
    pub strict: bool,
    /// The guest component.
    pub guest: PathBuf,
}

/// Parses one `--src` value.
fn parse_src(spec: &str) -> anyhow::Result<Preopen> {
    let (host, guest) = match spec.split_once("::") {
        Some((host, guest)) => (host, Some(guest)),
        None => (spec, None),
    };
    let host = Path::new(host)
        .canonicalize()
        .with_context(|| format!("--src {spec}: cannot open the directory {host}"))?;
    anyhow::ensure!(
        host.is_dir(),
        "--src {spec}: {} is not a directory",
        host.display()
    );
    let guest = match guest {
        Some(guest) => {
            anyhow::ensure!(
                guest.starts_with('/'),
                "--src {spec}: the guest path `{guest}` must be absolute"
            );
            anyhow::ensure!(
                !guest.split('/').any(|c| c == ".." || c == "."),
                "--src {spec}: the guest path `{guest}` must be normalised"
            );
            guest.trim_end_matches('/').to_owned()
        }
        None => host
            .to_str()
            .with_context(|| format!("--src {spec}: the path is not UTF-8"))?
            .to_owned(),
    };
    let guest = if guest.is_empty() {
        "/".to_owned()
    } else {
        guest
    };
    Ok(Preopen { host, guest })
}

fn parse_env(spec: &str) -> anyhow::Result<(String, String)> {
    let (k, v) = spec
        .split_once('=')
        .with_context(|| format!("--env {spec}: expected K=V"))?;
    anyhow::ensure!(!k.is_empty(), "--env {spec}: empty variable name");
    Ok((k.to_owned(), v.to_owned()))
}

pub fn run(globals: &Globals, args: RunArgs) -> anyhow::Result<ExitCode> {
    let preopens = args
        .src
        .iter()
        .map(|s| parse_src(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let env = args
        .env
        .iter()
        .map(|s| parse_env(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let timeout = args.timeout.map(super::timeout).transpose()?;
    let limits = Limits {
        timeout,
        max_memory: args.max_memory.saturating_mul(MIB),
        max_output: args.max_output.saturating_mul(MIB),
        max_host_arg: args.max_host_arg.saturating_mul(MIB),
        ..Limits::default()
    };
    let program = args
        .guest
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("guest")
        .to_owned();
    let config = RunConfig {
        args: std::iter::once(program).chain(args.args).collect(),
        env,
        preopens,
        limits,
        ..RunConfig::default()
    };

    let sandbox = super::sandbox(args.no_cache, config.limits.timeout.is_some(), args.strict)?;
    let guest = match sandbox.prepare_file(&args.guest) {
        Ok(guest) => guest,
        Err(evalbox::sandbox::Error::Refused(refusal)) => {
            eprintln!("error: {}: guest refused: {refusal}", args.guest.display());
            return Ok(ExitCode::from(exit_code::REFUSED));
        }
        Err(err) => return Err(err).with_context(|| args.guest.display().to_string()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Opened on the guest's first store call: a guest that never uses the store does not
    // create or open one.
    let settings = super::logged_build_settings(&super::option_pairs(&args.option))?;
    let store = evalbox::LazyStore::new(globals.store.as_deref())
        .context("bad store")?
        .with_build_settings(settings);
    let config = RunConfig {
        store: Some(Arc::new(store)),
        ..config
    };
    // `evalbox:guest/nix`: the Nix guest, nested, with this guest's sources, store and limits.
    let nix = evalbox::nix_eval::NestedNix::new(sandbox, &config);
    let config = RunConfig {
        nix: Some(Arc::new(nix)),
        ..config
    };
    let outcome = runtime.block_on(sandbox.run(&guest, &config))?;
    Ok(super::finish(&outcome, "the guest"))
}

pub fn inspect(_globals: &Globals, args: InspectArgs) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(&args.guest)
        .with_context(|| format!("cannot read the guest {}", args.guest.display()))?;
    let sandbox = super::sandbox(false, false, args.strict)?;
    let component = sandbox
        .compile(&wasm)
        .with_context(|| args.guest.display().to_string())?;
    let report = sandbox.audit(&component);
    if args.json {
        let json = serde_json::json!({
            "guest": args.guest,
            "allowed": report.allowed(),
            "imports": report.imports,
            "exports": report.exports,
            "refusals": report.refusals.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("imports:");
        for item in &report.imports {
            println!(
                "  {:<8} {:<9} {}",
                item.status.as_str(),
                item.kind,
                item.name
            );
        }
        println!("exports:");
        for item in &report.exports {
            println!("  {:<9} {}", item.kind, item.name);
        }
        match report.verdict() {
            Ok(()) => println!("verdict: allowed"),
            Err(_) => {
                for refusal in &report.refusals {
                    println!("verdict: refused: {refusal}");
                }
            }
        }
    }
    Ok(if report.allowed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn src_specs() {
        let dir = tempfile::tempdir().unwrap();
        let canonical = dir.path().canonicalize().unwrap();
        let p = parse_src(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(p.host, canonical);
        assert_eq!(p.guest, canonical.to_str().unwrap());
        let p = parse_src(&format!("{}::/src/", dir.path().display())).unwrap();
        assert_eq!(p.guest, "/src");
        assert!(parse_src(&format!("{}::src", dir.path().display())).is_err());
        assert!(parse_src(&format!("{}::/a/../b", dir.path().display())).is_err());
        assert!(parse_src("/nonexistent/evalbox/dir").is_err());
    }

    #[test]
    fn env_specs() {
        assert_eq!(parse_env("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(parse_env("A").is_err());
        assert!(parse_env("=x").is_err());
    }
}
