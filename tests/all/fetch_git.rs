//! `builtins.fetchGit` of local working trees, through the sandbox on the embedded store,
//! against Nix 2.8 (which runs `git`): a repository is taken through the states a working
//! tree goes through (no commit yet, staged, clean, modified, deleted, ignored, packed,
//! index v4, shallow, linked worktree, submodules) and each time both must give the same
//! attributes, store path and NAR hash, and the same "dirty" warning. Then the errors.

use std::path::PathBuf;
use std::process::{Command, Output};

use evalbox_tests::{component_cache_dir, evalbox_bin, have_nix, nix_instantiate_on, run, run_ok};

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `git ARGS` in `rel`, with a fixed identity and no user or system configuration.
    fn git(&self, rel: &str, args: &[&str]) {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.path(rel))
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            // Nix clones submodules from their local paths.
            .env("GIT_CONFIG_COUNT", "2")
            .env("GIT_CONFIG_KEY_0", "protocol.file.allow")
            .env("GIT_CONFIG_VALUE_0", "always")
            .env("GIT_CONFIG_KEY_1", "init.defaultBranch")
            .env("GIT_CONFIG_VALUE_1", "main");
        run_ok(&mut cmd);
    }

    fn write(&self, rel: &str, contents: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, contents).expect("write");
    }

    /// evalbox's drop-in `nix-instantiate`, the fixture granted, on its embedded store.
    fn evalbox(&self, args: &[&str]) -> Output {
        run(Command::new(evalbox_bin())
            .arg("nix-instantiate")
            .args(args)
            .current_dir(self.dir.path())
            .env("EVALBOX_SRC", self.dir.path())
            .env("EVALBOX_STORE", self.path("evalbox-store"))
            .env("EVALBOX_CACHE_DIR", component_cache_dir())
            .env_remove("NIX_REMOTE")
            .env_remove("NIX_PATH"))
    }

    /// Nix 2.8 on a chroot store of its own (its git may clone local submodules).
    fn nix(&self, args: &[&str]) -> Output {
        run(nix_instantiate_on(&self.path("nix-store"))
            .args(args)
            .current_dir(self.dir.path())
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "protocol.file.allow")
            .env("GIT_CONFIG_VALUE_0", "always")
            .env_remove("NIX_PATH"))
    }
}

/// What a `fetchGit` call gives, as text: every attribute, `outPath` included.
fn attrs_of(call: &str) -> String {
    format!("let r = builtins.fetchGit ({call}); in r // {{ outPath = r.outPath; }}")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Both evaluate `expr` alike: the same result and the same dirty-tree warning.
fn check(f: &Fixture, state: &str, expr: &str) {
    let args = ["--eval", "--strict", "--read-write-mode", "--expr", expr];
    let (ours, nix) = (f.evalbox(&args), f.nix(&args));
    assert!(
        nix.status.success(),
        "{state}: Nix failed on {expr}:\n{}",
        stderr(&nix)
    );
    assert!(
        ours.status.success(),
        "{state}: evalbox failed on {expr}:\n{}",
        stderr(&ours)
    );
    assert_eq!(stdout(&ours), stdout(&nix), "{state}: {expr}");
    let dirty = |o: &Output| stderr(o).contains("is dirty");
    assert_eq!(dirty(&ours), dirty(&nix), "{state}: the dirty warning");
}

#[test]
fn working_trees_fetch_as_nix_fetches_them() {
    if !have_nix("working_trees_fetch_as_nix_fetches_them") {
        return;
    }
    let f = Fixture::new();
    std::fs::create_dir(f.path("r")).expect("mkdir");
    f.git("r", &["init", "-q"]);
    let r = attrs_of(&format!("{}", f.path("r").display()));
    check(&f, "no commit", &r);
    f.write("r/a", "hi\n");
    check(&f, "untracked, no commit", &r);
    f.git("r", &["add", "a"]);
    check(&f, "staged, no commit", &r);
    f.git("r", &["commit", "-qm", "one"]);
    check(&f, "clean", &r);
    f.write("r/d/e/f", "x\n");
    std::fs::set_permissions(
        f.path("r/d/e/f"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    std::os::unix::fs::symlink("a", f.path("r/l")).expect("symlink");
    f.git("r", &["add", "."]);
    check(&f, "staged executable and symlink", &r);
    f.git("r", &["commit", "-qm", "two"]);
    f.write("r/untracked", "u\n");
    check(&f, "clean with an untracked file", &r);
    f.write("r/a", "changed\n");
    check(&f, "modified", &r);
    f.git("r", &["checkout", "-q", "a"]);
    std::fs::remove_file(f.path("r/d/e/f")).expect("rm");
    check(&f, "deleted", &r);
    f.git("r", &["checkout", "-q", "d/e/f"]);
    f.write("r/n", "new\n");
    f.git("r", &["add", "-N", "n"]);
    check(&f, "intent to add", &r);
    f.git("r", &["rm", "-q", "--cached", "n"]);
    f.write("r/.gitignore", "*.log\n");
    f.write("r/x.log", "log\n");
    f.git("r", &["add", ".gitignore"]);
    f.git("r", &["commit", "-qm", "ignore"]);
    check(&f, "ignored file", &r);
    f.git("r", &["add", "-f", "x.log"]);
    f.git("r", &["commit", "-qm", "forced"]);
    // History whose versions of one file become deltas in a pack.
    for i in 1..=20 {
        let lines: String = (0..i * 40).map(|n| format!("{n}\n")).collect();
        f.write("r/big", &lines);
        f.git("r", &["add", "big"]);
        f.git("r", &["commit", "-qm", &format!("v{i}")]);
    }
    check(&f, "loose objects", &r);
    f.git("r", &["gc", "-q", "--aggressive"]);
    check(&f, "packed, with deltas and packed refs", &r);
    f.write("r/big", "last\n");
    f.git("r", &["commit", "-qam", "last"]);
    check(&f, "loose on top of a pack", &r);
    f.git("r", &["update-index", "--index-version", "4"]);
    check(&f, "index version 4", &r);
    f.write("r/big", "dirty\n");
    check(&f, "index version 4, modified", &r);
    f.git("r", &["checkout", "-q", "big"]);
    let named = format!("{{ url = {}; name = \"src\"; }}", f.path("r").display());
    check(&f, "a name", &attrs_of(&named));
    // A shallow clone can be fetched shallowly only.
    let url = format!("file://{}", f.path("r").display());
    f.git("", &["clone", "-q", "--depth", "3", &url, "shallow"]);
    let shallow = format!(
        "{{ url = {}; shallow = true; }}",
        f.path("shallow").display()
    );
    check(&f, "shallow clone", &attrs_of(&shallow));
    let deep = attrs_of(&format!("{}", f.path("shallow").display()));
    let ours = f.evalbox(&["--eval", "--strict", "--expr", &deep]);
    assert!(
        !ours.status.success() && stderr(&ours).contains("is a shallow Git repository"),
        "{}",
        stderr(&ours)
    );
    // A linked worktree: `.git` is a file naming the repository's worktree directory.
    f.git("r", &["worktree", "add", "-q", "../linked"]);
    check(
        &f,
        "linked worktree",
        &attrs_of(&format!("{}", f.path("linked").display())),
    );
    // Submodules, entered only when asked for.
    std::fs::create_dir(f.path("sub")).expect("mkdir");
    f.git("sub", &["init", "-q"]);
    f.write("sub/s", "s\n");
    f.git("sub", &["add", "s"]);
    f.git("sub", &["commit", "-qm", "s"]);
    f.git("r", &["submodule", "add", "-q", "../sub", "sm"]);
    f.git("r", &["commit", "-qm", "submodule"]);
    let with_subs = attrs_of(&format!(
        "{{ url = {}; submodules = true; }}",
        f.path("r").display()
    ));
    check(&f, "clean with a submodule", &r);
    check(&f, "clean with a submodule, entered", &with_subs);
    f.write("r/sm/t", "t\n");
    f.git("r/sm", &["add", "t"]);
    check(&f, "submodule staged", &r);
    check(&f, "submodule staged, entered", &with_subs);
    f.git("r/sm", &["commit", "-qm", "t"]);
    check(&f, "submodule moved on", &r);
    check(&f, "submodule moved on, entered", &with_subs);
}

#[test]
fn store_paths_are_added_again_from_the_store() {
    if !have_nix("store_paths_are_added_again_from_the_store") {
        return;
    }
    // A tree inside a store path (here the one fetchGit made) is read from the store when it
    // is added again, on the embedded store as in Nix.
    let f = Fixture::new();
    std::fs::create_dir(f.path("r")).expect("mkdir");
    f.git("r", &["init", "-q"]);
    f.write("r/d/x", "x\n");
    f.write("r/d/y", "y\n");
    f.git("r", &["add", "."]);
    f.git("r", &["commit", "-qm", "one"]);
    let expr = format!(
        "let src = (builtins.fetchGit {}).outPath; in [ \
         (builtins.path {{ path = src + \"/d\"; name = \"d\"; filter = p: t: baseNameOf p != \"y\"; }}) \
         (builtins.path {{ path = src + \"/d/x\"; name = \"x\"; recursive = false; }}) \
         (builtins.readFile (builtins.path {{ path = src + \"/d\"; name = \"d\"; }} + \"/y\")) ]",
        f.path("r").display()
    );
    check(&f, "paths below a fetched tree", &expr);
}

#[test]
fn what_cannot_be_fetched_is_a_clear_error() {
    let f = Fixture::new();
    std::fs::create_dir(f.path("r")).expect("mkdir");
    f.git("r", &["init", "-q"]);
    f.write("r/a", "a\n");
    f.git("r", &["add", "a"]);
    f.git("r", &["commit", "-qm", "one"]);
    let r = f.path("r");
    let fails = |expr: &str, message: &str| {
        let out = f.evalbox(&["--eval", "--strict", "--expr", expr]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{expr} succeeded");
        assert!(err.contains(message), "{expr}: {err}");
        assert!(!err.contains("panicked"), "{expr}: {err}");
    };
    fails(
        "builtins.fetchGit https://example.org/repo.git",
        "the sandboxed evaluator has no network",
    );
    fails(
        &format!("builtins.fetchGit {}", f.dir.path().display()),
        "is not the working tree of a Git repository",
    );
    fails(
        &format!(
            "builtins.fetchGit {{ url = {}; rev = \"0000000000000000000000000000000000000000\"; }}",
            r.display()
        ),
        "reads the working tree only",
    );
    fails(
        &format!("builtins.fetchGit {{ url = {}; colour = 1; }}", r.display()),
        "unsupported Git input attribute 'colour'",
    );
    fails("builtins.fetchGit /etc", "is not allowed");
    // A damaged object database: the commit HEAD names is garbage.
    let head = run_ok(
        Command::new("git")
            .current_dir(&r)
            .args(["rev-parse", "HEAD"]),
    );
    let head = head.trim();
    let object = r.join(".git/objects").join(&head[..2]).join(&head[2..]);
    let mut perms = std::fs::metadata(&object).expect("object").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).expect("chmod");
    std::fs::write(&object, b"not zlib").expect("write");
    fails(
        &format!("builtins.fetchGit {}", r.display()),
        "corrupt repository",
    );
}
