//! `evalbox eval-jobs`: what nix-eval-jobs does, with sandboxed workers in one process.
//!
//! A pool of `--workers N` Nix guests (`nix-eval --eval-jobs`, see the evaluator's `jobs`
//! module), each evaluating the expression once, answers the collector here: for an
//! attribute path, the job found there, the names to visit below it, or the error. The
//! collector starts at the top, hands paths to the workers (two ahead of each one's
//! answers, so a worker never waits on the collector between jobs), and prints one JSON line per
//! job or error as it comes (or all of them sorted by attribute with `--sort`), each flushed,
//! so a killed run loses nothing it printed.
//!
//! `--max-memory-size MiB` is each worker's wasm memory cap, enforced: a worker that reaches
//! it is stopped and replaced, and its job tried once more, then reported as an error.
//! `--check-cache-status` adds `cacheStatus` (`local`, `notBuilt`) and `isCached` from the
//! store; `--gc-roots-dir DIR` makes `DIR/<drv name>` a root of each job's `.drv`.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, mpsc};

use anyhow::Context as _;
use clap::Args;
use evalbox::runtime::{self, LimitExceeded, OutputCallback, OutputTarget};
use evalbox::sandbox::{Guest, RunConfig, RunOutcome, Sandbox, SandboxOptions, StdinPipe};
use evalbox::store::NixStore;
use serde_json::{Map, Value as Json};
use tokio::io::AsyncWriteExt as _;

use super::Globals;
use super::eval::{Mode, Start, lexical, start};

const MIB: u64 = 1 << 20;
/// The smallest `--max-memory-size` a worker can start with.
const MIN_MEMORY_MIB: u64 = 320;

/// The command line: nix-eval-jobs' (`[--expr] FILE-OR-EXPR`, `--workers N`,
/// `--max-memory-size MiB`, `--meta`, `--force-recurse`, `--check-cache-status`,
/// `--gc-roots-dir DIR`, `--show-trace`, `--arg`, `--argstr`, `-I`, `--option`, `--impure`),
/// `--sort` (print everything at the end, sorted by attribute) and the sandbox's `--src DIR`
/// and `--no-cache`.
#[derive(Debug, Args)]
pub struct EvalJobsArgs {
    /// `[--expr] FILE-OR-EXPR [--workers N] [--max-memory-size MIB] [--meta]
    /// [--force-recurse] [--check-cache-status] [--gc-roots-dir DIR] [--sort] [--show-trace]
    /// [--arg NAME EXPR] [--argstr NAME STR] [-I PATH] [--option K V] [--src DIR]
    /// [--no-cache]`
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

/// eval-jobs' own flags; the rest is the evaluator's.
#[derive(Debug)]
struct Options {
    workers: usize,
    max_memory: u64,
    check_cache_status: bool,
    gc_roots_dir: Option<PathBuf>,
    sort: bool,
    rest: Vec<String>,
}

fn options(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        workers: 1,
        max_memory: 4096 * MIB,
        check_cache_status: false,
        gc_roots_dir: None,
        sort: false,
        rest: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let value = || {
            args.get(i + 1)
                .with_context(|| format!("flag '{flag}' requires 1 argument"))
        };
        match flag {
            "--workers" => {
                let v = value()?;
                o.workers = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| format!("--workers {v}: expected a positive number"))?;
                i += 2;
            }
            "--max-memory-size" => {
                let v = value()?;
                let mib: u64 = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| format!("--max-memory-size {v}: expected MiB"))?;
                // The guest's linear memory holds its 256 MiB stack from the start.
                anyhow::ensure!(
                    mib >= MIN_MEMORY_MIB,
                    "--max-memory-size {v}: at least {MIN_MEMORY_MIB} MiB (a Nix guest's \
                     memory starts with its 256 MiB stack)"
                );
                o.max_memory = mib.saturating_mul(MIB);
                i += 2;
            }
            "--gc-roots-dir" => {
                o.gc_roots_dir = Some(PathBuf::from(value()?));
                i += 2;
            }
            "--check-cache-status" => {
                o.check_cache_status = true;
                i += 1;
            }
            "--sort" => {
                o.sort = true;
                i += 1;
            }
            "--flake" => anyhow::bail!("--flake: flakes are not supported by evalbox"),
            _ => {
                o.rest.push(args[i].clone());
                i += 1;
            }
        }
    }
    Ok(o)
}

/// One job for a worker: an attribute path, and how many workers died on it.
#[derive(Debug, Clone)]
struct Job {
    path: Vec<String>,
    attempts: u32,
}

/// What a worker thread tells the collector.
enum Event {
    /// Bytes of the worker's standard output (its answers).
    Output(usize, u64, Vec<u8>),
    /// The worker's guest ended.
    Ended(usize, u64, Result<RunOutcome, String>),
}

/// The collector's view of one worker.
struct Worker {
    /// Bumped each time the worker is replaced: events of an older guest are ignored.
    generation: u64,
    requests: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    /// The jobs sent, oldest first: the guest answers in order, and works on the first.
    jobs: VecDeque<Job>,
    pending: Vec<u8>,
}

/// Jobs sent to a worker ahead of its answers: the next one is waiting in its input when it
/// finishes one, rather than after a round trip through this thread.
const IN_FLIGHT: usize = 2;

/// What every worker shares.
struct Shared {
    sandbox: Sandbox,
    guest: Arc<Guest>,
    config: RunConfig,
    store_uri: Option<String>,
    options: Vec<(String, String)>,
}

/// Starts a worker's guest on a thread of its own, with a store connection of its own.
fn spawn(shared: &Arc<Shared>, id: usize, generation: u64, events: &mpsc::Sender<Event>) -> Worker {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let shared = shared.clone();
    let events = events.clone();
    std::thread::spawn(move || {
        let ended = |r| {
            let _ = events.send(Event::Ended(id, generation, r));
        };
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return ended(Err(format!("cannot start the async runtime: {e}"))),
        };
        let store: Arc<dyn NixStore> = match evalbox::LazyStore::new(shared.store_uri.as_deref())
            .map_err(|e| e.to_string())
            .and_then(|s| {
                super::build_settings(&shared.options)
                    .map(|settings| s.with_build_settings(settings))
                    .map_err(|e| e.to_string())
            }) {
            Ok(store) => Arc::new(store),
            Err(e) => return ended(Err(format!("bad store: {e}"))),
        };
        let (pipe, mut host_end) = StdinPipe::new();
        let out = events.clone();
        let config = RunConfig {
            stdin_pipe: Some(pipe),
            store: Some(store),
            stdout: OutputTarget::Callback(OutputCallback(Arc::new(move |bytes: &[u8]| {
                out.send(Event::Output(id, generation, bytes.to_vec()))
                    .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            }))),
            ..shared.config.clone()
        };
        let outcome = rt.block_on(async {
            let feed = tokio::spawn(async move {
                while let Some(request) = rx.recv().await {
                    if host_end.write_all(request.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
            let outcome = shared.sandbox.run(&shared.guest, &config).await;
            feed.abort();
            outcome
        });
        ended(outcome.map_err(|e| format!("{e:#}")));
    });
    Worker {
        generation,
        requests: Some(tx),
        jobs: VecDeque::new(),
        pending: Vec::new(),
    }
}

/// An attribute path as nix-eval-jobs prints it: names joined by dots, a name that is not a
/// plain identifier quoted.
fn attr_text(path: &[String]) -> String {
    path.iter()
        .map(|name| {
            let plain = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''));
            if plain {
                name.clone()
            } else {
                Json::String(name.clone()).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Runs `evalbox eval-jobs`.
pub fn run(globals: &Globals, args: EvalJobsArgs) -> anyhow::Result<ExitCode> {
    let o = match options(&args.args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(runtime::exit_code::REFUSED));
        }
    };
    let Start { plan, cwd, config } = match start(Mode::Jobs, &o.rest, Some(o.max_memory))? {
        Ok(start) => start,
        Err(code) => return Ok(code),
    };
    anyhow::ensure!(
        !plan.stdin,
        "eval-jobs reads its requests on standard input: the expression cannot come from it"
    );
    // Workers are replaced while the process runs: each finished run's memory is reclaimed.
    let sandbox = Sandbox::new(SandboxOptions {
        exit_after_run: false,
        ..super::sandbox_options(plan.no_cache, plan.timeout.is_some(), false)
    })?;
    let guest = evalbox::nix_eval::prepare(&sandbox).map_err(anyhow::Error::msg)?;
    let shared = Arc::new(Shared {
        sandbox,
        guest,
        config,
        store_uri: globals.store.clone(),
        options: plan.options.clone(),
    });
    // The collector's own store handle: cache status and roots.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store: Arc<dyn NixStore> =
        Arc::new(evalbox::LazyStore::new(globals.store.as_deref()).context("bad store")?);
    let roots = o
        .gc_roots_dir
        .as_ref()
        .map(|d| lexical(&cwd, &d.to_string_lossy()));
    if let Some(dir) = &roots {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--gc-roots-dir {}", dir.display()))?;
    }

    let (events_tx, events) = mpsc::channel();
    let mut workers: Vec<Worker> = (0..o.workers)
        .map(|id| spawn(&shared, id, 0, &events_tx))
        .collect();
    let mut queue = VecDeque::from([Job {
        path: Vec::new(),
        attempts: 0,
    }]);
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let (mut jobs, mut errors) = (0u64, 0u64);
    let mut sorted: Vec<(Vec<String>, String)> = Vec::new();
    let mut stdout = std::io::stdout().lock();
    let mut emit = |path: &[String], mut line: Map<String, Json>| -> anyhow::Result<()> {
        let mut out = Map::new();
        out.insert("attr".into(), Json::String(attr_text(path)));
        out.insert(
            "attrPath".into(),
            Json::Array(path.iter().cloned().map(Json::String).collect()),
        );
        // nix-eval-jobs' keys are in name order.
        let mut keys: Vec<String> = line.keys().cloned().collect();
        keys.sort();
        for k in keys {
            let v = line.remove(&k).expect("listed");
            out.insert(k, v);
        }
        let text = Json::Object(out).to_string();
        if o.sort {
            sorted.push((path.to_vec(), text));
        } else {
            writeln!(stdout, "{text}")?;
            stdout.flush()?;
        }
        Ok(())
    };
    loop {
        // Fill every worker up to IN_FLIGHT, one job at a time round the workers, so the
        // queue is shared out evenly.
        for _ in 0..IN_FLIGHT {
            for w in workers.iter_mut() {
                if w.jobs.len() < IN_FLIGHT
                    && let Some(requests) = &w.requests
                    && let Some(job) = queue.pop_front()
                {
                    let request = format!("{}\n", Json::from(job.path.clone()));
                    if requests.send(request).is_ok() {
                        w.jobs.push_back(job);
                    } else {
                        queue.push_front(job);
                    }
                }
            }
        }
        if queue.is_empty() && workers.iter().all(|w| w.jobs.is_empty()) {
            break;
        }
        progress.set_message(format!(
            "{jobs} jobs, {errors} errors, {} queued",
            queue.len() + workers.iter().map(|w| w.jobs.len()).sum::<usize>()
        ));
        progress.tick();
        let Ok(event) = events.recv() else {
            anyhow::bail!("every worker is gone");
        };
        match event {
            Event::Output(id, generation, bytes) if workers[id].generation == generation => {
                let w = &mut workers[id];
                w.pending.extend_from_slice(&bytes);
                while let Some(end) = w.pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = w.pending.drain(..=end).collect();
                    let Some(job) = w.jobs.pop_front() else {
                        anyhow::bail!("worker {id} answered a request it was not asked");
                    };
                    let reply: Map<String, Json> = serde_json::from_slice(&line)
                        .with_context(|| format!("worker {id} answered {line:?}"))?;
                    if let Some(Json::Array(names)) = reply.get("attrs") {
                        for name in names.iter().filter_map(Json::as_str) {
                            if name == "recurseForDerivations" {
                                continue;
                            }
                            let mut path = job.path.clone();
                            path.push(name.to_owned());
                            queue.push_back(Job { path, attempts: 0 });
                        }
                        continue;
                    }
                    if reply.contains_key("error") {
                        errors += 1;
                        emit(&job.path, reply)?;
                        continue;
                    }
                    jobs += 1;
                    let mut reply = reply;
                    if o.check_cache_status || roots.is_some() {
                        rt.block_on(annotate(
                            store.as_ref(),
                            &mut reply,
                            o.check_cache_status,
                            roots.as_deref(),
                        ))?;
                    }
                    emit(&job.path, reply)?;
                }
            }
            Event::Ended(id, generation, outcome) if workers[id].generation == generation => {
                let described = match outcome {
                    // The memory cap is eval-jobs' `--max-memory-size` (the runtime's message
                    // names `run`'s flag).
                    Ok(RunOutcome::Limit(LimitExceeded::Memory { requested, limit })) => format!(
                        "the worker was stopped: memory limit exceeded: the guest asked for \
                         {requested} bytes of linear memory, the limit is {limit} bytes \
                         (--max-memory-size)"
                    ),
                    Ok(RunOutcome::Limit(limit)) => format!("the worker was stopped: {limit}"),
                    Ok(RunOutcome::Trapped(why)) => format!("the worker trapped: {why}"),
                    // Evaluation errors are answers; a worker exits early only when the
                    // expression itself fails (its error is on stderr already).
                    Ok(RunOutcome::Exited(code)) => {
                        progress.finish_and_clear();
                        eprintln!(
                            "error: the expression could not be evaluated (exit code {code})"
                        );
                        return Ok(ExitCode::FAILURE);
                    }
                    Err(e) => anyhow::bail!("a worker failed: {e}"),
                };
                let w = &mut workers[id];
                // The jobs behind the first were never started: they go back as they were.
                while w.jobs.len() > 1 {
                    let job = w.jobs.pop_back().expect("more than one");
                    queue.push_front(job);
                }
                if let Some(mut job) = w.jobs.pop_front() {
                    job.attempts += 1;
                    if job.attempts < 2 {
                        queue.push_front(job);
                    } else {
                        errors += 1;
                        let mut reply = Map::new();
                        reply.insert(
                            "error".into(),
                            Json::String(format!("{described} (tried twice)")),
                        );
                        emit(&job.path, reply)?;
                    }
                }
                *w = spawn(&shared, id, generation + 1, &events_tx);
            }
            _ => {}
        }
    }
    // Every worker's input ends: each guest finishes and its thread ends.
    for w in &mut workers {
        w.requests = None;
    }
    progress.finish_and_clear();
    if o.sort {
        sorted.sort();
        for (_, text) in sorted {
            writeln!(stdout, "{text}")?;
        }
        stdout.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--check-cache-status` and `--gc-roots-dir` for one job.
async fn annotate(
    store: &dyn NixStore,
    reply: &mut Map<String, Json>,
    cache_status: bool,
    roots: Option<&Path>,
) -> anyhow::Result<()> {
    let dir = store.store_dir().clone();
    if cache_status {
        let mut local = true;
        if let Some(Json::Object(outputs)) = reply.get("outputs") {
            for path in outputs.values() {
                let valid = match path.as_str().map(|p| dir.parse(p)) {
                    Some(Ok(p)) => store.is_valid_path(&p).await?,
                    _ => false,
                };
                local &= valid;
            }
        }
        let status = if local { "local" } else { "notBuilt" };
        reply.insert("cacheStatus".into(), Json::String(status.into()));
        reply.insert("isCached".into(), Json::Bool(local));
    }
    if let (Some(roots), Some(drv)) = (roots, reply.get("drvPath").and_then(Json::as_str)) {
        let drv_path = dir
            .parse(drv)
            .with_context(|| format!("a worker answered drvPath '{drv}'"))?;
        let name = drv.rsplit('/').next().unwrap_or(drv);
        super::add_perm_root(store, &drv_path, &roots.join(name)).await?;
    }
    Ok(())
}
