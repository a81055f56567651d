//! Nix formats as pure code: no filesystem, no network, no async runtime.
//!
//! Everything here is a function of its inputs, so it compiles for
//! `wasm32-wasip2` as well as natively, and the embedded store, the daemon
//! client and the evaluator guest all share one implementation of each
//! format. Output is byte-identical to Nix 2.8:
//!
//! - [`nixbase32`]: Nix's base-32 encoding.
//! - [`hash`]: md5/sha1/sha256/sha512 in every spelling Nix accepts.
//! - [`store_path`]: store paths, store directories and Nix's path
//!   fingerprints (text, source, fixed-output, derivation outputs).
//! - [`wire`]: the u64 / padded-string framing of NAR and the worker protocol.
//! - [`nar`]: streaming NAR writer and strict streaming NAR reader.
//! - [`derivation`]: `.drv` ATerm, `hashDerivationModulo`, output and `.drv`
//!   paths, `nix show-derivation` JSON.
#![deny(missing_docs)]

pub mod derivation;
pub mod hash;
pub mod nar;
pub mod nixbase32;
pub mod store_path;
pub mod wire;

pub use derivation::{Derivation, DerivationOutput, DrvHash};
pub use hash::{HashAlgo, NixHash};
pub use store_path::{ContentAddress, FileIngestionMethod, StoreDir, StorePath};
