//! Reads the WIT world every guest is written against (`guest-abi/wit`, world `evaluator`) and
//! writes its imports and exports to `$OUT_DIR/evaluator_world.rs`: the capability audit's
//! allowlist and the linker both come from that one list (see `src/runtime/world.rs`).
//!
//! Builds the Nix-language guest (`guests/nix-eval`, binary `nix-eval`) for `wasm32-wasip2` so that
//! `evalbox eval` works straight after `cargo build`: the component is embedded in the evalbox
//! binary with `include_bytes!` (see `src/nix_eval.rs`).
//!
//! The guest is built once, with the `guest` profile, in its own target directory next to the
//! host's (`<target-dir>/nix-eval`), shared by every host profile, so debug and release builds
//! of the host (and `cargo check`/`clippy`) reuse one guest build. `EVALBOX_NIX_EVAL_WASM=FILE` at
//! build time embeds a prebuilt component instead of building one.
//!
//! The guest is built with the workspace's `guest` profile (fat LTO, one codegen unit,
//! panic=abort; the host's profile is untouched): about 15 % faster evaluation in the sandbox.
//! Its SHA-256, the compile cache's key, is computed here too, so `evalbox eval` does not hash
//! the component on every start.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ lives inside the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env("OUT_DIR"));

    println!("cargo:rerun-if-changed=build.rs");
    write_world(
        &workspace.join("guest-abi/wit"),
        &out_dir.join("evaluator_world.rs"),
    );
    println!("cargo:rerun-if-env-changed=EVALBOX_NIX_EVAL_WASM");
    let embedded = out_dir.join("nix-eval.wasm");
    if let Some(prebuilt) = std::env::var_os("EVALBOX_NIX_EVAL_WASM") {
        let prebuilt = PathBuf::from(prebuilt);
        println!("cargo:rerun-if-changed={}", prebuilt.display());
        copy(&prebuilt, &embedded);
        write_digest(&embedded);
        return;
    }
    for watched in [
        "guests/nix-eval/src",
        "guests/nix-eval/Cargo.toml",
        "guests/nix-eval/build.rs",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    // Everything the guest is built from: its own crate and the guest-abi crates it uses
    // (formats, the argument grammar, the Rust SDK and the WIT world it binds).
    for watched in [
        "guest-abi/nix-formats/src",
        "guest-abi/nix-formats/Cargo.toml",
        "guest-abi/nix-args/src",
        "guest-abi/nix-args/Cargo.toml",
        "guest-abi/rust/src",
        "guest-abi/rust/Cargo.toml",
        "guest-abi/wit",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }

    let target_dir = guest_target_dir(&out_dir);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .args(["build", "--profile", "guest", "--target", "wasm32-wasip2"])
        .args(["-p", "nix-eval", "--bin", "nix-eval"])
        .arg("--target-dir")
        .arg(&target_dir)
        // The host's own build settings must not leak into the guest's build.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_PRIMARY_PACKAGE");
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !status.success() {
        let hint = if wasm_target_installed() {
            String::new()
        } else {
            "\nThe Rust target wasm32-wasip2 is not installed: run `rustup target add wasm32-wasip2` \
             (or ./scripts/setup.sh), or set EVALBOX_NIX_EVAL_WASM to a prebuilt nix-eval.wasm."
                .to_owned()
        };
        panic!(
            "building the Nix guest (guests/nix-eval) for wasm32-wasip2 failed ({status}).{hint}"
        );
    }
    let built = target_dir
        .join("wasm32-wasip2")
        .join("guest")
        .join("nix-eval.wasm");
    copy(&built, &embedded);
    write_digest(&embedded);
}

/// The `evaluator` world's imported and exported interfaces, as Rust constants.
fn write_world(wit: &Path, out: &Path) {
    println!("cargo:rerun-if-changed={}", wit.display());
    let mut resolve = wit_parser::Resolve::default();
    let (package, sources) = resolve
        .push_dir(wit)
        .unwrap_or_else(|e| panic!("cannot read the WIT package {}: {e:#}", wit.display()));
    for source in sources.paths() {
        println!("cargo:rerun-if-changed={}", source.display());
    }
    let world = resolve
        .select_world(&[package], Some("evaluator"))
        .unwrap_or_else(|e| panic!("no world `evaluator` in {}: {e:#}", wit.display()));
    let denied = resolve
        .select_world(&[package], Some("denied"))
        .unwrap_or_else(|e| panic!("no world `denied` in {}: {e:#}", wit.display()));
    let names_except =
        |items: &wit_parser::IndexMap<wit_parser::WorldKey, wit_parser::WorldItem>,
         except: &[String]| {
            items
                .values()
                .map(|item| match item {
                    wit_parser::WorldItem::Interface { id, .. } => {
                        resolve.id_of(*id).expect("a world's interfaces are named")
                    }
                    other => panic!("the evaluator world may only hold interfaces, not {other:?}"),
                })
                .filter(|name| !except.contains(name))
                .map(|name| format!("    {name:?},\n"))
                .collect::<String>()
        };
    let names = |items| names_except(items, &[]);
    let w = &resolve.worlds[world];
    let granted: Vec<String> = w
        .imports
        .values()
        .filter_map(|item| match item {
            wit_parser::WorldItem::Interface { id, .. } => resolve.id_of(*id),
            _ => None,
        })
        .collect();
    let code = format!(
        "/// The interfaces the `evaluator` world imports, with their versions.\n\
         pub const IMPORTS: &[&str] = &[\n{}];\n\
         /// The interfaces the `evaluator` world exports, with their versions.\n\
         pub const EXPORTS: &[&str] = &[\n{}];\n\
         /// The interfaces of the `denied` world: provided with every operation denied.\n\
         pub const DENIED: &[&str] = &[\n{}];\n",
        names(&w.imports),
        names(&w.exports),
        // The denied world also imports what its interfaces use (wasi:io, clocks), which the
        // evaluator world grants: only the rest is denied.
        names_except(&resolve.worlds[denied].imports, &granted)
    );
    std::fs::write(out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

/// Writes `nix-eval.wasm.sha256` (32 raw bytes) beside the embedded component.
fn write_digest(wasm: &Path) {
    use sha2::Digest as _;
    let bytes = std::fs::read(wasm)
        .unwrap_or_else(|e| panic!("cannot read the Nix guest {}: {e}", wasm.display()));
    let digest = sha2::Sha256::digest(&bytes);
    let out = wasm.with_extension("wasm.sha256");
    std::fs::write(&out, digest).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo did not set {name}"))
}

/// `<target-dir>/nix-eval`, found from OUT_DIR (`<target-dir>/[<triple>/]<profile>/build/<pkg>/out`).
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent()?.parent())
        .map(|target| target.join("nix-eval"))
        .unwrap_or_else(|| out_dir.join("nix-eval"))
}

fn wasm_target_installed() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Path::new(&sysroot)
        .join("lib/rustlib/wasm32-wasip2")
        .is_dir()
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|e| {
        panic!(
            "cannot copy the Nix guest {} to {}: {e}",
            from.display(),
            to.display()
        )
    });
}
