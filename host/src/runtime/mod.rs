//! The WebAssembly runtime under the sandbox, knowing nothing of Nix: the engine
//! ([`engine`]), the compile cache ([`cache`]), the evaluator world read from the WIT
//! ([`world`]) and the capability audit against it ([`audit`]), resource limits ([`limits`]),
//! capped output ([`output`]) and virtual clocks and randomness ([`determinism`]).
//! [`crate::sandbox`] puts them together with the guest's capabilities.

pub mod audit;
pub mod cache;
pub mod determinism;
pub mod engine;
pub mod limits;
pub mod output;
pub mod world;

pub use limits::{LimitExceeded, Limits};
pub use output::{OutputCallback, OutputTarget};

/// `evalbox run`'s exit codes besides the guest's own (0 and 1 for a WASI 0.2 command).
pub mod exit_code {
    /// evalbox itself failed (bad arguments, unreadable guest, store error).
    pub const FAILURE: u8 = 1;
    /// Usage error, or the guest was refused by the capability audit.
    pub const REFUSED: u8 = 2;
    /// The guest trapped: a panic, `unreachable`, stack overflow, out-of-bounds access.
    pub const TRAP: u8 = 101;
    /// A store host-call argument exceeded `--max-host-arg`.
    pub const HOST_ARGUMENT: u8 = 121;
    /// The guest wrote more than `--max-output`.
    pub const OUTPUT: u8 = 122;
    /// The guest's memory (or a table) exceeded `--max-memory`.
    pub const MEMORY: u8 = 123;
    /// The guest ran past `--timeout`.
    pub const DEADLINE: u8 = 124;
}
