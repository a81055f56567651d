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
//! The grammar and its validation are [`super::parser::Parser`]'s: magic, the
//! exact token order (only the canonical form is accepted), zero padding,
//! names valid, sorted and unique, symlink targets non-empty and NUL-free, and
//! the [`Limits`]. This module only reads the bytes it asks for.

use std::io::{self, Read};

use super::parser::{Need, Parser};
use super::{Error, Limits};
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

/// Streaming NAR parser (see the module doc).
#[derive(Debug)]
pub struct NarReader<R> {
    r: R,
    parser: Parser,
    buf: Vec<u8>,
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
            parser: Parser::new(limits),
            buf: Vec::new(),
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.parser.offset()
    }

    /// The next event, or `None` once the root node is complete.
    pub fn next_event(&mut self) -> Result<Option<Event>, Error> {
        loop {
            let event = match self.parser.need() {
                Need::Done => return Ok(None),
                Need::Contents(left) => {
                    self.skip_contents(left)?;
                    None
                }
                Need::Bytes(n) => {
                    self.fill(n)?;
                    self.parser.feed(&self.buf)?
                }
            };
            if event.is_some() {
                return Ok(event);
            }
        }
    }

    /// Reads exactly `n` bytes into the buffer.
    fn fill(&mut self, n: usize) -> Result<(), Error> {
        self.buf.resize(n, 0);
        let mut got = 0;
        while got < n {
            match self.r.read(&mut self.buf[got..]) {
                Ok(0) => {
                    return Err(Error::Wire {
                        offset: self.parser.offset() + got as u64,
                        source: wire::Error::UnexpectedEof {
                            needed: (n - got) as u64,
                        },
                    });
                }
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn skip_contents(&mut self, left: u64) -> Result<(), Error> {
        let n = io::copy(&mut (&mut self.r).take(left), &mut io::sink())?;
        let at = self.parser.offset();
        self.parser.contents_read(n)?;
        if n < left {
            return Err(Error::Wire {
                offset: at + n,
                source: wire::Error::UnexpectedEof { needed: left - n },
            });
        }
        Ok(())
    }

    /// Reads the current file's contents into `buf`; 0 at the end of the
    /// file (or when not inside a file).
    pub fn read_contents(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let Need::Contents(left) = self.parser.need() else {
            return Ok(0);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.r.read(&mut buf[..want])?;
        if n == 0 {
            return Err(Error::Wire {
                offset: self.parser.offset(),
                source: wire::Error::UnexpectedEof { needed: left },
            });
        }
        self.parser.contents_read(n as u64)?;
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
        if self.parser.is_done() {
            Ok(self.r)
        } else {
            Err(Error::Misuse("finish() before the end of the NAR"))
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
