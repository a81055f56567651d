//! `componentize-c`: builds an evalbox guest component from C.
//!
//! A C guest is a WASI preview1 core module (clang for `wasm32-wasi` with wasi-libc) made into a
//! component with the preview1 adapter of the wasmtime release evalbox runs on, as
//! `wasm-tools component new --adapt` does. Its store import comes from the C bindings that
//! `wit-bindgen c` generates from `guest-abi/wit` (world `store-client`), under the SDK in
//! `evalbox_guest.h`. This tool does the three steps, alone or together:
//!
//! ```text
//! componentize-c bindings --out DIR                  # store_client.{h,c,_component_type.o} + the SDK
//! componentize-c component CORE.wasm -o GUEST.wasm   # a core module to a component
//! componentize-c build app.c... -o GUEST.wasm        # all of it, with clang
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use wit_bindgen_core::wit_parser::Resolve;

/// The SDK, written next to the bindings.
const SDK: [(&str, &str); 2] = [
    ("evalbox_guest.h", include_str!("../evalbox_guest.h")),
    ("evalbox_guest.c", include_str!("../evalbox_guest.c")),
];

/// The WIT package in this repository.
const WIT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../wit");

#[derive(Debug, Parser)]
#[command(version, about = "Builds an evalbox guest component from C")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, clap::Args)]
struct Wit {
    /// The WIT package (a directory with `deps/`).
    #[arg(long, default_value = WIT_DIR)]
    wit: PathBuf,
    /// The world the bindings are for.
    #[arg(long, default_value = "store-client")]
    world: String,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Writes the C bindings of the world and the SDK (`evalbox_guest.{h,c}`) into a directory.
    Bindings {
        #[command(flatten)]
        wit: Wit,
        /// Where to write them (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Makes a component of a wasip1 core module, with the preview1 command adapter.
    Component {
        /// The core module (built against the bindings, so that it names its store imports).
        module: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Compiles C sources with the bindings and the SDK, and makes the component.
    Build {
        #[command(flatten)]
        wit: Wit,
        /// The C sources of the guest (one of them defines `main`).
        #[arg(required = true)]
        sources: Vec<PathBuf>,
        #[arg(short, long)]
        output: PathBuf,
        /// The C compiler: a clang with wasi-libc (default: `clang`, else `clang-14`).
        #[arg(long, env = "EVALBOX_WASI_CC")]
        cc: Option<PathBuf>,
        /// An extra compiler flag (repeatable), e.g. `-Iinclude` or `-DNDEBUG`.
        #[arg(long = "cflag", allow_hyphen_values = true)]
        cflags: Vec<String>,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("componentize-c: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::Bindings { wit, out } => bindings(&wit, &out),
        Cmd::Component { module, output } => {
            let core = std::fs::read(&module)
                .with_context(|| format!("cannot read {}", module.display()))?;
            let component = component(&core)
                .with_context(|| format!("{} is not a usable core module", module.display()))?;
            write(&output, &component)
        }
        Cmd::Build {
            wit,
            sources,
            output,
            cc,
            cflags,
        } => {
            let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
            bindings(&wit, dir.path())?;
            let cc = match cc {
                Some(cc) => cc,
                None => find_clang()?,
            };
            let core = dir.path().join("core.wasm");
            let world = wit.world.replace('-', "_");
            let mut cmd = Command::new(&cc);
            cmd.args([
                "--target=wasm32-wasi",
                "-mexec-model=reactor",
                "-O2",
                "-Wall",
                "-I",
            ])
            .arg(dir.path())
            .args(&cflags)
            .args(&sources)
            .arg(dir.path().join("evalbox_guest.c"))
            .arg(dir.path().join(format!("{world}.c")))
            .arg(dir.path().join(format!("{world}_component_type.o")))
            .arg("-o")
            .arg(&core);
            let status = cmd
                .status()
                .with_context(|| format!("cannot run {}", cc.display()))?;
            if !status.success() {
                bail!("{} failed ({status})", cc.display());
            }
            let core = std::fs::read(&core).context("cannot read the compiled module")?;
            write(&output, &component(&core)?)
        }
    }
}

/// Generates the C bindings of `wit.world` and writes them, with the SDK, into `out`.
fn bindings(wit: &Wit, out: &Path) -> Result<()> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_dir(&wit.wit)
        .with_context(|| format!("cannot read the WIT package {}", wit.wit.display()))?;
    let world = resolve.select_world(&[package], Some(&wit.world))?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (name, contents) in files.iter() {
        write(&out.join(name), contents)?;
    }
    for (name, contents) in SDK {
        write(&out.join(name), contents.as_bytes())?;
    }
    Ok(())
}

/// A component of a wasip1 core module: its `wasi_snapshot_preview1` imports adapted to WASI
/// 0.2, its `_start` exported as `wasi:cli/run`.
fn component(core: &[u8]) -> Result<Vec<u8>> {
    use wasi_preview1_component_adapter_provider as adapter;
    wit_component::ComponentEncoder::default()
        .module(core)?
        .adapter(
            adapter::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            adapter::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        )?
        .validate(true)
        .encode()
}

fn find_clang() -> Result<PathBuf> {
    for name in ["clang", "clang-14"] {
        let found = Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if found {
            return Ok(name.into());
        }
    }
    bail!(
        "no clang found: install clang with wasi-libc (Debian: clang-14 lld-14 wasi-libc \
         libclang-rt-14-dev-wasm32), or name one with --cc"
    )
}

fn write(path: &Path, contents: &[u8]) -> Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}
