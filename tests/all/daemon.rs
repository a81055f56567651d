//! The nix-daemon store backend (`evalbox-daemon`): the worker-protocol client against the real
//! daemon at every protocol era it supports (`protocol`), the `Store` trait over it compared
//! with the embedded store and the `nix-store` CLI (`store`), and a fake hostile daemon for every
//! malformed reply (`hostile`). Tests needing real Nix skip without a daemon socket and fail
//! instead when `EVALBOX_REQUIRE_NIX=1`.

mod hostile;
mod protocol;
mod store;
