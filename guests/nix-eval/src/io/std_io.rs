//! [`StdIo`]: files through `std::fs` and a [`PureStore`].
//!
//! In the wasm guest `std::fs` is WASI: it reaches only the read-only directories the host
//! preopened, and a path elsewhere fails like a missing file, which would mislead a Nix user.
//! So a sandboxed `StdIo` knows those directories (the guest asks WASI for them, see
//! [`preopened_dirs`]) and reports any failure on a path outside all of them as
//! [`IoError::Refused`], naming the path. The sandbox enforces the boundary; this only
//! explains it. Natively there are no such directories and nothing is ever refused.

use std::collections::BTreeSet;

use nix_formats::{Derivation, NixHash};

use super::{AddToStore, AddedDerivation, EvalIo, FileType, IoError, PureStore};

/// Reads through `std::fs`; store effects through a [`PureStore`].
#[derive(Debug)]
pub struct StdIo {
    /// The directories a sandbox lets the evaluator read; `None` natively.
    roots: Option<Vec<String>>,
    store: PureStore,
}

impl StdIo {
    /// Reads anything `std::fs` can; computes store paths for the store directory
    /// `store_dir`. `roots` are the directories of a sandbox (absolute, as the evaluator sees
    /// them): a failed read outside all of them is reported as refused.
    pub fn new(store_dir: &str, roots: Option<Vec<String>>) -> Result<StdIo, IoError> {
        Ok(StdIo {
            roots: roots.map(|roots| {
                roots
                    .into_iter()
                    .map(|r| r.trim_end_matches('/').to_owned())
                    .collect()
            }),
            store: PureStore::new(store_dir)?,
        })
    }

    /// Whether `path` lies outside every sandbox root (never without roots).
    fn outside(&self, path: &str) -> bool {
        self.roots
            .as_deref()
            .is_some_and(|roots| outside_of(roots, path))
    }

    /// The error of a failed access to `path`: in a sandbox any failure on a path outside the
    /// roots is the sandbox refusing it, whatever error WASI reported.
    fn error(&self, path: &str, err: &std::io::Error) -> IoError {
        if self.outside(path) {
            IoError::Refused(path.to_owned())
        } else if err.kind() == std::io::ErrorKind::NotFound {
            IoError::NotFound(path.to_owned())
        } else {
            IoError::Read {
                path: path.to_owned(),
                message: err.to_string(),
            }
        }
    }
}

fn outside_of(roots: &[String], path: &str) -> bool {
    !roots.iter().any(|root| {
        root.is_empty()
            || path == root
            || path
                .strip_prefix(root.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The type of a `std::fs` file type.
pub(super) fn file_type(ft: std::fs::FileType) -> FileType {
    if ft.is_dir() {
        FileType::Directory
    } else if ft.is_symlink() {
        FileType::Symlink
    } else if ft.is_file() {
        FileType::Regular
    } else {
        FileType::Unknown
    }
}

impl EvalIo for StdIo {
    fn file_type(&self, path: &str, follow: bool) -> Result<FileType, IoError> {
        let meta = if follow {
            std::fs::metadata(path)
        } else {
            std::fs::symlink_metadata(path)
        };
        meta.map(|m| file_type(m.file_type()))
            .map_err(|e| self.error(path, &e))
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, IoError> {
        std::fs::read(path).map_err(|e| self.error(path, &e))
    }

    fn read_file_range(&self, path: &str, offset: u64, len: usize) -> Result<Vec<u8>, IoError> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(path).map_err(|e| self.error(path, &e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| self.error(path, &e))?;
        let mut out = Vec::with_capacity(len);
        file.take(len as u64)
            .read_to_end(&mut out)
            .map_err(|e| self.error(path, &e))?;
        Ok(out)
    }

    fn read_dir(&self, path: &str) -> Result<Vec<(String, FileType)>, IoError> {
        let entries = std::fs::read_dir(path).map_err(|e| match self.error(path, &e) {
            IoError::Read { .. } if std::fs::metadata(path).is_ok() => {
                IoError::NotADirectory(path.to_owned())
            }
            IoError::Read { .. } => IoError::NotFound(path.to_owned()),
            other => other,
        })?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.error(path, &e))?;
            let ty = entry.file_type().map_or(FileType::Unknown, file_type);
            out.push((entry.file_name().to_string_lossy().into_owned(), ty));
        }
        Ok(out)
    }

    fn store_dir(&self) -> &str {
        self.store.store_dir()
    }

    fn add_to_store(&self, req: &AddToStore<'_>) -> Result<String, IoError> {
        self.store
            .add_to_store(req, &|path, err| self.error(path, err))
    }

    fn add_text_to_store(
        &self,
        name: &str,
        text: &str,
        references: &BTreeSet<String>,
    ) -> Result<String, IoError> {
        self.store.add_text_to_store(name, text, references)
    }

    fn add_derivation(&self, drv: Derivation, name: &str) -> Result<AddedDerivation, IoError> {
        self.store.add_derivation(drv, name)
    }

    fn derivation_outputs(&self, drv_path: &str) -> Result<BTreeSet<String>, IoError> {
        self.store.derivation_outputs(drv_path)
    }

    fn fetch_tarball(&self, _url: &str, name: &str, nar_hash: &NixHash) -> Result<String, IoError> {
        self.store.fetch_tarball(name, nar_hash)
    }

    fn references(&self, path: &str) -> Result<BTreeSet<String>, IoError> {
        self.store.references(path)
    }

    fn nar_hash(&self, path: &str) -> Result<NixHash, IoError> {
        self.store.nar_hash(path)
    }

    fn build(&self, targets: &[(String, BTreeSet<String>)]) -> Result<(), IoError> {
        let drv = targets.first().map_or("", |(d, _)| d.as_str());
        Err(IoError::Store(format!(
            "cannot build '{drv}': store paths are only computed here (--readonly-mode, or \
             an evaluator without a store)"
        )))
    }
}

/// The directories the host preopened for this guest, as the guest sees them: WASI itself
/// says which (`wasi:filesystem/preopens`).
#[cfg(all(target_os = "wasi", target_env = "p2"))]
pub fn preopened_dirs() -> Vec<String> {
    wasip2::filesystem::preopens::get_directories()
        .into_iter()
        .map(|(_descriptor, path)| path)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_bound_what_is_refused() {
        let native = StdIo::new("/nix/store", None).unwrap();
        assert!(matches!(
            native.read_file("/nonexistent/evalbox-test"),
            Err(IoError::NotFound(_))
        ));
        let roots = ["/work/src".to_owned(), "/nix/store".to_owned()];
        assert!(outside_of(&roots, "/etc/passwd"));
        assert!(outside_of(&roots, "/work/srcx/a.nix"));
        assert!(!outside_of(&roots, "/work/src"));
        assert!(!outside_of(&roots, "/work/src/a/b.nix"));
        assert!(!outside_of(&roots, "/nix/store/abc-x"));
        assert!(!outside_of(&[String::new()], "/anything"));
        let sandboxed = StdIo::new("/nix/store", Some(roots.to_vec())).unwrap();
        let refused = sandboxed
            .read_file("/nonexistent/evalbox-test")
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "access to path '/nonexistent/evalbox-test' is not allowed: it is outside the \
             sandbox's read-only sources (add its directory with --src DIR or -I)"
        );
    }
}
