//! Derivation output paths need the `hashDerivationModulo` of every input derivation, which
//! lives in the store. This module reads input `.drv` files through any [`NixStore`], memoises
//! their modulo hashes, and fills in or checks a derivation's output paths, so that no caller
//! (a guest least of all) can register a `.drv` whose output paths are wrong.

use std::collections::HashMap;
use std::sync::Mutex;

use nix_formats::derivation::Derivation;
use nix_formats::{NixHash, StorePath};

use crate::{Error, NixStore, Result};

/// Memoised `hashDerivationModulo` results by `.drv` path. Share one across an evaluation.
#[derive(Debug, Default)]
pub struct DrvHashCache {
    hashes: Mutex<HashMap<StorePath, NixHash>>,
}

impl DrvHashCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn get(&self, p: &StorePath) -> Option<NixHash> {
        self.hashes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(p)
            .cloned()
    }

    fn insert(&self, p: StorePath, h: NixHash) {
        self.hashes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(p, h);
    }

    fn lookup(&self, p: &StorePath) -> Result<NixHash> {
        self.get(p)
            .ok_or_else(|| Error::Corrupt(format!("no derivation hash computed for input '{p}'")))
    }
}

/// Make sure the modulo hash of `drv_path` and of all the derivations it depends on are in
/// `cache`, reading them from `store` (iteratively: input graphs can be deep).
pub async fn ensure_hashed(
    store: &dyn NixStore,
    drv_path: &StorePath,
    cache: &DrvHashCache,
) -> Result<()> {
    let mut loaded: HashMap<StorePath, Derivation> = HashMap::new();
    let mut stack = vec![(drv_path.clone(), false)];
    while let Some((path, expanded)) = stack.pop() {
        if cache.get(&path).is_some() {
            continue;
        }
        if !expanded {
            if loaded.contains_key(&path) {
                continue;
            }
            if !path.is_derivation() {
                return Err(Error::BadInput(format!(
                    "input derivation '{}' is not a .drv path",
                    store.store_dir().display(&path)
                )));
            }
            let drv = store.read_derivation(&path).await?;
            stack.push((path.clone(), true));
            for input in drv.input_derivations.keys() {
                if cache.get(input).is_none() && !loaded.contains_key(input) {
                    stack.push((input.clone(), false));
                }
            }
            loaded.insert(path, drv);
        } else {
            let drv = &loaded[&path];
            let h = drv
                .hash_derivation_modulo(store.store_dir(), |q| cache.lookup(q))
                .map_err(|e: Error| Error::BadInput(format!("derivation '{path}': {e}")))?;
            cache.insert(path, h);
        }
    }
    Ok(())
}

/// Fill in the output paths (and the matching environment variables) of `drv`, named `name`,
/// as Nix's `derivationStrict` does.
pub async fn compute_output_paths(
    store: &dyn NixStore,
    drv: &mut Derivation,
    name: &str,
    cache: &DrvHashCache,
) -> Result<()> {
    for input in drv.input_derivations.keys() {
        ensure_hashed(store, input, cache).await?;
    }
    drv.compute_output_paths(name, store.store_dir(), |q| cache.lookup(q))
        .map_err(|e: Error| Error::BadInput(format!("derivation '{name}': {e}")))
}

/// Memoises the modulo hash of `drv`, just written at `drv_path` (its inputs' hashes are in
/// `cache` since its output paths were checked): the derivations that take it as an input
/// then need not read it back from the store.
pub fn remember(
    store: &dyn NixStore,
    drv_path: &StorePath,
    drv: &Derivation,
    cache: &DrvHashCache,
) -> Result<()> {
    if cache.get(drv_path).is_none() {
        let h = drv
            .hash_derivation_modulo(store.store_dir(), |q| cache.lookup(q))
            .map_err(|e: Error| Error::BadInput(format!("derivation '{drv_path}': {e}")))?;
        cache.insert(drv_path.clone(), h);
    }
    Ok(())
}

/// Check that `drv`'s output paths are the ones Nix would compute.
pub async fn check_output_paths(
    store: &dyn NixStore,
    drv: &Derivation,
    name: &str,
    cache: &DrvHashCache,
) -> Result<()> {
    let mut expected = drv.clone();
    compute_output_paths(store, &mut expected, name, cache).await?;
    for (out, o) in &drv.outputs {
        let want = expected.outputs.get(out).and_then(|e| e.path());
        if o.path() != want {
            return Err(Error::BadInput(format!(
                "derivation '{name}' has incorrect output '{out}': {}, should be {}",
                o.path()
                    .map(|p| store.store_dir().display(p))
                    .unwrap_or_else(|| "none".into()),
                want.map(|p| store.store_dir().display(p))
                    .unwrap_or_else(|| "none".into()),
            )));
        }
    }
    if expected != *drv {
        return Err(Error::BadInput(format!(
            "derivation '{name}' is inconsistent: its output environment variables do not \
             match its output paths"
        )));
    }
    Ok(())
}
