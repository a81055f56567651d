//! Store paths: parsing and validating `/nix/store/<hash>-<name>`, and
//! computing them the way Nix's `makeStorePath` does.
//!
//! A [`StorePath`] is independent of the store directory (it is the base
//! name); a [`StoreDir`] value turns it into an absolute path and is needed to
//! compute paths, because the store directory is part of every fingerprint:
//!
//! ```text
//! fingerprint = <type> ":" <algo> ":" <base16 inner hash> ":" <store dir> ":" <name>
//! digest      = compress_hash::<20>(sha256(fingerprint))
//! type        = "text" (":" <ref>)*                 text files (builtins.toFile, .drv)
//!             | "source" (":" <ref>)* [":self"]      recursive sha256 content
//!             | "output:out"                         other fixed-output content
//!             | "output:" <output id>                input-addressed derivation outputs
//! ```
//!
//! ```
//! use nix_formats::hash::{HashAlgo, NixHash};
//! use nix_formats::store_path::StoreDir;
//! let dir = StoreDir::default();
//! let p = dir.parse("/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt").unwrap();
//! assert_eq!(p.name(), "hello.txt");
//! let nar = NixHash::parse("sha256:14ml5q1qvx7y3d0n2d1n0j2gdj4s0z54pfj6iwvgnn038ipybsgd", None).unwrap();
//! assert_eq!(dir.make_source_path("hello.txt", &nar, &Default::default(), false).unwrap(), p);
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::hash::{self, HashAlgo, NixHash};
use crate::nixbase32;

/// Length of a store path digest in bytes.
pub const DIGEST_LEN: usize = 20;
/// Length of the nix-base32 hash part of a base name.
pub const HASH_PART_LEN: usize = nixbase32::encoded_len(DIGEST_LEN);
/// Longest name Nix accepts (`StorePath::MaxPathLen` in Nix 2.8).
pub const MAX_NAME_LEN: usize = 211;
/// Extension of derivation files.
pub const DRV_EXTENSION: &str = ".drv";

/// Store path errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The base name is too short to hold a hash part and a name.
    #[error("store path base name {0:?} is too short")]
    TooShort(String),
    /// The 32-character hash part is not valid nix-base32.
    #[error("store path {path:?} has an invalid hash part: {source}")]
    InvalidHashPart {
        /// The offending base name or path.
        path: String,
        /// Why.
        source: nixbase32::Error,
    },
    /// There is no `-` after the hash part.
    #[error("store path {0:?} lacks the '-' after the hash part")]
    MissingDash(String),
    /// The name is empty, too long or has a bad character.
    #[error("store path name {name:?} is invalid: {reason}")]
    InvalidName {
        /// The offending name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The path is not directly inside the store directory.
    #[error("path {path:?} is not in the Nix store {store_dir:?}")]
    NotInStore {
        /// The path.
        path: String,
        /// The store directory.
        store_dir: String,
    },
    /// A store directory that is not absolute, or has a trailing slash or
    /// `.`/`..`/empty components.
    #[error("invalid store directory {0:?}")]
    InvalidStoreDir(String),
    /// A builder was given a hash of an algorithm it does not accept.
    #[error("{what} must be a sha256 hash, got {got}")]
    NotSha256 {
        /// Which argument.
        what: &'static str,
        /// The algorithm given.
        got: HashAlgo,
    },
    /// Fixed-output paths other than recursive sha256 cannot have references.
    #[error("fixed-output path {name:?} ({method} {algo}) cannot have references")]
    FixedOutputWithReferences {
        /// The name.
        name: String,
        /// The ingestion method.
        method: FileIngestionMethod,
        /// The algorithm.
        algo: HashAlgo,
    },
    /// A content address string that is not `text:…` or `fixed:…`.
    #[error("invalid content address {0:?}")]
    InvalidContentAddress(String),
    /// A content address with a bad hash.
    #[error("invalid hash in content address: {0}")]
    Hash(#[from] hash::Error),
}

/// Checks a store path name against Nix 2.8's rules: 1..=211 characters from
/// `[A-Za-z0-9+-._?=]`. Nix 2.8 accepts a leading `.`, even `.` and `..`
/// (`builtins.toFile "." "x"` works; see testdata/tofile-paths.txt); later
/// Nix versions reject those.
pub fn validate_name(name: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("longer than 211 characters");
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"+-._?=".contains(&c))
    {
        return bad("contains a character outside [A-Za-z0-9+-._?=]");
    }
    Ok(())
}

/// A store path without its store directory: a 20-byte digest and a name.
///
/// Orders like Nix orders store paths (by the printed base name).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StorePath {
    /// The nix-base32 hash part; first so that derived `Ord` compares the
    /// printed form, as Nix does.
    hash_part: [u8; HASH_PART_LEN],
    name: String,
    digest: [u8; DIGEST_LEN],
}

impl StorePath {
    /// Builds a store path from a digest and a name, validating the name.
    pub fn new(digest: [u8; DIGEST_LEN], name: &str) -> Result<Self, Error> {
        validate_name(name)?;
        let mut hash_part = [0u8; HASH_PART_LEN];
        hash_part.copy_from_slice(nixbase32::encode(&digest).as_bytes());
        Ok(Self {
            hash_part,
            name: name.to_owned(),
            digest,
        })
    }

    /// Parses `<32 nix32 chars>-<name>`.
    pub fn from_base_name(s: &str) -> Result<Self, Error> {
        if s.len() < HASH_PART_LEN + 2 {
            return Err(Error::TooShort(s.to_owned()));
        }
        let Some(hash) = s.get(..HASH_PART_LEN) else {
            return Err(Error::TooShort(s.to_owned()));
        };
        let digest = nixbase32::decode_fixed::<DIGEST_LEN>(hash).map_err(|source| {
            Error::InvalidHashPart {
                path: s.to_owned(),
                source,
            }
        })?;
        let rest = &s[HASH_PART_LEN..];
        let Some(name) = rest.strip_prefix('-') else {
            return Err(Error::MissingDash(s.to_owned()));
        };
        Self::new(digest, name)
    }

    /// The 20-byte digest.
    pub fn digest(&self) -> &[u8; DIGEST_LEN] {
        &self.digest
    }

    /// The name after the dash.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-character nix-base32 hash part.
    pub fn hash_part(&self) -> &str {
        // Always ASCII from the nix32 alphabet.
        std::str::from_utf8(&self.hash_part).unwrap_or_default()
    }

    /// Whether the name ends in `.drv`.
    pub fn is_derivation(&self) -> bool {
        self.name.ends_with(DRV_EXTENSION)
    }
}

/// The base name `<hash>-<name>`.
impl fmt::Display for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.hash_part(), self.name)
    }
}

impl fmt::Debug for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorePath({self})")
    }
}

/// Parses a base name.
impl FromStr for StorePath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_base_name(s)
    }
}

/// How file content is turned into a hash: the bytes of a single file, or
/// the NAR serialisation of a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileIngestionMethod {
    /// Hash of the file's bytes.
    Flat,
    /// Hash of the NAR serialisation.
    Recursive,
}

impl FileIngestionMethod {
    /// `""` or `"r:"`, the prefix Nix puts before the algorithm.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Flat => "",
            Self::Recursive => "r:",
        }
    }
}

impl fmt::Display for FileIngestionMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Flat => "flat",
            Self::Recursive => "recursive",
        })
    }
}

/// The directory holding the store (by default `/nix/store`): an absolute
/// path without trailing slash or `.`/`..` components.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoreDir(String);

impl Default for StoreDir {
    fn default() -> Self {
        Self("/nix/store".to_owned())
    }
}

impl fmt::Display for StoreDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for StoreDir {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl StoreDir {
    /// Validates a store directory.
    pub fn new(dir: &str) -> Result<Self, Error> {
        let ok = dir.len() > 1
            && dir.starts_with('/')
            && !dir.contains('\0')
            && dir[1..]
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..");
        if ok {
            Ok(Self(dir.to_owned()))
        } else {
            Err(Error::InvalidStoreDir(dir.to_owned()))
        }
    }

    /// The directory as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses an absolute path that must be exactly a store path.
    pub fn parse(&self, abs: &str) -> Result<StorePath, Error> {
        match self.parse_prefix(abs)? {
            (p, "") => Ok(p),
            _ => Err(self.not_in_store(abs)),
        }
    }

    /// Parses an absolute path at or inside a store path, returning the store
    /// path and the rest (empty, or starting with `/`).
    pub fn parse_prefix<'a>(&self, abs: &'a str) -> Result<(StorePath, &'a str), Error> {
        let rest = abs
            .strip_prefix(self.0.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| self.not_in_store(abs))?;
        let (base, rest) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        Ok((StorePath::from_base_name(base)?, rest))
    }

    fn not_in_store(&self, path: &str) -> Error {
        Error::NotInStore {
            path: path.to_owned(),
            store_dir: self.0.clone(),
        }
    }

    /// The absolute path of a store path.
    pub fn display(&self, path: &StorePath) -> String {
        format!("{}/{}", self.0, path)
    }

    /// Nix's `makeStorePath`: the path whose digest is the compressed sha256
    /// of `<ty>:<algo>:<base16 hash>:<store dir>:<name>`.
    pub fn make_store_path(
        &self,
        ty: &str,
        hash: &NixHash,
        name: &str,
    ) -> Result<StorePath, Error> {
        validate_name(name)?;
        let fingerprint = format!("{ty}:{}:{}:{name}", hash.to_typed_base16(), self.0);
        let h = NixHash::of(HashAlgo::Sha256, fingerprint.as_bytes());
        StorePath::new(hash::compress_hash::<DIGEST_LEN>(h.digest()), name)
    }

    /// Nix's `makeType`: `ty` followed by `:<abs ref>` for every reference,
    /// and `:self` for a self-reference.
    fn make_type(&self, ty: &str, references: &BTreeSet<StorePath>, self_ref: bool) -> String {
        let mut s = ty.to_owned();
        for r in references {
            s.push(':');
            s.push_str(&self.display(r));
        }
        if self_ref {
            s.push_str(":self");
        }
        s
    }

    /// Path of a text file such as `builtins.toFile` or a `.drv` writes.
    pub fn make_text_path(
        &self,
        name: &str,
        content_sha256: &NixHash,
        references: &BTreeSet<StorePath>,
    ) -> Result<StorePath, Error> {
        require_sha256("text content hash", content_sha256)?;
        self.make_store_path(
            &self.make_type("text", references, false),
            content_sha256,
            name,
        )
    }

    /// Path of recursively-hashed (sha256 over the NAR) content.
    pub fn make_source_path(
        &self,
        name: &str,
        nar_sha256: &NixHash,
        references: &BTreeSet<StorePath>,
        self_ref: bool,
    ) -> Result<StorePath, Error> {
        require_sha256("NAR hash", nar_sha256)?;
        self.make_store_path(
            &self.make_type("source", references, self_ref),
            nar_sha256,
            name,
        )
    }

    /// Path of fixed-output content. Recursive sha256 is a source path;
    /// everything else is `output:out` over `fixed:out:[r:]<algo>:<base16>:`
    /// and cannot have references.
    pub fn make_fixed_output_path(
        &self,
        name: &str,
        method: FileIngestionMethod,
        hash: &NixHash,
        references: &BTreeSet<StorePath>,
        self_ref: bool,
    ) -> Result<StorePath, Error> {
        if method == FileIngestionMethod::Recursive && hash.algo() == HashAlgo::Sha256 {
            return self.make_source_path(name, hash, references, self_ref);
        }
        if !references.is_empty() || self_ref {
            return Err(Error::FixedOutputWithReferences {
                name: name.to_owned(),
                method,
                algo: hash.algo(),
            });
        }
        let inner = format!("fixed:out:{}{}:", method.prefix(), hash.to_typed_base16());
        let inner = NixHash::of(HashAlgo::Sha256, inner.as_bytes());
        self.make_store_path("output:out", &inner, name)
    }

    /// Path of output `output_name` of an input-addressed derivation whose
    /// `hashDerivationModulo` is `drv_hash_modulo`.
    pub fn make_output_path(
        &self,
        output_name: &str,
        drv_hash_modulo: &NixHash,
        drv_name: &str,
    ) -> Result<StorePath, Error> {
        require_sha256("derivation hash", drv_hash_modulo)?;
        let name = output_path_name(drv_name, output_name);
        self.make_store_path(&format!("output:{output_name}"), drv_hash_modulo, &name)
    }
}

/// The store path name of an output: the derivation name, plus
/// `-<output>` unless the output is `out`.
pub fn output_path_name(drv_name: &str, output_name: &str) -> String {
    if output_name == "out" {
        drv_name.to_owned()
    } else {
        format!("{drv_name}-{output_name}")
    }
}

fn require_sha256(what: &'static str, h: &NixHash) -> Result<(), Error> {
    if h.algo() == HashAlgo::Sha256 {
        Ok(())
    } else {
        Err(Error::NotSha256 {
            what,
            got: h.algo(),
        })
    }
}

/// How a content-addressed store path was computed, as Nix records it in
/// path info (`ca` field): `text:sha256:<nix32>` or
/// `fixed:[r:]<algo>:<nix32>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContentAddress {
    /// A text file (sha256 of its bytes).
    Text(NixHash),
    /// Fixed-output content.
    Fixed {
        /// Flat or recursive.
        method: FileIngestionMethod,
        /// The content hash.
        hash: NixHash,
    },
}

impl ContentAddress {
    /// The store path this content address gives for `name` and references.
    pub fn store_path(
        &self,
        dir: &StoreDir,
        name: &str,
        references: &BTreeSet<StorePath>,
    ) -> Result<StorePath, Error> {
        match self {
            Self::Text(h) => dir.make_text_path(name, h, references),
            Self::Fixed { method, hash } => {
                dir.make_fixed_output_path(name, *method, hash, references, false)
            }
        }
    }

    /// The hash inside.
    pub fn hash(&self) -> &NixHash {
        match self {
            Self::Text(h) | Self::Fixed { hash: h, .. } => h,
        }
    }
}

impl fmt::Display for ContentAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(h) => write!(f, "text:{}", h.to_typed_nix32()),
            Self::Fixed { method, hash } => {
                write!(f, "fixed:{}{}", method.prefix(), hash.to_typed_nix32())
            }
        }
    }
}

impl FromStr for ContentAddress {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidContentAddress(s.to_owned());
        if let Some(rest) = s.strip_prefix("text:") {
            let (algo, _) = rest.split_once(':').ok_or_else(invalid)?;
            if algo != "sha256" {
                return Err(invalid());
            }
            Ok(Self::Text(NixHash::parse(rest, None)?))
        } else if let Some(rest) = s.strip_prefix("fixed:") {
            let (method, rest) = match rest.strip_prefix("r:") {
                Some(r) => (FileIngestionMethod::Recursive, r),
                None => (FileIngestionMethod::Flat, rest),
            };
            if !rest.contains(':') {
                return Err(invalid());
            }
            Ok(Self::Fixed {
                method,
                hash: NixHash::parse(rest, None)?,
            })
        } else {
            Err(invalid())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FileIngestionMethod::{Flat, Recursive};

    fn dir() -> StoreDir {
        StoreDir::default()
    }
    fn sp(abs: &str) -> StorePath {
        dir().parse(abs).unwrap()
    }
    fn none() -> BTreeSet<StorePath> {
        BTreeSet::new()
    }
    const HELLO_FLAT: &str = "sha256:1n7ljx9m2klahrg3967sp9dfxkyvdrb75dbshqmqxccy6siciv69";
    const HELLO_NAR: &str = "sha256:14ml5q1qvx7y3d0n2d1n0j2gdj4s0z54pfj6iwvgnn038ipybsgd";
    const TREE_NAR: &str = "sha256:1g4dsjzjdcqbjly67vc7fnaqdsbfbr8rx9ixh4zx5m57vw4la29y";

    fn h(s: &str) -> NixHash {
        NixHash::parse(s, None).unwrap()
    }

    #[test]
    fn parse_and_print() {
        let abs = "/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt";
        let p = sp(abs);
        assert_eq!(p.hash_part(), "2xr781z591fm9c9jchvf8389sr8qsszk");
        assert_eq!(p.name(), "hello.txt");
        assert_eq!(p.to_string(), "2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt");
        assert_eq!(dir().display(&p), abs);
        assert!(!p.is_derivation());
        assert_eq!(
            dir().parse_prefix(&format!("{abs}/sub/b.txt")).unwrap(),
            (p.clone(), "/sub/b.txt")
        );
        assert_eq!(StorePath::from_base_name(&p.to_string()), Ok(p));
    }

    #[test]
    fn parse_errors() {
        let d = dir();
        assert!(matches!(
            d.parse("/nix/store"),
            Err(Error::NotInStore { .. })
        ));
        assert!(matches!(
            d.parse("/nix/storex/2xr781z591fm9c9jchvf8389sr8qsszk-a"),
            Err(Error::NotInStore { .. })
        ));
        assert!(matches!(
            d.parse("/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-a/b"),
            Err(Error::NotInStore { .. })
        ));
        assert!(matches!(
            d.parse("/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk"),
            Err(Error::TooShort(_))
        ));
        assert!(matches!(
            d.parse("/nix/store/2xr781z591fm9c9jchvf8389sr8qsszkxa"),
            Err(Error::MissingDash(_))
        ));
        assert!(matches!(
            d.parse("/nix/store/exr781z591fm9c9jchvf8389sr8qsszk-a"),
            Err(Error::InvalidHashPart { .. })
        ));
        for bad in ["", "a b", "a/b", "é", "a\0", &"x".repeat(212)] {
            let base = format!("2xr781z591fm9c9jchvf8389sr8qsszk-{bad}");
            assert!(StorePath::from_base_name(&base).is_err(), "{bad:?}");
        }
        for good in [
            "a",
            "a.b",
            "+-._?=",
            "A9",
            &"x".repeat(211),
            "x.drv",
            ".",
            "..",
            ".a",
        ] {
            StorePath::from_base_name(&format!("2xr781z591fm9c9jchvf8389sr8qsszk-{good}")).unwrap();
        }
    }

    #[test]
    fn store_dirs() {
        for bad in [
            "",
            "/",
            "nix/store",
            "/nix/store/",
            "/nix//store",
            "/nix/../store",
            "/a/./b",
        ] {
            assert_eq!(StoreDir::new(bad), Err(Error::InvalidStoreDir(bad.into())));
        }
        let other = StoreDir::new("/tmp/st").unwrap();
        let p = other
            .make_text_path("x", &NixHash::of(HashAlgo::Sha256, b""), &none())
            .unwrap();
        assert_ne!(
            p,
            dir()
                .make_text_path("x", &NixHash::of(HashAlgo::Sha256, b""), &none())
                .unwrap()
        );
        assert_eq!(other.parse(&other.display(&p)), Ok(p));
    }

    /// nix-store --add / --add-fixed / builtins.path (README §1, §2, §4).
    #[test]
    fn ca_paths_match_nix() {
        let d = dir();
        let cases: &[(&str, FileIngestionMethod, NixHash, &str)] = &[
            (
                "hello.txt",
                Recursive,
                h(HELLO_NAR),
                "/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt",
            ),
            (
                "renamed",
                Recursive,
                h(HELLO_NAR),
                "/nix/store/48bms7zm06xlldihsak7fb90bvzk1jw6-renamed",
            ),
            (
                "hello.txt",
                Flat,
                h(HELLO_FLAT),
                "/nix/store/074js36zvzgjcc64qgnl216rlvpy7q65-hello.txt",
            ),
            (
                "hello.txt",
                Flat,
                NixHash::of(HashAlgo::Sha1, b"Hello, Nix!\n"),
                "/nix/store/jgj24cnq4hss1j1ky1phqw7nh2kr3gd7-hello.txt",
            ),
            (
                "tree",
                Recursive,
                h(TREE_NAR),
                "/nix/store/pq2mas8bmsxnc9bbgsa4z4fzvzfvj1pr-tree",
            ),
        ];
        for (name, method, hash, want) in cases {
            let got = d
                .make_fixed_output_path(name, *method, hash, &none(), false)
                .unwrap();
            assert_eq!(d.display(&got), *want, "{name} {method} {hash}");
        }
    }

    /// testdata/fixed-paths.txt: `nix-store --add-fixed [--recursive]` of
    /// hello.txt and the vector tree for every algorithm.
    #[test]
    fn fixed_paths_every_algorithm() {
        let d = dir();
        let table = include_str!("../testdata/fixed-paths.txt");
        let mut n = 0;
        for line in table.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let algo: HashAlgo = f[1].parse().unwrap();
            let (method, data, name): (_, &[u8], _) = match f[0] {
                "flat" => (
                    Flat,
                    include_bytes!("../testdata/inputs/hello.txt"),
                    "hello.txt",
                ),
                "recursive" => (
                    Recursive,
                    include_bytes!("../testdata/nar/tree.nar"),
                    "tree",
                ),
                other => panic!("unknown method {other}"),
            };
            let hash = NixHash::of(algo, data);
            let p = d
                .make_fixed_output_path(name, method, &hash, &none(), false)
                .unwrap();
            assert_eq!(d.display(&p), f[2], "{line}");
            let ca = ContentAddress::Fixed { method, hash };
            assert_eq!(ca.store_path(&d, name, &none()).unwrap(), p);
            assert_eq!(ca.to_string().parse::<ContentAddress>().unwrap(), ca);
            n += 1;
        }
        assert_eq!(n, 8);
    }

    /// testdata/tofile-paths.txt: `builtins.toFile <name> "x"` for edge-case names.
    #[test]
    fn edge_case_names_match_nix() {
        let d = dir();
        let content = NixHash::of(HashAlgo::Sha256, b"x");
        let mut n = 0;
        for line in include_str!("../testdata/tofile-paths.txt").lines() {
            let (name, want) = line.split_once(' ').unwrap();
            let p = d.make_text_path(name, &content, &none()).unwrap();
            assert_eq!(d.display(&p), want);
            assert_eq!(d.parse(want), Ok(p));
            n += 1;
        }
        assert_eq!(n, 9);
    }

    /// builtins.toFile, with and without a reference (README §4).
    #[test]
    fn text_paths_match_nix() {
        let d = dir();
        let greeting = d
            .make_text_path(
                "greeting.txt",
                &NixHash::of(HashAlgo::Sha256, b"hello from toFile\n"),
                &none(),
            )
            .unwrap();
        assert_eq!(
            d.display(&greeting),
            "/nix/store/mawqzks1y1qk0yac77rm6ailwnzr4m14-greeting.txt"
        );
        let content = format!("ref: {}", d.display(&greeting));
        let refs = BTreeSet::from([greeting]);
        let p = d
            .make_text_path(
                "refs.txt",
                &NixHash::of(HashAlgo::Sha256, content.as_bytes()),
                &refs,
            )
            .unwrap();
        assert_eq!(
            d.display(&p),
            "/nix/store/q15k4r3lhx7wm62531x3sagrp626sz6s-refs.txt"
        );
        let ca = ContentAddress::Text(NixHash::of(HashAlgo::Sha256, content.as_bytes()));
        assert_eq!(ca.store_path(&d, "refs.txt", &refs).unwrap(), p);
    }

    #[test]
    fn builder_errors() {
        let d = dir();
        let sha1 = NixHash::of(HashAlgo::Sha1, b"");
        assert_eq!(
            d.make_text_path("a", &sha1, &none()),
            Err(Error::NotSha256 {
                what: "text content hash",
                got: HashAlgo::Sha1
            })
        );
        let refs = BTreeSet::from([sp("/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt")]);
        assert!(matches!(
            d.make_fixed_output_path("a", Flat, &NixHash::of(HashAlgo::Sha256, b""), &refs, false),
            Err(Error::FixedOutputWithReferences { .. })
        ));
        assert!(matches!(
            d.make_fixed_output_path(
                "a b",
                Flat,
                &NixHash::of(HashAlgo::Sha256, b""),
                &none(),
                false
            ),
            Err(Error::InvalidName { .. })
        ));
    }

    #[test]
    fn content_addresses() {
        let s = "fixed:r:sha256:14ml5q1qvx7y3d0n2d1n0j2gdj4s0z54pfj6iwvgnn038ipybsgd";
        let ca: ContentAddress = s.parse().unwrap();
        assert_eq!(
            ca,
            ContentAddress::Fixed {
                method: Recursive,
                hash: h(HELLO_NAR)
            }
        );
        assert_eq!(ca.to_string(), s);
        assert_eq!(
            ca.store_path(&dir(), "hello.txt", &none()).unwrap(),
            sp("/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt")
        );
        let flat: ContentAddress = format!("fixed:{HELLO_FLAT}").parse().unwrap();
        assert_eq!(flat.to_string(), format!("fixed:{HELLO_FLAT}"));
        let text: ContentAddress = format!("text:{HELLO_FLAT}").parse().unwrap();
        assert_eq!(text, ContentAddress::Text(h(HELLO_FLAT)));
        for bad in [
            "",
            "text:sha1:9djha9dv3ikxh81sw29z0a1wdakcif3i",
            "fixed:r:",
            "blob:sha256:x",
            "fixed:abc",
        ] {
            assert!(bad.parse::<ContentAddress>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ordering_is_by_printed_name() {
        let mut v = [
            sp("/nix/store/zxr781z591fm9c9jchvf8389sr8qsszk-a"),
            sp("/nix/store/0xr781z591fm9c9jchvf8389sr8qsszk-b"),
            sp("/nix/store/0xr781z591fm9c9jchvf8389sr8qsszk-a"),
        ];
        v.sort();
        let printed: Vec<String> = v.iter().map(|p| p.to_string()).collect();
        let mut sorted = printed.clone();
        sorted.sort();
        assert_eq!(printed, sorted);
    }
}
