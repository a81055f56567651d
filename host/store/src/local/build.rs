//! Building derivations in the embedded store, the way Nix's local builder does: inputs first,
//! up to `max-jobs` derivations at once, each derivation once (its outputs locked while it builds, so a concurrent build of the same
//! derivation waits and then finds it done), the builder run with the environment of the
//! `.drv` plus Nix's variables in a fresh build directory, in a bubblewrap sandbox that shows
//! it only its input closure at the store directory (and no network unless the derivation is
//! fixed-output). Outputs are checked (fixed-output hashes, reference checks), made
//! read-only, scanned for references to the input closure and to each other, moved into the
//! store under their locks and registered in one transaction: a failed build registers
//! nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix_formats::derivation::{Derivation, DerivationOutput};
use nix_formats::{ContentAddress, FileIngestionMethod, HashAlgo, NixHash, StorePath};

use super::lock::PathLock;
use super::{Inner, hash_file, now};
use crate::fs::{self as sfs, HashSink};
use crate::refscan::RefScanner;
use crate::settings::BuildSettings;
use crate::{BuildResult, BuildTarget, Error, PathInfo, Result};

/// Where the build directory is inside the sandbox (Nix's `sandbox-build-dir`).
const SANDBOX_BUILD_DIR: &str = "/build";
/// The most log lines a build result keeps (the user saw all of them as they came).
const KEPT_LOG_LINES: usize = 10_000;

/// Why a derivation could not be built.
#[derive(Debug, Clone)]
struct Failure {
    status: &'static str,
    message: String,
}

impl Failure {
    fn new(status: &'static str, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::new("MiscFailure", e.to_string())
    }
}

/// A derivation's output paths and how they became valid, or why they did not.
type Outcome = std::result::Result<(BTreeMap<String, StorePath>, &'static str), Failure>;
/// A derivation read, its output paths, and whether they are all valid.
type Looked = (Derivation, BTreeMap<String, StorePath>, bool);

/// A derivation to build, as read when the build was planned.
struct Pending {
    drv: Derivation,
    outputs: BTreeMap<String, StorePath>,
    /// Its input derivations that are not done yet.
    inputs: BTreeSet<StorePath>,
}

/// One `build_paths` call: the derivations to build, what was built or failed so far, and
/// each derivation's log.
struct Session<'a> {
    inner: &'a Inner,
    settings: BuildSettings,
    state: std::sync::Mutex<State>,
    /// Signalled when a build ends (more may be ready to start).
    progress: std::sync::Condvar,
}

#[derive(Default)]
struct State {
    /// The outcome of every derivation looked at.
    done: HashMap<StorePath, Outcome>,
    /// Derivations to build that have not started.
    waiting: HashMap<StorePath, Pending>,
    /// Derivations whose inputs are all done, to be built.
    ready: Vec<StorePath>,
    /// How many builds are running.
    running: usize,
    /// Log lines by `.drv` path.
    logs: HashMap<StorePath, Vec<String>>,
}

impl Inner {
    /// Builds `targets` (see the module doc), up to `max-jobs` derivations at a time; one
    /// result each.
    pub(super) fn build_paths(&self, targets: &[BuildTarget]) -> Vec<BuildResult> {
        let settings = self
            .build_settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let jobs = settings.max_jobs.max(1);
        let session = Session {
            inner: self,
            settings,
            state: Default::default(),
            progress: Default::default(),
        };
        for t in targets {
            session.plan(&t.drv_path);
        }
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|| session.work());
            }
        });
        let mut state = session.lock();
        targets
            .iter()
            .map(|t| {
                let log = state.logs.remove(&t.drv_path).unwrap_or_default();
                let outcome = state.done.get(&t.drv_path).cloned().unwrap_or_else(|| {
                    Err(Failure::new("MiscFailure", "the build was not scheduled"))
                });
                match outcome {
                    Ok((outputs, status)) => BuildResult {
                        target: t.clone(),
                        success: true,
                        status: status.into(),
                        error_msg: String::new(),
                        outputs: outputs
                            .into_iter()
                            .filter(|(name, _)| t.outputs.is_empty() || t.outputs.contains(name))
                            .collect(),
                        log,
                    },
                    Err(f) => BuildResult {
                        target: t.clone(),
                        success: false,
                        status: f.status.into(),
                        error_msg: f.message,
                        outputs: BTreeMap::new(),
                        log,
                    },
                }
            })
            .collect()
    }

    /// The store paths `roots` refer to, recursively, with the roots.
    fn closure(&self, roots: impl IntoIterator<Item = StorePath>) -> Result<BTreeSet<StorePath>> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<StorePath> = roots.into_iter().collect();
        while let Some(p) = todo.pop() {
            if seen.contains(&p) {
                continue;
            }
            let info = self
                .db()
                .path_info(&p)?
                .ok_or_else(|| Error::InvalidPath(self.store_dir.display(&p)))?;
            todo.extend(info.references.into_iter().filter(|r| !seen.contains(r)));
            seen.insert(p);
        }
        Ok(seen)
    }

    fn read_drv(&self, drv_path: &StorePath) -> Result<Derivation> {
        if !self.db().is_valid(drv_path)? {
            return Err(Error::InvalidPath(self.store_dir.display(drv_path)));
        }
        let real = self.real_path(drv_path);
        let bytes = std::fs::read(&real).map_err(|e| Error::io(&real, e))?;
        Derivation::from_aterm_bytes(&bytes, &self.store_dir)
            .map_err(|e| Error::Corrupt(format!("{}: {e}", real.display())))
    }
}

impl Session<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A line of the log of `drv_path`'s build: shown as it comes, and kept for its result.
    fn say(&self, drv_path: &StorePath, line: String) {
        if let Some(log) = &self.settings.log {
            log(&line);
        }
        let mut state = self.lock();
        let lines = state.logs.entry(drv_path.clone()).or_default();
        if lines.len() < KEPT_LOG_LINES {
            lines.push(line);
        }
    }

    /// Looks at `root` and the input derivations it needs built: a derivation whose outputs
    /// are all valid is done; the others wait for their inputs (iteratively: input graphs
    /// can be deep). Runs before any worker starts.
    fn plan(&self, root: &StorePath) {
        let mut state = self.lock();
        let mut todo = vec![root.clone()];
        while let Some(drv_path) = todo.pop() {
            if state.done.contains_key(&drv_path) || state.waiting.contains_key(&drv_path) {
                continue;
            }
            match self.look(&drv_path) {
                Err(f) => {
                    state.done.insert(drv_path, Err(f));
                }
                Ok((_, outputs, true)) => {
                    state.done.insert(drv_path, Ok((outputs, "AlreadyValid")));
                }
                Ok((drv, outputs, false)) => {
                    let inputs: BTreeSet<StorePath> =
                        drv.input_derivations.keys().cloned().collect();
                    todo.extend(inputs.iter().cloned());
                    let pending = Pending {
                        drv,
                        outputs,
                        inputs,
                    };
                    state.waiting.insert(drv_path, pending);
                }
            }
        }
        // Whatever waits only for done derivations is ready.
        let State {
            done,
            waiting,
            ready,
            ..
        } = &mut *state;
        for (drv, pending) in waiting.iter_mut() {
            pending.inputs.retain(|i| !done.contains_key(i));
            if pending.inputs.is_empty() && !ready.contains(drv) {
                ready.push(drv.clone());
            }
        }
    }

    /// `drv_path` read, its output paths, and whether they are all valid.
    fn look(&self, drv_path: &StorePath) -> std::result::Result<Looked, Failure> {
        let shown = self.inner.store_dir.display(drv_path);
        let drv = self.inner.read_drv(drv_path)?;
        let outputs = output_paths(&drv, &shown)?;
        let valid = self.all_valid(&outputs)?;
        Ok((drv, outputs, valid))
    }

    /// A worker: builds ready derivations until nothing is left to build.
    fn work(&self) {
        loop {
            let mut state = self.lock();
            let (drv_path, pending) = loop {
                if let Some(d) = state.ready.pop()
                    && let Some(p) = state.waiting.remove(&d)
                {
                    break (d, p);
                }
                if state.running == 0 {
                    // Nothing ready and nothing running: whatever still waits never will.
                    return;
                }
                state = self.progress.wait(state).unwrap_or_else(|p| p.into_inner());
            };
            state.running += 1;
            drop(state);

            let outcome = self.build_one(&drv_path, &pending.drv, pending.outputs);

            let mut state = self.lock();
            state.running -= 1;
            state.done.insert(drv_path.clone(), outcome);
            let State { waiting, ready, .. } = &mut *state;
            for (drv, p) in waiting.iter_mut() {
                if p.inputs.remove(&drv_path) && p.inputs.is_empty() {
                    ready.push(drv.clone());
                }
            }
            drop(state);
            self.progress.notify_all();
        }
    }

    /// Builds `drv_path`, whose input derivations are done, unless its outputs became valid.
    fn build_one(
        &self,
        drv_path: &StorePath,
        drv: &Derivation,
        outputs: BTreeMap<String, StorePath>,
    ) -> Outcome {
        let inner = self.inner;
        let shown = inner.store_dir.display(drv_path);
        let failed: Vec<(String, Failure)> = {
            let state = self.lock();
            drv.input_derivations
                .keys()
                .filter_map(|input| match state.done.get(input) {
                    Some(Ok(_)) => None,
                    Some(Err(f)) => Some((inner.store_dir.display(input), f.clone())),
                    None => Some((
                        inner.store_dir.display(input),
                        Failure::new("MiscFailure", "it was not built"),
                    )),
                })
                .collect()
        };
        if !failed.is_empty() {
            return Err(Failure::new(
                "DependencyFailed",
                format!(
                    "{} dependencies of derivation '{shown}' failed to build:\n{}",
                    failed.len(),
                    failed
                        .iter()
                        .map(|(p, f)| format!("  {p}: {}", f.message))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            ));
        }
        for src in &drv.input_sources {
            if !inner.db().is_valid(src)? {
                return Err(Failure::new(
                    "MiscFailure",
                    format!(
                        "cannot build '{shown}': its input '{}' is not valid",
                        inner.store_dir.display(src)
                    ),
                ));
            }
        }
        if self.settings.max_jobs == 0 {
            return Err(Failure::new(
                "MiscFailure",
                format!("cannot build '{shown}': max-jobs is 0, so nothing may be built"),
            ));
        }
        // One build of a derivation at a time: whoever holds its outputs' locks builds it.
        let _locks = outputs
            .values()
            .map(|p| PathLock::acquire(&inner.real_path(p)))
            .collect::<Result<Vec<_>>>()?;
        if self.all_valid(&outputs)? {
            return Ok((outputs, "AlreadyValid"));
        }
        self.say(drv_path, format!("building '{shown}'..."));
        self.build(drv_path, drv, &outputs)?;
        Ok((outputs, "Built"))
    }

    fn all_valid(&self, outputs: &BTreeMap<String, StorePath>) -> Result<bool> {
        let db = self.inner.db();
        for p in outputs.values() {
            if !db.is_valid(p)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Runs the builder of `drv` (its outputs' locks held) and installs its outputs.
    fn build(
        &self,
        drv_path: &StorePath,
        drv: &Derivation,
        outputs: &BTreeMap<String, StorePath>,
    ) -> std::result::Result<(), Failure> {
        let inner = self.inner;
        let work = inner.new_build_dir(drv_path)?;
        let result = self.build_in(&work, drv_path, drv, outputs);
        if result.is_err() && self.settings.keep_failed {
            self.say(
                drv_path,
                format!(
                    "note: keeping build directory '{}'",
                    work.join("build").display()
                ),
            );
        } else {
            let _ = sfs::remove_tree(&work);
        }
        result
    }

    fn build_in(
        &self,
        work: &Path,
        drv_path: &StorePath,
        drv: &Derivation,
        outputs: &BTreeMap<String, StorePath>,
    ) -> std::result::Result<(), Failure> {
        let inner = self.inner;
        let shown = inner.store_dir.display(drv_path);
        let fixed = drv.is_fixed_output();
        let build_dir = work.join("build");
        let stage = work.join("store");
        for d in [&build_dir, &stage] {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        // The input closure: the sources and the outputs of the input derivations.
        let mut roots: BTreeSet<StorePath> = drv.input_sources.clone();
        for (input, wanted) in &drv.input_derivations {
            let outs = inner.db().derivation_outputs(input)?;
            for name in wanted {
                let path = outs.get(name).ok_or_else(|| {
                    Failure::new(
                        "MiscFailure",
                        format!(
                            "derivation '{}' has no output '{name}'",
                            inner.store_dir.display(input)
                        ),
                    )
                })?;
                roots.insert(path.clone());
            }
        }
        let closure = inner.closure(roots)?;
        let sandboxed = self.settings.sandbox || inner.root != Path::new("/");
        let top = if sandboxed {
            PathBuf::from(SANDBOX_BUILD_DIR)
        } else {
            build_dir.clone()
        };
        let env = builder_env(
            drv,
            &top,
            &build_dir,
            inner.store_dir.as_str(),
            self.settings.cores,
        )?;

        if drv.builder == "builtin:fetchurl" {
            builtin_fetchurl(drv, outputs, &stage)?;
        } else {
            let cmd = if sandboxed {
                self.sandbox_command(work, drv, &env, &closure, fixed)?
            } else {
                // Without a sandbox the builder writes straight to its output paths.
                let mut c = Command::new(&drv.builder);
                c.current_dir(&build_dir)
                    .args(&drv.args)
                    .env_clear()
                    .envs(&env);
                c
            };
            self.run(cmd, drv_path, &shown)?;
        }

        // The outputs, as the builder left them.
        let mut infos = Vec::new();
        let out_dir = |p: &StorePath| {
            if sandboxed || drv.builder == "builtin:fetchurl" {
                stage.join(p.to_string())
            } else {
                inner.real_path(p)
            }
        };
        let candidates: BTreeSet<StorePath> =
            closure.iter().chain(outputs.values()).cloned().collect();
        for (name, path) in outputs {
            let at = out_dir(path);
            if std::fs::symlink_metadata(&at).is_err() {
                return Err(Failure::new(
                    "MiscFailure",
                    format!(
                        "builder for '{shown}' failed to produce output path for output '{name}' at '{}'",
                        inner.store_dir.display(path)
                    ),
                ));
            }
            sfs::make_read_only(&at)?;
            let mut sink = TeeSink {
                hash: HashSink::new(HashAlgo::Sha256),
                refs: RefScanner::new(&candidates),
            };
            sfs::dump_tree(&at, None, &mut sink, None)?;
            let (nar_hash, _, nar_size) = sink.hash.finish();
            let references = sink.refs.found();
            let ca = match drv.outputs.get(name) {
                Some(DerivationOutput::Fixed { method, hash, .. }) => {
                    let got = match method {
                        FileIngestionMethod::Flat => {
                            let meta =
                                std::fs::symlink_metadata(&at).map_err(|e| Error::io(&at, e))?;
                            if !meta.is_file() {
                                return Err(Failure::new(
                                    "OutputRejected",
                                    format!(
                                        "output path '{}' of fixed-output derivation '{shown}' must be a regular file for flat hashing",
                                        inner.store_dir.display(path)
                                    ),
                                ));
                            }
                            hash_file(&at, hash.algo())?
                        }
                        FileIngestionMethod::Recursive => {
                            let mut h = HashSink::new(hash.algo());
                            sfs::dump_tree(&at, None, &mut h, None)?;
                            h.finish().1
                        }
                    };
                    if got != *hash {
                        return Err(Failure::new(
                            "OutputRejected",
                            format!(
                                "hash mismatch in fixed-output derivation '{shown}':\n  specified: {}\n     got:    {}",
                                hash.to_sri(),
                                got.to_sri()
                            ),
                        ));
                    }
                    if !references.is_empty() {
                        return Err(Failure::new(
                            "OutputRejected",
                            format!("illegal path references in fixed-output derivation '{shown}'"),
                        ));
                    }
                    Some(ContentAddress::Fixed {
                        method: *method,
                        hash: *hash,
                    })
                }
                _ => None,
            };
            infos.push((
                name.clone(),
                at,
                PathInfo {
                    path: path.clone(),
                    deriver: Some(drv_path.clone()),
                    nar_hash,
                    nar_size,
                    references,
                    registration_time: now(),
                    ultimate: true,
                    signatures: vec![],
                    ca,
                },
            ));
        }
        self.check_references(drv, &shown, &infos)?;
        // Install: move each output into place (its lock is held) and register them together.
        for (_, at, info) in &infos {
            inner.add_temp_root(&info.path)?;
            if inner.fsync() {
                sfs::sync_tree(at)?;
            }
            let real = inner.real_path(&info.path);
            if *at != real {
                sfs::remove_tree(&real)?;
                std::fs::rename(at, &real).map_err(|e| Error::io(&real, e))?;
            }
        }
        if inner.fsync() {
            sfs::sync_dir(&inner.real_store)?;
        }
        let infos: Vec<PathInfo> = infos.into_iter().map(|(_, _, i)| i).collect();
        inner.db().register_all(&infos, &BTreeMap::new())?;
        Ok(())
    }

    /// `allowedReferences`, `allowedRequisites`, `disallowedReferences`,
    /// `disallowedRequisites` (or `outputChecks` with structured attributes).
    fn check_references(
        &self,
        drv: &Derivation,
        shown: &str,
        infos: &[(String, PathBuf, PathInfo)],
    ) -> std::result::Result<(), Failure> {
        let inner = self.inner;
        let by_name: BTreeMap<&str, &StorePath> = infos
            .iter()
            .map(|(n, _, i)| (n.as_str(), &i.path))
            .collect();
        let structured: Option<serde_json::Value> = drv
            .env
            .get("__json")
            .and_then(|j| serde_json::from_str(j).ok());
        for (name, _, info) in infos {
            for check in [
                "allowedReferences",
                "allowedRequisites",
                "disallowedReferences",
                "disallowedRequisites",
            ] {
                let spec: Option<Vec<String>> = match &structured {
                    Some(j) => j
                        .get("outputChecks")
                        .and_then(|c| c.get(name))
                        .and_then(|c| c.get(check))
                        .and_then(|v| v.as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        }),
                    None => drv
                        .env
                        .get(check)
                        .map(|v| v.split_whitespace().map(str::to_owned).collect()),
                };
                let Some(spec) = spec else { continue };
                // Entries are store paths or output names of this derivation.
                let mut listed = BTreeSet::new();
                for entry in &spec {
                    match by_name.get(entry.as_str()) {
                        Some(p) => {
                            listed.insert((*p).clone());
                        }
                        None => {
                            let p = inner.store_dir.parse(entry).map_err(|e| {
                                Failure::new(
                                    "MiscFailure",
                                    format!("derivation '{shown}': '{check}' entry '{entry}': {e}"),
                                )
                            })?;
                            listed.insert(p);
                        }
                    }
                }
                let used: BTreeSet<StorePath> = if check.ends_with("Requisites") {
                    let mut all = BTreeSet::new();
                    let mut todo: Vec<StorePath> = info.references.iter().cloned().collect();
                    while let Some(p) = todo.pop() {
                        if !all.insert(p.clone()) {
                            continue;
                        }
                        if let Some((_, _, i)) = infos.iter().find(|(_, _, i)| i.path == p) {
                            todo.extend(i.references.iter().cloned());
                        } else if let Some(i) = inner.db().path_info(&p)? {
                            todo.extend(i.references);
                        }
                    }
                    all
                } else {
                    info.references.clone()
                };
                let allowed = check.starts_with("allowed");
                let bad: Vec<String> = used
                    .iter()
                    .filter(|p| **p != info.path && listed.contains(*p) != allowed)
                    .map(|p| inner.store_dir.display(p))
                    .collect();
                if let Some(first) = bad.first() {
                    let kind = if check.ends_with("Requisites") {
                        "requisite"
                    } else {
                        "reference"
                    };
                    return Err(Failure::new(
                        "OutputRejected",
                        format!(
                            "output '{}' is not allowed to refer to the following paths:\n  {first}\n(the {kind} check '{check}' of derivation '{shown}')",
                            inner.store_dir.display(&info.path)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `bwrap` set up to run a builder: the build directory, a writable store directory
    /// holding only the input closure (read-only), `sandbox-paths`, `/proc`, `/dev`, a
    /// minimal `/etc`, uid 1000, no network unless fixed-output.
    fn sandbox_command(
        &self,
        work: &Path,
        drv: &Derivation,
        env: &BTreeMap<String, String>,
        closure: &BTreeSet<StorePath>,
        fixed: bool,
    ) -> std::result::Result<Command, Failure> {
        let inner = self.inner;
        let bwrap = find_in_path("bwrap").ok_or_else(|| {
            Failure::new(
                "MiscFailure",
                "building in the embedded store needs bubblewrap (`bwrap`, Debian's `bubblewrap`) \
                 to show the builder its inputs at the store directory; install it, or build \
                 with `--store daemon` (a nix-daemon), or use an embedded store rooted at `/` \
                 with `--option sandbox false`",
            )
        })?;
        let etc = work.join("etc");
        std::fs::create_dir_all(&etc).map_err(|e| Error::io(&etc, e))?;
        let files = [
            (
                "passwd",
                "root:x:0:0:Nix build user:/build:/noshell\nnixbld:x:1000:100:Nix build user:/build:/noshell\nnobody:x:65534:65534:Nobody:/:/noshell\n",
            ),
            ("group", "root:x:0:\nnixbld:!:100:\nnogroup:x:65534:\n"),
            ("hosts", "127.0.0.1 localhost\n::1 localhost\n"),
        ];
        for (name, text) in files {
            std::fs::write(etc.join(name), text).map_err(|e| Error::io(etc.join(name), e))?;
        }
        let store = inner.store_dir.as_str();
        let mut c = Command::new(bwrap);
        c.args(["--unshare-all", "--die-with-parent", "--new-session"])
            .args(["--uid", "1000", "--gid", "100", "--hostname", "localhost"])
            .args(["--proc", "/proc", "--dev", "/dev"])
            .arg("--bind")
            .arg(work.join("build"))
            .arg(SANDBOX_BUILD_DIR)
            .arg("--bind")
            .arg(work.join("store"))
            .arg(store);
        if fixed {
            c.arg("--share-net");
        }
        for p in closure {
            c.arg("--ro-bind")
                .arg(inner.real_path(p))
                .arg(inner.store_dir.display(p));
        }
        for name in ["passwd", "group", "hosts"] {
            c.arg("--ro-bind")
                .arg(etc.join(name))
                .arg(format!("/etc/{name}"));
        }
        if fixed && Path::new("/etc/resolv.conf").exists() {
            c.args(["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"]);
        }
        for sp in &self.settings.sandbox_paths {
            if !sp.host.exists() {
                if sp.optional {
                    continue;
                }
                return Err(Failure::new(
                    "MiscFailure",
                    format!("sandbox path '{}' does not exist", sp.host.display()),
                ));
            }
            c.arg("--ro-bind").arg(&sp.host).arg(&sp.inside);
        }
        // The builder's environment is exactly `env`: nothing of the host's leaks in.
        c.args(["--chdir", SANDBOX_BUILD_DIR, "--clearenv"]);
        for (k, v) in env {
            c.arg("--setenv").arg(k).arg(v);
        }
        c.arg("--").arg(&drv.builder).args(&drv.args);
        Ok(c)
    }

    /// Runs the builder, streaming its output to the log, within the time limits.
    fn run(
        &self,
        mut cmd: Command,
        drv_path: &StorePath,
        shown: &str,
    ) -> std::result::Result<(), Failure> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().map_err(|e| {
            Failure::new(
                "MiscFailure",
                format!("cannot run the builder of '{shown}': {e}"),
            )
        })?;
        let (tx, rx) = mpsc::channel::<String>();
        let mut readers = Vec::new();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            readers.push(std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream).split(b'\n') {
                    let Ok(line) = line else { break };
                    if tx
                        .send(String::from_utf8_lossy(&line).into_owned())
                        .is_err()
                    {
                        break;
                    }
                }
            }));
        }
        drop(tx);
        let started = Instant::now();
        let mut last_output = Instant::now();
        let kill = |child: &mut std::process::Child| {
            #[allow(unsafe_code)]
            // SAFETY: kill(2) on the builder's own process group.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
        };
        loop {
            let wait = [
                self.settings
                    .timeout
                    .map(|t| t.saturating_sub(started.elapsed())),
                self.settings
                    .max_silent_time
                    .map(|t| t.saturating_sub(last_output.elapsed())),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Duration::from_secs(3600));
            match rx.recv_timeout(wait) {
                Ok(line) => {
                    last_output = Instant::now();
                    self.say(drv_path, line);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(t) = self.settings.timeout
                        && started.elapsed() >= t
                    {
                        kill(&mut child);
                        return Err(Failure::new(
                            "TimedOut",
                            format!(
                                "building of '{shown}' timed out after {} seconds",
                                t.as_secs()
                            ),
                        ));
                    }
                    if let Some(t) = self.settings.max_silent_time
                        && last_output.elapsed() >= t
                    {
                        kill(&mut child);
                        return Err(Failure::new(
                            "TimedOut",
                            format!(
                                "'{shown}' timed out after {} seconds of silence",
                                t.as_secs()
                            ),
                        ));
                    }
                }
            }
        }
        for r in readers {
            let _ = r.join();
        }
        let status = child.wait().map_err(|e| {
            Failure::new(
                "MiscFailure",
                format!("waiting for the builder of '{shown}': {e}"),
            )
        })?;
        if !status.success() {
            let how = match status.code() {
                Some(code) => format!("exit code {code}"),
                None => "a signal".to_owned(),
            };
            return Err(Failure::new(
                "PermanentFailure",
                format!("builder for '{shown}' failed with {how}"),
            ));
        }
        Ok(())
    }
}

/// A sink computing the NAR hash and scanning for references at once.
struct TeeSink {
    hash: HashSink,
    refs: RefScanner,
}

impl Write for TeeSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hash.write_all(buf)?;
        self.refs.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The output paths of `drv` (shown as `shown`), all of which must be known.
fn output_paths(
    drv: &Derivation,
    shown: &str,
) -> std::result::Result<BTreeMap<String, StorePath>, Failure> {
    let mut outputs = BTreeMap::new();
    for (name, output) in &drv.outputs {
        let path = output.path().ok_or_else(|| {
            Failure::new(
                "MiscFailure",
                format!(
                    "cannot build '{shown}': output '{name}' has no known path \
                     (content-addressed derivations are not supported)"
                ),
            )
        })?;
        outputs.insert(name.clone(), path.clone());
    }
    Ok(outputs)
}

/// The builder's environment, as Nix makes it: the derivation's, with Nix's variables, the
/// attributes passed as files written to the build directory, and structured attributes
/// written as `.attrs.json`/`.attrs.sh`. `top` is the build directory as the builder sees it,
/// `build_dir` where it is on the host.
fn builder_env(
    drv: &Derivation,
    top: &Path,
    build_dir: &Path,
    store_dir: &str,
    cores: usize,
) -> Result<BTreeMap<String, String>> {
    let top_s = top.display().to_string();
    let mut env = BTreeMap::new();
    env.insert("PATH".to_owned(), "/path-not-set".to_owned());
    env.insert("HOME".to_owned(), "/homeless-shelter".to_owned());
    env.insert("NIX_STORE".to_owned(), store_dir.to_owned());
    env.insert("NIX_BUILD_CORES".to_owned(), cores.to_string());
    let pass_as_file: BTreeSet<&str> = drv
        .env
        .get("passAsFile")
        .map(|v| v.split_whitespace().collect())
        .unwrap_or_default();
    if let Some(json) = drv.env.get("__json") {
        let mut attrs: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|e| Error::BadInput(format!("the derivation's __json: {e}")))?;
        let outputs: serde_json::Map<String, serde_json::Value> = drv
            .outputs
            .iter()
            .filter_map(|(n, o)| {
                o.path()
                    .map(|p| (n.clone(), format!("{store_dir}/{p}").into()))
            })
            .collect();
        attrs.insert("outputs".into(), outputs.into());
        // Nix's JSON objects keep their keys sorted, at every level.
        let attrs = sorted_object(attrs);
        let json_path = build_dir.join(".attrs.json");
        std::fs::write(
            &json_path,
            serde_json::Value::Object(attrs.clone()).to_string(),
        )
        .map_err(|e| Error::io(&json_path, e))?;
        let sh_path = build_dir.join(".attrs.sh");
        std::fs::write(&sh_path, attrs_sh(&attrs)).map_err(|e| Error::io(&sh_path, e))?;
        env.insert("NIX_ATTRS_JSON_FILE".into(), format!("{top_s}/.attrs.json"));
        env.insert("NIX_ATTRS_SH_FILE".into(), format!("{top_s}/.attrs.sh"));
    } else {
        for (k, v) in &drv.env {
            if pass_as_file.contains(k.as_str()) {
                let name = format!(
                    ".attr-{}",
                    nix_formats::nixbase32::encode(
                        NixHash::of(HashAlgo::Sha256, k.as_bytes()).digest()
                    )
                );
                let p = build_dir.join(&name);
                std::fs::write(&p, v).map_err(|e| Error::io(&p, e))?;
                env.insert(format!("{k}Path"), format!("{top_s}/{name}"));
            } else {
                env.insert(k.clone(), v.clone());
            }
        }
    }
    for var in ["NIX_BUILD_TOP", "TMPDIR", "TEMPDIR", "TMP", "TEMP", "PWD"] {
        env.insert(var.to_owned(), top_s.clone());
    }
    env.insert("NIX_LOG_FD".to_owned(), "2".to_owned());
    env.insert("TERM".to_owned(), "xterm-256color".to_owned());
    Ok(env)
}

/// `object` with the keys of every object in it in sorted order.
fn sorted_object(
    object: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    let sorted: BTreeMap<String, serde_json::Value> = object
        .into_iter()
        .map(|(k, v)| (k, sorted_value(v)))
        .collect();
    sorted.into_iter().collect()
}

fn sorted_value(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(m) => sorted_object(m).into(),
        serde_json::Value::Array(a) => a.into_iter().map(sorted_value).collect(),
        v => v,
    }
}

/// Structured attributes as Bash declarations (Nix's `.attrs.sh`): strings, numbers and
/// Booleans as variables, lists of those as arrays, sets of those as associative arrays.
fn attrs_sh(attrs: &serde_json::Map<String, serde_json::Value>) -> String {
    fn scalar(v: &serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(if *b { "1".into() } else { String::new() }),
            _ => None,
        }
    }
    fn quote(s: &str) -> String {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
    let valid = |k: &str| {
        let mut c = k.chars();
        c.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut out = String::new();
    for (k, v) in attrs {
        if !valid(k) {
            continue;
        }
        match v {
            serde_json::Value::Array(items) => {
                if let Some(items) = items.iter().map(scalar).collect::<Option<Vec<_>>>() {
                    let items: Vec<String> = items.iter().map(|s| quote(s)).collect();
                    out.push_str(&format!("declare -a {k}=({} )\n", items.join(" ")));
                }
            }
            serde_json::Value::Object(map) => {
                if let Some(entries) = map
                    .iter()
                    .map(|(mk, mv)| scalar(mv).map(|s| format!("[{}]={}", quote(mk), quote(&s))))
                    .collect::<Option<Vec<_>>>()
                {
                    out.push_str(&format!("declare -A {k}=({} )\n", entries.join(" ")));
                }
            }
            v => {
                if let Some(s) = scalar(v) {
                    out.push_str(&format!("declare {k}={}\n", quote(&s)));
                }
            }
        }
    }
    out
}

/// Nix's `builtin:fetchurl`: the file at `url` becomes the output (`executable`: made
/// executable; `unpack`: the file is a NAR to unpack). `file://` URLs only: the embedded store
/// has no network client.
fn builtin_fetchurl(
    drv: &Derivation,
    outputs: &BTreeMap<String, StorePath>,
    stage: &Path,
) -> std::result::Result<(), Failure> {
    let out = outputs
        .get("out")
        .ok_or_else(|| Failure::new("MiscFailure", "builtin:fetchurl needs an output 'out'"))?;
    let url = drv
        .env
        .get("url")
        .ok_or_else(|| Failure::new("MiscFailure", "builtin:fetchurl needs a 'url' attribute"))?;
    // Nix's builtin:fetchurl: the file at `url` (file://, http://, https://, fetched by the
    // host, since a builtin builder runs outside the sandbox), or with `unpack` the NAR there.
    let dst = stage.join(out.to_string());
    let flag = |k: &str| drv.env.get(k).is_some_and(|v| v == "1");
    if flag("unpack") {
        let reader = crate::fetch::open(url)?;
        sfs::restore_nar(std::io::BufReader::new(reader), &dst)?;
    } else {
        crate::fetch::download(url, &dst)?;
        let mode = if flag("executable") { 0o755 } else { 0o644 };
        std::fs::set_permissions(&dst, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .map_err(|e| Error::io(&dst, e))?;
    }
    Ok(())
}

/// `name` found in the directories of `$PATH`.
fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}
