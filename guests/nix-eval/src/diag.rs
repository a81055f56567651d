//! Renders evaluation and parse errors the way Nix does: `error:` header, the trace frames
//! (outermost first, with `--show-trace`), each with its position and a source snippet.

use std::fmt::Write;

use crate::error::Error;
use crate::source::Pos;

fn snippet(out: &mut String, pos: Pos) {
    let Some(l) = pos.resolve() else { return };
    let _ = writeln!(out, "         at {l}:");
    let lines: Vec<&str> = crate::source::lines(&l.text).collect();
    let idx = l.line as usize - 1;
    let numw = 13;
    if idx > 0
        && let Some(prev) = lines.get(idx - 1)
    {
        let _ = writeln!(
            out,
            "{:>numw$}|{}",
            idx,
            if prev.is_empty() {
                String::new()
            } else {
                format!(" {prev}")
            }
        );
    }
    if let Some(line) = lines.get(idx) {
        let _ = writeln!(out, "{:>numw$}| {line}", idx + 1);
        let _ = writeln!(out, "{:>numw$}| {}^", "", " ".repeat(l.column as usize - 1));
    }
    if let Some(next) = lines.get(idx + 1) {
        let _ = writeln!(
            out,
            "{:>numw$}|{}",
            idx + 2,
            if next.is_empty() {
                String::new()
            } else {
                format!(" {next}")
            }
        );
    }
}

/// The `at file:line:col:` line and source snippet of a position (frame indentation).
pub fn snippet_string(pos: Pos) -> String {
    let mut s = String::new();
    snippet(&mut s, pos);
    s
}

/// Splits a message into its main text (continuation lines indented like Nix does) and
/// the "Did you mean ...?" hint printed after the position.
fn split_hint(msg: &str) -> (String, Option<&str>) {
    let (main, hint) = match msg.find("\nDid you mean") {
        Some(i) => (&msg[..i], Some(&msg[i + 1..])),
        None => (msg, None),
    };
    (main.replace('\n', "\n       "), hint)
}

/// Formats an error for stderr.
pub fn format_error(e: &Error, show_trace: bool) -> String {
    let mut out = String::new();
    let (msg, hint) = split_hint(&e.0.msg);
    let frames: Vec<&(Pos, String)> = if show_trace {
        e.0.trace.iter().rev().collect()
    } else {
        Vec::new()
    };
    if frames.is_empty() {
        let _ = writeln!(out, "error: {msg}");
    } else {
        out.push_str("error:\n");
        let mut i = 0;
        while i < frames.len() {
            let (pos, msg) = frames[i];
            let _ = writeln!(out, "       … {msg}");
            snippet(&mut out, *pos);
            out.push('\n');
            // Nix collapses runs of identical frames.
            let mut j = i + 1;
            while j < frames.len() && frames[j] == frames[i] {
                j += 1;
            }
            if j - i > 1 {
                let _ = writeln!(out, "       ({} duplicate frames omitted)\n", j - i - 1);
            }
            i = j;
        }
        let _ = writeln!(out, "       error: {msg}");
    }
    if e.0.pos.resolve().is_some() {
        let mut s = String::new();
        snippet(&mut s, e.0.pos);
        // The main error's "at" line is indented by 7, its snippet like a frame's.
        for (i, line) in s.lines().enumerate() {
            let line = if i == 0 {
                line.strip_prefix("  ").unwrap_or(line)
            } else {
                line
            };
            let _ = writeln!(out, "{line}");
        }
    }
    if let Some(h) = hint {
        let _ = writeln!(out, "       {h}");
    }
    out
}
