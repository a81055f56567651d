//! The embedded store: a real Nix local store under a root directory, laid out like a Nix
//! chroot store (`ROOT/nix/store/...`, `ROOT/nix/var/nix/db/db.sqlite`), so that
//! `nix-store --store 'local?root=ROOT'` reads what evalbox wrote.
//!
//! Crash safety. New contents are written under a temporary name inside the store directory
//! (`.evalbox-tmp/<pid>-<n>`), made read-only, and renamed into place while the path's lock
//! (Nix's `<path>.lock` flock) is held; only then is the path registered, in one SQLite
//! transaction. A killed process therefore leaves either nothing registered (a later add
//! removes the stale, unregistered copy under the same lock) or a complete path. Surviving a
//! power loss or an OS crash as well needs the contents on disk before registration: that is
//! `--option fsync-store-paths true`, off by default as in Nix (two fsyncs per path cost more
//! than the rest of instantiating a derivation). Temporaries of dead processes are removed when
//! a store is opened.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use nix_formats::derivation::Derivation;
use nix_formats::{ContentAddress, FileIngestionMethod, HashAlgo, NixHash, StoreDir, StorePath};

use crate::derivations::{self, DrvHashCache};
use crate::fs::{self as sfs, HashSink};
use crate::settings::BuildSettings;
use crate::{AddSource, BuildResult, BuildTarget, Error, NixStore, PathInfo, Result};

mod build;
mod db;
mod gc;
mod lock;

use db::Db;
pub use db::SCHEMA_VERSION;
pub use gc::{GcOptions, GcReport};
use lock::PathLock;

/// The directory (inside the real store directory) holding contents being written.
const TMP_DIR: &str = ".evalbox-tmp";
/// The largest NAR of a tree kept in memory while it is hashed (see [`KeptNar`]).
const NAR_KEPT: usize = 32 << 20;

/// The embedded store.
#[derive(Debug, Clone)]
pub struct LocalStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    store_dir: StoreDir,
    /// `ROOT` + store dir: where contents really live.
    real_store: PathBuf,
    db: Mutex<Db>,
    drv_hashes: DrvHashCache,
    build_settings: Mutex<BuildSettings>,
    /// `fsync-store-paths`, read on every add.
    fsync: AtomicBool,
    /// This process's temporary GC roots (one list per store and process, shared by every
    /// `LocalStore` the process opens on it).
    temp_roots: Arc<Mutex<gc::TempRoots>>,
    /// The largest NAR of a tree kept in memory while it is hashed ([`NAR_KEPT`]).
    nar_kept: usize,
}

/// Numbers the temporary files and build directories of this process, across every store
/// it opens: two stores of one process never pick the same name.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The outcome of checking a store (`evalbox store verify`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of registered paths checked.
    pub checked: usize,
    /// Problems found, one line each.
    pub problems: Vec<String>,
}

impl LocalStore {
    /// Open (creating if needed) the embedded store rooted at `root`.
    pub fn open(root: &Path, store_dir: StoreDir) -> Result<Self> {
        let real_store = root.join(store_dir.as_str().trim_start_matches('/'));
        std::fs::create_dir_all(&real_store).map_err(|e| Error::io(&real_store, e))?;
        let db_dir = root.join("nix/var/nix/db");
        let db = Db::open(&db_dir, store_dir.clone())?;
        let inner = Inner {
            root: root.to_path_buf(),
            store_dir,
            real_store,
            db: Mutex::new(db),
            drv_hashes: DrvHashCache::new(),
            build_settings: Mutex::new(BuildSettings::default()),
            fsync: AtomicBool::new(BuildSettings::default().fsync_store_paths),
            temp_roots: gc::TempRoots::of_process(root)?,
            nar_kept: NAR_KEPT,
        };
        inner.clean_dead_temporaries()?;
        Ok(LocalStore {
            inner: Arc::new(inner),
        })
    }

    /// The store, keeping NARs of trees of at most `cap` bytes in memory while hashing.
    #[cfg(test)]
    fn keeping_nars_up_to(mut self, cap: usize) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("a store just opened")
            .nar_kept = cap;
        self
    }

    /// How this store builds from now on.
    pub fn set_build_settings(&self, settings: BuildSettings) {
        self.inner
            .fsync
            .store(settings.fsync_store_paths, Ordering::Relaxed);
        *self
            .inner
            .build_settings
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = settings;
    }

    /// The garbage collector's roots: each rooted store path and where it is rooted.
    pub async fn roots(&self) -> Result<BTreeMap<StorePath, BTreeSet<String>>> {
        let inner = self.inner.clone();
        blocking(move || inner.find_roots(false)).await
    }

    /// Collects garbage (see [`GcOptions`]).
    pub async fn collect_garbage(&self, opts: GcOptions) -> Result<GcReport> {
        let inner = self.inner.clone();
        blocking(move || inner.collect_garbage(&opts)).await
    }

    /// Deletes `paths`, which must all be dead and have no other referrers.
    pub async fn delete_paths(&self, paths: Vec<StorePath>) -> Result<Vec<StorePath>> {
        let inner = self.inner.clone();
        blocking(move || inner.delete_paths(&paths)).await
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Where a store path's contents live on the host.
    pub fn real_path(&self, path: &StorePath) -> PathBuf {
        self.inner.real_path(path)
    }

    /// Check that every registered path exists and, with `check_contents`, that its NAR hash
    /// and size still match the database.
    pub async fn verify(&self, check_contents: bool) -> Result<VerifyReport> {
        let inner = self.inner.clone();
        blocking(move || inner.verify(check_contents)).await
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(Error::Corrupt(format!("store worker failed: {e}"))),
    }
}

impl Inner {
    /// Whether new paths are fsynced (`fsync-store-paths`).
    fn fsync(&self) -> bool {
        self.fsync.load(Ordering::Relaxed)
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Db> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned lock is still usable.
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn real_path(&self, path: &StorePath) -> PathBuf {
        self.real_store.join(path.to_string())
    }

    fn tmp_root(&self) -> PathBuf {
        self.real_store.join(TMP_DIR)
    }

    /// A fresh directory for building `drv_path` (`ROOT/nix/var/evalbox/builds/...`), on the
    /// store's file system so that outputs move into the store by renaming.
    fn new_build_dir(&self, drv_path: &StorePath) -> Result<PathBuf> {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = self.builds_root().join(format!(
            "{}-{n}-{}",
            std::process::id(),
            drv_path.hash_part()
        ));
        sfs::remove_tree(&dir)?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(dir)
    }

    fn new_tmp_path(&self) -> Result<PathBuf> {
        let dir = self.tmp_root();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nonce: u32 = rand::random();
        Ok(dir.join(format!("{}-{n}-{nonce:08x}", std::process::id())))
    }

    fn builds_root(&self) -> PathBuf {
        self.root.join("nix/var/evalbox/builds")
    }

    /// Removes what processes that died left behind: temporaries of store additions and
    /// build directories (both named after the process that made them).
    fn clean_dead_temporaries(&self) -> Result<()> {
        for dir in [self.tmp_root(), self.builds_root()] {
            self.clean_dead_in(&dir)?;
        }
        Ok(())
    }

    fn clean_dead_in(&self, dir: &Path) -> Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.split('-').next())
                .and_then(|p| p.parse::<i32>().ok());
            if let Some(pid) = pid
                && pid != std::process::id() as i32
                && !process_alive(pid)
            {
                sfs::remove_tree(&entry.path())?;
            }
        }
        Ok(())
    }

    fn check_name(name: &str) -> Result<()> {
        nix_formats::store_path::validate_name(name)
            .map_err(|e| Error::BadInput(format!("invalid store path name '{name}': {e}")))
    }

    fn check_references_valid(&self, refs: &BTreeSet<StorePath>, except: &StorePath) -> Result<()> {
        let db = self.db();
        for r in refs {
            if r != except && !db.is_valid(r)? {
                return Err(Error::BadInput(format!(
                    "reference '{}' is not a valid path",
                    self.store_dir.display(r)
                )));
            }
        }
        Ok(())
    }

    /// Move the finished temporary `tmp` to `path` and register it. Under the path lock: if it
    /// became valid meanwhile, the temporary is dropped; a stale unregistered copy is replaced.
    fn install(
        &self,
        tmp: &Path,
        info: PathInfo,
        drv_outputs: &BTreeMap<String, StorePath>,
    ) -> Result<PathInfo> {
        let real = self.real_path(&info.path);
        let _lock = PathLock::acquire(&real)?;
        if let Some(existing) = self.db().path_info(&info.path)? {
            sfs::remove_tree(tmp)?;
            return Ok(existing);
        }
        sfs::remove_tree(&real)?;
        std::fs::rename(tmp, &real).map_err(|e| Error::io(&real, e))?;
        if self.fsync() {
            sfs::sync_dir(&self.real_store)?;
        }
        self.db().register(&info, drv_outputs)?;
        Ok(info)
    }

    fn add(
        &self,
        name: &str,
        source: AddSource,
        method: FileIngestionMethod,
        algo: HashAlgo,
        references: &BTreeSet<StorePath>,
    ) -> Result<PathInfo> {
        Self::check_name(name)?;
        // A tree is hashed before anything is written: adding sources that are in the store
        // already (every evaluation of an unchanged project) then costs a read of the tree,
        // not a copy of it to be thrown away. A NAR of the tree up to `NAR_KEPT` bytes is
        // kept while hashing, so a new tree is still read once, and not hashed again.
        let staged = match (source, method) {
            (AddSource::Tree { root, filter }, FileIngestionMethod::Recursive) => {
                let mut sink = KeptNar::new(algo, self.nar_kept);
                sfs::dump_beneath(&root.dir, &root.path, filter.as_ref(), &mut sink, None)?;
                let (nar, hashes) = sink.finish();
                let path = self
                    .store_dir
                    .make_fixed_output_path(name, method, &hashes.1, references, false)?;
                self.add_temp_root(&path)?;
                if let Some(existing) = self.db().path_info(&path)? {
                    return Ok(existing);
                }
                match nar {
                    Some(nar) => Staged::Kept(nar, hashes),
                    // Too large to keep: read again, copying while hashing (what is added is
                    // what that second read found).
                    None => Staged::Source(AddSource::Tree { root, filter }),
                }
            }
            (source, _) => Staged::Source(source),
        };
        let tmp = self.new_tmp_path()?;
        let result = (|| {
            let hashes = match staged {
                Staged::Source(source) => self.write_added(&tmp, source, method, algo)?,
                Staged::Kept(nar, hashes) => {
                    sfs::restore_nar(&nar[..], &tmp)?;
                    hashes
                }
            };
            self.register_added(&tmp, name, method, hashes, references)
        })();
        if result.is_err() {
            let _ = sfs::remove_tree(&tmp);
        }
        result
    }

    /// The contents of `source` written to `tmp`, with their NAR hash, content hash (in
    /// `algo`) and NAR size.
    fn write_added(
        &self,
        tmp: &Path,
        source: AddSource,
        method: FileIngestionMethod,
        algo: HashAlgo,
    ) -> Result<(NixHash, NixHash, u64)> {
        Ok(match (source, method) {
            (AddSource::Bytes(bytes), _) => {
                std::fs::write(tmp, &bytes).map_err(|e| Error::io(tmp, e))?;
                let mut sink = HashSink::new(algo);
                sfs::dump_tree(tmp, None, &mut sink, None)?;
                let (nar, other, size) = sink.finish();
                let ca = match method {
                    FileIngestionMethod::Flat => NixHash::of(algo, &bytes),
                    FileIngestionMethod::Recursive => other,
                };
                (nar, ca, size)
            }
            (AddSource::Tree { root, filter }, method) => {
                let path = &root.path;
                let mut sink = HashSink::new(algo);
                sfs::dump_beneath(&root.dir, path, filter.as_ref(), &mut sink, Some(tmp))?;
                let (nar, other, size) = sink.finish();
                let ca = match method {
                    FileIngestionMethod::Recursive => other,
                    FileIngestionMethod::Flat => {
                        let meta = std::fs::symlink_metadata(tmp).map_err(|e| Error::io(tmp, e))?;
                        if !meta.is_file() {
                            return Err(Error::BadInput(format!(
                                "{}: flat ingestion needs a regular file",
                                path.display()
                            )));
                        }
                        hash_file(tmp, algo)?
                    }
                };
                (nar, ca, size)
            }
            (AddSource::Nar(mut reader), FileIngestionMethod::Recursive) => {
                let mut tee = HashingReader {
                    inner: &mut reader,
                    sink: HashSink::new(algo),
                };
                sfs::restore_nar(&mut tee, tmp)?;
                let (nar, other, size) = tee.sink.finish();
                (nar, other, size)
            }
            (AddSource::Nar(_), FileIngestionMethod::Flat) => {
                return Err(Error::BadInput(
                    "a NAR can only be added with recursive ingestion".into(),
                ));
            }
        })
    }

    /// The contents at `tmp`, with the hashes `write_added` gives, made read-only and moved
    /// into the store at the path their content address names, and registered.
    fn register_added(
        &self,
        tmp: &Path,
        name: &str,
        method: FileIngestionMethod,
        (nar_hash, ca_hash, nar_size): (NixHash, NixHash, u64),
        references: &BTreeSet<StorePath>,
    ) -> Result<PathInfo> {
        sfs::make_read_only(tmp)?;
        if self.fsync() {
            sfs::sync_tree(tmp)?;
            sfs::sync_dir(tmp.parent().unwrap_or(tmp))?;
        }

        // The store path follows from the content address.
        let path = self
            .store_dir
            .make_fixed_output_path(name, method, &ca_hash, references, false)?;
        self.add_temp_root(&path)?;
        self.check_references_valid(references, &path)?;
        let info = PathInfo {
            path,
            deriver: None,
            nar_hash,
            nar_size,
            references: references.clone(),
            registration_time: now(),
            ultimate: false,
            signatures: vec![],
            ca: Some(ContentAddress::Fixed {
                method,
                hash: ca_hash,
            }),
        };
        self.install(tmp, info, &BTreeMap::new())
    }

    /// Text paths (`toFile`, `.drv` files) are small and written in place under the path's lock,
    /// as Nix does, rather than through a temporary: an unregistered copy left by a killed
    /// writer is replaced by the next add, under the same lock.
    /// [`NixStore::add_to_store_nar`]: the NAR unpacked to a temporary, its hash and size
    /// checked against `info`, then installed and registered with `info`'s metadata.
    fn import(&self, mut info: PathInfo, nar: &[u8]) -> Result<()> {
        self.add_temp_root(&info.path)?;
        if self.db().is_valid(&info.path)? {
            return Ok(());
        }
        self.check_references_valid(&info.references, &info.path)?;
        let tmp = self.new_tmp_path()?;
        let result = (|| {
            let mut tee = HashingReader {
                inner: &mut &nar[..],
                sink: HashSink::new(HashAlgo::Sha256),
            };
            sfs::restore_nar(&mut tee, &tmp)?;
            let (nar_hash, _, nar_size) = tee.sink.finish();
            if nar_hash != info.nar_hash || nar_size != info.nar_size {
                return Err(Error::BadInput(format!(
                    "importing '{}': the NAR has hash {} and size {}, not {} and {} as its \
                     metadata says",
                    self.store_dir.display(&info.path),
                    nar_hash.to_sri(),
                    nar_size,
                    info.nar_hash.to_sri(),
                    info.nar_size
                )));
            }
            // A derivation's outputs are recorded with it, as when it is added.
            let mut outputs = BTreeMap::new();
            if info
                .path
                .name()
                .ends_with(nix_formats::store_path::DRV_EXTENSION)
            {
                let bytes = std::fs::read(&tmp).map_err(|e| Error::io(&tmp, e))?;
                let drv = Derivation::from_aterm_bytes(&bytes, &self.store_dir).map_err(|e| {
                    Error::BadInput(format!("{}: {e}", self.store_dir.display(&info.path)))
                })?;
                for (name, out) in &drv.outputs {
                    if let Some(p) = out.path() {
                        outputs.insert(name.clone(), p.clone());
                    }
                }
            }
            sfs::make_read_only(&tmp)?;
            if self.fsync() {
                sfs::sync_tree(&tmp)?;
            }
            info.registration_time = now();
            info.ultimate = false;
            self.install(&tmp, info.clone(), &outputs)
        })();
        if result.is_err() {
            let _ = sfs::remove_tree(&tmp);
        }
        result.map(drop)
    }

    fn add_text(
        &self,
        name: &str,
        text: &[u8],
        references: &BTreeSet<StorePath>,
        drv_outputs: &BTreeMap<String, StorePath>,
    ) -> Result<StorePath> {
        Self::check_name(name)?;
        let content_hash = NixHash::of(HashAlgo::Sha256, text);
        let path = self
            .store_dir
            .make_text_path(name, &content_hash, references)?;
        self.add_temp_root(&path)?;
        if self.db().is_valid(&path)? {
            return Ok(path);
        }
        self.check_references_valid(references, &path)?;
        let real = self.real_path(&path);
        let _lock = PathLock::acquire(&real)?;
        if self.db().is_valid(&path)? {
            return Ok(path);
        }
        sfs::remove_tree(&real)?;
        let res = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o444)
                .open(&real)
                .map_err(|e| Error::io(&real, e))?;
            let one = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1);
            f.write_all(text)
                .and_then(|_| {
                    f.set_times(
                        std::fs::FileTimes::new()
                            .set_accessed(one)
                            .set_modified(one),
                    )
                })
                .and_then(|_| if self.fsync() { f.sync_all() } else { Ok(()) })
                .map_err(|e| Error::io(&real, e))?;
            if self.fsync() {
                sfs::sync_dir(&self.real_store)?;
            }
            // The NAR of one regular file, hashed from memory rather than read back.
            let mut sink = HashSink::new(HashAlgo::Sha256);
            nix_formats::nar::writer::open(&mut sink)
                .and_then(|node| node.file_bytes(false, text))
                .map_err(|e| Error::Corrupt(format!("serialising '{name}': {e}")))?;
            let (nar_hash, _, nar_size) = sink.finish();
            let info = PathInfo {
                path: path.clone(),
                deriver: None,
                nar_hash,
                nar_size,
                references: references.clone(),
                registration_time: now(),
                ultimate: false,
                signatures: vec![],
                ca: Some(ContentAddress::Text(content_hash)),
            };
            self.db().register(&info, drv_outputs)
        })();
        if res.is_err() {
            let _ = sfs::remove_tree(&real);
        }
        res.map(|()| path)
    }

    fn add_derivation(&self, drv: &Derivation, name: &str) -> Result<StorePath> {
        let aterm = drv.to_aterm_bytes(&self.store_dir);
        let mut refs: BTreeSet<StorePath> = drv.input_sources.clone();
        refs.extend(drv.input_derivations.keys().cloned());
        let mut outputs = BTreeMap::new();
        for (out_name, out) in &drv.outputs {
            if let Some(p) = out.path() {
                outputs.insert(out_name.clone(), p.clone());
            }
        }
        let drv_name = format!("{name}{}", nix_formats::store_path::DRV_EXTENSION);
        self.add_text(&drv_name, &aterm, &refs, &outputs)
    }

    /// `ROOT/nix/var/nix/gcroots/auto/<nix32 of the SHA-1 of the link's path>` -> `link`, as
    /// Nix names indirect roots.
    fn add_indirect_root(&self, link: &Path) -> Result<()> {
        let bytes = link.as_os_str().as_encoded_bytes();
        if !link.is_absolute() {
            return Err(Error::BadInput(format!(
                "GC root '{}' is not an absolute path",
                link.display()
            )));
        }
        let auto = self.root.join("nix/var/nix/gcroots/auto");
        std::fs::create_dir_all(&auto).map_err(|e| Error::io(&auto, e))?;
        let name = NixHash::of(HashAlgo::Sha1, bytes).to_nix32();
        sfs::replace_symlink(link, &auto.join(name))
    }

    fn nar_from_path(&self, path: &StorePath, sink: &mut (dyn Write + Send)) -> Result<()> {
        if !self.db().is_valid(path)? {
            return Err(Error::InvalidPath(self.store_dir.display(path)));
        }
        let real = self.real_path(path);
        let mut buffered = std::io::BufWriter::with_capacity(256 * 1024, sink);
        sfs::dump_tree(&real, None, &mut buffered, None)?;
        buffered.flush().map_err(|e| Error::io(&real, e))
    }

    fn verify(&self, check_contents: bool) -> Result<VerifyReport> {
        let paths = self.db().all_paths()?;
        let mut report = VerifyReport::default();
        for p in paths {
            report.checked += 1;
            let abs = self.store_dir.display(&p);
            let real = self.real_path(&p);
            if std::fs::symlink_metadata(&real).is_err() {
                report
                    .problems
                    .push(format!("path '{abs}' is registered but missing"));
                continue;
            }
            let Some(info) = self.db().path_info(&p)? else {
                continue;
            };
            for r in &info.references {
                if !self.db().is_valid(r)? {
                    report.problems.push(format!(
                        "path '{abs}' refers to '{}', which is not valid",
                        self.store_dir.display(r)
                    ));
                }
            }
            if check_contents {
                let mut sink = HashSink::new(HashAlgo::Sha256);
                match sfs::dump_tree(&real, None, &mut sink, None) {
                    Ok(()) => {
                        let (hash, _, size) = sink.finish();
                        if hash != info.nar_hash {
                            report.problems.push(format!(
                                "path '{abs}' was modified! expected hash '{}', got '{}'",
                                info.nar_hash.to_typed_nix32(),
                                hash.to_typed_nix32()
                            ));
                        } else if size != info.nar_size {
                            report.problems.push(format!(
                                "path '{abs}' has NAR size {size}, registered {}",
                                info.nar_size
                            ));
                        }
                    }
                    Err(e) => report.problems.push(format!("path '{abs}': {e}")),
                }
            }
        }
        Ok(report)
    }
}

struct HashingReader<'a> {
    inner: &'a mut (dyn std::io::Read + Send),
    sink: HashSink,
}

impl std::io::Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sink.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// The object at `rel` below the store path whose contents are at `real`, as
/// [`crate::objects::find_in_nar`] would find it in the path's NAR: nothing is followed (a
/// symlink on the way is not entered), and only normal names are looked up.
fn read_object_at(real: &Path, rel: &[Vec<u8>]) -> Result<Option<crate::objects::Object>> {
    use crate::objects::{Object, ObjectKind};
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let mut at = real.to_path_buf();
    for name in rel {
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
            return Ok(None);
        }
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => at.push(OsStr::from_bytes(name)),
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&at, e)),
        }
    }
    let kind_of = |p: &Path, m: &std::fs::Metadata| -> Result<ObjectKind> {
        Ok(if m.file_type().is_symlink() {
            let target = std::fs::read_link(p).map_err(|e| Error::io(p, e))?;
            ObjectKind::Symlink(target.as_os_str().as_bytes().to_vec())
        } else if m.is_dir() {
            ObjectKind::Directory
        } else {
            ObjectKind::Regular {
                executable: m.permissions().mode() & 0o100 != 0,
                size: m.len(),
            }
        })
    };
    let meta = match std::fs::symlink_metadata(&at) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&at, e)),
    };
    Ok(Some(match kind_of(&at, &meta)? {
        ObjectKind::Symlink(target) => Object::Symlink(target),
        ObjectKind::Regular { executable, .. } => Object::Regular {
            executable,
            contents: std::fs::read(&at).map_err(|e| Error::io(&at, e))?,
        },
        ObjectKind::Directory => {
            let mut entries = Vec::new();
            for entry in std::fs::read_dir(&at).map_err(|e| Error::io(&at, e))? {
                let entry = entry.map_err(|e| Error::io(&at, e))?;
                let path = entry.path();
                let m = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
                entries.push((entry.file_name().as_bytes().to_vec(), kind_of(&path, &m)?));
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Object::Directory(entries)
        }
    }))
}

fn hash_file(path: &Path, algo: HashAlgo) -> Result<NixHash> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = nix_formats::hash::Hasher::new(algo);
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io(path, e))?;
    Ok(h.finish())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence and permission.
    #[allow(unsafe_code)]
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[async_trait]
impl NixStore for LocalStore {
    fn store_dir(&self) -> &StoreDir {
        &self.inner.store_dir
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    async fn is_valid_path(&self, path: &StorePath) -> Result<bool> {
        self.inner.db().is_valid(path)
    }

    async fn query_valid_paths(&self, paths: &[StorePath]) -> Result<BTreeSet<StorePath>> {
        let db = self.inner.db();
        let mut out = BTreeSet::new();
        for p in paths {
            if db.is_valid(p)? {
                out.insert(p.clone());
            }
        }
        Ok(out)
    }

    async fn query_path_info(&self, path: &StorePath) -> Result<Option<PathInfo>> {
        self.inner.db().path_info(path)
    }

    async fn add_to_store(
        &self,
        name: &str,
        source: AddSource,
        method: FileIngestionMethod,
        algo: HashAlgo,
        references: &BTreeSet<StorePath>,
    ) -> Result<PathInfo> {
        let inner = self.inner.clone();
        let name = name.to_string();
        let refs = references.clone();
        blocking(move || inner.add(&name, source, method, algo, &refs)).await
    }

    async fn add_text_to_store(
        &self,
        name: &str,
        text: &[u8],
        references: &BTreeSet<StorePath>,
    ) -> Result<StorePath> {
        // Small writes run on the caller's thread, like the queries: handing them to a
        // blocking-pool thread cost more than the write itself (adding trees and building,
        // which can take long, do go there).
        self.inner
            .add_text(name, text, references, &BTreeMap::new())
    }

    async fn add_derivation(&self, drv: &Derivation, name: &str) -> Result<StorePath> {
        // Like Nix's checkInvariants: never register a .drv whose output paths are wrong.
        derivations::check_output_paths(self, drv, name, &self.inner.drv_hashes).await?;
        let path = self.inner.add_derivation(drv, name)?;
        derivations::remember(self, &path, drv, &self.inner.drv_hashes)?;
        Ok(path)
    }

    async fn query_referrers(&self, path: &StorePath) -> Result<BTreeSet<StorePath>> {
        self.inner.db().referrers(path)
    }

    async fn nar_from_path(&self, path: &StorePath, sink: &mut (dyn Write + Send)) -> Result<()> {
        self.inner.nar_from_path(path, sink)
    }

    async fn query_derivation_output_map(
        &self,
        drv_path: &StorePath,
    ) -> Result<BTreeMap<String, Option<StorePath>>> {
        if !self.inner.db().is_valid(drv_path)? {
            return Err(Error::InvalidPath(self.inner.store_dir.display(drv_path)));
        }
        // Outputs without a known path (floating content-addressed ones) come from the .drv.
        let drv = self.read_derivation(drv_path).await?;
        let known = self.inner.db().derivation_outputs(drv_path)?;
        Ok(drv
            .outputs
            .keys()
            .map(|name| (name.clone(), known.get(name).cloned()))
            .collect())
    }

    async fn build_paths(&self, targets: &[BuildTarget]) -> Result<Vec<BuildResult>> {
        let inner = self.inner.clone();
        let targets = targets.to_vec();
        blocking(move || Ok(inner.build_paths(&targets))).await
    }

    async fn add_temp_root(&self, path: &StorePath) -> Result<()> {
        self.inner.add_temp_root(path)
    }

    async fn read_object(
        &self,
        path: &StorePath,
        rel: &[&[u8]],
    ) -> Result<Option<crate::objects::Object>> {
        if !self.inner.db().is_valid(path)? {
            return Ok(None);
        }
        // Straight from the file system, not through a NAR of the whole path: reading one
        // file of a large output costs that file only.
        let real = self.real_path(path);
        let rel: Vec<Vec<u8>> = rel.iter().map(|c| c.to_vec()).collect();
        blocking(move || read_object_at(&real, &rel)).await
    }

    async fn add_to_store_nar(&self, info: &PathInfo, nar: &[u8]) -> Result<()> {
        let inner = self.inner.clone();
        let (info, nar) = (info.clone(), nar.to_vec());
        blocking(move || inner.import(info, &nar)).await
    }

    async fn add_indirect_root(&self, link: &Path) -> Result<()> {
        self.inner.add_indirect_root(link)
    }

    async fn read_derivation(&self, drv_path: &StorePath) -> Result<Derivation> {
        if !self.inner.db().is_valid(drv_path)? {
            return Err(Error::InvalidPath(self.inner.store_dir.display(drv_path)));
        }
        let real = self.real_path(drv_path);
        let bytes = std::fs::read(&real).map_err(|e| Error::io(&real, e))?;
        Derivation::from_aterm_bytes(&bytes, &self.inner.store_dir)
            .map_err(|e| Error::Corrupt(format!("{}: {e}", real.display())))
    }
}

#[cfg(test)]
mod tests;

/// What an add writes to its temporary: the source, or the NAR of a tree kept (with its
/// hashes and size) while it was hashed.
enum Staged {
    Source(AddSource),
    Kept(Vec<u8>, (NixHash, NixHash, u64)),
}

/// A sink hashing a NAR as [`HashSink`] does and keeping its bytes, up to `cap`: a tree
/// found to be new is then unpacked from memory rather than read again.
struct KeptNar {
    hash: HashSink,
    nar: Option<Vec<u8>>,
    cap: usize,
}

impl KeptNar {
    fn new(algo: HashAlgo, cap: usize) -> Self {
        KeptNar {
            hash: HashSink::new(algo),
            nar: Some(Vec::new()),
            cap,
        }
    }

    /// The NAR, unless it was too large to keep, and [`HashSink::finish`]'s hashes and size.
    fn finish(self) -> (Option<Vec<u8>>, (NixHash, NixHash, u64)) {
        (self.nar, self.hash.finish())
    }
}

impl Write for KeptNar {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hash.write_all(buf)?;
        if let Some(nar) = &mut self.nar {
            if nar.len() + buf.len() <= self.cap {
                nar.extend_from_slice(buf);
            } else {
                self.nar = None;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
