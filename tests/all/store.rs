//! store: the embedded store and the `evalbox store` CLI, differential against real Nix 2.8.
//!
//! Inputs are generated (random names including unicode, sizes, modes, symlinks, empty
//! directories) from a seed printed by each test; set `EVALBOX_TEST_SEED` to replay one.
//! Real Nix writes to its own throw-away chroot store (`local?root=...`), never to /nix/store.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use evalbox_tests::{evalbox_local, have_nix, nix_store_on, run, run_ok};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn seeded(test: &str) -> StdRng {
    let seed = std::env::var("EVALBOX_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("{test}: EVALBOX_TEST_SEED={seed}");
    StdRng::seed_from_u64(seed)
}

const NAME_CHARS: &[&str] = &[
    "a", "b", "z", "A", "Q", "0", "7", "-", "_", ".", "+", "=", " ", "é", "日本", "🎉", "ß", "~",
    "#", "%", "'", "(", "ü",
];

fn random_name(rng: &mut StdRng) -> String {
    loop {
        let n = rng.random_range(1..12);
        let s: String = (0..n)
            .map(|_| NAME_CHARS[rng.random_range(0..NAME_CHARS.len())])
            .collect();
        if s != "." && s != ".." {
            return s;
        }
    }
}

fn random_bytes(rng: &mut StdRng) -> Vec<u8> {
    let len = match rng.random_range(0..10) {
        0 => 0,
        1..=6 => rng.random_range(1..2000),
        7 | 8 => rng.random_range(2000..200_000),
        _ => rng.random_range(200_000..1_500_000),
    };
    let mut v = vec![0u8; len];
    rng.fill(&mut v[..]);
    v
}

fn write_file(rng: &mut StdRng, path: &Path) {
    fs::write(path, random_bytes(rng)).unwrap();
    let mode = [0o644, 0o755, 0o600, 0o700, 0o444, 0o555, 0o744, 0o654][rng.random_range(0..8)];
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Fill directory `dir` (which exists) with a random tree.
fn fill_dir(rng: &mut StdRng, dir: &Path, depth: u32) {
    let n = rng.random_range(0..if depth == 0 { 8 } else { 5 });
    for _ in 0..n {
        let p = dir.join(random_name(rng));
        if p.symlink_metadata().is_ok() {
            continue;
        }
        match rng.random_range(0..10) {
            0..=4 => write_file(rng, &p),
            5 | 6 if depth < 3 => {
                fs::create_dir(&p).unwrap();
                fill_dir(rng, &p, depth + 1);
            }
            7 => fs::create_dir(&p).unwrap(), // an empty directory
            _ => {
                let target = match rng.random_range(0..4) {
                    0 => "/etc/passwd".to_string(),
                    1 => "../somewhere/else".to_string(),
                    2 => "dangling-é".to_string(),
                    _ => random_name(rng),
                };
                std::os::unix::fs::symlink(target, &p).unwrap();
            }
        }
    }
}

/// A random input to add: a file (mostly), a tree, or a symlink. Its base name is a valid
/// store path name.
fn random_input(rng: &mut StdRng, parent: &Path, i: usize) -> PathBuf {
    let p = parent.join(format!("input-{i}-{}", rng.random_range(0..1000)));
    match rng.random_range(0..10) {
        0..=3 => write_file(rng, &p),
        4..=8 => {
            fs::create_dir(&p).unwrap();
            fill_dir(rng, &p, 0);
        }
        _ => std::os::unix::fs::symlink("target-of-a-root-symlink", &p).unwrap(),
    }
    p
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).collect()
}

/// `nix-store --verify --check-contents` on the embedded store must succeed and report
/// nothing beyond its progress lines.
fn nix_verify(root: &Path) {
    let out = run(nix_store_on(root).args(["--verify", "--check-contents"]));
    let err = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = err
        .lines()
        .filter(|l| !(l.starts_with("reading the Nix store") || l.starts_with("checking ")))
        .collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "nix-store --verify --check-contents on {}: {err}",
        root.display()
    );
}

fn nix_real_store() -> Command {
    // Real Nix with its own throw-away store for the reference answers.
    Command::new("nix-store")
}

/// `evalbox store add` / `add-fixed` / `dump` against `nix-store --add` / `--add-fixed` /
/// `--dump` on generated inputs, then real Nix verifies the embedded store evalbox wrote.
#[test]
fn add_and_dump_match_nix_on_generated_trees() {
    if !have_nix("add_and_dump_match_nix_on_generated_trees") {
        return;
    }
    let mut rng = seeded("add_and_dump_match_nix_on_generated_trees");
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours");
    let theirs = tmp.path().join("theirs");
    let inputs = tmp.path().join("inputs");
    fs::create_dir(&inputs).unwrap();
    let paths: Vec<PathBuf> = (0..24)
        .map(|i| random_input(&mut rng, &inputs, i))
        .collect();

    // nix-store --add (recursive sha256) on many inputs at once.
    let our_added = lines(&run_ok(
        evalbox_local(&ours).args(["store", "add"]).args(&paths),
    ));
    let their_added = lines(&run_ok(nix_store_on(&theirs).arg("--add").args(&paths)));
    assert_eq!(our_added, their_added, "nix-store --add");

    // --add-fixed, every algorithm, flat (regular files only) and recursive.
    let files: Vec<&PathBuf> = paths
        .iter()
        .filter(|p| p.symlink_metadata().unwrap().is_file())
        .collect();
    for algo in ["md5", "sha1", "sha256", "sha512"] {
        let ours_r = run_ok(
            evalbox_local(&ours)
                .args(["store", "add-fixed", "--recursive", algo])
                .args(&paths),
        );
        let theirs_r = run_ok(
            nix_store_on(&theirs)
                .args(["--add-fixed", "--recursive", algo])
                .args(&paths),
        );
        assert_eq!(ours_r, theirs_r, "--add-fixed --recursive {algo}");
        if !files.is_empty() {
            let ours_f = run_ok(
                evalbox_local(&ours)
                    .args(["store", "add-fixed", algo])
                    .args(&files),
            );
            let theirs_f = run_ok(
                nix_store_on(&theirs)
                    .args(["--add-fixed", algo])
                    .args(&files),
            );
            assert_eq!(ours_f, theirs_f, "--add-fixed {algo}");
        }
    }
    // `store add --flat` is `--add-fixed sha256`.
    if let Some(f) = files.first() {
        let a = run_ok(evalbox_local(&ours).args(["store", "add", "--flat"]).arg(f));
        let b = run_ok(nix_store_on(&theirs).args(["--add-fixed", "sha256"]).arg(f));
        assert_eq!(a, b, "add --flat");
    }

    // NAR bytes: evalbox store dump of the added path == nix-store --dump of the input.
    for (input, sp) in paths.iter().zip(&our_added) {
        let ours_nar = run(evalbox_local(&ours).args(["store", "dump", sp])).stdout;
        let theirs_nar = run(nix_real_store().arg("--dump").arg(input)).stdout;
        assert!(!theirs_nar.is_empty());
        assert!(ours_nar == theirs_nar, "NAR of {} differs", input.display());
    }

    // Real Nix reads the embedded store and finds it consistent.
    nix_verify(&ours);
    // ... and agrees on metadata.
    let ours_json: serde_json::Value = serde_json::from_str(&run_ok(
        evalbox_local(&ours)
            .args(["store", "path-info", "--json"])
            .args(&our_added),
    ))
    .unwrap();
    let nix_json: serde_json::Value = serde_json::from_str(&run_ok(
        evalbox_tests::nix_command(&["path-info", "--json"])
            .arg("--store")
            .arg(format!("local?root={}", ours.display()))
            .args(&our_added),
    ))
    .unwrap();
    assert_eq!(
        ours_json, nix_json,
        "nix path-info --json on the embedded store"
    );

    // Our own verifier agrees.
    run_ok(evalbox_local(&ours).args(["store", "verify", "--check-contents"]));
}

/// Text paths with references (builtins.toFile), and `-q --references` read by real Nix.
#[test]
fn text_paths_and_references_match_nix() {
    if !have_nix("text_paths_and_references_match_nix") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours");
    let text1 = tmp.path().join("t1");
    fs::write(&text1, "hello from toFile\n").unwrap();
    let p1 = run_ok(
        evalbox_local(&ours)
            .args(["store", "add-text", "--name", "greeting.txt"])
            .arg(&text1),
    );
    let p1 = p1.trim().to_string();
    // Ground truth from Nix 2.8 (nix-vectors README, builtins.toFile).
    assert_eq!(
        p1,
        "/nix/store/mawqzks1y1qk0yac77rm6ailwnzr4m14-greeting.txt"
    );
    let text2 = tmp.path().join("t2");
    fs::write(&text2, format!("ref: {p1}")).unwrap();
    let p2 = run_ok(
        evalbox_local(&ours)
            .args([
                "store",
                "add-text",
                "--name",
                "refs.txt",
                "--reference",
                &p1,
            ])
            .arg(&text2),
    );
    assert_eq!(
        p2.trim(),
        "/nix/store/q15k4r3lhx7wm62531x3sagrp626sz6s-refs.txt"
    );
    let refs = run_ok(nix_store_on(&ours).args(["-q", "--references", p2.trim()]));
    assert_eq!(refs.trim(), p1);
    let referrers = run_ok(evalbox_local(&ours).args(["store", "referrers", &p1]));
    assert_eq!(referrers.trim(), p2.trim());
    // A reference that is not valid is refused, and nothing is registered.
    let bad = run(evalbox_local(&ours)
        .args([
            "store",
            "add-text",
            "--name",
            "x",
            "--reference",
            "/nix/store/00000000000000000000000000000000-nope",
        ])
        .arg(&text2));
    assert!(!bad.status.success());
    nix_verify(&ours);
}

/// Every kind of derivation in tests/vectors/drvs.nix: real Nix instantiates it; evalbox
/// re-creates the closure in its embedded store (recomputing and checking every output path);
/// the .drv paths and bytes must be identical, and real Nix must accept the result.
#[test]
fn derivations_match_nix_instantiate() {
    if !have_nix("derivations_match_nix_instantiate") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let theirs = tmp.path().join("theirs");
    let ours = tmp.path().join("ours");
    let expr = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/drvs.nix");
    let attrs = run_ok(
        Command::new("nix-instantiate")
            .arg("--store")
            .arg(format!("local?root={}", theirs.display()))
            .args(["--eval", "--json", "-E"])
            .arg(format!("builtins.attrNames (import {})", expr.display())),
    );
    let attrs: Vec<String> = serde_json::from_str(&attrs).unwrap();
    assert!(attrs.len() >= 20, "{attrs:?}");
    let mut drv_paths = BTreeMap::new();
    for a in &attrs {
        let out = run_ok(
            Command::new("nix-instantiate")
                .arg("--store")
                .arg(format!("local?root={}", theirs.display()))
                .arg(&expr)
                .args(["-A", a]),
        );
        // `-A` of a derivation whose first output is not `out` prints `….drv!<output>`.
        let drv = out.trim().split('!').next().unwrap().to_string();
        drv_paths.insert(a.clone(), drv);
    }
    // The whole closure, dependencies first.
    let closure = lines(&run_ok(
        nix_store_on(&theirs)
            .args(["-q", "--requisites"])
            .args(drv_paths.values()),
    ));
    let real = |p: &str| theirs.join(p.trim_start_matches('/'));
    for p in &closure {
        let info: serde_json::Value = serde_json::from_str(&run_ok(
            evalbox_tests::nix_command(&["path-info", "--json"])
                .arg("--store")
                .arg(format!("local?root={}", theirs.display()))
                .arg(p),
        ))
        .unwrap();
        let info = &info[0];
        let name = &p["/nix/store/".len() + 33..];
        let ca = info["ca"].as_str().unwrap_or_default();
        let added = if p.ends_with(".drv") {
            run_ok(
                evalbox_local(&ours)
                    .args(["store", "add-derivation"])
                    .arg(real(p)),
            )
        } else if ca.starts_with("text:") {
            let mut c = evalbox_local(&ours);
            c.args(["store", "add-text", "--name", name]);
            for r in info["references"].as_array().unwrap() {
                c.arg("--reference").arg(r.as_str().unwrap());
            }
            run_ok(c.arg(real(p)))
        } else {
            run_ok(
                evalbox_local(&ours)
                    .args(["store", "add", "--name", name])
                    .arg(real(p)),
            )
        };
        assert_eq!(added.trim(), p, "re-creating {p}");
        if p.ends_with(".drv") {
            let a = fs::read(real(p)).unwrap();
            let b = fs::read(ours.join(p.trim_start_matches('/'))).unwrap();
            assert!(a == b, ".drv bytes of {p} differ");
        }
    }
    for (a, p) in &drv_paths {
        // Output paths as real Nix sees them in our store.
        let theirs_out = run_ok(nix_store_on(&theirs).args(["-q", "--outputs", p]));
        let ours_out = run_ok(nix_store_on(&ours).args(["-q", "--outputs", p]));
        assert_eq!(theirs_out, ours_out, "outputs of {a}");
        // show-derivation JSON equals Nix's.
        let ours_json: serde_json::Value =
            serde_json::from_str(&run_ok(evalbox_local(&ours).args([
                "store",
                "show-derivation",
                p,
            ])))
            .unwrap();
        let nix_json: serde_json::Value = serde_json::from_str(&run_ok(
            evalbox_tests::nix_command(&["show-derivation"])
                .arg("--store")
                .arg(format!("local?root={}", theirs.display()))
                .arg(p),
        ))
        .unwrap();
        assert_eq!(ours_json, nix_json, "show-derivation of {a}");
    }
    nix_verify(&ours);
}

/// A derivation whose output paths were tampered with is refused; nothing is registered.
#[test]
fn derivation_with_wrong_outputs_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours");
    let drv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guest-abi/nix-formats/testdata/drv/76w21n1f03fs5kw8fnffphx7qrqffw6r-hello.drv");
    let good = fs::read_to_string(&drv).unwrap();
    let out_path = "/nix/store/mjs27ix6ig2bkbi3s3sm470vrv4lf7ic-hello";
    assert!(good.contains(out_path));
    let tampered = good.replace(
        out_path,
        "/nix/store/00000000000000000000000000000000-hello",
    );
    let f = tmp.path().join("hello.drv");
    fs::write(&f, tampered).unwrap();
    let out = run(evalbox_local(&ours)
        .args(["store", "add-derivation"])
        .arg(&f));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("incorrect output"), "{err}");
    // The genuine one is accepted, with Nix's path.
    fs::write(&f, good).unwrap();
    let p = run_ok(
        evalbox_local(&ours)
            .args(["store", "add-derivation"])
            .arg(&f),
    );
    assert_eq!(
        p.trim(),
        "/nix/store/76w21n1f03fs5kw8fnffphx7qrqffw6r-hello.drv"
    );
    run_ok(evalbox_local(&ours).args(["store", "verify", "--check-contents"]));
}

/// Bad input gets one clear line on stderr and a non-zero exit, and registers nothing.
#[test]
fn bad_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours");
    let good = tmp.path().join("good.txt");
    fs::write(&good, "x").unwrap();
    let corrupt_nar = tmp.path().join("corrupt.nar");
    let mut nar = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../guest-abi/nix-formats/testdata/nar/tree.nar"),
    )
    .unwrap();
    nar.truncate(nar.len() - 20);
    fs::write(&corrupt_nar, &nar).unwrap();
    let trailing_nar = tmp.path().join("trailing.nar");
    let mut nar2 = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../guest-abi/nix-formats/testdata/nar/hello.txt.nar"),
    )
    .unwrap();
    nar2.extend_from_slice(&[0; 8]);
    fs::write(&trailing_nar, &nar2).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "store".into(),
                "add".into(),
                tmp.path().join("missing").display().to_string(),
            ],
            "missing",
        ),
        (
            vec![
                "store".into(),
                "path-info".into(),
                "/nix/store/not-a-store-path".into(),
            ],
            "not a store path",
        ),
        (
            vec![
                "store".into(),
                "path-info".into(),
                "/nix/store/00000000000000000000000000000000-absent".into(),
            ],
            "not valid",
        ),
        (
            vec![
                "store".into(),
                "add-fixed".into(),
                "sha3".into(),
                good.display().to_string(),
            ],
            "hash algorithm",
        ),
        (
            vec![
                "store".into(),
                "add-nar".into(),
                "--name".into(),
                "x".into(),
                corrupt_nar.display().to_string(),
            ],
            "NAR",
        ),
        (
            vec![
                "store".into(),
                "add-nar".into(),
                "--name".into(),
                "x".into(),
                trailing_nar.display().to_string(),
            ],
            "NAR",
        ),
        (
            vec![
                "store".into(),
                "add".into(),
                "--name".into(),
                "has space".into(),
                good.display().to_string(),
            ],
            "name",
        ),
        (
            vec![
                "store".into(),
                "dump".into(),
                "/nix/store/00000000000000000000000000000000-absent".into(),
            ],
            "not valid",
        ),
        (
            vec![
                "store".into(),
                "show-derivation".into(),
                "/etc/passwd".into(),
            ],
            "not a store path",
        ),
    ];
    for (args, needle) in cases {
        let out = run(evalbox_local(&ours).args(&args));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            err.to_lowercase().contains(&needle.to_lowercase()),
            "{args:?}: stderr {err:?} lacks {needle:?}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
    let out =
        run(Command::new(evalbox_tests::evalbox_bin())
            .args(["--store", "ftp://x", "store", "verify"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid store URI 'ftp://x'"));
    // Nothing got registered by the failures.
    let listing = fs::read_dir(ours.join("nix/store"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(listing, 0);
    run_ok(evalbox_local(&ours).args(["store", "verify", "--check-contents"]));
}

/// Several processes adding the same inputs at once end with one valid copy and no error.
#[test]
fn concurrent_adds_from_several_processes() {
    let mut rng = seeded("concurrent_adds_from_several_processes");
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours");
    let inputs = tmp.path().join("inputs");
    fs::create_dir(&inputs).unwrap();
    let paths: Vec<PathBuf> = (0..6).map(|i| random_input(&mut rng, &inputs, i)).collect();
    let children: Vec<_> = (0..6)
        .map(|_| {
            evalbox_local(&ours)
                .args(["store", "add"])
                .args(&paths)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outputs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.stdout, outputs[0].stdout);
    }
    run_ok(evalbox_local(&ours).args(["store", "verify", "--check-contents"]));
}

/// A child adding many paths is killed (SIGKILL) at random moments; afterwards the store
/// verifies clean, every registered path is complete, and adding everything again works.
#[test]
fn kill_9_never_leaves_a_broken_store() {
    let mut rng = seeded("kill_9_never_leaves_a_broken_store");
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours");
    let inputs = tmp.path().join("inputs");
    fs::create_dir(&inputs).unwrap();
    let paths: Vec<PathBuf> = (0..40)
        .map(|i| random_input(&mut rng, &inputs, i))
        .collect();
    let mut killed = 0;
    for round in 0..12 {
        // Each round adds a different subset, so kills land on fresh work.
        let subset: Vec<&PathBuf> = paths.iter().filter(|_| rng.random_bool(0.5)).collect();
        let algo = ["sha256", "sha1", "sha512"][round % 3];
        let mut child = evalbox_local(&ours)
            .args(["store", "add-fixed", "--recursive", algo])
            .args(&subset)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.random_range(0..60_000)));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // After every kill: the store is consistent for us and for real Nix.
        run_ok(evalbox_local(&ours).args(["store", "verify", "--check-contents"]));
    }
    eprintln!("killed {killed} of 12 children mid-run");
    // Everything can still be added, and the result is complete.
    for algo in ["sha256", "sha1", "sha512"] {
        run_ok(
            evalbox_local(&ours)
                .args(["store", "add-fixed", "--recursive", algo])
                .args(&paths),
        );
    }
    run_ok(evalbox_local(&ours).args(["store", "verify", "--check-contents"]));
    if have_nix("kill_9_never_leaves_a_broken_store (real Nix check)") {
        nix_verify(&ours);
    }
}

/// The ground-truth vectors of Nix 2.8 through the CLI: paths of hello.txt in every form.
#[test]
fn cli_reproduces_nix_vectors() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours");
    let hello = tmp.path().join("hello.txt");
    fs::write(&hello, "Hello, Nix!\n").unwrap();
    let add = |args: &[&str]| -> String {
        run_ok(evalbox_local(&ours).args(args).arg(&hello))
            .trim()
            .to_string()
    };
    assert_eq!(
        add(&["store", "add"]),
        "/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt"
    );
    assert_eq!(
        add(&["store", "add-fixed", "sha256"]),
        "/nix/store/074js36zvzgjcc64qgnl216rlvpy7q65-hello.txt"
    );
    assert_eq!(
        add(&["store", "add-fixed", "sha1"]),
        "/nix/store/jgj24cnq4hss1j1ky1phqw7nh2kr3gd7-hello.txt"
    );
    assert_eq!(
        add(&["store", "add-fixed", "--recursive", "sha1"]),
        "/nix/store/srm64xgkqpv0bjv7a3shpqan69859ljx-hello.txt"
    );
    assert_eq!(
        add(&["store", "add", "--name", "renamed"]),
        "/nix/store/48bms7zm06xlldihsak7fb90bvzk1jw6-renamed"
    );
    let json: serde_json::Value = serde_json::from_str(&run_ok(evalbox_local(&ours).args([
        "store",
        "path-info",
        "--json",
        "/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt",
    ])))
    .unwrap();
    let v = &json[0];
    assert_eq!(
        v["narHash"],
        "sha256-7enlb0QDWPs2j0a6S8oHmsj2hAQ2NGFBG/70jQMutJI="
    );
    assert_eq!(v["narSize"], 128);
    assert_eq!(
        v["ca"],
        "fixed:r:sha256:14ml5q1qvx7y3d0n2d1n0j2gdj4s0z54pfj6iwvgnn038ipybsgd"
    );
    let cat = run_ok(evalbox_local(&ours).args([
        "store",
        "cat",
        "/nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt",
    ]));
    assert_eq!(cat, "Hello, Nix!\n");
    // Store contents are read-only with mtime 1, like Nix's.
    let real = ours.join("nix/store/2xr781z591fm9c9jchvf8389sr8qsszk-hello.txt");
    let meta = fs::metadata(&real).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o444);
    assert_eq!(
        std::os::unix::fs::MetadataExt::mtime(&meta),
        1,
        "mtime of a store path"
    );
}

/// The same CLI through a real nix-daemon (`--store daemon`): the paths equal the embedded
/// store's and `nix-store`'s, and real Nix sees what evalbox added.
#[test]
fn cli_through_the_daemon_matches_the_embedded_store() {
    if !evalbox_tests::have_daemon("cli_through_the_daemon_matches_the_embedded_store") {
        return;
    }
    let mut rng = seeded("cli_through_the_daemon_matches_the_embedded_store");
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours");
    let inputs = tmp.path().join("inputs");
    fs::create_dir(&inputs).unwrap();
    let paths: Vec<PathBuf> = (0..6).map(|i| random_input(&mut rng, &inputs, i)).collect();
    let daemon = || {
        let mut c = Command::new(evalbox_tests::evalbox_bin());
        c.args(["--store", "daemon"]);
        c
    };
    let local = run_ok(evalbox_local(&ours).args(["store", "add"]).args(&paths));
    let through_daemon = run_ok(daemon().args(["store", "add"]).args(&paths));
    assert_eq!(local, through_daemon);
    for p in lines(&through_daemon) {
        // Real Nix (through the same daemon) agrees on the NAR hash.
        let nix_hash = run_ok(Command::new("nix-store").args(["-q", "--hash", &p]));
        let ours_json: serde_json::Value =
            serde_json::from_str(&run_ok(daemon().args(["store", "path-info", "--json", &p])))
                .unwrap();
        let sri = ours_json[0]["narHash"].as_str().unwrap().to_string();
        let local_json: serde_json::Value =
            serde_json::from_str(&run_ok(evalbox_local(&ours).args([
                "store",
                "path-info",
                "--json",
                &p,
            ])))
            .unwrap();
        assert_eq!(local_json[0]["narHash"], ours_json[0]["narHash"]);
        assert_eq!(local_json[0]["ca"], ours_json[0]["ca"]);
        let typed = nix_formats::NixHash::parse(&sri, None)
            .unwrap()
            .to_typed_nix32();
        assert_eq!(nix_hash.trim(), typed);
        let a = run(daemon().args(["store", "dump", &p])).stdout;
        let b = run(evalbox_local(&ours).args(["store", "dump", &p])).stdout;
        assert!(a == b, "NAR of {p} differs between backends");
    }
    // verify is an embedded-store operation: a clear refusal for a daemon.
    let out = run(daemon().args(["store", "verify"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("embedded store"));
}
