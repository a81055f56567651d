//! The daemon's "stderr" channel: after every request the daemon sends a sequence of messages
//! (log lines, activities, results, requests for data) ending with LAST or ERROR, and only then
//! the reply. This module decodes one message strictly ([`read_message`], also the fuzz target)
//! and names the codes and activity/result types Nix uses.

use tokio::io::AsyncRead;

use crate::error::{Error, Result};
use crate::version::ProtocolVersion;
use crate::wire::{self, Limits};

/// A log line.
pub const STDERR_NEXT: u64 = 0x6f6c_6d67;
/// The daemon wants up to N bytes of the request's data.
pub const STDERR_READ: u64 = 0x6461_7461;
/// The daemon sends a chunk of the reply's data.
pub const STDERR_WRITE: u64 = 0x6461_7416;
/// The request succeeded; the reply follows.
pub const STDERR_LAST: u64 = 0x616c_7473;
/// The request failed.
pub const STDERR_ERROR: u64 = 0x6378_7470;
/// An activity starts.
pub const STDERR_START_ACTIVITY: u64 = 0x5354_5254;
/// An activity ends.
pub const STDERR_STOP_ACTIVITY: u64 = 0x5354_4f50;
/// An activity reports a result (a build log line, progress, a phase).
pub const STDERR_RESULT: u64 = 0x5253_4c54;

/// Activity type of building one derivation (fields: drv path, machine, round, rounds).
pub const ACT_BUILD: u64 = 105;
/// Activity type of substituting one path.
pub const ACT_SUBSTITUTE: u64 = 108;
/// Result type of one line of build output (field: the line).
pub const RES_BUILD_LOG_LINE: u64 = 101;
/// Result type of a build phase change (field: the phase name).
pub const RES_SET_PHASE: u64 = 104;
/// Result type of one line of post-build-hook output.
pub const RES_POST_BUILD_LOG_LINE: u64 = 107;

/// A field of an activity or result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// An integer.
    Int(u64),
    /// A string.
    String(String),
}

impl Field {
    /// The string inside, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Field::String(s) => Some(s),
            Field::Int(_) => None,
        }
    }
}

/// A started activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The daemon's activity id.
    pub id: u64,
    /// Nix verbosity level (0 = error ... 7 = vomit).
    pub level: u64,
    /// Activity type (see [`ACT_BUILD`]).
    pub kind: u64,
    /// Human-readable description.
    pub text: String,
    /// Type-specific fields.
    pub fields: Vec<Field>,
    /// The parent activity (0 for none).
    pub parent: u64,
}

/// An error reported by the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    /// The message.
    pub msg: String,
    /// Exit status (old form) or 1.
    pub status: u64,
    /// Trace lines (structured form).
    pub traces: Vec<String>,
}

impl From<RemoteError> for Error {
    fn from(e: RemoteError) -> Self {
        Error::Remote {
            msg: e.msg,
            status: e.status,
            traces: e.traces,
        }
    }
}

/// One message of the stderr channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A log line.
    Next(String),
    /// A request for at most this many bytes of data.
    Read(u64),
    /// A chunk of data.
    Write(Vec<u8>),
    /// The end of the messages: the reply follows.
    Last,
    /// The request failed.
    Error(RemoteError),
    /// An activity started.
    StartActivity(Activity),
    /// An activity stopped.
    StopActivity(u64),
    /// A result of an activity.
    Result {
        /// The activity.
        id: u64,
        /// Result type (see [`RES_BUILD_LOG_LINE`]).
        kind: u64,
        /// Type-specific fields.
        fields: Vec<Field>,
    },
}

async fn read_fields<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    limits: &Limits,
) -> Result<Vec<Field>> {
    let n = wire::read_count(r, limits, "activity fields").await?;
    let mut fields = Vec::new();
    for _ in 0..n {
        match wire::read_u64(r, "a field type").await? {
            0 => fields.push(Field::Int(wire::read_u64(r, "an integer field").await?)),
            1 => fields.push(Field::String(
                wire::read_text(r, limits.max_string, "a string field").await?,
            )),
            t => {
                return Err(Error::BadValue {
                    what: "field type",
                    value: format!("{t:#x}"),
                });
            }
        }
    }
    Ok(fields)
}

/// Removes ANSI escape sequences (Nix colours its messages for terminals; a typed error carries
/// plain text).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters and intermediates, then one final byte in '@'..='~'.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

async fn read_error<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    version: ProtocolVersion,
    limits: &Limits,
) -> Result<RemoteError> {
    if version < ProtocolVersion::new(1, 26) {
        let msg = strip_ansi(&wire::read_text(r, limits.max_string, "an error message").await?);
        let status = wire::read_u64(r, "an error status").await?;
        return Ok(RemoteError {
            msg,
            status,
            traces: Vec::new(),
        });
    }
    let kind = wire::read_text(r, 64, "an error type").await?;
    if kind != "Error" {
        return Err(Error::BadValue {
            what: "error type",
            value: kind,
        });
    }
    let _level = wire::read_u64(r, "an error level").await?;
    let _name = wire::read_text(r, limits.max_string, "an error name").await?;
    let msg = strip_ansi(&wire::read_text(r, limits.max_string, "an error message").await?);
    let have_pos = wire::read_u64(r, "an error position flag").await?;
    if have_pos != 0 {
        // Nix has never sent positions over the wire; their format is undefined.
        return Err(Error::BadValue {
            what: "error position flag",
            value: have_pos.to_string(),
        });
    }
    let n = wire::read_count(r, limits, "error traces").await?;
    let mut traces = Vec::new();
    for _ in 0..n {
        let have_pos = wire::read_u64(r, "a trace position flag").await?;
        if have_pos != 0 {
            return Err(Error::BadValue {
                what: "trace position flag",
                value: have_pos.to_string(),
            });
        }
        traces.push(strip_ansi(
            &wire::read_text(r, limits.max_string, "a trace").await?,
        ));
    }
    Ok(RemoteError {
        msg,
        status: 1,
        traces,
    })
}

/// Reads one stderr message. Unknown codes and malformed bodies are errors.
pub async fn read_message<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    version: ProtocolVersion,
    limits: &Limits,
) -> Result<Message> {
    let code = wire::read_u64(r, "a message code").await?;
    Ok(match code {
        STDERR_NEXT => Message::Next(wire::read_text(r, limits.max_string, "a log line").await?),
        STDERR_READ => Message::Read(wire::read_u64(r, "a read request").await?),
        STDERR_WRITE => {
            Message::Write(wire::read_bytes(r, limits.max_string, "a data chunk").await?)
        }
        STDERR_LAST => Message::Last,
        STDERR_ERROR => Message::Error(read_error(r, version, limits).await?),
        STDERR_START_ACTIVITY => {
            let id = wire::read_u64(r, "an activity id").await?;
            let level = wire::read_u64(r, "an activity level").await?;
            let kind = wire::read_u64(r, "an activity type").await?;
            let text = wire::read_text(r, limits.max_string, "an activity text").await?;
            let fields = read_fields(r, limits).await?;
            let parent = wire::read_u64(r, "a parent activity").await?;
            Message::StartActivity(Activity {
                id,
                level,
                kind,
                text,
                fields,
                parent,
            })
        }
        STDERR_STOP_ACTIVITY => Message::StopActivity(wire::read_u64(r, "an activity id").await?),
        STDERR_RESULT => {
            let id = wire::read_u64(r, "an activity id").await?;
            let kind = wire::read_u64(r, "a result type").await?;
            let fields = read_fields(r, limits).await?;
            Message::Result { id, kind, fields }
        }
        other => return Err(Error::UnknownMessage(other)),
    })
}

/// Encoders for tests and fake daemons: the exact bytes a daemon sends.
pub mod encode {
    use super::*;
    use crate::wire::Request;

    /// Appends fields.
    pub fn fields(req: &mut Request, fields: &[Field]) {
        req.u64(fields.len() as u64);
        for f in fields {
            match f {
                Field::Int(n) => req.u64(0).u64(*n),
                Field::String(s) => req.u64(1).bytes(s),
            };
        }
    }

    /// Appends a message as a daemon speaking `version` would.
    pub fn message(req: &mut Request, msg: &Message, version: ProtocolVersion) {
        match msg {
            Message::Next(s) => {
                req.u64(STDERR_NEXT).bytes(s);
            }
            Message::Read(n) => {
                req.u64(STDERR_READ).u64(*n);
            }
            Message::Write(d) => {
                req.u64(STDERR_WRITE).bytes(d);
            }
            Message::Last => {
                req.u64(STDERR_LAST);
            }
            Message::Error(e) => {
                req.u64(STDERR_ERROR);
                if version < ProtocolVersion::new(1, 26) {
                    req.bytes(&e.msg).u64(e.status);
                } else {
                    req.bytes("Error")
                        .u64(0)
                        .bytes("Error")
                        .bytes(&e.msg)
                        .u64(0);
                    req.u64(e.traces.len() as u64);
                    for t in &e.traces {
                        req.u64(0).bytes(t);
                    }
                }
            }
            Message::StartActivity(a) => {
                req.u64(STDERR_START_ACTIVITY)
                    .u64(a.id)
                    .u64(a.level)
                    .u64(a.kind)
                    .bytes(&a.text);
                fields(req, &a.fields);
                req.u64(a.parent);
            }
            Message::StopActivity(id) => {
                req.u64(STDERR_STOP_ACTIVITY).u64(*id);
            }
            Message::Result {
                id,
                kind,
                fields: f,
            } => {
                req.u64(STDERR_RESULT).u64(*id).u64(*kind);
                fields(req, f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Request;
    use proptest::prelude::*;

    fn decode(bytes: &[u8], v: ProtocolVersion) -> Result<Message> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(read_message(&mut &bytes[..], v, &Limits::default()))
    }

    #[test]
    fn error_forms() {
        let e = RemoteError {
            msg: "path '/nix/store/x' is not valid".into(),
            status: 1,
            traces: vec!["while doing things".into()],
        };
        let new = ProtocolVersion::new(1, 34);
        let mut req = Request::new();
        encode::message(&mut req, &Message::Error(e.clone()), new);
        assert_eq!(decode(req.as_bytes(), new).unwrap(), Message::Error(e));

        let old = ProtocolVersion::new(1, 21);
        let mut req = Request::new();
        req.u64(STDERR_ERROR).bytes("boom").u64(100);
        assert_eq!(
            decode(req.as_bytes(), old).unwrap(),
            Message::Error(RemoteError {
                msg: "boom".into(),
                status: 100,
                traces: vec![]
            })
        );
        // The same bytes are not a structured error.
        assert!(decode(req.as_bytes(), new).is_err());
    }

    #[test]
    fn ansi_is_stripped() {
        assert_eq!(
            strip_ansi("not an absolute path: '\u{1b}[35;1msha256\u{1b}[0m'"),
            "not an absolute path: 'sha256'"
        );
        assert_eq!(strip_ansi("plain \u{1b}"), "plain ");
    }

    #[test]
    fn unknown_code_and_field_type() {
        let v = ProtocolVersion::new(1, 34);
        let mut req = Request::new();
        req.u64(0x1234);
        assert!(matches!(
            decode(req.as_bytes(), v),
            Err(Error::UnknownMessage(0x1234))
        ));
        let mut req = Request::new();
        req.u64(STDERR_RESULT).u64(1).u64(101).u64(1).u64(7).u64(0);
        assert!(matches!(
            decode(req.as_bytes(), v),
            Err(Error::BadValue {
                what: "field type",
                ..
            })
        ));
        let mut req = Request::new();
        req.u64(STDERR_ERROR)
            .bytes("Error")
            .u64(0)
            .bytes("Error")
            .bytes("m")
            .u64(1);
        assert!(decode(req.as_bytes(), v).is_err());
    }

    fn arb_field() -> impl Strategy<Value = Field> {
        prop_oneof![
            any::<u64>().prop_map(Field::Int),
            ".{0,20}".prop_map(Field::String)
        ]
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        prop_oneof![
            ".{0,40}".prop_map(Message::Next),
            any::<u64>().prop_map(Message::Read),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Message::Write),
            Just(Message::Last),
            // Escape sequences are stripped from errors, so none in the generated text.
            (
                "[^\u{1b}]{0,40}",
                proptest::collection::vec("[^\u{1b}]{0,10}", 0..3)
            )
                .prop_map(|(msg, traces)| {
                    Message::Error(RemoteError {
                        msg,
                        status: 1,
                        traces,
                    })
                }),
            (
                any::<u64>(),
                0u64..8,
                100u64..112,
                ".{0,20}",
                proptest::collection::vec(arb_field(), 0..4),
                any::<u64>()
            )
                .prop_map(|(id, level, kind, text, fields, parent)| {
                    Message::StartActivity(Activity {
                        id,
                        level,
                        kind,
                        text,
                        fields,
                        parent,
                    })
                }),
            any::<u64>().prop_map(Message::StopActivity),
            (
                any::<u64>(),
                100u64..108,
                proptest::collection::vec(arb_field(), 0..4)
            )
                .prop_map(|(id, kind, fields)| Message::Result { id, kind, fields }),
        ]
    }

    proptest! {
        #[test]
        fn roundtrip(msg in arb_message()) {
            let v = ProtocolVersion::new(1, 34);
            let mut req = Request::new();
            encode::message(&mut req, &msg, v);
            prop_assert_eq!(decode(req.as_bytes(), v).unwrap(), msg);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes, ProtocolVersion::new(1, 34));
            let _ = decode(&bytes, ProtocolVersion::new(1, 21));
        }
    }
}
