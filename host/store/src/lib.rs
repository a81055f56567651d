//! The store behind every guest: one async [`NixStore`] trait and its backends.
//!
//! A guest's store operations (is-valid-path, add-to-store, add-derivation, ...) are served by a
//! `dyn NixStore`. Two backends implement it and must give byte-identical results:
//!
//! - [`local::LocalStore`], the embedded store (the default): a real Nix local store laid out
//!   like a Nix chroot store (`ROOT/nix/store`, `ROOT/nix/var/nix/db/db.sqlite` with Nix's own
//!   schema), so the user's real Nix can read it, and evalbox needs no Nix installed.
//! - `daemon::DaemonStore`, a real `nix-daemon` reached with the Nix worker protocol.
//!
//! [`open`] picks one from a store URI spelled as Nix spells it (see [`uri::StoreUri`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use nix_formats::derivation::Derivation;
use nix_formats::{FileIngestionMethod, HashAlgo, StoreDir, StorePath};

mod error;
pub mod fetch;
pub mod fs;
pub mod local;
pub mod objects;
mod path_info;
pub mod refscan;
pub mod settings;
pub mod uri;

pub use error::{Error, Result};
pub use path_info::PathInfo;
pub use uri::StoreUri;

/// A predicate over paths relative to the root of a tree being added (`filterSource`,
/// `builtins.path { filter = ...; }`). The root itself is always included. Excluding a
/// directory excludes everything below it.
pub type PathFilter = Arc<dyn Fn(&Path) -> bool + Send + Sync>;

/// What to add to the store.
pub enum AddSource {
    /// The contents of one regular, non-executable file.
    Bytes(Vec<u8>),
    /// A file tree on the host (regular files, executables, symlinks, directories). Symlinks
    /// are recorded, never followed; the root itself is not followed either when it is a
    /// symlink.
    Tree {
        /// The root of the tree.
        root: TreeRoot,
        /// Which entries to include; `None` includes everything.
        filter: Option<PathFilter>,
    },
    /// A NAR stream, validated strictly while it is unpacked. Only with
    /// [`FileIngestionMethod::Recursive`] (the stream *is* the NAR serialisation).
    Nar(Box<dyn Read + Send>),
}

impl fmt::Debug for AddSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddSource::Bytes(b) => f.debug_tuple("Bytes").field(&b.len()).finish(),
            AddSource::Tree { root, filter } => f
                .debug_struct("Tree")
                .field("path", &root.path)
                .field("filtered", &filter.is_some())
                .finish(),
            AddSource::Nar(_) => f.write_str("Nar(..)"),
        }
    }
}

/// Where a tree to add lies: a path below a directory handle, outside of which nothing is
/// read (a guest's read-only source, or the directory holding a host path).
#[derive(Debug, Clone)]
pub struct TreeRoot {
    /// The directory.
    pub dir: Arc<cap_std::fs::Dir>,
    /// The tree's root, relative to `dir` (`.` for `dir` itself).
    pub path: PathBuf,
}

impl TreeRoot {
    /// The object at the host path `path`.
    pub fn host(path: &Path) -> Result<TreeRoot> {
        let (dir, path) = fs::open_parent(path)?;
        Ok(TreeRoot {
            dir: Arc::new(dir),
            path,
        })
    }
}

/// A derivation output to build, as in Nix's `DerivedPath::Built`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BuildTarget {
    /// The `.drv` path.
    pub drv_path: StorePath,
    /// The outputs wanted; empty means all of them (`drv!*`).
    pub outputs: BTreeSet<String>,
}

/// The outcome of building one [`BuildTarget`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildResult {
    /// What was asked for.
    pub target: BuildTarget,
    /// Whether the outputs are now valid.
    pub success: bool,
    /// Nix's status name (`Built`, `Substituted`, `AlreadyValid`, `MiscFailure`, ...).
    pub status: String,
    /// Nix's error message when it failed.
    pub error_msg: String,
    /// Output name to output path, for the outputs that are valid.
    pub outputs: BTreeMap<String, StorePath>,
    /// The build log lines received while building.
    pub log: Vec<String>,
}

/// Every store operation a guest (or the CLI) can perform. Implemented by each backend; results
/// must be identical across backends for the same inputs.
#[async_trait]
pub trait NixStore: Send + Sync + fmt::Debug {
    /// The logical store directory (`/nix/store` unless configured otherwise).
    fn store_dir(&self) -> &StoreDir;

    /// For backend-specific operations (`evalbox store verify` on the embedded store).
    fn as_any(&self) -> &dyn std::any::Any;

    /// Is `path` registered valid?
    async fn is_valid_path(&self, path: &StorePath) -> Result<bool>;

    /// The subset of `paths` that is valid.
    async fn query_valid_paths(&self, paths: &[StorePath]) -> Result<BTreeSet<StorePath>>;

    /// Metadata of a valid path, or `None` when it is not valid.
    async fn query_path_info(&self, path: &StorePath) -> Result<Option<PathInfo>>;

    /// Add content, addressed by its hash (`nix-store --add`, `--add-fixed`, `builtins.path`).
    /// All `references` must be valid. Returns the info of the (possibly pre-existing) path.
    async fn add_to_store(
        &self,
        name: &str,
        source: AddSource,
        method: FileIngestionMethod,
        algo: HashAlgo,
        references: &BTreeSet<StorePath>,
    ) -> Result<PathInfo>;

    /// Add a text file addressed as `text:sha256:...` (`builtins.toFile`, `.drv` files).
    async fn add_text_to_store(
        &self,
        name: &str,
        text: &[u8],
        references: &BTreeSet<StorePath>,
    ) -> Result<StorePath>;

    /// Write a derivation whose output paths are already filled in (see
    /// [`derivations::compute_output_paths`]) as `NAME.drv` and register its outputs. Returns
    /// the `.drv` path.
    async fn add_derivation(&self, drv: &Derivation, name: &str) -> Result<StorePath>;

    /// The valid paths that refer to `path`.
    async fn query_referrers(&self, path: &StorePath) -> Result<BTreeSet<StorePath>>;

    /// Write the NAR serialisation of a valid path to `sink`.
    async fn nar_from_path(&self, path: &StorePath, sink: &mut (dyn Write + Send)) -> Result<()>;

    /// Output name to output path (`None` for outputs whose path is not yet known) of a valid
    /// derivation.
    async fn query_derivation_output_map(
        &self,
        drv_path: &StorePath,
    ) -> Result<BTreeMap<String, Option<StorePath>>>;

    /// Build (or substitute) derivation outputs: import-from-derivation.
    async fn build_paths(&self, targets: &[BuildTarget]) -> Result<Vec<BuildResult>>;

    /// Protect `path` from garbage collection for as long as this store handle lives.
    async fn add_temp_root(&self, path: &StorePath) -> Result<()>;

    /// Imports a path with its metadata from another store (`nix copy`, `nix-store
    /// --import`): `nar` is its NAR, whose hash and size must match `info`; every reference
    /// but the path itself must be valid already. A path valid already is left as it is.
    /// Signatures are not checked (Nix's `--no-check-sigs`, which a nix-daemon allows its
    /// trusted users only).
    async fn add_to_store_nar(&self, info: &PathInfo, nar: &[u8]) -> Result<()>;

    /// Make `link`, an absolute path outside the store (a symlink into it, which the caller
    /// makes), a garbage-collector root: Nix's indirect roots, as `--add-root` registers them.
    async fn add_indirect_root(&self, link: &std::path::Path) -> Result<()>;

    /// The object at `rel` (directory entry names, from the root) inside the valid store path
    /// `path`, following nothing; `None` when the path is not valid or nothing is there.
    async fn read_object(
        &self,
        path: &StorePath,
        rel: &[&[u8]],
    ) -> Result<Option<objects::Object>> {
        if !self.is_valid_path(path).await? {
            return Ok(None);
        }
        let mut nar = Vec::new();
        self.nar_from_path(path, &mut nar).await?;
        objects::find_in_nar(&nar, rel)
    }

    /// Read and parse a valid `.drv` file.
    async fn read_derivation(&self, drv_path: &StorePath) -> Result<Derivation> {
        let mut nar = Vec::new();
        self.nar_from_path(drv_path, &mut nar).await?;
        let text = single_file_contents(&nar)
            .map_err(|e| Error::Corrupt(format!("{}: {e}", self.store_dir().display(drv_path))))?;
        Derivation::from_aterm_bytes(&text, self.store_dir())
            .map_err(|e| Error::Corrupt(format!("{}: {e}", self.store_dir().display(drv_path))))
    }
}

pub mod derivations;

/// The contents of a NAR whose root is a regular file.
fn single_file_contents(nar: &[u8]) -> std::result::Result<Vec<u8>, nix_formats::nar::Error> {
    use nix_formats::nar::reader::{Event, NarReader};
    let mut reader = NarReader::new(nar);
    match reader.next_event()? {
        Some(Event::File { .. }) => {
            let mut buf = Vec::new();
            reader.contents().read_to_end(&mut buf)?;
            while reader.next_event()?.is_some() {}
            reader.finish_eof()?;
            Ok(buf)
        }
        _ => Err(nix_formats::nar::Error::Misuse("not a regular file")),
    }
}

/// Open the store a URI names, or the default one: `$NIX_REMOTE` when set, else the embedded
/// store at `$EVALBOX_STORE` or `$XDG_DATA_HOME/evalbox/root`. This crate opens embedded
/// stores; daemon URIs are opened by the `evalbox` crate's `open_store` with `evalbox-daemon`.
pub async fn open(uri: Option<&str>) -> Result<Arc<dyn NixStore>> {
    let uri = match uri {
        Some(u) => StoreUri::parse(u)?,
        None => StoreUri::from_env()?,
    };
    open_local(&uri)
}

/// Open the embedded store a URI names.
pub fn open_local(uri: &StoreUri) -> Result<Arc<dyn NixStore>> {
    open_local_with(uri, None)
}

/// [`open_local`], building (and fsyncing) as `settings` say rather than by default.
pub fn open_local_with(
    uri: &StoreUri,
    settings: Option<&settings::BuildSettings>,
) -> Result<Arc<dyn NixStore>> {
    match uri {
        StoreUri::Local { root, store_dir } => {
            let store = local::LocalStore::open(root, store_dir.clone())?;
            if let Some(settings) = settings {
                store.set_build_settings(settings.clone());
            }
            Ok(Arc::new(store))
        }
        other => Err(Error::Unsupported(format!(
            "store URI '{other}' is not an embedded store"
        ))),
    }
}
