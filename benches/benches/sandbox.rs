//! Sandbox benchmarks.
//!
//! - P1 `sandbox/p1_empty_guest`: warm create + run + tear down of an empty guest (pooling
//!   allocator, cached `InstancePre`, compiled once): a fresh WASI context, `wasmtime::Store`,
//!   instantiation, `wasi:cli/run`, drop. Target: ≤ 10 µs median.
//! - P2 `sandbox/p2_is_valid_path`: one `is-valid-path` host call round trip from a guest on
//!   the embedded store, per call (the guest loops; one instantiation is amortised over
//!   thousands of calls). `sandbox/p2_is_valid_path_daemon` is the same call served by the
//!   real nix-daemon (`--store daemon`), when its socket exists.
//!
//! `benches/sandbox-side-by-side.sh` puts P1 next to `bwrap --unshare-all true`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use evalbox::runtime::OutputTarget;
use evalbox::sandbox::{RunConfig, RunOutcome, Sandbox, SandboxOptions};

fn sandbox() -> Sandbox {
    Sandbox::new(SandboxOptions::default()).expect("sandbox")
}

fn quiet(args: Vec<String>) -> RunConfig {
    RunConfig {
        args,
        stdout: OutputTarget::Discard,
        stderr: OutputTarget::Discard,
        ..RunConfig::default()
    }
}

fn p1(c: &mut Criterion) {
    let sandbox = sandbox();
    let guest = sandbox
        .prepare_file(&evalbox_tests::guest_wasm("empty"))
        .expect("prepare empty");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let config = quiet(vec!["empty".into()]);
    let mut group = c.benchmark_group("sandbox");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("p1_empty_guest", |b| {
        b.iter(|| {
            let outcome = rt.block_on(sandbox.run(&guest, &config)).expect("run");
            assert_eq!(outcome, RunOutcome::Exited(0));
        })
    });
    group.finish();
}

fn p2(c: &mut Criterion) {
    let sandbox = sandbox();
    let guest = sandbox
        .prepare_file(&evalbox_tests::guest_wasm("bench_is_valid_path"))
        .expect("prepare bench_is_valid_path");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let root = tempfile::tempdir().expect("tempdir");
    let uri = format!("local?root={}", root.path().display());
    let mut stores = vec![(
        "p2_is_valid_path",
        rt.block_on(evalbox::open_store(Some(&uri)))
            .expect("embedded store"),
    )];
    if std::path::Path::new(evalbox_tests::DAEMON_SOCKET).exists() {
        match rt.block_on(evalbox::open_store(Some("daemon"))) {
            Ok(store) => stores.push(("p2_is_valid_path_daemon", store)),
            Err(e) => eprintln!("skipping the nix-daemon variant: {e}"),
        }
    }
    let mut group = c.benchmark_group("sandbox");
    group.measurement_time(Duration::from_secs(5));
    for (name, store) in stores {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let config = RunConfig {
                    store: Some(Arc::clone(&store)),
                    ..quiet(vec!["bench".into(), iters.to_string()])
                };
                let start = Instant::now();
                let outcome = rt.block_on(sandbox.run(&guest, &config)).expect("run");
                let elapsed = start.elapsed();
                assert_eq!(outcome, RunOutcome::Exited(0));
                elapsed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, p1, p2);
criterion_main!(benches);
