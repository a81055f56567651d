//! The evaluator's one I/O boundary: every file it reads and every store effect it has goes
//! through an [`EvalIo`]. Nothing else in the evaluator touches the file system or a store.
//!
//! Two implementations: `HostIo`, the evaluator in the sandbox on its capabilities (sources
//! through WASI, the store through the store capability: paths added, derivations written and
//! store paths read by the host), and [`StdIo`], for the native evaluator and
//! `--readonly-mode`: file reads through `std::fs` and a [`PureStore`] that computes store
//! paths exactly as Nix would without writing anything. A read the sandbox refuses is
//! [`IoError::Refused`], told apart by the boundary itself from the preopened directories,
//! never by a global.

use std::collections::{BTreeMap, BTreeSet};

use nix_formats::{Derivation, FileIngestionMethod, NixHash};

#[cfg(all(target_os = "wasi", target_env = "p2"))]
mod host;
mod pure_store;
mod std_io;

#[cfg(all(target_os = "wasi", target_env = "p2"))]
pub use host::HostIo;
pub use pure_store::PureStore;
pub use std_io::StdIo;
#[cfg(all(target_os = "wasi", target_env = "p2"))]
pub use std_io::preopened_dirs;

/// The type of a file system object, as `builtins.readDir` and `readFileType` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// Anything else (a device, a socket, a FIFO).
    Unknown,
}

impl FileType {
    /// Nix's name of the type: `regular`, `directory`, `symlink` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Regular => "regular",
            FileType::Directory => "directory",
            FileType::Symlink => "symlink",
            FileType::Unknown => "unknown",
        }
    }
}

/// Why an I/O operation of the evaluator failed. Each variant names the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IoError {
    /// Nothing exists at the path.
    #[error("path '{0}' does not exist")]
    NotFound(String),
    /// The sandbox does not let the evaluator read the path.
    #[error(
        "access to path '{0}' is not allowed: it is outside the sandbox's read-only sources \
         (add its directory with --src DIR or -I)"
    )]
    Refused(String),
    /// A directory was expected.
    #[error("'{0}' is not a directory")]
    NotADirectory(String),
    /// Any other failure of a read (permissions, I/O errors).
    #[error("reading '{path}': {message}")]
    Read {
        /// The path.
        path: String,
        /// What the operating system said.
        message: String,
    },
    /// A store operation failed; the message says why.
    #[error("{0}")]
    Store(String),
}

/// A file system object to add to the store (`builtins.path`, `filterSource`, `"${./x}"`).
#[derive(Debug, Clone)]
pub struct AddToStore<'a> {
    /// The absolute path to add.
    pub path: &'a str,
    /// The store path's name.
    pub name: &'a str,
    /// The NAR serialisation of the tree, or the flat contents of one file.
    pub method: FileIngestionMethod,
    /// The SHA-256 the contents must have (`builtins.path { sha256 }`).
    pub expected: Option<NixHash>,
    /// Paths relative to `path` (`/`-separated) to keep below it: the entries a filter
    /// accepted. `None` keeps everything.
    pub included: Option<&'a BTreeSet<String>>,
}

/// A derivation written to the store: its `.drv` path and its output paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedDerivation {
    /// The `.drv` path.
    pub drv_path: String,
    /// Output name to output path.
    pub outputs: BTreeMap<String, String>,
}

/// At most `len` bytes of `data` from `offset` on.
fn byte_range(data: &[u8], offset: u64, len: usize) -> Vec<u8> {
    let start = usize::try_from(offset).map_or(data.len(), |o| o.min(data.len()));
    data[start..data.len().min(start.saturating_add(len))].to_vec()
}

/// Every file read and store effect of the evaluator.
pub trait EvalIo {
    /// The type of the object at `path`, following a final symlink when `follow` is set.
    fn file_type(&self, path: &str, follow: bool) -> Result<FileType, IoError>;

    /// The contents of the file at `path`.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, IoError>;

    /// At most `len` bytes of the file at `path` from `offset` on (fewer only at its end).
    fn read_file_range(&self, path: &str, offset: u64, len: usize) -> Result<Vec<u8>, IoError> {
        Ok(byte_range(&self.read_file(path)?, offset, len))
    }

    /// The entries of the directory at `path` (a symlink to a directory is followed), each
    /// with its type (not following symlinks), in no particular order.
    fn read_dir(&self, path: &str) -> Result<Vec<(String, FileType)>, IoError>;

    /// The store directory, e.g. `/nix/store`.
    fn store_dir(&self) -> &str;

    /// Adds a file system object to the store; returns its store path.
    fn add_to_store(&self, req: &AddToStore<'_>) -> Result<String, IoError>;

    /// Adds a text file with the given references (`builtins.toFile`); returns its path.
    fn add_text_to_store(
        &self,
        name: &str,
        text: &str,
        references: &BTreeSet<String>,
    ) -> Result<String, IoError>;

    /// Writes a derivation whose outputs are [`nix_formats::DerivationOutput::Deferred`] or
    /// fixed, computing its output paths (hashing modulo its input derivations).
    fn add_derivation(&self, drv: Derivation, name: &str) -> Result<AddedDerivation, IoError>;

    /// The output names of the derivation at `drv_path` (for a `=drv` string context, which
    /// depends on all of them).
    fn derivation_outputs(&self, drv_path: &str) -> Result<BTreeSet<String>, IoError>;

    /// The store paths the valid store path `path` refers to.
    fn references(&self, path: &str) -> Result<BTreeSet<String>, IoError>;

    /// The NAR hash of the valid store path `path`.
    fn nar_hash(&self, path: &str) -> Result<NixHash, IoError>;

    /// Builds the outputs of derivations that are not valid yet (`(.drv path, outputs)`).
    fn build(&self, targets: &[(String, BTreeSet<String>)]) -> Result<(), IoError>;

    /// `builtins.fetchTarball`: the store path `name` of the unpacked tarball at `url`, whose
    /// NAR hash is `nar_hash` (SHA-256); fetched by the store's host if not valid yet.
    fn fetch_tarball(&self, url: &str, name: &str, nar_hash: &NixHash) -> Result<String, IoError>;
}
