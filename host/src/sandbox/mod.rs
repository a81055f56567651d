//! The sandbox: one [`Sandbox`] (engine, linker holding exactly the evaluator world's
//! interfaces, a cache of prepared guests) runs guests under [`Limits`] with virtualised WASI
//! and the guest's two capabilities (`crate::capabilities`): store operations and read-only
//! sources.
//!
//! A run goes: load (on-disk compile cache, [`audit`], `InstancePre` resolved once per
//! component and kept) → instantiate in a fresh `wasmtime::Store` with a fresh [`GuestCtx`] →
//! call `wasi:cli/run` → classify the outcome ([`RunOutcome`]): the guest's own exit, a limit
//! it hit, or a trap. The host never panics on what a guest does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Trap};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::capabilities::nix::{NixCapability, NixEvaluator};
use crate::capabilities::store::{SourceDir, StoreCapability};
use crate::capabilities::{GuestCtx, Preopen};
use crate::runtime::{
    LimitExceeded, Limits, OutputTarget, audit, cache, determinism, engine, exit_code, limits,
    output,
};

mod linker;

/// Errors before the guest runs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The guest file could not be read.
    #[error("cannot read the guest {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The bytes are not a valid component (or compilation failed).
    #[error("cannot compile the guest: {0:#}")]
    Compile(wasmtime::Error),
    /// The capability audit refused the guest.
    #[error("guest refused: {0}")]
    Refused(#[from] audit::Refusal),
    /// Linking or instantiation failed for a reason other than the audit.
    #[error("cannot instantiate the guest: {0:#}")]
    Instantiate(wasmtime::Error),
    /// A source directory could not be opened.
    #[error("cannot open the source directory {path}: {message}")]
    Preopen {
        /// The host directory.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    AsyncRuntime(std::io::Error),
    /// The engine could not be built.
    #[error("cannot set up the wasm engine: {0:#}")]
    Engine(wasmtime::Error),
    /// A run asked for a deadline on a sandbox whose engine has no epoch checks.
    #[error(
        "this sandbox cannot enforce a timeout: its engine was built without deadlines \
         (EngineOptions::deadlines)"
    )]
    NoDeadlines,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The guest returned or called `exit`, with this code.
    Exited(i32),
    /// The guest hit a limit.
    Limit(LimitExceeded),
    /// The guest trapped; the message says why.
    Trapped(String),
}

impl RunOutcome {
    /// The process exit code for this outcome (see [`exit_code`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            RunOutcome::Exited(code) => u8::try_from(*code).unwrap_or(exit_code::FAILURE),
            RunOutcome::Limit(limit) => limit.exit_code(),
            RunOutcome::Trapped(_) => exit_code::TRAP,
        }
    }
}

/// Everything about one run besides the guest.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// `argv`, including the program name in `args[0]`.
    pub args: Vec<String>,
    /// The guest's whole environment (empty unless the user passes `--env`).
    pub env: Vec<(String, String)>,
    /// The guest's initial working directory (`wasi:cli/environment`'s `initial-cwd`), a
    /// path as the guest sees it; `None` says nothing.
    pub cwd: Option<String>,
    /// What the guest reads from standard input (empty by default).
    pub stdin: Vec<u8>,
    /// Instead of `stdin`: a pipe the host writes to while the guest runs (the guest sees
    /// the end of its input when the host drops its end).
    pub stdin_pipe: Option<StdinPipe>,
    /// Read-only source directories.
    pub preopens: Vec<Preopen>,
    /// The caps.
    pub limits: Limits,
    /// Where the guest's stdout goes.
    pub stdout: OutputTarget,
    /// Where the guest's stderr goes.
    pub stderr: OutputTarget,
    /// The store behind `evalbox:guest/store`; `None` makes every store operation fail with
    /// `unsupported`.
    pub store: Option<Arc<dyn evalbox_store::NixStore>>,
    /// What answers `evalbox:guest/nix`; `None` makes every evaluation fail with
    /// `unsupported`.
    pub nix: Option<Arc<dyn NixEvaluator>>,
    /// Tear the guest's wasmtime store down after the run even on a sandbox built with
    /// [`SandboxOptions::exit_after_run`]: for runs nested inside a longer one.
    pub reclaim: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            args: vec!["guest".into()],
            env: Vec::new(),
            cwd: None,
            stdin: Vec::new(),
            stdin_pipe: None,
            preopens: Vec::new(),
            limits: Limits::default(),
            stdout: OutputTarget::Stdout,
            stderr: OutputTarget::Stderr,
            store: None,
            nix: None,
            reclaim: false,
        }
    }
}

/// The guest's end of an interactive standard input ([`RunConfig::stdin_pipe`]); taken by
/// the first run that uses it.
#[derive(Clone, Default)]
pub struct StdinPipe(Arc<std::sync::Mutex<Option<tokio::io::DuplexStream>>>);

impl StdinPipe {
    /// A pipe: the guest's end, and the host's, which writes what the guest reads.
    pub fn new() -> (StdinPipe, tokio::io::DuplexStream) {
        let (guest, host) = tokio::io::duplex(1 << 16);
        (
            StdinPipe(Arc::new(std::sync::Mutex::new(Some(guest)))),
            host,
        )
    }

    fn take(&self) -> Option<tokio::io::DuplexStream> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

impl std::fmt::Debug for StdinPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StdinPipe(..)")
    }
}

/// A compiled, audited, pre-linked guest.
#[allow(missing_debug_implementations)]
pub struct Guest {
    pre: CommandPre<GuestCtx>,
    report: audit::Report,
}

impl Guest {
    /// The audit report (all allowed, or it would not have been prepared).
    pub fn report(&self) -> &audit::Report {
        &self.report
    }
}

/// Options for [`Sandbox::new`].
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// Engine settings.
    pub engine: engine::EngineOptions,
    /// On-disk compile cache; `None` disables it.
    pub cache: Option<cache::ComponentCache>,
    /// Show a spinner on stderr while compiling (only if stderr is a terminal).
    pub progress: bool,
    /// The process exits soon after its runs (the CLI): a finished guest's wasmtime store
    /// (instance, linear memory, stacks) is left for the kernel to reclaim at exit instead of
    /// being torn down, which takes a quarter of a millisecond. The store backend is still
    /// released as usual. A long-lived embedder must leave this off: each run would keep
    /// its memory.
    pub exit_after_run: bool,
    /// Refuse the interfaces otherwise provided denied (`wasi:sockets`), as everything else
    /// outside the evaluator world is.
    pub strict: bool,
}

/// The sandbox: one engine, one linker, prepared guests.
#[allow(missing_debug_implementations)]
pub struct Sandbox {
    engine: Engine,
    linker: Linker<GuestCtx>,
    deadlines: bool,
    cache: Option<cache::ComponentCache>,
    progress: bool,
    exit_after_run: bool,
    strict: bool,
    prepared: Mutex<HashMap<[u8; 32], Arc<Guest>>>,
}

impl Sandbox {
    /// Builds the engine and the linker.
    pub fn new(options: SandboxOptions) -> Result<Self, Error> {
        let engine = engine::new(&options.engine).map_err(Error::Engine)?;
        let linker = linker::new(&engine).map_err(Error::Engine)?;
        Ok(Sandbox {
            engine,
            linker,
            deadlines: options.engine.deadlines,
            cache: options.cache,
            progress: options.progress,
            exit_after_run: options.exit_after_run,
            strict: options.strict,
            prepared: Mutex::new(HashMap::new()),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles `wasm` (or loads it from the on-disk cache).
    pub fn compile(&self, wasm: &[u8]) -> Result<Component, Error> {
        let digest = cache::digest(wasm);
        self.compile_with_digest(wasm, &digest)
    }

    fn compile_with_digest(&self, wasm: &[u8], digest: &[u8; 32]) -> Result<Component, Error> {
        if let Some(cache) = &self.cache
            && let Some(component) = cache.load(&self.engine, digest)
        {
            return Ok(component);
        }
        let spinner = self.progress.then(|| {
            use std::io::IsTerminal as _;
            std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_message(format!(
                    "compiling the guest ({} KiB), once; later runs use the cache",
                    wasm.len() / 1024
                ));
                bar.enable_steady_tick(Duration::from_millis(100));
                bar
            })
        });
        let compiled = Component::new(&self.engine, wasm).map_err(Error::Compile);
        if let Some(Some(bar)) = spinner {
            bar.finish_and_clear();
        }
        let component = compiled?;
        if let Some(cache) = &self.cache
            && let Err(err) = cache.store(&self.engine, digest, &component)
        {
            tracing::warn!("{err}");
        }
        Ok(component)
    }

    /// Audits `component`.
    pub fn audit(&self, component: &Component) -> audit::Report {
        audit::audit(&self.engine, component, self.strict)
    }

    /// Compiles, audits and pre-links `wasm`; prepared guests are kept by content hash.
    pub fn prepare(&self, wasm: &[u8]) -> Result<Arc<Guest>, Error> {
        self.prepare_with_digest(wasm, &cache::digest(wasm))
    }

    /// [`Sandbox::prepare`] for a component whose SHA-256 the caller already knows (an
    /// embedded guest's, computed at build time): skips hashing it. It must be the digest of
    /// `wasm`: the compile cache and the prepared-guest table are keyed by it.
    pub fn prepare_with_digest(&self, wasm: &[u8], digest: &[u8; 32]) -> Result<Arc<Guest>, Error> {
        if let Some(guest) = self.lock_prepared().get(digest) {
            return Ok(guest.clone());
        }
        let component = self.compile_with_digest(wasm, digest)?;
        self.prepare_component(component, digest)
    }

    /// Audits and pre-links a compiled component whose source has SHA-256 `digest`.
    fn prepare_component(
        &self,
        component: Component,
        digest: &[u8; 32],
    ) -> Result<Arc<Guest>, Error> {
        let report = self.audit(&component);
        report.verdict()?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(CommandPre::new)
            .map_err(Error::Instantiate)?;
        let guest = Arc::new(Guest { pre, report });
        self.lock_prepared().insert(*digest, guest.clone());
        Ok(guest)
    }

    /// Reads and prepares the guest at `path`. With a compile cache, a file whose compiled
    /// form is cached and that has not changed since (by `stat`) is neither read nor hashed.
    pub fn prepare_file(&self, path: &Path) -> Result<Arc<Guest>, Error> {
        if let Some(cache) = &self.cache
            && let Some(digest) = cache.known_digest(path)
        {
            if let Some(guest) = self.lock_prepared().get(&digest) {
                return Ok(guest.clone());
            }
            if let Some(component) = cache.load(&self.engine, &digest) {
                return self.prepare_component(component, &digest);
            }
        }
        let wasm = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let digest = cache::digest(&wasm);
        let guest = self.prepare_with_digest(&wasm, &digest)?;
        if let Some(cache) = &self.cache {
            cache.remember_digest(path, &digest);
        }
        Ok(guest)
    }

    fn lock_prepared(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<Guest>>> {
        self.prepared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `guest` once under `config`.
    pub async fn run(&self, guest: &Guest, config: &RunConfig) -> Result<RunOutcome, Error> {
        if config.limits.timeout.is_some() && !self.deadlines {
            return Err(Error::NoDeadlines);
        }
        let ctx = self.context(config)?;
        let mut store = wasmtime::Store::new(&self.engine, ctx);
        store.limiter(|ctx| &mut ctx.limiter);
        if self.deadlines {
            match config.limits.timeout {
                Some(timeout) => store.set_epoch_deadline(engine::ticks(timeout)),
                None => store.set_epoch_deadline(engine::NO_DEADLINE),
            }
            store.epoch_deadline_trap();
        }
        let run = async {
            let command = guest.pre.instantiate_async(&mut store).await?;
            command.wasi_cli_run().call_run(&mut store).await
        };
        // Epoch interruption stops a guest that computes; a guest blocked in a host call
        // (a long sleep, a slow store operation) is stopped by dropping the call instead.
        let result = match config.limits.timeout {
            Some(timeout) => match tokio::time::timeout(timeout, run).await {
                Ok(result) => result,
                Err(_elapsed) => return Ok(RunOutcome::Limit(LimitExceeded::Deadline(timeout))),
            },
            None => run.await,
        };
        let outcome = classify(result, &config.limits);
        if self.exit_after_run && !config.reclaim {
            store.data_mut().store.backend = None;
            store.data_mut().nix.evaluator = None;
            std::mem::forget(store);
        }
        Ok(outcome)
    }

    /// [`Sandbox::run`] on a fresh single-threaded async runtime, for callers that are not
    /// async themselves.
    pub fn run_blocking(&self, guest: &Guest, config: &RunConfig) -> Result<RunOutcome, Error> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::AsyncRuntime)?
            .block_on(self.run(guest, config))
    }

    fn context(&self, config: &RunConfig) -> Result<GuestCtx, Error> {
        let mut builder = WasiCtxBuilder::new();
        let budget = output::OutputBudget::new(config.limits.max_output);
        builder
            .args(&config.args)
            .envs(&config.env)
            .stdout(output::CappedOutput::new(
                config.stdout.clone(),
                budget.clone(),
            ))
            .stderr(output::CappedOutput::new(config.stderr.clone(), budget))
            .wall_clock(determinism::FixedWallClock)
            .monotonic_clock(determinism::StepMonotonicClock::default())
            .secure_random(determinism::secure_random())
            .insecure_random(determinism::insecure_random())
            .insecure_random_seed(determinism::INSECURE_SEED)
            .allow_blocking_current_thread(true)
            // The `denied` world's sockets: no protocol, no name lookup, no address.
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }));
        if let Some(cwd) = &config.cwd {
            builder.initial_cwd(cwd);
        }
        if let Some(pipe) = config.stdin_pipe.as_ref().and_then(StdinPipe::take) {
            builder.stdin(wasmtime_wasi::cli::AsyncStdinStream::new(pipe));
        } else if !config.stdin.is_empty() {
            builder.stdin(wasmtime_wasi::p2::pipe::MemoryInputPipe::new(
                config.stdin.clone(),
            ));
        }
        for preopen in &config.preopens {
            builder
                .preopened_dir(&preopen.host, &preopen.guest, FsPerms::ReadOnly)
                .map_err(|e| Error::Preopen {
                    path: preopen.host.clone(),
                    message: format!("{e:#}"),
                })?;
        }
        let sources = config
            .preopens
            .iter()
            .map(|p| {
                SourceDir::open(p).map_err(|e| Error::Preopen {
                    path: p.host.clone(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        let store = StoreCapability {
            backend: config.store.clone(),
            sources,
            max_host_arg: config.limits.max_host_arg,
            drv_hashes: Default::default(),
        };
        let nix = NixCapability {
            evaluator: config.nix.clone(),
            max_host_arg: config.limits.max_host_arg,
            answered: Default::default(),
            answered_bytes: 0,
        };
        Ok(GuestCtx::new(
            builder.build(),
            limits::Limiter::new(&config.limits),
            store,
            nix,
        ))
    }
}

/// Turns the result of instantiating and calling `run` into an outcome.
fn classify(result: wasmtime::Result<Result<(), ()>>, limits: &Limits) -> RunOutcome {
    match result {
        Ok(Ok(())) => RunOutcome::Exited(0),
        Ok(Err(())) => RunOutcome::Exited(1),
        Err(err) => {
            if let Some(exit) = err.downcast_ref::<I32Exit>() {
                return RunOutcome::Exited(exit.0);
            }
            if let Some(limit) = err.downcast_ref::<LimitExceeded>() {
                return RunOutcome::Limit(limit.clone());
            }
            match err.downcast_ref::<Trap>() {
                Some(Trap::Interrupt) => RunOutcome::Limit(LimitExceeded::Deadline(
                    limits.timeout.unwrap_or_default(),
                )),
                Some(Trap::StackOverflow) => RunOutcome::Trapped(
                    "stack overflow: the guest exhausted its wasm call stack (deep recursion)"
                        .into(),
                ),
                Some(Trap::UnreachableCodeReached) => RunOutcome::Trapped(
                    "the guest aborted (wasm `unreachable`: usually a Rust panic, whose message is on the guest's stderr)"
                        .into(),
                ),
                Some(Trap::MemoryOutOfBounds) => RunOutcome::Trapped(
                    "the guest trapped: out of bounds memory access (a wild pointer, or deep \
                     recursion running the guest's own stack in linear memory off its end)"
                        .into(),
                ),
                Some(trap) => RunOutcome::Trapped(format!("the guest trapped: {trap}")),
                None => RunOutcome::Trapped(format!("the guest failed: {err:#}")),
            }
        }
    }
}
