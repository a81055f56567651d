//! Where the daemon's log lines, activities and build output go on the client side.
//!
//! The stderr loop forwards every message to a [`Logger`]. [`StderrLogger`] is what a user sees:
//! plain lines on stderr, or, when stderr is a terminal, an indicatif spinner per running build
//! with its latest log line, the log lines themselves printed above the spinners. [`NullLogger`]
//! discards everything (the default for library use).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::stderr::{ACT_BUILD, ACT_SUBSTITUTE, Activity, Field, RES_BUILD_LOG_LINE};
use crate::stderr::{RES_POST_BUILD_LOG_LINE, RES_SET_PHASE};

/// Receives what the daemon reports while it works on a request.
pub trait Logger: Send + Sync + std::fmt::Debug {
    /// A log line (STDERR_NEXT), without its trailing newline.
    fn log(&self, line: &str);
    /// An activity started.
    fn start_activity(&self, activity: &Activity);
    /// An activity stopped.
    fn stop_activity(&self, id: u64);
    /// An activity reported a result (`kind` is e.g. [`RES_BUILD_LOG_LINE`]).
    fn result(&self, id: u64, kind: u64, fields: &[Field]);
}

/// Discards everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullLogger;

impl Logger for NullLogger {
    fn log(&self, _: &str) {}
    fn start_activity(&self, _: &Activity) {}
    fn stop_activity(&self, _: u64) {}
    fn result(&self, _: u64, _: u64, _: &[Field]) {}
}

/// The derivation name of a build activity (`/nix/store/…-hello.drv` → `hello`), for prefixes.
fn build_label(a: &Activity) -> String {
    let path = a.fields.first().and_then(Field::as_str).unwrap_or(&a.text);
    let base = path.rsplit('/').next().unwrap_or(path);
    let name = base.split_once('-').map(|(_, n)| n).unwrap_or(base);
    name.strip_suffix(".drv").unwrap_or(name).to_string()
}

#[derive(Debug)]
struct Running {
    label: String,
    bar: Option<ProgressBar>,
}

/// Forwards daemon output to this process's stderr, with a progress display on terminals.
#[derive(Debug)]
pub struct StderrLogger {
    progress: Option<MultiProgress>,
    running: Mutex<HashMap<u64, Running>>,
}

impl Default for StderrLogger {
    fn default() -> Self {
        Self::new()
    }
}

impl StderrLogger {
    /// A logger that draws progress bars iff stderr is a terminal.
    pub fn new() -> Self {
        let progress = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self {
            progress,
            running: Mutex::new(HashMap::new()),
        }
    }

    fn print(&self, line: &str) {
        match &self.progress {
            Some(mp) => {
                let _ = mp.println(line);
            }
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        }
    }
}

impl Logger for StderrLogger {
    fn log(&self, line: &str) {
        self.print(line.trim_end_matches('\n'));
    }

    fn start_activity(&self, a: &Activity) {
        if a.kind != ACT_BUILD && a.kind != ACT_SUBSTITUTE {
            return;
        }
        let label = build_label(a);
        let bar = self.progress.as_ref().map(|mp| {
            let bar = mp.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.clone());
            bar.set_message(a.text.clone());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        if bar.is_none() && !a.text.is_empty() {
            self.print(&a.text);
        }
        if let Ok(mut r) = self.running.lock() {
            r.insert(a.id, Running { label, bar });
        }
    }

    fn stop_activity(&self, id: u64) {
        let done = self.running.lock().ok().and_then(|mut r| r.remove(&id));
        if let Some(Running { bar: Some(bar), .. }) = done {
            bar.finish_and_clear();
        }
    }

    fn result(&self, id: u64, kind: u64, fields: &[Field]) {
        let Some(text) = fields.first().and_then(Field::as_str) else {
            return;
        };
        let running = self.running.lock();
        let Ok(running) = running else { return };
        let act = running.get(&id);
        match kind {
            RES_BUILD_LOG_LINE | RES_POST_BUILD_LOG_LINE => {
                let label = act.map(|a| a.label.as_str()).unwrap_or("build");
                if let Some(bar) = act.and_then(|a| a.bar.as_ref()) {
                    bar.set_message(text.to_string());
                }
                self.print(&format!("{label}> {text}"));
            }
            RES_SET_PHASE => {
                if let Some(bar) = act.and_then(|a| a.bar.as_ref()) {
                    bar.set_message(format!("phase {text}"));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let a = Activity {
            id: 1,
            level: 3,
            kind: ACT_BUILD,
            text: "building '/nix/store/aaaa-hello.drv'".into(),
            fields: vec![Field::String("/nix/store/aaaa-hello.drv".into())],
            parent: 0,
        };
        assert_eq!(build_label(&a), "hello");
    }
}
