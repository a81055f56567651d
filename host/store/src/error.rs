//! The one error type of the store layer. Each variant says what went wrong with which path,
//! so the CLI can print it as one line and the guest ABI can map it to a typed error.

use std::path::PathBuf;

/// Store errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A path was asked for that is not valid in this store.
    #[error("path '{0}' is not valid")]
    InvalidPath(String),
    /// The input is malformed (bad name, bad hash, bad NAR, bad derivation, ...).
    #[error("{0}")]
    BadInput(String),
    /// The store's own data is inconsistent.
    #[error("store corruption: {0}")]
    Corrupt(String),
    /// Fetching a URL failed (`builtins.fetchTarball`, `builtin:fetchurl`).
    #[error("unable to download '{url}': {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The operation is not possible with this backend.
    #[error("{0}")]
    Unsupported(String),
    /// A store URI that cannot be parsed.
    #[error("invalid store URI '{uri}': {reason}")]
    BadUri {
        /// The URI as given.
        uri: String,
        /// Why it was refused.
        reason: String,
    },
    /// An I/O error on a host path.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The store database failed.
    #[error("store database {}: {source}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        source: rusqlite::Error,
    },
    /// A Nix format error (store path, hash, NAR, derivation).
    #[error(transparent)]
    StorePath(#[from] nix_formats::store_path::Error),
    /// A hash could not be parsed.
    #[error(transparent)]
    Hash(#[from] nix_formats::hash::Error),
    /// A derivation is malformed or inconsistent.
    #[error(transparent)]
    Derivation(#[from] nix_formats::derivation::Error),
    /// The remote side (nix-daemon) reported an error.
    #[error("{0}")]
    Remote(String),
    /// Talking to the remote side failed.
    #[error("{0}")]
    Protocol(String),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
