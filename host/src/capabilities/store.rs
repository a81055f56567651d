//! The host side of `evalbox:guest/store`: each WIT operation is checked (argument caps,
//! store-path syntax, preopen confinement), converted to `evalbox-store` types, and served by
//! the run's [`NixStore`]. Failures become the WIT `error` variant in one place
//! ([`to_wit_error`]); only sandbox limits trap.
//!
//! Path resolution for the add-path operations never touches anything outside a preopen: the
//! guest path must be absolute and free of `..`, it is matched component-wise against the
//! preopens' guest paths, and the remainder is walked below the preopen's directory handle
//! (opened once, when the sandbox was set up), refusing any symlink on the way (a symlink as
//! the final component is fine: it is stored as a symlink, its target never read). Every read
//! goes through that handle, so nothing outside the preopen can be reached, even if the tree
//! changes meanwhile. A path inside the store directory is not a source: it is read from the
//! store, cut out of its (valid) store path's NAR.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use cap_std::fs::Dir;
use evalbox_store::derivations::{DrvHashCache, compute_output_paths, remember};
use evalbox_store::objects::{Object, ObjectKind, filtered_subtree, find_in_nar};
use evalbox_store::{AddSource, BuildTarget, NixStore, PathFilter, TreeRoot};
use nix_formats::derivation::{Derivation, DerivationOutput};
use nix_formats::{FileIngestionMethod, HashAlgo, NixHash, StorePath};

use super::Preopen;
use crate::bindings::store as wit;
use crate::runtime::LimitExceeded;

/// The store interface's per-guest state.
#[derive(Debug, Clone, Default)]
pub struct StoreCapability {
    /// The backend; `None` makes every operation fail with `unsupported`.
    pub backend: Option<Arc<dyn NixStore>>,
    /// The guest's read-only source directories.
    pub sources: Vec<SourceDir>,
    /// Cap on one host-call argument, in bytes.
    pub max_host_arg: u64,
    /// Memoised `hashDerivationModulo` of input derivations (shared across runs is fine:
    /// a `.drv` path determines its contents).
    pub drv_hashes: Arc<DrvHashCache>,
}

/// A store operation's result: the outer error traps (limits), the inner is the guest's.
type HostResult<T> = wasmtime::Result<Result<T, wit::Error>>;

/// Converts a store error to the WIT variant (the one place this mapping lives).
pub fn to_wit_error(err: evalbox_store::Error) -> wit::Error {
    use evalbox_store::Error as E;
    let message = err.to_string();
    match err {
        E::InvalidPath(_) => wit::Error::NotFound(message),
        E::StorePath(_) => wit::Error::InvalidPath(message),
        E::BadInput(_) | E::Hash(_) | E::Derivation(_) => wit::Error::InvalidArgument(message),
        E::Unsupported(_) => wit::Error::Unsupported(message),
        _ => wit::Error::Backend(message),
    }
}

impl From<ResolveError> for wit::Error {
    fn from(err: ResolveError) -> Self {
        match err {
            ResolveError::NotFound { .. } => wit::Error::NotFound(err.to_string()),
            _ => wit::Error::Refused(err.to_string()),
        }
    }
}

fn method(m: wit::IngestionMethod) -> FileIngestionMethod {
    match m {
        wit::IngestionMethod::Flat => FileIngestionMethod::Flat,
        wit::IngestionMethod::Recursive => FileIngestionMethod::Recursive,
    }
}

fn algo(a: wit::HashAlgo) -> HashAlgo {
    match a {
        wit::HashAlgo::Md5 => HashAlgo::Md5,
        wit::HashAlgo::Sha1 => HashAlgo::Sha1,
        wit::HashAlgo::Sha256 => HashAlgo::Sha256,
        wit::HashAlgo::Sha512 => HashAlgo::Sha512,
    }
}

/// Total bytes of a list of strings (what the guest made the host copy).
fn strings_size<'a>(strings: impl IntoIterator<Item = &'a String>) -> u64 {
    strings.into_iter().map(|s| s.len() as u64).sum()
}

/// Exits early from a host function with the guest-visible error.
macro_rules! guest_try {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok(Err(e.into())),
        }
    };
}

impl StoreCapability {
    fn check_size(&self, operation: &'static str, size: u64) -> wasmtime::Result<()> {
        if size > self.max_host_arg {
            return Err(wasmtime::Error::new(LimitExceeded::HostArgument {
                operation,
                size,
                limit: self.max_host_arg,
            }));
        }
        Ok(())
    }

    fn backend(&self) -> Result<Arc<dyn NixStore>, wit::Error> {
        self.backend.clone().ok_or_else(|| {
            wit::Error::Unsupported(
                "this run has no store (the host was started without one)".into(),
            )
        })
    }

    fn parse_path(store: &dyn NixStore, path: &str) -> Result<StorePath, wit::Error> {
        store
            .store_dir()
            .parse(path)
            .map_err(|e| wit::Error::InvalidPath(format!("`{path}`: {e}")))
    }

    fn parse_paths(
        store: &dyn NixStore,
        paths: &[String],
    ) -> Result<BTreeSet<StorePath>, wit::Error> {
        paths.iter().map(|p| Self::parse_path(store, p)).collect()
    }

    fn path_info(store: &dyn NixStore, info: evalbox_store::PathInfo) -> wit::PathInfo {
        let dir = store.store_dir();
        wit::PathInfo {
            path: dir.display(&info.path),
            deriver: info.deriver.as_ref().map(|d| dir.display(d)),
            nar_hash: info.nar_hash.to_typed_nix32(),
            nar_size: info.nar_size,
            references: info.references.iter().map(|r| dir.display(r)).collect(),
            registration_time: u64::try_from(info.registration_time).unwrap_or(0),
            ca: info.ca.as_ref().map(ToString::to_string),
        }
    }

    /// Builds the `nix-formats` derivation (outputs not yet computed) from the WIT record.
    fn derivation(store: &dyn NixStore, drv: &wit::Derivation) -> Result<Derivation, wit::Error> {
        let invalid = wit::Error::InvalidArgument;
        if drv.outputs.is_empty() {
            return Err(invalid(format!("derivation `{}` has no outputs", drv.name)));
        }
        let mut outputs = BTreeMap::new();
        for o in &drv.outputs {
            nix_formats::store_path::validate_name(&o.name)
                .map_err(|e| invalid(format!("output name `{}`: {e}", o.name)))?;
            let output = match &o.fixed {
                None => DerivationOutput::Deferred,
                Some(fixed) => {
                    if o.name != "out" || drv.outputs.len() != 1 {
                        return Err(invalid(format!(
                            "derivation `{}`: only a single output named `out` may be fixed-output",
                            drv.name
                        )));
                    }
                    let hash = NixHash::parse(&fixed.hash, Some(algo(fixed.algo)))
                        .map_err(|e| invalid(format!("fixed-output hash `{}`: {e}", fixed.hash)))?;
                    DerivationOutput::fixed(
                        store.store_dir(),
                        &drv.name,
                        &o.name,
                        method(fixed.method),
                        hash,
                    )
                    .map_err(|e| invalid(format!("derivation `{}`: {e}", drv.name)))?
                }
            };
            if outputs.insert(o.name.clone(), output).is_some() {
                return Err(invalid(format!("duplicate output `{}`", o.name)));
            }
        }
        let mut input_derivations = BTreeMap::new();
        for input in &drv.input_drvs {
            let path = Self::parse_path(store, &input.drv_path)?;
            if !path.is_derivation() {
                return Err(invalid(format!(
                    "input `{}` is not a .drv path",
                    input.drv_path
                )));
            }
            let wanted: &mut BTreeSet<String> = input_derivations.entry(path).or_default();
            wanted.extend(input.outputs.iter().cloned());
        }
        let mut env = BTreeMap::new();
        for (k, v) in &drv.env {
            if env.insert(k.clone(), v.clone()).is_some() {
                return Err(invalid(format!("duplicate environment variable `{k}`")));
            }
        }
        Ok(Derivation {
            outputs,
            input_derivations,
            input_sources: Self::parse_paths(store, &drv.input_srcs)?,
            platform: drv.system.clone(),
            builder: drv.builder.clone(),
            args: drv.args.clone(),
            env,
        })
    }

    /// The object at the absolute `path`, at or inside a valid store path.
    async fn object(
        &self,
        operation: &'static str,
        path: &str,
    ) -> wasmtime::Result<Result<Option<Object>, wit::Error>> {
        self.check_size(operation, path.len() as u64)?;
        let store = match self.backend() {
            Ok(store) => store,
            Err(e) => return Ok(Err(e)),
        };
        let (store_path, rest) = match store.store_dir().parse_prefix(path) {
            Ok(parsed) => parsed,
            Err(e) => return Ok(Err(wit::Error::InvalidPath(format!("`{path}`: {e}")))),
        };
        let rel: Vec<&[u8]> = rest
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::as_bytes)
            .collect();
        if rel.iter().any(|c| *c == b"..") {
            return Ok(Err(wit::Error::InvalidArgument(format!(
                "`{path}` contains `..`; store reads take normalised paths"
            ))));
        }
        // What a guest reads stays until it is done: a temporary GC root (a no-op for a path
        // rooted already; an invalid path is simply not found).
        if let Err(e) = store.add_temp_root(&store_path).await {
            return Ok(Err(to_wit_error(e)));
        }
        Ok(store
            .read_object(&store_path, &rel)
            .await
            .map_err(to_wit_error))
    }

    async fn add_tree(
        &mut self,
        operation: &'static str,
        name: String,
        path: String,
        included: Option<Vec<String>>,
        m: wit::IngestionMethod,
        a: wit::HashAlgo,
    ) -> HostResult<wit::PathInfo> {
        let size =
            name.len() as u64 + path.len() as u64 + included.as_ref().map_or(0, strings_size);
        self.check_size(operation, size)?;
        let store = guest_try!(self.backend());
        let filter: Option<PathFilter> = match included {
            None => None,
            Some(included) => {
                let mut set = HashSet::new();
                for rel in included {
                    let p = Path::new(&rel);
                    if rel.is_empty()
                        || p.is_absolute()
                        || p.components().any(|c| !matches!(c, Component::Normal(_)))
                    {
                        return Ok(Err(wit::Error::InvalidArgument(format!(
                            "included path `{rel}` must be relative, normalised and inside `{path}`"
                        ))));
                    }
                    set.insert(p.to_path_buf());
                }
                Some(Arc::new(move |rel: &Path| set.contains(rel)))
            }
        };
        let source = if store.store_dir().parse_prefix(&path).is_ok() {
            guest_try!(Self::from_store(store.as_ref(), &path, filter, m).await)
        } else {
            let root = guest_try!(resolve(&self.sources, &path));
            AddSource::Tree { root, filter }
        };
        let info = store
            .add_to_store(&name, source, method(m), algo(a), &BTreeSet::new())
            .await
            .map_err(to_wit_error);
        Ok(info.map(|info| Self::path_info(store.as_ref(), info)))
    }
}

impl StoreCapability {
    /// What to add for a path inside the store (which is read from the store, not from the
    /// sources): the object at `path`, filtered, cut out of its store path's NAR.
    async fn from_store(
        store: &dyn NixStore,
        path: &str,
        filter: Option<PathFilter>,
        m: wit::IngestionMethod,
    ) -> Result<AddSource, wit::Error> {
        let (store_path, rest) = store
            .store_dir()
            .parse_prefix(path)
            .map_err(|e| wit::Error::InvalidPath(format!("`{path}`: {e}")))?;
        let rel: Vec<&[u8]> = rest
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::as_bytes)
            .collect();
        let not_found = || wit::Error::NotFound(format!("`{path}` does not exist"));
        if rel.contains(&&b".."[..]) {
            return Err(wit::Error::InvalidArgument(format!(
                "`{path}` contains `..`; store reads take normalised paths"
            )));
        }
        store
            .add_temp_root(&store_path)
            .await
            .map_err(to_wit_error)?;
        if !store
            .is_valid_path(&store_path)
            .await
            .map_err(to_wit_error)?
        {
            return Err(not_found());
        }
        let mut nar = Vec::new();
        store
            .nar_from_path(&store_path, &mut nar)
            .await
            .map_err(to_wit_error)?;
        if method(m) == FileIngestionMethod::Flat {
            return match find_in_nar(&nar, &rel).map_err(to_wit_error)? {
                Some(Object::Regular { contents, .. }) => Ok(AddSource::Bytes(contents)),
                Some(_) => Err(wit::Error::InvalidArgument(format!(
                    "`{path}` is not a regular file"
                ))),
                None => Err(not_found()),
            };
        }
        let keep = |p: &Path| filter.as_ref().is_none_or(|f| f(p));
        let sub = filtered_subtree(&nar, &rel, &keep)
            .map_err(to_wit_error)?
            .ok_or_else(not_found)?;
        Ok(AddSource::Nar(Box::new(std::io::Cursor::new(sub))))
    }
}

impl wit::Host for StoreCapability {
    async fn store_dir(&mut self) -> wasmtime::Result<String> {
        Ok(match &self.backend {
            Some(store) => store.store_dir().as_str().to_owned(),
            None => "/nix/store".to_owned(),
        })
    }

    async fn is_valid_path(&mut self, path: String) -> HostResult<bool> {
        self.check_size("is-valid-path", path.len() as u64)?;
        let store = guest_try!(self.backend());
        let path = guest_try!(Self::parse_path(store.as_ref(), &path));
        Ok(store.is_valid_path(&path).await.map_err(to_wit_error))
    }

    async fn query_path_info(&mut self, path: String) -> HostResult<Option<wit::PathInfo>> {
        self.check_size("query-path-info", path.len() as u64)?;
        let store = guest_try!(self.backend());
        let path = guest_try!(Self::parse_path(store.as_ref(), &path));
        let info = store.query_path_info(&path).await.map_err(to_wit_error);
        Ok(info.map(|i| i.map(|i| Self::path_info(store.as_ref(), i))))
    }

    async fn query_valid_paths(&mut self, paths: Vec<String>) -> HostResult<Vec<String>> {
        self.check_size("query-valid-paths", strings_size(&paths))?;
        let store = guest_try!(self.backend());
        let parsed: Vec<StorePath> = guest_try!(
            paths
                .iter()
                .map(|p| Self::parse_path(store.as_ref(), p))
                .collect::<Result<_, _>>()
        );
        let valid = guest_try!(store.query_valid_paths(&parsed).await.map_err(to_wit_error));
        Ok(Ok(paths
            .into_iter()
            .zip(parsed)
            .filter(|(_, p)| valid.contains(p))
            .map(|(s, _)| s)
            .collect()))
    }

    async fn add_text_to_store(
        &mut self,
        name: String,
        text: String,
        references: Vec<String>,
    ) -> HostResult<String> {
        let size = name.len() as u64 + text.len() as u64 + strings_size(&references);
        self.check_size("add-text-to-store", size)?;
        let store = guest_try!(self.backend());
        let refs = guest_try!(Self::parse_paths(store.as_ref(), &references));
        let path = store
            .add_text_to_store(&name, text.as_bytes(), &refs)
            .await
            .map_err(to_wit_error);
        Ok(path.map(|p| store.store_dir().display(&p)))
    }

    async fn add_bytes_to_store(
        &mut self,
        name: String,
        contents: Vec<u8>,
        m: wit::IngestionMethod,
        a: wit::HashAlgo,
        references: Vec<String>,
    ) -> HostResult<wit::PathInfo> {
        let size = name.len() as u64 + contents.len() as u64 + strings_size(&references);
        self.check_size("add-bytes-to-store", size)?;
        let store = guest_try!(self.backend());
        let refs = guest_try!(Self::parse_paths(store.as_ref(), &references));
        let info = store
            .add_to_store(&name, AddSource::Bytes(contents), method(m), algo(a), &refs)
            .await
            .map_err(to_wit_error);
        Ok(info.map(|info| Self::path_info(store.as_ref(), info)))
    }

    async fn add_path_to_store(
        &mut self,
        name: String,
        path: String,
        m: wit::IngestionMethod,
        a: wit::HashAlgo,
    ) -> HostResult<wit::PathInfo> {
        self.add_tree("add-path-to-store", name, path, None, m, a)
            .await
    }

    async fn add_filtered_path_to_store(
        &mut self,
        name: String,
        path: String,
        included: Vec<String>,
        m: wit::IngestionMethod,
        a: wit::HashAlgo,
    ) -> HostResult<wit::PathInfo> {
        self.add_tree(
            "add-filtered-path-to-store",
            name,
            path,
            Some(included),
            m,
            a,
        )
        .await
    }

    async fn add_derivation(&mut self, drv: wit::Derivation) -> HostResult<wit::AddedDerivation> {
        let size = drv.name.len() as u64
            + drv.system.len() as u64
            + drv.builder.len() as u64
            + strings_size(&drv.args)
            + drv
                .env
                .iter()
                .map(|(k, v)| (k.len() + v.len()) as u64)
                .sum::<u64>()
            + strings_size(&drv.input_srcs)
            + drv
                .input_drvs
                .iter()
                .map(|i| i.drv_path.len() as u64 + strings_size(&i.outputs))
                .sum::<u64>()
            + drv
                .outputs
                .iter()
                .map(|o| (o.name.len() + o.fixed.as_ref().map_or(0, |f| f.hash.len())) as u64)
                .sum::<u64>();
        self.check_size("add-derivation", size)?;
        let store = guest_try!(self.backend());
        if let Err(e) = nix_formats::store_path::validate_name(&drv.name) {
            return Ok(Err(wit::Error::InvalidArgument(format!(
                "derivation name `{}`: {e}",
                drv.name
            ))));
        }
        let mut derivation = guest_try!(Self::derivation(store.as_ref(), &drv));
        guest_try!(
            compute_output_paths(store.as_ref(), &mut derivation, &drv.name, &self.drv_hashes)
                .await
                .map_err(to_wit_error)
        );
        let drv_path = guest_try!(
            store
                .add_derivation(&derivation, &drv.name)
                .await
                .map_err(to_wit_error)
        );
        // Derivations that take this one as an input need its modulo hash: keep it.
        guest_try!(
            remember(store.as_ref(), &drv_path, &derivation, &self.drv_hashes)
                .map_err(to_wit_error)
        );
        let dir = store.store_dir();
        Ok(Ok(wit::AddedDerivation {
            drv_path: dir.display(&drv_path),
            outputs: derivation
                .outputs
                .iter()
                .filter_map(|(name, o)| o.path().map(|p| (name.clone(), dir.display(p))))
                .collect(),
        }))
    }

    async fn build_paths(&mut self, paths: Vec<wit::DerivedPath>) -> HostResult<wit::BuildReport> {
        let size = paths
            .iter()
            .map(|p| p.drv_path.len() as u64 + strings_size(&p.outputs))
            .sum();
        self.check_size("build-paths", size)?;
        let store = guest_try!(self.backend());
        let mut targets = Vec::with_capacity(paths.len());
        for p in &paths {
            targets.push(BuildTarget {
                drv_path: guest_try!(Self::parse_path(store.as_ref(), &p.drv_path)),
                outputs: p.outputs.iter().cloned().collect(),
            });
        }
        let results = guest_try!(store.build_paths(&targets).await.map_err(to_wit_error));
        let dir = store.store_dir();
        let mut log = String::new();
        let results = results
            .into_iter()
            .map(|r| {
                for line in &r.log {
                    log.push_str(line);
                    log.push('\n');
                }
                wit::BuildResult {
                    path: wit::DerivedPath {
                        drv_path: dir.display(&r.target.drv_path),
                        outputs: r.target.outputs.iter().cloned().collect(),
                    },
                    success: r.success,
                    error_message: (!r.error_msg.is_empty()).then_some(r.error_msg),
                    outputs: r
                        .outputs
                        .iter()
                        .map(|(n, p)| (n.clone(), dir.display(p)))
                        .collect(),
                }
            })
            .collect();
        Ok(Ok(wit::BuildReport { results, log }))
    }

    async fn fetch_tarball(
        &mut self,
        url: String,
        name: String,
        nar_hash: String,
    ) -> HostResult<String> {
        self.check_size(
            "fetch-tarball",
            (url.len() + name.len() + nar_hash.len()) as u64,
        )?;
        let store = guest_try!(self.backend());
        let hash = guest_try!(
            NixHash::parse(&nar_hash, Some(HashAlgo::Sha256))
                .map_err(|e| wit::Error::InvalidArgument(format!("hash '{nar_hash}': {e}")))
        );
        let path = evalbox_store::fetch::add_tarball(store.as_ref(), &url, &name, &hash)
            .await
            .map_err(to_wit_error);
        Ok(path.map(|p| store.store_dir().display(&p)))
    }

    async fn lstat(&mut self, path: String) -> HostResult<Option<wit::ObjectKind>> {
        let object = guest_try!(self.object("lstat", &path).await?);
        Ok(Ok(object.map(|o| object_kind(o.kind()))))
    }

    async fn read_file(&mut self, path: String) -> HostResult<Vec<u8>> {
        match guest_try!(self.object("read-file", &path).await?) {
            Some(Object::Regular { contents, .. }) => Ok(Ok(contents)),
            Some(_) => Ok(Err(wit::Error::InvalidArgument(format!(
                "`{path}` is not a regular file"
            )))),
            None => Ok(Err(wit::Error::NotFound(format!(
                "`{path}` does not exist"
            )))),
        }
    }

    async fn read_directory(&mut self, path: String) -> HostResult<Vec<(String, wit::ObjectKind)>> {
        match guest_try!(self.object("read-directory", &path).await?) {
            Some(Object::Directory(entries)) => Ok(Ok(entries
                .into_iter()
                .map(|(name, kind)| {
                    (
                        String::from_utf8_lossy(&name).into_owned(),
                        object_kind(kind),
                    )
                })
                .collect())),
            Some(_) => Ok(Err(wit::Error::InvalidArgument(format!(
                "`{path}` is not a directory"
            )))),
            None => Ok(Err(wit::Error::NotFound(format!(
                "`{path}` does not exist"
            )))),
        }
    }

    async fn query_derivation_outputs(
        &mut self,
        drv_path: String,
    ) -> HostResult<Vec<(String, Option<String>)>> {
        self.check_size("query-derivation-outputs", drv_path.len() as u64)?;
        let store = guest_try!(self.backend());
        let path = guest_try!(Self::parse_path(store.as_ref(), &drv_path));
        let map = guest_try!(
            store
                .query_derivation_output_map(&path)
                .await
                .map_err(to_wit_error)
        );
        let dir = store.store_dir();
        Ok(Ok(map
            .into_iter()
            .map(|(n, p)| (n, p.map(|p| dir.display(&p))))
            .collect()))
    }
}

/// The WIT form of an object's kind.
fn object_kind(kind: ObjectKind) -> wit::ObjectKind {
    match kind {
        ObjectKind::Regular { executable, size } => {
            wit::ObjectKind::Regular(wit::RegularFile { executable, size })
        }
        ObjectKind::Directory => wit::ObjectKind::Directory,
        ObjectKind::Symlink(target) => {
            wit::ObjectKind::Symlink(String::from_utf8_lossy(&target).into_owned())
        }
    }
}

/// Why a guest path cannot be used by the store operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Not an absolute path.
    #[error("`{0}` is not an absolute path")]
    NotAbsolute(String),
    /// Contains `..`.
    #[error("`{0}` contains `..`; store operations take normalised paths")]
    DotDot(String),
    /// Not under any preopen.
    #[error("`{0}` is outside the guest's source directories")]
    OutsidePreopens(String),
    /// A symlink on the way (it might lead out of the preopen).
    #[error("`{path}` goes through the symlink `{symlink}`; symlinks are not followed")]
    ThroughSymlink {
        /// The guest path.
        path: String,
        /// The symlink, as a guest path.
        symlink: String,
    },
    /// A component on the way is missing or not a directory.
    #[error("`{path}` does not exist: {message}")]
    NotFound {
        /// The guest path.
        path: String,
        /// The OS error.
        message: String,
    },
}

/// A read-only source directory as the store capability reads it: opened once.
#[derive(Debug, Clone)]
pub struct SourceDir {
    /// The absolute path the guest sees it at.
    pub guest: String,
    /// The directory.
    pub dir: Arc<Dir>,
}

impl SourceDir {
    /// Opens the host directory of `preopen`.
    pub fn open(preopen: &Preopen) -> std::io::Result<SourceDir> {
        Ok(SourceDir {
            guest: preopen.guest.clone(),
            dir: Arc::new(Dir::open_ambient_dir(
                &preopen.host,
                cap_std::ambient_authority(),
            )?),
        })
    }
}

/// The object `guest_path` names inside one of `sources`.
pub fn resolve(sources: &[SourceDir], guest_path: &str) -> Result<TreeRoot, ResolveError> {
    let path = Path::new(guest_path);
    if !path.is_absolute() {
        return Err(ResolveError::NotAbsolute(guest_path.to_owned()));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(ResolveError::DotDot(guest_path.to_owned()));
    }
    let (source, rest) = sources
        .iter()
        .filter_map(|s| {
            path.strip_prefix(&s.guest)
                .ok()
                .map(|rest| (s, rest.to_path_buf()))
        })
        .max_by_key(|(s, _)| Path::new(&s.guest).components().count())
        .ok_or_else(|| ResolveError::OutsidePreopens(guest_path.to_owned()))?;
    let components: Vec<_> = rest
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    let not_found = |e: std::io::Error| ResolveError::NotFound {
        path: guest_path.to_owned(),
        message: e.to_string(),
    };
    let mut rel = PathBuf::new();
    for (i, component) in components.iter().enumerate() {
        rel.push(component);
        let meta = source.dir.symlink_metadata(&rel).map_err(not_found)?;
        if meta.file_type().is_symlink() && i + 1 < components.len() {
            return Err(ResolveError::ThroughSymlink {
                path: guest_path.to_owned(),
                symlink: Path::new(&source.guest).join(&rel).display().to_string(),
            });
        }
    }
    if components.is_empty() {
        rel.push(".");
        source.dir.symlink_metadata(&rel).map_err(not_found)?;
    }
    Ok(TreeRoot {
        dir: source.dir.clone(),
        path: rel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Vec<SourceDir>) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/a.txt"), "a").unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink("../secret", src.join("out")).unwrap();
        std::os::unix::fs::symlink(dir.path(), src.join("outdir")).unwrap();
        let preopen = Preopen {
            host: src.canonicalize().unwrap(),
            guest: "/work/src".into(),
        };
        (dir, vec![SourceDir::open(&preopen).unwrap()])
    }

    #[test]
    fn resolves_inside() {
        let (_dir, preopens) = setup();
        let a = resolve(&preopens, "/work/src/sub/a.txt").unwrap();
        assert_eq!(a.dir.read_to_string(&a.path).unwrap(), "a");
        for root in ["/work/src", "/work/src/"] {
            let root = resolve(&preopens, root).unwrap();
            assert_eq!(root.path, Path::new("."));
            assert!(root.dir.read_to_string("sub/a.txt").is_ok());
        }
    }

    #[test]
    fn refuses_escapes() {
        let (_dir, preopens) = setup();
        assert!(matches!(
            resolve(&preopens, "/work/src/../secret"),
            Err(ResolveError::DotDot(_))
        ));
        assert!(matches!(
            resolve(&preopens, "/etc/passwd"),
            Err(ResolveError::OutsidePreopens(_))
        ));
        assert!(matches!(
            resolve(&preopens, "/work/srcx/a"),
            Err(ResolveError::OutsidePreopens(_))
        ));
        assert!(matches!(
            resolve(&preopens, "sub/a.txt"),
            Err(ResolveError::NotAbsolute(_))
        ));
        assert!(matches!(
            resolve(&preopens, "/work/src/outdir/secret"),
            Err(ResolveError::ThroughSymlink { .. })
        ));
        assert!(matches!(
            resolve(&preopens, "/work/src/missing"),
            Err(ResolveError::NotFound { .. })
        ));
        // The symlink itself may be named: it is stored as a symlink.
        let link = resolve(&preopens, "/work/src/out").unwrap();
        assert!(
            link.dir
                .symlink_metadata(&link.path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // Nothing outside the preopen is reached through the handle, symlink or not.
        assert!(link.dir.read_to_string(&link.path).is_err());
    }
}
