//! `evalbox run` / `evalbox inspect` at the process edge: exit codes, messages, the audit
//! verdict, the compile cache.

use std::process::Command;

use evalbox::runtime::exit_code;

fn evalbox(cache: &std::path::Path) -> Command {
    let mut cmd = Command::new(evalbox_tests::evalbox_bin());
    cmd.env("EVALBOX_CACHE_DIR", cache);
    cmd
}

#[test]
fn run_denies_sockets_and_strict_refuses_them_with_exit_2() {
    let cache = tempfile::tempdir().unwrap();
    let out = evalbox_tests::run(
        evalbox(cache.path())
            .arg("run")
            .arg(evalbox_tests::guest_wasm("sockets")),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("access-denied"));
    let out = evalbox_tests::run(
        evalbox(cache.path())
            .args(["run", "--strict"])
            .arg(evalbox_tests::guest_wasm("sockets")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit_code::REFUSED)),
        "{stderr}"
    );
    assert!(stderr.contains("wasi:sockets/"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn run_reports_limits_with_their_exit_codes() {
    let cache = tempfile::tempdir().unwrap();
    let out = evalbox_tests::run(
        evalbox(cache.path())
            .args(["run", "--timeout", "0.3"])
            .arg(evalbox_tests::guest_wasm("infinite_loop")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit_code::DEADLINE)),
        "{stderr}"
    );
    assert!(stderr.contains("time limit exceeded"), "{stderr}");

    let out = evalbox_tests::run(
        evalbox(cache.path())
            .args(["run", "--max-memory", "32"])
            .arg(evalbox_tests::guest_wasm("memory_bomb")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit_code::MEMORY)),
        "{stderr}"
    );
    assert!(stderr.contains("memory limit exceeded"), "{stderr}");

    let out = evalbox_tests::run(
        evalbox(cache.path())
            .args(["run", "--max-output", "1"])
            .arg(evalbox_tests::guest_wasm("output_flood")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit_code::OUTPUT)),
        "{stderr}"
    );
    assert!(stderr.contains("output limit exceeded"), "{stderr}");
    assert!(out.stdout.len() <= 1 << 20);

    let out = evalbox_tests::run(
        evalbox(cache.path())
            .arg("run")
            .arg(evalbox_tests::guest_wasm("stack_overflow")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit_code::TRAP)),
        "{stderr}"
    );
    assert!(stderr.contains("stack overflow"), "{stderr}");
}

#[test]
fn run_passes_args_env_sources_and_exit_code() {
    let cache = tempfile::tempdir().unwrap();
    let out = evalbox_tests::run(
        evalbox(cache.path())
            .args(["run", "--env", "GREETING=hi"])
            .arg(evalbox_tests::guest_wasm("hello"))
            .args(["--", "one", "--two"]),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "arg one\narg --two\nenv GREETING=hi\n"
    );
    let out = evalbox_tests::run(
        evalbox(cache.path())
            .arg("run")
            .arg(evalbox_tests::guest_wasm("exit_code")),
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn run_uses_the_compile_cache() {
    let cache = tempfile::tempdir().unwrap();
    let wasm = evalbox_tests::guest_wasm("hello");
    for _ in 0..2 {
        let out = evalbox_tests::run(evalbox(cache.path()).arg("run").arg(&wasm));
        assert_eq!(out.status.code(), Some(0));
    }
    let entries: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "digests")
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].ends_with(".cwasm"), "{entries:?}");
    // The component file's digest is remembered, so the next start neither reads nor
    // hashes it.
    assert_eq!(
        std::fs::read_dir(cache.path().join("digests"))
            .unwrap()
            .count(),
        1
    );
    // A corrupt entry is ignored and replaced, not trusted.
    let entry = cache.path().join(&entries[0]);
    std::fs::write(&entry, b"garbage").unwrap();
    let out = evalbox_tests::run(evalbox(cache.path()).arg("run").arg(&wasm));
    assert_eq!(out.status.code(), Some(0));
    assert_ne!(std::fs::read(&entry).unwrap(), b"garbage");
}

#[test]
fn inspect_prints_imports_and_verdict() {
    let cache = tempfile::tempdir().unwrap();
    let statuses = |strict: bool| {
        let mut cmd = evalbox(cache.path());
        cmd.args(["inspect", "--json"]);
        if strict {
            cmd.arg("--strict");
        }
        let out = evalbox_tests::run(cmd.arg(evalbox_tests::guest_wasm("sockets")));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let of = |status: &str| -> Vec<String> {
            json["imports"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["status"] == status)
                .map(|i| i["name"].as_str().unwrap().to_owned())
                .collect()
        };
        (
            out.status.code(),
            json["allowed"].clone(),
            of("denied"),
            of("refused"),
        )
    };
    // Sockets are denied (the component runs); a strict audit refuses them.
    let (code, allowed, denied, refused) = statuses(false);
    assert_eq!((code, allowed), (Some(0), serde_json::Value::Bool(true)));
    assert!(
        !denied.is_empty() && refused.is_empty(),
        "{denied:?} {refused:?}"
    );
    assert!(
        denied.iter().all(|n| n.starts_with("wasi:sockets/")),
        "{denied:?}"
    );
    let (code, allowed, denied, refused) = statuses(true);
    assert_eq!((code, allowed), (Some(1), serde_json::Value::Bool(false)));
    assert!(denied.is_empty() && !refused.is_empty());
    assert!(
        refused.iter().all(|n| n.starts_with("wasi:sockets/")),
        "{refused:?}"
    );

    let out = evalbox_tests::run(
        evalbox(cache.path())
            .arg("inspect")
            .arg(evalbox_tests::guest_wasm("hello")),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("verdict: allowed"), "{stdout}");
    assert!(stdout.contains("wasi:cli/run@0.2"), "{stdout}");
}

#[test]
fn run_rejects_bad_arguments_clearly() {
    let cache = tempfile::tempdir().unwrap();
    let out = evalbox_tests::run(
        evalbox(cache.path())
            .args(["run", "--src", "/nonexistent/evalbox-src"])
            .arg(evalbox_tests::guest_wasm("hello")),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/evalbox-src"));
    let out = evalbox_tests::run(evalbox(cache.path()).args(["run", "/nonexistent/g.wasm"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/g.wasm"));
    let garbage = cache.path().join("garbage.wasm");
    std::fs::write(&garbage, b"\0asm garbage").unwrap();
    let out = evalbox_tests::run(evalbox(cache.path()).arg("run").arg(&garbage));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot compile"));
}

#[test]
fn run_opens_the_store_only_when_the_guest_uses_it() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = format!("local?root={}", root.display());
    // A guest that makes no store call leaves no store behind.
    let out = evalbox_tests::run(
        evalbox(cache.path())
            .args(["--store", &store, "run"])
            .arg(evalbox_tests::guest_wasm("hello")),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        !root.exists(),
        "the store was created for a guest that never used it"
    );
    // One that does gets it, created on first use.
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(
        src.join("package.toml"),
        "name = \"lazy\"\nversion = \"1\"\nscript = \"build.sh\"\n",
    )
    .unwrap();
    std::fs::write(src.join("build.sh"), "echo hi > $out\n").unwrap();
    let src = src.canonicalize().unwrap();
    let out = evalbox_tests::run(
        evalbox(cache.path())
            .args(["--store", &store, "run", "--src"])
            .arg(&src)
            .arg(evalbox_tests::guest_wasm("hello-frontend"))
            .arg("--")
            .arg(&src),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(root.join("nix/var/nix/db/db.sqlite").exists());
    // A malformed URI still fails before the guest runs; an unreachable daemon fails the
    // guest's first store call with the reason.
    let out = evalbox_tests::run(
        evalbox(cache.path())
            .args(["--store", "bogus://x", "run"])
            .arg(evalbox_tests::guest_wasm("hello")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("invalid store URI 'bogus://x'"), "{stderr}");
    assert!(out.stdout.is_empty(), "the guest ran");
    let socket = dir.path().join("no-daemon.sock");
    let out = evalbox_tests::run(
        evalbox(cache.path())
            .args([
                "--store",
                &format!("unix://{}", socket.display()),
                "run",
                "--src",
            ])
            .arg(&src)
            .arg(evalbox_tests::guest_wasm("hello-frontend"))
            .arg("--")
            .arg(&src),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no-daemon.sock"), "{stderr}");
}

#[test]
fn an_unwritable_compile_cache_is_a_warning_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let out = evalbox_tests::run(
        evalbox(&file.join("cache"))
            .arg("run")
            .arg(evalbox_tests::guest_wasm("hello")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("WARN") && stderr.contains("cannot write the component cache"),
        "{stderr}"
    );
}
