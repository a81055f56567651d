//! Protocol-level values: what the worker protocol sends for path info, derived paths and build
//! results, with their version-dependent encodings. The store backend converts these into the
//! `evalbox-store` types; keeping them here lets the protocol layer stand alone (and be fuzzed).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use nix_formats::{ContentAddress, HashAlgo, NixHash, StoreDir, StorePath};
use tokio::io::AsyncRead;

use crate::error::{Error, Result};
use crate::version::ProtocolVersion;
use crate::wire::{self, Limits, Request};

/// Nix's `ValidPathInfo`: a path and its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPathInfo {
    /// The path.
    pub path: StorePath,
    /// The derivation that produced it.
    pub deriver: Option<StorePath>,
    /// SHA-256 of its NAR.
    pub nar_hash: NixHash,
    /// Its references.
    pub references: BTreeSet<StorePath>,
    /// Registration time (seconds since the epoch).
    pub registration_time: u64,
    /// Size of its NAR.
    pub nar_size: u64,
    /// Whether the store built it itself.
    pub ultimate: bool,
    /// Signatures.
    pub signatures: BTreeSet<String>,
    /// Content address.
    pub ca: Option<ContentAddress>,
}

impl ValidPathInfo {
    /// Reads the unkeyed part (everything after the path) for `path`.
    pub async fn read_unkeyed<R: AsyncRead + Unpin + ?Sized>(
        r: &mut R,
        path: StorePath,
        dir: &StoreDir,
        version: ProtocolVersion,
        limits: &Limits,
    ) -> Result<Self> {
        let deriver = wire::read_opt_store_path(r, dir, limits, "a deriver").await?;
        let hash = wire::read_string(r, 256, "a NAR hash").await?;
        let nar_hash =
            NixHash::parse(&hash, Some(HashAlgo::Sha256)).map_err(|e| Error::BadValue {
                what: "NAR hash",
                value: format!("{hash:?} ({e})"),
            })?;
        let references = wire::read_store_paths(r, dir, limits, "references").await?;
        let registration_time = wire::read_u64(r, "a registration time").await?;
        let nar_size = wire::read_u64(r, "a NAR size").await?;
        let (mut ultimate, mut signatures, mut ca) = (false, BTreeSet::new(), None);
        if version >= ProtocolVersion::new(1, 16) {
            ultimate = wire::read_bool(r, "the ultimate flag").await?;
            signatures = wire::read_strings(r, limits, "signatures")
                .await?
                .into_iter()
                .collect();
            let s = wire::read_string(r, 1024, "a content address").await?;
            if !s.is_empty() {
                ca = Some(s.parse().map_err(|e| Error::BadValue {
                    what: "content address",
                    value: format!("{s:?} ({e})"),
                })?);
            }
        }
        Ok(Self {
            path,
            deriver,
            nar_hash,
            references,
            registration_time,
            nar_size,
            ultimate,
            signatures,
            ca,
        })
    }

    /// Reads a keyed `ValidPathInfo` (path first).
    pub async fn read<R: AsyncRead + Unpin + ?Sized>(
        r: &mut R,
        dir: &StoreDir,
        version: ProtocolVersion,
        limits: &Limits,
    ) -> Result<Self> {
        let path = wire::read_store_path(r, dir, limits, "a store path").await?;
        Self::read_unkeyed(r, path, dir, version, limits).await
    }

    /// Appends the unkeyed part.
    pub fn write_unkeyed(&self, req: &mut Request, dir: &StoreDir, version: ProtocolVersion) {
        req.bytes(
            self.deriver
                .as_ref()
                .map(|d| dir.display(d))
                .unwrap_or_default(),
        );
        req.bytes(self.nar_hash.to_base16());
        req.paths(dir, &self.references);
        req.u64(self.registration_time).u64(self.nar_size);
        if version >= ProtocolVersion::new(1, 16) {
            req.bool(self.ultimate);
            req.strings(&self.signatures);
            req.bytes(self.ca.map(|c| c.to_string()).unwrap_or_default());
        }
    }

    /// Appends the keyed form.
    pub fn write(&self, req: &mut Request, dir: &StoreDir, version: ProtocolVersion) {
        req.path(dir, &self.path);
        self.write_unkeyed(req, dir, version);
    }
}

/// What to build: an opaque path (to substitute) or outputs of a derivation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DerivedPath {
    /// A store path that must exist (substituted if needed).
    Opaque(StorePath),
    /// Outputs of a derivation; an empty set means all outputs.
    Built {
        /// The `.drv` path.
        drv: StorePath,
        /// Wanted outputs (empty: all).
        outputs: BTreeSet<String>,
    },
}

impl DerivedPath {
    /// The wire spelling for a daemon speaking `version`: `drv!out1,out2` or `drv!*` (≥ 1.30);
    /// before 1.30 "all outputs" is the bare `.drv` path.
    pub fn to_wire_string(&self, dir: &StoreDir, version: ProtocolVersion) -> Result<String> {
        Ok(match self {
            DerivedPath::Opaque(p) => dir.display(p),
            DerivedPath::Built { drv, outputs } => {
                for o in outputs {
                    if o.is_empty() || o.contains([',', '!']) || o == "*" {
                        return Err(Error::BadRequest(format!("invalid output name {o:?}")));
                    }
                }
                let base = dir.display(drv);
                if outputs.is_empty() {
                    if version >= ProtocolVersion::new(1, 30) {
                        format!("{base}!*")
                    } else {
                        base
                    }
                } else {
                    let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
                    format!("{base}!{}", names.join(","))
                }
            }
        })
    }

    /// Parses the wire spelling (either era's).
    pub fn parse(dir: &StoreDir, s: &str) -> Result<Self> {
        let (path, outputs) = match s.split_once('!') {
            Some((p, o)) => (p, Some(o)),
            None => (s, None),
        };
        let path = wire::parse_store_path(dir, path, "a derived path")?;
        match outputs {
            None if !path.is_derivation() => Ok(DerivedPath::Opaque(path)),
            None => Ok(DerivedPath::Built {
                drv: path,
                outputs: BTreeSet::new(),
            }),
            Some("*") => Ok(DerivedPath::Built {
                drv: path,
                outputs: BTreeSet::new(),
            }),
            Some(o) => {
                let outputs: BTreeSet<String> = o.split(',').map(str::to_string).collect();
                if outputs.iter().any(String::is_empty) {
                    return Err(Error::BadValue {
                        what: "derived path",
                        value: s.to_string(),
                    });
                }
                Ok(DerivedPath::Built { drv: path, outputs })
            }
        }
    }
}

/// Nix's build status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildStatus(pub u64);

impl BuildStatus {
    const NAMES: [&'static str; 15] = [
        "Built",
        "Substituted",
        "AlreadyValid",
        "PermanentFailure",
        "InputRejected",
        "OutputRejected",
        "TransientFailure",
        "CachedFailure",
        "TimedOut",
        "MiscFailure",
        "DependencyFailed",
        "LogLimitExceeded",
        "NotDeterministic",
        "ResolvesToAlreadyValid",
        "NoSubstituters",
    ];

    /// Nix's name for the status.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .get(self.0 as usize)
            .copied()
            .unwrap_or("Unknown")
    }

    /// Whether the outputs are valid afterwards.
    pub fn is_success(self) -> bool {
        matches!(self.0, 0 | 1 | 2 | 13)
    }
}

impl fmt::Display for BuildStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome of one build, as the protocol sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildResult {
    /// Status.
    pub status: BuildStatus,
    /// Error message on failure.
    pub error_msg: String,
    /// How many times it was built (≥ 1.29).
    pub times_built: u64,
    /// Whether a repeated build differed (≥ 1.29).
    pub is_non_deterministic: bool,
    /// Start time (≥ 1.29).
    pub start_time: u64,
    /// Stop time (≥ 1.29).
    pub stop_time: u64,
    /// User CPU time in µs (≥ 1.37).
    pub cpu_user: Option<i64>,
    /// System CPU time in µs (≥ 1.37).
    pub cpu_system: Option<i64>,
    /// Output name → path, as far as the daemon reported them (≥ 1.28).
    pub built_outputs: BTreeMap<String, StorePath>,
}

async fn read_opt_micros<R: AsyncRead + Unpin + ?Sized>(r: &mut R) -> Result<Option<i64>> {
    match wire::read_u64(r, "an optional tag").await? {
        0 => Ok(None),
        1 => Ok(Some(wire::read_u64(r, "a duration").await? as i64)),
        t => Err(Error::BadValue {
            what: "optional tag",
            value: t.to_string(),
        }),
    }
}

impl BuildResult {
    /// Reads a build result.
    pub async fn read<R: AsyncRead + Unpin + ?Sized>(
        r: &mut R,
        dir: &StoreDir,
        version: ProtocolVersion,
        limits: &Limits,
    ) -> Result<Self> {
        let status = BuildStatus(wire::read_u64(r, "a build status").await?);
        if status.0 as usize >= BuildStatus::NAMES.len() {
            return Err(Error::BadValue {
                what: "build status",
                value: status.0.to_string(),
            });
        }
        let error_msg = wire::read_text(r, limits.max_string, "a build error").await?;
        let mut res = Self {
            status,
            error_msg,
            times_built: 0,
            is_non_deterministic: false,
            start_time: 0,
            stop_time: 0,
            cpu_user: None,
            cpu_system: None,
            built_outputs: BTreeMap::new(),
        };
        if version >= ProtocolVersion::new(1, 29) {
            res.times_built = wire::read_u64(r, "times built").await?;
            res.is_non_deterministic = wire::read_bool(r, "the non-determinism flag").await?;
            res.start_time = wire::read_u64(r, "a start time").await?;
            res.stop_time = wire::read_u64(r, "a stop time").await?;
        }
        if version >= ProtocolVersion::new(1, 37) {
            res.cpu_user = read_opt_micros(r).await?;
            res.cpu_system = read_opt_micros(r).await?;
        }
        if version >= ProtocolVersion::new(1, 28) {
            let n = wire::read_count(r, limits, "built outputs").await?;
            for _ in 0..n {
                let id = wire::read_string(r, limits.max_path, "an output id").await?;
                let json = wire::read_string(r, limits.max_string, "a realisation").await?;
                let (_, output) = id.split_once('!').ok_or_else(|| Error::BadValue {
                    what: "output id",
                    value: id.clone(),
                })?;
                let bad = || Error::BadValue {
                    what: "realisation",
                    value: json.clone(),
                };
                let v: serde_json::Value = serde_json::from_str(&json).map_err(|_| bad())?;
                let out = v.get("outPath").and_then(|p| p.as_str()).ok_or_else(bad)?;
                let path = if out.starts_with('/') {
                    wire::parse_store_path(dir, out, "an output path")?
                } else {
                    StorePath::from_base_name(out).map_err(|_| bad())?
                };
                res.built_outputs.insert(output.to_string(), path);
            }
        }
        Ok(res)
    }

    /// Appends a build result as a daemon speaking `version` would (for fake daemons in tests).
    pub fn write(&self, req: &mut Request, version: ProtocolVersion) {
        req.u64(self.status.0).bytes(&self.error_msg);
        if version >= ProtocolVersion::new(1, 29) {
            req.u64(self.times_built)
                .bool(self.is_non_deterministic)
                .u64(self.start_time)
                .u64(self.stop_time);
        }
        if version >= ProtocolVersion::new(1, 37) {
            for t in [self.cpu_user, self.cpu_system] {
                match t {
                    None => req.u64(0),
                    Some(n) => req.u64(1).u64(n as u64),
                };
            }
        }
        if version >= ProtocolVersion::new(1, 28) {
            req.u64(self.built_outputs.len() as u64);
            let dummy = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
            for (name, path) in &self.built_outputs {
                let id = format!("{dummy}!{name}");
                let json = serde_json::json!({"id": id, "outPath": path.to_string()});
                req.bytes(&id).bytes(json.to_string());
            }
        }
    }
}

/// How content is addressed in `AddToStore` ≥ 1.25 (`text:sha256`, `fixed:r:sha256`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaMethod {
    /// A text file (`builtins.toFile`, `.drv` files); always SHA-256.
    Text,
    /// Fixed-output content of a flat file or a NAR.
    Fixed(nix_formats::FileIngestionMethod, HashAlgo),
}

impl fmt::Display for CaMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaMethod::Text => f.write_str("text:sha256"),
            CaMethod::Fixed(m, a) => write!(f, "fixed:{}{}", m.prefix(), a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix_formats::FileIngestionMethod;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn p(s: &str) -> StorePath {
        StorePath::from_base_name(s).unwrap()
    }

    #[test]
    fn ca_method_strings() {
        assert_eq!(CaMethod::Text.to_string(), "text:sha256");
        assert_eq!(
            CaMethod::Fixed(FileIngestionMethod::Recursive, HashAlgo::Sha256).to_string(),
            "fixed:r:sha256"
        );
        assert_eq!(
            CaMethod::Fixed(FileIngestionMethod::Flat, HashAlgo::Sha1).to_string(),
            "fixed:sha1"
        );
    }

    #[test]
    fn derived_paths() {
        let dir = StoreDir::default();
        let drv = p("g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-foo.drv");
        let all = DerivedPath::Built {
            drv: drv.clone(),
            outputs: BTreeSet::new(),
        };
        let new = ProtocolVersion::new(1, 34);
        let old = ProtocolVersion::new(1, 21);
        let s = all.to_wire_string(&dir, new).unwrap();
        assert_eq!(s, format!("/nix/store/{drv}!*"));
        assert_eq!(DerivedPath::parse(&dir, &s).unwrap(), all);
        let s = all.to_wire_string(&dir, old).unwrap();
        assert_eq!(s, format!("/nix/store/{drv}"));
        assert_eq!(DerivedPath::parse(&dir, &s).unwrap(), all);
        let some = DerivedPath::Built {
            drv,
            outputs: ["dev".to_string(), "out".to_string()].into(),
        };
        let s = some.to_wire_string(&dir, new).unwrap();
        assert!(s.ends_with("!dev,out"));
        assert_eq!(DerivedPath::parse(&dir, &s).unwrap(), some);
        let bad = DerivedPath::Built {
            drv: p("g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-foo.drv"),
            outputs: ["a,b".to_string()].into(),
        };
        assert!(bad.to_wire_string(&dir, new).is_err());
    }

    #[test]
    fn path_info_roundtrip_all_versions() {
        let dir = StoreDir::default();
        let info = ValidPathInfo {
            path: p("g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-foo"),
            deriver: Some(p("g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-foo.drv")),
            nar_hash: NixHash::of(HashAlgo::Sha256, b"x"),
            references: [p("n5wkd9frr45pa74if5gpz9j7mifg27fh-bar")].into(),
            registration_time: 23423,
            nar_size: 120,
            ultimate: true,
            signatures: ["cache:sig".to_string()].into(),
            ca: Some(ContentAddress::Fixed {
                method: FileIngestionMethod::Recursive,
                hash: NixHash::of(HashAlgo::Sha256, b"y"),
            }),
        };
        for minor in [21, 34, 38] {
            let v = ProtocolVersion::new(1, minor);
            let mut req = Request::new();
            info.write(&mut req, &dir, v);
            let got = rt()
                .block_on(ValidPathInfo::read(
                    &mut req.as_bytes(),
                    &dir,
                    v,
                    &Limits::default(),
                ))
                .unwrap();
            assert_eq!(got, info);
        }
    }

    #[test]
    fn build_result_roundtrip_all_versions() {
        let dir = StoreDir::default();
        for minor in [21, 28, 29, 34, 37, 38] {
            let v = ProtocolVersion::new(1, minor);
            let mut res = BuildResult {
                status: BuildStatus(0),
                error_msg: String::new(),
                times_built: 0,
                is_non_deterministic: false,
                start_time: 0,
                stop_time: 0,
                cpu_user: None,
                cpu_system: None,
                built_outputs: BTreeMap::new(),
            };
            if minor >= 28 {
                res.built_outputs
                    .insert("out".into(), p("g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-foo"));
            }
            if minor >= 29 {
                res.times_built = 1;
                res.start_time = 5;
                res.stop_time = 6;
            }
            if minor >= 37 {
                res.cpu_user = Some(1000);
            }
            let mut req = Request::new();
            res.write(&mut req, v);
            let got = rt()
                .block_on(BuildResult::read(
                    &mut req.as_bytes(),
                    &dir,
                    v,
                    &Limits::default(),
                ))
                .unwrap();
            assert_eq!(got, res, "1.{minor}");
        }
        let mut req = Request::new();
        req.u64(99).bytes("");
        assert!(
            rt().block_on(BuildResult::read(
                &mut req.as_bytes(),
                &dir,
                ProtocolVersion::new(1, 21),
                &Limits::default()
            ))
            .is_err()
        );
    }
}
