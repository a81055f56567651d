//! Building derivations: [`DerivationBuilder`] collects what `builtins.derivation` would,
//! and [`DerivationBuilder::add`] hands it to the host, which computes the output paths
//! (`hashDerivationModulo`), writes the `.drv` and registers it.
//!
//! Like `builtins.derivation`, the builder puts `name`, `system` and `builder` into the
//! environment; the host adds one variable per output holding its path.

use crate::bindings::evalbox::guest::store as wit;
use crate::store::{self, Error, HashAlgo, IngestionMethod};

/// The result of adding a derivation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedDerivation {
    /// The `.drv` store path.
    pub drv_path: String,
    /// Output name → output path, sorted by name.
    pub outputs: Vec<(String, String)>,
}

impl AddedDerivation {
    /// The path of output `name`.
    pub fn output(&self, name: &str) -> Option<&str> {
        self.outputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_str())
    }
}

/// The fixed hash of a fixed-output derivation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedOutput {
    /// `flat` (`outputHashMode = "flat"`) or `recursive`.
    pub method: IngestionMethod,
    /// The hash algorithm.
    pub algo: HashAlgo,
    /// The hash, in any encoding Nix accepts (base16, nix32, base64, SRI).
    pub hash: String,
}

/// A derivation as the host takes it: everything but its output paths, which the host
/// computes (`hashDerivationModulo`) and sets, also in `env` (one variable per output).
/// [`DerivationBuilder`] makes one the way `builtins.derivation` would; a Nix evaluator
/// makes its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derivation {
    /// The name (the `.drv` is `<hash>-<name>.drv`).
    pub name: String,
    /// The outputs, in order, each with its fixed hash if it is fixed-output (only a single
    /// output named `out` may be).
    pub outputs: Vec<(String, Option<FixedOutput>)>,
    /// Input derivations and the outputs of each that are used.
    pub input_drvs: Vec<(String, Vec<String>)>,
    /// Input sources (store paths).
    pub input_srcs: Vec<String>,
    /// The system it builds for.
    pub system: String,
    /// The builder.
    pub builder: String,
    /// The builder's arguments.
    pub args: Vec<String>,
    /// The builder's environment.
    pub env: Vec<(String, String)>,
}

impl Derivation {
    /// Writes the derivation to the store.
    pub fn add(&self) -> Result<AddedDerivation, Error> {
        let drv = wit::Derivation {
            name: self.name.clone(),
            outputs: self
                .outputs
                .iter()
                .map(|(name, fixed)| wit::DerivationOutput {
                    name: name.clone(),
                    fixed: fixed.as_ref().map(|f| wit::FixedOutput {
                        method: f.method,
                        algo: f.algo,
                        hash: f.hash.clone(),
                    }),
                })
                .collect(),
            input_drvs: self
                .input_drvs
                .iter()
                .map(|(drv_path, outputs)| wit::InputDrv {
                    drv_path: drv_path.clone(),
                    outputs: outputs.clone(),
                })
                .collect(),
            input_srcs: self.input_srcs.clone(),
            system: self.system.clone(),
            builder: self.builder.clone(),
            args: self.args.clone(),
            env: self.env.clone(),
        };
        let added = store::add_derivation(&drv)?;
        Ok(AddedDerivation {
            drv_path: added.drv_path,
            outputs: added.outputs,
        })
    }
}

/// Collects a derivation. Outputs default to `["out"]`.
#[derive(Debug, Clone)]
pub struct DerivationBuilder {
    name: String,
    system: String,
    builder: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    outputs: Vec<String>,
    fixed: Option<FixedOutput>,
    input_drvs: Vec<(String, Vec<String>)>,
    input_srcs: Vec<String>,
}

impl DerivationBuilder {
    /// A derivation `name` for `system` run by `builder`.
    pub fn new(name: &str, system: &str, builder: &str) -> Self {
        DerivationBuilder {
            name: name.to_owned(),
            system: system.to_owned(),
            builder: builder.to_owned(),
            args: Vec::new(),
            env: vec![
                ("builder".to_owned(), builder.to_owned()),
                ("name".to_owned(), name.to_owned()),
                ("system".to_owned(), system.to_owned()),
            ],
            outputs: Vec::new(),
            fixed: None,
            input_drvs: Vec::new(),
            input_srcs: Vec::new(),
        }
    }

    /// Appends a builder argument.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// Appends builder arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable (replacing an earlier value).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        match self.env.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_owned(),
            None => self.env.push((key.to_owned(), value.to_owned())),
        }
        self
    }

    /// Declares an output (in order). Declaring any replaces the default `out`, and sets
    /// the `outputs` variable like `builtins.derivation` does.
    pub fn output(mut self, name: &str) -> Self {
        self.outputs.push(name.to_owned());
        let joined = self.outputs.join(" ");
        self.env("outputs", &joined)
    }

    /// Makes this a fixed-output derivation with output `out`.
    pub fn fixed_output(mut self, fixed: FixedOutput) -> Self {
        self.fixed = Some(fixed);
        self
    }

    /// Depends on outputs of another derivation.
    pub fn input_drv(mut self, drv_path: &str, outputs: &[&str]) -> Self {
        self.input_drvs.push((
            drv_path.to_owned(),
            outputs.iter().map(|o| (*o).to_owned()).collect(),
        ));
        self
    }

    /// Depends on a source store path.
    pub fn input_src(mut self, path: &str) -> Self {
        self.input_srcs.push(path.to_owned());
        self
    }

    /// Writes the derivation to the store.
    pub fn add(self) -> Result<AddedDerivation, Error> {
        let outputs = if self.outputs.is_empty() {
            vec!["out".to_owned()]
        } else {
            self.outputs
        };
        let fixed = self.fixed;
        Derivation {
            name: self.name,
            outputs: outputs
                .into_iter()
                .map(|name| {
                    let f = if name == "out" { fixed.clone() } else { None };
                    (name, f)
                })
                .collect(),
            input_drvs: self.input_drvs,
            input_srcs: self.input_srcs,
            system: self.system,
            builder: self.builder,
            args: self.args,
            env: self.env,
        }
        .add()
    }
}
