//! The nix-daemon store backend (`evalbox-daemon`): the worker-protocol client against the real
//! daemon at every protocol era it supports (`protocol`), the `NixStore` trait over it compared
//! with the embedded store and the `nix-store` CLI (`store`), and a fake hostile daemon for every
//! malformed reply (`hostile`). Tests needing real Nix skip without a daemon socket and fail
//! instead when `EVALBOX_REQUIRE_NIX=1`.

mod hostile;
mod protocol;
mod store;

/// A store-path name no earlier run used (tests add to the shared real store).
fn unique(tag: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("evalbox-daemon-{tag}-{}-{t}", std::process::id())
}

/// `nix-store ARGS`, which must succeed; its stdout.
fn nix_store(args: &[&str]) -> String {
    evalbox_tests::run_ok(std::process::Command::new("nix-store").args(args))
}
