//! `nix-eval`: evaluates Nix expressions like `nix-instantiate --eval`/`--parse`.
//!
//! Uses only `std` (arguments, file reads, stdin, stdout/stderr, exit code) so the same binary
//! builds as a wasm32-wasip2 guest. In the sandbox, WASI itself says what the guest may read
//! (`wasi:filesystem/preopens`) and where relative paths start (`wasi:cli/environment`'s
//! initial working directory); standard input is the host's pipe. Natively, evaluation runs on
//! a thread with a large stack so deep (non-tail) recursion works; in wasm (no threads) it runs
//! on the main stack, which `build.rs` makes `WASM_STACK` bytes large. Either way the
//! evaluator gets a stack budget a little below the real size, so runaway recursion is a clean
//! error, not a trap.

use std::io::{Read, Write};
use std::process::ExitCode;

use nix_eval::cli;

/// Native evaluation thread stack.
const NATIVE_STACK: usize = 1 << 30;
/// The wasm linker stack (see build.rs).
const WASM_STACK: usize = 256 << 20;

/// Where relative paths start, and the directories a sandbox lets the evaluator read
/// (`None` natively: everything `std::fs` reaches).
#[cfg(all(target_os = "wasi", target_env = "p2"))]
fn surroundings() -> (String, Option<Vec<String>>) {
    let cwd = wasip2::cli::environment::initial_cwd().unwrap_or_else(|| "/".to_owned());
    (cwd, Some(nix_eval::io::preopened_dirs()))
}

#[cfg(not(all(target_os = "wasi", target_env = "p2")))]
fn surroundings() -> (String, Option<Vec<String>>) {
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/".into());
    (cwd, None)
}

/// Whether standard error is a terminal (in the sandbox, as the host says through WASI).
#[cfg(all(target_os = "wasi", target_env = "p2"))]
fn stderr_is_terminal() -> bool {
    wasip2::cli::terminal_stderr::get_terminal_stderr().is_some()
}

#[cfg(not(all(target_os = "wasi", target_env = "p2")))]
fn stderr_is_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
}

fn run(mut args: cli::Args, cwd: String, roots: Option<Vec<String>>, stack: usize) -> i32 {
    // Leave room for the frames between the budget check and the deepest native call.
    args.opts.stack_budget = stack - stack / 8;
    let io = match cli::io(&args, roots) {
        Ok(io) => io,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let out = cli::run(&args, &cwd, io, &|| {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    });
    let mut so = std::io::stdout().lock();
    let _ = so.write_all(out.stdout.as_bytes());
    let _ = so.flush();
    out.code
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (cwd, roots) = surroundings();
    let args = match cli::parse_args(&argv, &cwd) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut args = args;
    args.opts.terminal = stderr_is_terminal();
    let code = if cfg!(target_family = "wasm") {
        run(args, cwd, roots, WASM_STACK)
    } else {
        let (a, c, r) = (args.clone(), cwd.clone(), roots.clone());
        match std::thread::Builder::new()
            .stack_size(NATIVE_STACK)
            .spawn(move || run(a, c, r, NATIVE_STACK))
        {
            Ok(h) => h.join().unwrap_or(101),
            Err(_) => run(args, cwd, roots, 8 << 20),
        }
    };
    ExitCode::from(code as u8)
}
