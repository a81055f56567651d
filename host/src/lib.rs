//! evalbox: run Nix evaluators compiled to WebAssembly in a sandbox whose only capabilities are
//! Nix store operations and read-only source directories.

pub use evalbox_nix as nix;
pub use evalbox_store as store;
