//! Frontends in other languages: the Python, JavaScript and C examples (`examples/python-frontend`,
//! `examples/js-frontend`, `examples/c-frontend`, on the SDKs in `guest-abi/python`,
//! `guest-abi/js` and `guest-abi/c`) built with componentize-py and componentize-js from the
//! registries and with the workspace's componentize-c (Debian's clang and wasi-libc), run off
//! the shelf (the Python component's `wasi:sockets` and the JavaScript one's `wasi:http` imports
//! denied), each writing the `.drv` Nix 2.8 writes for the same package (the Python and C ones
//! depending on a Nix-defined package through the Nix capability) and building it in the
//! embedded store; errors of the Nix capability; and the escape
//! suite for a Python, a JavaScript and a C guest (`tests/python/escape_probe.py`,
//! `tests/js/escape_probe.js`, `tests/c/escape_probe.c`).

use std::path::{Path, PathBuf};
use std::process::Command;

use evalbox_tests::{
    component_cache_dir, evalbox_bin, have_bwrap, have_nix, nix_instantiate_on, nix_required, run,
    run_ok, workspace_root,
};

/// A language whose guests are built by a tool from the registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Python,
    Js,
    C,
}

impl Lang {
    /// The tool: `$EVALBOX_COMPONENTIZE_{PY,JS}`, else the one `scripts/setup.sh` installs,
    /// else `PATH`'s. Missing: a skip, or a failure under `EVALBOX_REQUIRE_NIX=1` (CI has it).
    fn tool(self, test: &str) -> Option<PathBuf> {
        if self == Lang::C {
            return c_tool(test);
        }
        let (var, installed, name) = match self {
            Lang::Python => (
                "EVALBOX_COMPONENTIZE_PY",
                "target/tools/python/bin/componentize-py",
                "componentize-py",
            ),
            Lang::Js => (
                "EVALBOX_COMPONENTIZE_JS",
                "target/tools/js/node_modules/.bin/componentize-js",
                "componentize-js",
            ),
            Lang::C => unreachable!("componentize-c is built with the workspace"),
        };
        let candidates = [
            std::env::var_os(var).map(PathBuf::from),
            Some(workspace_root().join(installed)),
            Some(PathBuf::from(name)),
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
                "{test}: {name} is required (EVALBOX_REQUIRE_NIX=1): run scripts/setup.sh"
            );
            eprintln!("SKIP {test}: {name} is not installed (scripts/setup.sh)");
        }
        found
    }

    /// A guest built from `source` (Python: the module's directory; JavaScript: the module),
    /// with the language's SDK, once per test run (next to the compile cache); `None` without
    /// the tool.
    fn guest(self, test: &str, source: &str) -> Option<PathBuf> {
        static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
        let tool = self.tool(test)?;
        let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, wasm)) = built.iter().find(|(s, _)| s == source) {
            return Some(wasm.clone());
        }
        let root = workspace_root();
        let wasm = component_cache_dir()
            .parent()
            .expect("the cache has a parent")
            .join(format!("{}.wasm", source.replace('/', "-")));
        let mut cmd = Command::new(tool);
        cmd.current_dir(&root);
        match self {
            Lang::Python => {
                let (dir, module) = source.rsplit_once('/').expect("DIR/MODULE");
                cmd.args(["-d", "guest-abi/wit", "-w", "evaluator", "componentize"])
                    .args(["-p", "guest-abi/python", "-p", dir, module, "-o"])
                    .arg(&wasm);
            }
            // Off the shelf: with `wasi:http`, which the sandbox provides denied.
            Lang::Js => {
                cmd.arg(source)
                    .args(["-w", "guest-abi/wit", "-n", "evaluator", "-o"])
                    .arg(&wasm);
            }
            Lang::C => {
                cmd.args(["build", source, "-o"]).arg(&wasm);
            }
        }
        run_ok(&mut cmd);
        built.push((source.to_owned(), wasm.clone()));
        Some(wasm)
    }

    fn frontend(self, test: &str) -> Option<PathBuf> {
        match self {
            Lang::Python => self.guest(test, "examples/python-frontend/app"),
            Lang::Js => self.guest(test, "examples/js-frontend/app.js"),
            Lang::C => self.guest(test, "examples/c-frontend/frontend.c"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Lang::Python => "python-frontend",
            Lang::Js => "js-frontend",
            Lang::C => "c-frontend",
        }
    }
}

/// `componentize-c`, built next to this test binary, when a clang for wasm32-wasi is there
/// (`scripts/setup.sh` installs Debian's); a skip, or a failure under `EVALBOX_REQUIRE_NIX=1`.
fn c_tool(test: &str) -> Option<PathBuf> {
    let tool = evalbox_bin().with_file_name("componentize-c");
    assert!(
        tool.exists(),
        "{} is missing: build the workspace",
        tool.display()
    );
    let has_wasi_libc = ["clang", "clang-14"].iter().any(|cc| {
        Command::new(cc)
            .args(["--target=wasm32-wasi", "-print-file-name=crt1-reactor.o"])
            .output()
            .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"/"))
    });
    if !has_wasi_libc {
        assert!(
            !nix_required(),
            "{test}: clang with wasi-libc is required (EVALBOX_REQUIRE_NIX=1): run scripts/setup.sh"
        );
        eprintln!("SKIP {test}: no clang with wasi-libc (scripts/setup.sh)");
        return None;
    }
    Some(tool)
}

#[test]
fn python_frontend_writes_and_builds_what_nix_would() {
    writes_and_builds_what_nix_would(
        Lang::Python,
        "python_frontend_writes_and_builds_what_nix_would",
    );
}

#[test]
fn js_frontend_writes_and_builds_what_nix_would() {
    writes_and_builds_what_nix_would(Lang::Js, "js_frontend_writes_and_builds_what_nix_would");
}

#[test]
fn c_frontend_writes_and_builds_what_nix_would() {
    writes_and_builds_what_nix_would(Lang::C, "c_frontend_writes_and_builds_what_nix_would");
}

fn writes_and_builds_what_nix_would(lang: Lang, test: &str) {
    let Some(wasm) = lang.frontend(test) else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let pkg = work.path().canonicalize().expect("canonical").join("pkg");
    let mut expr = evalbox_tests::hello_package(&pkg);
    let mut expected = "Hello from evalbox\nhello world\n".to_owned();
    if lang != Lang::Js {
        // The Python and C frontends also depend on a package defined in Nix, through the
        // Nix capability, twice (evaluated once: the trace shows once).
        expr = uses_a_nix_package(&pkg, &expr);
        expected.push_str("hello from a Nix-defined package\n");
    }
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
    if lang != Lang::Js {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.matches("trace: evaluating pkgs.nix").count(),
            1,
            "{stderr}"
        );
    }
    let drv = stdout.lines().next().expect("the .drv path").to_owned();
    assert!(drv.ends_with("-hello-1.0.drv"), "{stdout}");
    let ours = std::fs::read(store.join(drv.trim_start_matches('/'))).expect("the .drv");

    if have_nix(test) {
        let nix_root = work.path().join("nix");
        let expr_file = work.path().join("hello.nix");
        std::fs::write(&expr_file, expr).expect("write");
        let nix_drv = run_ok(nix_instantiate_on(&nix_root).arg(&expr_file));
        assert_eq!(drv, nix_drv.trim());
        let theirs = std::fs::read(nix_root.join(drv.trim_start_matches('/'))).expect("Nix's .drv");
        assert_eq!(ours, theirs, "the same .drv bytes");
    }

    if have_bwrap(test) {
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
        assert_eq!(contents, expected);
    }
}

/// Makes the package in `pkg` depend on `greeting`, a derivation of `pkg/pkgs.nix`, through
/// `[nix]` (twice, under two names); returns the Nix expression `expr` with the same.
fn uses_a_nix_package(pkg: &Path, expr: &str) -> String {
    std::fs::write(
        pkg.join("pkgs.nix"),
        r#"builtins.trace "evaluating pkgs.nix" {
  greeting = derivation {
    name = "greeting"; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "echo 'hello from a Nix-defined package' > $out" ];
  };
}
"#,
    )
    .unwrap();
    let toml = pkg.join("package.toml");
    let mut description = std::fs::read_to_string(&toml).unwrap();
    description
        .push_str("\n[nix]\ngreeting = \"pkgs.nix#greeting\"\nagain = \"pkgs.nix#greeting\"\n");
    std::fs::write(&toml, description).unwrap();
    let script = pkg.join("builder.sh");
    let mut builder = std::fs::read_to_string(&script).unwrap();
    builder.push_str("/bin/cat $greeting >> $out\n");
    std::fs::write(&script, builder).unwrap();
    let body = expr
        .trim_end()
        .strip_suffix('}')
        .expect("a derivation { ... }");
    let d = pkg.display();
    format!(
        "{body}  greeting = (import {d}/pkgs.nix).greeting;\n  again = (import {d}/pkgs.nix).greeting;\n}}"
    )
}

#[test]
fn frontend_errors_are_clear() {
    for lang in [Lang::Python, Lang::Js, Lang::C] {
        frontend_error_is_clear(lang);
    }
}

fn frontend_error_is_clear(lang: Lang) {
    let Some(wasm) = lang.frontend("frontend_errors_are_clear") else {
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
        stderr.contains(&format!("{}: no package description", lang.name())),
        "{stderr}"
    );
}

#[test]
fn nix_capability_errors_are_clear() {
    let test = "nix_capability_errors_are_clear";
    let Some(wasm) = Lang::Python.frontend(test) else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let pkg = work.path().canonicalize().expect("canonical").join("pkg");
    let expr = evalbox_tests::hello_package(&pkg);
    uses_a_nix_package(&pkg, &expr);
    let frontend = |flags: &[&str]| {
        run(Command::new(evalbox_bin())
            .args(["--store"])
            .arg(format!(
                "local?root={}",
                work.path().join("store").display()
            ))
            .args(["run", "--src"])
            .arg(&pkg)
            .args(flags)
            .arg(&wasm)
            .arg("--")
            .arg(&pkg)
            .env("EVALBOX_CACHE_DIR", component_cache_dir())
            .env_remove("NIX_REMOTE"))
    };
    let cases = [
        // Nix's own error, with its words.
        (
            "other = 1; }",
            &[][..],
            "python-frontend: attribute 'greeting' in selection path 'greeting' not found",
        ),
        (
            "greeting = { }; }",
            &[][..],
            "python-frontend: nix.greeting: pkgs.nix#greeting is not a derivation",
        ),
        // The nested evaluation runs under the caller's limits.
        (
            "greeting = builtins.length (builtins.genList (x: [ x x x x ]) 100000000); }",
            &["--max-memory", "400"][..],
            "python-frontend: the nested Nix evaluation: memory limit exceeded",
        ),
    ];
    for (pkgs, flags, message) in cases {
        std::fs::write(pkg.join("pkgs.nix"), format!("{{ {pkgs}\n")).unwrap();
        let out = frontend(flags);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(message), "no `{message}` in:\n{stderr}");
    }
}

/// Runs an escape probe with the directory `granted` as its one source (and its first
/// argument, then `args`), the host's environment holding a secret; returns what it printed.
fn escape_probe(wasm: &Path, granted: &Path, args: &[&str]) -> String {
    let out = run(Command::new(evalbox_bin())
        .args(["run", "--src"])
        .arg(granted)
        .arg(wasm)
        .arg("--")
        .arg(granted)
        .args(args)
        .env("EVALBOX_CACHE_DIR", component_cache_dir())
        .env("SECRET", "host environment")
        .env_remove("NIX_REMOTE"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The escape suite for a guest built from `probe`: it runs twice in a fresh granted directory
/// holding `files`, with `args` after that directory. Nothing escapes, every line `expected`
/// gives for the directory is printed, the directory is left as it was, and both runs print
/// the same (randomness is seeded).
fn escape_suite(
    lang: Lang,
    test: &str,
    probe: &str,
    files: &[(&str, &str)],
    args: &[&str],
    expected: impl Fn(&Path) -> Vec<String>,
) {
    let Some(wasm) = lang.guest(test, probe) else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let granted = work
        .path()
        .canonicalize()
        .expect("canonical")
        .join("granted");
    std::fs::create_dir(&granted).expect("mkdir");
    for (name, contents) in files {
        std::fs::write(granted.join(name), contents).expect("write");
    }
    let first = escape_probe(&wasm, &granted, args);
    assert!(!first.contains("ESCAPED"), "{first}");
    for line in expected(&granted) {
        assert!(first.contains(&line), "no `{line}` in:\n{first}");
    }
    assert_eq!(
        std::fs::read_dir(&granted).expect("list").count(),
        files.len(),
        "the granted directory changed"
    );
    assert_eq!(
        first,
        escape_probe(&wasm, &granted, args),
        "randomness is seeded"
    );
}

/// Strings of `lines`.
fn owned(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

#[test]
fn a_python_guest_cannot_escape() {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let addr = tcp.local_addr().expect("address");
    let udp = std::net::UdpSocket::bind(addr).expect("udp");
    tcp.set_nonblocking(true).expect("nonblocking");
    udp.set_nonblocking(true).expect("nonblocking");
    escape_suite(
        Lang::Python,
        "a_python_guest_cannot_escape",
        "tests/python/escape_probe",
        &[("visible.txt", "seen\n")],
        &[&addr.to_string()],
        |_| {
            owned(&[
                "tcp: refused",
                "udp: refused",
                "lookup: refused",
                "write: refused",
                "mkdir: refused",
                "read outside: refused",
                "list outside: refused",
                "granted read: seen",
                "nix read outside: refused (NixError)",
                "nix list outside: refused (NixError)",
                "nix granted read: 'seen\\n'",
                "nix environment: ''",
                "environment: []",
                "wall clock: 1.0",
            ])
        },
    );
    assert!(tcp.accept().is_err(), "the listener got a connection");
    let mut buf = [0u8; 16];
    assert!(udp.recv_from(&mut buf).is_err(), "a datagram arrived");
}

#[test]
fn a_js_guest_cannot_escape() {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let addr = tcp.local_addr().expect("address");
    tcp.set_nonblocking(true).expect("nonblocking");
    escape_suite(
        Lang::Js,
        "a_js_guest_cannot_escape",
        "tests/js/escape_probe.js",
        &[],
        &[&addr.to_string()],
        |granted| {
            let mut lines = owned(&[
                "write: refused",
                "mkdir: refused",
                "read outside: refused",
                "nix read outside: refused (NixError)",
                "nix environment: \"\"",
                "environment: []",
                "wall clock: 1000",
                "fetch: refused (TypeError: NetworkError when attempting to fetch resource)",
            ]);
            lines.push(format!("preopens: [\"{}\"]", granted.display()));
            lines
        },
    );
    assert!(tcp.accept().is_err(), "the listener got a connection");
}

#[test]
fn a_c_guest_cannot_escape() {
    escape_suite(
        Lang::C,
        "a_c_guest_cannot_escape",
        "tests/c/escape_probe.c",
        &[],
        &[],
        |_| {
            owned(&[
                "write: refused",
                "mkdir: refused",
                "read outside: refused",
                "list outside: refused",
                "read through ..: refused",
                "nix read outside: refused (eval)",
                "environment: (none)",
                "wall clock: 1\n",
            ])
        },
    );
}
