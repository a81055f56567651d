//! Helpers shared by the escape-suite guests. Each guest tries something the sandbox must
//! forbid, prints one line per attempt, and reports with [`Report`]: a line starting with
//! `ESCAPED` and exit code 1 if any attempt succeeded, exit code 0 if all were stopped.

use std::fmt::Debug;

/// Collects the outcome of each attempt.
#[derive(Debug, Default)]
pub struct Report {
    escaped: Vec<String>,
}

impl Report {
    /// Records an attempt that must fail.
    pub fn expect_err<T: Debug, E: Debug>(&mut self, what: &str, result: Result<T, E>) {
        match result {
            Ok(value) => {
                println!("ESCAPED {what}: {value:?}");
                self.escaped.push(what.to_owned());
            }
            Err(err) => println!("stopped {what}: {err:?}"),
        }
    }

    /// Records a check that must hold.
    pub fn expect(&mut self, what: &str, ok: bool) {
        if ok {
            println!("stopped {what}");
        } else {
            println!("ESCAPED {what}");
            self.escaped.push(what.to_owned());
        }
    }

    /// Exits 0 if nothing escaped, 1 otherwise.
    pub fn finish(self) -> ! {
        if self.escaped.is_empty() {
            println!("all attempts stopped");
            std::process::exit(0)
        }
        eprintln!("escaped: {}", self.escaped.join(", "));
        std::process::exit(1)
    }
}

/// The first argument: the source directory the test preopened.
pub fn src_dir() -> String {
    std::env::args()
        .nth(1)
        .expect("usage: <guest> SRC_DIR [...]")
}
