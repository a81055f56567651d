//! gc: the embedded store's garbage collector against Nix 2.8's, on the same chroot store
//! (`nix-store --store local?root=DIR --gc --print-dead / --print-roots`), and its safety
//! while evaluations add and read paths.

use std::fs;
use std::path::Path;

use evalbox_tests::{evalbox_local, have_nix, nix_store_on, run, run_ok};

fn lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
    v.sort();
    v
}

#[test]
fn collects_what_nix_would_collect() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fs::write(
        dir.path().join("a.nix"),
        r#"let
             dep = builtins.toFile "dep" "dep";
             mk = n: derivation { name = n; system = "x"; builder = "/bin/sh"; args = [ "-c" "echo ${dep} > $out" ]; };
           in {
             indirect = mk "indirect"; direct = mk "direct"; dead = mk "dead";
             file = builtins.toFile "named" "n"; other = builtins.toFile "other" "o ${dep}";
           }"#,
    )
    .unwrap();
    let eval = |args: &[&str]| {
        run_ok(
            evalbox_local(&root)
                .current_dir(dir.path())
                .env_remove("NIX_PATH")
                .args(args),
        )
    };
    // An indirect root (--add-root), a direct link in gcroots, a store-path-named file in
    // gcroots, and unrooted paths.
    eval(&[
        "instantiate",
        "a.nix",
        "-A",
        "indirect",
        "--add-root",
        "result",
    ]);
    let direct = eval(&["instantiate", "a.nix", "-A", "direct"]);
    let named = eval(&["eval", "-E", "(import ./a.nix).file"]);
    let named = named.trim().trim_matches('"');
    eval(&["instantiate", "a.nix", "-A", "dead"]);
    eval(&["eval", "-E", "(import ./a.nix).other"]);
    let gcroots = root.join("nix/var/nix/gcroots");
    fs::create_dir_all(gcroots.join("mine")).unwrap();
    std::os::unix::fs::symlink(direct.trim(), gcroots.join("mine/direct")).unwrap();
    fs::write(gcroots.join(Path::new(named).file_name().unwrap()), "").unwrap();
    // A dangling indirect root is no root.
    fs::write(
        dir.path().join("gone.nix"),
        r#"derivation { name = "gone"; system = "x"; builder = "/bin/sh"; }"#,
    )
    .unwrap();
    eval(&["instantiate", "gone.nix", "--add-root", "gone-root"]);
    fs::remove_file(dir.path().join("gone-root")).unwrap();

    let ours = lines(&eval(&["store", "gc", "--dry-run"]));
    assert!(ours.iter().any(|p| p.ends_with("-dead.drv")), "{ours:?}");
    assert!(ours.iter().any(|p| p.ends_with("-other")), "{ours:?}");
    assert!(ours.iter().any(|p| p.ends_with("-gone.drv")), "{ours:?}");
    assert!(
        !ours
            .iter()
            .any(|p| p.ends_with("-dep") || p.ends_with("-direct.drv"))
    );
    let roots = eval(&["store", "roots"]);
    assert!(
        roots.contains(&format!("{} -> ", dir.path().join("result").display())),
        "{roots}"
    );
    if have_nix("collects_what_nix_would_collect") {
        let theirs = lines(&run_ok(nix_store_on(&root).args(["--gc", "--print-dead"])));
        assert_eq!(ours, theirs);
        let nix_roots = run_ok(nix_store_on(&root).args(["--gc", "--print-roots"]));
        for line in roots.lines() {
            assert!(nix_roots.contains(line), "{line} not in\n{nix_roots}");
        }
    }
    // Deleting a live path is refused; collecting deletes exactly the dead paths.
    let live = fs::read_link(dir.path().join("result")).unwrap();
    let out = run(evalbox_local(&root).args(["store", "delete"]).arg(&live));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("still alive"));
    run_ok(evalbox_local(&root).args(["store", "gc"]));
    assert_eq!(eval(&["store", "gc", "--dry-run"]), "");
    for p in &ours {
        assert!(
            !root.join(p.trim_start_matches('/')).exists(),
            "{p} left behind"
        );
    }
    if have_nix("collects_what_nix_would_collect") {
        run_ok(nix_store_on(&root).args(["--verify", "--check-contents"]));
        assert_eq!(
            run_ok(nix_store_on(&root).args(["--gc", "--print-dead"])),
            ""
        );
    }
    // Without its root the rest goes too, and `delete` takes a dead path with its referrers.
    fs::remove_file(dir.path().join("result")).unwrap();
    fs::remove_dir_all(gcroots.join("mine")).unwrap();
    let dead = lines(&eval(&["store", "gc", "--dry-run"]));
    let dep = dead.iter().find(|p| p.ends_with("-dep")).unwrap().clone();
    let out = run(evalbox_local(&root).args(["store", "delete", &dep]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refers to it"));
    let mut all: Vec<&str> = dead.iter().map(String::as_str).collect();
    all.retain(|p| !p.ends_with(Path::new(named).file_name().unwrap().to_str().unwrap()));
    run_ok(evalbox_local(&root).args(["store", "delete"]).args(&all));
    for p in &all {
        assert!(!root.join(p.trim_start_matches('/')).exists());
    }
}

/// Evaluations add a file, compute for a while, then read it back, while collections run
/// over and over: temporary roots keep every evaluation's paths, so each one succeeds.
#[test]
fn collections_never_take_what_running_evaluations_use() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let expr = |i: usize| {
        format!(
            r#"let f = builtins.toFile "t{i}" "{i}";
                   spin = builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 1000000);
               in builtins.seq spin (builtins.readFile f)"#
        )
    };
    // The store exists before the collector starts.
    run_ok(evalbox_local(&root).args(["eval", "-E", "builtins.toFile \"x\" \"x\""]));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let collector = {
        let (root, stop) = (root.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut runs = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                run_ok(evalbox_local(&root).args(["store", "gc"]));
                runs += 1;
            }
            runs
        })
    };
    let evals: Vec<_> = (0..8)
        .map(|i| {
            let root = root.clone();
            let e = expr(i);
            std::thread::spawn(move || run(evalbox_local(&root).args(["eval", "-E", &e])))
        })
        .collect();
    for (i, h) in evals.into_iter().enumerate() {
        let out = h.join().unwrap();
        assert!(
            out.status.success(),
            "evaluation {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("\"{i}\"\n"));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let runs = collector.join().unwrap();
    assert!(runs > 0);
    // Afterwards nothing roots them: the next collection takes them all.
    run_ok(evalbox_local(&root).args(["store", "gc"]));
    assert_eq!(
        run_ok(evalbox_local(&root).args(["store", "gc", "--dry-run"])),
        ""
    );
    if have_nix("collections_never_take_what_running_evaluations_use") {
        run_ok(nix_store_on(&root).args(["--verify", "--check-contents"]));
    }
}

/// Real Nix adding to the store while evalbox collects. Finding `gc.lock` taken, Nix 2.8 sends
/// the path to the collection's socket and waits for its acknowledgement; with nobody serving
/// the socket it goes on regardless, and a path it just found valid (so did not add) could be
/// deleted under it. Here that path is dead when the collection starts, and Nix asks for it
/// while the collection runs: it must be valid afterwards.
#[test]
fn real_nix_adds_while_evalbox_collects() {
    if !have_nix("real_nix_adds_while_evalbox_collects") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    // Enough dead paths that the collection takes a while.
    let many = "builtins.genList (i: builtins.toFile \"dead-${toString i}\" (toString i)) 5000";
    run_ok(evalbox_local(&root).args(["eval", "--strict", "-E", many]));
    let file = dir.path().join("wanted");
    fs::write(&file, "wanted\n").unwrap();
    let wanted = run_ok(nix_store_on(&root).arg("--add").arg(&file));
    let wanted = wanted.trim();
    let socket = root.join("nix/var/nix/gc-socket/socket");
    let collector = {
        let root = root.clone();
        std::thread::spawn(move || run(evalbox_local(&root).args(["store", "gc"])))
    };
    let start = std::time::Instant::now();
    while !socket.exists() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the collection never served the GC socket"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let again = run_ok(nix_store_on(&root).arg("--add").arg(&file));
    assert_eq!(again.trim(), wanted);
    let out = collector.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!socket.exists(), "the socket is removed");
    run_ok(nix_store_on(&root).arg("--check-validity").arg(wanted));
    run_ok(nix_store_on(&root).args(["--verify", "--check-contents"]));
}

/// A collection killed at any moment leaves a store that verifies (paths are unregistered
/// before their files go), and the next collection finishes the job.
#[test]
fn a_killed_collection_leaves_a_consistent_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let many = "builtins.genList (i: builtins.toFile \"f${toString i}\" (toString i)) 400";
    for delay_ms in [0u64, 2, 5, 10, 20] {
        run_ok(evalbox_local(&root).args(["eval", "--strict", "-E", many]));
        let mut child = evalbox_local(&root)
            .args(["store", "gc"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        run_ok(evalbox_local(&root).args(["store", "verify", "--check-contents"]));
        if have_nix("a_killed_collection_leaves_a_consistent_store") {
            run_ok(nix_store_on(&root).args(["--verify", "--check-contents"]));
        }
    }
    run_ok(evalbox_local(&root).args(["store", "gc"]));
    assert_eq!(
        run_ok(evalbox_local(&root).args(["store", "gc", "--dry-run"])),
        ""
    );
}
