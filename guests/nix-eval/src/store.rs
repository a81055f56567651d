//! The store operations the evaluator needs (copying paths, writing text files, building
//! derivations), behind a trait so the wasm guest can forward them to the host and the
//! native library can run without a store.

/// A store operation failed or is not available.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum StoreError {
    /// This evaluator has no store.
    #[error("store operation '{0}' is not available in this evaluator")]
    NotAvailable(&'static str),
    /// The store reported an error.
    #[error("{0}")]
    Failed(String),
}

/// Decides whether a file under a path being added is included (`builtins.path`'s and
/// `filterSource`'s `filter`): gets the absolute path and its type ("regular",
/// "directory", "symlink", "unknown").
pub type PathFilter<'a> = &'a mut dyn FnMut(&str, &str) -> Result<bool, StoreError>;

/// A request to add a source path to the store.
#[derive(Debug)]
pub struct AddPath<'a> {
    /// Absolute path to add.
    pub path: &'a str,
    /// Store path name.
    pub name: &'a str,
    /// NAR serialisation (true) or the flat file contents (false).
    pub recursive: bool,
    /// Expected sha256 (the path is fixed-output when given).
    pub sha256: Option<nix_formats::NixHash>,
}

/// Store operations called by the evaluator. Every method returns a store path.
pub trait StoreOps {
    /// Copies a source path into the store (`"${./foo}"`).
    fn copy_path(&self, path: &str) -> Result<String, StoreError>;
    /// Adds a path with options and an optional filter (`builtins.path`, `filterSource`).
    fn add_path(
        &self,
        req: &AddPath<'_>,
        filter: Option<PathFilter<'_>>,
    ) -> Result<String, StoreError> {
        let _ = (req, filter);
        Err(StoreError::NotAvailable("path"))
    }
    /// Adds a text file with references (`builtins.toFile`).
    fn add_text(&self, name: &str, text: &str, references: &[String])
    -> Result<String, StoreError>;
    /// Realises a store path (import from derivation).
    fn realise(&self, path: &str) -> Result<(), StoreError>;
}

/// The native default: every store operation fails with "not available".
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStore;

impl StoreOps for NoStore {
    fn copy_path(&self, _path: &str) -> Result<String, StoreError> {
        Err(StoreError::NotAvailable("copy path to store"))
    }
    fn add_text(
        &self,
        _name: &str,
        _text: &str,
        _references: &[String],
    ) -> Result<String, StoreError> {
        Err(StoreError::NotAvailable("toFile"))
    }
    fn realise(&self, _path: &str) -> Result<(), StoreError> {
        Err(StoreError::NotAvailable("realise"))
    }
}

/// A store that computes store paths exactly as Nix would, without writing anything (like
/// `nix-instantiate --readonly-mode`): source paths from the NAR serialisation of the file
/// tree, text files from their contents. Building is not possible.
#[derive(Debug, Clone)]
pub struct ReadOnlyStore {
    dir: nix_formats::StoreDir,
}

impl ReadOnlyStore {
    /// A read-only store for the store directory `dir` (normally `/nix/store`).
    pub fn new(dir: &str) -> Result<Self, StoreError> {
        let dir = nix_formats::StoreDir::new(dir).map_err(|e| StoreError::Failed(e.to_string()))?;
        Ok(ReadOnlyStore { dir })
    }
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(e.to_string())
}

fn nar_node<W: std::io::Write>(
    node: nix_formats::nar::writer::Node<'_, W>,
    path: &std::path::Path,
    filter: &mut Option<PathFilter<'_>>,
    root: bool,
) -> Result<(), StoreError> {
    // The root is resolved (a path value naming a symlinked directory means the directory).
    let meta = if root {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    };
    let meta = meta.map_err(|e| {
        let shown = path.display().to_string();
        StoreError::Failed(
            crate::sandbox::refusal(&shown, &e)
                .unwrap_or_else(|| format!("path '{shown}' does not exist")),
        )
    })?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = std::fs::read_link(path).map_err(failed)?;
        node.symlink(target.to_string_lossy().as_bytes())
            .map_err(failed)
    } else if ft.is_dir() {
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(path)
            .map_err(failed)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(failed)?;
        names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
        let mut dir = node.directory().map_err(failed)?;
        for n in names {
            let child_path = path.join(&n);
            if let Some(f) = filter.as_mut() {
                let t = std::fs::symlink_metadata(&child_path)
                    .map_err(failed)?
                    .file_type();
                let kind = if t.is_dir() {
                    "directory"
                } else if t.is_symlink() {
                    "symlink"
                } else if t.is_file() {
                    "regular"
                } else {
                    "unknown"
                };
                if !f(&child_path.to_string_lossy(), kind)? {
                    continue;
                }
            }
            let child = dir.entry(n.as_encoded_bytes()).map_err(failed)?;
            nar_node(child, &child_path, filter, false)?;
        }
        dir.close().map_err(failed)
    } else {
        #[cfg(unix)]
        let exec = {
            use std::os::unix::fs::PermissionsExt;
            meta.permissions().mode() & 0o111 != 0
        };
        #[cfg(not(unix))]
        let exec = false;
        let mut f = std::fs::File::open(path).map_err(failed)?;
        node.file(exec, meta.len(), &mut f).map_err(failed)
    }
}

impl StoreOps for ReadOnlyStore {
    fn copy_path(&self, path: &str) -> Result<String, StoreError> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let req = AddPath {
            path,
            name,
            recursive: true,
            sha256: None,
        };
        self.add_path(&req, None)
    }

    fn add_path(
        &self,
        req: &AddPath<'_>,
        filter: Option<PathFilter<'_>>,
    ) -> Result<String, StoreError> {
        use nix_formats::{FileIngestionMethod, HashAlgo};
        let mut filter = filter;
        let mut hasher = nix_formats::hash::Hasher::new(HashAlgo::Sha256);
        let method = if req.recursive {
            let root = nix_formats::nar::writer::open(&mut hasher).map_err(failed)?;
            nar_node(root, std::path::Path::new(req.path), &mut filter, true)?;
            FileIngestionMethod::Recursive
        } else {
            let data = std::fs::read(req.path).map_err(failed)?;
            std::io::Write::write_all(&mut hasher, &data).map_err(failed)?;
            FileIngestionMethod::Flat
        };
        let hash = hasher.finish();
        if let Some(expected) = &req.sha256
            && *expected != hash
        {
            return Err(StoreError::Failed(format!(
                "hash mismatch in file added from '{}': specified {}, got {}",
                req.path,
                expected.to_sri(),
                hash.to_sri()
            )));
        }
        let sp = self
            .dir
            .make_fixed_output_path(req.name, method, &hash, &Default::default(), false)
            .map_err(failed)?;
        Ok(self.dir.display(&sp))
    }

    fn add_text(
        &self,
        name: &str,
        text: &str,
        references: &[String],
    ) -> Result<String, StoreError> {
        let hash = nix_formats::NixHash::of(nix_formats::HashAlgo::Sha256, text.as_bytes());
        let mut refs = std::collections::BTreeSet::new();
        for r in references {
            let p = r.trim_start_matches('=');
            refs.insert(self.dir.parse(p).map_err(failed)?);
        }
        let sp = self
            .dir
            .make_text_path(name, &hash, &refs)
            .map_err(failed)?;
        Ok(self.dir.display(&sp))
    }

    fn realise(&self, _path: &str) -> Result<(), StoreError> {
        Err(StoreError::NotAvailable("realise (read-only store)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_path_matches_nix() {
        // nix-instantiate --eval -E 'builtins.toFile "hello" "hello\n"'
        let s = ReadOnlyStore::new("/nix/store").unwrap();
        assert_eq!(
            s.add_text("hello", "hello\n", &[]).unwrap(),
            "/nix/store/nmrmdcw1bfnl35a893n7nyhw4xa5vy08-hello"
        );
    }
}
