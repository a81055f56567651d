//! Gives the wasm guest a large stack: it cannot start a big-stack thread like the native
//! binary does, and deep (non-tail) Nix recursion needs it. Keep in sync with
//! `WASM_STACK` in `src/bin/nix-eval.rs`.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("wasm32") {
        println!("cargo:rustc-link-arg-bins=-zstack-size=268435456");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
