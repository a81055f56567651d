//! evalbox: run Nix evaluators compiled to WebAssembly in a sandbox whose only capabilities are
//! Nix store operations and read-only source directories.
//!
//! [`runtime`] is the sandbox (engine, linker, limits, capability audit, virtualised WASI);
//! [`capabilities`] holds the per-guest state and the host side of the guest's interfaces.

pub use evalbox_store as store;
pub use nix_formats as nix;

pub mod bindings;
pub mod capabilities;
pub mod nix_eval;
mod open;
pub mod runtime;

pub use open::{LazyStore, open_store};
