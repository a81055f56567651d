//! `nix-eval`: evaluates Nix expressions like `nix-instantiate --eval`/`--parse`.
//!
//! Uses only `std` (arguments, file reads, stdout/stderr, exit code) so the same binary
//! builds as a wasm32-wasip2 guest. Natively, evaluation runs on a thread with a large stack
//! so deep (non-tail) recursion works; in wasm the linker-set stack is used instead.

use std::io::{Read, Write};
use std::process::ExitCode;

use evalbox_nix_lang::cli;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/".into());
    let mut args = match cli::parse_args(&argv, &cwd) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let stack: usize = 1 << 30;
    args.opts.stack_budget = stack - (16 << 20);
    let work = move || {
        let out = cli::run(&args, &cwd, &|| {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            Ok(s)
        });
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(out.stdout.as_bytes());
        let _ = so.flush();
        out.code
    };
    let code = match std::thread::Builder::new()
        .stack_size(stack)
        .spawn(work.clone())
    {
        Ok(h) => h.join().unwrap_or(101),
        // No threads (wasm): run here, on the stack the linker gave us.
        Err(_) => work(),
    };
    ExitCode::from(code as u8)
}
