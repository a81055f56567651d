//! Per-guest host state: [`GuestCtx`] owns the WASI context, the resource table, the limiter
//! and the state of the evalbox interfaces, and hands each interface the narrow view it needs.
//! One file per WIT interface implemented here (`store.rs`, `nix.rs`); the WASI interfaces are
//! wasmtime-wasi's, virtualised through the context they are given.

use std::path::PathBuf;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::runtime::limits::Limiter;

pub mod http;
pub mod nix;
pub mod store;

/// A read-only source directory: `host` appears in the guest as `guest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preopen {
    /// Canonical absolute host path.
    pub host: PathBuf,
    /// Absolute path inside the guest.
    pub guest: String,
}

/// Everything one running guest owns on the host side.
#[allow(missing_debug_implementations)]
pub struct GuestCtx {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) store: store::StoreCapability,
    pub(crate) nix: nix::NixCapability,
    pub(crate) http: wasmtime_wasi_http::WasiHttpCtx,
    pub(crate) http_hooks: http::DenyRequests,
}

impl GuestCtx {
    /// A context from its parts.
    pub(crate) fn new(
        wasi: WasiCtx,
        limiter: Limiter,
        store: store::StoreCapability,
        nix: nix::NixCapability,
    ) -> Self {
        GuestCtx {
            wasi,
            table: ResourceTable::new(),
            limiter,
            store,
            nix,
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            http_hooks: http::DenyRequests,
        }
    }
}

impl WasiView for GuestCtx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_http::WasiHttpView for GuestCtx {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}
