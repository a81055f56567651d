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

/// Store operations called by the evaluator. Every method returns a store path.
pub trait StoreOps {
    /// Copies a source path into the store (`"${./foo}"`, `builtins.path`).
    fn copy_path(&self, path: &str) -> Result<String, StoreError>;
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
