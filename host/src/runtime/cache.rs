//! The on-disk cache of precompiled components, so the second run of a guest skips Cranelift
//! (seconds for a large guest) and only deserialises (milliseconds).
//!
//! Entries are keyed by the SHA-256 of the wasm bytes and of the engine's compatibility hash
//! (wasmtime version, target, and every setting that affects code generation), so a changed
//! guest or engine never loads stale code. Writes go to a temporary file renamed into place,
//! so concurrent runs never see a half-written entry. The directory is `$EVALBOX_CACHE_DIR`,
//! else `$XDG_CACHE_HOME/evalbox/components`, else `~/.cache/evalbox/components`.

use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Environment variable naming the cache directory.
pub const CACHE_DIR_ENV: &str = "EVALBOX_CACHE_DIR";

/// Cache failures. Reading failures are never fatal (the component is recompiled); writing
/// failures are reported so the user learns the cache does not work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cache directory could not be created or written.
    #[error("cannot write the component cache at {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The component cache in one directory.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: PathBuf,
}

/// `Hasher` feeding SHA-256, to turn wasmtime's `impl Hash` compatibility key into bytes.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl ComponentCache {
    /// The cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ComponentCache { dir: dir.into() }
    }

    /// The default cache directory (see the module doc), if one can be found.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(dir));
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|d| !d.is_empty())
                    .map(|home| PathBuf::from(home).join(".cache"))
            })?;
        Some(base.join("evalbox").join("components"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry path for `wasm` compiled by `engine`.
    pub fn entry(&self, engine: &Engine, wasm_digest: &[u8; 32]) -> PathBuf {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_digest = hasher.0.finalize();
        self.dir.join(format!(
            "{}-{}.cwasm",
            hex::encode(wasm_digest),
            hex::encode(&engine_digest[..16])
        ))
    }

    /// Loads a cached compilation, or `None` if there is none (or it is unusable).
    pub fn load(&self, engine: &Engine, wasm_digest: &[u8; 32]) -> Option<Component> {
        let path = self.entry(engine, wasm_digest);
        if !path.is_file() {
            return None;
        }
        // SAFETY: the file is one this cache wrote (atomically, under the user's own cache
        // directory) from `Component::serialize`, for an engine with the same compatibility
        // hash; wasmtime also checks the header and engine settings before using it.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), "ignoring unusable cache entry: {err}");
                None
            }
        }
    }

    /// Stores `component`'s compiled form.
    pub fn store(
        &self,
        engine: &Engine,
        wasm_digest: &[u8; 32],
        component: &Component,
    ) -> Result<PathBuf, Error> {
        let path = self.entry(engine, wasm_digest);
        let bytes = component.serialize().map_err(|e| Error::Write {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        std::fs::create_dir_all(&self.dir).map_err(|source| Error::Write {
            path: self.dir.clone(),
            source,
        })?;
        let tmp = self.dir.join(format!(
            ".{}.{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
            std::process::id()
        ));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            Error::Write {
                path: path.clone(),
                source,
            }
        })?;
        Ok(path)
    }
}

impl ComponentCache {
    /// The digest remembered for the file at `path`, if the file is, by everything `stat`
    /// says of it (device, inode, size, modification and change times to the nanosecond),
    /// the one it was computed from. Saves reading and hashing a component on every start.
    pub fn known_digest(&self, path: &Path) -> Option<[u8; 32]> {
        let stamp = stat_stamp(path)?;
        let memo = std::fs::read_to_string(self.digest_memo(path)?).ok()?;
        let (recorded, digest) = memo.trim_end().rsplit_once(' ')?;
        if recorded != stamp {
            return None;
        }
        hex::decode(digest).ok()?.try_into().ok()
    }

    /// Remembers `digest` for the file at `path` as it is now (see
    /// [`ComponentCache::known_digest`]); best effort.
    pub fn remember_digest(&self, path: &Path, digest: &[u8; 32]) {
        let (Some(stamp), Some(memo)) = (stat_stamp(path), self.digest_memo(path)) else {
            return;
        };
        let dir = self.dir.join("digests");
        let tmp = dir.join(format!(".{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(&tmp, format!("{stamp} {}\n", hex::encode(digest)))?;
            std::fs::rename(&tmp, &memo)
        };
        if let Err(err) = write() {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!(path = %memo.display(), "cannot remember a component's digest: {err}");
        }
    }

    /// `digests/<SHA-256 of the file's canonical path>`.
    fn digest_memo(&self, path: &Path) -> Option<PathBuf> {
        let canonical = path.canonicalize().ok()?;
        let key = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
        Some(self.dir.join("digests").join(hex::encode(key)))
    }
}

/// What `stat` says identifies a file's contents: device, inode, size, mtime and ctime (ns).
fn stat_stamp(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(format!(
        "{}:{}:{}:{}.{}:{}.{}",
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    ))
}

/// SHA-256 of `bytes`.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_remembered_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(dir.path().join("cache"));
        let file = dir.path().join("guest.wasm");
        std::fs::write(&file, b"one").unwrap();
        assert_eq!(cache.known_digest(&file), None);
        cache.remember_digest(&file, &digest(b"one"));
        assert_eq!(cache.known_digest(&file), Some(digest(b"one")));
        // Rewritten in place (same size), or replaced by another file: forgotten.
        std::fs::write(&file, b"two").unwrap();
        assert_eq!(cache.known_digest(&file), None);
        cache.remember_digest(&file, &digest(b"two"));
        let other = dir.path().join("other.wasm");
        std::fs::write(&other, b"three").unwrap();
        std::fs::rename(&other, &file).unwrap();
        assert_eq!(cache.known_digest(&file), None);
        assert_eq!(cache.known_digest(&dir.path().join("missing")), None);
    }
}
