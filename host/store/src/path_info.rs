//! Metadata of a valid store path (Nix's `ValidPathInfo`) and its `nix path-info --json` form.

use std::collections::BTreeSet;

use nix_formats::{ContentAddress, NixHash, StoreDir, StorePath};
use serde_json::{Map, Value, json};

/// What the store knows about a valid path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    /// The path.
    pub path: StorePath,
    /// The derivation that produced it, if known.
    pub deriver: Option<StorePath>,
    /// SHA-256 of the NAR serialisation.
    pub nar_hash: NixHash,
    /// Size of the NAR serialisation in bytes.
    pub nar_size: u64,
    /// Paths this one refers to (may include itself).
    pub references: BTreeSet<StorePath>,
    /// Seconds since the epoch when it was registered.
    pub registration_time: i64,
    /// Whether this store built it itself.
    pub ultimate: bool,
    /// Signatures, `keyname:base64`.
    pub signatures: Vec<String>,
    /// Its content address, when it is content-addressed.
    pub ca: Option<ContentAddress>,
}

impl PathInfo {
    /// One element of `nix path-info --json`, with the same keys in the same order as Nix 2.8.
    pub fn to_json(&self, store_dir: &StoreDir) -> Value {
        let mut m = Map::new();
        m.insert("path".into(), json!(store_dir.display(&self.path)));
        m.insert("narHash".into(), json!(self.nar_hash.to_sri()));
        m.insert("narSize".into(), json!(self.nar_size));
        let refs: Vec<String> = self
            .references
            .iter()
            .map(|r| store_dir.display(r))
            .collect();
        m.insert("references".into(), json!(refs));
        if let Some(ca) = &self.ca {
            m.insert("ca".into(), json!(ca.to_string()));
        }
        if let Some(d) = &self.deriver {
            m.insert("deriver".into(), json!(store_dir.display(d)));
        }
        if self.registration_time != 0 {
            m.insert("registrationTime".into(), json!(self.registration_time));
        }
        if self.ultimate {
            m.insert("ultimate".into(), json!(true));
        }
        if !self.signatures.is_empty() {
            m.insert("signatures".into(), json!(self.signatures));
        }
        Value::Object(m)
    }
}
