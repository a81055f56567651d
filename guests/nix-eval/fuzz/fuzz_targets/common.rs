//! What both targets do: run the `nix-eval` command line on the input as an expression, on a
//! thread with the stack the evaluator is told it has (deep nesting is its error, never a
//! crash), printing nothing. A panic, a crash or a stack overflow is a bug; running out of
//! time or memory is what the sandbox's limits are for (run with `-ignore_timeouts=1
//! -ignore_ooms=1`, see the README).

/// The evaluating thread's stack, and the budget the evaluator is given within it.
const STACK: usize = 256 << 20;

pub fn run(data: &[u8], mode: &[&str]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let mut argv: Vec<String> = mode.iter().map(|s| s.to_string()).collect();
    argv.extend([
        "--max-call-depth".into(),
        "1000".into(),
        "-E".into(),
        source.to_owned(),
    ]);
    let Ok(mut args) = nix_eval::cli::parse_args(&argv, "/nonexistent") else {
        return;
    };
    args.opts.stack_budget = STACK - STACK / 8;
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let io = nix_eval::cli::io(&args, None).expect("a pure store");
            let out = nix_eval::cli::run(&args, "/nonexistent", io, &|| Ok(String::new()));
            assert!(out.code == 0 || out.code == 1, "exit code {}", out.code);
        })
        .expect("spawn")
        .join()
        .expect("no panic");
}
