//! The evalbox guest SDK: idiomatic Rust over the `evalbox:guest` WIT package.
//!
//! An evalbox guest is an ordinary Rust program (`fn main()`) built with
//! `cargo build --target wasm32-wasip2`. It reads its sources with `std::fs` through the
//! read-only directories the user passed with `--src`, prints with `println!`, and talks to
//! the Nix store only through [`store`]: every function there is one typed host call, and
//! every failure comes back as a [`store::Error`] value (the host never traps a guest for a
//! store error). [`nix`] evaluates Nix code for it, so that its derivations can depend on
//! packages defined in Nix.
//!
//! ```no_run
//! use evalbox_guest::store;
//! use evalbox_guest::derivation::DerivationBuilder;
//!
//! let script = store::add_text_to_store("builder.sh", "echo hi > $out", &[])?;
//! let drv = DerivationBuilder::new("hello", "x86_64-linux", "/bin/sh")
//!     .arg(&script)
//!     .input_src(&script)
//!     .add()?;
//! println!("{}", drv.drv_path);
//! # Ok::<(), store::Error>(())
//! ```
//!
//! The generated bindings are private; this crate's types are the API, so the WIT can grow
//! without breaking guests.
#![deny(missing_docs)]

mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "evalbox:guest/store-client",
        generate_all,
    });
}

pub mod derivation;
pub mod nix;
pub mod store;
