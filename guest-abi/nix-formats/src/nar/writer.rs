//! Streaming NAR writer whose types follow the grammar: [`open`] writes the
//! magic and returns the root [`Node`], which is consumed by exactly one of
//! [`Node::file`], [`Node::symlink`] or [`Node::directory`]. A [`Directory`]
//! hands out one entry [`Node`] at a time and checks names are valid and
//! strictly increasing, so only canonical NARs can be produced.
//!
//! Writes go straight to the `Write` (wrap files in a `BufWriter`); file
//! contents are copied in large chunks.

use std::io::{self, Read, Write};

use super::{
    Error, Limits, TOK_CLOSE, TOK_CONTENTS, TOK_DIRECTORY, TOK_ENTRY, TOK_EXECUTABLE, TOK_MAGIC,
    TOK_NAME, TOK_NODE, TOK_OPEN, TOK_REGULAR, TOK_SYMLINK, TOK_TARGET, TOK_TYPE, lossy,
    validate_name, validate_target,
};
use crate::wire;

/// Chunk size for copying file contents.
const COPY_BUF: usize = 256 * 1024;

fn put_tokens(buf: &mut Vec<u8>, toks: &[&[u8]]) {
    for t in toks {
        wire::put_bytes(buf, t);
    }
}

/// Writes the NAR magic and returns the root node.
pub fn open<W: Write>(w: &mut W) -> Result<Node<'_, W>, Error> {
    let mut buf = Vec::with_capacity(24);
    put_tokens(&mut buf, &[TOK_MAGIC]);
    w.write_all(&buf)?;
    Ok(Node {
        w,
        done: None,
        limits: Limits::default(),
        depth: 0,
    })
}

/// A node still to be written.
#[derive(Debug)]
#[must_use = "a NAR node must be written"]
pub struct Node<'a, W: Write> {
    w: &'a mut W,
    /// Set when the node is complete (for entries of a directory).
    done: Option<&'a mut bool>,
    limits: Limits,
    depth: usize,
}

impl<'a, W: Write> Node<'a, W> {
    fn complete(self) {
        if let Some(d) = self.done {
            *d = true;
        }
    }

    /// Writes a regular file of exactly `size` bytes read from `contents`.
    /// Fails with [`Error::SizeMismatch`] if `contents` yields fewer or more.
    pub fn file<R: Read + ?Sized>(
        self,
        executable: bool,
        size: u64,
        contents: &mut R,
    ) -> Result<(), Error> {
        let mut buf = Vec::with_capacity(112);
        put_tokens(&mut buf, &[TOK_OPEN, TOK_TYPE, TOK_REGULAR]);
        if executable {
            put_tokens(&mut buf, &[TOK_EXECUTABLE, b""]);
        }
        put_tokens(&mut buf, &[TOK_CONTENTS]);
        wire::put_u64(&mut buf, size);
        // Small files: header, contents and trailer in one write.
        if size <= 64 * 1024 {
            let start = buf.len();
            buf.resize(start + size as usize, 0);
            read_full(contents, &mut buf[start..], size)?;
            expect_end(contents, size)?;
            buf.extend_from_slice(&[0u8; 8][..wire::padding_len(size)]);
            put_tokens(&mut buf, &[TOK_CLOSE]);
            self.w.write_all(&buf)?;
        } else {
            self.w.write_all(&buf)?;
            let mut chunk = vec![0u8; COPY_BUF];
            let mut left = size;
            while left > 0 {
                let want = left.min(COPY_BUF as u64) as usize;
                let n = match contents.read(&mut chunk[..want]) {
                    Ok(0) => {
                        return Err(Error::SizeMismatch {
                            expected: size,
                            got: size - left,
                        });
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                self.w.write_all(&chunk[..n])?;
                left -= n as u64;
            }
            expect_end(contents, size)?;
            let mut tail = Vec::with_capacity(24);
            tail.extend_from_slice(&[0u8; 8][..wire::padding_len(size)]);
            put_tokens(&mut tail, &[TOK_CLOSE]);
            self.w.write_all(&tail)?;
        }
        self.complete();
        Ok(())
    }

    /// Writes a regular file from a byte slice.
    pub fn file_bytes(self, executable: bool, contents: &[u8]) -> Result<(), Error> {
        self.file(executable, contents.len() as u64, &mut &contents[..])
    }

    /// Writes a symlink (target non-empty, without NUL).
    pub fn symlink(self, target: &[u8]) -> Result<(), Error> {
        validate_target(target, &self.limits)?;
        let mut buf = Vec::with_capacity(80 + target.len());
        put_tokens(
            &mut buf,
            &[
                TOK_OPEN,
                TOK_TYPE,
                TOK_SYMLINK,
                TOK_TARGET,
                target,
                TOK_CLOSE,
            ],
        );
        self.w.write_all(&buf)?;
        self.complete();
        Ok(())
    }

    /// Starts a directory; add entries in increasing name order, then
    /// [`Directory::close`] it.
    pub fn directory(self) -> Result<Directory<'a, W>, Error> {
        let depth = self.depth + 1;
        if depth > self.limits.max_depth {
            return Err(Error::TooDeep(self.limits.max_depth));
        }
        let mut buf = Vec::with_capacity(48);
        put_tokens(&mut buf, &[TOK_OPEN, TOK_TYPE, TOK_DIRECTORY]);
        self.w.write_all(&buf)?;
        Ok(Directory {
            w: self.w,
            done: self.done,
            limits: self.limits,
            depth,
            prev: None,
            child_done: true,
        })
    }
}

fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8], size: u64) -> Result<(), Error> {
    let mut off = 0;
    while off < buf.len() {
        match r.read(&mut buf[off..]) {
            Ok(0) => {
                return Err(Error::SizeMismatch {
                    expected: size,
                    got: off as u64,
                });
            }
            Ok(n) => off += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Checks that `r` has nothing beyond the declared size.
fn expect_end<R: Read + ?Sized>(r: &mut R, size: u64) -> Result<(), Error> {
    let mut probe = [0u8; 1];
    loop {
        match r.read(&mut probe) {
            Ok(0) => return Ok(()),
            Ok(_) => {
                return Err(Error::SizeMismatch {
                    expected: size,
                    got: size + 1,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// A directory being written.
#[derive(Debug)]
#[must_use = "a NAR directory must be closed"]
pub struct Directory<'a, W: Write> {
    w: &'a mut W,
    done: Option<&'a mut bool>,
    limits: Limits,
    depth: usize,
    prev: Option<Vec<u8>>,
    /// Whether the last entry's node was written (true before any entry).
    child_done: bool,
}

impl<'a, W: Write> Directory<'a, W> {
    fn close_entry(&mut self) -> Result<(), Error> {
        if !self.child_done {
            return Err(Error::Misuse("previous entry's node was not written"));
        }
        if self.prev.is_some() {
            let mut buf = Vec::with_capacity(16);
            put_tokens(&mut buf, &[TOK_CLOSE]);
            self.w.write_all(&buf)?;
        }
        Ok(())
    }

    /// Starts the entry `name`, which must sort strictly after the previous
    /// one; write its node before the next call.
    pub fn entry(&mut self, name: &[u8]) -> Result<Node<'_, W>, Error> {
        validate_name(name, &self.limits)?;
        if let Some(prev) = &self.prev
            && name <= prev.as_slice()
        {
            return Err(Error::UnsortedEntries {
                prev: lossy(prev),
                name: lossy(name),
            });
        }
        self.close_entry()?;
        let mut buf = Vec::with_capacity(64 + name.len());
        put_tokens(&mut buf, &[TOK_ENTRY, TOK_OPEN, TOK_NAME, name, TOK_NODE]);
        self.w.write_all(&buf)?;
        self.prev = Some(name.to_vec());
        self.child_done = false;
        Ok(Node {
            w: self.w,
            done: Some(&mut self.child_done),
            limits: self.limits,
            depth: self.depth,
        })
    }

    /// Ends the directory.
    pub fn close(mut self) -> Result<(), Error> {
        self.close_entry()?;
        let mut buf = Vec::with_capacity(16);
        put_tokens(&mut buf, &[TOK_CLOSE]);
        self.w.write_all(&buf)?;
        if let Some(d) = self.done {
            *d = true;
        }
        Ok(())
    }
}
