//! One is-valid-path (and one query-path-info) against the embedded store and against the real
//! nix-daemon through the worker-protocol client, in one run, so the ratio is measured under
//! the same conditions. Also one add-text-to-store round trip through the daemon. Without a
//! daemon socket the daemon half is skipped with a note. The CLI-level side by side
//! (`evalbox store add` vs `nix-store --add`) is `benches/daemon-side-by-side.sh`.

use std::collections::BTreeSet;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use evalbox_daemon::client::ClientOptions;
use evalbox_daemon::{DaemonStore, Transport};
use evalbox_store::NixStore;
use evalbox_store::local::LocalStore;
use nix_formats::StoreDir;

const SOCKET: &str = "/nix/var/nix/daemon-socket/socket";

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let local = LocalStore::open(tmp.path(), StoreDir::default()).unwrap();
    let text = b"evalbox daemon benchmark\n";
    let refs = BTreeSet::new();
    let local_path = rt
        .block_on(local.add_text_to_store("evalbox-bench", text, &refs))
        .unwrap();

    let mut g = c.benchmark_group("is_valid_path");
    g.bench_function("embedded", |b| {
        b.iter(|| rt.block_on(local.is_valid_path(&local_path)).unwrap())
    });
    let daemon = if Path::new(SOCKET).exists() {
        let d = rt
            .block_on(DaemonStore::connect(
                Transport::Unix(SOCKET.into()),
                ClientOptions::default(),
                1,
            ))
            .unwrap();
        let p = rt
            .block_on(d.add_text_to_store("evalbox-bench", text, &refs))
            .unwrap();
        assert_eq!(p, local_path, "both stores compute the same path");
        g.bench_function("daemon", |b| {
            b.iter(|| rt.block_on(d.is_valid_path(&p)).unwrap())
        });
        Some(d)
    } else {
        eprintln!("SKIP daemon benchmarks: no nix-daemon socket at {SOCKET}");
        None
    };
    g.finish();

    let mut g = c.benchmark_group("query_path_info");
    g.bench_function("embedded", |b| {
        b.iter(|| rt.block_on(local.query_path_info(&local_path)).unwrap())
    });
    if let Some(d) = &daemon {
        g.bench_function("daemon", |b| {
            b.iter(|| rt.block_on(d.query_path_info(&local_path)).unwrap())
        });
    }
    g.finish();

    if let Some(d) = &daemon {
        let mut g = c.benchmark_group("add_text_to_store_existing");
        g.bench_function("embedded", |b| {
            b.iter(|| {
                rt.block_on(local.add_text_to_store("evalbox-bench", text, &refs))
                    .unwrap()
            })
        });
        g.bench_function("daemon", |b| {
            b.iter(|| {
                rt.block_on(d.add_text_to_store("evalbox-bench", text, &refs))
                    .unwrap()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
