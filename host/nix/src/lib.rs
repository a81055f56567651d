//! Nix formats as pure code: no filesystem, no network, no async runtime.
