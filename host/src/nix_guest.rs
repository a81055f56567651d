//! The Nix-language guest (`guests/nix`, `nix-eval` built for `wasm32-wasip2`) that ships inside
//! the evalbox binary, so `evalbox eval` needs no separate download or build step. `build.rs`
//! builds and embeds it; `EVALBOX_NIX_GUEST=FILE` at run time uses another component instead
//! (e.g. a freshly built one while working on the evaluator).

use std::borrow::Cow;
use std::path::PathBuf;

/// The environment variable naming a `nix-eval` component to use instead of the embedded one.
pub const GUEST_ENV: &str = "EVALBOX_NIX_GUEST";

/// The embedded `nix-eval` component.
pub static EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/nix-eval.wasm"));

/// Errors locating the guest.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `$EVALBOX_NIX_GUEST` names a file that cannot be read.
    #[error("cannot read the Nix guest {path} (from ${GUEST_ENV}): {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The component to run: `$EVALBOX_NIX_GUEST` if set, else the embedded one.
pub fn wasm() -> Result<Cow<'static, [u8]>, Error> {
    match std::env::var_os(GUEST_ENV).filter(|v| !v.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            std::fs::read(&path)
                .map(Cow::Owned)
                .map_err(|source| Error::Read { path, source })
        }
        None => Ok(Cow::Borrowed(EMBEDDED)),
    }
}
