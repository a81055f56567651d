//! The linker: exactly the interfaces the evaluator world imports ([`crate::runtime::world`], read
//! from the WIT), and the `denied` world's sockets and HTTP on contexts that allow nothing;
//! nothing else. Every other interface is simply absent, so even a guest that slipped past
//! the audit could not reach it. This module only
//! says how each interface is provided; which ones are is the world's to say.

use wasmtime::Engine;
use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::WasiView as _;
use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sockets};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView as _};
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView as _};
use wasmtime_wasi_http::WasiHttpView as _;

use crate::capabilities::GuestCtx;
use crate::capabilities::nix::NixCapability;
use crate::capabilities::store::StoreCapability;
use crate::runtime::world;

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

/// `HasData` for `evalbox:guest/nix`, which only needs its own state.
struct HasNix;

impl HasData for HasNix {
    type Data<'a> = &'a mut NixCapability;
}

/// A linker holding every interface of the evaluator world, and those of the `denied` world
/// (wasmtime-wasi's sockets, on a context that allows no address, lookup or protocol).
pub fn new(engine: &Engine) -> wasmtime::Result<Linker<GuestCtx>> {
    let mut linker = Linker::new(engine);
    for import in world::IMPORTS.iter().chain(world::DENIED) {
        let (interface, _version) = world::split(import).unwrap_or((import, ""));
        add(&mut linker, interface).map_err(|e| e.context(format!("providing `{interface}`")))?;
    }
    Ok(linker)
}

/// Adds the host's implementation of `interface` (`ns:pkg/name`, no version).
fn add(l: &mut Linker<GuestCtx>, interface: &str) -> wasmtime::Result<()> {
    use wasmtime_wasi_io::bindings::wasi::io;
    match interface {
        "wasi:io/error" => io::error::add_to_linker::<GuestCtx, HasIo>(l, |t| t.ctx().table),
        "wasi:io/poll" => io::poll::add_to_linker::<GuestCtx, HasIo>(l, |t| t.ctx().table),
        "wasi:io/streams" => io::streams::add_to_linker::<GuestCtx, HasIo>(l, |t| t.ctx().table),
        "wasi:clocks/wall-clock" => {
            clocks::wall_clock::add_to_linker::<GuestCtx, WasiClocks>(l, GuestCtx::clocks)
        }
        "wasi:clocks/monotonic-clock" => {
            clocks::monotonic_clock::add_to_linker::<GuestCtx, WasiClocks>(l, GuestCtx::clocks)
        }
        "wasi:filesystem/types" => {
            filesystem::types::add_to_linker::<GuestCtx, WasiFilesystem>(l, GuestCtx::filesystem)
        }
        "wasi:filesystem/preopens" => {
            filesystem::preopens::add_to_linker::<GuestCtx, WasiFilesystem>(l, GuestCtx::filesystem)
        }
        "wasi:random/random" => {
            random::random::add_to_linker::<GuestCtx, WasiRandom>(l, GuestCtx::random)
        }
        "wasi:random/insecure" => {
            random::insecure::add_to_linker::<GuestCtx, WasiRandom>(l, GuestCtx::random)
        }
        "wasi:random/insecure-seed" => {
            random::insecure_seed::add_to_linker::<GuestCtx, WasiRandom>(l, GuestCtx::random)
        }
        "wasi:cli/exit" => cli::exit::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli),
        "wasi:cli/environment" => {
            cli::environment::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)
        }
        "wasi:cli/stdin" => cli::stdin::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli),
        "wasi:cli/stdout" => cli::stdout::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli),
        "wasi:cli/stderr" => cli::stderr::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli),
        "wasi:cli/terminal-input" => {
            cli::terminal_input::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)
        }
        "wasi:cli/terminal-output" => {
            cli::terminal_output::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)
        }
        "wasi:cli/terminal-stdin" => {
            cli::terminal_stdin::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)
        }
        "wasi:cli/terminal-stdout" => {
            cli::terminal_stdout::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)
        }
        "wasi:cli/terminal-stderr" => {
            cli::terminal_stderr::add_to_linker::<GuestCtx, WasiCli>(l, GuestCtx::cli)
        }
        "wasi:sockets/network" => sockets::network::add_to_linker::<GuestCtx, WasiSockets>(
            l,
            &Default::default(),
            GuestCtx::sockets,
        ),
        "wasi:sockets/instance-network" => {
            sockets::instance_network::add_to_linker::<GuestCtx, WasiSockets>(l, GuestCtx::sockets)
        }
        "wasi:sockets/ip-name-lookup" => {
            sockets::ip_name_lookup::add_to_linker::<GuestCtx, WasiSockets>(l, GuestCtx::sockets)
        }
        "wasi:sockets/tcp" => {
            sockets::tcp::add_to_linker::<GuestCtx, WasiSockets>(l, GuestCtx::sockets)
        }
        "wasi:sockets/tcp-create-socket" => {
            sockets::tcp_create_socket::add_to_linker::<GuestCtx, WasiSockets>(l, GuestCtx::sockets)
        }
        "wasi:sockets/udp" => {
            sockets::udp::add_to_linker::<GuestCtx, WasiSockets>(l, GuestCtx::sockets)
        }
        "wasi:sockets/udp-create-socket" => {
            sockets::udp_create_socket::add_to_linker::<GuestCtx, WasiSockets>(l, GuestCtx::sockets)
        }
        "evalbox:guest/store" => {
            crate::bindings::store::add_to_linker::<GuestCtx, HasStore>(l, |t| &mut t.store)
        }
        "wasi:http/types" => {
            let options = Default::default();
            wasmtime_wasi_http::p2::bindings::http::types::add_to_linker::<
                GuestCtx,
                wasmtime_wasi_http::WasiHttp,
            >(l, &options, GuestCtx::http)
        }
        "wasi:http/outgoing-handler" => {
            wasmtime_wasi_http::p2::bindings::http::outgoing_handler::add_to_linker::<
                GuestCtx,
                wasmtime_wasi_http::WasiHttp,
            >(l, GuestCtx::http)
        }
        "evalbox:guest/nix" => {
            crate::bindings::nix::add_to_linker::<GuestCtx, HasNix>(l, |t| &mut t.nix)
        }
        other => Err(wasmtime::Error::msg(format!(
            "the evaluator world imports `{other}`, which this host cannot provide"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_provides_every_import_of_the_world() {
        let engine = wasmtime::Engine::default();
        super::new(&engine).expect("a linker for the whole evaluator world");
    }
}
