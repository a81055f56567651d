//! The Nix store, as the host exposes it: one function per `evalbox:guest/store` operation.
//!
//! Paths are plain `&str`: store paths are absolute strings such as
//! `/nix/store/<hash>-<name>`, and source paths are the paths the guest sees in its
//! preopens (e.g. the `--src` directory's canonical path).

use crate::bindings::evalbox::guest::store as wit;

pub use wit::{HashAlgo, IngestionMethod};

/// Why a store operation failed. Each variant carries the host's message, which names the
/// offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Not a valid store path.
    InvalidPath(String),
    /// The path or derivation is not in the store.
    NotFound(String),
    /// A malformed argument.
    InvalidArgument(String),
    /// The operation would reach outside the guest's source directories.
    Refused(String),
    /// The backend cannot do this (e.g. building on the embedded store).
    Unsupported(String),
    /// A host-side resource cap was hit.
    LimitExceeded(String),
    /// The backend failed.
    Backend(String),
}

impl Error {
    /// The host's message.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidPath(m)
            | Error::NotFound(m)
            | Error::InvalidArgument(m)
            | Error::Refused(m)
            | Error::Unsupported(m)
            | Error::LimitExceeded(m)
            | Error::Backend(m) => m,
        }
    }

    /// A short name of the kind of failure (`refused`, `not-found`...).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidPath(_) => "invalid-path",
            Error::NotFound(_) => "not-found",
            Error::InvalidArgument(_) => "invalid-argument",
            Error::Refused(_) => "refused",
            Error::Unsupported(_) => "unsupported",
            Error::LimitExceeded(_) => "limit-exceeded",
            Error::Backend(_) => "backend",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store error ({}): {}", self.kind(), self.message())
    }
}

impl std::error::Error for Error {}

impl From<wit::Error> for Error {
    fn from(e: wit::Error) -> Self {
        match e {
            wit::Error::InvalidPath(m) => Error::InvalidPath(m),
            wit::Error::NotFound(m) => Error::NotFound(m),
            wit::Error::InvalidArgument(m) => Error::InvalidArgument(m),
            wit::Error::Refused(m) => Error::Refused(m),
            wit::Error::Unsupported(m) => Error::Unsupported(m),
            wit::Error::LimitExceeded(m) => Error::LimitExceeded(m),
            wit::Error::Backend(m) => Error::Backend(m),
        }
    }
}

/// What the store knows about a valid path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    /// The store path.
    pub path: String,
    /// The derivation that produced it, if known.
    pub deriver: Option<String>,
    /// `sha256:<nix32>` of the path's NAR serialisation.
    pub nar_hash: String,
    /// Size of the NAR serialisation.
    pub nar_size: u64,
    /// Store paths this one refers to.
    pub references: Vec<String>,
    /// Seconds since the Unix epoch.
    pub registration_time: u64,
    /// The content address, if content-addressed.
    pub ca: Option<String>,
}

impl From<wit::PathInfo> for PathInfo {
    fn from(i: wit::PathInfo) -> Self {
        PathInfo {
            path: i.path,
            deriver: i.deriver,
            nar_hash: i.nar_hash,
            nar_size: i.nar_size,
            references: i.references,
            registration_time: i.registration_time,
            ca: i.ca,
        }
    }
}

/// A derivation's outputs, selected for building.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedPath {
    /// The `.drv` store path.
    pub drv_path: String,
    /// The outputs wanted; empty means all.
    pub outputs: Vec<String>,
}

/// The outcome of building one [`DerivedPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildResult {
    /// What was built.
    pub path: DerivedPath,
    /// Whether it succeeded.
    pub success: bool,
    /// Why it failed.
    pub error_message: Option<String>,
    /// Output name → realised path.
    pub outputs: Vec<(String, String)>,
}

/// The outcome of [`build_paths`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReport {
    /// One result per requested path.
    pub results: Vec<BuildResult>,
    /// The builders' log.
    pub log: String,
}

fn owned(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|p| (*p).to_owned()).collect()
}

/// The store directory, e.g. `/nix/store`.
pub fn store_dir() -> String {
    wit::store_dir()
}

/// Whether `path` is a valid store path.
pub fn is_valid_path(path: &str) -> Result<bool, Error> {
    Ok(wit::is_valid_path(path)?)
}

/// Metadata of `path`, or `None` if it is not valid.
pub fn query_path_info(path: &str) -> Result<Option<PathInfo>, Error> {
    Ok(wit::query_path_info(path)?.map(Into::into))
}

/// The valid subset of `paths`, in order.
pub fn query_valid_paths(paths: &[&str]) -> Result<Vec<String>, Error> {
    Ok(wit::query_valid_paths(&owned(paths))?)
}

/// `builtins.toFile name text`, with the store paths `text` refers to.
pub fn add_text_to_store(name: &str, text: &str, references: &[&str]) -> Result<String, Error> {
    Ok(wit::add_text_to_store(name, text, &owned(references))?)
}

/// `builtins.fetchTarball`: the store path of the tarball at `url`, unpacked and added as
/// `name`, whose NAR hash is `nar_hash` (SHA-256); the host fetches it only if that path is
/// not valid yet.
pub fn fetch_tarball(url: &str, name: &str, nar_hash: &str) -> Result<String, Error> {
    Ok(wit::fetch_tarball(url, name, nar_hash)?)
}

/// Adds `contents` as a file (see the WIT doc for `recursive`).
pub fn add_bytes_to_store(
    name: &str,
    contents: &[u8],
    method: IngestionMethod,
    algo: HashAlgo,
    references: &[&str],
) -> Result<PathInfo, Error> {
    Ok(wit::add_bytes_to_store(name, contents, method, algo, &owned(references))?.into())
}

/// Adds the file, directory or symlink at `path` (inside a source directory).
pub fn add_path_to_store(
    name: &str,
    path: &str,
    method: IngestionMethod,
    algo: HashAlgo,
) -> Result<PathInfo, Error> {
    Ok(wit::add_path_to_store(name, path, method, algo)?.into())
}

/// Adds the directory at `path`, keeping only the entries in `include` (paths relative to
/// `path`). Build `include` by walking the directory with `std::fs` and applying the filter.
pub fn add_filtered_path_to_store(
    name: &str,
    path: &str,
    include: &[&str],
    method: IngestionMethod,
    algo: HashAlgo,
) -> Result<PathInfo, Error> {
    Ok(wit::add_filtered_path_to_store(name, path, &owned(include), method, algo)?.into())
}

/// Builds `paths` (import-from-derivation). Needs a store that can build (`--store daemon`).
pub fn build_paths(paths: &[DerivedPath]) -> Result<BuildReport, Error> {
    let wit_paths: Vec<wit::DerivedPath> = paths
        .iter()
        .map(|p| wit::DerivedPath {
            drv_path: p.drv_path.clone(),
            outputs: p.outputs.clone(),
        })
        .collect();
    let report = wit::build_paths(&wit_paths)?;
    Ok(BuildReport {
        results: report
            .results
            .into_iter()
            .map(|r| BuildResult {
                path: DerivedPath {
                    drv_path: r.path.drv_path,
                    outputs: r.path.outputs,
                },
                success: r.success,
                error_message: r.error_message,
                outputs: r.outputs,
            })
            .collect(),
        log: report.log,
    })
}

/// Output name → output path (if known) of the derivation at `drv_path`.
pub fn query_derivation_outputs(drv_path: &str) -> Result<Vec<(String, Option<String>)>, Error> {
    Ok(wit::query_derivation_outputs(drv_path)?)
}

pub(crate) fn add_derivation(drv: &wit::Derivation) -> Result<wit::AddedDerivation, Error> {
    Ok(wit::add_derivation(drv)?)
}

/// What a file system object in the store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKind {
    /// A regular file.
    Regular {
        /// Whether it is executable.
        executable: bool,
        /// Its size in bytes.
        size: u64,
    },
    /// A directory.
    Directory,
    /// A symbolic link and its target (the host never follows it).
    Symlink(String),
}

impl From<wit::ObjectKind> for ObjectKind {
    fn from(k: wit::ObjectKind) -> Self {
        match k {
            wit::ObjectKind::Regular(f) => ObjectKind::Regular {
                executable: f.executable,
                size: f.size,
            },
            wit::ObjectKind::Directory => ObjectKind::Directory,
            wit::ObjectKind::Symlink(target) => ObjectKind::Symlink(target),
        }
    }
}

/// What is at `path` (a valid store path or a path inside one), following no symlink;
/// `None` when nothing is there.
pub fn lstat(path: &str) -> Result<Option<ObjectKind>, Error> {
    Ok(wit::lstat(path)?.map(Into::into))
}

/// The contents of the regular file at `path` inside a valid store path.
pub fn read_file(path: &str) -> Result<Vec<u8>, Error> {
    Ok(wit::read_file(path)?)
}

/// The entries of the directory at `path` inside a valid store path, sorted by name.
pub fn read_directory(path: &str) -> Result<Vec<(String, ObjectKind)>, Error> {
    Ok(wit::read_directory(path)?
        .into_iter()
        .map(|(name, kind)| (name, kind.into()))
        .collect())
}
