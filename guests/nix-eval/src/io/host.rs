//! [`HostIo`]: the evaluator in the sandbox, on its two capabilities. Sources are read through
//! WASI (the read-only directories the host preopened, as [`StdIo`] reads them); everything in
//! the store directory is read through the store capability, which serves valid store paths
//! only, whatever the backend (embedded store, nix-daemon, `ssh-ng://`); and every store
//! effect (adding sources and text files, writing derivations) is the host's: it ingests files
//! and computes output paths exactly as Nix does.
//!
//! The host never follows a symlink inside the store; the evaluator resolves them here, one
//! component at a time, as Nix's file system accessor does.

use std::collections::{BTreeMap, BTreeSet};

use evalbox_guest::derivation::{Derivation as HostDerivation, FixedOutput};
use evalbox_guest::store::{self, HashAlgo as HostAlgo, IngestionMethod, ObjectKind};
use nix_formats::{Derivation, DerivationOutput, FileIngestionMethod, HashAlgo, NixHash};

use super::{AddToStore, AddedDerivation, EvalIo, FileType, IoError, StdIo};

/// Symlinks followed at most while resolving one path (Linux's `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// Sources through WASI, the store through the store capability (see the module doc).
#[derive(Debug)]
pub struct HostIo {
    files: StdIo,
    store_dir: String,
}

fn host_error(e: store::Error) -> IoError {
    IoError::Store(e.message().to_owned())
}

fn host_algo(a: HashAlgo) -> HostAlgo {
    match a {
        HashAlgo::Md5 => HostAlgo::Md5,
        HashAlgo::Sha1 => HostAlgo::Sha1,
        HashAlgo::Sha256 => HostAlgo::Sha256,
        HashAlgo::Sha512 => HostAlgo::Sha512,
    }
}

fn host_method(m: FileIngestionMethod) -> IngestionMethod {
    match m {
        FileIngestionMethod::Flat => IngestionMethod::Flat,
        FileIngestionMethod::Recursive => IngestionMethod::Recursive,
    }
}

fn file_type(kind: &ObjectKind) -> FileType {
    match kind {
        ObjectKind::Regular { .. } => FileType::Regular,
        ObjectKind::Directory => FileType::Directory,
        ObjectKind::Symlink(_) => FileType::Symlink,
    }
}

impl HostIo {
    /// An evaluator's I/O in the sandbox whose preopened directories are `roots`.
    pub fn new(roots: Vec<String>) -> Result<HostIo, IoError> {
        let store_dir = store::store_dir();
        Ok(HostIo {
            files: StdIo::new(&store_dir, Some(roots))?,
            store_dir,
        })
    }

    /// Whether `path` is in the store directory (and so read through the store).
    fn in_store(&self, path: &str) -> bool {
        path.strip_prefix(self.store_dir.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// Where `path` (in the store) leads, following symlinks in every component but the
    /// last (and the last too when `follow_last`), and what is there; `None` if nothing.
    fn resolve(
        &self,
        path: &str,
        follow_last: bool,
    ) -> Result<Option<(String, ObjectKind)>, IoError> {
        let mut path = nix_args::canon_path(path);
        for _ in 0..=MAX_SYMLINKS {
            if !self.in_store(&path) || path == self.store_dir {
                return Err(IoError::Refused(path));
            }
            match store::lstat(&path).map_err(host_error)? {
                Some(ObjectKind::Symlink(target)) if follow_last => {
                    path = link_target(&path, &target);
                }
                Some(kind) => return Ok(Some((path, kind))),
                // Missing, or a symlink on the way: find the first symlink component.
                None => match self.first_symlink(&path)? {
                    Some(next) => path = next,
                    None => return Ok(None),
                },
            }
        }
        Err(IoError::Read {
            path,
            message: "too many levels of symbolic links".into(),
        })
    }

    /// `path` with its first symlink component replaced by the link's target, or `None` when
    /// no component of it is a symlink.
    fn first_symlink(&self, path: &str) -> Result<Option<String>, IoError> {
        let rest = &path[self.store_dir.len()..];
        let mut prefix = self.store_dir.clone();
        let components: Vec<&str> = rest.split('/').filter(|c| !c.is_empty()).collect();
        for (i, c) in components.iter().enumerate() {
            prefix.push('/');
            prefix.push_str(c);
            match store::lstat(&prefix).map_err(host_error)? {
                Some(ObjectKind::Symlink(target)) => {
                    let mut next = link_target(&prefix, &target);
                    for c in &components[i + 1..] {
                        next.push('/');
                        next.push_str(c);
                    }
                    return Ok(Some(next));
                }
                Some(ObjectKind::Directory) => {}
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// A path read through the store: resolved, or the error for a missing one.
    fn store_object(&self, path: &str, follow_last: bool) -> Result<(String, ObjectKind), IoError> {
        self.resolve(path, follow_last)?
            .ok_or_else(|| IoError::NotFound(path.to_owned()))
    }
}

/// Where the symlink at `link` pointing to `target` leads.
fn link_target(link: &str, target: &str) -> String {
    if target.starts_with('/') {
        nix_args::canon_path(target)
    } else {
        let parent = link.rsplit_once('/').map_or("/", |(p, _)| p);
        nix_args::canon_path(&format!("{parent}/{target}"))
    }
}

/// A hash the host reports (`sha256:<nix32>`, or a content address's `<algo>:<hash>`).
fn parse_hash(s: &str) -> Option<NixHash> {
    NixHash::parse(s, None).ok()
}

impl EvalIo for HostIo {
    fn file_type(&self, path: &str, follow: bool) -> Result<FileType, IoError> {
        if !self.in_store(path) {
            return self.files.file_type(path, follow);
        }
        Ok(file_type(&self.store_object(path, follow)?.1))
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, IoError> {
        if !self.in_store(path) {
            return self.files.read_file(path);
        }
        let (resolved, kind) = self.store_object(path, true)?;
        match kind {
            ObjectKind::Regular { .. } => store::read_file(&resolved).map_err(host_error),
            _ => Err(IoError::Read {
                path: path.to_owned(),
                message: "not a regular file".into(),
            }),
        }
    }

    fn read_file_range(&self, path: &str, offset: u64, len: usize) -> Result<Vec<u8>, IoError> {
        if !self.in_store(path) {
            return self.files.read_file_range(path, offset, len);
        }
        Ok(super::byte_range(&self.read_file(path)?, offset, len))
    }

    fn read_dir(&self, path: &str) -> Result<Vec<(String, FileType)>, IoError> {
        if !self.in_store(path) {
            return self.files.read_dir(path);
        }
        let (resolved, kind) = self.store_object(path, true)?;
        if kind != ObjectKind::Directory {
            return Err(IoError::NotADirectory(path.to_owned()));
        }
        Ok(store::read_directory(&resolved)
            .map_err(host_error)?
            .into_iter()
            .map(|(name, kind)| (name, file_type(&kind)))
            .collect())
    }

    fn store_dir(&self) -> &str {
        &self.store_dir
    }

    fn add_to_store(&self, req: &AddToStore<'_>) -> Result<String, IoError> {
        let method = host_method(req.method);
        let info = match req.included {
            Some(included) => {
                let included: Vec<&str> = included.iter().map(String::as_str).collect();
                store::add_filtered_path_to_store(
                    req.name,
                    req.path,
                    &included,
                    method,
                    HostAlgo::Sha256,
                )
            }
            None => store::add_path_to_store(req.name, req.path, method, HostAlgo::Sha256),
        }
        .map_err(|e| match e {
            store::Error::NotFound(_) => IoError::NotFound(req.path.to_owned()),
            store::Error::Refused(_) => IoError::Refused(req.path.to_owned()),
            e => host_error(e),
        })?;
        if let Some(expected) = &req.expected {
            // The content hash: the NAR's for recursive ingestion, the file's for flat.
            let got = match req.method {
                FileIngestionMethod::Recursive => parse_hash(&info.nar_hash),
                FileIngestionMethod::Flat => info
                    .ca
                    .as_deref()
                    .and_then(|ca| ca.strip_prefix("fixed:"))
                    .and_then(parse_hash),
            };
            if got.as_ref() != Some(expected) {
                return Err(IoError::Store(format!(
                    "hash mismatch in file added from '{}': specified {}, got {}",
                    req.path,
                    expected.to_sri(),
                    got.map_or_else(|| "an unknown hash".to_owned(), |h| h.to_sri())
                )));
            }
        }
        Ok(info.path)
    }

    fn add_text_to_store(
        &self,
        name: &str,
        text: &str,
        references: &BTreeSet<String>,
    ) -> Result<String, IoError> {
        let refs: Vec<&str> = references.iter().map(String::as_str).collect();
        store::add_text_to_store(name, text, &refs).map_err(host_error)
    }

    fn add_derivation(&self, drv: Derivation, name: &str) -> Result<AddedDerivation, IoError> {
        let dir = nix_formats::StoreDir::new(&self.store_dir)
            .map_err(|e| IoError::Store(e.to_string()))?;
        let outputs = drv
            .outputs
            .iter()
            .map(|(output, o)| {
                let fixed = match o {
                    DerivationOutput::Fixed { method, hash, .. } => Some(FixedOutput {
                        method: host_method(*method),
                        algo: host_algo(hash.algo()),
                        hash: hash.to_sri(),
                    }),
                    _ => None,
                };
                (output.clone(), fixed)
            })
            .collect();
        let host = HostDerivation {
            name: name.to_owned(),
            outputs,
            input_drvs: drv
                .input_derivations
                .iter()
                .map(|(p, outs)| (dir.display(p), outs.iter().cloned().collect()))
                .collect(),
            input_srcs: drv.input_sources.iter().map(|p| dir.display(p)).collect(),
            system: drv.platform,
            builder: drv.builder,
            args: drv.args,
            env: drv.env.into_iter().collect(),
        };
        let added = host.add().map_err(host_error)?;
        Ok(AddedDerivation {
            drv_path: added.drv_path,
            outputs: added.outputs.into_iter().collect::<BTreeMap<_, _>>(),
        })
    }

    fn references(&self, path: &str) -> Result<BTreeSet<String>, IoError> {
        match store::query_path_info(path).map_err(host_error)? {
            Some(info) => Ok(info.references.into_iter().collect()),
            None => Err(IoError::NotFound(path.to_owned())),
        }
    }

    fn nar_hash(&self, path: &str) -> Result<NixHash, IoError> {
        match store::query_path_info(path).map_err(host_error)? {
            Some(info) => parse_hash(&info.nar_hash).ok_or_else(|| {
                IoError::Store(format!("the store reports NAR hash '{}'", info.nar_hash))
            }),
            None => Err(IoError::NotFound(path.to_owned())),
        }
    }

    fn build(&self, targets: &[(String, BTreeSet<String>)]) -> Result<(), IoError> {
        let paths: Vec<store::DerivedPath> = targets
            .iter()
            .map(|(drv, outputs)| store::DerivedPath {
                drv_path: drv.clone(),
                outputs: outputs.iter().cloned().collect(),
            })
            .collect();
        // The host shows the builders' log as it comes.
        let report = store::build_paths(&paths).map_err(host_error)?;
        match report.results.into_iter().find(|r| !r.success) {
            Some(failed) => {
                Err(IoError::Store(failed.error_message.unwrap_or_else(|| {
                    format!("building '{}' failed", failed.path.drv_path)
                })))
            }
            None => Ok(()),
        }
    }

    fn fetch_tarball(&self, url: &str, name: &str, nar_hash: &NixHash) -> Result<String, IoError> {
        store::fetch_tarball(url, name, &nar_hash.to_sri()).map_err(host_error)
    }

    fn derivation_outputs(&self, drv_path: &str) -> Result<BTreeSet<String>, IoError> {
        Ok(store::query_derivation_outputs(drv_path)
            .map_err(host_error)?
            .into_iter()
            .map(|(name, _)| name)
            .collect())
    }
}
