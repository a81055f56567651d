//! The errors of the worker-protocol client. Every way a daemon (or anything pretending to be
//! one) can misbehave has a variant that names the offending value, so a hostile reply turns into
//! a precise message rather than a panic; the daemon's own error replies become [`Error::Remote`].

use std::io;

use crate::version::ProtocolVersion;

/// Worker-protocol client errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection ended in the middle of a reply.
    #[error("nix-daemon closed the connection while sending {0}")]
    Eof(&'static str),
    /// Reading from or writing to the daemon failed.
    #[error("talking to nix-daemon: {0}")]
    Io(#[from] io::Error),
    /// Connecting to (or spawning) the daemon failed.
    #[error("cannot connect to nix-daemon at {target}: {source}")]
    Connect {
        /// The socket path or command.
        target: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The first word the daemon sent was not the worker-protocol magic.
    #[error("not a nix-daemon: expected magic 0x6478696f, got {0:#x}")]
    BadMagic(u64),
    /// The daemon speaks a protocol version this client does not support.
    #[error(
        "nix-daemon speaks worker protocol {0}, but evalbox supports {min} to {max}",
        min = ProtocolVersion::MIN,
        max = ProtocolVersion::MAX
    )]
    UnsupportedVersion(ProtocolVersion),
    /// A length prefix exceeded the client's limit.
    #[error("nix-daemon sent {what} of length {len}, more than the limit of {max}")]
    TooLong {
        /// What was being read.
        what: &'static str,
        /// The announced length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Padding after a string was not zero.
    #[error("nix-daemon sent non-zero padding after {0}")]
    BadPadding(&'static str),
    /// A value the protocol does not allow at this point.
    #[error("nix-daemon sent an invalid {what}: {value}")]
    BadValue {
        /// What was being read.
        what: &'static str,
        /// The offending value (lossy text).
        value: String,
    },
    /// An unknown message code in the stderr channel.
    #[error("nix-daemon sent unknown message type {0:#x}")]
    UnknownMessage(u64),
    /// The daemon asked for data (READ) or sent data (WRITE) in an operation that has none.
    #[error("nix-daemon sent an unexpected {0} message")]
    UnexpectedMessage(&'static str),
    /// A NAR sent by the daemon does not follow the NAR grammar.
    #[error("nix-daemon sent a malformed NAR: {0}")]
    BadNar(String),
    /// The daemon reported an error (the ERROR message).
    #[error("{msg}")]
    Remote {
        /// The message, with Nix's formatting stripped of nothing.
        msg: String,
        /// The exit status (protocol < 1.26) or 1.
        status: u64,
        /// The trace lines (protocol ≥ 1.26), innermost last.
        traces: Vec<String>,
    },
    /// The operation needs a newer daemon.
    #[error("{op} needs worker protocol {needed} or newer, but nix-daemon speaks {have}")]
    TooOld {
        /// The operation.
        op: &'static str,
        /// The minimum protocol version.
        needed: ProtocolVersion,
        /// The negotiated version.
        have: ProtocolVersion,
    },
    /// The caller passed something the protocol cannot express.
    #[error("{0}")]
    BadRequest(String),
}

impl Error {
    /// Whether the connection is still in a known state after this error (the daemon reported a
    /// failure of a complete request and is waiting for the next one).
    pub fn connection_reusable(&self) -> bool {
        matches!(self, Error::Remote { .. })
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
