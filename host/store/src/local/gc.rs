//! Garbage collection of the embedded store, with Nix's roots and Nix's locking, so that
//! evalbox and real Nix can share a store: either side's collection respects the other's
//! roots.
//!
//! Roots: the symlinks (and store-path-named files) under `ROOT/nix/var/nix/gcroots` and
//! `profiles`, followed one step further for indirect roots (`gcroots/auto/<hash>` -> a
//! symlink elsewhere -> a store path, what `--add-root` makes); and the temporary roots of
//! running processes, one file per process in `temproots/<pid>` (store paths, each ended by a
//! NUL), which the process keeps locked (shared) while it lives.
//!
//! Locking, as Nix 2.8 does it: a collection holds `gc.lock` exclusively from the moment it
//! reads the roots until it has deleted what it found dead. A process records a temporary
//! root under `gc.lock` shared, so while a collection runs evalbox waits, and any root
//! recorded before the collection began is read by it. Real Nix does not wait: finding
//! `gc.lock` taken, it sends the path to the collection's socket (`gc-socket/socket`) and
//! goes on once acknowledged, so a collection serves that socket ([`RootsServer`]) and keeps
//! what it hears of alive. Stores add a temporary root for a path before they check whether
//! it is valid or write it, so a path a running evaluation made or uses is never collected
//! under it.
//!
//! Liveness: the closure of the roots under references; with `keep-derivations` (default on)
//! a live output keeps its deriver, with `keep-outputs` (default off) a live derivation keeps
//! its outputs. Everything else registered is dead. Deleting unregisters first (one
//! transaction), then removes the files: a collection killed at any point leaves a store that
//! verifies (files without registration are replaced by the next add).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use nix_formats::StorePath;

use super::Inner;
use crate::fs as sfs;
use crate::{Error, Result};

/// What to collect.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Only report what is dead (`nix-store --gc --print-dead`).
    pub dry_run: bool,
    /// Stop once this many bytes (NAR sizes) are freed.
    pub max_freed: Option<u64>,
    /// `keep-derivations`: a live output keeps the derivation it was built by.
    pub keep_derivations: bool,
    /// `keep-outputs`: a live derivation keeps its outputs.
    pub keep_outputs: bool,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            dry_run: false,
            max_freed: None,
            keep_derivations: true,
            keep_outputs: false,
        }
    }
}

/// What a collection found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// The dead paths, sorted.
    pub dead: Vec<StorePath>,
    /// The paths deleted (empty for a dry run).
    pub deleted: Vec<StorePath>,
    /// Their NAR sizes, summed.
    pub bytes_freed: u64,
}

/// This process's temporary roots file and the roots recorded in it.
#[derive(Debug, Default)]
pub(super) struct TempRoots {
    /// `temproots/<pid>`, locked shared while this process lives.
    file: Option<File>,
    /// `gc.lock`, locked shared while a root is recorded.
    gc_lock: Option<File>,
    recorded: HashSet<StorePath>,
}

impl TempRoots {
    /// This process's list for the store rooted at `root`: one per store, however many
    /// times the process opens it (each `temproots/<pid>` file is the process's, and a
    /// second opener would replace the first one's file, losing its roots).
    pub(super) fn of_process(root: &Path) -> Result<Arc<Mutex<TempRoots>>> {
        static LISTS: Mutex<BTreeMap<PathBuf, Arc<Mutex<TempRoots>>>> = Mutex::new(BTreeMap::new());
        let key = root.canonicalize().map_err(|e| Error::io(root, e))?;
        let mut lists = LISTS.lock().unwrap_or_else(|p| p.into_inner());
        Ok(lists.entry(key).or_default().clone())
    }
}

impl Inner {
    fn state_dir(&self) -> PathBuf {
        self.root.join("nix/var/nix")
    }

    /// `gc.lock`, opened (created) but not locked.
    fn gc_lock_file(&self) -> Result<File> {
        let dir = self.state_dir();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        super::lock::open_lock_file(&dir.join("gc.lock"))
    }

    /// Records `path` as a temporary root of this process (waiting while a collection
    /// runs); a no-op for a path recorded already. Adds of one process take turns here; a
    /// collection in this process opens `gc.lock` on its own and never waits for this list.
    pub(super) fn add_temp_root(&self, path: &StorePath) -> Result<()> {
        let mut roots = self.temp_roots.lock().unwrap_or_else(|p| p.into_inner());
        if roots.recorded.contains(path) {
            return Ok(());
        }
        let lock_path = self.state_dir().join("gc.lock");
        if roots.gc_lock.is_none() {
            roots.gc_lock = Some(self.gc_lock_file()?);
        }
        let gc_lock = roots.gc_lock.as_ref().expect("opened above");
        gc_lock
            .lock_shared()
            .map_err(|e| Error::io(&lock_path, e))?;
        let written = (|| {
            if roots.file.is_none() {
                roots.file = Some(self.open_temp_roots_file()?);
            }
            let line = format!("{}\0", self.store_dir.display(path));
            let file = roots.file.as_mut().expect("opened above");
            file.write_all(line.as_bytes())
                .map_err(|e| Error::io(self.state_dir().join("temproots"), e))
        })();
        let gc_lock = roots.gc_lock.as_ref().expect("opened above");
        gc_lock.unlock().map_err(|e| Error::io(&lock_path, e))?;
        written?;
        roots.recorded.insert(path.clone());
        Ok(())
    }

    /// `temproots/<pid>`, created and locked shared for as long as this process lives. A file
    /// a collection deleted meanwhile (it writes to it first) is made again.
    fn open_temp_roots_file(&self) -> Result<File> {
        let dir = self.state_dir().join("temproots");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let path = dir.join(std::process::id().to_string());
        loop {
            // Another process with this pid is gone: its file is stale.
            let _ = std::fs::remove_file(&path);
            let file = OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            file.lock_shared().map_err(|e| Error::io(&path, e))?;
            let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
            if len == 0 {
                return Ok(file);
            }
        }
    }

    /// Every root: store path -> where it is rooted (links, or `temproots/<pid>`).
    /// `remove_stale` deletes dead indirect links and temporary-roots files of dead
    /// processes, as a real collection does.
    pub(super) fn find_roots(
        &self,
        remove_stale: bool,
    ) -> Result<BTreeMap<StorePath, BTreeSet<String>>> {
        let mut roots = BTreeMap::new();
        let state = self.state_dir();
        for dir in ["gcroots", "profiles"] {
            let top = state.join(dir);
            if top.exists() {
                self.roots_below(&top, &top.join("auto"), remove_stale, &mut roots)?;
            }
        }
        let temp = state.join("temproots");
        let entries = match std::fs::read_dir(&temp) {
            Ok(e) => e.collect::<Vec<_>>(),
            Err(_) => Vec::new(),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&temp, e))?;
            let path = entry.path();
            let Ok(mut file) = OpenOptions::new().read(true).write(true).open(&path) else {
                continue;
            };
            if file.try_lock().is_ok() {
                // Nobody holds it: its process is gone.
                if remove_stale {
                    let _ = std::fs::remove_file(&path);
                    let _ = file.write_all(b"d");
                }
                continue;
            }
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)
                .map_err(|e| Error::io(&path, e))?;
            for p in bytes.split(|&b| b == 0).filter(|p| !p.is_empty()) {
                if let Ok(sp) = self.store_dir.parse(&String::from_utf8_lossy(p)) {
                    roots
                        .entry(sp)
                        .or_default()
                        .insert(path.display().to_string());
                }
            }
        }
        // This process's own file was read above like any other (this process holds its
        // lock, through another descriptor).
        Ok(roots)
    }

    /// Nix's `findRoots` below `path`.
    fn roots_below(
        &self,
        path: &Path,
        auto: &Path,
        remove_stale: bool,
        roots: &mut BTreeMap<StorePath, BTreeSet<String>>,
    ) -> Result<()> {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return Ok(());
        };
        let mut found = |link: &Path, target: &Path| {
            if let Some(sp) = self.store_path_in(target) {
                roots
                    .entry(sp)
                    .or_default()
                    .insert(link.display().to_string());
            }
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).map_err(|e| Error::io(path, e))? {
                let entry = entry.map_err(|e| Error::io(path, e))?;
                self.roots_below(&entry.path(), auto, remove_stale, roots)?;
            }
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(path).map_err(|e| Error::io(path, e))?;
            if self.store_path_in(&target).is_some() {
                found(path, &target);
                return Ok(());
            }
            // An indirect root: a link to a link into the store.
            let target = path.parent().unwrap_or(Path::new("/")).join(&target);
            match std::fs::symlink_metadata(&target) {
                Err(_) => {
                    if remove_stale && path.starts_with(auto) {
                        let _ = std::fs::remove_file(path);
                    }
                }
                Ok(m) if m.file_type().is_symlink() => {
                    let target2 = std::fs::read_link(&target).map_err(|e| Error::io(&target, e))?;
                    found(&target, &target2);
                }
                Ok(_) => {}
            }
        } else if meta.is_file()
            && let Some(name) = path.file_name()
        {
            let candidate = Path::new(self.store_dir.as_str()).join(name);
            found(path, &candidate);
        }
        Ok(())
    }

    /// The store path `target` lies in (itself or below it), if it is in the store.
    fn store_path_in(&self, target: &Path) -> Option<StorePath> {
        let rel = target.strip_prefix(self.store_dir.as_str()).ok()?;
        let first = rel.components().next()?;
        let full = Path::new(self.store_dir.as_str()).join(first);
        self.store_dir.parse(full.to_str()?).ok()
    }

    /// Takes `gc.lock` exclusively (held while the returned file is).
    fn lock_gc(&self) -> Result<File> {
        let gc_lock = self.gc_lock_file()?;
        gc_lock
            .lock()
            .map_err(|e| Error::io(self.state_dir().join("gc.lock"), e))?;
        Ok(gc_lock)
    }

    /// The registered paths, and those of them no root keeps alive (sorted). The caller holds
    /// `gc.lock`; `remove_stale` is as for [`Inner::find_roots`].
    fn dead_paths(
        &self,
        opts: &GcOptions,
        remove_stale: bool,
    ) -> Result<(super::db::Graph, Vec<StorePath>)> {
        let roots = self.find_roots(remove_stale)?;
        let graph = self.db().graph()?;
        let live = live_closure(roots.into_keys(), &graph, opts);
        let dead = graph
            .paths
            .keys()
            .filter(|p| !live.contains(p))
            .cloned()
            .collect();
        Ok((graph, dead))
    }

    /// Finds the dead paths and, unless `opts.dry_run`, deletes them (or enough of them for
    /// `max_freed`), holding `gc.lock` throughout.
    pub(super) fn collect_garbage(&self, opts: &GcOptions) -> Result<GcReport> {
        let _gc_lock = self.lock_gc()?;
        let server = if opts.dry_run {
            None
        } else {
            RootsServer::start(&self.state_dir())
        };
        let (graph, dead) = self.dead_paths(opts, !opts.dry_run)?;
        let mut report = GcReport {
            dead,
            ..GcReport::default()
        };
        if opts.dry_run {
            return Ok(report);
        }
        let _held = self.spare_heard(server.as_ref(), &graph, opts, &mut report.dead);
        // Referrers before what they refer to, so that what is left is always closed.
        for p in referrers_first(&report.dead, &graph) {
            if opts.max_freed.is_some_and(|max| report.bytes_freed >= max) {
                break;
            }
            report.bytes_freed += graph.paths[&p].nar_size;
            report.deleted.push(p);
        }
        self.delete_unregistered(&report.deleted)?;
        Ok(report)
    }

    /// Takes out of `dead` the roots real Nix sent to the collection's socket (printed store
    /// paths) and their closures, under the same rules as the roots'. The returned guard holds
    /// later roots' acknowledgements until it is dropped: keep it while deleting.
    fn spare_heard<'s>(
        &self,
        server: Option<&'s RootsServer>,
        graph: &super::db::Graph,
        opts: &GcOptions,
        dead: &mut Vec<StorePath>,
    ) -> Option<MutexGuard<'s, BTreeSet<String>>> {
        let heard = server?.hold();
        let roots = heard
            .iter()
            .filter_map(|p| self.store_path_in(Path::new(p)));
        let spared = live_closure(roots, graph, opts);
        dead.retain(|p| !spared.contains(p));
        Some(heard)
    }

    /// Unregisters `paths` (one transaction), then removes their files.
    fn delete_unregistered(&self, paths: &[StorePath]) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        self.db().invalidate(paths)?;
        for p in paths {
            sfs::remove_tree(&self.real_path(p))?;
        }
        Ok(())
    }

    /// `nix-store --delete`: deletes `paths` if none of them is alive (rooted, or kept by
    /// a live path) and nothing else refers to them; otherwise nothing is deleted and the
    /// error names a path in the way. Checked and done under one hold of `gc.lock`.
    pub(super) fn delete_paths(&self, paths: &[StorePath]) -> Result<Vec<StorePath>> {
        let _gc_lock = self.lock_gc()?;
        let server = RootsServer::start(&self.state_dir());
        let wanted: BTreeSet<&StorePath> = paths.iter().collect();
        let opts = GcOptions::default();
        let (graph, mut dead) = self.dead_paths(&opts, false)?;
        let _held = self.spare_heard(server.as_ref(), &graph, &opts, &mut dead);
        let dead: BTreeSet<&StorePath> = dead.iter().collect();
        for p in &wanted {
            if !graph.paths.contains_key(*p) {
                return Err(Error::InvalidPath(self.store_dir.display(p)));
            }
            if !dead.contains(p) {
                return Err(Error::BadInput(format!(
                    "cannot delete path '{}' since it is still alive",
                    self.store_dir.display(p)
                )));
            }
        }
        // A dead path may still have (dead) referrers: deleting it alone would leave them
        // referring to nothing, so they must be deleted with it.
        for (referrer, node) in &graph.paths {
            if wanted.contains(referrer) {
                continue;
            }
            if let Some(p) = node.references.iter().find(|r| wanted.contains(r)) {
                return Err(Error::BadInput(format!(
                    "cannot delete path '{}' since '{}' refers to it",
                    self.store_dir.display(p),
                    self.store_dir.display(referrer)
                )));
            }
        }
        let order = referrers_first(paths, &graph);
        self.delete_unregistered(&order)?;
        Ok(order)
    }
}

/// The live set of `roots`: their closure under references, with `keep-derivations` a live
/// output's deriver, with `keep-outputs` a live derivation's outputs.
fn live_closure(
    roots: impl IntoIterator<Item = StorePath>,
    graph: &super::db::Graph,
    opts: &GcOptions,
) -> HashSet<StorePath> {
    let mut live: HashSet<StorePath> = HashSet::new();
    let mut todo: Vec<StorePath> = roots
        .into_iter()
        .filter(|p| graph.paths.contains_key(p))
        .collect();
    while let Some(p) = todo.pop() {
        let Some(node) = graph.paths.get(&p) else {
            continue;
        };
        if !live.insert(p.clone()) {
            continue;
        }
        todo.extend(
            node.references
                .iter()
                .filter(|r| graph.paths.contains_key(*r))
                .cloned(),
        );
        if opts.keep_derivations
            && let Some(d) = &node.deriver
            && let Some(drv) = graph.paths.get(d)
            && drv.outputs.contains(&p)
        {
            todo.push(d.clone());
        }
        if opts.keep_outputs {
            todo.extend(
                node.outputs
                    .iter()
                    .filter(|o| graph.paths.contains_key(*o))
                    .cloned(),
            );
        }
    }
    live
}

/// Nix's GC socket, served while a collection holds `gc.lock`: a real Nix that finds the lock
/// taken connects to `STATE/gc-socket/socket`, writes each store path it is about to use on a
/// line, and waits for `1` before going on. The paths heard are kept alive by the collection.
/// While the collection deletes, it holds the set ([`RootsServer::hold`]), so a root sent
/// then is acknowledged once the deletion is over (and its sender, finding its path gone,
/// adds it again).
struct RootsServer {
    heard: Arc<Mutex<BTreeSet<String>>>,
    stop: Arc<AtomicBool>,
    socket: PathBuf,
    accepting: Option<std::thread::JoinHandle<()>>,
}

impl RootsServer {
    /// Serves the socket; `None` (with a warning) when it cannot be made, as for a path longer
    /// than a socket address holds: then real Nix fails rather than waits, as before.
    fn start(state_dir: &Path) -> Option<RootsServer> {
        let socket = state_dir.join("gc-socket/socket");
        let listener = (|| {
            std::fs::create_dir_all(state_dir.join("gc-socket"))?;
            match std::fs::remove_file(&socket) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let listener = UnixListener::bind(&socket)?;
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666))?;
            Ok(listener)
        })();
        let listener = match listener {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("cannot serve the GC socket {}: {e}", socket.display());
                return None;
            }
        };
        let heard: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let accepting = {
            let (heard, stop) = (heard.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let heard = heard.clone();
                    std::thread::spawn(move || serve_roots(conn, &heard));
                }
            })
        };
        Some(RootsServer {
            heard,
            stop,
            socket,
            accepting: Some(accepting),
        })
    }

    /// The roots heard so far; none is acknowledged while the guard is held.
    fn hold(&self) -> MutexGuard<'_, BTreeSet<String>> {
        self.heard.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for RootsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread, which then sees `stop`.
        let _ = UnixStream::connect(&self.socket);
        if let Some(t) = self.accepting.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// One client of the GC socket: each line a store path, each acknowledged with `1` once
/// recorded.
fn serve_roots(conn: UnixStream, heard: &Mutex<BTreeSet<String>>) {
    let Ok(mut reply) = conn.try_clone() else {
        return;
    };
    for line in BufReader::new(conn).lines() {
        let Ok(path) = line else { return };
        heard.lock().unwrap_or_else(|p| p.into_inner()).insert(path);
        if reply.write_all(b"1").is_err() {
            return;
        }
    }
}

/// `paths` ordered so that a path comes after every path of `paths` that refers to it
/// (Kahn's algorithm over the references among them; self-references do not count).
fn referrers_first(paths: &[StorePath], graph: &super::db::Graph) -> Vec<StorePath> {
    let set: BTreeSet<&StorePath> = paths.iter().collect();
    let refs = |p: &StorePath| -> Vec<&StorePath> {
        graph.paths.get(p).map_or_else(Vec::new, |n| {
            n.references
                .iter()
                .filter(|r| *r != p && set.contains(r))
                .collect()
        })
    };
    let mut referrers: BTreeMap<&StorePath, usize> = set.iter().map(|p| (*p, 0)).collect();
    for p in &set {
        for r in refs(p) {
            *referrers.get_mut(r).expect("in the set") += 1;
        }
    }
    let mut ready: Vec<&StorePath> = referrers
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(p, _)| *p)
        .collect();
    let mut order = Vec::with_capacity(set.len());
    while let Some(p) = ready.pop() {
        order.push(p.clone());
        for r in refs(p) {
            let n = referrers.get_mut(r).expect("in the set");
            *n -= 1;
            if *n == 0 {
                ready.push(r);
            }
        }
    }
    order
}
