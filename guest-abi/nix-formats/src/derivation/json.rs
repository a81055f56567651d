//! `nix show-derivation` output of Nix 2.8, byte for byte: its own JSON
//! writer (two-space indent, `"key": value`, `{}`/`[]` when empty) and its
//! string escaping (`\"` `\\` `\n` `\r` `\t`, other control characters as
//! `\u00xx`, everything else verbatim).

use std::fmt::Write;

use super::{Derivation, DerivationOutput};
use crate::store_path::{StoreDir, StorePath};

fn put_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A pretty-printing writer with Nix's layout.
struct W {
    out: String,
    depth: usize,
    /// Whether the innermost open container is still empty.
    first: Vec<bool>,
}

impl W {
    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }
    fn comma(&mut self) {
        if let Some(f) = self.first.last_mut() {
            if !*f {
                self.out.push(',');
            }
            *f = false;
        }
        if !self.first.is_empty() {
            self.newline();
        }
    }
    fn key(&mut self, k: &str) {
        self.comma();
        put_str(&mut self.out, k);
        self.out.push_str(": ");
    }
    fn open(&mut self, c: char) {
        self.out.push(c);
        self.depth += 1;
        self.first.push(true);
    }
    fn close(&mut self, c: char) {
        self.depth -= 1;
        if self.first.pop() == Some(false) {
            self.newline();
        }
        self.out.push(c);
    }
    fn attr(&mut self, k: &str, v: &str) {
        self.key(k);
        put_str(&mut self.out, v);
    }
    fn elem(&mut self, v: &str) {
        self.comma();
        put_str(&mut self.out, v);
    }
}

pub(super) fn show_derivation(drv: &Derivation, drv_path: &StorePath, dir: &StoreDir) -> String {
    let mut w = W {
        out: String::with_capacity(2048),
        depth: 0,
        first: Vec::new(),
    };
    w.open('{');
    w.key(&dir.display(drv_path));
    w.open('{');

    w.key("outputs");
    w.open('{');
    for (name, o) in &drv.outputs {
        w.key(name);
        w.open('{');
        match o {
            DerivationOutput::InputAddressed(p) => w.attr("path", &dir.display(p)),
            DerivationOutput::Fixed { path, hash, .. } => {
                w.attr("path", &dir.display(path));
                w.attr("hashAlgo", &o.method_algo().unwrap_or_default());
                w.attr("hash", &hash.to_base16());
            }
            DerivationOutput::Floating { .. } | DerivationOutput::Impure { .. } => {
                w.attr("hashAlgo", &o.method_algo().unwrap_or_default());
                if matches!(o, DerivationOutput::Impure { .. }) {
                    w.key("impure");
                    w.out.push_str("true");
                }
            }
            DerivationOutput::Deferred => {}
        }
        w.close('}');
    }
    w.close('}');

    w.key("inputSrcs");
    w.open('[');
    for p in &drv.input_sources {
        w.elem(&dir.display(p));
    }
    w.close(']');

    w.key("inputDrvs");
    w.open('{');
    for (p, outs) in &drv.input_derivations {
        w.key(&dir.display(p));
        w.open('[');
        for o in outs {
            w.elem(o);
        }
        w.close(']');
    }
    w.close('}');

    w.attr("system", &drv.platform);
    w.attr("builder", &drv.builder);
    w.key("args");
    w.open('[');
    for a in &drv.args {
        w.elem(a);
    }
    w.close(']');
    w.key("env");
    w.open('{');
    for (k, v) in &drv.env {
        w.attr(k, v);
    }
    w.close('}');

    w.close('}');
    w.close('}');
    w.out.push('\n');
    w.out
}
