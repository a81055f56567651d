//! `evalbox eval`, `evalbox instantiate` and `evalbox parse`: the Nix language in the sandbox,
//! with `nix-instantiate --eval`/`nix-instantiate`/`--parse`'s command line and output. The
//! guest's store is the one `--store` (or `$NIX_REMOTE`) names, the embedded store by default.
//!
//! The evaluator is the `nix-eval` guest embedded in evalbox (see [`evalbox::nix_eval`]). This
//! module decides what the guest may read — the current directory, the directory of each FILE,
//! every `-I`/`$NIX_PATH` entry and each `--src DIR`, all read-only — and forwards the
//! evaluator's flags untouched. `$NIX_PATH` is read here, on the host, and passed to the guest
//! explicitly as `--nix-path`: the guest's environment holds only what `--env` gives it.
//!
//! Exit status: the guest's (0 success, 1 evaluation or parse error, 2 usage error), or one of
//! [`evalbox::runtime::exit_code`] when the sandbox stops it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use clap::Args;
use evalbox::capabilities::Preopen;
use evalbox::runtime::OutputTarget;
use evalbox::runtime::{self, Limits};
use evalbox::sandbox::RunConfig;
use evalbox::sandbox::RunOutcome;
use evalbox::store::{BuildTarget, NixStore};

use super::Globals;

const MIB: u64 = 1 << 20;

/// The command line of `evalbox eval`/`evalbox parse`: nix-instantiate's, plus the sandbox's
/// own flags, which may appear anywhere: `--src DIR` (a further read-only directory,
/// repeatable), `--timeout SECS`, `--max-memory MIB` (default 4096), `--no-cache` (do not use
/// the on-disk cache of compiled guests), `--eval-store URI` (instantiate there, build in
/// `--store`, as Nix's `--eval-store`).
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// `[--strict] [--json] [--xml] [--no-location] (FILE | -E EXPR) [-A ATTR]
    /// [--arg NAME EXPR] [--argstr NAME STR] [-I PATH | -I NAME=PATH] [--system S]
    /// [--show-trace] [--env K=V] [--impure] [--max-call-depth N] [--lint-* LEVEL]
    /// [--extra-experimental-features F] [--option K V] [--src DIR] [--timeout SECS]
    /// [--max-memory MIB] [--no-cache] [--eval-store URI]`
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

/// Which nix-instantiate mode to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--eval`.
    Eval,
    /// Instantiation: write the derivations, print their `.drv` paths.
    Instantiate,
    /// Instantiation, then building the derivations and printing their output paths.
    Build,
    /// `--parse`.
    Parse,
    /// `--eval-jobs`: the guest answers `evalbox eval-jobs`' requests.
    Jobs,
}

/// What the host needs to know of the evaluator's command line.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Plan {
    /// The guest's arguments: nix-instantiate's, without the sandbox's own flags.
    pub(super) guest_args: Vec<String>,
    /// Files named on the command line (or the default `./default.nix`).
    pub(super) files: Vec<String>,
    /// `-I`/`--nix-path`/`$NIX_PATH` entries' paths (not URLs).
    pub(super) search: Vec<String>,
    /// Whether the guest reads standard input.
    pub(super) stdin: bool,
    /// `--src` directories.
    pub(super) src: Vec<PathBuf>,
    /// `--timeout`.
    pub(super) timeout: Option<Duration>,
    /// `--max-memory`, in bytes.
    pub(super) max_memory: Option<u64>,
    /// `--no-cache`.
    pub(super) no_cache: bool,
    /// `--option NAME VALUE` pairs, for the store's build settings.
    pub(super) options: Vec<(String, String)>,
    /// `--add-root PATH`.
    pub(super) add_root: Option<String>,
    /// `--eval-store URI`: where to instantiate, when builds happen in another store.
    pub(super) eval_store: Option<String>,
}

/// Splits the command line into the sandbox's flags and nix-instantiate's, which are read
/// with the grammar the guest reads them with (`nix-args`): a flag's value is never taken
/// for a file, or the other way round.
pub(super) fn plan(mode: Mode, args: &[String], nix_path: Option<&str>) -> anyhow::Result<Plan> {
    let mut plan = Plan {
        guest_args: match mode {
            Mode::Eval => vec!["--eval".to_owned()],
            Mode::Instantiate | Mode::Build => Vec::new(),
            Mode::Parse => vec!["--parse".to_owned()],
            Mode::Jobs => vec!["--eval-jobs".to_owned()],
        },
        ..Plan::default()
    };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        match flag {
            "--no-cache" => {
                plan.no_cache = true;
                i += 1;
            }
            "--src" | "--timeout" | "--max-memory" | "--eval-store" => {
                let value = args
                    .get(i + 1)
                    .with_context(|| format!("flag '{flag}' requires 1 argument"))?;
                match flag {
                    "--src" => plan.src.push(PathBuf::from(value)),
                    "--eval-store" => plan.eval_store = Some(value.clone()),
                    "--timeout" => {
                        plan.timeout = Some(
                            value
                                .parse::<f64>()
                                .ok()
                                .and_then(|secs| super::timeout(secs).ok())
                                .with_context(|| {
                                    format!(
                                        "--timeout {value}: expected a positive number of seconds"
                                    )
                                })?,
                        )
                    }
                    _ => {
                        let mib: u64 = value
                            .parse()
                            .with_context(|| format!("--max-memory {value}: expected MiB"))?;
                        plan.max_memory = Some(mib.saturating_mul(MIB));
                    }
                }
                i += 2;
            }
            _ => {
                // A nix-instantiate flag and its values (the grammar reports a missing one).
                let end = (i + 1 + nix_args::arity(flag).unwrap_or(0)).min(args.len());
                plan.guest_args.extend(args[i..end].iter().cloned());
                i = end;
            }
        }
    }
    if let Some(nix_path) = nix_path.filter(|p| !p.is_empty()) {
        plan.guest_args.push("--nix-path".to_owned());
        plan.guest_args.push(nix_path.to_owned());
    }
    let cmd = nix_args::Command::parse(&plan.guest_args)?;
    plan.options = cmd.options.clone();
    // As in Nix, a root is made for instantiation only (`--eval`/`--parse` ignore it).
    plan.add_root = cmd.add_root.clone().filter(|_| !cmd.eval && !cmd.parse);
    for source in cmd.sources() {
        match source {
            nix_args::Source::Stdin => plan.stdin = true,
            nix_args::Source::File(f) => plan.files.push(f),
            nix_args::Source::Expr(_) => {}
        }
    }
    plan.search = cmd
        .search_path
        .iter()
        .filter(|e| !e.is_url() && !e.path.is_empty())
        .map(|e| e.path.clone())
        .collect();
    Ok(plan)
}

/// `path` made absolute against `cwd` with `.` and `..` removed lexically, as Nix does
/// (symlinks are not resolved).
pub(super) fn lexical(cwd: &Path, path: &str) -> PathBuf {
    let absolute = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{}/{path}", cwd.display())
    };
    PathBuf::from(nix_args::canon_path(&absolute))
}

/// The directories the guest may read, read-only: the current directory, each `--src`, and
/// for each FILE and search-path entry the directory itself (or a file's directory). Each is
/// seen in the guest at the path the user wrote (made absolute) and at its canonical path, so
/// paths through symlinks work as they do in Nix. Entries that do not exist are skipped (Nix
/// ignores missing search-path entries; a missing FILE gets the evaluator's own error).
pub(super) fn preopens(cwd: &Path, plan: &Plan) -> anyhow::Result<Vec<Preopen>> {
    // (host, guest)
    let mut dirs: Vec<(PathBuf, PathBuf)> = vec![(cwd.to_path_buf(), cwd.to_path_buf())];
    for dir in &plan.src {
        let canonical = cwd
            .join(dir)
            .canonicalize()
            .with_context(|| format!("--src {}: cannot open the directory", dir.display()))?;
        anyhow::ensure!(
            canonical.is_dir(),
            "--src {}: not a directory",
            dir.display()
        );
        dirs.push((canonical.clone(), canonical));
    }
    for path in plan.files.iter().chain(&plan.search) {
        let written = lexical(cwd, path);
        let Ok(canonical) = written.canonicalize() else {
            continue;
        };
        if canonical.is_dir() {
            dirs.push((canonical.clone(), written));
            dirs.push((canonical.clone(), canonical));
        } else if let (Some(parent), Some(written_parent)) = (canonical.parent(), written.parent())
        {
            if let Ok(host) = written_parent.canonicalize() {
                dirs.push((host, written_parent.to_path_buf()));
            }
            dirs.push((parent.to_path_buf(), parent.to_path_buf()));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    dirs.into_iter()
        .filter(|(_, guest)| seen.insert(guest.clone()))
        .map(|(host, guest)| {
            let guest = guest
                .to_str()
                .with_context(|| format!("{}: the path is not UTF-8", guest.display()))?
                .to_owned();
            Ok(Preopen { host, guest })
        })
        .collect()
}

/// What the Nix guest's runs (`eval`, `parse`, `eval-jobs`) share before they start: the
/// command line read with nix-instantiate's grammar, the working directory, and the run's
/// configuration (the guest's arguments and working directory, the read-only sources, the
/// limits).
pub(super) struct Start {
    pub(super) plan: Plan,
    pub(super) cwd: PathBuf,
    pub(super) config: RunConfig,
}

/// Reads `args` for `mode` (`max_memory`, when given, overrides `--max-memory`). A usage error
/// of nix-instantiate's grammar is printed, and gives the code to exit with (2, as the
/// evaluator would).
pub(super) fn start(
    mode: Mode,
    args: &[String],
    max_memory: Option<u64>,
) -> anyhow::Result<Result<Start, ExitCode>> {
    let nix_path = std::env::var("NIX_PATH").ok();
    let plan = match plan(mode, args, nix_path.as_deref()) {
        Ok(plan) => plan,
        Err(err) if err.is::<nix_args::Error>() => {
            eprintln!("error: {err}");
            return Ok(Err(ExitCode::from(runtime::exit_code::REFUSED)));
        }
        Err(err) => return Err(err),
    };
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .context("cannot read the current directory")?;
    let cwd_str = cwd
        .to_str()
        .context("the current directory's path is not UTF-8")?
        .to_owned();
    let config = RunConfig {
        args: std::iter::once("nix-eval".to_owned())
            .chain(plan.guest_args.iter().cloned())
            .collect(),
        cwd: Some(cwd_str),
        preopens: preopens(&cwd, &plan)?,
        limits: Limits {
            timeout: plan.timeout,
            max_memory: max_memory
                .or(plan.max_memory)
                .unwrap_or(runtime::limits::DEFAULT_MAX_MEMORY),
            ..Limits::default()
        },
        ..RunConfig::default()
    };
    Ok(Ok(Start { plan, cwd, config }))
}

/// Runs `evalbox eval` or `evalbox parse`.
pub fn run(globals: &Globals, mode: Mode, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let Start {
        plan,
        cwd,
        mut config,
    } = match start(mode, &args.args, None)? {
        Ok(start) => start,
        Err(code) => return Ok(code),
    };
    if plan.stdin {
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut config.stdin)
            .context("cannot read the standard input")?;
    }

    let sandbox = super::sandbox(plan.no_cache, plan.timeout.is_some(), false)?;
    let guest = evalbox::nix_eval::prepare(sandbox).map_err(anyhow::Error::msg)?;
    // Opened on the guest's first store call: an evaluation that never writes to the store
    // does not create or open one.
    let settings = super::logged_build_settings(&plan.options)?;
    let store: Arc<dyn NixStore> = Arc::new(
        evalbox::LazyStore::new(globals.store.as_deref())
            .context("bad store")?
            .with_build_settings(settings.clone()),
    );
    // `--eval-store URI` (Nix's): the guest instantiates there; builds happen in `--store`,
    // to which the derivations' closure is copied first.
    let eval_store: Arc<dyn NixStore> = match &plan.eval_store {
        Some(uri) => Arc::new(
            evalbox::LazyStore::new(Some(uri))
                .context("bad --eval-store")?
                .with_build_settings(settings),
        ),
        None => store.clone(),
    };
    let add_root = plan.add_root.as_ref().map(|root| lexical(&cwd, root));
    let printed = Arc::new(Mutex::new(Vec::new()));
    let config = RunConfig {
        store: Some(eval_store.clone()),
        stdout: if mode == Mode::Build || (mode == Mode::Instantiate && add_root.is_some()) {
            OutputTarget::Buffer(printed.clone())
        } else {
            OutputTarget::Stdout
        },
        ..config
    };
    // One async runtime for the evaluation and the build after it: a daemon connection the
    // evaluation opened lives on it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = rt.block_on(sandbox.run(&guest, &config))?;
    let printed = String::from_utf8(printed.lock().map(|b| b.clone()).unwrap_or_default())
        .context("the evaluator printed something other than UTF-8")?;
    if let (Some(root), Mode::Instantiate) = (&add_root, mode) {
        // What was instantiated before a failure is rooted and printed too, as Nix does.
        rt.block_on(add_roots(eval_store.as_ref(), root, &printed))?;
    }
    if mode != Mode::Build || outcome != RunOutcome::Exited(0) {
        return Ok(super::finish(&outcome, "the evaluation"));
    }
    // `nix-build --no-out-link`: build what was instantiated, print the outputs' paths.
    let dir = store.store_dir().clone();
    let mut wanted = Vec::new();
    for line in printed.lines() {
        let (drv, output) = line.split_once('!').unwrap_or((line, "out"));
        let drv_path = dir
            .parse(drv)
            .with_context(|| format!("the evaluator printed '{line}', not a .drv path"))?;
        wanted.push(BuildTarget {
            drv_path,
            outputs: [output.to_owned()].into(),
        });
    }
    if plan.eval_store.is_some() {
        let drvs: Vec<_> = wanted.iter().map(|t| t.drv_path.clone()).collect();
        rt.block_on(super::copy_closure(
            eval_store.as_ref(),
            store.as_ref(),
            &drvs,
        ))
        .context("copying the derivations to the build store")?;
    }
    let (code, outputs) =
        rt.block_on(super::build_and_print(store.as_ref(), &wanted, |r, out| {
            r.outputs.get(out).cloned().into_iter().collect()
        }))?;
    // `--add-root ROOT` (nix-build's `--out-link`): ROOT, ROOT-2, ... to the outputs built.
    if let Some(root) = add_root {
        for (n, path) in outputs.iter().enumerate() {
            rt.block_on(super::add_perm_root(
                store.as_ref(),
                path,
                &super::nth_root(&root, n),
            ))?;
        }
    }
    Ok(code)
}

/// `--add-root ROOT` when instantiating: for each `.drv` path printed (`DRV` or
/// `DRV!OUTPUT`), the root `ROOT` (then `ROOT-2`, `ROOT-3`, ...) to it; the link is printed
/// instead of the path, as nix-instantiate does.
async fn add_roots(store: &dyn NixStore, root: &Path, printed: &str) -> anyhow::Result<()> {
    let dir = store.store_dir();
    for (n, line) in printed.lines().enumerate() {
        let (drv, output) = match line.split_once('!') {
            Some((drv, output)) => (drv, Some(output)),
            None => (line, None),
        };
        let drv_path = dir
            .parse(drv)
            .with_context(|| format!("the evaluator printed '{line}', not a .drv path"))?;
        let link = super::nth_root(root, n);
        super::add_perm_root(store, &drv_path, &link).await?;
        let mut stdout = std::io::stdout().lock();
        match output {
            Some(out) => writeln!(stdout, "{}!{out}", link.display())?,
            None => writeln!(stdout, "{}", link.display())?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plans() {
        let p = plan(
            Mode::Eval,
            &s(&[
                "--strict",
                "f.nix",
                "-A",
                "x",
                "--arg",
                "a",
                "1",
                "-I",
                "n=/p",
                "-I",
                "/q",
                "-I",
                "u=https://x/y",
            ]),
            Some("m=/r:/s"),
        )
        .unwrap();
        assert_eq!(p.files, s(&["f.nix"]));
        assert_eq!(p.search, s(&["/p", "/q", "/r", "/s"]));
        assert!(!p.stdin);
        assert_eq!(
            p.guest_args,
            s(&[
                "--eval",
                "--strict",
                "f.nix",
                "-A",
                "x",
                "--arg",
                "a",
                "1",
                "-I",
                "n=/p",
                "-I",
                "/q",
                "-I",
                "u=https://x/y",
                "--nix-path",
                "m=/r:/s"
            ])
        );
        let p = plan(Mode::Parse, &s(&["-E", "1 + 1", "-"]), None).unwrap();
        assert!(p.files.is_empty());
        assert!(p.stdin);
        assert_eq!(p.guest_args, s(&["--parse", "-E", "1 + 1", "-"]));
        // A flag's value is never an input, even when it looks like one.
        let p = plan(
            Mode::Eval,
            &s(&["--argstr", "x", "y.nix", "--lint-url-literals", "warn"]),
            None,
        )
        .unwrap();
        assert_eq!(p.files, s(&["./default.nix"]));
        // The sandbox's own flags are the host's, wherever they appear.
        let p = plan(
            Mode::Eval,
            &s(&[
                "--src",
                "d",
                "-E",
                "1",
                "--timeout",
                "1.5",
                "--max-memory",
                "64",
                "--no-cache",
            ]),
            None,
        )
        .unwrap();
        assert_eq!(p.guest_args, s(&["--eval", "-E", "1"]));
        assert_eq!(p.src, vec![PathBuf::from("d")]);
        assert_eq!(p.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(p.max_memory, Some(64 * MIB));
        assert!(p.no_cache);
        assert!(plan(Mode::Eval, &s(&["--timeout", "0"]), None).is_err());
        assert!(plan(Mode::Eval, &s(&["--src"]), None).is_err());
        assert!(plan(Mode::Eval, &s(&["--arg", "x"]), None).is_err());
        assert!(plan(Mode::Eval, &s(&["-A"]), None).is_err());
        assert!(plan(Mode::Eval, &s(&["--bogus"]), None).is_err());
    }

    #[test]
    fn preopen_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(root.join("lib")).unwrap();
        std::fs::write(root.join("a/b/f.nix"), "1").unwrap();
        std::os::unix::fs::symlink(root.join("lib"), root.join("a/link")).unwrap();
        let cwd = root.join("a");
        let p = plan(
            Mode::Eval,
            &s(&[
                "b/f.nix",
                "-I",
                "../lib",
                "-I",
                "x=missing/dir",
                "-I",
                "y=link",
            ]),
            None,
        )
        .unwrap();
        let opened: Vec<(PathBuf, String)> = preopens(&cwd, &p)
            .unwrap()
            .into_iter()
            .map(|p| (p.host, p.guest))
            .collect();
        let at = |host: &str, guest: &str| {
            (
                root.join(host),
                root.join(guest).to_str().unwrap().to_owned(),
            )
        };
        assert_eq!(
            opened,
            vec![
                at("a", "a"),
                at("a/b", "a/b"),
                at("lib", "lib"),
                at("lib", "a/link")
            ]
        );
        let p = Plan {
            src: vec![root.join("nope")],
            ..p
        };
        assert!(preopens(&cwd, &p).is_err());
        assert_eq!(
            lexical(Path::new("/x/y"), "../z/./w"),
            PathBuf::from("/x/z/w")
        );
    }
}
