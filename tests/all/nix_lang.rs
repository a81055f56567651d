//! The Nix language inside the sandbox: `evalbox eval`/`evalbox parse` running the embedded
//! `nix-eval` wasm guest. Nix's language test suite (`shared/nix-lang-tests`) through the
//! sandbox with committed floors, deep and runaway recursion, and what the guest may read.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use evalbox_tests::component_cache_dir;
use nix_eval::conformance::{self, Evaluator, Invocation, Run};

/// Minimum passes through the wasm guest per category, and eval-fail messages identical to
/// `.err.exp`; raise as the evaluator improves. The native floors are in
/// guests/nix-eval/tests/conformance.rs; the sandbox matches one message fewer by design:
/// `eval-fail-readDir-nonexistent-1` reads `/this/path/...`, outside every preopen, so the
/// guest says the read was refused instead of Nix's "does not exist".
const FLOORS: &[(&str, usize)] = &[
    ("eval-okay", 141),
    ("eval-fail", 283),
    ("parse-okay", 13),
    ("parse-fail", 41),
    ("messages", 253),
];

/// One embedded store for every run of this test binary (evaluation writes sources and
/// derivations to the store, as Nix does).
fn store_dir() -> PathBuf {
    component_cache_dir().with_file_name("evalbox-test-nix-lang-store")
}

fn evalbox(mode: &str) -> Command {
    let mut cmd = Command::new(evalbox_tests::evalbox_bin());
    cmd.arg(mode)
        .env("EVALBOX_CACHE_DIR", component_cache_dir())
        .env("EVALBOX_STORE", store_dir())
        .env_remove("NIX_PATH")
        .env_remove("NIX_REMOTE")
        .env_remove("EVALBOX_NIX_EVAL");
    cmd
}

/// Compiles the guest into the cache before timed runs.
fn warm_up() {
    let out = evalbox("eval")
        .args(["-E", "1 + 1"])
        .output()
        .expect("run evalbox");
    assert!(
        out.status.success(),
        "evalbox eval -E '1 + 1' failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n");
}

/// `evalbox eval`/`parse`, with upstream's driver environment: `NIX_PATH` from the host's
/// environment (read by evalbox, not the guest) and `HOME`/`TEST_VAR` through `--env`.
struct Sandboxed;

impl Evaluator for Sandboxed {
    fn run(&self, cwd: &Path, inv: &Invocation) -> Run {
        let mut cmd = evalbox(if inv.parse { "parse" } else { "eval" });
        cmd.current_dir(cwd)
            .env("NIX_PATH", conformance::NIX_PATH)
            .args(conformance::ENV_FLAGS)
            .args(&inv.args);
        conformance::run_command(cmd, inv.stdin.as_deref(), Duration::from_secs(60))
    }
}

#[test]
fn nix_lang_suite_in_the_sandbox() {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/nix-lang-tests");
    let Some(dir) = conformance::suite_dir(&default) else {
        eprintln!(
            "SKIPPED: nix-lang-tests not found at {} (set NIX_LANG_TESTS)",
            default.display()
        );
        return;
    };
    warm_up();
    conformance::run_suite(&dir, &Sandboxed).assert_floors(FLOORS, "through the sandbox");
}

fn eval_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = evalbox("eval")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run evalbox");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// A 10 000-deep non-tail recursion evaluates (the engine gives guests a 256 MiB wasm stack,
// see host/src/runtime/engine.rs); a runaway one ends in Nix's own error.
#[test]
fn deep_recursion_evaluates_and_runaway_recursion_is_a_clean_error() {
    warm_up();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = eval_in(
        dir.path(),
        &[
            "-E",
            "let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 10000",
        ],
    );
    assert_eq!((code, out.as_str()), (Some(0), "10000\n"), "stderr: {err}");
    // Structural recursion on cyclic or infinite values (coercion through outPath and
    // __toString, toString of nested lists, toXML, toJSON, ==, <) uses little of the guest's
    // own stack but much of the wasm stack: each level counts toward max-call-depth, so every
    // one ends in an evaluation error, never a trap.
    for expr in [
        r#"let a = { outPath = a; }; in "${a}""#,
        r#"let a = { __toString = s: a; }; in "${a}""#,
        "let l = [ l ]; in toString l",
        "let a = [ a ]; in builtins.toXML a",
        "let a = { outPath = a; }; in builtins.toJSON a",
        "let f = n: { x = f (n + 1); }; in f 0 == f 0",
        "let l = n: [ (l (n + 1)) ]; in l 0 < l 0",
        "let l = n: [ (l (n + 1)) ]; in builtins.deepSeq (l 0) 1",
    ] {
        let (code, out, err) = eval_in(dir.path(), &["--strict", "-E", expr]);
        assert_eq!(code, Some(1), "{expr}: stdout {out:?}, stderr {err}");
        assert!(
            err.contains("error:") && !err.contains("trap") && !err.contains("panicked"),
            "{expr}: {err}"
        );
    }
    // Runaway recursion: Nix's max-call-depth, and beyond it the guest's own stack budget;
    // both end in an evaluation error (exit 1), never a trap (101) or a host crash.
    for extra in [&[][..], &["--max-call-depth", "100000000"][..]] {
        let mut args = vec!["-E", "let f = n: 1 + f (n + 1); in f 0"];
        args.extend_from_slice(extra);
        let (code, out, err) = eval_in(dir.path(), &args);
        assert_eq!(code, Some(1), "args {args:?}: stdout {out:?}, stderr {err}");
        assert!(
            err.contains("error:") && !err.contains("trap") && !err.contains("panicked"),
            "args {args:?}: {err}"
        );
    }
}

// `--timeout` stops a long evaluation with exit 124. Runs without it use an engine with no
// epoch checks; the two compile to different code, kept side by side in the compile cache,
// so alternating between them recompiles nothing and warns about nothing.
#[test]
fn eval_timeout_stops_a_long_evaluation_and_shares_the_cache() {
    warm_up();
    let dir = tempfile::tempdir().unwrap();
    let long = "let sum = n: builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) n); \
                in builtins.foldl' (a: i: a + sum 100000) 0 (builtins.genList (x: x) 100000)";
    let (code, out, err) = eval_in(dir.path(), &["--timeout", "0.5", "-E", long]);
    assert_eq!(code, Some(124), "stdout {out:?}, stderr {err}");
    assert!(err.contains("time limit exceeded"), "{err}");
    // A list too big for memory is an evaluation error, not a trap.
    let (code, _, err) = eval_in(
        dir.path(),
        &["-E", "builtins.length (builtins.genList (x: x) 1000000000)"],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("cannot create list of size 1000000000"),
        "{err}"
    );
    for args in [
        &["-E", "1 + 1"][..],
        &["--timeout", "60", "-E", "1 + 1"][..],
    ] {
        let (code, out, err) = eval_in(dir.path(), args);
        assert_eq!((code, out.as_str()), (Some(0), "2\n"), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

#[test]
fn reads_only_its_sources() {
    warm_up();
    let root = tempfile::tempdir().unwrap();
    let root = root.path().canonicalize().unwrap();
    let (work, lib, other) = (root.join("work"), root.join("lib"), root.join("other"));
    for d in [&work, &lib, &other] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(work.join("main.nix"), "{ x }: x + import ./two.nix").unwrap();
    std::fs::write(work.join("two.nix"), "2").unwrap();
    std::fs::write(lib.join("default.nix"), "40").unwrap();
    std::fs::write(other.join("secret.nix"), "\"secret\"").unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_owned();

    // FILE's directory, -I entries and --src dirs are readable.
    let (code, out, err) = eval_in(&root, &[&s(&work.join("main.nix")), "--arg", "x", "1"]);
    assert_eq!((code, out.as_str()), (Some(0), "3\n"), "{err}");
    let (code, out, err) = eval_in(
        &work,
        &["-I", &format!("lib={}", s(&lib)), "-E", "import <lib> + 2"],
    );
    assert_eq!((code, out.as_str()), (Some(0), "42\n"), "{err}");
    let secret = s(&other.join("secret.nix"));
    let (code, out, err) = eval_in(
        &work,
        &["--src", &s(&other), "-E", &format!("import {secret}")],
    );
    assert_eq!((code, out.as_str()), (Some(0), "\"secret\"\n"), "{err}");
    // NIX_PATH is read by evalbox and its entries opened.
    let out = evalbox("eval")
        .current_dir(&work)
        .env("NIX_PATH", format!("lib={}", s(&lib)))
        .args(["-E", "<lib>"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", s(&lib))
    );

    // Anything else is refused, and the message names the path.
    for expr in [
        format!("import {secret}"),
        format!("builtins.readFile {secret}"),
        format!("builtins.readFileType {secret}"),
        format!("builtins.readDir {}", s(&other)),
        "builtins.readFile /etc/passwd".to_owned(),
    ] {
        let (code, out, err) = eval_in(&work, &["-E", &expr]);
        assert_eq!(code, Some(1), "{expr}: stdout {out:?}");
        assert!(
            err.contains("is not allowed: it is outside the sandbox's read-only sources"),
            "{expr}: {err}"
        );
    }
    // ...while what is not granted does not exist, as in Nix's restricted mode (and the
    // secret's very existence is not given away).
    for expr in [
        format!("builtins.pathExists {secret}"),
        "builtins.pathExists /etc/passwd".to_owned(),
    ] {
        let (code, out, err) = eval_in(&work, &["-E", &expr]);
        assert_eq!((code, out.as_str()), (Some(0), "false\n"), "{expr}: {err}");
    }
    // The environment is only --env.
    let (code, out, _) = eval_in(
        &work,
        &[
            "--env",
            "A=b",
            "-E",
            "[ (builtins.getEnv \"A\") (builtins.getEnv \"HOME\") ]",
            "--strict",
        ],
    );
    assert_eq!((code, out.as_str()), (Some(0), "[ \"b\" \"\" ]\n"));
}

#[test]
fn parse_exit_status_and_stdin() {
    warm_up();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.nix"), "{ a = 1; }").unwrap();
    std::fs::write(dir.path().join("bad.nix"), "{ a = ; }").unwrap();
    let parse = |args: &[&str], stdin: Option<&[u8]>| {
        let mut cmd = evalbox("parse");
        cmd.current_dir(dir.path()).args(args);
        conformance::run_command(cmd, stdin, Duration::from_secs(60))
    };
    assert_eq!(parse(&["ok.nix"], None).code, Some(0));
    let bad = parse(&["bad.nix"], None);
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("syntax error"), "{}", bad.stderr);
    let stdin = parse(&["-"], Some(b"let x = 1; in x"));
    assert_eq!(stdin.code, Some(0), "{}", stdin.stderr);
    assert!(!stdin.stdout.is_empty());
    assert_eq!(parse(&["-"], Some(b"let x = 1 in x")).code, Some(1));
}
