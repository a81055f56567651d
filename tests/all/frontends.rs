//! Frontends in other languages: the Python example (`examples/python-frontend`, on the SDK in
//! `guest-abi/python`) built with componentize-py from the registries, run off the shelf (its
//! `wasi:sockets` imports denied), writing the `.drv` Nix 2.8 writes for the same package, and
//! building it in the embedded store; and the escape suite for a Python guest
//! (`tests/python/escape_probe.py`).

use std::path::PathBuf;
use std::process::Command;

use evalbox_tests::{
    component_cache_dir, evalbox_bin, have_bwrap, have_nix, nix_instantiate_on, nix_required, run,
    run_ok, workspace_root,
};

/// componentize-py: `$EVALBOX_COMPONENTIZE_PY`, else the one `scripts/setup.sh` installs,
/// else `PATH`'s. Missing: a skip, or a failure under `EVALBOX_REQUIRE_NIX=1` (CI has it).
fn componentize_py(test: &str) -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("EVALBOX_COMPONENTIZE_PY").map(PathBuf::from),
        Some(workspace_root().join("target/tools/python/bin/componentize-py")),
        Some(PathBuf::from("componentize-py")),
    ];
    let found = candidates.into_iter().flatten().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            !nix_required(),
            "{test}: componentize-py is required (EVALBOX_REQUIRE_NIX=1): run scripts/setup.sh"
        );
        eprintln!("SKIP {test}: componentize-py is not installed (scripts/setup.sh)");
    }
    found
}

/// A Python guest built from module `app` in `dir` (with the SDK on its path), once per test
/// run (next to the compile cache), or `None` without componentize-py.
fn python_guest(test: &str, dir: &str, app: &str) -> Option<PathBuf> {
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let tool = componentize_py(test)?;
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, wasm)) = built.iter().find(|(d, _)| d == dir) {
        return Some(wasm.clone());
    }
    let root = workspace_root();
    let wasm = component_cache_dir()
        .parent()
        .expect("the cache has a parent")
        .join(format!("{app}.wasm"));
    run_ok(
        Command::new(tool)
            .arg("-d")
            .arg(root.join("guest-abi/wit"))
            .args(["-w", "evaluator", "componentize", "-p"])
            .arg(root.join("guest-abi/python"))
            .arg("-p")
            .arg(root.join(dir))
            .arg(app)
            .arg("-o")
            .arg(&wasm),
    );
    built.push((dir.to_owned(), wasm.clone()));
    Some(wasm)
}

fn python_frontend(test: &str) -> Option<PathBuf> {
    python_guest(test, "examples/python-frontend", "app")
}

#[test]
fn python_frontend_writes_and_builds_what_nix_would() {
    let Some(wasm) = python_frontend("python_frontend_writes_and_builds_what_nix_would") else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let pkg = work.path().canonicalize().expect("canonical").join("pkg");
    let expr = evalbox_tests::hello_package(&pkg);
    let store = work.path().join("store");
    let frontend = |flags: &[&str], guest_args: &[&str]| {
        run(Command::new(evalbox_bin())
            .args([
                "--store",
                &format!("local?root={}", store.display()),
                "run",
                "--src",
            ])
            .arg(&pkg)
            .args(flags)
            .arg(&wasm)
            .arg("--")
            .arg(&pkg)
            .args(guest_args)
            .env("EVALBOX_CACHE_DIR", component_cache_dir())
            .env_remove("NIX_REMOTE"))
    };
    let out = frontend(&[], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let drv = stdout.lines().next().expect("the .drv path").to_owned();
    assert!(drv.ends_with("-hello-1.0.drv"), "{stdout}");
    let ours = std::fs::read(store.join(drv.trim_start_matches('/'))).expect("the .drv");

    if have_nix("python_frontend_writes_and_builds_what_nix_would") {
        let nix_root = work.path().join("nix");
        let expr_file = work.path().join("hello.nix");
        std::fs::write(&expr_file, expr).expect("write");
        let nix_drv = run_ok(nix_instantiate_on(&nix_root).arg(&expr_file));
        assert_eq!(drv, nix_drv.trim());
        let theirs = std::fs::read(nix_root.join(drv.trim_start_matches('/'))).expect("Nix's .drv");
        assert_eq!(ours, theirs, "the same .drv bytes");
    }

    if have_bwrap("python_frontend_writes_and_builds_what_nix_would") {
        // The guest asks the store to build it (the builder sees the host's /bin for `cat`).
        let out = frontend(
            &["--option", "sandbox-paths", "/bin /usr /lib /lib64?"],
            &["--build"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let built = stdout
            .lines()
            .find_map(|l| l.strip_prefix("out "))
            .unwrap_or_else(|| panic!("{stdout}"));
        let contents = std::fs::read_to_string(store.join(built.trim_start_matches('/')))
            .expect("the built output");
        assert_eq!(contents, "Hello from evalbox\nhello world\n");
    }
}

#[test]
fn python_frontend_errors_are_clear() {
    let Some(wasm) = python_frontend("python_frontend_errors_are_clear") else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().canonicalize().expect("canonical");
    let out = run(Command::new(evalbox_bin())
        .args([
            "--store",
            &format!("local?root={}", dir.join("store").display()),
            "run",
            "--src",
        ])
        .arg(&dir)
        .arg(&wasm)
        .arg("--")
        .arg(&dir)
        .env("EVALBOX_CACHE_DIR", component_cache_dir())
        .env_remove("NIX_REMOTE"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("python-frontend: no package description"),
        "{stderr}"
    );
}

#[test]
fn a_python_guest_cannot_escape() {
    let Some(wasm) = python_guest(
        "a_python_guest_cannot_escape",
        "tests/python",
        "escape_probe",
    ) else {
        return;
    };
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let addr = tcp.local_addr().expect("address");
    let udp = std::net::UdpSocket::bind(addr).expect("udp");
    tcp.set_nonblocking(true).expect("nonblocking");
    udp.set_nonblocking(true).expect("nonblocking");
    let work = tempfile::tempdir().expect("tempdir");
    let granted = work
        .path()
        .canonicalize()
        .expect("canonical")
        .join("granted");
    std::fs::create_dir(&granted).expect("mkdir");
    std::fs::write(granted.join("visible.txt"), "seen\n").expect("write");
    let probe = || {
        let out = run(Command::new(evalbox_bin())
            .args(["run", "--src"])
            .arg(&granted)
            .arg(&wasm)
            .arg("--")
            .arg(&granted)
            .arg(addr.to_string())
            .env("EVALBOX_CACHE_DIR", component_cache_dir())
            .env("SECRET", "host environment")
            .env_remove("NIX_REMOTE"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = probe();
    assert!(!first.contains("ESCAPED"), "{first}");
    for line in [
        "tcp: refused",
        "udp: refused",
        "lookup: refused",
        "write: refused",
        "mkdir: refused",
        "read outside: refused",
        "list outside: refused",
        "granted read: seen",
        "environment: []",
        "wall clock: 1.0",
    ] {
        assert!(first.contains(line), "no `{line}` in:\n{first}");
    }
    assert!(tcp.accept().is_err(), "the listener got a connection");
    let mut buf = [0u8; 16];
    assert!(udp.recv_from(&mut buf).is_err(), "a datagram arrived");
    assert_eq!(
        std::fs::read_dir(&granted).expect("list").count(),
        1,
        "the granted directory changed"
    );
    // Randomness is seeded: the same bytes every run.
    assert_eq!(first, probe());
}
