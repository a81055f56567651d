//! `evalbox:guest/nix` from inside the sandbox, through the Rust SDK (guest `nix_eval`): values
//! and their string context, a derivation's `.drv` as Nix 2.8 computes it, arguments, one
//! evaluation per request, errors as values, confinement to the caller's sources, and a host
//! without an evaluator.

use std::sync::Arc;

use evalbox::nix_eval::NestedNix;
use evalbox::sandbox::{RunConfig, RunOutcome};
use evalbox_tests::nix_instantiate_on;

use super::{Ran, SourceTree, embedded_store, field, limits, run_config, sandbox};

const PKGS: &str = r#"builtins.trace "evaluating pkgs.nix" {
  greeting = derivation {
    name = "greeting"; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "echo hi > $out" ];
  };
}
"#;

/// Runs the `nix_eval` guest on `tree`, with the nested evaluator when `nested`.
fn run(tree: &SourceTree, store_root: &std::path::Path, nested: bool) -> Ran {
    std::fs::write(tree.src.join("pkgs.nix"), PKGS).unwrap();
    let config = RunConfig {
        args: vec!["nix_eval".into(), tree.src.to_str().unwrap().into()],
        preopens: vec![tree.preopen()],
        limits: limits(),
        store: Some(embedded_store(store_root)),
        ..RunConfig::default()
    };
    run_config("nix_eval", config, |config| {
        if nested {
            config.nix = Some(Arc::new(NestedNix::new(sandbox(), config)));
        }
    })
}

#[test]
fn a_guest_evaluates_nix_through_the_host() {
    let tree = SourceTree::new();
    let root = tempfile::tempdir().unwrap();
    let Ran {
        outcome,
        stdout: out,
        stderr: err,
    } = run(&tree, root.path(), true);
    assert_eq!(outcome, RunOutcome::Exited(0), "{out}\n{err}");
    assert_eq!(field(&out, "two"), "2 []");
    assert_eq!(field(&out, "negative"), "-2 []");

    // A derivation: written to the store, described by its `.drv` and outputs, as Nix has it.
    let greeting = field(&out, "greeting");
    let json: serde_json::Value =
        serde_json::from_str(greeting.strip_suffix(" []").expect("no context")).unwrap();
    assert_eq!(json["type"], "derivation");
    assert_eq!(json["name"], "greeting");
    assert_eq!(json["system"], "x86_64-linux");
    let drv = json["drvPath"].as_str().unwrap();
    let out_path = json["outputs"]["out"].as_str().unwrap();
    assert!(
        root.path().join(drv.trim_start_matches('/')).exists(),
        "{drv} was written"
    );
    if evalbox_tests::have_nix("a_guest_evaluates_nix_through_the_host") {
        let nix_root = tempfile::tempdir().unwrap();
        let pkgs = tree.src.join("pkgs.nix");
        let nix = evalbox_tests::run_ok(
            nix_instantiate_on(nix_root.path())
                .args(["--eval", "--strict", "--json", "-E"])
                .arg(format!(
                    "with (import {}).greeting; {{ inherit drvPath; out = outPath; }}",
                    pkgs.display()
                )),
        );
        let nix: serde_json::Value = serde_json::from_str(&nix).unwrap();
        assert_eq!(nix["drvPath"], drv);
        assert_eq!(nix["out"], out_path);
    }

    // The same request again is answered from the run's cache. `pkgs.nix` was evaluated
    // three times: for `greeting`, for the string (another request) and for `missing` (whose
    // trace comes before its error, and still reaches the caller).
    assert_eq!(field(&out, "again"), greeting);
    assert_eq!(
        err.matches("trace: evaluating pkgs.nix").count(),
        3,
        "{err}"
    );

    // A string keeps its context: one output of a derivation.
    assert_eq!(
        field(&out, "string"),
        format!("\"{out_path}/bin\" [Output {{ drv_path: \"{drv}\", output: \"out\" }}]")
    );
    assert_eq!(field(&out, "called"), "6 []");
    assert_eq!(field(&out, "argstr"), "\"hi!\" []");

    // Failures are values, with Nix's words.
    assert_eq!(field(&out, "throw"), "error eval: boom");
    assert_eq!(
        field(&out, "missing"),
        "error eval: attribute 'nothing' in selection path 'nothing' not found"
    );
    assert_eq!(
        field(&out, "function"),
        "error eval: cannot convert a function to JSON"
    );
    assert!(
        field(&out, "relative").starts_with("error invalid-argument: `pkgs.nix`: a relative path"),
        "{out}"
    );
    // The nested evaluation sees the caller's sources, and nothing else.
    assert!(field(&out, "outside").starts_with("error eval: "), "{out}");
}

#[test]
fn a_host_without_an_evaluator_says_so() {
    let tree = SourceTree::new();
    let root = tempfile::tempdir().unwrap();
    let Ran {
        outcome,
        stdout: out,
        stderr: err,
    } = run(&tree, root.path(), false);
    assert_eq!(outcome, RunOutcome::Exited(0), "{out}\n{err}");
    assert_eq!(
        field(&out, "two"),
        "error unsupported: this host cannot evaluate Nix for its guests"
    );
}
