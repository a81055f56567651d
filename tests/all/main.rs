//! One integration-test binary; each module names what it covers.
mod build;
mod daemon;
mod eval_jobs;
mod fetch_git;
mod frontends;
mod gc;
mod instantiate;
mod layers;
mod nix_lang;
mod nixpkgs_lib;
mod sandbox;
mod store;
