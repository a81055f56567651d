//! evalbox's second store backend: a real `nix-daemon`, reached with the Nix worker protocol.
//!
//! The crate is layered the way the protocol is:
//!
//! - [`wire`]: strict, bounded decoding of u64s, padded strings, lists and framed streams;
//! - [`version`]: [`ProtocolVersion`] and the supported range (1.21 = Nix 2.3 to 1.38);
//! - [`stderr`]: the daemon's message channel (logs, activities, errors, data requests);
//! - [`nar`]: finding the end of an unframed NAR reply;
//! - [`types`]: path infos, derived paths and build results with their per-version encodings;
//! - [`client`]: one connection ([`DaemonClient`]): handshake and every operation;
//! - [`transport`]: Unix sockets and `--stdio` child processes (`ssh-ng://`);
//! - [`pool`]: a few shared connections, broken ones dropped;
//! - [`store`]: [`DaemonStore`], the `evalbox_store::Store` trait over all of the above, and
//!   [`open`] for `daemon`, `unix:///path` and `ssh-ng://host` URIs;
//! - [`logger`]: where build output goes ([`StderrLogger`] with progress bars on a terminal).
//!
//! Nothing the daemon sends is trusted: every length is bounded before it is read, every
//! malformed reply is an [`Error`], and a connection whose stream position became unknown is
//! marked broken so a pool drops it instead of reusing it.
#![deny(missing_docs)]

pub mod client;
mod error;
pub mod logger;
pub mod nar;
pub mod pool;
pub mod stderr;
pub mod store;
pub mod transport;
pub mod types;
pub mod version;
pub mod wire;

pub use client::{ClientOptions, ClientSettings, DaemonClient, HandshakeInfo};
pub use error::{Error, Result};
pub use logger::{Logger, NullLogger, StderrLogger};
pub use store::{DaemonStore, open, open_with};
pub use transport::Transport;
pub use version::ProtocolVersion;
