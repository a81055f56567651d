//! Conformance runner: every case of Nix's language test suite (`shared/nix-lang-tests`,
//! upstream `tests/functional/lang`) run through the native `nix-eval` binary, following
//! upstream's `lang.sh` conventions (see [`nix_eval::conformance`], shared with the
//! sandbox runner `tests/all/nix_lang.rs`). Prints a per-case table and totals, and fails when
//! a category's pass count drops below the floor in `FLOORS`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nix_eval::conformance::{self, Evaluator, Invocation, Run};

/// Minimum passes per category (and eval-fail messages); raise as the evaluator improves.
const FLOORS: &[(&str, usize)] = &[
    ("eval-okay", 141),
    ("eval-fail", 283),
    ("parse-okay", 13),
    ("parse-fail", 41),
    ("messages", 254),
];

/// The native binary, with the test driver's environment as flags.
struct Native;

impl Evaluator for Native {
    fn run(&self, cwd: &Path, inv: &Invocation) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nix-eval"));
        cmd.current_dir(cwd)
            .args(["--nix-path", conformance::NIX_PATH])
            .args(conformance::ENV_FLAGS)
            .arg(if inv.parse { "--parse" } else { "--eval" })
            .args(&inv.args);
        conformance::run_command(cmd, inv.stdin.as_deref(), Duration::from_secs(20))
    }
}

#[test]
fn nix_lang_suite() {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/nix-lang-tests");
    let Some(dir) = conformance::suite_dir(&default) else {
        eprintln!("SKIPPED: nix-lang-tests not found (set NIX_LANG_TESTS)");
        return;
    };
    conformance::run_suite(&dir, &Native).assert_floors(FLOORS, "natively");
}
