//! `evalbox eval-jobs` (nix-eval-jobs in sandboxes): a generated jobset of more than 2 000
//! attributes (nested sets, sets not to enter, throws, failed asserts, a memory-hungry
//! attribute) walked by a pool of workers, job by job against Nix 2.8 (the same walk written
//! in Nix, each job's `drvPath` or its failure), the memory cap enforced, the errors, and a
//! run killed part-way keeping everything it printed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use evalbox_tests::{component_cache_dir, evalbox_bin, have_nix, run, run_ok};
use serde_json::Value as Json;

/// 42 groups of 50 attributes, most of them derivations; every 50 a throw, a failed
/// assert, a set without `recurseForDerivations` (not entered) and one with it.
const JOBSET: &str = r#"
{ groups ? 42, hog ? true }:
let
  mk = name: derivation {
    inherit name;
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "echo ${name} > $out" ];
  };
  member = i: j:
    if j == 7 then throw "group ${toString i} is broken"
    else if j == 11 then assert i < 0; mk "asserted-${toString i}"
    else if j == 13 then { hidden = mk "hidden-${toString i}"; }
    else if j == 17 then { recurseForDerivations = true; deep = mk "deep-${toString i}"; n = 5; }
    else mk "pkg-${toString i}-${toString j}";
  group = i: { recurseForDerivations = true; } // builtins.listToAttrs (builtins.genList
    (j: { name = "p${toString j}"; value = member i j; }) 50);
in
builtins.listToAttrs (builtins.genList (i: { name = "g${toString i}"; value = group i; }) groups)
// {
  top = mk "top";
  "with.dot" = mk "dotted";
  number = 42;
} // (if !hog then { } else {
  hog = derivation {
    name = "hog";
    system = "x86_64-linux";
    builder = "/bin/sh";
    big = toString (builtins.genList (x: x) 40000000);
  };
})
"#;

/// nix-eval-jobs' walk, in Nix: each job's attribute path with its `drvPath`, or `null`
/// when evaluating it fails (the jobset only fails in ways `tryEval` catches).
const WALK: &str = r#"
let
  jobset = import ./jobset.nix { };
  walk = path: v:
    let r = builtins.tryEval v; in
    if !r.success then [ { inherit path; drvPath = null; } ]
    else if builtins.isAttrs r.value && (r.value.type or null) == "derivation" then
      let d = builtins.tryEval r.value.drvPath; in
      [ { inherit path; drvPath = if d.success then d.value else null; } ]
    else if builtins.isAttrs r.value && (path == [ ] || (r.value.recurseForDerivations or false)) then
      builtins.concatLists (map (n: walk (path ++ [ n ]) r.value.${n})
        (builtins.filter (n: n != "recurseForDerivations" && n != "hog") (builtins.attrNames r.value)))
    else [ ];
in
walk [ ] jobset
"#;

fn eval_jobs(dir: &Path, args: &[&str]) -> Output {
    run(Command::new(evalbox_bin())
        .arg("eval-jobs")
        .args(args)
        .current_dir(dir)
        .env("EVALBOX_STORE", dir.join("store"))
        .env("EVALBOX_CACHE_DIR", component_cache_dir())
        .env_remove("NIX_REMOTE")
        .env_remove("NIX_PATH"))
}

/// The JSON lines of a run, by attribute path.
fn jobs_of(out: &Output) -> BTreeMap<Vec<String>, Json> {
    assert!(
        out.status.success(),
        "eval-jobs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let job: Json = serde_json::from_str(line).expect("a JSON line");
            let path = job["attrPath"]
                .as_array()
                .expect("attrPath")
                .iter()
                .map(|n| n.as_str().expect("a name").to_owned())
                .collect();
            (path, job)
        })
        .collect()
}

#[test]
fn jobs_are_nix_instantiates_job_by_job() {
    if !have_nix("jobs_are_nix_instantiates_job_by_job") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("jobset.nix"), JOBSET).expect("write");
    std::fs::write(dir.path().join("walk.nix"), WALK).expect("write");
    let ours = jobs_of(&eval_jobs(
        dir.path(),
        &[
            "--workers",
            "2",
            "--max-memory-size",
            "512",
            "--check-cache-status",
            "jobset.nix",
        ],
    ));
    let nix: Json = serde_json::from_str(&run_ok(
        Command::new("nix-instantiate")
            .args(["--eval", "--strict", "--json", "walk.nix"])
            .current_dir(dir.path())
            .env_remove("NIX_PATH"),
    ))
    .expect("Nix's JSON");
    let nix = nix.as_array().expect("a list");
    assert!(nix.len() > 2000, "the jobset has {} jobs", nix.len());
    // Every job Nix finds, with the same result; nothing else but the hog.
    for job in nix {
        let path: Vec<String> = job["path"]
            .as_array()
            .expect("path")
            .iter()
            .map(|n| n.as_str().expect("a name").to_owned())
            .collect();
        let ours = ours
            .get(&path)
            .unwrap_or_else(|| panic!("no line for {path:?}"));
        match job["drvPath"].as_str() {
            Some(drv) => {
                assert_eq!(ours["drvPath"].as_str(), Some(drv), "{path:?}: {ours}");
                assert_eq!(ours["cacheStatus"], "notBuilt", "{ours}");
                assert!(ours["outputs"]["out"].is_string(), "{ours}");
            }
            None => assert!(ours["error"].is_string(), "{path:?} should fail: {ours}"),
        }
    }
    assert_eq!(ours.len(), nix.len() + 1, "one more line: the hog's");
    let hog = &ours[&vec!["hog".to_owned()]];
    let error = hog["error"].as_str().expect("the hog fails");
    assert!(
        error.contains("memory limit exceeded")
            && error.contains("--max-memory-size")
            && error.contains("tried twice"),
        "{error}"
    );
    // Messages are the evaluator's, and attribute names that need quotes are quoted.
    let thrown = &ours[&vec!["g3".to_owned(), "p7".to_owned()]];
    assert!(
        thrown["error"]
            .as_str()
            .is_some_and(|e| e.contains("group 3 is broken")),
        "{thrown}"
    );
    assert_eq!(ours[&vec!["with.dot".to_owned()]]["attr"], "\"with.dot\"");
    assert_eq!(
        ours[&vec!["g0".to_owned(), "p17".to_owned(), "deep".to_owned()]]["attr"],
        "g0.p17.deep"
    );
}

#[test]
fn one_worker_or_three_the_same_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("jobset.nix"), JOBSET).expect("write");
    let args = |workers: &'static str| {
        vec![
            "--workers",
            workers,
            "--sort",
            "--arg",
            "groups",
            "4",
            "--arg",
            "hog",
            "false",
            "--gc-roots-dir",
            "roots",
            "jobset.nix",
        ]
    };
    let one = eval_jobs(dir.path(), &args("1"));
    let three = eval_jobs(dir.path(), &args("3"));
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let (one_lines, three_lines) = (
        String::from_utf8_lossy(&one.stdout).into_owned(),
        String::from_utf8_lossy(&three.stdout).into_owned(),
    );
    assert_eq!(one_lines.lines().count(), three_lines.lines().count());
    for (a, b) in one_lines.lines().zip(three_lines.lines()) {
        assert_eq!(a, b);
    }
    // `--sort`: in attribute order; every job's `.drv` has its root.
    let jobs = jobs_of(&one);
    let drvs: Vec<&str> = jobs
        .values()
        .filter_map(|j| j["drvPath"].as_str())
        .collect();
    assert!(drvs.len() > 150, "{}", drvs.len());
    for drv in drvs {
        let root = dir
            .path()
            .join("roots")
            .join(drv.rsplit('/').next().expect("name"));
        assert!(
            std::fs::read_link(&root).is_ok(),
            "no root {}",
            root.display()
        );
    }
}

#[test]
fn failures_of_the_whole_run_are_clear() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fails = |args: &[&str], message: &str| {
        let out = eval_jobs(dir.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(message), "{args:?}: {err}");
    };
    fails(&["--expr", "throw \"no jobs today\""], "no jobs today");
    fails(&["--expr", "{ }", "--workers", "0"], "--workers 0");
    fails(
        &["--expr", "{ }", "--max-memory-size", "64"],
        "at least 320 MiB",
    );
    fails(&["--expr", "{ }", "--flake"], "flakes are not supported");
    fails(&["-"], "standard input");
    // A set with nothing to build is no error: no lines.
    let out = eval_jobs(dir.path(), &["--expr", "{ a = 1; b = { c = 2; }; }"]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}

/// Killing a run part-way loses nothing it printed: every line that reached standard output
/// is whole, each printed job's `.drv` is valid in the store, and the store verifies.
#[test]
fn a_killed_run_keeps_what_it_printed() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("jobset.nix"), JOBSET).expect("write");
    let store = dir.path().join("store");
    // 20 000 jobs: far more than are printed before the kill.
    let mut child = Command::new(evalbox_bin())
        .args(["eval-jobs", "--workers", "2", "--arg", "groups", "400"])
        .args(["--arg", "hog", "false", "jobset.nix"])
        .current_dir(dir.path())
        .env("EVALBOX_STORE", &store)
        .env("EVALBOX_CACHE_DIR", component_cache_dir())
        .env_remove("NIX_REMOTE")
        .env_remove("NIX_PATH")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start eval-jobs");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut text = String::new();
    for _ in 0..200 {
        assert!(out.read_line(&mut text).expect("read a line") > 0, "{text}");
    }
    child.kill().expect("kill eval-jobs");
    let status = child.wait().expect("wait");
    out.read_to_string(&mut text).expect("read the rest");
    assert!(!status.success(), "the run ended before it was killed");
    let lines: Vec<&str> = text.lines().collect();
    assert!(text.ends_with('\n'), "a line was cut: {:?}", lines.last());
    assert!(lines.len() < 20_000, "{} lines", lines.len());
    let mut drvs = Vec::new();
    for line in &lines {
        let job: Json = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if let Some(drv) = job["drvPath"].as_str() {
            drvs.push(drv.to_owned());
        }
    }
    assert!(drvs.len() >= 150, "{} jobs printed", drvs.len());
    let evalbox = |args: &[&str]| {
        run_ok(
            Command::new(evalbox_bin())
                .args(args)
                .env("EVALBOX_STORE", &store)
                .env_remove("NIX_REMOTE"),
        )
    };
    let mut info = vec!["store", "path-info"];
    info.extend(drvs.iter().map(String::as_str));
    let valid = evalbox(&info);
    for drv in &drvs {
        assert!(valid.contains(drv.as_str()), "{drv} is not valid");
    }
    evalbox(&["store", "verify", "--check-contents"]);
}
