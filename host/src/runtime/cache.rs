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

/// SHA-256 of `bytes`.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
