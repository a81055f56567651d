//! Hashes as Nix prints and parses them: the four algorithms Nix supports,
//! their base-16 / nix-base32 / base-64 / SRI spellings, and streaming
//! hashing.
//!
//! Parsing follows Nix 2.8's `Hash::parseAny`: a `<algo>:` prefix or an SRI
//! `<algo>-` prefix may name the algorithm, otherwise the caller must; the
//! length of the rest picks the encoding (base16, nix32 or base64; SRI is
//! always base64).
//!
//! ```
//! use nix_formats::hash::{HashAlgo, NixHash};
//! let h = NixHash::parse("sha256-mOpuTyFvL7S2n/+bOkSELDhobKaF8/VdxIxdP7EQe+Q=", None).unwrap();
//! assert_eq!(h.to_typed_nix32(), "sha256:1r3v22qkypccqifzbww5lrn6hf1chi23m6zzkyvb8bvg457nxslq");
//! assert_eq!(NixHash::of(HashAlgo::Sha256, b"hi\n"), h);
//! ```

use std::fmt;
use std::io;
use std::str::FromStr;

use data_encoding::{BASE64, BASE64_NOPAD, HEXLOWER, HEXLOWER_PERMISSIVE};
use sha2::Digest;

use crate::nixbase32;

/// Longest digest of any supported algorithm (sha512).
pub const MAX_DIGEST_LEN: usize = 64;

/// Errors from parsing or constructing hashes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The algorithm name is not one of md5, sha1, sha256, sha512.
    #[error("unknown hash algorithm {0:?}")]
    UnknownAlgo(String),
    /// A digest of the wrong length for its algorithm.
    #[error("{algo} digest must be {expected} bytes, got {got}")]
    WrongDigestLength {
        /// The algorithm.
        algo: HashAlgo,
        /// Its digest length.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// No algorithm was given by a prefix nor by the caller.
    #[error("hash {0:?} does not include a type, nor is the type otherwise known from context")]
    MissingAlgo(String),
    /// The prefix names a different algorithm than the caller expects.
    #[error("hash {hash:?} should have type {expected}")]
    AlgoMismatch {
        /// The hash string.
        hash: String,
        /// The algorithm expected by the caller.
        expected: HashAlgo,
    },
    /// The encoded part has a length matching no encoding of the algorithm.
    #[error("hash {hash:?} has wrong length for hash type {algo}")]
    WrongLength {
        /// The hash string.
        hash: String,
        /// The algorithm.
        algo: HashAlgo,
    },
    /// The encoded part is not valid in the encoding its length implies.
    #[error("invalid {encoding} in hash {hash:?}")]
    InvalidEncoding {
        /// The hash string.
        hash: String,
        /// "base16", "nix32" or "base64".
        encoding: &'static str,
    },
}

/// The hash algorithms Nix supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgo {
    /// MD5 (16 bytes).
    Md5,
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-512 (64 bytes).
    Sha512,
}

impl HashAlgo {
    /// All algorithms, weakest first.
    pub const ALL: [HashAlgo; 4] = [Self::Md5, Self::Sha1, Self::Sha256, Self::Sha512];

    /// Digest length in bytes.
    pub const fn digest_len(self) -> usize {
        match self {
            Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    /// The name Nix uses ("md5", "sha1", "sha256", "sha512").
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// Length of the base-16 encoding of a digest.
    pub const fn base16_len(self) -> usize {
        self.digest_len() * 2
    }

    /// Length of the nix-base32 encoding of a digest.
    pub const fn nix32_len(self) -> usize {
        nixbase32::encoded_len(self.digest_len())
    }

    /// Length of the padded base-64 encoding of a digest.
    pub const fn base64_len(self) -> usize {
        self.digest_len().div_ceil(3) * 4
    }
}

impl fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HashAlgo {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "md5" => Ok(Self::Md5),
            "sha1" => Ok(Self::Sha1),
            "sha256" => Ok(Self::Sha256),
            "sha512" => Ok(Self::Sha512),
            _ => Err(Error::UnknownAlgo(s.to_owned())),
        }
    }
}

/// A digest together with its algorithm. Always holds a digest of the right
/// length. Orders by algorithm, then digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NixHash {
    algo: HashAlgo,
    bytes: [u8; MAX_DIGEST_LEN],
}

impl NixHash {
    /// Wraps a digest, checking its length against the algorithm.
    pub fn new(algo: HashAlgo, digest: &[u8]) -> Result<Self, Error> {
        if digest.len() != algo.digest_len() {
            return Err(Error::WrongDigestLength {
                algo,
                expected: algo.digest_len(),
                got: digest.len(),
            });
        }
        let mut bytes = [0u8; MAX_DIGEST_LEN];
        bytes[..digest.len()].copy_from_slice(digest);
        Ok(Self { algo, bytes })
    }

    /// Hashes `data` in one go.
    pub fn of(algo: HashAlgo, data: &[u8]) -> Self {
        let mut h = Hasher::new(algo);
        h.update(data);
        h.finish()
    }

    /// The algorithm.
    pub fn algo(&self) -> HashAlgo {
        self.algo
    }

    /// The raw digest.
    pub fn digest(&self) -> &[u8] {
        &self.bytes[..self.algo.digest_len()]
    }

    /// Parses any form Nix accepts (see the module doc). `algo` is the
    /// algorithm the caller expects; a prefix in `s` must agree with it.
    pub fn parse(s: &str, algo: Option<HashAlgo>) -> Result<Self, Error> {
        let (prefix, rest, sri) = if let Some((p, r)) = s.split_once(':') {
            (Some(p), r, false)
        } else if let Some((p, r)) = s.split_once('-') {
            (Some(p), r, true)
        } else {
            (None, s, false)
        };
        let algo = match (prefix, algo) {
            (Some(p), expected) => {
                let parsed: HashAlgo = p.parse()?;
                if let Some(e) = expected
                    && e != parsed
                {
                    return Err(Error::AlgoMismatch {
                        hash: s.to_owned(),
                        expected: e,
                    });
                }
                parsed
            }
            (None, Some(a)) => a,
            (None, None) => return Err(Error::MissingAlgo(s.to_owned())),
        };
        let invalid = |encoding| Error::InvalidEncoding {
            hash: s.to_owned(),
            encoding,
        };
        let digest = if !sri && rest.len() == algo.base16_len() {
            HEXLOWER_PERMISSIVE
                .decode(rest.as_bytes())
                .map_err(|_| invalid("base16"))?
        } else if !sri && rest.len() == algo.nix32_len() {
            nixbase32::decode(rest).map_err(|_| invalid("nix32"))?
        } else if sri || rest.len() == algo.base64_len() {
            decode_base64(rest).ok_or_else(|| invalid("base64"))?
        } else {
            return Err(Error::WrongLength {
                hash: s.to_owned(),
                algo,
            });
        };
        Self::new(algo, &digest).map_err(|_| Error::WrongLength {
            hash: s.to_owned(),
            algo,
        })
    }

    /// Lower-case base 16, no prefix.
    pub fn to_base16(&self) -> String {
        HEXLOWER.encode(self.digest())
    }

    /// Nix-base32, no prefix.
    pub fn to_nix32(&self) -> String {
        nixbase32::encode(self.digest())
    }

    /// Padded base 64, no prefix.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.digest())
    }

    /// Subresource-integrity form, `sha256-<base64>`.
    pub fn to_sri(&self) -> String {
        format!("{}-{}", self.algo, self.to_base64())
    }

    /// `sha256:<base16>`.
    pub fn to_typed_base16(&self) -> String {
        format!("{}:{}", self.algo, self.to_base16())
    }

    /// `sha256:<nix32>`, the form Nix prints most often.
    pub fn to_typed_nix32(&self) -> String {
        format!("{}:{}", self.algo, self.to_nix32())
    }
}

/// Accepts padded or unpadded canonical base 64.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    if s.contains('=') {
        BASE64.decode(s.as_bytes()).ok()
    } else {
        BASE64_NOPAD.decode(s.as_bytes()).ok()
    }
}

impl fmt::Debug for NixHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NixHash({})", self.to_typed_base16())
    }
}

/// Displays as `<algo>:<nix32>`.
impl fmt::Display for NixHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_typed_nix32())
    }
}

/// Parses a prefixed (`sha256:` or SRI) hash.
impl FromStr for NixHash {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s, None)
    }
}

/// Streaming hasher over any supported algorithm. Also an [`io::Write`], so
/// `io::copy` and NAR writers can feed it directly.
#[derive(Clone)]
pub enum Hasher {
    /// MD5.
    Md5(md5::Md5),
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hasher({})", self.algo())
    }
}

impl Hasher {
    /// A fresh hasher.
    pub fn new(algo: HashAlgo) -> Self {
        match algo {
            HashAlgo::Md5 => Self::Md5(md5::Md5::new()),
            HashAlgo::Sha1 => Self::Sha1(sha1::Sha1::new()),
            HashAlgo::Sha256 => Self::Sha256(sha2::Sha256::new()),
            HashAlgo::Sha512 => Self::Sha512(sha2::Sha512::new()),
        }
    }

    /// The algorithm.
    pub fn algo(&self) -> HashAlgo {
        match self {
            Self::Md5(_) => HashAlgo::Md5,
            Self::Sha1(_) => HashAlgo::Sha1,
            Self::Sha256(_) => HashAlgo::Sha256,
            Self::Sha512(_) => HashAlgo::Sha512,
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Md5(h) => h.update(data),
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> NixHash {
        let algo = self.algo();
        let mut bytes = [0u8; MAX_DIGEST_LEN];
        match self {
            Self::Md5(h) => bytes[..16].copy_from_slice(&h.finalize()),
            Self::Sha1(h) => bytes[..20].copy_from_slice(&h.finalize()),
            Self::Sha256(h) => bytes[..32].copy_from_slice(&h.finalize()),
            Self::Sha512(h) => bytes[..64].copy_from_slice(&h.finalize()),
        }
        NixHash { algo, bytes }
    }
}

impl io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.update(buf);
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A reader or writer that hashes and counts every byte passing through it: read from the
/// inner reader, or accepted by the inner writer. E.g. the NAR hash of a NAR while writing
/// it to a file, or of exactly the NAR's bytes read from a longer stream.
#[derive(Debug)]
pub struct Hashing<T> {
    inner: T,
    hasher: Hasher,
    count: u64,
}

/// [`Hashing`] a reader.
pub type HashingReader<R> = Hashing<R>;

/// [`Hashing`] a writer.
pub type HashingWriter<W> = Hashing<W>;

impl<T> Hashing<T> {
    /// Wraps `inner`, hashing with `algo`.
    pub fn new(inner: T, algo: HashAlgo) -> Self {
        Self {
            inner,
            hasher: Hasher::new(algo),
            count: 0,
        }
    }

    /// Bytes passed through so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The hash and count of everything passed through, and the inner reader or writer.
    pub fn finish(self) -> (NixHash, u64, T) {
        (self.hasher.finish(), self.count, self.inner)
    }

    fn pass(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.count += bytes.len() as u64;
    }
}

impl<R: io::Read> io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pass(&buf[..n]);
        Ok(n)
    }
}

impl<W: io::Write> io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Hash only what the inner writer accepted.
        let n = self.inner.write(buf)?;
        self.pass(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Nix's `compressHash`: folds a digest into `N` bytes by XOR-ing byte `i`
/// into position `i % N`. Store path digests are sha256 folded to 20 bytes.
pub fn compress_hash<const N: usize>(digest: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in digest.iter().enumerate() {
        out[i % N] ^= b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4";
    const NIX32: &str = "1r3v22qkypccqifzbww5lrn6hf1chi23m6zzkyvb8bvg457nxslq";
    const SRI: &str = "sha256-mOpuTyFvL7S2n/+bOkSELDhobKaF8/VdxIxdP7EQe+Q=";

    #[test]
    fn conversions_match_nix() {
        // nix-hash --to-base32 / --to-base16, nix hash to-sri (README §4).
        let h = NixHash::parse(HEX, Some(HashAlgo::Sha256)).unwrap();
        assert_eq!(h.to_nix32(), NIX32);
        assert_eq!(h.to_sri(), SRI);
        assert_eq!(NixHash::parse(NIX32, Some(HashAlgo::Sha256)).unwrap(), h);
        assert_eq!(NixHash::parse(SRI, None).unwrap().to_base16(), HEX);
        assert_eq!(h.to_typed_base16(), format!("sha256:{HEX}"));
        let sha1 =
            NixHash::parse("9djha9dv3ikxh81sw29z0a1wdakcif3i", Some(HashAlgo::Sha1)).unwrap();
        assert_eq!(sha1.to_base16(), "71b8c8a66a3c28f093e03a20d8671cbb2505654b");
    }

    #[test]
    fn every_form_parses() {
        let h = NixHash::parse(HEX, Some(HashAlgo::Sha256)).unwrap();
        let b64 = h.to_base64();
        for s in [
            format!("sha256:{HEX}"),
            format!("sha256:{}", HEX.to_uppercase()),
            format!("sha256:{NIX32}"),
            format!("sha256:{b64}"),
            SRI.to_string(),
            SRI.trim_end_matches('=').to_string(),
        ] {
            assert_eq!(NixHash::parse(&s, None), Ok(h), "{s}");
            assert_eq!(NixHash::parse(&s, Some(HashAlgo::Sha256)), Ok(h), "{s}");
        }
        assert_eq!(NixHash::parse(&b64, Some(HashAlgo::Sha256)), Ok(h));
    }

    #[test]
    fn errors() {
        assert_eq!(
            NixHash::parse(HEX, None),
            Err(Error::MissingAlgo(HEX.into()))
        );
        assert_eq!(
            NixHash::parse("sha256:abc", None),
            Err(Error::WrongLength {
                hash: "sha256:abc".into(),
                algo: HashAlgo::Sha256
            })
        );
        assert_eq!(
            NixHash::parse(SRI, Some(HashAlgo::Sha1)),
            Err(Error::AlgoMismatch {
                hash: SRI.into(),
                expected: HashAlgo::Sha1
            })
        );
        assert_eq!(
            NixHash::parse("sha3:abc", None),
            Err(Error::UnknownAlgo("sha3".into()))
        );
        let bad = format!("sha256:{}", "g".repeat(64));
        assert_eq!(
            NixHash::parse(&bad, None),
            Err(Error::InvalidEncoding {
                hash: bad.clone(),
                encoding: "base16"
            })
        );
        assert_eq!(
            NixHash::parse("sha256-AAAA", None),
            Err(Error::WrongLength {
                hash: "sha256-AAAA".into(),
                algo: HashAlgo::Sha256
            })
        );
        assert!(NixHash::new(HashAlgo::Md5, &[0; 20]).is_err());
    }

    #[test]
    fn digests_of_hello() {
        // nix-hash --type sha256 --flat hello.txt (README §1).
        let h = NixHash::of(HashAlgo::Sha256, b"Hello, Nix!\n");
        assert_eq!(
            h.to_base16(),
            "c9ecc8a2369eb18e2b867ab572566edbcfee5abafa98345e868a4e515397f4d8"
        );
        assert_eq!(
            h.to_nix32(),
            "1n7ljx9m2klahrg3967sp9dfxkyvdrb75dbshqmqxccy6siciv69"
        );
        // The empty-input digests of the other algorithms (well known).
        assert_eq!(
            NixHash::of(HashAlgo::Md5, b"").to_base16(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            NixHash::of(HashAlgo::Sha1, b"").to_base16(),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert!(
            NixHash::of(HashAlgo::Sha512, b"")
                .to_base16()
                .starts_with("cf83e1357eefb8bd")
        );
    }

    /// testdata/hashes.txt: `nix-hash` and `nix hash to-sri` for every
    /// algorithm (generated by testdata/gen-extra.sh).
    #[test]
    fn every_algorithm_matches_nix_hash() {
        let table = include_str!("../testdata/hashes.txt");
        let mut n = 0;
        for line in table.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let data: &[u8] = match f[0] {
                "inputs/hello.txt" => include_bytes!("../testdata/inputs/hello.txt"),
                "nar/tree.nar" => include_bytes!("../testdata/nar/tree.nar"),
                other => panic!("unknown input {other}"),
            };
            let algo: HashAlgo = f[1].parse().unwrap();
            let h = NixHash::of(algo, data);
            assert_eq!(h.to_base16(), f[2], "{line}");
            assert_eq!(h.to_nix32(), f[3], "{line}");
            assert_eq!(h.to_sri(), f[4], "{line}");
            for s in &f[2..] {
                assert_eq!(NixHash::parse(s, Some(algo)), Ok(h), "{s}");
            }
            n += 1;
        }
        assert_eq!(n, 8);
    }

    #[test]
    fn hashing_writer_tees() {
        use std::io::Write;
        let mut w = HashingWriter::new(Vec::new(), HashAlgo::Sha256);
        w.write_all(b"Hello, ").unwrap();
        w.write_all(b"Nix!\n").unwrap();
        let (h, n, inner) = w.finish();
        assert_eq!((n, inner.as_slice()), (12, &b"Hello, Nix!\n"[..]));
        assert_eq!(h, NixHash::of(HashAlgo::Sha256, b"Hello, Nix!\n"));
    }

    #[test]
    fn algo_names_roundtrip() {
        for a in HashAlgo::ALL {
            assert_eq!(a.as_str().parse::<HashAlgo>(), Ok(a));
            assert_eq!(NixHash::of(a, b"x").digest().len(), a.digest_len());
            let h = NixHash::of(a, b"x");
            for s in [
                h.to_sri(),
                h.to_typed_base16(),
                h.to_typed_nix32(),
                format!("{a}:{}", h.to_base64()),
            ] {
                assert_eq!(NixHash::parse(&s, None), Ok(h), "{s}");
            }
        }
    }
}
