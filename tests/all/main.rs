//! One integration-test binary; each module names what it covers.
mod sandbox;
mod store;
mod daemon;
mod nix_lang;
