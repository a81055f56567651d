//! Argument parsing and wiring. Nothing outside `main.rs` and this module prints or exits.
//!
//! Exit codes: 0 success; 1 the operation failed (bad input, store error); 2 usage error or a
//! guest refused by the capability audit; `evalbox run` passes a guest's own exit code through.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use evalbox::runtime::cache::ComponentCache;
use evalbox::runtime::engine::EngineOptions;
use evalbox::sandbox::{RunOutcome, Sandbox, SandboxOptions};
use evalbox::store::settings::BuildSettings;
use evalbox::store::{BuildResult, BuildTarget, NixStore};
use nix_formats::StorePath;

mod eval;
mod eval_jobs;
mod nix_instantiate;
mod run;
mod store;

/// evalbox: sandboxed Nix evaluation.
#[derive(Debug, Parser)]
#[command(name = "evalbox", version, about)]
struct Cli {
    /// Store to use: `local?root=DIR` (the embedded store), `daemon`, `unix:///path`.
    /// Defaults to $NIX_REMOTE, else the embedded store under $EVALBOX_STORE or the XDG data dir.
    #[arg(long, global = true, value_name = "URI")]
    store: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Operate on the store directly.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Run a guest component in the sandbox.
    Run(run::RunArgs),
    /// Print a component's imports and exports and whether the sandbox allows it.
    Inspect(run::InspectArgs),
    /// Evaluate a Nix expression in the sandbox, like `nix-instantiate --eval`.
    Eval(eval::EvalArgs),
    /// Instantiate derivations in the sandbox and print their `.drv` paths, like
    /// `nix-instantiate`.
    Instantiate(eval::EvalArgs),
    /// Instantiate and build, printing output paths, like `nix-build --no-out-link`.
    Build(eval::EvalArgs),
    /// Evaluate every job of an attribute set with a pool of sandboxed workers, printing a
    /// JSON line per job, like nix-eval-jobs.
    #[command(name = "eval-jobs")]
    EvalJobs(eval_jobs::EvalJobsArgs),
    /// Parse a Nix file (or `-` for stdin) in the sandbox, like `nix-instantiate --parse`.
    Parse(eval::EvalArgs),
    /// nix-instantiate's own command line, unchanged, in the sandbox (what evalbox does when
    /// run under the name `nix-instantiate`).
    #[command(name = "nix-instantiate")]
    NixInstantiate(eval::EvalArgs),
}

/// Global options every subcommand may read.
#[derive(Debug, Clone)]
pub struct Globals {
    pub store: Option<String>,
}

pub fn main() -> ExitCode {
    // Under the name `nix-instantiate` (a symlink), the whole command line is Nix's.
    let mut argv = std::env::args_os();
    let program = argv.next().unwrap_or_default();
    if std::path::Path::new(&program)
        .file_name()
        .is_some_and(|name| name == "nix-instantiate")
    {
        init_logging();
        let globals = Globals { store: None };
        let args: Option<Vec<String>> = argv.map(|a| a.into_string().ok()).collect();
        let result = match args {
            Some(args) => nix_instantiate::run(&globals, args),
            None => Err(anyhow::anyhow!("an argument is not valid UTF-8")),
        };
        return report(result);
    }
    let cli = Cli::parse();
    init_logging();
    let globals = Globals { store: cli.store };
    let result = match cli.command {
        Command::Store(cmd) => store::run(&globals, cmd),
        Command::Run(args) => run::run(&globals, args),
        Command::Inspect(args) => run::inspect(&globals, args),
        Command::Eval(args) => eval::run(&globals, eval::Mode::Eval, args),
        Command::Instantiate(args) => eval::run(&globals, eval::Mode::Instantiate, args),
        Command::Build(args) => eval::run(&globals, eval::Mode::Build, args),
        Command::Parse(args) => eval::run(&globals, eval::Mode::Parse, args),
        Command::EvalJobs(args) => eval_jobs::run(&globals, args),
        Command::NixInstantiate(args) => nix_instantiate::run(&globals, args.args),
    };
    report(result)
}

/// The exit code for a command's result, saying why on stderr when it failed.
fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The sandbox for `run`, `inspect` and `eval`: one guest per process, with epoch checks
/// compiled in only when the run has a `--timeout` (`deadline`), the on-disk compile cache
/// unless `--no-cache`, and `EVALBOX_PERFMAP=1` (write `/tmp/perf-<pid>.map` so
/// `perf record`/`perf report` name the guest's functions).
///
/// The process exits right after, so the sandbox is leaked and a finished guest's store is
/// not torn down ([`SandboxOptions::exit_after_run`]): the kernel reclaims both at exit,
/// faster than their destructors would (`evalbox eval -E 1`: 3.96 -> 3.39 ms, median).
fn sandbox(no_cache: bool, deadline: bool, strict: bool) -> anyhow::Result<&'static Sandbox> {
    let sandbox = Sandbox::new(sandbox_options(no_cache, deadline, strict))?;
    Ok(Box::leak(Box::new(sandbox)))
}

/// The CLI's sandbox: the compile cache (unless `--no-cache`), progress while compiling, an
/// engine for one run (with deadlines when a timeout is asked for), and the runs' memory left
/// to the process's exit.
fn sandbox_options(no_cache: bool, deadline: bool, strict: bool) -> SandboxOptions {
    let cache = if no_cache {
        None
    } else {
        ComponentCache::default_dir().map(ComponentCache::new)
    };
    SandboxOptions {
        cache,
        progress: true,
        engine: EngineOptions {
            perf_map: std::env::var_os("EVALBOX_PERFMAP").is_some_and(|v| v == "1"),
            ..EngineOptions::single_run(deadline)
        },
        exit_after_run: true,
        strict,
    }
}

/// The deadline `--timeout SECS` asks for.
fn timeout(secs: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("--timeout {secs}: expected a positive number of seconds"))
}

/// `--option NAME VALUE` as clap collects it (`NAME VALUE NAME VALUE ...`), in pairs.
fn option_pairs(flat: &[String]) -> Vec<(String, String)> {
    flat.chunks(2)
        .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
        .collect()
}

/// [`build_settings`], with the builders' log going to stderr as it comes.
fn logged_build_settings(options: &[(String, String)]) -> anyhow::Result<BuildSettings> {
    let mut settings = build_settings(options)?;
    settings.log = Some(std::sync::Arc::new(|line: &str| eprintln!("{line}")));
    Ok(settings)
}

/// The store's build settings from `--option NAME VALUE` pairs (other options are the
/// evaluator's, and ignored here).
fn build_settings(options: &[(String, String)]) -> anyhow::Result<BuildSettings> {
    let mut settings = BuildSettings::default();
    for (name, value) in options {
        settings.set(name, value)?;
    }
    Ok(settings)
}

/// Builds `targets` and prints, for each, the paths `paths` picks from its result (like
/// `nix-build` and `nix-store --realise`), returning them. Every failure is reported; exit 1
/// if any.
async fn build_and_print(
    store: &dyn NixStore,
    targets: &[BuildTarget],
    paths: impl Fn(&BuildResult, &str) -> Vec<StorePath>,
) -> anyhow::Result<(ExitCode, Vec<StorePath>)> {
    let mut printed = Vec::new();
    if targets.is_empty() {
        return Ok((ExitCode::SUCCESS, printed));
    }
    let results = store.build_paths(targets).await?;
    let dir = store.store_dir();
    let mut failed = false;
    for (target, result) in targets.iter().zip(&results) {
        if !result.success {
            failed = true;
            eprintln!("error: {}", result.error_msg);
            continue;
        }
        let output = target.outputs.iter().next().map_or("", String::as_str);
        for p in paths(result, output) {
            writeln!(std::io::stdout().lock(), "{}", dir.display(&p))?;
            printed.push(p);
        }
    }
    let code = if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    Ok((code, printed))
}

/// Nix's `addPermRoot`: the symlink `link` (absolute, outside the store) to `path`, registered
/// with the store as an indirect GC root. An existing file that is not a symlink into the
/// store is never replaced.
async fn add_perm_root(store: &dyn NixStore, path: &StorePath, link: &Path) -> anyhow::Result<()> {
    let dir = store.store_dir();
    if link.starts_with(dir.as_str()) {
        anyhow::bail!(
            "--add-root {}: a GC root cannot be inside the store",
            link.display()
        );
    }
    if let Ok(meta) = std::fs::symlink_metadata(link) {
        let into_store = meta.file_type().is_symlink()
            && std::fs::read_link(link).is_ok_and(|t| t.starts_with(dir.as_str()));
        anyhow::ensure!(
            into_store,
            "cannot create symlink '{}'; already exists",
            link.display()
        );
    }
    store.add_temp_root(path).await?;
    evalbox::store::fs::replace_symlink(Path::new(&dir.display(path)), link)
        .with_context(|| format!("--add-root {}", link.display()))?;
    store.add_indirect_root(link).await?;
    Ok(())
}

/// The `n`th (from 0) of several roots named after `root`: `root`, `root-2`, `root-3`, ...
fn nth_root(root: &Path, n: usize) -> PathBuf {
    let mut link = root.as_os_str().to_owned();
    if n > 0 {
        link.push(format!("-{}", n + 1));
    }
    PathBuf::from(link)
}

/// The closure of `paths` in `store` under references, each path with its info,
/// dependencies first: a path comes after everything it refers to.
pub(super) async fn closure(
    store: &dyn NixStore,
    paths: &[StorePath],
) -> anyhow::Result<Vec<evalbox_store::PathInfo>> {
    let mut infos = std::collections::BTreeMap::new();
    let mut todo: Vec<StorePath> = paths.to_vec();
    while let Some(p) = todo.pop() {
        if infos.contains_key(&p) {
            continue;
        }
        let info = store
            .query_path_info(&p)
            .await?
            .with_context(|| format!("path '{}' is not valid", store.store_dir().display(&p)))?;
        todo.extend(info.references.iter().cloned());
        infos.insert(p, info);
    }
    let mut done = std::collections::BTreeSet::new();
    let mut order = Vec::with_capacity(infos.len());
    while done.len() < infos.len() {
        let ready: Vec<&evalbox_store::PathInfo> = infos
            .values()
            .filter(|i| {
                !done.contains(&i.path)
                    && i.references
                        .iter()
                        .all(|r| *r == i.path || done.contains(r))
            })
            .collect();
        anyhow::ensure!(!ready.is_empty(), "the references form a cycle");
        for info in ready {
            done.insert(info.path.clone());
            order.push(info.clone());
        }
    }
    Ok(order)
}

/// Copies the closure of `paths` from `src` to `dst`, references first, skipping the paths
/// `dst` has; returns how many were copied.
pub(super) async fn copy_closure(
    src: &dyn NixStore,
    dst: &dyn NixStore,
    paths: &[StorePath],
) -> anyhow::Result<usize> {
    anyhow::ensure!(
        src.store_dir() == dst.store_dir(),
        "the stores use different store directories ({} and {})",
        src.store_dir(),
        dst.store_dir()
    );
    let infos = closure(src, paths).await?;
    let all: Vec<StorePath> = infos.iter().map(|i| i.path.clone()).collect();
    let present = dst.query_valid_paths(&all).await?;
    let mut copied = 0;
    for info in infos.iter().filter(|i| !present.contains(&i.path)) {
        let mut nar = Vec::new();
        src.nar_from_path(&info.path, &mut nar).await?;
        dst.add_to_store_nar(info, &nar)
            .await
            .with_context(|| format!("copying '{}'", src.store_dir().display(&info.path)))?;
        eprintln!("copied '{}'", src.store_dir().display(&info.path));
        copied += 1;
    }
    Ok(copied)
}

/// Says on stderr why a run that did not exit by itself ended (`what` was stopped: a limit;
/// a trap), and gives the process's exit code for the outcome.
fn finish(outcome: &RunOutcome, what: &str) -> ExitCode {
    match outcome {
        RunOutcome::Exited(_) => {}
        RunOutcome::Limit(limit) => eprintln!("error: {what} was stopped: {limit}"),
        RunOutcome::Trapped(message) => eprintln!("error: {message}"),
    }
    ExitCode::from(outcome.exit_code())
}

/// Diagnostics on stderr: warnings (an unusable compile-cache entry, a cache that cannot be
/// written) by default; `EVALBOX_LOG` takes a `tracing` filter (`debug`, `evalbox=trace`, ...).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("EVALBOX_LOG") {
        Ok(spec) => EnvFilter::try_new(&spec).unwrap_or_else(|err| {
            eprintln!("warning: ignoring EVALBOX_LOG={spec:?}: {err}");
            EnvFilter::new("warn")
        }),
        Err(_) => EnvFilter::new("warn"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_target(false)
        .try_init();
}
