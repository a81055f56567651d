//! evalbox: run Nix evaluators compiled to WebAssembly in a sandbox whose only capabilities are
//! Nix store operations and read-only source directories.
//!
//! Layers, lowest first: [`runtime`] (the WebAssembly runtime: engine, compile cache, the
//! evaluator world and the capability audit, limits, virtual clocks; it knows nothing of Nix),
//! [`bindings`] (the guest's own WIT interface), [`capabilities`] (the per-guest state and the
//! host side of the store capability), [`sandbox`] (runs guests with those capabilities),
//! [`nix_eval`] (the embedded Nix guest); the `evalbox` binary's CLI parses and wires.

pub use evalbox_store as store;
pub use nix_formats as nix;

pub mod bindings;
pub mod capabilities;
pub mod nix_eval;
mod open;
pub mod runtime;
pub mod sandbox;

pub use open::{LazyStore, open_store, open_store_with};
