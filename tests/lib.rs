//! Test support shared by the integration tests in `all/`: locating the `evalbox` binary,
//! deciding whether real Nix is available, and running commands with readable failures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `evalbox` binary built next to this test binary (`cargo test --workspace` builds it).
pub fn evalbox_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/all-<hash> → target/<profile>/evalbox
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let bin = dir.join("evalbox");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (or `cargo build -p evalbox` first)",
        bin.display()
    );
    bin
}

/// Whether tests that need real Nix must run (`EVALBOX_REQUIRE_NIX=1`), in which case a
/// missing Nix is a failure rather than a skip.
pub fn nix_required() -> bool {
    std::env::var("EVALBOX_REQUIRE_NIX").is_ok_and(|v| v == "1")
}

/// True when the real Nix CLI (`nix-store`) is on PATH. When it is not: panics if
/// `EVALBOX_REQUIRE_NIX=1`, else prints a skip note and returns false.
pub fn have_nix(test: &str) -> bool {
    have_tool(test, "nix-store", "real Nix (nix-store)")
}

/// True when bubblewrap (`bwrap`), which the embedded store's builder needs, is on PATH; same
/// skip/fail rule as [`have_nix`] (CI installs both).
pub fn have_bwrap(test: &str) -> bool {
    have_tool(test, "bwrap", "bubblewrap (bwrap)")
}

/// Whether `program --version` runs; if not, a failure under `EVALBOX_REQUIRE_NIX=1`, else a
/// skip note naming `what`.
fn have_tool(test: &str, program: &str, what: &str) -> bool {
    let ok = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !nix_required(),
            "{test}: {what} is required (EVALBOX_REQUIRE_NIX=1) but is not available"
        );
        eprintln!("SKIP {test}: {what} is not installed");
    }
    ok
}

/// The default nix-daemon socket.
pub const DAEMON_SOCKET: &str = "/nix/var/nix/daemon-socket/socket";

/// True when a nix-daemon socket is present; same skip/fail rule as [`have_nix`].
pub fn have_daemon(test: &str) -> bool {
    if !have_nix(test) {
        return false;
    }
    if Path::new(DAEMON_SOCKET).exists() {
        return true;
    }
    assert!(
        !nix_required(),
        "{test}: a nix-daemon is required (EVALBOX_REQUIRE_NIX=1) but {DAEMON_SOCKET} is missing"
    );
    eprintln!("SKIP {test}: no nix-daemon socket at {DAEMON_SOCKET}");
    false
}

/// Run a command, panicking with its stderr when it fails; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Run a command and return its output whatever its status.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"))
}

/// One compile cache for every run of the test binary (`EVALBOX_CACHE_DIR`), so the guest
/// compiles once.
pub fn component_cache_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .join("evalbox-test-component-cache")
}

/// `evalbox --store local?root=ROOT ...`
pub fn evalbox_local(root: &Path) -> Command {
    let mut c = Command::new(evalbox_bin());
    c.arg("--store")
        .arg(format!("local?root={}", root.display()));
    c.env_remove("NIX_REMOTE");
    c
}

/// Real Nix's new command line (`nix ARGS`), with the `nix-command` feature it needs in 2.8.
pub fn nix_command(args: &[&str]) -> Command {
    let mut c = Command::new("nix");
    c.args(["--extra-experimental-features", "nix-command"])
        .args(args);
    c
}

/// Real Nix's `nix-store` pointed at the (chroot) store rooted at `root`.
pub fn nix_store_on(root: &Path) -> Command {
    nix_on("nix-store", root)
}

/// Real Nix's `nix-instantiate` pointed at the (chroot) store rooted at `root`.
pub fn nix_instantiate_on(root: &Path) -> Command {
    nix_on("nix-instantiate", root)
}

fn nix_on(program: &str, root: &Path) -> Command {
    let mut c = Command::new(program);
    c.arg("--store")
        .arg(format!("local?root={}", root.display()));
    c.env_remove("NIX_REMOTE");
    c
}

// ---------------------------------------------------------------------------------------
// Guests (sandbox tests): building the wasm32-wasip2 guest crates on demand.

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

/// Where the guests are built: `$EVALBOX_GUEST_TARGET_DIR`, else `<workspace>/target/guests`.
pub fn guest_target_dir() -> PathBuf {
    std::env::var_os("EVALBOX_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join("guests"))
}

/// The guest packages built together, once per test process.
pub const GUEST_PACKAGES: &[&str] = &["test-programs", "hello-frontend"];

/// Builds every guest package for `wasm32-wasip2` (release) once per test process, under a
/// file lock so parallel test binaries do not collide, and returns the path of `bin`'s
/// component. Panics with cargo's output if the build fails.
pub fn guest_wasm(bin: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let dir = BUILT.get_or_init(build_guests).as_ref().unwrap_or_else(|e| {
        panic!("building the wasm32-wasip2 guests failed (run scripts/build-guests.sh to see why):\n{e}")
    });
    let wasm = dir.join(format!("{bin}.wasm"));
    assert!(
        wasm.is_file(),
        "no guest named `{bin}` at {}: add it to guests/test-programs/src/bin/",
        wasm.display()
    );
    wasm
}

fn build_guests() -> Result<PathBuf, String> {
    let target_dir = guest_target_dir();
    std::fs::create_dir_all(&target_dir).map_err(|e| format!("{}: {e}", target_dir.display()))?;
    let lock_path = target_dir.join(".evalbox-build.lock");
    let lock =
        std::fs::File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["build", "--release", "--target", "wasm32-wasip2", "--bins"])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    for package in GUEST_PACKAGES {
        cmd.args(["-p", package]);
    }
    let out = cmd.output().map_err(|e| format!("spawning {cmd:?}: {e}"))?;
    drop(lock);
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}):\n{}\n(is the target installed? `rustup target add wasm32-wasip2`)",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(target_dir.join("wasm32-wasip2").join("release"))
}

/// A package for the example frontends (`package.toml`, a builder script and a source
/// directory, written to `dir`) and the Nix expression that means the same.
pub fn hello_package(dir: &Path) -> String {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("package.toml"),
        "name = \"hello\"\nversion = \"1.0\"\nscript = \"builder.sh\"\nsources = [\"src\"]\n\n[env]\nGREETING = \"hello world\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("builder.sh"),
        "/bin/cat $src/hello.txt > $out\necho \"$GREETING\" >> $out\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/hello.txt"), "Hello from evalbox\n").unwrap();
    let d = dir.display();
    format!(
        r#"derivation {{
  name = "hello-1.0"; system = "x86_64-linux"; builder = "/bin/sh";
  args = [ "-e" {d}/builder.sh ];
  version = "1.0";
  src = {d}/src;
  GREETING = "hello world";
}}"#
    )
}
