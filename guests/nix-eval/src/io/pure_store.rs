//! [`PureStore`]: store paths computed exactly as Nix computes them, with nothing written
//! (like `nix-instantiate --readonly-mode`). Source paths are hashed from the NAR
//! serialisation of the file tree, text files from their contents, and derivations modulo
//! their input derivations, which it remembers for the rest of the evaluation. It serves the
//! native evaluator and its tests; building needs a real store.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use nix_formats::nar::writer::Node;
use nix_formats::{
    Derivation, FileIngestionMethod, HashAlgo, NixHash, StoreDir, StorePath, hash::Hasher,
};

use super::std_io::file_type;
use super::{AddToStore, AddedDerivation, FileType, IoError};

/// A derivation computed during this evaluation.
#[derive(Debug, Clone)]
struct KnownDrv {
    outputs: BTreeSet<String>,
    /// `hashDerivationModulo`.
    hash: NixHash,
}

/// Computes store paths without a store (see the module doc).
#[derive(Debug)]
pub struct PureStore {
    dir: StoreDir,
    dir_str: String,
    /// The derivations computed so far, by `.drv` path.
    drvs: RefCell<BTreeMap<String, KnownDrv>>,
    /// The references of every path computed so far.
    references: RefCell<BTreeMap<String, BTreeSet<String>>>,
    /// The NAR hashes of the trees added so far.
    nar_hashes: RefCell<BTreeMap<String, NixHash>>,
}

fn store_error(e: impl std::fmt::Display) -> IoError {
    IoError::Store(e.to_string())
}

impl From<nix_formats::derivation::Error> for IoError {
    fn from(e: nix_formats::derivation::Error) -> IoError {
        store_error(e)
    }
}

/// How a failed access to a path becomes an [`IoError`] (the caller knows the sandbox).
type ErrorOf<'a> = &'a dyn Fn(&str, &std::io::Error) -> IoError;

impl PureStore {
    /// A store for the store directory `dir` (normally `/nix/store`).
    pub fn new(dir: &str) -> Result<PureStore, IoError> {
        let parsed = StoreDir::new(dir).map_err(store_error)?;
        Ok(PureStore {
            dir_str: parsed.as_str().to_owned(),
            dir: parsed,
            drvs: RefCell::default(),
            references: RefCell::default(),
            nar_hashes: RefCell::default(),
        })
    }

    /// The store directory.
    pub fn store_dir(&self) -> &str {
        &self.dir_str
    }

    /// The path a fetched tarball with this NAR hash gets: computed, never fetched.
    pub fn fetch_tarball(&self, name: &str, nar_hash: &NixHash) -> Result<String, IoError> {
        let path = self
            .dir
            .make_fixed_output_path(
                name,
                FileIngestionMethod::Recursive,
                nar_hash,
                &BTreeSet::new(),
                false,
            )
            .map_err(store_error)?;
        Ok(self.dir.display(&path))
    }

    /// The path `req` would have in the store; `error_of` turns a failed read into the
    /// error to report.
    pub fn add_to_store(
        &self,
        req: &AddToStore<'_>,
        error_of: ErrorOf<'_>,
    ) -> Result<String, IoError> {
        let mut hasher = Hasher::new(HashAlgo::Sha256);
        match req.method {
            FileIngestionMethod::Recursive => {
                let root = nix_formats::nar::writer::open(&mut hasher).map_err(store_error)?;
                nar_node(root, Path::new(req.path), "", req.included, error_of)?;
            }
            FileIngestionMethod::Flat => {
                let data = std::fs::read(req.path).map_err(|e| error_of(req.path, &e))?;
                hasher.write_all(&data).map_err(store_error)?;
            }
        }
        let hash = hasher.finish();
        if let Some(expected) = &req.expected
            && *expected != hash
        {
            return Err(IoError::Store(format!(
                "hash mismatch in file added from '{}': specified {}, got {}",
                req.path,
                expected.to_sri(),
                hash.to_sri()
            )));
        }
        let path = self
            .dir
            .make_fixed_output_path(req.name, req.method, &hash, &BTreeSet::new(), false)
            .map_err(store_error)?;
        let path = self.dir.display(&path);
        self.references
            .borrow_mut()
            .insert(path.clone(), BTreeSet::new());
        if req.method == FileIngestionMethod::Recursive {
            self.nar_hashes.borrow_mut().insert(path.clone(), hash);
        }
        Ok(path)
    }

    /// The path of a text file (`builtins.toFile`) referring to `references`.
    pub fn add_text_to_store(
        &self,
        name: &str,
        text: &str,
        references: &BTreeSet<String>,
    ) -> Result<String, IoError> {
        let hash = NixHash::of(HashAlgo::Sha256, text.as_bytes());
        let refs = references
            .iter()
            .map(|r| self.dir.parse(r))
            .collect::<Result<BTreeSet<StorePath>, _>>()
            .map_err(store_error)?;
        let path = self
            .dir
            .make_text_path(name, &hash, &refs)
            .map_err(store_error)?;
        let path = self.dir.display(&path);
        self.references
            .borrow_mut()
            .insert(path.clone(), references.clone());
        Ok(path)
    }

    /// Computes the output paths and `.drv` path of `drv` and remembers it.
    pub fn add_derivation(
        &self,
        mut drv: Derivation,
        name: &str,
    ) -> Result<AddedDerivation, IoError> {
        let lookup = |p: &StorePath| -> Result<NixHash, IoError> {
            let key = self.dir.display(p);
            self.drvs.borrow().get(&key).map(|k| k.hash).ok_or_else(|| {
                IoError::Store(format!(
                    "derivation '{key}' is not known to this evaluation"
                ))
            })
        };
        drv.compute_output_paths::<IoError>(name, &self.dir, lookup)?;
        let drv_path = self.dir.display(&drv.drv_path(name, &self.dir)?);
        let hash = drv.hash_derivation_modulo::<IoError>(&self.dir, lookup)?;
        let outputs: BTreeMap<String, String> = drv
            .outputs
            .iter()
            .map(|(o, d)| {
                (
                    o.clone(),
                    d.path().map(|p| self.dir.display(p)).unwrap_or_default(),
                )
            })
            .collect();
        let references = drv
            .input_sources
            .iter()
            .chain(drv.input_derivations.keys())
            .map(|p| self.dir.display(p))
            .collect();
        self.references
            .borrow_mut()
            .insert(drv_path.clone(), references);
        self.drvs.borrow_mut().insert(
            drv_path.clone(),
            KnownDrv {
                outputs: outputs.keys().cloned().collect(),
                hash,
            },
        );
        Ok(AddedDerivation { drv_path, outputs })
    }

    /// The references of a path computed earlier in this evaluation.
    pub fn references(&self, path: &str) -> Result<BTreeSet<String>, IoError> {
        self.references
            .borrow()
            .get(path)
            .cloned()
            .ok_or_else(|| IoError::Store(format!("path '{path}' is not known to this evaluation")))
    }

    /// The NAR hash of a tree added earlier in this evaluation.
    pub fn nar_hash(&self, path: &str) -> Result<NixHash, IoError> {
        self.nar_hashes.borrow().get(path).cloned().ok_or_else(|| {
            IoError::Store(format!(
                "the NAR hash of '{path}' is not known to this evaluation"
            ))
        })
    }

    /// The output names of a derivation computed earlier in this evaluation.
    pub fn derivation_outputs(&self, drv_path: &str) -> Result<BTreeSet<String>, IoError> {
        self.drvs
            .borrow()
            .get(drv_path)
            .map(|k| k.outputs.clone())
            .ok_or_else(|| {
                IoError::Store(format!(
                    "derivation '{drv_path}' is not known to this evaluation"
                ))
            })
    }
}

/// NAR-serialises the object at `path` (`rel` below the root) into `node`, keeping below the
/// root only the entries `included` lists. The root itself is followed when it is a symlink.
fn nar_node<W: Write>(
    node: Node<'_, W>,
    path: &Path,
    rel: &str,
    included: Option<&BTreeSet<String>>,
    error_of: ErrorOf<'_>,
) -> Result<(), IoError> {
    let shown = || path.display().to_string();
    let meta = if rel.is_empty() {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    };
    let meta = meta.map_err(|e| match error_of(&shown(), &e) {
        IoError::Read { .. } => IoError::NotFound(shown()),
        other => other,
    })?;
    match file_type(meta.file_type()) {
        FileType::Symlink => {
            let target = std::fs::read_link(path).map_err(store_error)?;
            node.symlink(target.to_string_lossy().as_bytes())
                .map_err(store_error)
        }
        FileType::Directory => {
            let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(path)
                .map_err(store_error)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<_, _>>()
                .map_err(store_error)?;
            names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
            let mut dir = node.directory().map_err(store_error)?;
            for name in names {
                let child_rel = if rel.is_empty() {
                    name.to_string_lossy().into_owned()
                } else {
                    format!("{rel}/{}", name.to_string_lossy())
                };
                if included.is_some_and(|inc| !inc.contains(&child_rel)) {
                    continue;
                }
                let child = dir.entry(name.as_encoded_bytes()).map_err(store_error)?;
                nar_node(child, &path.join(&name), &child_rel, included, error_of)?;
            }
            dir.close().map_err(store_error)
        }
        FileType::Regular | FileType::Unknown => {
            #[cfg(unix)]
            let executable = {
                use std::os::unix::fs::PermissionsExt;
                meta.permissions().mode() & 0o111 != 0
            };
            #[cfg(not(unix))]
            let executable = false;
            let mut f = std::fs::File::open(path).map_err(store_error)?;
            node.file(executable, meta.len(), &mut f)
                .map_err(store_error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_path_matches_nix() {
        // nix-instantiate --eval -E 'builtins.toFile "hello" "hello\n"'
        let s = PureStore::new("/nix/store").unwrap();
        assert_eq!(
            s.add_text_to_store("hello", "hello\n", &BTreeSet::new())
                .unwrap(),
            "/nix/store/nmrmdcw1bfnl35a893n7nyhw4xa5vy08-hello"
        );
    }
}
