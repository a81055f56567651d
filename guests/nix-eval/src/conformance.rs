//! The conformance runner for Nix's language test suite (`shared/nix-lang-tests`, upstream
//! `tests/functional/lang`), shared by the native test (`tests/conformance.rs`, the `nix-eval`
//! binary) and the sandbox test (`tests/all/nix_lang.rs` in the workspace, `evalbox eval` running
//! the wasm guest). It follows upstream's `lang.sh` conventions (see the suite's README): the
//! command runs from a directory holding the suite as `lang/`, which expected output spells
//! `/pwd`; `NIX_PATH` is `lang/dir3:lang/dir4`; `HOME` and `TEST_VAR` are set; `.flags` replace
//! the default flags. How a case is run is the caller's [`Evaluator`]; this module lists the
//! cases, builds their arguments, judges the results and prints the table and totals.
//!
//! Not built for wasm: it spawns processes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `NIX_PATH` in upstream's test driver.
pub const NIX_PATH: &str = "lang/dir3:lang/dir4";

/// The environment upstream's test driver sets, as `--env` flags (evalbox's and `nix-eval`'s).
pub const ENV_FLAGS: [&str; 4] = ["--env", "HOME=/fake-home", "--env", "TEST_VAR=foo"];

/// The four categories of the suite.
pub const CATEGORIES: [&str; 4] = ["eval-okay", "eval-fail", "parse-okay", "parse-fail"];

/// Cases skipped on purpose, with the reason.
pub const SKIPS: &[(&str, &str)] = &[
    ("eval-okay-readDir", FLAT),
    ("eval-okay-readFileType", FLAT),
    ("eval-okay-readDir-symlinked-directory", FLAT),
    ("eval-okay-symlink-resolution", FLAT),
    ("eval-okay-pathexists", FLAT),
    ("eval-okay-parse-flake-ref", FLAKES),
    ("eval-okay-flake-ref-to-string", FLAKES),
];

/// `parseFlakeRef`/`flakeRefToString` belong to the flakes feature (flake references name
/// fetchers), which a sandboxed evaluator without network does not provide.
const FLAKES: &str = "flake-reference builtins are part of flakes/fetchers, not the language";

/// The copy of the suite in `shared/` turned upstream's symlinks (`readDir/ldir`,
/// `symlink-resolution/...`) into regular files holding the link target, so these cases
/// test data that no longer exists.
const FLAT: &str = "suite copy has symlinks flattened into regular files";

/// The suite: `$NIX_LANG_TESTS`, else `default` if it exists.
pub fn suite_dir(default: &Path) -> Option<PathBuf> {
    if let Ok(d) = std::env::var("NIX_LANG_TESTS") {
        return Some(PathBuf::from(d));
    }
    default.exists().then(|| default.to_path_buf())
}

/// What one evaluator run produced.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Exit code; `None` if killed (time-out or signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// One case to run: the nix-instantiate arguments, relative to the work directory.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `--eval` or `--parse` mode.
    pub parse: bool,
    /// nix-instantiate arguments without `--eval`/`--parse` (the runner adds the mode).
    pub args: Vec<String>,
    /// Standard input.
    pub stdin: Option<Vec<u8>>,
}

/// How to run a case: the environment of upstream's test driver (`NIX_PATH`, `HOME`,
/// `TEST_VAR`) is the evaluator's to supply.
pub trait Evaluator {
    /// Runs `inv` in the work directory `cwd`.
    fn run(&self, cwd: &Path, inv: &Invocation) -> Run;
}

/// Runs `cmd` with `stdin`, capturing output, killing it after `timeout`.
pub fn run_command(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Run {
                code: None,
                stdout: String::new(),
                stderr: format!("cannot spawn {cmd:?}: {e}"),
            };
        }
    };
    if let (Some(input), Some(mut si)) = (stdin, child.stdin.take()) {
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = si.write_all(&input);
        });
    }
    let reader = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut s);
            }
            s
        })
    };
    let out = reader(child.stdout.take().map(|r| Box::new(r) as _));
    let err = reader(child.stderr.take().map(|r| Box::new(r) as _));
    let start = Instant::now();
    let code = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st.code(),
            Ok(None) if start.elapsed() <= timeout => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    Run {
        code,
        stdout: String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned(),
    }
}

/// Totals of a suite run.
#[derive(Debug, Default)]
pub struct Report {
    /// The per-case table.
    pub table: String,
    /// Passes per category.
    pub pass: BTreeMap<&'static str, usize>,
    /// Cases run per category.
    pub total: BTreeMap<&'static str, usize>,
    /// Cases skipped per category.
    pub skipped: BTreeMap<&'static str, usize>,
    /// eval-fail cases whose stderr equals `.err.exp`.
    pub messages: usize,
    /// eval-okay cases with an `.err.exp` whose stderr equals it, and how many have one.
    pub okay_stderr: (usize, usize),
    /// parse-okay cases whose printed AST equals `.exp`.
    pub asts: usize,
    /// Whether a filter restricted the run.
    pub filtered: bool,
}

impl Report {
    /// The totals as text.
    pub fn summary(&self, floors: &[(&str, usize)]) -> String {
        let mut s = String::new();
        for cat in CATEGORIES {
            let floor = floors.iter().find(|f| f.0 == cat).map_or(0, |f| f.1);
            s.push_str(&format!(
                "{cat:<12} {:>4} / {:<4} passed ({} skipped; floor {floor})\n",
                self.pass.get(cat).copied().unwrap_or(0),
                self.total.get(cat).copied().unwrap_or(0),
                self.skipped.get(cat).copied().unwrap_or(0),
            ));
        }
        s.push_str(&format!(
            "eval-fail messages matching .err.exp: {}\n",
            self.messages
        ));
        s.push_str(&format!(
            "eval-okay stderr matching .err.exp: {} / {}\n",
            self.okay_stderr.0, self.okay_stderr.1
        ));
        s.push_str(&format!(
            "parse-okay printed ASTs matching .exp: {}\n",
            self.asts
        ));
        s
    }

    /// Prints the table and the totals, then fails (naming `what` ran the suite) if a floor
    /// was not reached.
    pub fn assert_floors(&self, floors: &[(&str, usize)], what: &str) {
        println!("{}", self.table);
        println!("{}", self.summary(floors));
        let below = self.below(floors);
        assert!(
            below.is_empty(),
            "conformance {what} dropped below the floor: {below:?}"
        );
    }

    /// The floors not reached (empty for a filtered run). `floors` may include
    /// `("messages", n)` for the eval-fail message count.
    pub fn below(&self, floors: &[(&str, usize)]) -> Vec<String> {
        if self.filtered {
            return Vec::new();
        }
        floors
            .iter()
            .filter_map(|&(cat, floor)| {
                let got = if cat == "messages" {
                    self.messages
                } else {
                    self.pass.get(cat).copied().unwrap_or(0)
                };
                (got < floor).then(|| format!("{cat}: {got} < floor {floor}"))
            })
            .collect()
    }
}

/// Runs every case of the suite in `dir` through `evaluator`; `NIX_LANG_FILTER=substring`
/// restricts the run.
pub fn run_suite(dir: &Path, evaluator: &dyn Evaluator) -> Report {
    let dir = dir.canonicalize().expect("the suite directory");
    // Upstream runs from the parent of `lang/`; expected output writes that folder `/pwd`.
    let work = std::env::temp_dir().join(format!(
        "nix-lang-conformance-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    let work = work.canonicalize().expect("work dir");
    std::os::unix::fs::symlink(&dir, work.join("lang")).expect("symlink lang");
    let work_s = work.to_string_lossy().into_owned();
    let fix = |s: &str| s.replace(&work_s, "/pwd");
    let filter = std::env::var("NIX_LANG_FILTER").ok();

    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read suite")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".nix") && (n.starts_with("eval-") || n.starts_with("parse-")))
        .map(|n| n.trim_end_matches(".nix").to_owned())
        .collect();
    names.sort();

    let mut r = Report {
        filtered: filter.is_some(),
        ..Report::default()
    };
    for name in &names {
        if let Some(f) = &filter
            && !name.contains(f.as_str())
        {
            continue;
        }
        let Some(cat) = CATEGORIES.into_iter().find(|c| name.starts_with(c)) else {
            continue;
        };
        let p = |ext: &str| dir.join(format!("{name}{ext}"));
        if p(".exp-disabled").exists() {
            *r.skipped.entry(cat).or_default() += 1;
            r.table
                .push_str(&format!("{name:<60} SKIP (upstream .exp-disabled)\n"));
            continue;
        }
        if let Some((_, why)) = SKIPS.iter().find(|s| s.0 == name) {
            *r.skipped.entry(cat).or_default() += 1;
            r.table.push_str(&format!("{name:<60} SKIP ({why})\n"));
            continue;
        }
        *r.total.entry(cat).or_default() += 1;
        let flags: Option<Vec<String>> = std::fs::read_to_string(p(".flags"))
            .ok()
            .map(|s| s.split_whitespace().map(str::to_owned).collect());
        let file = format!("lang/{name}.nix");
        let (ok, note) = match cat {
            "eval-okay" => {
                let xml = p(".exp.xml").exists();
                let mut args = flags.clone().unwrap_or_default();
                if xml {
                    args.extend(["--xml", "--no-location", "--strict"].map(String::from));
                } else {
                    args.push("--strict".into());
                }
                args.push(file);
                let run = evaluator.run(
                    &work,
                    &Invocation {
                        parse: false,
                        args,
                        stdin: None,
                    },
                );
                let exp = std::fs::read_to_string(if xml { p(".exp.xml") } else { p(".exp") })
                    .unwrap_or_default();
                if let Ok(err_exp) = std::fs::read_to_string(p(".err.exp")) {
                    r.okay_stderr.1 += 1;
                    if fix(&run.stderr) == err_exp {
                        r.okay_stderr.0 += 1;
                    }
                }
                if run.code != Some(0) {
                    let first = fix(run.stderr.lines().next().unwrap_or(""));
                    (false, format!("exit {:?}: {first}", run.code))
                } else if fix(&run.stdout) != exp {
                    let got: String = fix(run.stdout.trim_end()).chars().take(100).collect();
                    (false, format!("output differs: {got}"))
                } else {
                    (true, String::new())
                }
            }
            "eval-fail" => {
                let mut args = flags
                    .clone()
                    .unwrap_or_else(|| ["--strict", "--show-trace"].map(String::from).to_vec());
                if flags.is_some() && !args.iter().any(|a| a == "--eval") {
                    args.push("--strict".into());
                }
                args.retain(|a| a != "--eval");
                args.push(file);
                let run = evaluator.run(
                    &work,
                    &Invocation {
                        parse: false,
                        args,
                        stdin: None,
                    },
                );
                let exp = std::fs::read_to_string(p(".err.exp")).unwrap_or_default();
                let same = fix(&run.stderr).trim_end() == exp.trim_end();
                if same {
                    r.messages += 1;
                }
                if run.code == Some(1) {
                    (true, if same { "message matches" } else { "" }.to_owned())
                } else {
                    let first = fix(run.stderr.lines().next().unwrap_or(""));
                    (false, format!("exit {:?}: {first}", run.code))
                }
            }
            _ => {
                let input = std::fs::read(p(".nix")).unwrap_or_default();
                let run = evaluator.run(
                    &work,
                    &Invocation {
                        parse: true,
                        args: vec!["-".into()],
                        stdin: Some(input),
                    },
                );
                let want_ok = cat == "parse-okay";
                let ok = run.code == Some(if want_ok { 0 } else { 1 });
                if want_ok
                    && ok
                    && std::fs::read_to_string(p(".exp")).is_ok_and(|e| e == fix(&run.stdout))
                {
                    r.asts += 1;
                }
                let note = if ok {
                    String::new()
                } else {
                    let first = run.stderr.lines().next().unwrap_or("");
                    format!("exit {:?}: {first}", run.code)
                };
                (ok, note)
            }
        };
        if ok {
            *r.pass.entry(cat).or_default() += 1;
        }
        r.table.push_str(&format!(
            "{name:<60} {} {note}\n",
            if ok { "PASS" } else { "FAIL" }
        ));
    }
    let _ = std::fs::remove_dir_all(&work);
    r
}
