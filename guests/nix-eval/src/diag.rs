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

/// What Nix's logger does to every message before printing it: escape sequences are removed,
/// except colour settings (SGR, `ESC [ ... m`) when `keep_colours` (stderr is a terminal);
/// tabs become spaces up to the next multiple of 8 printed characters (counted over the whole
/// message, as Nix counts them); carriage returns and bells are dropped.
pub fn filter_ansi(s: &str, keep_colours: bool) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\x1b', '\t', '\r', '\x07']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut width = 0usize;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                let mut seq = String::from(c);
                let mut last = None;
                if chars.peek() == Some(&'[') {
                    seq.extend(chars.next());
                    while let Some(&p) = chars.peek().filter(|p| ('\x30'..='\x3f').contains(p)) {
                        seq.push(p);
                        chars.next();
                    }
                    while let Some(&p) = chars.peek().filter(|p| ('\x20'..='\x2f').contains(p)) {
                        seq.push(p);
                        chars.next();
                    }
                    if let Some(&p) = chars.peek().filter(|p| ('\x40'..='\x7e').contains(p)) {
                        seq.push(p);
                        last = Some(p);
                        chars.next();
                    }
                } else if let Some(&p) = chars.peek().filter(|p| ('\x40'..='\x5f').contains(p)) {
                    seq.push(p);
                    chars.next();
                }
                if keep_colours && last == Some('m') {
                    out.push_str(&seq);
                }
            }
            '\t' => {
                out.push(' ');
                width += 1;
                while !width.is_multiple_of(8) {
                    out.push(' ');
                    width += 1;
                }
            }
            '\r' | '\x07' => {}
            c => {
                out.push(c);
                width += 1;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::filter_ansi;

    #[test]
    fn ansi_is_filtered_as_nix_does() {
        let s = "a \x1b[1;35m\"x\"\x1b[0m b\x1b[2K\r";
        assert_eq!(filter_ansi(s, false), "a \"x\" b");
        assert_eq!(filter_ansi(s, true), "a \x1b[1;35m\"x\"\x1b[0m b");
        assert_eq!(filter_ansi("ab\tc", false), "ab      c");
        assert_eq!(filter_ansi("\x1b", false), "");
        assert_eq!(filter_ansi("plain", false), "plain");
    }
}
