//! The store interface from inside the sandbox: every operation against the embedded store,
//! compared with real Nix where Nix can compute the same value (skipped without Nix unless
//! EVALBOX_REQUIRE_NIX=1), confinement of add-path to the preopens, the host-call argument
//! cap, a build requested by the guest, and hello-frontend's derivation against
//! `nix-instantiate`.

use std::path::Path;

use evalbox::capabilities::Preopen;
use evalbox::runtime::{LimitExceeded, Limits, exit_code};
use evalbox::sandbox::RunOutcome;
use evalbox_tests::nix_instantiate_on;

use super::{SourceTree, embedded_store, field, limits, run_guest_full};

/// Evaluates `expr` with real Nix (into a throwaway store) and returns the string it gives.
fn nix_eval_string(root: &Path, expr: &str) -> String {
    let out = evalbox_tests::run_ok(nix_instantiate_on(root).args(["--eval", "-E", expr]));
    out.trim().trim_matches('"').to_owned()
}

#[test]
fn every_store_operation_matches_real_nix() {
    let tree = SourceTree::new();
    std::fs::remove_file(tree.src.join("link-dir")).unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = embedded_store(root.path());
    // Builders see the host's shell and coreutils.
    let mut settings = evalbox_store::settings::BuildSettings::default();
    settings
        .set("sandbox-paths", "/bin /usr /lib /lib64?")
        .unwrap();
    store
        .as_any()
        .downcast_ref::<evalbox_store::local::LocalStore>()
        .expect("the embedded store")
        .set_build_settings(settings);
    let src = tree.src.to_str().unwrap();
    let ran = run_guest_full(
        "store_ops",
        &[src],
        vec![tree.preopen()],
        limits(),
        Vec::new(),
        Some(store),
    );
    let out = &ran.stdout;
    assert_eq!(ran.outcome, RunOutcome::Exited(0), "{out}\n{}", ran.stderr);
    assert_eq!(field(out, "store-dir"), "/nix/store");
    assert_eq!(field(out, "valid"), "true");
    assert_eq!(field(out, "missing-valid"), "false");
    assert_eq!(field(out, "missing-info"), "None");
    assert_eq!(field(out, "valid-paths"), field(out, "text"));
    assert!(field(out, "ca").starts_with("text:sha256:"), "{out}");
    assert!(field(out, "nar-hash").starts_with("sha256:"), "{out}");
    let (refs, refs_refs) = field(out, "refs").split_once(' ').unwrap();
    assert!(refs.ends_with("-refs.txt"));
    assert_eq!(refs_refs, field(out, "text"));
    // The store built the derivation (its builder sees the host's shell); without
    // bubblewrap the build fails, saying so.
    if evalbox_tests::have_bwrap("every_store_operation_matches_real_nix (build)") {
        assert_eq!(
            field(out, "build"),
            format!("ok out={}", field(out, "drv-out")),
            "{out}"
        );
        let built = root
            .path()
            .join(field(out, "drv-out").trim_start_matches('/'));
        assert_eq!(std::fs::read_to_string(built).unwrap(), "hi\n");
    } else {
        assert!(field(out, "build").contains("bubblewrap"), "{out}");
    }
    assert_eq!(field(out, "bad-ref"), "invalid-argument");
    assert_eq!(field(out, "bad-path"), "invalid-path");
    let drv = field(out, "drv");
    assert!(drv.ends_with("-ops.drv"), "{drv}");
    assert_eq!(
        field(out, "drv-outputs"),
        format!("out {}", field(out, "drv-out"))
    );
    assert!(field(out, "drv-two").ends_with("-two.drv 2"), "{out}");
    // The .drv really is in the store, registered.
    let drv_file = root.path().join(drv.trim_start_matches('/'));
    let aterm = std::fs::read_to_string(&drv_file).unwrap();
    assert!(aterm.starts_with("Derive([(\"out\",\""), "{aterm}");
    assert!(aterm.contains(field(out, "drv-out")));

    if !evalbox_tests::have_nix("every_store_operation_matches_real_nix") {
        return;
    }
    let nix_root = tempfile::tempdir().unwrap();
    let n = nix_root.path();
    assert_eq!(
        field(out, "text"),
        nix_eval_string(n, r#"builtins.toFile "hello.txt" "hello\n""#)
    );
    assert_eq!(
        field(out, "path-file"),
        nix_eval_string(n, &format!("\"${{{src}/file.txt}}\""))
    );
    assert_eq!(
        field(out, "path-tree"),
        nix_eval_string(n, &format!("\"${{{src}}}\""))
    );
    assert_eq!(
        field(out, "path-filtered"),
        nix_eval_string(
            n,
            &format!(
                "builtins.filterSource (p: t: baseNameOf (toString p) != \"secret.txt\") {src}"
            )
        )
    );
    let bytes_dir = tempfile::tempdir().unwrap();
    let bytes = bytes_dir.path().join("bytes.bin");
    std::fs::write(&bytes, b"some bytes").unwrap();
    let b = bytes.to_str().unwrap();
    assert_eq!(
        field(out, "bytes-flat"),
        nix_eval_string(
            n,
            &format!("builtins.path {{ path = {b}; recursive = false; }}")
        )
    );
    assert_eq!(
        field(out, "bytes-recursive"),
        nix_eval_string(n, &format!("\"${{{b}}}\""))
    );
}

#[test]
fn store_operations_outside_the_preopens_are_refused() {
    let tree = SourceTree::new();
    let root = tempfile::tempdir().unwrap();
    let store = embedded_store(root.path());
    let src = tree.src.to_str().unwrap();
    let ran = run_guest_full(
        "store_outside",
        &[src],
        vec![tree.preopen()],
        limits(),
        Vec::new(),
        Some(store),
    );
    ran.assert_all_stopped();
    assert!(
        ran.stdout.contains("error kind refused for /etc\n"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains(&format!(
            "error kind refused for {src}/link-dir/secret.txt\n"
        )),
        "{}",
        ran.stdout
    );
    // Nothing from outside reached the store.
    let listing: Vec<String> = std::fs::read_dir(root.path().join("nix/store"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        listing
            .iter()
            .all(|n| !n.ends_with("-x") && !n.contains("evil")),
        "{listing:?}"
    );
}

#[test]
fn huge_host_call_argument_hits_the_cap() {
    let root = tempfile::tempdir().unwrap();
    let ran = run_guest_full(
        "huge_arg",
        &["4"],
        Vec::new(),
        Limits {
            max_host_arg: 1 << 20,
            ..limits()
        },
        Vec::new(),
        Some(embedded_store(root.path())),
    );
    match &ran.outcome {
        RunOutcome::Limit(LimitExceeded::HostArgument {
            operation,
            size,
            limit,
        }) => {
            assert_eq!(*operation, "add-text-to-store");
            assert!(*size > 4 << 20);
            assert_eq!(*limit, 1 << 20);
        }
        other => panic!("expected the host-argument cap, got {other:?}"),
    }
    assert_eq!(ran.outcome.exit_code(), exit_code::HOST_ARGUMENT);
    assert!(!ran.stdout.contains("ESCAPED"));
}

#[test]
fn store_calls_without_a_store_are_typed_errors() {
    let tree = SourceTree::new();
    let ran = run_guest_full(
        "store_ops",
        &[tree.src.to_str().unwrap()],
        vec![tree.preopen()],
        limits(),
        Vec::new(),
        None,
    );
    assert_eq!(ran.outcome, RunOutcome::Exited(1));
    assert!(ran.stdout.contains("error unsupported"), "{}", ran.stdout);
}

#[test]
fn hello_frontend_writes_the_drv_nix_instantiate_writes() {
    let work = tempfile::tempdir().unwrap();
    let pkg = work.path().canonicalize().unwrap().join("pkg");
    let expr = evalbox_tests::hello_package(&pkg);
    let root = tempfile::tempdir().unwrap();
    let p = pkg.to_str().unwrap();
    let ran = run_guest_full(
        "hello-frontend",
        &[p],
        vec![Preopen {
            host: pkg.clone(),
            guest: p.to_owned(),
        }],
        limits(),
        Vec::new(),
        Some(embedded_store(root.path())),
    );
    assert_eq!(ran.outcome, RunOutcome::Exited(0), "{}", ran.stderr);
    let drv = ran.stdout.lines().next().unwrap().to_owned();
    assert!(
        drv.starts_with("/nix/store/") && drv.ends_with("-hello-1.0.drv"),
        "{drv}"
    );
    let ours = std::fs::read_to_string(root.path().join(drv.trim_start_matches('/'))).unwrap();
    assert!(ours.contains("\"GREETING\",\"hello world\""), "{ours}");

    if !evalbox_tests::have_nix("hello_frontend_writes_the_drv_nix_instantiate_writes") {
        return;
    }
    let nix_root = tempfile::tempdir().unwrap();
    let expr_file = work.path().join("hello.nix");
    std::fs::write(&expr_file, expr).unwrap();
    let nix_drv = evalbox_tests::run_ok(nix_instantiate_on(nix_root.path()).arg(&expr_file));
    assert_eq!(drv, nix_drv.trim());
    let theirs =
        std::fs::read_to_string(nix_root.path().join(drv.trim_start_matches('/'))).unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn hello_frontend_reports_a_missing_description() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().canonicalize().unwrap();
    let d = dir.to_str().unwrap();
    let root = tempfile::tempdir().unwrap();
    let ran = run_guest_full(
        "hello-frontend",
        &[d],
        vec![Preopen {
            host: dir.clone(),
            guest: d.to_owned(),
        }],
        limits(),
        Vec::new(),
        Some(embedded_store(root.path())),
    );
    assert_eq!(ran.outcome, RunOutcome::Exited(1));
    assert!(
        ran.stderr.contains("no package description"),
        "{}",
        ran.stderr
    );
}
