//! `nix-eval`: evaluates Nix expressions like `nix-instantiate --eval`/`--parse`.
//!
//! Uses only `std` (arguments, file reads, stdout/stderr, exit code) so the same binary
//! builds as a wasm32-wasip2 guest. Natively, evaluation runs on a thread with a large stack
//! so deep (non-tail) recursion works; in wasm (no threads) it runs on the main stack, which
//! `build.rs` makes `WASM_STACK` bytes large. Either way the evaluator gets a stack budget a
//! little below the real size, so runaway recursion is a clean error, not a trap.

use std::io::{Read, Write};
use std::process::ExitCode;

use nix_eval::cli;

/// Native evaluation thread stack.
const NATIVE_STACK: usize = 1 << 30;
/// The wasm linker stack (see build.rs).
const WASM_STACK: usize = 256 << 20;

fn run(mut args: cli::Args, cwd: String, stdin_text: Option<String>, stack: usize) -> i32 {
    // Leave room for the frames between the budget check and the deepest native call.
    args.opts.stack_budget = stack - stack / 8;
    let out = cli::run(&args, &cwd, &|| {
        if let Some(text) = &stdin_text {
            return Ok(text.clone());
        }
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
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    // `--cwd DIR` (first) sets the directory relative paths resolve against: a wasm guest
    // has no meaningful working directory of its own.
    let cwd = if argv.first().map(String::as_str) == Some("--cwd") && argv.len() > 1 {
        let d = argv[1].clone();
        argv.drain(..2);
        d
    } else {
        std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "/".into())
    };
    // `--sandbox-root DIR` (next, repeatable): the directories the sandbox lets the guest
    // read, so a refused read is reported as such (see `nix_eval::sandbox`).
    let mut roots = Vec::new();
    while argv.first().map(String::as_str) == Some("--sandbox-root") && argv.len() > 1 {
        roots.push(argv[1].clone());
        argv.drain(..2);
    }
    if !roots.is_empty() {
        nix_eval::sandbox::set_roots(roots);
    }
    // `--stdin-text TEXT` (next) stands for standard input: the sandbox host reads its own
    // stdin and passes it this way, since the guest's stdin is empty.
    let stdin_text = if argv.first().map(String::as_str) == Some("--stdin-text") && argv.len() > 1 {
        let text = argv[1].clone();
        argv.drain(..2);
        Some(text)
    } else {
        None
    };
    let args = match cli::parse_args(&argv, &cwd) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let code = if cfg!(target_family = "wasm") {
        run(args, cwd, stdin_text, WASM_STACK)
    } else {
        let (a, c, t) = (args.clone(), cwd.clone(), stdin_text.clone());
        match std::thread::Builder::new()
            .stack_size(NATIVE_STACK)
            .spawn(move || run(a, c, t, NATIVE_STACK))
        {
            Ok(h) => h.join().unwrap_or(101),
            Err(_) => run(args, cwd, stdin_text, 8 << 20),
        }
    };
    ExitCode::from(code as u8)
}
