//! The Nix language.
