//! The `evalbox` command line. Exit codes: 0 success, 1 failure reported by the operation,
//! 2 usage error or refused guest; a guest's own exit code is passed through by `evalbox run`.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    cli::main()
}
