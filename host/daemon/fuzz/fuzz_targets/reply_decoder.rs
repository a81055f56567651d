//! Fuzzes everything that decodes bytes sent by a daemon: stderr messages, path infos, build
//! results, unframed NARs, framed streams and whole handshakes. The first input byte picks the
//! decoder and the protocol version; the rest is the daemon's reply. Any panic, hang or huge
//! allocation is a bug (errors are the expected outcome for garbage).
#![no_main]

use evalbox_daemon::client::{ClientOptions, DaemonClient};
use evalbox_daemon::nar::{NarLimits, copy_nar};
use evalbox_daemon::stderr::read_message;
use evalbox_daemon::types::{BuildResult, ValidPathInfo};
use evalbox_daemon::wire::{Limits, read_framed};
use evalbox_daemon::ProtocolVersion;
use nix_formats::StoreDir;
use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncWriteExt;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let version = ProtocolVersion::new(1, 21 + (sel >> 4) % 18);
    let limits = Limits {
        max_string: 1 << 16,
        max_list: 1 << 10,
        max_frame: 1 << 16,
        max_path: 4096,
    };
    let dir = StoreDir::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut r = rest;
        match sel % 6 {
            0 => {
                let _ = read_message(&mut r, version, &limits).await;
            }
            1 => {
                let _ = ValidPathInfo::read(&mut r, &dir, version, &limits).await;
            }
            2 => {
                let _ = BuildResult::read(&mut r, &dir, version, &limits).await;
            }
            3 => {
                let _ = copy_nar(&mut r, &NarLimits::default(), &mut |_| Ok(())).await;
            }
            4 => {
                let _ = read_framed(&mut r, &limits, 1 << 20).await;
            }
            _ => {
                // A whole session: the input is everything the daemon says.
                let (client, mut server) = tokio::io::duplex(1 << 16);
                let script = rest.to_vec();
                let (cr, cw) = tokio::io::split(client);
                let serve = async move {
                    let _ = server.write_all(&script).await;
                    let _ = server.shutdown().await;
                    // Keep the read side open (and drained) until the client is done.
                    let mut sink = tokio::io::sink();
                    let _ = tokio::io::copy(&mut server, &mut sink).await;
                };
                let talk = async move {
                    let opts = ClientOptions {
                        max_version: version,
                        limits,
                        ..ClientOptions::default()
                    };
                    if let Ok(mut c) = DaemonClient::handshake(cr, cw, opts).await {
                        let p = nix_formats::StorePath::from_base_name(
                            "g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-foo",
                        )
                        .expect("path");
                        let _ = c.query_path_info(&p).await;
                        let _ = c.nar_from_path(&p, &mut |_| Ok(())).await;
                    }
                };
                tokio::join!(serve, talk);
            }
        }
    });
});
