//! The Nix worker protocol client.
