//! nixpkgs_lib: nixpkgs' own lib test suites (`../shared/nixpkgs-lib`, real code nobody here
//! wrote), run unchanged through the drop-in `nix-instantiate` (a symlink to evalbox first on
//! `PATH`), and the semantics real code leans on, one line each against Nix 2.8.
//!
//! What each suite is granted beyond the directories its command lines name, through
//! `EVALBOX_SRC`: `modules.sh` imports `lib/` from `lib/tests/modules`; `filesystem.sh`,
//! `path/tests/prop.sh` and the `fileset` suite read the whole file system (`/`, a temporary
//! directory passed with `--argstr`), as they do under Nix. `sources.sh` and the `fileset`
//! suite inspect the store paths they make on disk, so they run against the nix-daemon's
//! store at `/nix/store`; the `fileset` suite also takes Git working trees through every
//! state (`gitTracked` is `builtins.fetchGit`), comparing with what `git ls-files` lists.

use std::path::{Path, PathBuf};
use std::process::Command;

use evalbox_tests::{
    component_cache_dir, evalbox_bin, have_daemon, have_nix, run_ok, workspace_root,
};

/// The shared snapshot's `lib/` (never edited).
fn lib_dir() -> PathBuf {
    workspace_root().join("../shared/nixpkgs-lib/lib")
}

/// A directory holding `nix-instantiate` -> evalbox, an embedded store and a compile cache
/// for one suite.
struct DropIn {
    dir: tempfile::TempDir,
}

impl DropIn {
    fn new() -> DropIn {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("bin")).expect("mkdir bin");
        std::os::unix::fs::symlink(evalbox_bin(), dir.path().join("bin/nix-instantiate"))
            .expect("symlink nix-instantiate");
        DropIn { dir }
    }

    /// `bash SCRIPT` in `lib/` with the drop-in first on `PATH`.
    fn suite(&self, script: &str, src: Option<&Path>, daemon: bool) -> Command {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        cmd.arg(script)
            .current_dir(lib_dir())
            .env("PATH", path)
            .env("EVALBOX_STORE", self.dir.path().join("store"))
            .env("EVALBOX_CACHE_DIR", component_cache_dir())
            .env_remove("NIX_PATH")
            .env_remove("EVALBOX_SRC")
            .env_remove("NIX_REMOTE");
        if let Some(src) = src {
            cmd.env("EVALBOX_SRC", src);
        }
        if daemon {
            cmd.env("NIX_REMOTE", "daemon");
        }
        cmd
    }
}

fn assert_suite_passes(cmd: &mut Command, name: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{name}: cannot run bash: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail = |s: &str| {
        s.lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        out.status.success(),
        "{name} failed ({}):\n--- stdout (end) ---\n{}\n--- stderr (end) ---\n{}",
        out.status,
        tail(&stdout),
        tail(&stderr)
    );
    stdout + &stderr
}

#[test]
fn module_system_suite() {
    let d = DropIn::new();
    let root = lib_dir().join("..");
    let out = assert_suite_passes(
        &mut d.suite("tests/modules.sh", Some(&root), false),
        "modules.sh",
    );
    // The suite ends with its counts; every check passes.
    assert!(out.contains(" Pass") && out.contains("0 Fail"), "{out}");
}

#[test]
fn file_system_path_and_small_suites() {
    let d = DropIn::new();
    for (script, src) in [
        ("tests/filesystem.sh", Some(Path::new("/"))),
        ("path/tests/prop.sh", Some(Path::new("/"))),
        ("tests/network.sh", None),
        ("tests/debug.sh", None),
    ] {
        assert_suite_passes(&mut d.suite(script, src, false), script);
    }
}

#[test]
fn sources_and_fileset_suites_on_the_daemon() {
    if !have_daemon("sources_and_fileset_suites_on_the_daemon") {
        return;
    }
    let d = DropIn::new();
    assert_suite_passes(&mut d.suite("tests/sources.sh", None, true), "sources.sh");
    let out = assert_suite_passes(
        &mut d.suite("fileset/tests.sh", Some(Path::new("/")), true),
        "fileset/tests.sh",
    );
    assert!(out.contains("tests ok"), "{out}");
}

#[test]
fn misc_and_systems_evaluate_to_no_failures() {
    for file in ["tests/misc.nix", "tests/systems.nix"] {
        let out = run_ok(
            Command::new(evalbox_bin())
                .args(["eval", "--strict", file])
                .current_dir(lib_dir())
                .env(
                    "EVALBOX_STORE",
                    tempfile::tempdir().expect("tempdir").path(),
                )
                .env("EVALBOX_CACHE_DIR", component_cache_dir())
                .env_remove("NIX_PATH")
                .env_remove("NIX_REMOTE"),
        );
        assert_eq!(out, "[ ]\n", "{file}: the failed tests are listed");
    }
}

/// Semantics the language suite does not pin down and real code relies on: each expression
/// evaluates (with `--strict`) to what Nix 2.8 prints, or fails when Nix fails. Where current
/// Nix differs from 2.8 the case says so and expects current Nix.
#[test]
fn real_code_semantics_match_nix() {
    const SAME_AS_NIX_2_8: &[&str] = &[
        // Identity: what a list or set holds is equal to itself once forced...
        "let f = x: x; in [ f ] == [ f ]",
        "let f = x: x; in { x = f; } == { x = f; }",
        "let f = x: x; in builtins.elem f [ f ]",
        // ...but the operands of == are compared by content, and forced first.
        r#"let x = { a = throw "a"; }; in x == x"#,
        r#"let x = throw "t"; in [ x ] == [ x ]"#,
        // Outside what the sandbox grants, a path does not exist (restricted mode).
        r#"builtins.pathExists "/dev/null/.""#,
        r#"builtins.pathExists "/nonexistent/x""#,
        // New attributes of mapAttrs have no position; listToAttrs's are at their value.
        r#"builtins.unsafeGetAttrPos "a" (builtins.mapAttrs (k: v: v) { a = 1; })"#,
        "(builtins.unsafeGetAttrPos \"x\" (builtins.listToAttrs [ { name = \"x\";\n value = 1; } ])).line",
        r#"builtins.tryEval (builtins.elemAt (map (x: throw "m") [ 1 ]) 0)"#,
        r#"builtins.tryEval (builtins.replaceStrings [ "a" ] [ (throw "r") ] "a")"#,
    ];
    // Current Nix forces map's and genList's function (the language suite's
    // eval-fail-map-2 and eval-fail-genList-2 pin it), except that map and filter return an
    // empty list as it is; Nix 2.8 forced none of them and filter's always.
    const CURRENT_NIX: &[(&str, &str)] = &[
        (r#"builtins.length (map (throw "f") [ 1 2 ])"#, "error: f"),
        (r#"builtins.length (map (throw "f") [ ])"#, "0"),
        (r#"builtins.filter (throw "f") [ ]"#, "[ ]"),
        // The argument's name printed as an identifier, quoted (2.8 agrees on that, but
        // names the function differently).
        (
            r#"let f = { a }: a; in f { a = 1; "b c" = 2; }"#,
            r#"error: function 'f' called with unexpected argument '"b c"'"#,
        ),
        (
            r#"builtins.length (builtins.genList (throw "f") 3)"#,
            "error: f",
        ),
        (
            r#"builtins.tryEval (map (throw "x") [ 1 ])"#,
            "{ success = false; value = false; }",
        ),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let last_line = |cmd: &mut Command| {
        let out = cmd.output().expect("run");
        let text = if out.status.success() {
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            // The error's own line (Nix may add a hint after it).
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rfind(|l| l.trim_start().starts_with("error:"))
                .unwrap_or("error without a message")
                .trim_start()
                .to_owned()
        };
        text.trim_end().to_owned()
    };
    let ours = |expr: &str| {
        last_line(
            Command::new(evalbox_bin())
                .args(["eval", "--strict", "-E", expr])
                .current_dir(dir.path())
                .env("EVALBOX_STORE", dir.path().join("store"))
                .env("EVALBOX_CACHE_DIR", component_cache_dir())
                .env_remove("NIX_PATH")
                .env_remove("NIX_REMOTE"),
        )
    };
    for (expr, want) in CURRENT_NIX {
        assert_eq!(&ours(expr), want, "{expr}");
    }
    if !have_nix("real_code_semantics_match_nix") {
        return;
    }
    for expr in SAME_AS_NIX_2_8 {
        let theirs = last_line(
            Command::new("nix-instantiate")
                .args(["--eval", "--strict", "-E", expr])
                .current_dir(dir.path())
                .env_remove("NIX_PATH"),
        );
        assert_eq!(ours(expr), theirs, "{expr}");
    }
}

/// Colour codes in messages reach a terminal (nixpkgs colours its errors) and nothing else, as
/// with Nix: kept on a pseudo-terminal (`script`), removed on a pipe or with `NO_COLOR`.
#[test]
fn colour_codes_only_reach_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.nix"),
        "builtins.throw \"a \u{1b}[1;35mb\u{1b}[0m\"",
    )
    .unwrap();
    let cmd = format!(
        "{} eval {}",
        evalbox_bin().display(),
        dir.path().join("c.nix").display()
    );
    let on_pty = |no_color: bool| {
        let mut script = Command::new("script");
        script
            .args(["-qec", &cmd, "/dev/null"])
            .env("TERM", "xterm")
            .env("EVALBOX_STORE", dir.path().join("store"))
            .env("EVALBOX_CACHE_DIR", component_cache_dir())
            .env_remove("NO_COLOR")
            .env_remove("NOCOLOR");
        if no_color {
            script.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&script.output().expect("util-linux script").stdout).into_owned()
    };
    assert!(
        on_pty(false).contains("a \u{1b}[1;35mb\u{1b}[0m"),
        "{:?}",
        on_pty(false)
    );
    assert!(on_pty(true).contains("error: a b"), "{:?}", on_pty(true));
    let piped = Command::new(evalbox_bin())
        .arg("eval")
        .arg(dir.path().join("c.nix"))
        .env("EVALBOX_STORE", dir.path().join("store"))
        .env("EVALBOX_CACHE_DIR", component_cache_dir())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&piped.stderr), "error: a b\n");
}
