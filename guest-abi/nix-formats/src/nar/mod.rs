//! NAR (Nix ARchive): the canonical serialisation of a file tree that Nix
//! hashes for recursive content addresses and ships between stores.
//!
//! Every token below is a [`wire`] string (u64 LE length, bytes,
//! zero padding to 8); `size` is a bare u64 followed by that many bytes and
//! padding:
//!
//! ```text
//! nar       = "nix-archive-1" node
//! node      = "(" "type" body ")"
//! body      = "regular" ["executable" ""] "contents" size bytes
//!           | "symlink" "target" string
//!           | "directory" entry*
//! entry     = "entry" "(" "name" string "node" node ")"
//! ```
//!
//! Directory entries are sorted by name (byte order) and unique; names are
//! not empty, `.` or `..` and contain no `/` or NUL. This grammar is the
//! only canonical form, so a NAR that parses is byte-identical to the NAR
//! [`writer`] produces for the same tree. [`reader`] is a strict pull parser
//! for untrusted input with [`Limits`] on name, target and nesting size.
//!
//! ```
//! use nix_formats::nar::{self, reader::{Event, NarReader}};
//! let mut buf = Vec::new();
//! let root = nar::writer::open(&mut buf).unwrap();
//! let mut dir = root.directory().unwrap();
//! dir.entry(b"hello").unwrap().file(false, 3, &mut &b"hi\n"[..]).unwrap();
//! dir.entry(b"link").unwrap().symlink(b"hello").unwrap();
//! dir.close().unwrap();
//!
//! let mut r = NarReader::new(&buf[..]);
//! assert_eq!(r.next_event().unwrap(), Some(Event::DirStart));
//! assert_eq!(r.next_event().unwrap(), Some(Event::Entry(b"hello".to_vec())));
//! assert_eq!(r.next_event().unwrap(), Some(Event::File { executable: false, size: 3 }));
//! let mut contents = Vec::new();
//! std::io::copy(&mut r.contents(), &mut contents).unwrap();
//! assert_eq!(contents, b"hi\n");
//! assert_eq!(r.next_event().unwrap(), Some(Event::Entry(b"link".to_vec())));
//! assert_eq!(r.next_event().unwrap(), Some(Event::Symlink(b"hello".to_vec())));
//! assert_eq!(r.next_event().unwrap(), Some(Event::DirEnd));
//! assert_eq!(r.next_event().unwrap(), None);
//! r.finish_eof().unwrap();
//!
//! let (hash, size) = nar::nar_hash_and_size(&buf[..]).unwrap();
//! assert_eq!(size, buf.len() as u64);
//! assert_eq!(hash, nix_formats::NixHash::of(nix_formats::HashAlgo::Sha256, &buf));
//! ```

use std::io::{self, Read};

use crate::hash::{HashAlgo, NixHash};
use crate::wire;

pub mod parser;
pub mod reader;
pub mod writer;

/// Magic string at the start of every NAR.
pub const TOK_MAGIC: &[u8] = b"nix-archive-1";
/// Opens a node or an entry.
pub const TOK_OPEN: &[u8] = b"(";
/// Closes a node or an entry.
pub const TOK_CLOSE: &[u8] = b")";
/// Introduces the node type.
pub const TOK_TYPE: &[u8] = b"type";
/// Node type of regular files.
pub const TOK_REGULAR: &[u8] = b"regular";
/// Marks a regular file executable; followed by an empty string.
pub const TOK_EXECUTABLE: &[u8] = b"executable";
/// Introduces a regular file's contents.
pub const TOK_CONTENTS: &[u8] = b"contents";
/// Node type of symlinks.
pub const TOK_SYMLINK: &[u8] = b"symlink";
/// Introduces a symlink's target.
pub const TOK_TARGET: &[u8] = b"target";
/// Node type of directories.
pub const TOK_DIRECTORY: &[u8] = b"directory";
/// Introduces a directory entry.
pub const TOK_ENTRY: &[u8] = b"entry";
/// Introduces an entry's name.
pub const TOK_NAME: &[u8] = b"name";
/// Introduces an entry's node.
pub const TOK_NODE: &[u8] = b"node";
/// Longest token above (for bounded token reads).
pub const MAX_TOKEN_LEN: u64 = 13;

/// Bounds the reader (and writer) enforce on untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest entry name in bytes (Linux `NAME_MAX`).
    pub max_name_len: u64,
    /// Longest symlink target in bytes (Linux `PATH_MAX`).
    pub max_target_len: u64,
    /// Deepest directory nesting (the root directory is depth 1).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_name_len: 255,
            max_target_len: 4096,
            max_depth: 1024,
        }
    }
}

/// NAR errors, for both reading and writing.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// A token other than the grammar allows here.
    #[error("malformed NAR at offset {offset}: expected {expected}, got {got:?}")]
    UnexpectedToken {
        /// Byte offset of the token in the NAR.
        offset: u64,
        /// What the grammar allows.
        expected: &'static str,
        /// What was found (lossy UTF-8).
        got: String,
    },
    /// A framing error (short input, bad padding, overlong string).
    #[error("malformed NAR at offset {offset}: {source}")]
    Wire {
        /// Byte offset where the bad value starts.
        offset: u64,
        /// The framing error.
        source: wire::Error,
    },
    /// An entry name that is empty, `.`, `..`, too long, or contains `/` or
    /// NUL.
    #[error("invalid NAR entry name {0:?}")]
    InvalidName(String),
    /// Entry names not strictly increasing.
    #[error("NAR directory entries not sorted/unique: {name:?} after {prev:?}")]
    UnsortedEntries {
        /// The previous name.
        prev: String,
        /// The name that should have come later.
        name: String,
    },
    /// A symlink target that is empty, too long or contains NUL.
    #[error("invalid NAR symlink target {0:?}")]
    InvalidTarget(String),
    /// Directories nested deeper than [`Limits::max_depth`].
    #[error("NAR directories nested deeper than {0}")]
    TooDeep(usize),
    /// Bytes after the end of the root node.
    #[error("trailing data after the NAR")]
    TrailingData,
    /// The reader was used out of order (an API misuse, not bad input).
    #[error("NAR API misuse: {0}")]
    Misuse(&'static str),
    /// A file's reader yielded a different number of bytes than declared.
    #[error("file contents: expected {expected} bytes, got {got}")]
    SizeMismatch {
        /// Declared size.
        expected: u64,
        /// Bytes actually available (may be a lower bound when too many).
        got: u64,
    },
    /// An I/O error of the underlying reader or writer.
    #[error("I/O error: {0}")]
    Io(String, io::ErrorKind),
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        // Unwrap our own errors that travelled through an io::Error.
        let kind = e.kind();
        match e.into_inner() {
            Some(inner) => match inner.downcast::<Error>() {
                Ok(ours) => *ours,
                Err(other) => Error::Io(other.to_string(), kind),
            },
            None => Error::Io(kind.to_string(), kind),
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(msg, kind) => io::Error::new(kind, msg),
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Checks a directory entry name (not empty, `.`, `..`; no `/` or NUL).
pub fn validate_name(name: &[u8], limits: &Limits) -> Result<(), Error> {
    if name.is_empty()
        || name == b"."
        || name == b".."
        || name.len() as u64 > limits.max_name_len
        || name.iter().any(|&c| c == b'/' || c == 0)
    {
        return Err(Error::InvalidName(lossy(name)));
    }
    Ok(())
}

/// Checks a symlink target (not empty, no NUL, bounded).
pub fn validate_target(target: &[u8], limits: &Limits) -> Result<(), Error> {
    if target.is_empty() || target.len() as u64 > limits.max_target_len || target.contains(&0) {
        return Err(Error::InvalidTarget(lossy(target)));
    }
    Ok(())
}

/// Put it between a buffered source and a [`reader::NarReader`] (which never reads ahead) to
/// get the NAR hash of exactly the NAR's bytes.
pub use crate::hash::HashingReader;

/// Validates a NAR stream while computing its sha256 and size. Reads exactly
/// the NAR's bytes from `r` (nothing after the root node), so it also works
/// on a NAR embedded in a longer stream.
pub fn nar_hash_and_size<R: Read>(r: R) -> Result<(NixHash, u64), Error> {
    let mut nar = reader::NarReader::new(HashingReader::new(r, HashAlgo::Sha256));
    while nar.next_event()?.is_some() {}
    let (hash, size, _) = nar.finish()?.finish();
    Ok((hash, size))
}

#[cfg(test)]
mod tests;
