//! Strict streaming NAR parser for untrusted input.
//!
//! [`NarReader`] is a pull parser: [`NarReader::next_event`] yields one
//! [`Event`] at a time; after [`Event::File`] the contents can be streamed
//! with [`NarReader::contents`] (or are skipped by the next `next_event`).
//! It keeps only a stack of directory states, never a whole file or tree,
//! and reads exactly the NAR's bytes (never ahead), so wrap a raw file or
//! socket in a `BufReader` first and a [`HashingReader`](super::HashingReader)
//! around that to hash while parsing.
//!
//! Validation: magic, the exact token order of the grammar (only the
//! canonical form is accepted), zero padding, names valid, sorted and
//! unique, symlink targets non-empty and NUL-free, and the [`Limits`].

use std::io::{self, Read};

use super::{
    Error, Limits, MAX_TOKEN_LEN, TOK_CLOSE, TOK_CONTENTS, TOK_DIRECTORY, TOK_ENTRY,
    TOK_EXECUTABLE, TOK_MAGIC, TOK_NAME, TOK_NODE, TOK_OPEN, TOK_REGULAR, TOK_SYMLINK, TOK_TARGET,
    TOK_TYPE, lossy, validate_name, validate_target,
};
use crate::wire;

/// One step of a NAR's pre-order walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A regular file of `size` bytes; its contents follow (see
    /// [`NarReader::contents`]).
    File {
        /// Whether the executable bit is set.
        executable: bool,
        /// Size of the contents.
        size: u64,
    },
    /// A symlink and its target.
    Symlink(Vec<u8>),
    /// A directory starts; [`Event::Entry`]s follow until [`Event::DirEnd`].
    DirStart,
    /// A directory entry's name; the entry's node events follow.
    Entry(Vec<u8>),
    /// The innermost open directory ends.
    DirEnd,
}

#[derive(Debug)]
enum State {
    /// Before the magic.
    Start,
    /// A node ("(" ...) is expected next.
    Node,
    /// Inside a file's contents.
    Contents { size: u64, left: u64 },
    /// Inside a directory, before "entry" or ")".
    InDir,
    /// The root node is complete.
    Done,
}

/// Streaming NAR parser (see the module doc).
#[derive(Debug)]
pub struct NarReader<R> {
    r: R,
    limits: Limits,
    state: State,
    /// Previous entry name of each open directory.
    dirs: Vec<Option<Vec<u8>>>,
    offset: u64,
}

impl<R: Read> NarReader<R> {
    /// A parser with the default [`Limits`].
    pub fn new(r: R) -> Self {
        Self::with_limits(r, Limits::default())
    }

    /// A parser with explicit limits.
    pub fn with_limits(r: R, limits: Limits) -> Self {
        Self {
            r,
            limits,
            state: State::Start,
            dirs: Vec::new(),
            offset: 0,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn wire_err(&self, offset: u64, source: wire::Error) -> Error {
        match source {
            wire::Error::Io(e) => Error::from(e),
            source => Error::Wire { offset, source },
        }
    }

    fn read_u64(&mut self) -> Result<u64, Error> {
        let at = self.offset;
        let n = wire::read_u64(&mut self.r).map_err(|e| self.wire_err(at, e))?;
        self.offset += 8;
        Ok(n)
    }

    fn read_string(&mut self, max: u64) -> Result<Vec<u8>, Error> {
        let at = self.offset;
        let s = wire::read_bytes(&mut self.r, max).map_err(|e| self.wire_err(at, e))?;
        self.offset += 8 + s.len() as u64 + wire::padding_len(s.len() as u64) as u64;
        Ok(s)
    }

    /// Reads a token, mapping "string too long" to an unexpected token.
    fn read_token(&mut self, expected: &'static str) -> Result<(u64, Vec<u8>), Error> {
        let at = self.offset;
        match self.read_string(MAX_TOKEN_LEN) {
            Ok(t) => Ok((at, t)),
            Err(Error::Wire {
                source: wire::Error::TooLong { len, .. },
                ..
            }) => Err(Error::UnexpectedToken {
                offset: at,
                expected,
                got: format!("a string of {len} bytes"),
            }),
            Err(e) => Err(e),
        }
    }

    fn expect(&mut self, tok: &'static [u8], expected: &'static str) -> Result<(), Error> {
        let (at, t) = self.read_token(expected)?;
        if t != tok {
            return Err(Error::UnexpectedToken {
                offset: at,
                expected,
                got: lossy(&t),
            });
        }
        Ok(())
    }

    /// The next event, or `None` once the root node is complete.
    pub fn next_event(&mut self) -> Result<Option<Event>, Error> {
        loop {
            match self.state {
                State::Start => {
                    self.expect(TOK_MAGIC, "\"nix-archive-1\"")?;
                    self.state = State::Node;
                }
                State::Node => return self.read_node().map(Some),
                State::Contents { size, left } => {
                    self.skip_contents(left)?;
                    self.finish_file(size)?;
                }
                State::InDir => return self.read_dir_item().map(Some),
                State::Done => return Ok(None),
            }
        }
    }

    fn read_node(&mut self) -> Result<Event, Error> {
        self.expect(TOK_OPEN, "\"(\"")?;
        self.expect(TOK_TYPE, "\"type\"")?;
        let (at, ty) = self.read_token("a node type")?;
        match ty.as_slice() {
            TOK_REGULAR => {
                let (at, mut t) = self.read_token("\"executable\" or \"contents\"")?;
                let executable = t == TOK_EXECUTABLE;
                if executable {
                    self.expect(b"", "\"\" after \"executable\"")?;
                    (_, t) = self.read_token("\"contents\"")?;
                }
                if t != TOK_CONTENTS {
                    return Err(Error::UnexpectedToken {
                        offset: at,
                        expected: "\"executable\" or \"contents\"",
                        got: lossy(&t),
                    });
                }
                let size = self.read_u64()?;
                self.state = State::Contents { size, left: size };
                Ok(Event::File { executable, size })
            }
            TOK_SYMLINK => {
                self.expect(TOK_TARGET, "\"target\"")?;
                let target = self.read_bounded(self.limits.max_target_len, |t| {
                    Error::InvalidTarget(format!("<{t} bytes>"))
                })?;
                validate_target(&target, &self.limits)?;
                self.expect(TOK_CLOSE, "\")\"")?;
                self.node_done()?;
                Ok(Event::Symlink(target))
            }
            TOK_DIRECTORY => {
                if self.dirs.len() >= self.limits.max_depth {
                    return Err(Error::TooDeep(self.limits.max_depth));
                }
                self.dirs.push(None);
                self.state = State::InDir;
                Ok(Event::DirStart)
            }
            _ => Err(Error::UnexpectedToken {
                offset: at,
                expected: "\"regular\", \"symlink\" or \"directory\"",
                got: lossy(&ty),
            }),
        }
    }

    fn read_bounded(
        &mut self,
        max: u64,
        too_long: impl Fn(u64) -> Error,
    ) -> Result<Vec<u8>, Error> {
        match self.read_string(max) {
            Err(Error::Wire {
                source: wire::Error::TooLong { len, .. },
                ..
            }) => Err(too_long(len)),
            other => other,
        }
    }

    fn read_dir_item(&mut self) -> Result<Event, Error> {
        let (at, t) = self.read_token("\"entry\" or \")\"")?;
        match t.as_slice() {
            TOK_CLOSE => {
                self.dirs.pop();
                self.node_done()?;
                Ok(Event::DirEnd)
            }
            TOK_ENTRY => {
                self.expect(TOK_OPEN, "\"(\"")?;
                self.expect(TOK_NAME, "\"name\"")?;
                let name = self.read_bounded(self.limits.max_name_len, |n| {
                    Error::InvalidName(format!("<{n} bytes>"))
                })?;
                validate_name(&name, &self.limits)?;
                let prev = self
                    .dirs
                    .last_mut()
                    .ok_or(Error::Misuse("no open directory"))?;
                if let Some(p) = prev
                    && name.as_slice() <= p.as_slice()
                {
                    return Err(Error::UnsortedEntries {
                        prev: lossy(p),
                        name: lossy(&name),
                    });
                }
                *prev = Some(name.clone());
                self.expect(TOK_NODE, "\"node\"")?;
                self.state = State::Node;
                Ok(Event::Entry(name))
            }
            _ => Err(Error::UnexpectedToken {
                offset: at,
                expected: "\"entry\" or \")\"",
                got: lossy(&t),
            }),
        }
    }

    /// A node's closing ")" has been read: close the enclosing entry, if any.
    fn node_done(&mut self) -> Result<(), Error> {
        if self.dirs.is_empty() {
            self.state = State::Done;
        } else {
            self.expect(TOK_CLOSE, "\")\" closing an entry")?;
            self.state = State::InDir;
        }
        Ok(())
    }

    fn skip_contents(&mut self, left: u64) -> Result<(), Error> {
        let at = self.offset;
        let n = io::copy(&mut (&mut self.r).take(left), &mut io::sink())?;
        self.offset += n;
        if n < left {
            return Err(Error::Wire {
                offset: at + n,
                source: wire::Error::UnexpectedEof { needed: left - n },
            });
        }
        Ok(())
    }

    fn finish_file(&mut self, size: u64) -> Result<(), Error> {
        let at = self.offset;
        wire::read_padding(&mut self.r, size).map_err(|e| self.wire_err(at, e))?;
        self.offset += wire::padding_len(size) as u64;
        self.expect(TOK_CLOSE, "\")\"")?;
        self.node_done()
    }

    /// Reads the current file's contents into `buf`; 0 at the end of the
    /// file (or when not inside a file).
    pub fn read_contents(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let State::Contents { size, left } = self.state else {
            return Ok(0);
        };
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.r.read(&mut buf[..want])?;
        if n == 0 {
            return Err(Error::Wire {
                offset: self.offset,
                source: wire::Error::UnexpectedEof { needed: left },
            });
        }
        self.offset += n as u64;
        self.state = State::Contents {
            size,
            left: left - n as u64,
        };
        Ok(n)
    }

    /// The current file's remaining contents as a [`Read`]; errors come back
    /// as `io::Error`s wrapping [`Error`] (recover them with `Error::from`).
    pub fn contents(&mut self) -> Contents<'_, R> {
        Contents { nar: self }
    }

    /// After `next_event` returned `None`: the inner reader, positioned just
    /// after the NAR.
    pub fn finish(self) -> Result<R, Error> {
        match self.state {
            State::Done => Ok(self.r),
            _ => Err(Error::Misuse("finish() before the end of the NAR")),
        }
    }

    /// Like [`finish`](Self::finish), and also requires that the input ends
    /// right after the NAR.
    pub fn finish_eof(self) -> Result<R, Error> {
        let mut r = self.finish()?;
        let mut probe = [0u8; 1];
        loop {
            match r.read(&mut probe) {
                Ok(0) => return Ok(r),
                Ok(_) => return Err(Error::TrailingData),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The remaining contents of the current file (see [`NarReader::contents`]).
#[derive(Debug)]
pub struct Contents<'a, R> {
    nar: &'a mut NarReader<R>,
}

impl<R: Read> Read for Contents<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.nar.read_contents(buf).map_err(io::Error::from)
    }
}
