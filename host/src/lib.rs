//! evalbox: run Nix evaluators compiled to WebAssembly in a sandbox whose only capabilities are
//! Nix store operations and read-only source directories.
//!
//! [`runtime`] is the sandbox (engine, linker, limits, capability audit, virtualised WASI);
//! [`host_impl`] holds the per-guest state and the host side of the guest's interfaces.

pub use evalbox_nix as nix;
pub use evalbox_store as store;

pub mod bindings;
pub mod host_impl;
pub mod nix_guest;
mod open;
pub mod runtime;

pub use open::{LazyStore, open_store};
