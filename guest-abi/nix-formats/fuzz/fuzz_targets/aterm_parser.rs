//! Fuzzes the `.drv` ATerm parser: it must never panic, and whatever it
//! accepts must print back to exactly the input; hashing and JSON of an
//! accepted derivation must not panic either.
#![no_main]

use nix_formats::derivation::{Derivation, Error};
use nix_formats::hash::{HashAlgo, NixHash};
use nix_formats::store_path::{StoreDir, StorePath};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = StoreDir::default();
    let Ok(drv) = Derivation::from_aterm_bytes(data, &dir) else {
        return;
    };
    assert_eq!(drv.to_aterm_bytes(&dir), data);
    let _ = drv.hash_derivation_modulo::<Error>(&dir, |p: &StorePath| {
        Ok(NixHash::of(HashAlgo::Sha256, p.to_string().as_bytes()))
    });
    if let Ok(p) = drv.drv_path("fuzz", &dir) {
        let _ = drv.to_show_json(&p, &dir);
    }
});
