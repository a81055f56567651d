//! Nix's build settings, as `--option NAME VALUE` spells them: how the embedded store runs
//! builders.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Result};

/// Where builders' log lines go as they are written (the user's terminal, for the CLI).
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// A path of the host a sandboxed builder sees (`sandbox-paths`): `inside` is where, `host`
/// what; an optional one (`path?`) is skipped when it does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPath {
    /// The path inside the sandbox.
    pub inside: String,
    /// The host path bound there (read-only).
    pub host: PathBuf,
    /// Whether a missing host path is skipped rather than an error.
    pub optional: bool,
}

impl SandboxPath {
    /// Parses Nix's `PATH`, `INSIDE=HOST` and their optional `...?` forms.
    pub fn parse(entry: &str) -> SandboxPath {
        let (entry, optional) = match entry.strip_suffix('?') {
            Some(e) => (e, true),
            None => (entry, false),
        };
        let (inside, host) = entry.split_once('=').unwrap_or((entry, entry));
        SandboxPath {
            inside: inside.to_owned(),
            host: PathBuf::from(host),
            optional,
        }
    }
}

/// How the embedded store builds derivations.
#[derive(Clone)]
pub struct BuildSettings {
    /// `sandbox`: run builders in a sandbox (bubblewrap) that shows them only their input
    /// closure at the store directory, no network unless fixed-output.
    pub sandbox: bool,
    /// `sandbox-paths` and `extra-sandbox-paths`.
    pub sandbox_paths: Vec<SandboxPath>,
    /// `cores`: `NIX_BUILD_CORES`.
    pub cores: usize,
    /// `max-jobs`: how many builds may run at once (0 forbids building).
    pub max_jobs: usize,
    /// `keep-failed`: keep the build directory of a failed build.
    pub keep_failed: bool,
    /// `timeout`: the longest a builder may run.
    pub timeout: Option<Duration>,
    /// `max-silent-time`: the longest a builder may write nothing.
    pub max_silent_time: Option<Duration>,
    /// Where builders' log lines go as they come.
    pub log: Option<LogSink>,
    /// `fsync-store-paths`: fsync every file and directory of a new store path before it is
    /// registered, so that it survives a power loss or an OS crash, not only a killed process.
    /// Off by default, as in Nix.
    pub fsync_store_paths: bool,
    /// The settings given with [`BuildSettings::set`], in order, as Nix spells them: what a
    /// nix-daemon is sent (it builds with its own builder).
    pub given: Vec<(String, String)>,
}

impl std::fmt::Debug for BuildSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildSettings")
            .field("sandbox", &self.sandbox)
            .field("sandbox_paths", &self.sandbox_paths)
            .field("cores", &self.cores)
            .field("max_jobs", &self.max_jobs)
            .field("keep_failed", &self.keep_failed)
            .field("timeout", &self.timeout)
            .field("max_silent_time", &self.max_silent_time)
            .field("fsync_store_paths", &self.fsync_store_paths)
            .field("given", &self.given)
            .finish()
    }
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings {
            sandbox: true,
            sandbox_paths: Vec::new(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_jobs: 1,
            keep_failed: false,
            timeout: None,
            max_silent_time: None,
            log: None,
            fsync_store_paths: false,
            given: Vec::new(),
        }
    }
}

fn seconds(name: &str, value: &str) -> Result<Option<Duration>> {
    let n: u64 = value.parse().map_err(|_| {
        Error::BadInput(format!(
            "option '{name}': '{value}' is not a number of seconds"
        ))
    })?;
    Ok((n > 0).then(|| Duration::from_secs(n)))
}

fn number(name: &str, value: &str) -> Result<usize> {
    value
        .parse()
        .map_err(|_| Error::BadInput(format!("option '{name}': '{value}' is not a number")))
}

fn boolean(name: &str, value: &str) -> Result<bool> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Error::BadInput(format!(
            "option '{name}': '{value}' is not a Boolean (true or false)"
        ))),
    }
}

impl BuildSettings {
    /// Applies `--option NAME VALUE`; `Ok(false)` when `name` is not a build setting.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool> {
        match name {
            "sandbox" => {
                self.sandbox = match value {
                    "relaxed" => true,
                    v => boolean(name, v)?,
                }
            }
            "sandbox-paths" => {
                self.sandbox_paths = value.split_whitespace().map(SandboxPath::parse).collect()
            }
            "extra-sandbox-paths" => self
                .sandbox_paths
                .extend(value.split_whitespace().map(SandboxPath::parse)),
            "cores" => {
                self.cores = match number(name, value)? {
                    0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
                    n => n,
                }
            }
            "max-jobs" => {
                self.max_jobs = match value {
                    "auto" => std::thread::available_parallelism().map_or(1, |n| n.get()),
                    v => number(name, v)?,
                }
            }
            "keep-failed" => self.keep_failed = boolean(name, value)?,
            "timeout" => self.timeout = seconds(name, value)?,
            "max-silent-time" => self.max_silent_time = seconds(name, value)?,
            "fsync-store-paths" => self.fsync_store_paths = boolean(name, value)?,
            _ => return Ok(false),
        }
        self.given.push((name.to_owned(), value.to_owned()));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let mut s = BuildSettings::default();
        assert!(s.set("sandbox", "false").unwrap());
        assert!(!s.sandbox);
        assert!(
            s.set("sandbox-paths", "/bin/sh=/usr/bin/dash /usr /lib?")
                .unwrap()
        );
        assert!(s.set("extra-sandbox-paths", "/etc/ssl").unwrap());
        assert_eq!(
            s.sandbox_paths,
            vec![
                SandboxPath {
                    inside: "/bin/sh".into(),
                    host: "/usr/bin/dash".into(),
                    optional: false
                },
                SandboxPath::parse("/usr"),
                SandboxPath {
                    inside: "/lib".into(),
                    host: "/lib".into(),
                    optional: true
                },
                SandboxPath::parse("/etc/ssl"),
            ]
        );
        assert!(s.set("timeout", "5").unwrap());
        assert_eq!(s.timeout, Some(Duration::from_secs(5)));
        assert!(s.set("timeout", "0").unwrap());
        assert_eq!(s.timeout, None);
        assert!(s.set("max-jobs", "x").is_err());
        assert!(!s.fsync_store_paths);
        assert!(s.set("fsync-store-paths", "true").unwrap());
        assert!(s.fsync_store_paths);
        assert!(!s.set("substituters", "").unwrap());
    }
}
