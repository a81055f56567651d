//! `evalbox instantiate` against `nix-instantiate` (Nix 2.8): the Nix guest on the store
//! capability must print the same `.drv` paths and write byte-identical `.drv` files, with the
//! sources it copied ingested as Nix ingests them (executables, symlinks, filters), and real
//! Nix must then accept the embedded store (`--verify --check-contents`). Each side writes to
//! a throw-away store of its own.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use evalbox_tests::{evalbox_local, have_nix, nix_instantiate_on, nix_store_on, run_ok};

/// The corpus and the tree it reads, in a fresh directory.
fn corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    for f in ["drvs.nix", "instantiate.nix"] {
        fs::copy(vectors.join(f), dir.path().join(f)).expect("copy the corpus");
    }
    let tree = dir.path().join("tree");
    fs::create_dir_all(tree.join("bin")).unwrap();
    fs::create_dir_all(tree.join("sub/deeper")).unwrap();
    fs::create_dir_all(tree.join("empty")).unwrap();
    fs::write(tree.join("a.txt"), "a\n").unwrap();
    fs::write(tree.join("sub/b.txt"), "b\n").unwrap();
    fs::write(tree.join("sub/deeper/c.nix"), "{ }\n").unwrap();
    fs::write(tree.join("bin/run.sh"), "#!/bin/sh\necho run\n").unwrap();
    fs::set_permissions(tree.join("bin/run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    // Group and other execute bits alone do not make a file executable for Nix.
    fs::write(tree.join("bin/not-exec"), "x").unwrap();
    fs::set_permissions(tree.join("bin/not-exec"), fs::Permissions::from_mode(0o611)).unwrap();
    std::os::unix::fs::symlink("a.txt", tree.join("link")).unwrap();
    std::os::unix::fs::symlink("../a.txt", tree.join("sub/uplink")).unwrap();
    dir
}

/// The `.drv` path of a line `nix-instantiate` prints (`path` or `path!output`).
fn drv_of(line: &str) -> &str {
    line.split('!').next().unwrap_or(line)
}

/// The file a store path is at in the chroot store `root`.
fn in_root(root: &Path, store_path: &str) -> std::path::PathBuf {
    root.join(store_path.trim_start_matches('/'))
}

#[test]
fn instantiation_matches_nix_instantiate() {
    if !have_nix("instantiation_matches_nix_instantiate") {
        return;
    }
    let dir = corpus();
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    let names = run_ok(
        Command::new("nix-instantiate")
            .current_dir(dir.path())
            .args([
                "--eval",
                "--json",
                "-E",
                "builtins.attrNames (import ./instantiate.nix)",
            ])
            .arg("--readonly-mode")
            .env_remove("NIX_REMOTE"),
    );
    let names: Vec<String> = serde_json::from_str(&names).expect("attribute names");
    assert!(
        names.len() > 30,
        "the corpus has {} attributes",
        names.len()
    );
    let mut drvs = BTreeSet::new();
    for name in &names {
        let expected = run_ok(
            nix_instantiate_on(theirs.path())
                .current_dir(dir.path())
                .args(["instantiate.nix", "-A", name]),
        );
        let got = run_ok(evalbox_local(ours.path()).current_dir(dir.path()).args([
            "instantiate",
            "instantiate.nix",
            "-A",
            name,
        ]));
        assert_eq!(got, expected, "{name}: evalbox and nix-instantiate print");
        drvs.extend(got.lines().map(|l| drv_of(l).to_owned()));
    }
    // Every .drv of both closures, byte for byte.
    let closure = |root: &Path| -> BTreeSet<String> {
        run_ok(nix_store_on(root).arg("-qR").args(&drvs))
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let ours_closure = closure(ours.path());
    assert_eq!(
        ours_closure,
        closure(theirs.path()),
        "the closures of the .drv files"
    );
    for path in &ours_closure {
        let (a, b) = (in_root(ours.path(), path), in_root(theirs.path(), path));
        if a.is_file() {
            assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap(), "{path}");
        }
    }
    run_ok(nix_store_on(ours.path()).args(["--verify", "--check-contents"]));
}

#[test]
fn store_paths_read_back_in_the_sandbox() {
    let dir = corpus();
    let store = tempfile::tempdir().unwrap();
    let eval = |expr: &str| {
        run_ok(
            evalbox_local(store.path())
                .current_dir(dir.path())
                .args(["eval", "--strict", "-E", expr]),
        )
    };
    assert_eq!(eval(r#"builtins.readFile "${./tree/a.txt}""#), "\"a\\n\"\n");
    assert_eq!(
        eval(r#"builtins.readDir "${./tree}""#),
        "{ \"a.txt\" = \"regular\"; bin = \"directory\"; empty = \"directory\"; link = \"symlink\"; sub = \"directory\"; }\n"
    );
    // A symlink inside a store path is followed within the store.
    assert_eq!(
        eval(r#"builtins.readFile "${./tree}/sub/uplink""#),
        "\"a\\n\"\n"
    );
    assert_eq!(
        eval(r#"builtins.readFileType "${./tree}/link""#),
        "\"symlink\"\n"
    );
    assert_eq!(
        eval(r#"builtins.pathExists "${./tree}/missing""#),
        "false\n"
    );
    assert_eq!(
        eval(r#"import (builtins.toFile "x.nix" "{ a = 1; }")"#),
        "{ a = 1; }\n"
    );
    assert_eq!(
        eval(r#"builtins.hashFile "sha256" "${./tree/a.txt}""#),
        "\"87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7\"\n"
    );
    // Nothing but valid store paths is readable in the store directory.
    let out = evalbox_local(store.path())
        .current_dir(dir.path())
        .args([
            "eval",
            "-E",
            "builtins.readFile /nix/store/00000000000000000000000000000000-x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not exist"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn instantiation_through_the_daemon_matches() {
    if !evalbox_tests::have_daemon("instantiation_through_the_daemon_matches") {
        return;
    }
    let dir = corpus();
    let theirs = tempfile::tempdir().unwrap();
    for name in [
        "simple",
        "dep",
        "depOnDep",
        "pathFiltered",
        "toFileRefs",
        "wholeDrv",
        "list",
    ] {
        let expected = run_ok(
            nix_instantiate_on(theirs.path())
                .current_dir(dir.path())
                .args(["instantiate.nix", "-A", name]),
        );
        let got = run_ok(
            Command::new(evalbox_tests::evalbox_bin())
                .current_dir(dir.path())
                .args([
                    "--store",
                    "daemon",
                    "instantiate",
                    "instantiate.nix",
                    "-A",
                    name,
                ])
                .env_remove("NIX_REMOTE"),
        );
        assert_eq!(got, expected, "{name} through the daemon");
        for line in got.lines() {
            let drv = drv_of(line);
            assert_eq!(
                fs::read(drv).unwrap(),
                fs::read(in_root(theirs.path(), drv)).unwrap(),
                "{drv} written by the daemon"
            );
        }
    }
}

/// A source tree holding something other than files, directories and symlinks (a FIFO) is
/// refused, as Nix refuses it, and nothing is added.
#[test]
fn special_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("t")).unwrap();
    fs::write(dir.path().join("t/a"), "a").unwrap();
    run_ok(Command::new("mkfifo").arg(dir.path().join("t/fifo")));
    let out = evalbox_tests::run(evalbox_local(root.path()).current_dir(dir.path()).args([
        "eval",
        "-E",
        "\"${./t}\"",
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("has an unsupported type"), "{stderr}");
    let added: Vec<_> = fs::read_dir(root.path().join("nix/store"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name())
                .filter(|n| n != ".links" && !n.to_string_lossy().starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    assert!(added.is_empty(), "added: {added:?}");
}

/// The drop-in: `nix-instantiate` (a symlink to evalbox) with Nix's own flags instantiates
/// like Nix, and `--add-root` makes roots that real Nix lists.
#[test]
fn drop_in_nix_instantiate_and_gc_roots() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("nix-instantiate");
    std::os::unix::fs::symlink(evalbox_tests::evalbox_bin(), &bin).unwrap();
    let root = dir.path().join("root");
    fs::write(
        dir.path().join("two.nix"),
        r#"let mk = n: derivation { name = n; system = "x"; builder = "/bin/sh"; };
           in [ (mk "one") (mk "two") ]"#,
    )
    .unwrap();
    let store = format!("local?root={}", root.display());
    let drop_in = |args: &[&str]| {
        let mut c = Command::new(&bin);
        c.current_dir(dir.path())
            .env_remove("NIX_REMOTE")
            .env_remove("NIX_PATH")
            .args([
                "--store",
                &store,
                "-vv",
                "--no-gc-warning",
                "--timeout",
                "5",
            ])
            .args(args);
        c
    };
    let printed = run_ok(&mut drop_in(&["two.nix", "--add-root", "r"]));
    let link = dir.path().join("r");
    let link2 = dir.path().join("r-2");
    assert_eq!(
        printed,
        format!("{}\n{}\n", link.display(), link2.display())
    );
    let targets: Vec<String> = [&link, &link2]
        .iter()
        .map(|l| fs::read_link(l).unwrap().display().to_string())
        .collect();
    assert!(targets[0].ends_with("-one.drv") && targets[1].ends_with("-two.drv"));
    // --eval computes paths without writing them unless --read-write-mode, as in Nix.
    let expr = r#"builtins.toFile "x" "y""#;
    let path = run_ok(&mut drop_in(&["--eval-only", "-E", expr]));
    let path = path.trim().trim_matches('"').to_owned();
    assert!(!in_root(&root, &path).exists());
    run_ok(&mut drop_in(&["--eval", "--read-write-mode", "-E", expr]));
    assert!(in_root(&root, &path).exists());
    // A quoted -A path, and a usage error.
    let attr = run_ok(&mut drop_in(&[
        "--eval",
        "-E",
        r#"{ "a.b" = { c = 1; }; }"#,
        "-A",
        r#""a.b".c"#,
    ]));
    assert_eq!(attr, "1\n");
    let bad = drop_in(&["--bogus"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    if !have_nix("drop_in_nix_instantiate_and_gc_roots") {
        return;
    }
    let roots = run_ok(nix_store_on(&root).args(["--gc", "--print-roots"]));
    for (l, t) in [&link, &link2].iter().zip(&targets) {
        assert!(
            roots.contains(&format!("{} -> {t}", l.display())),
            "{roots}"
        );
    }
}

/// `ssh-ng://HOST` end to end through the CLI, with an `ssh` on `PATH` that runs the command
/// it is given locally (what sshd would do on the host): evaluation reads store paths back and
/// instantiation writes the same `.drv` as through the daemon socket.
#[test]
fn ssh_ng_store_end_to_end() {
    if !evalbox_tests::have_daemon("ssh_ng_store_end_to_end") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    // Skips ssh's options and the host, then runs the remote command (`nix-daemon --stdio`).
    fs::write(
        bin.join("ssh"),
        "#!/bin/sh\nwhile [ \"${1#-}\" != \"$1\" ]; do shift; done\nshift\nexec \"$@\"\n",
    )
    .unwrap();
    fs::set_permissions(bin.join("ssh"), fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let evalbox = |store: &str, args: &[&str]| {
        run_ok(
            Command::new(evalbox_tests::evalbox_bin())
                .current_dir(dir.path())
                .env("PATH", &path)
                .env_remove("NIX_REMOTE")
                .env_remove("NIX_SSHOPTS")
                .args(["--store", store])
                .args(args),
        )
    };
    let read = evalbox(
        "ssh-ng://builder.example",
        &[
            "eval",
            "-E",
            r#"builtins.readFile (builtins.toFile "via-ssh" "over ssh-ng")"#,
        ],
    );
    assert_eq!(read, "\"over ssh-ng\"\n");
    let expr = r#"derivation { name = "ssh-ng"; system = "x"; builder = "/bin/sh"; }"#;
    let via_ssh = evalbox("ssh-ng://builder.example", &["instantiate", "-E", expr]);
    let via_socket = evalbox("daemon", &["instantiate", "-E", expr]);
    assert_eq!(via_ssh, via_socket);
}
