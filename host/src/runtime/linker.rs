//! The linker: exactly the interfaces of the evaluator world, nothing else. WASI sockets,
//! HTTP and every other interface are simply absent, so even a guest that slipped past the
//! audit could not reach them.

use wasmtime::Engine;
use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::WasiView as _;
use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView as _};

use crate::capabilities::GuestCtx;
use crate::capabilities::store::StoreCapability;

/// `HasData` for the `wasi:io` interfaces, which only need the resource table.
struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// `HasData` for `evalbox:guest/store`, which only needs the store state.
struct HasStore;

impl HasData for HasStore {
    type Data<'a> = &'a mut StoreCapability;
}

/// A linker with the allowed WASI interfaces (see [`super::audit::ALLOWED_WASI`]) and the
/// store interface.
pub fn new(engine: &Engine) -> wasmtime::Result<Linker<GuestCtx>> {
    let mut linker = Linker::new(engine);
    let l = &mut linker;
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<GuestCtx, HasIo>(l, |t| {
        t.ctx().table
    })?;
    wasmtime_wasi_io::bindings::wasi::io::poll::add_to_linker::<GuestCtx, HasIo>(l, |t| {
        t.ctx().table
    })?;
    wasmtime_wasi_io::bindings::wasi::io::streams::add_to_linker::<GuestCtx, HasIo>(l, |t| {
        t.ctx().table
    })?;
    clocks::wall_clock::add_to_linker::<GuestCtx, WasiClocks>(l, GuestCtx::clocks)?;
    clocks::monotonic_clock::add_to_linker::<GuestCtx, WasiClocks>(l, GuestCtx::clocks)?;
    filesystem::types::add_to_linker::<GuestCtx, WasiFilesystem>(l, GuestCtx::filesystem)?;
    filesystem::preopens::add_to_linker::<GuestCtx, WasiFilesystem>(l, GuestCtx::filesystem)?;
    random::random::add_to_linker::<GuestCtx, WasiRandom>(l, GuestCtx::random)?;
    random::insecure::add_to_linker::<GuestCtx, WasiRandom>(l, GuestCtx::random)?;
    random::insecure_seed::add_to_linker::<GuestCtx, WasiRandom>(l, GuestCtx::random)?;
    cli::exit::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)?;
    cli::environment::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)?;
    cli::stdin::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)?;
    cli::stdout::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)?;
    cli::stderr::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)?;
    cli::terminal_input::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)?;
    cli::terminal_output::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)?;
    cli::terminal_stdin::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)?;
    cli::terminal_stdout::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)?;
    cli::terminal_stderr::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)?;
    crate::bindings::store::add_to_linker::<GuestCtx, HasStore>(l, |t| &mut t.store)?;
    Ok(linker)
}
