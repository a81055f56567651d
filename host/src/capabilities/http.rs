//! `wasi:http`, provided with every request denied: off-the-shelf toolchains import it
//! (componentize-js does by default, for `fetch`), and such a component runs, but an outgoing
//! request fails with `HTTP-request-denied` before anything leaves the host. Requests and
//! responses can still be built and taken apart (they are plain values); nothing is sent.

use std::future::Future;

use wasmtime_wasi_http::{Error, RequestOptions, Result, WasiBody, WasiHttpHooks};

/// The hooks that deny every outgoing request.
#[derive(Debug, Default)]
pub struct DenyRequests;

/// What `send_request` returns.
type Sent = Box<
    dyn Future<
            Output = Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = Result<(), Error>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for DenyRequests {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Sent {
        tracing::debug!(uri = %request.uri(), "denied an outgoing HTTP request");
        Box::new(async { Err(Error::HttpRequestDenied) })
    }
}
