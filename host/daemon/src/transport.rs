//! How a byte stream to a daemon is obtained: a Unix socket (`daemon`, `unix:///path`), or the
//! stdin/stdout of a child process speaking the protocol on stdio (`ssh host nix-daemon --stdio`
//! for `ssh-ng://host`, or a local `nix-daemon --stdio`). Both yield a [`DaemonClient`] after
//! the handshake; nothing above this module knows which one it has.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::net::UnixStream;
use tokio::process::Command;

use crate::client::{ClientOptions, DaemonClient};
use crate::error::{Error, Result};

/// Where to reach a daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// A Unix-domain socket.
    Unix(PathBuf),
    /// A command whose stdin/stdout speak the protocol.
    Command {
        /// The program.
        program: OsString,
        /// Its arguments.
        args: Vec<OsString>,
    },
}

impl Transport {
    /// `ssh HOST nix-daemon --stdio`, as Nix does for `ssh-ng://HOST`. `$NIX_SSHOPTS` is split on
    /// whitespace and passed to ssh, also as Nix does.
    pub fn ssh_ng(host: &str) -> Self {
        let mut args: Vec<OsString> = std::env::var("NIX_SSHOPTS")
            .unwrap_or_default()
            .split_whitespace()
            .map(OsString::from)
            .collect();
        // `--` would not stop ssh from parsing a host starting with '-'; the URI parser
        // refuses those.
        args.extend(["-x", "-a", host, "nix-daemon", "--stdio"].map(OsString::from));
        Transport::Command {
            program: "ssh".into(),
            args,
        }
    }

    /// A local `nix-daemon --stdio` (`program` is usually `nix-daemon`).
    pub fn stdio_daemon(program: impl Into<OsString>) -> Self {
        Transport::Command {
            program: program.into(),
            args: vec!["--stdio".into()],
        }
    }

    /// A human-readable name for messages.
    pub fn describe(&self) -> String {
        match self {
            Transport::Unix(p) => format!("unix://{}", p.display()),
            Transport::Command { program, args } => {
                let mut s = program.to_string_lossy().into_owned();
                for a in args {
                    s.push(' ');
                    s.push_str(&a.to_string_lossy());
                }
                s
            }
        }
    }

    /// Opens a stream and performs the handshake.
    pub async fn connect(&self, opts: ClientOptions) -> Result<DaemonClient> {
        let connect_err = |source| Error::Connect {
            target: self.describe(),
            source,
        };
        match self {
            Transport::Unix(path) => {
                // A busy daemon's listen backlog fills up (EAGAIN on Unix sockets): retry a
                // few times with a growing pause before giving up.
                let mut pause = std::time::Duration::from_millis(2);
                let stream = loop {
                    match UnixStream::connect(path).await {
                        Ok(s) => break s,
                        Err(e)
                            if e.kind() == std::io::ErrorKind::WouldBlock
                                && pause < std::time::Duration::from_secs(2) =>
                        {
                            tokio::time::sleep(pause).await;
                            pause *= 2;
                        }
                        Err(e) => return Err(connect_err(e)),
                    }
                };
                let (r, w) = stream.into_split();
                DaemonClient::handshake(r, w, opts).await
            }
            Transport::Command { program, args } => {
                let mut child = Command::new(program)
                    .args(args)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(connect_err)?;
                let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                    return Err(connect_err(std::io::Error::other("no stdio pipes")));
                };
                let client = DaemonClient::handshake(stdout, stdin, opts).await?;
                Ok(client.with_child(child))
            }
        }
    }
}
