//! The Nix evaluator's benchmark set, each case measured three times: the `nix-eval`
//! wasm guest embedded in evalbox, run in the sandbox (`nix_eval/wasm/<case>`: instantiate +
//! parse + evaluate + print, the component compiled once beforehand, no epoch checks, as
//! `evalbox eval` without `--timeout` runs it), the same with the epoch checks a deadline needs
//! (`nix_eval/wasm-deadline/<case>`, a long-lived embedder's default), and the same core
//! natively in process (`nix_eval/native/<case>`, one codegen unit like the guest). Cases: fib 25, foldl' over genList 1e6, a 20 000-attribute
//! file (parse + eval), string building + replaceStrings, a lib.nix-style fixpoint of 1 000
//! overlays. Both must print the same value, checked before timing.
//!
//! `benches/nix-eval-side-by-side.sh` compares whole processes with `nix-instantiate` (Nix 2.8),
//! with peak memory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::Criterion;
use evalbox::capabilities::Preopen;
use evalbox::runtime::OutputTarget;
use evalbox::runtime::engine::EngineOptions;
use evalbox::sandbox::{RunConfig, RunOutcome, Sandbox, SandboxOptions};
use nix_eval::cli;

const CASES: &[&str] = &["fib", "fold", "attrs", "strings", "fix"];

/// The benchmark inputs (guests/nix-eval/bench) copied to a temporary directory, with the generated
/// 20 000-attribute file.
fn inputs() -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests/nix-eval/bench");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical tempdir");
    for case in CASES {
        let name = format!("{case}.nix");
        std::fs::copy(src.join(&name), root.join(&name)).expect("copy bench input");
    }
    let mut data = String::from("{\n");
    for i in 0..20_000 {
        data.push_str(&format!(
            "  a{i} = {{ x = {i}; y = \"s{i}\"; z = [ {i} {} ]; }};\n",
            i + 1
        ));
    }
    data.push_str("}\n");
    std::fs::write(root.join("attrs-data.nix"), data).expect("write attrs-data.nix");
    (dir, root)
}

fn args(root: &Path, case: &str) -> Vec<String> {
    [
        "--eval".to_owned(),
        "--strict".to_owned(),
        root.join(format!("{case}.nix")).display().to_string(),
    ]
    .to_vec()
}

fn native(root: &Path, case: &str) -> String {
    let cwd = root.display().to_string();
    let parsed = cli::parse_args(&args(root, case), &cwd).expect("arguments");
    let mut parsed = parsed;
    parsed.opts.stack_budget = STACK - STACK / 8;
    let io = cli::io(&parsed, None).expect("the native evaluator's I/O");
    let out = cli::run(&parsed, &cwd, io, &|| Ok(String::new()));
    assert_eq!(out.code, 0, "native {case} failed");
    out.stdout
}

fn benches(c: &mut Criterion) {
    let (_dir, root) = inputs();
    let sandbox = |deadlines| {
        let sandbox = Sandbox::new(SandboxOptions {
            engine: EngineOptions {
                deadlines,
                ..EngineOptions::default()
            },
            ..SandboxOptions::default()
        })
        .expect("sandbox");
        let guest = sandbox
            .prepare(evalbox::nix_eval::EMBEDDED)
            .expect("prepare the nix-eval guest");
        (sandbox, guest)
    };
    let sandboxes = [("wasm", sandbox(false)), ("wasm-deadline", sandbox(true))];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let root_s = root.display().to_string();
    let config = |case: &str, stdout: OutputTarget| RunConfig {
        args: std::iter::once("nix-eval".to_owned())
            .chain(args(&root, case))
            .collect(),
        cwd: Some(root_s.clone()),
        preopens: vec![Preopen {
            host: root.clone(),
            guest: root_s.clone(),
        }],
        stdout,
        stderr: OutputTarget::Stderr,
        ..RunConfig::default()
    };

    let mut group = c.benchmark_group("nix_eval");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for case in CASES {
        // Same value in the sandbox and natively. A case the sandbox cannot finish is
        // reported and timed natively only.
        let expected = native(&root, case);
        group.bench_function(format!("native/{case}"), |b| b.iter(|| native(&root, case)));
        for (name, (sandbox, guest)) in &sandboxes {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let outcome = rt
                .block_on(sandbox.run(guest, &config(case, OutputTarget::Buffer(buffer.clone()))))
                .expect("run");
            if outcome != RunOutcome::Exited(0) {
                eprintln!(
                    "nix_eval/{name}/{case}: not timed, the guest did not finish: {outcome:?}"
                );
                continue;
            }
            let wasm_out =
                String::from_utf8(buffer.lock().expect("buffer").clone()).expect("utf-8");
            assert_eq!(wasm_out, expected, "{case}: {name} and native differ");
            let quiet = config(case, OutputTarget::Discard);
            group.bench_function(format!("{name}/{case}"), |b| {
                b.iter(|| {
                    let outcome = rt.block_on(sandbox.run(guest, &quiet)).expect("run");
                    assert_eq!(outcome, RunOutcome::Exited(0));
                })
            });
        }
    }
    group.finish();
}

/// The native evaluator's stack (deep overlays recurse natively), like the `nix-eval` binary's.
const STACK: usize = 1 << 30;

fn main() {
    let worker = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(|| {
            let mut c = Criterion::default().configure_from_args();
            benches(&mut c);
            c.final_summary();
        })
        .expect("spawn the benchmark thread");
    worker.join().expect("benchmarks");
}
