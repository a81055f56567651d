//! Derivations (`.drv` files): the ATerm format Nix writes them in, the
//! `hashDerivationModulo` that input-addressed output paths are computed
//! from, output path computation as `derivationStrict` does it, the `.drv`
//! store path, and `nix show-derivation`'s JSON.
//!
//! Matches Nix 2.8. ATerm grammar (every string is `"…"` with the escapes
//! `\"` `\\` `\n` `\r` `\t`):
//!
//! ```text
//! Derive([output,…],[inputDrv,…],[inputSrc,…],platform,builder,[arg,…],[env,…])
//! output   = (name, path, hashAlgo, hash)      see DerivationOutput
//! inputDrv = (drvPath, [outputName,…])
//! env      = (key, value)
//! ```
//!
//! ```
//! use nix_formats::derivation::{Derivation, DerivationOutput, Error};
//! use nix_formats::store_path::StoreDir;
//! let dir = StoreDir::default();
//! let mut drv = Derivation {
//!     platform: "x86_64-linux".into(),
//!     builder: "/bin/sh".into(),
//!     args: vec!["-c".into(), "echo hi > $out".into()],
//!     ..Default::default()
//! };
//! for (k, v) in [("builder", "/bin/sh"), ("name", "hello"), ("system", "x86_64-linux")] {
//!     drv.env.insert(k.into(), v.into());
//! }
//! drv.outputs.insert("out".into(), DerivationOutput::Deferred);
//! drv.compute_output_paths::<Error>("hello", &dir, |_| unreachable!()).unwrap();
//! assert_eq!(drv.env["out"], "/nix/store/mjs27ix6ig2bkbi3s3sm470vrv4lf7ic-hello");
//! let path = drv.drv_path("hello", &dir).unwrap();
//! assert_eq!(path.to_string(), "76w21n1f03fs5kw8fnffphx7qrqffw6r-hello.drv");
//! let bytes = drv.to_aterm_bytes(&dir);
//! assert_eq!(Derivation::from_aterm_bytes(&bytes, &dir).unwrap(), drv);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::hash::{self, HashAlgo, NixHash};
use crate::nixbase32;
use crate::store_path::{self, FileIngestionMethod, StoreDir, StorePath};

mod aterm;
mod json;

/// Derivation errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// ATerm syntax error.
    #[error("invalid derivation at byte {offset}: expected {expected}")]
    Syntax {
        /// Byte offset of the problem.
        offset: usize,
        /// What the grammar allows there.
        expected: &'static str,
    },
    /// A backslash escape other than `\"` `\\` `\n` `\r` `\t`.
    #[error("invalid escape '\\{escape}' in derivation at byte {offset}")]
    InvalidEscape {
        /// Byte offset of the backslash.
        offset: usize,
        /// The character after it.
        escape: char,
    },
    /// A string that is not UTF-8.
    #[error("derivation string at byte {0} is not valid UTF-8")]
    NotUtf8(usize),
    /// Map keys or set members not in strictly increasing order.
    #[error("derivation {what} not sorted or not unique at {key:?}")]
    Unsorted {
        /// Which collection.
        what: &'static str,
        /// The offending key.
        key: String,
    },
    /// A bad store path.
    #[error("invalid store path in derivation: {0}")]
    StorePath(#[from] store_path::Error),
    /// A bad output hash or algorithm.
    #[error("invalid hash in derivation output {output:?}: {source}")]
    Hash {
        /// The output name.
        output: String,
        /// Why.
        source: hash::Error,
    },
    /// An output whose path/hashAlgo/hash fields fit no output kind.
    #[error("invalid derivation output {output:?}: {reason}")]
    InvalidOutput {
        /// The output name.
        output: String,
        /// Why.
        reason: &'static str,
    },
    /// Fixed outputs mixed with other kinds, or several fixed outputs.
    #[error("unsupported combination of derivation outputs: {0}")]
    OutputKinds(&'static str),
    /// A derivation has no outputs.
    #[error("derivation has no outputs")]
    NoOutputs,
}

/// One output of a derivation, in the forms Nix 2.8 writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DerivationOutput {
    /// Input-addressed: `(name, path, "", "")`.
    InputAddressed(StorePath),
    /// Fixed-output: `(name, path, "[r:]algo", base16 hash)`.
    Fixed {
        /// The output path (as computed by
        /// [`StoreDir::make_fixed_output_path`]).
        path: StorePath,
        /// Flat or recursive.
        method: FileIngestionMethod,
        /// The expected hash.
        hash: NixHash,
    },
    /// Floating content-addressed (`ca-derivations`):
    /// `(name, "", "[r:]algo", "")`.
    Floating {
        /// Flat or recursive.
        method: FileIngestionMethod,
        /// The algorithm.
        algo: HashAlgo,
    },
    /// Impure (`impure-derivations`): `(name, "", "[r:]algo", "impure")`.
    Impure {
        /// Flat or recursive.
        method: FileIngestionMethod,
        /// The algorithm.
        algo: HashAlgo,
    },
    /// Path not known yet: `(name, "", "", "")`. Also the state of
    /// input-addressed outputs before [`Derivation::compute_output_paths`].
    Deferred,
}

impl DerivationOutput {
    /// A fixed output named `output_name` of the derivation `drv_name`, with
    /// its path computed.
    pub fn fixed(
        dir: &StoreDir,
        drv_name: &str,
        output_name: &str,
        method: FileIngestionMethod,
        hash: NixHash,
    ) -> Result<Self, Error> {
        let name = store_path::output_path_name(drv_name, output_name);
        let path = dir.make_fixed_output_path(&name, method, &hash, &BTreeSet::new(), false)?;
        Ok(Self::Fixed { path, method, hash })
    }

    /// The output path, when it is known.
    pub fn path(&self) -> Option<&StorePath> {
        match self {
            Self::InputAddressed(p) | Self::Fixed { path: p, .. } => Some(p),
            _ => None,
        }
    }

    /// `"[r:]<algo>"` for the content-addressed kinds.
    pub fn method_algo(&self) -> Option<String> {
        match self {
            Self::Fixed { method, hash, .. } => Some(format!("{}{}", method.prefix(), hash.algo())),
            Self::Floating { method, algo } | Self::Impure { method, algo } => {
                Some(format!("{}{}", method.prefix(), algo))
            }
            _ => None,
        }
    }
}

/// A derivation as stored in a `.drv` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derivation {
    /// Outputs by name.
    pub outputs: BTreeMap<String, DerivationOutput>,
    /// Input derivations and the outputs used from each.
    pub input_derivations: BTreeMap<StorePath, BTreeSet<String>>,
    /// Input sources (store paths that are not derivation outputs).
    pub input_sources: BTreeSet<StorePath>,
    /// The system type, e.g. `x86_64-linux`.
    pub platform: String,
    /// The builder executable.
    pub builder: String,
    /// Arguments to the builder.
    pub args: Vec<String>,
    /// Environment (with `__json` for structured attributes).
    pub env: BTreeMap<String, String>,
}

/// The modulo hash of a derivation and whether its outputs are deferred
/// (content-addressed derivations: see
/// [`Derivation::compute_output_paths_with_deferral`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrvHash {
    /// `hashDerivationModulo`.
    pub hash: NixHash,
    /// Whether output paths depend on a build not done yet.
    pub deferred: bool,
}

/// `hashPlaceholder`: what `$out` etc. hold before a floating output's path
/// is known, `/<nix32 of sha256("nix-output:<name>")>`.
pub fn hash_placeholder(output_name: &str) -> String {
    let h = NixHash::of(
        HashAlgo::Sha256,
        format!("nix-output:{output_name}").as_bytes(),
    );
    format!("/{}", nixbase32::encode(h.digest()))
}

impl Derivation {
    /// Parses a `.drv` file (strictly: see [`aterm`](self) module doc).
    pub fn from_aterm_bytes(bytes: &[u8], dir: &StoreDir) -> Result<Self, Error> {
        aterm::parse(bytes, dir)
    }

    /// Serialises as Nix writes `.drv` files.
    pub fn to_aterm_bytes(&self, dir: &StoreDir) -> Vec<u8> {
        aterm::print(self, dir, None)
    }

    /// Whether every output is fixed (a fixed-output derivation).
    pub fn is_fixed_output(&self) -> bool {
        !self.outputs.is_empty()
            && self
                .outputs
                .values()
                .all(|o| matches!(o, DerivationOutput::Fixed { .. }))
    }

    /// Nix's `hashDerivationModulo`: for a fixed-output derivation
    /// sha256(`fixed:out:<[r:]algo>:<base16 hash>:<out path>`); otherwise
    /// sha256 of the ATerm in which each input derivation path is replaced
    /// by the base16 of its own modulo hash (given by `input_drv_hashes`).
    /// Deferred outputs print with empty paths, as masked outputs do.
    pub fn hash_derivation_modulo<E: From<Error>>(
        &self,
        dir: &StoreDir,
        mut input_drv_hashes: impl FnMut(&StorePath) -> Result<NixHash, E>,
    ) -> Result<NixHash, E> {
        if self.outputs.is_empty() {
            return Err(Error::NoOutputs.into());
        }
        if self.is_fixed_output() {
            if self.outputs.len() != 1 {
                return Err(Error::OutputKinds("several fixed outputs").into());
            }
            let Some(DerivationOutput::Fixed { path, method, hash }) = self.outputs.values().next()
            else {
                return Err(Error::OutputKinds("fixed output expected").into());
            };
            let s = format!(
                "fixed:out:{}{}:{}:{}",
                method.prefix(),
                hash.algo(),
                hash.to_base16(),
                dir.display(path)
            );
            return Ok(NixHash::of(HashAlgo::Sha256, s.as_bytes()));
        }
        if self
            .outputs
            .values()
            .any(|o| matches!(o, DerivationOutput::Fixed { .. }))
        {
            return Err(Error::OutputKinds("fixed outputs mixed with other kinds").into());
        }
        let mut inputs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (drv, outputs) in &self.input_derivations {
            let h = input_drv_hashes(drv)?;
            inputs
                .entry(h.to_base16())
                .or_default()
                .extend(outputs.iter().cloned());
        }
        let aterm = aterm::print(self, dir, Some(&inputs));
        Ok(NixHash::of(HashAlgo::Sha256, &aterm))
    }

    /// Fills in output paths and their environment variables the way
    /// `derivationStrict` does, for a derivation whose other fields are final:
    ///
    /// - fixed-output: the path of `out` is (re)computed from its hash and
    ///   `env["out"]` set to it;
    /// - floating / impure: each output's variable holds
    ///   [`hash_placeholder`];
    /// - otherwise (input-addressed; outputs may be given as
    ///   [`DerivationOutput::Deferred`]): every output path and variable is
    ///   blanked, the derivation hashed modulo, then each output set to
    ///   [`StoreDir::make_output_path`].
    ///
    /// `name` is the derivation name (without `.drv`).
    pub fn compute_output_paths<E: From<Error>>(
        &mut self,
        name: &str,
        dir: &StoreDir,
        mut input_drv_hashes: impl FnMut(&StorePath) -> Result<NixHash, E>,
    ) -> Result<(), E> {
        self.compute_output_paths_with_deferral(name, dir, |p| {
            Ok(DrvHash {
                hash: input_drv_hashes(p)?,
                deferred: false,
            })
        })
    }

    /// [`compute_output_paths`](Self::compute_output_paths) for graphs with
    /// content-addressed (`ca-derivations`) inputs: when an input derivation
    /// is deferred (see [`DrvHash`]), Nix cannot know this derivation's
    /// output paths yet, so they stay [`DerivationOutput::Deferred`] with
    /// empty variables.
    pub fn compute_output_paths_with_deferral<E: From<Error>>(
        &mut self,
        name: &str,
        dir: &StoreDir,
        input_drv_hashes: impl FnMut(&StorePath) -> Result<DrvHash, E>,
    ) -> Result<(), E> {
        if self.outputs.is_empty() {
            return Err(Error::NoOutputs.into());
        }
        if self.is_fixed_output() {
            for (out, o) in self.outputs.iter_mut() {
                if let DerivationOutput::Fixed { method, hash, .. } = o {
                    *o = DerivationOutput::fixed(dir, name, out, *method, *hash)?;
                    if let Some(p) = o.path() {
                        self.env.insert(out.clone(), dir.display(p));
                    }
                }
            }
            return Ok(());
        }
        let floating = self.outputs.values().filter(|o| {
            matches!(
                o,
                DerivationOutput::Floating { .. } | DerivationOutput::Impure { .. }
            )
        });
        match floating.count() {
            0 => {}
            n if n == self.outputs.len() => {
                for out in self.outputs.keys() {
                    self.env.insert(out.clone(), hash_placeholder(out));
                }
                return Ok(());
            }
            _ => return Err(Error::OutputKinds("floating outputs mixed with other kinds").into()),
        }
        for (out, o) in self.outputs.iter_mut() {
            *o = DerivationOutput::Deferred;
            self.env.insert(out.clone(), String::new());
        }
        let h = self.hash_with_input_deferral(dir, input_drv_hashes)?;
        if h.deferred {
            return Ok(());
        }
        for (out, o) in self.outputs.iter_mut() {
            let p = dir
                .make_output_path(out, &h.hash, name)
                .map_err(Error::from)?;
            self.env.insert(out.clone(), dir.display(&p));
            *o = DerivationOutput::InputAddressed(p);
        }
        Ok(())
    }

    /// [`hash_derivation_modulo`](Self::hash_derivation_modulo) together with
    /// whether the derivation is deferred: it has floating, impure or
    /// deferred outputs, or a deferred input.
    pub fn drv_hash<E: From<Error>>(
        &self,
        dir: &StoreDir,
        input_drv_hashes: impl FnMut(&StorePath) -> Result<DrvHash, E>,
    ) -> Result<DrvHash, E> {
        let own = self.outputs.values().any(|o| {
            matches!(
                o,
                DerivationOutput::Floating { .. }
                    | DerivationOutput::Impure { .. }
                    | DerivationOutput::Deferred
            )
        });
        let h = self.hash_with_input_deferral(dir, input_drv_hashes)?;
        Ok(DrvHash {
            hash: h.hash,
            deferred: own || h.deferred,
        })
    }

    /// The modulo hash, `deferred` telling whether any input is deferred.
    fn hash_with_input_deferral<E: From<Error>>(
        &self,
        dir: &StoreDir,
        mut input_drv_hashes: impl FnMut(&StorePath) -> Result<DrvHash, E>,
    ) -> Result<DrvHash, E> {
        let mut deferred = false;
        let hash = self.hash_derivation_modulo(dir, |p| {
            let h = input_drv_hashes(p)?;
            deferred |= h.deferred;
            Ok::<_, E>(h.hash)
        })?;
        Ok(DrvHash { hash, deferred })
    }

    /// The store path of this derivation's `.drv` file: a text path named
    /// `<name>.drv` whose references are the input sources and input
    /// derivations.
    pub fn drv_path(&self, name: &str, dir: &StoreDir) -> Result<StorePath, Error> {
        let refs: BTreeSet<StorePath> = self
            .input_sources
            .iter()
            .chain(self.input_derivations.keys())
            .cloned()
            .collect();
        let content = NixHash::of(HashAlgo::Sha256, &self.to_aterm_bytes(dir));
        Ok(dir.make_text_path(&format!("{name}.drv"), &content, &refs)?)
    }

    /// Exactly what `nix show-derivation <drv_path>` (Nix 2.8) prints,
    /// including the final newline.
    pub fn to_show_json(&self, drv_path: &StorePath, dir: &StoreDir) -> String {
        json::show_derivation(self, drv_path, dir)
    }
}

#[cfg(test)]
mod tests;
