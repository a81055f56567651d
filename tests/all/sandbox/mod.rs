//! sandbox: the evalbox runtime against guests that try to escape it (escape.rs), the
//! determinism of virtualised WASI (determinism.rs), the CLI's exit codes and the
//! capability audit (cli.rs). Guests come from guests/test-programs, built on demand.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use evalbox::capabilities::Preopen;
use evalbox::runtime::{Limits, OutputTarget, engine::EngineOptions};
use evalbox::sandbox::{RunConfig, RunOutcome, Sandbox, SandboxOptions};

mod cli;
mod determinism;
mod escape;
mod nix;
mod store;

/// One sandbox per test process (the engine and its pool are meant to be shared).
fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        Sandbox::new(SandboxOptions {
            engine: EngineOptions {
                pooling: true,
                max_concurrent_guests: 32,
                ..EngineOptions::default()
            },
            cache: None,
            progress: false,
            exit_after_run: false,
            strict: false,
        })
        .expect("sandbox")
    })
}

/// What a guest run produced.
#[derive(Debug)]
struct Ran {
    outcome: RunOutcome,
    stdout: String,
    stderr: String,
}

impl Ran {
    /// Asserts the guest reported that every attempt was stopped (see test-programs' lib).
    fn assert_all_stopped(&self) {
        assert!(
            !self.stdout.contains("ESCAPED"),
            "the guest escaped:\n{}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert_eq!(
            self.outcome,
            RunOutcome::Exited(0),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert!(
            self.stdout.contains("all attempts stopped"),
            "{}",
            self.stdout
        );
    }
}

/// A source tree for escape tests: `root/src` (preopened) holds `file.txt`, `sub/inner.txt`
/// and symlinks pointing out of it; `root/secret.txt` lies outside.
struct SourceTree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    src: PathBuf,
}

impl SourceTree {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical tempdir");
        let src = root.join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("file.txt"), "original").unwrap();
        std::fs::write(src.join("sub/inner.txt"), "inner").unwrap();
        std::fs::write(root.join("secret.txt"), "TOP SECRET").unwrap();
        std::os::unix::fs::symlink("../secret.txt", src.join("link-out")).unwrap();
        std::os::unix::fs::symlink(root.join("secret.txt"), src.join("link-abs")).unwrap();
        std::os::unix::fs::symlink(&root, src.join("link-dir")).unwrap();
        SourceTree {
            _dir: dir,
            root,
            src,
        }
    }

    fn preopen(&self) -> Preopen {
        Preopen {
            host: self.src.clone(),
            guest: self.src.to_str().unwrap().to_owned(),
        }
    }

    /// Every file under root with its contents (symlinks as `-> target`), to prove nothing
    /// changed.
    fn snapshot(&self) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for path in entries {
                let meta = path.symlink_metadata().unwrap();
                let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
                if meta.file_type().is_symlink() {
                    let target = std::fs::read_link(&path).unwrap();
                    out.push((path, format!("-> {}", target.display())));
                } else if meta.is_dir() {
                    out.push((path.clone(), format!("dir {mode:o}")));
                    walk(&path, out);
                } else {
                    let contents = std::fs::read_to_string(&path).unwrap();
                    let mtime = meta.modified().unwrap();
                    out.push((path, format!("{mode:o} {mtime:?} {contents}")));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

/// Runs the test program `bin` with `args` (argv[1..]), the given preopens and limits,
/// capturing its output.
fn run_guest(bin: &str, args: &[&str], preopens: Vec<Preopen>, limits: Limits) -> Ran {
    run_guest_env(bin, args, preopens, limits, Vec::new())
}

fn run_guest_env(
    bin: &str,
    args: &[&str],
    preopens: Vec<Preopen>,
    limits: Limits,
    env: Vec<(String, String)>,
) -> Ran {
    run_guest_full(bin, args, preopens, limits, env, None)
}

/// An embedded store rooted at `root` (`local?root=ROOT`).
fn embedded_store(root: &Path) -> Arc<dyn evalbox_store::NixStore> {
    let uri = evalbox_store::StoreUri::parse(&format!("local?root={}", root.display()))
        .expect("store URI");
    evalbox_store::open_local(&uri).expect("open the embedded store")
}

fn run_guest_full(
    bin: &str,
    args: &[&str],
    preopens: Vec<Preopen>,
    limits: Limits,
    env: Vec<(String, String)>,
    store: Option<Arc<dyn evalbox_store::NixStore>>,
) -> Ran {
    let config = RunConfig {
        args: std::iter::once(bin)
            .chain(args.iter().copied())
            .map(str::to_owned)
            .collect(),
        env,
        preopens,
        limits,
        store,
        ..RunConfig::default()
    };
    run_config(bin, config, |_| {})
}

/// Runs the guest `bin` under `config`, capturing its output. `finish` completes the
/// configuration once the output goes to the capture (for what depends on where it goes, such
/// as a nested evaluator passing its diagnostics on).
fn run_config(bin: &str, mut config: RunConfig, finish: impl FnOnce(&mut RunConfig)) -> Ran {
    let wasm = evalbox_tests::guest_wasm(bin);
    let guest = sandbox()
        .prepare_file(&wasm)
        .unwrap_or_else(|e| panic!("preparing {bin}: {e}"));
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    config.stdout = OutputTarget::Buffer(stdout.clone());
    config.stderr = OutputTarget::Buffer(stderr.clone());
    finish(&mut config);
    let outcome = sandbox()
        .run_blocking(&guest, &config)
        .unwrap_or_else(|e| panic!("running {bin}: {e}"));
    let text = |b: &Arc<Mutex<Vec<u8>>>| String::from_utf8_lossy(&b.lock().unwrap()).into_owned();
    Ran {
        outcome,
        stdout: text(&stdout),
        stderr: text(&stderr),
    }
}

/// The rest of the line of a guest's stdout that starts with `key` and a space.
fn field<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no `{key}` line in:\n{stdout}"))
}

/// Limits with a deadline, so a broken sandbox fails the test instead of hanging it.
fn limits() -> Limits {
    Limits {
        timeout: Some(Duration::from_secs(60)),
        ..Limits::default()
    }
}
