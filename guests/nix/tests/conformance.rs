//! Conformance runner: every case of Nix's language test suite (`shared/nix-lang-tests`,
//! upstream `tests/functional/lang`) run through the native `nix-eval` binary, following
//! upstream's `lang.sh` conventions (see the suite's README). Prints a per-case table and
//! totals, and fails when a category's pass count drops below the floor in `FLOORS`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Minimum passes per category; raise as the evaluator improves.
const FLOORS: &[(&str, usize)] = &[
    ("eval-okay", 141),
    ("eval-fail", 283),
    ("parse-okay", 13),
    ("parse-fail", 41),
];

/// Cases skipped on purpose, with the reason.
const SKIPS: &[(&str, &str)] = &[
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

fn suite_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("NIX_LANG_TESTS") {
        return Some(PathBuf::from(d));
    }
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/nix-lang-tests");
    d.exists().then_some(d)
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(bin: &str, cwd: &Path, args: &[String], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(bin);
    cmd.current_dir(cwd)
        .args([
            "--nix-path",
            "lang/dir3:lang/dir4",
            "--env",
            "HOME=/fake-home",
            "--env",
            "TEST_VAR=foo",
        ])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn nix-eval");
    if let Some(input) = stdin {
        let mut si = child.stdin.take().expect("stdin");
        let _ = si.write_all(input);
    }
    let out_handle = {
        let mut so = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = std::io::Read::read_to_end(&mut so, &mut s);
            s
        })
    };
    let err_handle = {
        let mut se = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = std::io::Read::read_to_end(&mut se, &mut s);
            s
        })
    };
    let start = Instant::now();
    let code = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st.code();
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Run {
        code,
        stdout: String::from_utf8_lossy(&out_handle.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&err_handle.join().unwrap_or_default()).into_owned(),
    }
}

#[test]
fn nix_lang_suite() {
    let Some(dir) = suite_dir() else {
        eprintln!("SKIPPED: nix-lang-tests not found (set NIX_LANG_TESTS)");
        return;
    };
    let dir = dir.canonicalize().expect("suite dir");
    let bin = env!("CARGO_BIN_EXE_nix-eval");
    // Upstream runs from the parent of `lang/`; expected output writes that folder `/pwd`.
    let work = std::env::temp_dir().join(format!("nix-lang-conformance-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    std::os::unix::fs::symlink(&dir, work.join("lang")).expect("symlink lang");
    let work_s = work.to_string_lossy().into_owned();
    let filter = std::env::var("NIX_LANG_FILTER").ok();

    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read suite")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".nix") && (n.starts_with("eval-") || n.starts_with("parse-")))
        .map(|n| n.trim_end_matches(".nix").to_owned())
        .collect();
    names.sort();

    let mut pass: BTreeMap<&str, usize> = BTreeMap::new();
    let mut total: BTreeMap<&str, usize> = BTreeMap::new();
    let mut skipped: BTreeMap<&str, usize> = BTreeMap::new();
    let mut msg_match = 0usize;
    let (mut stderr_match, mut stderr_total) = (0usize, 0usize);
    let mut ast_match = 0usize;
    let mut table = String::new();
    for name in &names {
        if let Some(f) = &filter
            && !name.contains(f.as_str())
        {
            continue;
        }
        let cat: &str = ["eval-okay", "eval-fail", "parse-okay", "parse-fail"]
            .into_iter()
            .find(|c| name.starts_with(c))
            .expect("category");
        let p = |ext: &str| dir.join(format!("{name}{ext}"));
        if p(".exp-disabled").exists() {
            *skipped.entry(cat).or_default() += 1;
            table.push_str(&format!("{name:<60} SKIP (upstream .exp-disabled)\n"));
            continue;
        }
        if let Some((_, why)) = SKIPS.iter().find(|s| s.0 == name) {
            *skipped.entry(cat).or_default() += 1;
            table.push_str(&format!("{name:<60} SKIP ({why})\n"));
            continue;
        }
        *total.entry(cat).or_default() += 1;
        let flags: Option<Vec<String>> = std::fs::read_to_string(p(".flags"))
            .ok()
            .map(|s| s.split_whitespace().map(str::to_owned).collect());
        let file = format!("lang/{name}.nix");
        let fix = |s: &str| s.replace(&work_s, "/pwd");
        let (ok, note) = match cat {
            "eval-okay" => {
                let xml = p(".exp.xml").exists();
                let mut args = flags.clone().unwrap_or_default();
                if xml {
                    args.extend(["--eval", "--xml", "--no-location", "--strict"].map(String::from));
                } else {
                    args.extend(["--eval", "--strict"].map(String::from));
                }
                args.push(file);
                let r = run(bin, &work, &args, None);
                let exp = std::fs::read_to_string(if xml { p(".exp.xml") } else { p(".exp") })
                    .unwrap_or_default();
                if let Ok(err_exp) = std::fs::read_to_string(p(".err.exp")) {
                    stderr_total += 1;
                    if fix(&r.stderr) == err_exp {
                        stderr_match += 1;
                    }
                }
                if r.code != Some(0) {
                    (
                        false,
                        format!(
                            "exit {:?}: {}",
                            r.code,
                            fix(r.stderr.lines().next().unwrap_or(""))
                        ),
                    )
                } else if fix(&r.stdout) != exp {
                    (
                        false,
                        format!(
                            "output differs: {}",
                            fix(r.stdout.trim_end())
                                .chars()
                                .take(100)
                                .collect::<String>()
                        ),
                    )
                } else {
                    (true, String::new())
                }
            }
            "eval-fail" => {
                let mut args = flags.clone().unwrap_or_else(|| {
                    ["--eval", "--strict", "--show-trace"]
                        .map(String::from)
                        .to_vec()
                });
                if flags.is_some() && !args.iter().any(|a| a == "--eval") {
                    args.extend(["--eval", "--strict"].map(String::from));
                }
                args.push(file);
                let r = run(bin, &work, &args, None);
                let exp = std::fs::read_to_string(p(".err.exp")).unwrap_or_default();
                let same = fix(&r.stderr).trim_end() == exp.trim_end();
                if same {
                    msg_match += 1;
                }
                if r.code == Some(1) {
                    (
                        true,
                        if same {
                            "message matches".into()
                        } else {
                            String::new()
                        },
                    )
                } else {
                    (false, format!("exit {:?}", r.code))
                }
            }
            _ => {
                let input = std::fs::read(p(".nix")).unwrap_or_default();
                let r = run(bin, &work, &["--parse".into(), "-".into()], Some(&input));
                let want_ok = cat == "parse-okay";
                let ok = if want_ok {
                    r.code == Some(0)
                } else {
                    r.code == Some(1)
                };
                if want_ok
                    && ok
                    && std::fs::read_to_string(p(".exp")).is_ok_and(|e| e == fix(&r.stdout))
                {
                    ast_match += 1;
                }
                (
                    ok,
                    if ok {
                        String::new()
                    } else {
                        format!(
                            "exit {:?}: {}",
                            r.code,
                            r.stderr.lines().next().unwrap_or("")
                        )
                    },
                )
            }
        };
        if ok {
            *pass.entry(cat).or_default() += 1;
        }
        table.push_str(&format!(
            "{name:<60} {} {note}\n",
            if ok { "PASS" } else { "FAIL" }
        ));
    }
    let _ = std::fs::remove_dir_all(&work);
    println!("{table}");
    let mut below = Vec::new();
    for (cat, floor) in FLOORS {
        let p = pass.get(cat).copied().unwrap_or(0);
        let t = total.get(cat).copied().unwrap_or(0);
        let s = skipped.get(cat).copied().unwrap_or(0);
        println!("{cat:<12} {p:>4} / {t:<4} passed ({s} skipped; floor {floor})");
        if filter.is_none() && p < *floor {
            below.push(format!("{cat}: {p} < floor {floor}"));
        }
    }
    println!("eval-fail messages matching .err.exp: {msg_match}");
    println!("eval-okay stderr matching .err.exp: {stderr_match} / {stderr_total}");
    println!("parse-okay printed ASTs matching .exp: {ast_match}");
    assert!(
        below.is_empty(),
        "conformance dropped below the floor: {below:?}"
    );
}
