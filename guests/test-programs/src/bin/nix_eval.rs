//! Asks the host to evaluate Nix (`evalbox:guest/nix`) and prints one `key answer` line per
//! request: a value's JSON and context, or the error's kind and first line.
use evalbox_guest::nix::{Error, Evaluation};

fn show(key: &str, evaluation: Evaluation) {
    match evaluation.eval() {
        Ok(value) => println!("{key} {} {:?}", value.json, value.context),
        Err(e) => {
            let kind = match &e {
                Error::Eval(_) => "eval",
                Error::InvalidArgument(_) => "invalid-argument",
                Error::LimitExceeded(_) => "limit-exceeded",
                Error::Unsupported(_) => "unsupported",
                _ => "other",
            };
            println!(
                "{key} error {kind}: {}",
                e.message().lines().next().unwrap_or("")
            );
        }
    }
}

fn main() {
    let src = test_programs::src_dir();
    let pkgs = format!("{src}/pkgs.nix");
    show("two", Evaluation::expr("1 + 1"));
    show("negative", Evaluation::expr("-1 - 1"));
    show("greeting", Evaluation::file(&pkgs).attr("greeting"));
    show("again", Evaluation::file(&pkgs).attr("greeting"));
    show(
        "string",
        Evaluation::expr(&format!("\"${{(import {pkgs}).greeting}}/bin\"")),
    );
    show(
        "called",
        Evaluation::expr("{ a, b ? 2, c }: a + b + c.x")
            .arg("a", "1")
            .arg("c", "{ x = 3; }"),
    );
    show(
        "argstr",
        Evaluation::expr("{ s }: s + \"!\"").argstr("s", "hi"),
    );
    show("throw", Evaluation::expr("throw \"boom\""));
    show("missing", Evaluation::file(&pkgs).attr("nothing"));
    show("function", Evaluation::expr("x: x"));
    show("relative", Evaluation::file("pkgs.nix"));
    show(
        "outside",
        Evaluation::expr("builtins.readFile /etc/hostname"),
    );
}
