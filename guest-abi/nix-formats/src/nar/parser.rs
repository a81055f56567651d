//! The NAR grammar as a state machine without I/O: the one place that knows which token
//! comes next and what makes a NAR invalid.
//!
//! A [`Parser`] says what it [`Need`]s next (an exact number of bytes, or file contents) and
//! is handed those bytes; it yields an [`Event`] whenever one is complete. It never asks for a
//! byte past the end of the NAR, so a NAR embedded in a longer stream (a daemon reply) ends
//! exactly where it should. [`super::reader::NarReader`] drives it from any [`std::io::Read`];
//! the worker-protocol client drives it from an async socket.

use super::reader::Event;
use super::{
    Error, Limits, MAX_TOKEN_LEN, TOK_CLOSE, TOK_CONTENTS, TOK_DIRECTORY, TOK_ENTRY,
    TOK_EXECUTABLE, TOK_MAGIC, TOK_NAME, TOK_NODE, TOK_OPEN, TOK_REGULAR, TOK_SYMLINK, TOK_TARGET,
    TOK_TYPE, lossy, validate_name, validate_target,
};
use crate::wire;

/// What the parser needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Exactly this many bytes, passed to [`Parser::feed`] in one slice.
    Bytes(usize),
    /// At most this many bytes of a file's contents, in any chunks, each reported with
    /// [`Parser::contents_read`].
    Contents(u64),
    /// Nothing: the NAR is complete.
    Done,
}

/// A position in the grammar (see the module doc of [`super`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Magic,
    Open,
    Type,
    NodeType,
    /// After "regular": "executable" or "contents".
    Regular,
    /// The empty string after "executable".
    ExecutableValue,
    /// "contents" after the executable flag.
    ContentsToken,
    /// A file's size (a bare u64).
    Size,
    /// A file's contents, then its padding.
    Contents {
        size: u64,
        left: u64,
    },
    FileClose,
    TargetToken,
    Target,
    SymlinkClose,
    /// In a directory: "entry" or ")".
    DirItem,
    EntryOpen,
    NameToken,
    Name,
    NodeToken,
    /// The ")" closing an entry.
    EntryClose,
    Done,
}

/// A string being read: its length word, then its bytes and padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Length,
    Body { len: u64, at: u64 },
}

/// The NAR grammar (see the module doc).
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
    step: Step,
    frame: Frame,
    /// The previous entry name of each open directory.
    dirs: Vec<Option<Vec<u8>>>,
    /// Bytes consumed so far.
    offset: u64,
    /// The symlink target read, until the symlink's ")".
    target: Vec<u8>,
    /// Whether the file being read is executable.
    executable: bool,
}

impl Parser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Parser {
        Parser {
            limits,
            step: Step::Magic,
            frame: Frame::Length,
            dirs: Vec::new(),
            offset: 0,
            target: Vec::new(),
            executable: false,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the NAR is complete.
    pub fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// What to pass next.
    pub fn need(&self) -> Need {
        match self.step {
            Step::Done => Need::Done,
            Step::Size => Need::Bytes(8),
            Step::Contents { left, .. } if left > 0 => Need::Contents(left),
            Step::Contents { size, .. } => Need::Bytes(wire::padding_len(size)),
            _ => match self.frame {
                Frame::Length => Need::Bytes(8),
                Frame::Body { len, .. } => Need::Bytes(len as usize + wire::padding_len(len)),
            },
        }
    }

    /// `n` bytes of the current file's contents were read (at most what [`Need::Contents`]
    /// asked for).
    pub fn contents_read(&mut self, n: u64) -> Result<(), Error> {
        match &mut self.step {
            Step::Contents { left, .. } if n <= *left => {
                *left -= n;
                self.offset += n;
                Ok(())
            }
            _ => Err(Error::Misuse("contents read beyond the file")),
        }
    }

    /// The bytes [`Parser::need`] asked for; an event when one is complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<Event>, Error> {
        if Need::Bytes(bytes.len()) != self.need() {
            return Err(Error::Misuse("fed a different number of bytes than needed"));
        }
        let at = self.offset;
        self.offset += bytes.len() as u64;
        match self.step {
            Step::Size => {
                let size = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
                let executable = self.executable;
                self.step = Step::Contents { size, left: size };
                Ok(Some(Event::File { executable, size }))
            }
            Step::Contents { size, .. } => {
                check_padding(bytes, size, at)?;
                self.step = Step::FileClose;
                Ok(None)
            }
            _ => match self.frame {
                Frame::Length => {
                    let len = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
                    self.check_length(len, at)?;
                    self.frame = Frame::Body { len, at };
                    Ok(None)
                }
                Frame::Body { len, at } => {
                    let (s, padding) = bytes.split_at(len as usize);
                    check_padding(padding, len, at)?;
                    self.frame = Frame::Length;
                    self.string(s, at)
                }
            },
        }
    }

    /// Refuses a string longer than the current step allows, before reading it.
    fn check_length(&self, len: u64, at: u64) -> Result<(), Error> {
        match self.step {
            Step::Name if len > self.limits.max_name_len => {
                Err(Error::InvalidName(format!("<{len} bytes>")))
            }
            Step::Target if len > self.limits.max_target_len => {
                Err(Error::InvalidTarget(format!("<{len} bytes>")))
            }
            Step::Name | Step::Target => Ok(()),
            step if len > MAX_TOKEN_LEN => Err(Error::UnexpectedToken {
                offset: at,
                expected: expected(step),
                got: format!("a string of {len} bytes"),
            }),
            _ => Ok(()),
        }
    }

    /// A complete string at offset `at`.
    fn string(&mut self, s: &[u8], at: u64) -> Result<Option<Event>, Error> {
        let unexpected = |step| Error::UnexpectedToken {
            offset: at,
            expected: expected(step),
            got: lossy(s),
        };
        let token = |tok: &[u8], next: Step| if s == tok { Ok(next) } else { Err(()) };
        let step = self.step;
        let next = match step {
            Step::Magic => token(TOK_MAGIC, Step::Open),
            Step::Open => token(TOK_OPEN, Step::Type),
            Step::Type => token(TOK_TYPE, Step::NodeType),
            Step::NodeType => match s {
                TOK_REGULAR => Ok(Step::Regular),
                TOK_SYMLINK => Ok(Step::TargetToken),
                TOK_DIRECTORY => {
                    if self.dirs.len() >= self.limits.max_depth {
                        return Err(Error::TooDeep(self.limits.max_depth));
                    }
                    self.dirs.push(None);
                    self.step = Step::DirItem;
                    return Ok(Some(Event::DirStart));
                }
                _ => Err(()),
            },
            Step::Regular => match s {
                TOK_EXECUTABLE => {
                    self.executable = true;
                    Ok(Step::ExecutableValue)
                }
                TOK_CONTENTS => {
                    self.executable = false;
                    Ok(Step::Size)
                }
                _ => Err(()),
            },
            Step::ExecutableValue => token(b"", Step::ContentsToken),
            Step::ContentsToken => token(TOK_CONTENTS, Step::Size),
            Step::FileClose => {
                if s != TOK_CLOSE {
                    return Err(unexpected(step));
                }
                self.node_done();
                return Ok(None);
            }
            Step::TargetToken => token(TOK_TARGET, Step::Target),
            Step::Target => {
                validate_target(s, &self.limits)?;
                self.target = s.to_vec();
                Ok(Step::SymlinkClose)
            }
            Step::SymlinkClose => {
                if s != TOK_CLOSE {
                    return Err(unexpected(step));
                }
                self.node_done();
                return Ok(Some(Event::Symlink(std::mem::take(&mut self.target))));
            }
            Step::DirItem => match s {
                TOK_CLOSE => {
                    self.dirs.pop();
                    self.node_done();
                    return Ok(Some(Event::DirEnd));
                }
                TOK_ENTRY => Ok(Step::EntryOpen),
                _ => Err(()),
            },
            Step::EntryOpen => token(TOK_OPEN, Step::NameToken),
            Step::NameToken => token(TOK_NAME, Step::Name),
            Step::Name => {
                validate_name(s, &self.limits)?;
                let prev = self
                    .dirs
                    .last_mut()
                    .ok_or(Error::Misuse("no open directory"))?;
                if let Some(p) = prev
                    && s <= p.as_slice()
                {
                    return Err(Error::UnsortedEntries {
                        prev: lossy(p),
                        name: lossy(s),
                    });
                }
                *prev = Some(s.to_vec());
                Ok(Step::NodeToken)
            }
            Step::NodeToken => {
                if s != TOK_NODE {
                    return Err(unexpected(step));
                }
                self.step = Step::Open;
                let name = self.dirs.last().and_then(Option::clone).unwrap_or_default();
                return Ok(Some(Event::Entry(name)));
            }
            Step::EntryClose => token(TOK_CLOSE, Step::DirItem),
            Step::Size | Step::Contents { .. } | Step::Done => {
                return Err(Error::Misuse("not a string"));
            }
        };
        self.step = next.map_err(|()| unexpected(step))?;
        Ok(None)
    }

    /// A node is complete: the NAR is done, or the entry holding the node is to be closed.
    fn node_done(&mut self) {
        self.step = if self.dirs.is_empty() {
            Step::Done
        } else {
            Step::EntryClose
        };
    }
}

/// What the grammar allows at `step`, for messages.
fn expected(step: Step) -> &'static str {
    match step {
        Step::Magic => "\"nix-archive-1\"",
        Step::Open | Step::EntryOpen => "\"(\"",
        Step::Type => "\"type\"",
        Step::NodeType => "\"regular\", \"symlink\" or \"directory\"",
        Step::Regular => "\"executable\" or \"contents\"",
        Step::ExecutableValue => "\"\" after \"executable\"",
        Step::ContentsToken => "\"contents\"",
        Step::FileClose | Step::SymlinkClose => "\")\"",
        Step::TargetToken => "\"target\"",
        Step::DirItem => "\"entry\" or \")\"",
        Step::NameToken => "\"name\"",
        Step::NodeToken => "\"node\"",
        Step::EntryClose => "\")\" closing an entry",
        Step::Target => "a symlink target",
        Step::Name => "an entry name",
        Step::Size | Step::Contents { .. } | Step::Done => "nothing",
    }
}

/// Checks the zero padding after `len` bytes that started at `at`.
fn check_padding(padding: &[u8], len: u64, at: u64) -> Result<(), Error> {
    if padding.iter().any(|&b| b != 0) {
        return Err(Error::Wire {
            offset: at,
            source: wire::Error::NonZeroPadding { len },
        });
    }
    Ok(())
}
