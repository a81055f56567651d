//! The Nix-language guest (`guests/nix-eval`, `nix-eval` built for `wasm32-wasip2`) that ships inside
//! the evalbox binary, so `evalbox eval` needs no separate download or build step. `build.rs`
//! builds and embeds it; `EVALBOX_NIX_EVAL=FILE` at run time uses another component instead
//! (e.g. a freshly built one while working on the evaluator).

use std::borrow::Cow;
use std::path::PathBuf;

/// The environment variable naming a `nix-eval` component to use instead of the embedded one.
pub const GUEST_ENV: &str = "EVALBOX_NIX_EVAL";

/// The embedded `nix-eval` component.
pub static EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/nix-eval.wasm"));

/// SHA-256 of [`EMBEDDED`], computed at build time (the compile cache's key).
pub static EMBEDDED_SHA256: &[u8; 32] =
    include_bytes!(concat!(env!("OUT_DIR"), "/nix-eval.wasm.sha256"));

/// A guest component and its SHA-256.
#[derive(Debug)]
pub struct GuestWasm {
    /// The component's bytes.
    pub bytes: Cow<'static, [u8]>,
    /// Their SHA-256.
    pub sha256: [u8; 32],
}

/// Errors locating the guest.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `$EVALBOX_NIX_EVAL` names a file that cannot be read.
    #[error("cannot read the Nix guest {path} (from ${GUEST_ENV}): {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The component to run: `$EVALBOX_NIX_EVAL` if set, else the embedded one.
pub fn wasm() -> Result<GuestWasm, Error> {
    match std::env::var_os(GUEST_ENV).filter(|v| !v.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            let bytes = std::fs::read(&path).map_err(|source| Error::Read { path, source })?;
            let sha256 = crate::runtime::cache::digest(&bytes);
            Ok(GuestWasm {
                bytes: Cow::Owned(bytes),
                sha256,
            })
        }
        None => Ok(GuestWasm {
            bytes: Cow::Borrowed(EMBEDDED),
            sha256: *EMBEDDED_SHA256,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_digest_is_the_embedded_guests() {
        assert_eq!(&crate::runtime::cache::digest(EMBEDDED), EMBEDDED_SHA256);
    }
}
