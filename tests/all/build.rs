//! `evalbox build` against `nix-build` (Nix 2.8, building in a chroot store in its own
//! sandbox): the same output paths, NAR hashes and references for every derivation kind
//! (multiple outputs, chains and diamonds, sources and filters, Nix's environment, passAsFile,
//! structured attributes, fixed outputs, reference checks, import from derivation), then
//! `nix-store --verify --check-contents` on the embedded store. And the failures: a failing
//! builder, a fixed-output hash mismatch, a reference-check violation, a killed build, none of
//! which may leave anything registered. The same corpus through `--store daemon`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use evalbox_tests::{
    evalbox_local, have_bwrap, have_daemon, have_nix, nix_instantiate_on, nix_store_on, run, run_ok,
};

/// The host's shell and coreutils, for builders on both sides.
const SANDBOX_PATHS: &str = "/bin /usr /lib /lib64?";

/// The corpus and its source tree, in a fresh directory.
fn corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/build.nix"),
        dir.path().join("build.nix"),
    )
    .unwrap();
    let src = dir.path().join("build-src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a.txt"), "a\n").unwrap();
    fs::write(src.join("skip.txt"), "skipped\n").unwrap();
    fs::write(src.join("sub/b.txt"), "b\n").unwrap();
    dir
}

fn evalbox_build(root: &Path, dir: &Path, attrs: &[&str]) -> std::process::Output {
    let mut cmd = evalbox_local(root);
    cmd.current_dir(dir).args(["build", "build.nix"]).args([
        "--option",
        "sandbox-paths",
        SANDBOX_PATHS,
    ]);
    for a in attrs {
        cmd.args(["-A", a]);
    }
    run(&mut cmd)
}

#[test]
fn builds_match_nix_build() {
    if !have_bwrap("builds_match_nix_build") {
        return;
    }
    if !have_nix("builds_match_nix_build") {
        return;
    }
    let dir = corpus();
    let (ours, theirs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let attrs = [
        "simple",
        "multi",
        "multi.dev",
        "multi.lib",
        "chain",
        "diamond",
        "tree",
        "source",
        "filtered",
        "envVars",
        "passAsFile",
        "structured",
        "fodFlat",
        "fodRecursive",
        "usesFod",
        "allowed",
        "ifd",
    ];
    let mut nix = Command::new("nix-build");
    nix.current_dir(dir.path())
        .arg("--store")
        .arg(format!("local?root={}", theirs.path().display()))
        .args(["--no-out-link", "--option", "sandbox", "true"])
        .args(["--option", "sandbox-paths", SANDBOX_PATHS])
        .arg("build.nix")
        .env_remove("NIX_REMOTE");
    for a in attrs {
        nix.args(["-A", a]);
    }
    let expected = run_ok(&mut nix);
    let got = evalbox_build(ours.path(), dir.path(), &attrs);
    assert!(
        got.status.success(),
        "evalbox build failed:\n{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        expected,
        "output paths"
    );
    for path in expected.lines() {
        for query in ["--hash", "--size", "--references"] {
            let q = |root: &Path| run_ok(nix_store_on(root).args(["-q", query, path]));
            assert_eq!(q(ours.path()), q(theirs.path()), "{query} of {path}");
        }
    }
    run_ok(nix_store_on(ours.path()).args(["--verify", "--check-contents"]));
    // Built once: a second build finds everything valid.
    let again = evalbox_build(ours.path(), dir.path(), &attrs);
    assert_eq!(String::from_utf8_lossy(&again.stdout), expected);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("building"));

    // Through the daemon, which is sent the settings (--option) as Nix's client sends them:
    // the same outputs, in the daemon's store.
    if !have_daemon("builds_match_nix_build (daemon)") {
        return;
    }
    let mut cmd = Command::new(evalbox_tests::evalbox_bin());
    cmd.current_dir(dir.path())
        .args(["--store", "daemon", "build", "build.nix"])
        .args(["--option", "sandbox", "true"])
        .args(["--option", "sandbox-paths", SANDBOX_PATHS]);
    for a in attrs {
        cmd.args(["-A", a]);
    }
    assert_eq!(
        run_ok(&mut cmd),
        expected,
        "output paths through the daemon"
    );
    for path in expected.lines() {
        let daemon = run_ok(Command::new("nix-store").args(["-q", "--hash", path]));
        let q = run_ok(nix_store_on(theirs.path()).args(["-q", "--hash", path]));
        assert_eq!(daemon, q, "--hash of {path} through the daemon");
    }
}

#[test]
fn fetchers_build_through_the_store() {
    if !have_bwrap("fetchers_build_through_the_store") {
        return;
    }
    let dir = corpus();
    let root = tempfile::tempdir().unwrap();
    let url = format!("file://{}/build-src/a.txt", dir.path().display());
    let sha = "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7";
    let eval = |expr: &str| {
        run(evalbox_local(root.path())
            .current_dir(dir.path())
            .args(["eval", "--strict", "-E", expr]))
    };
    // <nix/fetchurl.nix> is a fixed-output derivation of builtin:fetchurl.
    let fod = format!("import <nix/fetchurl.nix> {{ url = \"{url}\"; sha256 = \"{sha}\"; }}");
    let built = run_ok(
        evalbox_local(root.path())
            .current_dir(dir.path())
            .args(["build", "-E", &fod]),
    );
    let path = built.trim();
    assert!(path.ends_with("-a.txt"), "{built}");
    assert_eq!(
        fs::read_to_string(root.path().join(path.trim_start_matches('/'))).unwrap(),
        "a\n"
    );
    // builtins.fetchurl builds it during evaluation and gives the same path, readable.
    let fetched = format!("builtins.fetchurl {{ url = \"{url}\"; sha256 = \"{sha}\"; }}");
    let out = eval(&format!("[ ({fetched}) (builtins.readFile ({fetched})) ]"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("[ \"{path}\" \"a\\n\" ]")
    );
    if have_nix("fetchers_build_through_the_store") {
        let theirs = tempfile::tempdir().unwrap();
        let nix = run_ok(
            nix_instantiate_on(theirs.path())
                .current_dir(dir.path())
                .args(["--eval", "-E", &fetched]),
        );
        assert_eq!(nix.trim(), format!("\"{path}\""));
        run_ok(nix_store_on(root.path()).args(["--verify", "--check-contents"]));
    }
    // A wrong hash is the store's fixed-output mismatch; no hash is an error before fetching.
    let wrong = "0000000000000000000000000000000000000000000000000000000000000000";
    let out = eval(&format!(
        "builtins.fetchurl {{ url = \"{url}\"; sha256 = \"{wrong}\"; }}"
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("hash mismatch in fixed-output derivation"),
        "{stderr}"
    );
    let out = eval(&format!("builtins.fetchurl \"{url}\""));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("'fetchurl' requires a 'sha256' argument"),
        "{stderr}"
    );
    // storePath takes a valid store path as it is, with its context; an invalid one fails.
    let out = eval(&format!("builtins.storePath \"{path}\""));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("\"{path}\"")
    );
    let gone = format!("{}-gone", &path[..44]);
    let out = eval(&format!("builtins.storePath \"{gone}\""));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not valid"));
}

/// The output path of the derivation in `file`, evaluated on the store at `root`.
fn out_path_of(root: &Path, dir: &Path, file: &str) -> String {
    let out = run_ok(evalbox_local(root).current_dir(dir).args([
        "eval",
        "--json",
        "-E",
        &format!("(import ./{file}).outPath"),
    ]));
    serde_json::from_str(&out).expect("a JSON string")
}

/// Panics if `path` is a valid path of the store at `root` (only checked with real Nix).
fn assert_unregistered(root: &Path, path: &str) {
    if !have_nix("assert_unregistered") {
        return;
    }
    let valid = run(nix_store_on(root).args(["--check-validity", path]));
    assert!(!valid.status.success(), "{path} was registered");
}

/// What a failed build leaves: an error, and no registered output.
fn fails_cleanly(expr: &str, options: &[&str], message: &str) {
    let dir = corpus();
    let root = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("failing.nix"), expr).unwrap();
    let out = run(evalbox_local(root.path())
        .current_dir(dir.path())
        .args([
            "build",
            "failing.nix",
            "--option",
            "sandbox-paths",
            SANDBOX_PATHS,
        ])
        .args(options));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{expr} built");
    assert!(stderr.contains(message), "{stderr}");
    let out_path = out_path_of(root.path(), dir.path(), "failing.nix");
    assert_unregistered(root.path(), &out_path);
    if have_nix("fails_cleanly") {
        run_ok(nix_store_on(root.path()).args(["--verify", "--check-contents"]));
    }
}

#[test]
fn failures_register_nothing() {
    if !have_bwrap("failures_register_nothing") {
        return;
    }
    let sh = |script: &str, attrs: &str| {
        format!(
            "derivation {{ name = \"x\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; \
             args = [ \"-c\" \"PATH=/usr/bin:/bin; {script}\" ]; {attrs} }}"
        )
    };
    fails_cleanly(
        &sh("echo partial > $out; exit 3", ""),
        &[],
        "failed with exit code 3",
    );
    fails_cleanly(
        &sh("echo partial > $out; sleep 60", ""),
        &["--option", "timeout", "1"],
        "timed out after 1 seconds",
    );
    fails_cleanly(
        &sh("echo partial > $out; sleep 60", ""),
        &["--option", "max-silent-time", "1"],
        "timed out after 1 seconds of silence",
    );
    fails_cleanly(
        &sh(
            "printf ho > $out",
            "outputHashAlgo = \"sha256\"; outputHash = \"8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4\";",
        ),
        &[],
        "hash mismatch in fixed-output derivation",
    );
    fails_cleanly(
        &sh(
            "echo ${builtins.toFile \"t\" \"t\"} > $out",
            "allowedReferences = [ ];",
        ),
        &[],
        "is not allowed to refer to the following paths",
    );
    fails_cleanly(&sh("true", ""), &[], "failed to produce output path");
}

/// Two builds of one derivation at once on one store: one builds it, the other waits for its
/// outputs' locks and finds them valid.
#[test]
fn concurrent_builds_build_once() {
    if !have_bwrap("concurrent_builds_build_once") {
        return;
    }
    let dir = corpus();
    let root = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("once.nix"),
        "derivation { name = \"once\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; \
         args = [ \"-c\" \"PATH=/usr/bin:/bin; sleep 1; echo done > $out\" ]; }",
    )
    .unwrap();
    let spawn = || {
        evalbox_local(root.path())
            .current_dir(dir.path())
            .args([
                "build",
                "once.nix",
                "--option",
                "sandbox-paths",
                SANDBOX_PATHS,
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
    let built = [&a, &b]
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stderr).contains("building"))
        .count();
    assert_eq!(
        built,
        1,
        "{}\n{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
}

/// `max-jobs`: with 2, the second of two independent derivations starts while the first
/// runs; with 1, after it ends.
#[test]
fn max_jobs_builds_in_parallel() {
    if !have_bwrap("max_jobs_builds_in_parallel") {
        return;
    }
    let dir = corpus();
    fs::write(
        dir.path().join("pair.nix"),
        "map (n: derivation { name = n; system = \"x86_64-linux\"; builder = \"/bin/sh\"; \
         args = [ \"-c\" \"PATH=/usr/bin:/bin; echo start-${n}; sleep 2; echo end-${n}; echo > $out\" ]; }) \
         [ \"a\" \"b\" ]",
    )
    .unwrap();
    for (jobs, parallel) in [("2", true), ("1", false)] {
        let root = tempfile::tempdir().unwrap();
        let out = run(evalbox_local(root.path())
            .current_dir(dir.path())
            .args([
                "build",
                "pair.nix",
                "--option",
                "sandbox-paths",
                SANDBOX_PATHS,
            ])
            .args(["--option", "max-jobs", jobs]));
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{log}");
        let lines: Vec<&str> = log.lines().collect();
        let at = |l: &str| lines.iter().position(|x| x.starts_with(l)).expect(l);
        let (first_end, second_start) = (
            at("end-a").min(at("end-b")),
            at("start-a").max(at("start-b")),
        );
        assert_eq!(
            second_start < first_end,
            parallel,
            "max-jobs {jobs}:\n{log}"
        );
    }
}

#[test]
fn a_killed_build_leaves_a_clean_store() {
    if !have_bwrap("a_killed_build_leaves_a_clean_store") {
        return;
    }
    if !have_nix("a_killed_build_leaves_a_clean_store") {
        return;
    }
    let dir = corpus();
    let root = tempfile::tempdir().unwrap();
    // The builder waits while /flag exists: the flag is bound in from the host only if it
    // exists (an optional sandbox path), so the same derivation is slow, then fast.
    let flag = dir.path().join("flag");
    fs::write(&flag, "").unwrap();
    fs::write(
        dir.path().join("slow.nix"),
        "derivation { name = \"slow\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; \
         args = [ \"-c\" \"PATH=/usr/bin:/bin; echo half > $out; \
         if [ -e /flag ]; then echo started; sleep 60; fi\" ]; }",
    )
    .unwrap();
    let build = |root: &Path| {
        let mut c = evalbox_local(root);
        c.current_dir(dir.path())
            .args([
                "build",
                "slow.nix",
                "--option",
                "sandbox-paths",
                SANDBOX_PATHS,
            ])
            .arg("--option")
            .arg("extra-sandbox-paths")
            .arg(format!("/flag={}?", flag.display()));
        c
    };
    let mut child = build(root.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Kill it once the builder runs.
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("started") {
            break;
        }
        seen.push(line);
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the build ended early: {seen:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let out_path = out_path_of(root.path(), dir.path(), "slow.nix");
    assert_unregistered(root.path(), &out_path);
    assert!(
        !root.path().join(out_path.trim_start_matches('/')).exists(),
        "{out_path} was left behind"
    );
    // Opening the store again removed the dead build's directory.
    let builds = root.path().join("nix/var/evalbox/builds");
    let left: Vec<_> = fs::read_dir(&builds)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", builds.display());
    run_ok(nix_store_on(root.path()).args(["--verify", "--check-contents"]));

    // Without the flag the same derivation builds, and is registered.
    fs::remove_file(&flag).unwrap();
    let built = run_ok(&mut build(root.path()));
    assert_eq!(built.trim(), out_path);
    run_ok(nix_store_on(root.path()).args(["--check-validity", &out_path]));
}

/// `builtins.fetchTarball` with a hash: the same path as Nix 2.8 for each compression, a tree
/// real Nix verifies, no fetch once the path is valid, Nix's mismatch error, and the same
/// through the daemon.
#[test]
fn fetch_tarball_matches_nix() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src/proj");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a.txt"), "hello\n").unwrap();
    fs::write(src.join("sub/run.sh"), "#!/bin/sh\necho x\n").unwrap();
    fs::set_permissions(
        src.join("sub/run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("a.txt", src.join("link")).unwrap();
    fs::create_dir(src.join("empty")).unwrap();
    let mut tarballs = Vec::new();
    for (ext, flag) in [
        ("tar", None),
        ("tar.gz", Some("-z")),
        ("tar.xz", Some("-J")),
        ("tar.bz2", Some("-j")),
        ("tar.zst", Some("--zstd")),
    ] {
        let file = dir.path().join(format!("proj.{ext}"));
        let mut tar = Command::new("tar");
        tar.arg("-C").arg(dir.path().join("src"));
        tar.args(flag);
        tar.arg("-cf").arg(&file).arg("proj");
        if run(&mut tar).status.success() {
            tarballs.push(format!("file://{}", file.display()));
        }
    }
    assert!(tarballs.len() >= 3, "tar could not make the test tarballs");
    let expr = |url: &str, hash: &str| {
        format!("builtins.fetchTarball {{ url = \"{url}\"; sha256 = \"{hash}\"; }}")
    };
    // The hash a user learns the usual way: from the mismatch error of a wrong one, which
    // names both (checked against Nix's own hash of the tree below).
    let wrong = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let root = tempfile::tempdir().unwrap();
    let out = run(evalbox_local(root.path()).args(["eval", "-E", &expr(&tarballs[0], wrong)]));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success() && stderr.contains("hash mismatch in file downloaded from"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("specified: {wrong}")), "{stderr}");
    let hash = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("got:"))
        .unwrap_or_else(|| panic!("no 'got:' line in {stderr}"))
        .trim()
        .to_owned();
    // Nix's own hash of the tree, in its base-32 form, must name the same path.
    let nix32 = if have_nix("fetch_tarball_matches_nix") {
        let h = run_ok(
            Command::new("nix-hash")
                .args(["--type", "sha256", "--base32"])
                .arg(&src),
        );
        Some(h.trim().to_owned())
    } else {
        None
    };
    let mut path = None;
    for url in &tarballs {
        let store = tempfile::tempdir().unwrap();
        let out = run_ok(evalbox_local(store.path()).args(["eval", "-E", &expr(url, &hash)]));
        let p = out.trim().trim_matches('"').to_owned();
        assert!(p.ends_with("-source"), "{url}: {out}");
        assert_eq!(path.get_or_insert(p.clone()), &p, "{url}");
        let read = run_ok(evalbox_local(store.path()).args([
            "eval",
            "-E",
            &format!("builtins.readFile \"${{{}}}/sub/run.sh\"", expr(url, &hash)),
        ]));
        assert_eq!(read, "\"#!/bin/sh\\necho x\\n\"\n");
        if have_nix("fetch_tarball_matches_nix") {
            run_ok(nix_store_on(store.path()).args(["--verify", "--check-contents"]));
        }
    }
    let path = path.unwrap();
    if let Some(nix32) = &nix32 {
        let store = tempfile::tempdir().unwrap();
        let out =
            run_ok(evalbox_local(store.path()).args(["eval", "-E", &expr(&tarballs[0], nix32)]));
        assert_eq!(out.trim().trim_matches('"'), path);
    }
    // Valid already: nothing is fetched (the URL is gone).
    let store = tempfile::tempdir().unwrap();
    run_ok(evalbox_local(store.path()).args(["eval", "-E", &expr(&tarballs[1], &hash)]));
    let gone = format!("file://{}/gone.tar.gz", dir.path().display());
    let again = run_ok(evalbox_local(store.path()).args(["eval", "-E", &expr(&gone, &hash)]));
    assert_eq!(again.trim().trim_matches('"'), path);
    // No hash is a pure-evaluation error; a missing file names the URL.
    let store = tempfile::tempdir().unwrap();
    let out = run(evalbox_local(store.path()).args([
        "eval",
        "-E",
        &format!("builtins.fetchTarball \"{}\"", tarballs[1]),
    ]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("requires a 'sha256' argument"));
    let out = run(evalbox_local(store.path()).args(["eval", "-E", &expr(&gone, wrong)]));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unable to download"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if !have_nix("fetch_tarball_matches_nix") {
        return;
    }
    for url in &tarballs {
        let theirs = tempfile::tempdir().unwrap();
        let nix =
            run_ok(nix_instantiate_on(theirs.path()).args(["--eval", "-E", &expr(url, &hash)]));
        assert_eq!(nix.trim().trim_matches('"'), path, "{url}");
    }
    if have_daemon("fetch_tarball_matches_nix") {
        let out = run_ok(Command::new(evalbox_tests::evalbox_bin()).args([
            "--store",
            "daemon",
            "eval",
            "-E",
            &expr(&tarballs[2], &hash),
        ]));
        assert_eq!(out.trim().trim_matches('"'), path);
    }
}

/// `evalbox build --add-root`: links to the outputs, GC roots that real Nix lists, and the
/// outputs' closure (`store closure`) is what `nix-store -qR` gives.
#[test]
fn build_roots_and_closure() {
    if !have_bwrap("build_roots_and_closure") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fs::write(
        dir.path().join("two.nix"),
        r#"let dep = builtins.toFile "dep" "d";
           in derivation { name = "rooted"; system = builtins.currentSystem; builder = "/bin/sh";
                           args = [ "-c" "echo ${dep} > $out" ]; }"#,
    )
    .unwrap();
    let out = run_ok(
        evalbox_local(&root)
            .current_dir(dir.path())
            .args(["build", "two.nix", "--add-root", "result"])
            .args(["--option", "sandbox-paths", SANDBOX_PATHS]),
    );
    let built = out.trim();
    assert!(built.ends_with("-rooted"), "{out}");
    let link = dir.path().join("result");
    assert_eq!(fs::read_link(&link).unwrap().to_str().unwrap(), built);
    let roots = run_ok(evalbox_local(&root).args(["store", "roots"]));
    assert!(
        roots.contains(&format!("{} -> {built}", link.display())),
        "{roots}"
    );
    let closure = run_ok(evalbox_local(&root).args(["store", "closure", built]));
    let ours: BTreeSet<&str> = closure.lines().collect();
    assert_eq!(closure.lines().last(), Some(built), "dependencies first");
    assert!(ours.iter().any(|p| p.ends_with("-dep")));
    if have_nix("build_roots_and_closure") {
        let nix_roots = run_ok(nix_store_on(&root).args(["--gc", "--print-roots"]));
        assert!(
            nix_roots.contains(&format!("{} -> {built}", link.display())),
            "{nix_roots}"
        );
        let theirs = run_ok(nix_store_on(&root).args(["-qR", built]));
        assert_eq!(ours, theirs.lines().collect::<BTreeSet<&str>>());
    }
}

/// `evalbox store copy`: a built (input-addressed) output and its closure, from the embedded
/// store to the nix-daemon's and from there into a fresh embedded store, with the same
/// metadata; what the destination has is skipped.
#[test]
fn copy_between_stores() {
    if !have_bwrap("copy_between_stores") || !have_daemon("copy_between_stores") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A new derivation each run, so the daemon's store does not have it yet.
    write_fresh_derivation(&dir.path().join("c.nix"), "copied");
    let a = dir.path().join("a");
    let built = run_ok(evalbox_local(&a).current_dir(dir.path()).args([
        "build",
        "c.nix",
        "--option",
        "sandbox-paths",
        SANDBOX_PATHS,
    ]));
    let built = built.trim();
    let info = |cmd: &mut Command| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&run_ok(cmd)).unwrap();
        let mut v = v[0].clone();
        v.as_object_mut().unwrap().remove("registrationTime");
        v.as_object_mut().unwrap().remove("ultimate");
        v.as_object_mut().unwrap().remove("signatures");
        v
    };
    let ours = info(evalbox_local(&a).args(["store", "path-info", "--json", built]));
    let out = run(evalbox_local(&a).args(["store", "copy", "--to", "daemon", built]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("copied 2 path(s)"));
    let theirs = info(
        evalbox_tests::nix_command(&["path-info", "--json", built]).env("NIX_REMOTE", "daemon"),
    );
    assert_eq!(ours, theirs);
    let again = run(evalbox_local(&a).args(["store", "copy", "--to", "daemon", built]));
    assert!(String::from_utf8_lossy(&again.stderr).contains("copied 0 path(s)"));
    let b = dir.path().join("b");
    run_ok(evalbox_local(&b).args(["store", "copy", "--from", "daemon", built]));
    assert_eq!(
        info(evalbox_local(&b).args(["store", "path-info", "--json", built])),
        ours
    );
    run_ok(nix_store_on(&b).args(["--verify", "--check-contents"]));
}

/// `--eval-store` (Nix's): evaluate in the sandbox into the embedded store, build in another
/// store (the nix-daemon's here, standing in for a remote machine): the derivations' closure
/// is copied there first and the outputs are the builder's.
#[test]
fn evaluate_locally_build_elsewhere() {
    if !have_daemon("evaluate_locally_build_elsewhere") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_fresh_derivation(&dir.path().join("r.nix"), "remote");
    let eval_store = dir.path().join("eval");
    let built = run_ok(
        Command::new(evalbox_tests::evalbox_bin())
            .current_dir(dir.path())
            .env_remove("NIX_REMOTE")
            .args(["--store", "daemon", "build", "r.nix", "--eval-store"])
            .arg(format!("local?root={}", eval_store.display())),
    );
    let built = built.trim();
    assert!(built.ends_with("-remote"), "{built}");
    // Built by the daemon, from a derivation that was instantiated only in the eval store.
    let valid = |store: &str| {
        run(Command::new("nix-store").args(["--store", store, "--check-validity", built]))
            .status
            .success()
    };
    assert!(valid("daemon"));
    assert!(!valid(&format!("local?root={}", eval_store.display())));
    let drv =
        run_ok(Command::new("nix-store").args(["--store", "daemon", "-q", "--deriver", built]));
    assert!(
        eval_store.join(drv.trim().trim_start_matches('/')).exists(),
        "{drv}"
    );
}

/// Writes to `file` a derivation `name` (`echo` of a text file into `$out`) that no store
/// has yet: the text holds the current time.
fn write_fresh_derivation(file: &Path, name: &str) {
    let nonce = format!(
        "{:?}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
    );
    fs::write(
        file,
        format!(
            r#"let dep = builtins.toFile "dep" "{nonce}";
               in derivation {{ name = "{name}"; system = builtins.currentSystem;
                                builder = "/bin/sh"; args = [ "-c" "echo ${{dep}} > $out" ]; }}"#
        ),
    )
    .unwrap();
}
