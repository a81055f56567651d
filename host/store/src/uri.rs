//! Store URIs, spelled as Nix spells them: `local?root=DIR`, `daemon`, `unix:///path/to/socket`,
//! `ssh-ng://[user@]host`, and the fallback chain `--store` → `$NIX_REMOTE` → embedded store.

use std::fmt;
use std::path::PathBuf;

use nix_formats::StoreDir;

use crate::{Error, Result};

/// The default nix-daemon socket.
pub const DEFAULT_DAEMON_SOCKET: &str = "/nix/var/nix/daemon-socket/socket";

/// A parsed store URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUri {
    /// The embedded store: contents at `ROOT/<store_dir>`, database at `ROOT/nix/var/nix/db`.
    Local {
        /// The chroot-style root directory.
        root: PathBuf,
        /// The logical store directory.
        store_dir: StoreDir,
    },
    /// A nix-daemon on a Unix socket.
    Daemon {
        /// The socket path.
        socket: PathBuf,
    },
    /// `nix-daemon --stdio` spawned through ssh on another machine.
    SshNg {
        /// `[user@]host`.
        host: String,
    },
}

impl fmt::Display for StoreUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUri::Local { root, store_dir } => {
                write!(f, "local?root={}", root.display())?;
                if store_dir.as_str() != StoreDir::default().as_str() {
                    write!(f, "&store={store_dir}")?;
                }
                Ok(())
            }
            StoreUri::Daemon { socket } => write!(f, "unix://{}", socket.display()),
            StoreUri::SshNg { host } => write!(f, "ssh-ng://{host}"),
        }
    }
}

impl StoreUri {
    /// Parse a URI as given to `--store` or in `NIX_REMOTE`.
    pub fn parse(uri: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadUri {
            uri: uri.to_string(),
            reason: reason.to_string(),
        };
        let (scheme_and_path, query) = match uri.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (uri, None),
        };
        let mut params = Vec::new();
        for kv in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|s| !s.is_empty())
        {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| bad(&format!("parameter '{kv}' is not KEY=VALUE")))?;
            params.push((k, v));
        }
        let param = |key: &str| {
            params
                .iter()
                .rev()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| *v)
        };
        let check_known = |known: &[&str]| -> Result<()> {
            for (k, _) in &params {
                if !known.contains(k) {
                    return Err(bad(&format!("unknown parameter '{k}'")));
                }
            }
            Ok(())
        };
        match scheme_and_path {
            "local" => {
                check_known(&["root", "store"])?;
                let root = match param("root") {
                    Some(r) if !r.is_empty() => PathBuf::from(r),
                    _ => default_root()?,
                };
                let store_dir = match param("store") {
                    Some(s) => StoreDir::new(s).map_err(|e| bad(&e.to_string()))?,
                    None => StoreDir::default(),
                };
                Ok(StoreUri::Local { root, store_dir })
            }
            "daemon" => {
                check_known(&[])?;
                Ok(StoreUri::Daemon {
                    socket: DEFAULT_DAEMON_SOCKET.into(),
                })
            }
            s if s.starts_with("unix://") => {
                check_known(&[])?;
                let path = &s["unix://".len()..];
                if path.is_empty() {
                    return Ok(StoreUri::Daemon {
                        socket: DEFAULT_DAEMON_SOCKET.into(),
                    });
                }
                if !path.starts_with('/') {
                    return Err(bad("the socket path must be absolute"));
                }
                Ok(StoreUri::Daemon {
                    socket: path.into(),
                })
            }
            s if s.starts_with("ssh-ng://") => {
                check_known(&[])?;
                let host = &s["ssh-ng://".len()..];
                if host.is_empty() || host.contains('/') || host.starts_with('-') {
                    return Err(bad("expected ssh-ng://[user@]host"));
                }
                Ok(StoreUri::SshNg {
                    host: host.to_string(),
                })
            }
            s if s.starts_with('/') => Ok(StoreUri::Local {
                root: s.into(),
                store_dir: StoreDir::default(),
            }),
            _ => Err(bad(
                "expected local?root=DIR, daemon, unix:///path or ssh-ng://host",
            )),
        }
    }

    /// The store used when `--store` is absent: `$NIX_REMOTE` if set and non-empty, else the
    /// embedded store at [`default_root`].
    pub fn from_env() -> Result<Self> {
        match std::env::var("NIX_REMOTE") {
            Ok(v) if !v.is_empty() => Self::parse(&v),
            _ => Ok(StoreUri::Local {
                root: default_root()?,
                store_dir: StoreDir::default(),
            }),
        }
    }
}

/// The embedded store's default root: `$EVALBOX_STORE`, else `$XDG_DATA_HOME/evalbox/root`
/// (`~/.local/share/evalbox/root`).
pub fn default_root() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("EVALBOX_STORE").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    dirs::data_dir()
        .map(|d| d.join("evalbox").join("root"))
        .ok_or_else(|| Error::BadUri {
            uri: "local".into(),
            reason: "no $EVALBOX_STORE, $XDG_DATA_HOME or $HOME to put the embedded store in"
                .into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nix_spellings() {
        assert_eq!(
            StoreUri::parse("local?root=/tmp/r").unwrap(),
            StoreUri::Local {
                root: "/tmp/r".into(),
                store_dir: StoreDir::default()
            }
        );
        assert_eq!(
            StoreUri::parse("daemon").unwrap(),
            StoreUri::Daemon {
                socket: DEFAULT_DAEMON_SOCKET.into()
            }
        );
        assert_eq!(
            StoreUri::parse("unix:///run/s").unwrap(),
            StoreUri::Daemon {
                socket: "/run/s".into()
            }
        );
        assert_eq!(
            StoreUri::parse("ssh-ng://me@host").unwrap(),
            StoreUri::SshNg {
                host: "me@host".into()
            }
        );
        assert_eq!(
            StoreUri::parse("/tmp/root").unwrap(),
            StoreUri::Local {
                root: "/tmp/root".into(),
                store_dir: StoreDir::default()
            }
        );
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "http://x",
            "local?root",
            "local?bogus=1",
            "unix://relative",
            "ssh-ng://",
            "",
        ] {
            assert!(StoreUri::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn display_round_trips() {
        for u in ["local?root=/tmp/r", "unix:///run/s", "ssh-ng://me@host"] {
            let parsed = StoreUri::parse(u).unwrap();
            assert_eq!(StoreUri::parse(&parsed.to_string()).unwrap(), parsed);
        }
    }
}
